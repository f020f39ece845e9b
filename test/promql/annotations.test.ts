// PromQL annotations and Prometheus-compatible helpers: Go %g formatting, "(line:column)" positions, the
// per-kind limit, and labels.Hash() (limit_ratio's sampling key) against independently built byte strings.
import { test } from "uvu";
import * as assert from "uvu/assert";
import { Annotations, formatGoG, positionInQuery } from "../../src/promql/annotations.js";
import { labelsHash } from "../../src/promql/labels.js";
import { PromqlEngine } from "../../src/promql/engine.js";
import { StorageBuilder } from "../../src/index.js";
import { xxh64 } from "../encoding/helpers.js";

test("formatGoG spells floats like Go's %g", () => {
  const cases: [number, string][] = [
    [1.1, "1.1"], [-1.1, "-1.1"], [2, "2"], [NaN, "NaN"], [Infinity, "+Inf"], [-Infinity, "-Inf"], [0, "0"],
    [1e-5, "1e-05"], [0.0001, "0.0001"], [123456, "123456"], [1234567, "1.234567e+06"], [1e21, "1e+21"], [-2.5e-300, "-2.5e-300"],
  ];
  for (const [v, want] of cases) assert.is(formatGoG(v), want, String(v));
});

test("positions are 1-based line and byte column of the expression start", () => {
  assert.is(positionInQuery("rate(x[5m])", 5), "1:6");
  assert.is(positionInQuery("sum(\n  rate(x[5m]))", 7), "2:3");
  // "é" is two bytes in UTF-8 and one UTF-16 unit: Prometheus counts bytes.
  assert.is(positionInQuery('x{a="é"} + rate(y[1m])', 11), "1:13");
});

test("equal messages are kept once; the limit per kind summarises the rest", () => {
  const a = new Annotations();
  for (let i = 0; i < 12; i++) a.warn(`w${i}`, { start: 0, end: 1 });
  a.warn("w0", { start: 2, end: 3 });
  a.info("i", { start: 0, end: 1 });
  const all = a.asStrings("abcd");
  assert.is(all.warnings.length, 12);
  assert.ok(all.warnings.includes("PromQL warning: w0 (1:3)"));
  const limited = a.asStrings("abcd", 10);
  assert.is(limited.warnings.length, 11);
  assert.is(limited.warnings[10], "2 more warning annotations omitted");
  assert.equal(limited.infos, ["PromQL info: i (1:1)"]);
});

test("labelsHash is XXH64 of Prometheus' length-prefixed label encoding", () => {
  const bytes = (...parts: (number | string)[]) => Uint8Array.from(parts.flatMap((p) => (typeof p === "number" ? [p] : [...Buffer.from(p)])));
  const labels = [{ name: "__name__", value: "up" }, { name: "job", value: "api" }];
  assert.is(labelsHash(labels), xxh64(bytes(8, "__name__", 2, "up", 3, "job", 3, "api")));
  assert.is(labelsHash([]), 0xef46db3751d8e999n); // XXH64 of no bytes
  const long = "v".repeat(300); // sizes of 255 and more take 0xff plus three little-endian bytes
  assert.is(labelsHash([{ name: "a", value: long }]), xxh64(bytes(1, "a", 0xff, 300 & 0xff, 300 >> 8, 0, long)));
  assert.is.not(labelsHash(labels), labelsHash([{ name: "__name__", value: "up" }, { name: "job", value: "apj" }]));
});

test("engine results carry annotations; the default limit is Prometheus' 10 per kind", async () => {
  const storage = await new StorageBuilder().withTimestampPrecision("ms").build();
  try {
    const rows = [];
    for (let i = 0; i < 12; i++) for (let t = 0; t < 5; t++) rows.push({ metric: `gauge_${i}`, labels: [{ name: "i", value: String(i) }], dataPoint: { timestamp: t * 15_000, value: t } });
    await storage.insertRows(rows);
    const engine = new PromqlEngine(storage);
    const one = await engine.instantQuery("rate(gauge_0[1m])", 60_000);
    assert.equal(one.infos, ['PromQL info: metric might not be a counter, name does not end in _total/_sum/_count/_bucket: "gauge_0" (1:6)']);
    assert.equal(one.warnings, []);
    const many = await engine.rangeQuery('rate({__name__=~"gauge_.*"}[1m])', 30_000, 60_000, 15_000);
    assert.is(many.infos.length, 11);
    assert.is(many.infos[10], "2 more info annotations omitted");
    const all = await new PromqlEngine(storage, { maxAnnotations: 0 }).instantQuery('rate({__name__=~"gauge_.*"}[1m])', 60_000);
    assert.is(all.infos.length, 12);
  } finally {
    await storage.close();
  }
});

test.run();
