// Influx line protocol parser: grammar (escapes, quoted strings, i/u suffixes, booleans, precision), naming,
// line-precise errors, and fast-check round trips and fuzz (no crash, all-or-nothing).
import { test } from "uvu";
import * as assert from "uvu/assert";
import fc from "fast-check";
import { ProtocolError } from "../../src/protocols/errors.js";
import { convertTimestamp, type InfluxParseOptions, influxSeriesCacheStats, parseInfluxLines, parseInfluxLinesInJs, parseInfluxPrecision, releaseInfluxColumns } from "../../src/protocols/influx-line.js";
import { normaliseLabelName, normaliseMetricName } from "../../src/protocols/legacy-names.js";
import { mutatedText } from "./fuzz-inputs.js";

const enc = (s: string) => new TextEncoder().encode(s);

/** The parsed columns as one row per sample. */
function parsedRows(body: Uint8Array, opts: InfluxParseOptions, parser = parseInfluxLines): { metric: string; labels: readonly { name: string; value: string }[]; dataPoint: { timestamp: number | bigint; value: number } }[] {
  const p = parser(body, opts);
  return Array.from({ length: p.count }, (_, i) => {
    const s = p.series[p.seriesIndex[i]!]!;
    return { metric: s.metric, labels: s.labels, dataPoint: { timestamp: p.timestamps[i]!, value: p.values[i]! } };
  });
}
const OPTS: InfluxParseOptions = { precision: "ns", serverPrecision: "ms", now: 99, maxLines: 4096 };
const rowsOf = (body: string, opts: Partial<InfluxParseOptions> = {}) =>
  parsedRows(enc(body), { ...OPTS, ...opts }).map((r) => [
    r.metric, r.labels.map((l) => `${l.name}=${l.value}`).join(","), r.dataPoint.timestamp, r.dataPoint.value,
  ]);

function fails(body: string, pattern: RegExp, kind = "malformed", opts: Partial<InfluxParseOptions> = {}): void {
  try {
    parseInfluxLines(enc(body), { ...OPTS, ...opts });
  } catch (err) {
    assert.instance(err, ProtocolError);
    assert.is((err as ProtocolError).kind, kind);
    assert.match((err as Error).message, pattern);
    return;
  }
  assert.unreachable(`expected ${JSON.stringify(body)} to be rejected`);
}

test("Telegraf-style lines: tags, several fields, i/u suffixes, ns timestamps to ms", () => {
  const body = [
    "cpu,cpu=cpu-total,host=web-01 usage_idle=97.5,usage_user=1.25 1700000000123456789",
    "mem,host=web-01 used=123i,free=5u,value=-2.5e3 1700000000000000000",
    "",
    "# a comment",
    "  disk,path=/var/lib,host=web-01 inodes_used=7i  ",
  ].join("\n");
  assert.equal(rowsOf(body), [
    ["cpu_usage_idle", "cpu=cpu-total,host=web-01", 1700000000123, 97.5],
    ["cpu_usage_user", "cpu=cpu-total,host=web-01", 1700000000123, 1.25],
    ["mem_used", "host=web-01", 1700000000000, 123],
    ["mem_free", "host=web-01", 1700000000000, 5],
    ["mem", "host=web-01", 1700000000000, -2500],
    ["disk_inodes_used", "host=web-01,path=/var/lib", 99, 7],
  ]);
  // each distinct metric name once (the route records them as gauges), in every parse that writes it
  for (let round = 0; round < 2; round++) {
    assert.equal([...parseInfluxLines(enc(`${body}\n${body}`), OPTS).metrics].sort(), ["cpu_usage_idle", "cpu_usage_user", "disk_inodes_used", "mem", "mem_free", "mem_used"]);
  }
});

test("escapes: commas, spaces and equals signs in measurement, tag keys/values and field keys", () => {
  assert.equal(rowsOf('cpu\\ load\\,x,ho\\ st=a\\,b\\=c\\ d,dc=e\\\\f fi\\=eld\\ 1=1 5'), [
    ["cpu_load_x2c_x_fi_x3d_eld_1", "dc=e\\f,ho_st=a,b=c d", 0, 1],
  ]);
  // a backslash before an ordinary character is literal (Windows paths as Telegraf sends them)
  assert.equal(rowsOf("win,path=C:\\temp v=1 7")[0]![1], "path=C:\\temp");
});

test("naming: value field is the measurement, other fields appended, both normalised", () => {
  assert.equal(rowsOf("1m.x-y/z value=1,0f=2 1")[0]!.slice(0, 1), ["_1m_x_y_z"]);
  assert.equal(rowsOf("1m.x-y/z value=1,0f=2 1")[1]!.slice(0, 1), ["_1m_x_y_z__0f"]);
  assert.equal(normaliseMetricName("a:b.c\u00e9"), "a:b_c_xc3__xa9_");
  assert.equal(normaliseLabelName("a:b"), "a_b");
});

test("precision parameter and timestamp conversion (integer division toward zero)", () => {
  assert.is(parseInfluxPrecision(undefined), "ns");
  assert.is(parseInfluxPrecision("u"), "us");
  assert.is(parseInfluxPrecision("n"), "ns");
  assert.throws(() => parseInfluxPrecision("µs"), /unsupported precision/);
  assert.is(convertTimestamp("1700000000", "s", "ms"), 1700000000000);
  assert.is(convertTimestamp("2", "m", "s"), 120);
  assert.is(convertTimestamp("1", "h", "ms"), 3_600_000);
  assert.is(convertTimestamp("1700000000123", "ms", "s"), 1700000000);
  assert.is(convertTimestamp("-1500", "ms", "s"), -1);
  assert.is(convertTimestamp("999", "us", "ms"), 0);
  assert.is(convertTimestamp("1700000000123456789", "ns", "ns"), 1700000000123456789n);
  assert.is(convertTimestamp("1700000000", "s", "ns"), 1700000000000000000n);
  assert.is(convertTimestamp("1700000000123456", "us", "us"), 1700000000123456);
  assert.equal(rowsOf("m v=1 1700000000", { precision: "s", serverPrecision: "s" })[0]![2], 1700000000);
  fails("m v=1 99999999999999999999", /line 1: timestamp .* out of range/);
});

test("line timestamps (in-place fast path) agree with convertTimestamp for every precision pair", () => {
  const precisions = ["ns", "us", "ms", "s", "m", "h"] as const;
  const servers = ["s", "ms", "us", "ns"] as const;
  fc.assert(
    fc.property(fc.bigInt({ min: -(2n ** 63n), max: 2n ** 63n - 1n }), fc.constantFrom(...precisions), fc.constantFrom(...servers), (ts, precision, server) => {
      let expected: unknown;
      try {
        expected = convertTimestamp(String(ts), precision, server);
      } catch {
        expected = "error";
      }
      let got: unknown;
      try {
        got = parsedRows(enc(`m v=1 ${ts}`), { ...OPTS, precision, serverPrecision: server })[0]!.dataPoint.timestamp;
      } catch {
        got = "error";
      }
      assert.is(got, expected);
    }),
    { numRuns: 3000 },
  );
});

test("extra labels (influx_db...) and the tenant label are merged, sorted", () => {
  const rows = parsedRows(enc("m,z=1 v=1 1"), {
    ...OPTS, extraLabels: [{ name: "influx_db", value: "telegraf" }], tenantLabel: { name: "__tsink_tenant__", value: "t" },
  });
  assert.equal(rows[0]!.labels.map((l) => l.name), ["__tsink_tenant__", "influx_db", "z"]);
});

test("rejections name the line and the reason; nothing is returned", () => {
  fails("ok v=1\nm f=\"text, with spaces\" 1", /line 2: field "f": string field values are not supported/);
  for (const b of ["t", "T", "true", "True", "TRUE", "f", "F", "false", "False", "FALSE"]) fails(`m ok=${b}`, /line 1: .*boolean field values are not supported/);
  fails("m", /line 1: missing field section/);
  fails("m,t v=1", /tag "t" is missing '='/);
  fails("m,t= v=1", /tag "t" has an empty value/);
  fails("m v=", /field "v" has no value/);
  fails("m v=1,w", /field "w" is missing '='/);
  fails("m v=abc", /invalid value "abc"/);
  fails("m v=NaN", /invalid value/);
  fails("m v=1e999", /not finite/);
  fails("m v=1.5i", /invalid integer value/);
  fails("m v=-1u", /invalid unsigned integer value/);
  fails("m v=9223372036854775808i", /invalid integer value/);
  fails("m v=1 12x", /invalid timestamp "12x"/);
  fails("m v=1 1 2", /invalid timestamp/);
  fails("m v=\"unterminated", /unterminated string/);
  fails(",t=1 v=1", /missing measurement/);
  fails("m,__name__=x v=1", /__name__ is reserved/);
  fails("m,a=1,a=2 v=1", /duplicate label name/);
  fails("m,__tsink_tenant__=x v=1", /reserved/);
  assert.throws(() => parseInfluxLines(new Uint8Array([0x6d, 0x20, 0xff]), OPTS), /not valid UTF-8/);
});

test("line limit counts non-empty lines: one more is too_large", () => {
  const lines = (n: number) => Array.from({ length: n }, (_, i) => `m v=${i} ${i}`).join("\n");
  assert.is(parseInfluxLines(enc(`${lines(3)}\n\n\n`), { ...OPTS, maxLines: 3 }).count, 3);
  fails(lines(4), /more than 3 lines/, "too_large", { maxLines: 3 });
});

test("field values: the in-place number path gives exactly Number()'s double for every spelling", () => {
  const digits = fc.string({ unit: fc.constantFrom(..."0123456789".split("")), minLength: 1, maxLength: 20 });
  const spelling = fc.tuple(fc.constantFrom("", "-", "+"), digits, fc.option(fc.string({ unit: fc.constantFrom(..."0123456789".split("")), maxLength: 20 })), fc.option(fc.tuple(fc.constantFrom("e", "E"), fc.constantFrom("", "-", "+"), fc.integer({ min: 0, max: 40 }))))
    .map(([sign, int, frac, exp]) => `${sign}${int}${frac === null ? "" : `.${frac}`}${exp === null ? "" : `${exp[0]}${exp[1]}${exp[2]}`}`);
  fc.assert(
    fc.property(fc.oneof(spelling, fc.double({ noNaN: true, noDefaultInfinity: true }).map(String)), (text) => {
      const expected = Number(text);
      fc.pre(Number.isFinite(expected));
      assert.is(parsedRows(enc(`m v=${text} 1`), OPTS)[0]!.dataPoint.value, expected, text);
    }),
    { numRuns: 5000 },
  );
  const ints = fc.bigInt({ min: -(2n ** 63n), max: 2n ** 63n - 1n });
  fc.assert(fc.property(ints, (v) => assert.is(parsedRows(enc(`m v=${v}i 1`), OPTS)[0]!.dataPoint.value, Number(v))), { numRuns: 2000 });
});

test("series cache: repeated, reordered and mixed bodies parse exactly as a cold cache does", () => {
  const keys = ["cpu,host=a", "cpu,host=b", "cpu,host=a\\ x", "mem,host=a", "m", "cpu,host=ab", "cpu,host=b\tz"];
  const fields = ["value", "user", "idle", "v\\,w"];
  let context = 0;
  /** Parsed in a cache context of its own (a fresh cache), the context label removed again. */
  const outcome = (fn: () => unknown) => {
    try {
      return fn();
    } catch (err) {
      return (err as Error).message;
    }
  };
  const cold = (body: string) => outcome(() => parsedRows(enc(body), { ...OPTS, extraLabels: [{ name: "ctx", value: String(++context) }] }).map((r) => ({
    ...r, labels: r.labels.filter((l) => l.name !== "ctx"),
  })));
  fc.assert(
    fc.property(
      fc.array(fc.tuple(fc.constantFrom(...keys), fc.uniqueArray(fc.constantFrom(...fields), { minLength: 1, maxLength: 3 }), fc.integer({ min: -5, max: 5 })), { minLength: 1, maxLength: 12 }),
      (lines) => {
        const body = lines.map(([k, fs, v], i) => `${k} ${fs.map((f, j) => `${f}=${v + j}`).join(",")} ${i}`).join("\n");
        assert.equal(outcome(() => parsedRows(enc(body), OPTS)), cold(body));
      },
    ),
    { numRuns: 1000 },
  );
});

test("series cache limit: past 200,000 keys the caches are emptied mid-body and parsing goes on correctly", () => {
  const n = 200_100;
  const lines = Array.from({ length: n }, (_, i) => `lim,k=${i} value=${i},x=${i} ${i}`);
  const parsed = parseInfluxLines(enc(lines.join("\n")), { ...OPTS, precision: "ms", maxLines: n, extraLabels: [{ name: "ctx", value: "limit" }] });
  assert.is(parsed.count, 2 * n);
  for (const i of [0, 199_999, 200_000, n - 1]) {
    for (const f of [0, 1]) {
      const s = parsed.series[parsed.seriesIndex[2 * i + f]!]!;
      assert.equal([s.metric, s.labels.find((l) => l.name === "k")?.value, parsed.values[2 * i + f], parsed.timestamps[2 * i + f]], [f === 0 ? "lim" : "lim_x", String(i), i, i]);
    }
  }
  assert.equal(parsed.metrics.slice(0, 2), ["lim", "lim_x"]);
  // keys seen before the reset parse again as new
  const again = parsedRows(enc(lines.slice(0, 3).join("\n")), { ...OPTS, precision: "ms" });
  assert.equal(again.map((r) => [r.metric, r.labels.map((l) => l.value).join(), r.dataPoint.value]), [["lim", "0", 0], ["lim_x", "0", 0], ["lim", "1", 1], ["lim_x", "1", 1], ["lim", "2", 2], ["lim_x", "2", 2]]);
});

test("WASM scan cache limit: past 200,000 keys the kernel's cache is emptied and every body still parses correctly", () => {
  const body = (from: number, n: number) => enc(Array.from({ length: n }, (_, i) => `wlim,k=${from + i} value=${from + i} ${from + i}`).join("\n"));
  const opts = { ...OPTS, precision: "ms" as const, maxLines: 150_000, extraLabels: [{ name: "ctx", value: "wasm-limit" }] };
  const check = (from: number, n: number) => {
    const p = parseInfluxLines(body(from, n), opts);
    assert.is(p.count, n);
    for (const i of [0, n >> 1, n - 1]) {
      assert.equal([p.series[p.seriesIndex[i]!]!.labels.find((l) => l.name === "k")?.value, p.values[i], p.timestamps[i]], [String(from + i), from + i, from + i]);
    }
    releaseInfluxColumns(p);
  };
  check(0, 150_000);
  const before = influxSeriesCacheStats().wasm.keys;
  assert.ok(before >= 150_000, String(before));
  check(150_000, 100_000); // passes the limit mid-body: parsed by the JS parser, the kernel's cache emptied next time
  check(0, 3);
  assert.ok(influxSeriesCacheStats().wasm.keys < before, JSON.stringify(influxSeriesCacheStats()));
  // more samples than the pooled columns hold: parsed by the JS parser, same result
  const wide = enc(`wide ${Array.from({ length: 300_000 }, (_, i) => `f${i % 1000}=${i}`).join(",")} 7`);
  const p = parseInfluxLines(wide, opts);
  assert.equal([p.count, p.values[299_999], p.timestamps[0], p.series.length], [300_000, 299_999, 7, 1000]);
});

test("series cache contexts (tenant, db...) are bounded: the 4097th empties them all (JS parser and WASM scan)", () => {
  assert.ok(influxSeriesCacheStats().js.contexts <= 4096, "earlier tests left the JS cache within its bound");
  for (const [parser, part] of [[parseInfluxLinesInJs, "js"], [parseInfluxLines, "wasm"]] as const) {
    const parseIn = (ctx: number) => parsedRows(enc("ctxm,a=1 value=1 1"), { ...OPTS, tenantLabel: { name: "__tsink_tenant__", value: `t${ctx}` } }, parser);
    parseIn(0);
    const start = influxSeriesCacheStats()[part].contexts;
    for (let c = 1; influxSeriesCacheStats()[part].contexts < 4096; c++) parseIn(c);
    assert.ok(influxSeriesCacheStats()[part].contexts === 4096 && start <= 4096);
    assert.equal(parseIn(999_999).map((r) => r.labels.map((l) => l.value).join()), ["t999999,1"]);
    assert.equal(influxSeriesCacheStats()[part], { contexts: 1, keys: 1 });
  }
});

// Line protocol writer with the escaping rules of Telegraf's serializer, for round trips.
const escKey = (s: string) => s.replace(/\\/g, "\\\\").replace(/([, =])/g, "\\$1");
const escMeasurement = (s: string) => s.replace(/\\/g, "\\\\").replace(/([, ])/g, "\\$1");

test("released columns are reused by the next parse, never columns still held", () => {
  const a = parseInfluxLines(enc(`m,h=a value=1 1000000\nm,h=b value=2 2000000\n# ${"x".repeat(256)}`), OPTS); // room for c
  const b = parseInfluxLines(enc("m,h=a value=3 3000000"), OPTS);
  assert.not.ok(b.values === a.values || b.seriesIndex === a.seriesIndex || b.timestamps === a.timestamps);
  assert.equal([...a.values.subarray(0, a.count)], [1, 2]); // a second parse does not touch columns still held
  releaseInfluxColumns(a);
  releaseInfluxColumns(a); // twice is harmless: a is handed out once
  const c = parseInfluxLines(enc("m,h=c value=5 5000000\nm,h=d value=6 6000000\nm,h=e value=7 7000000"), OPTS);
  const d = parseInfluxLines(enc("m,h=c value=8 8000000"), OPTS);
  assert.ok(c.values === a.values, "the released arrays are taken again");
  assert.not.ok(d.values === a.values);
  assert.equal([...c.values.subarray(0, c.count)], [5, 6, 7]);
  assert.equal([...c.timestamps.subarray(0, c.count)], [5, 6, 7]);
  assert.equal(c.series.map((k) => k.labels.map((l) => l.value).join()), ["c", "d", "e"]);
  assert.equal([...d.values.subarray(0, d.count)], [8]);
  // a failed parse gives its columns back itself
  for (const x of [b, c, d]) releaseInfluxColumns(x);
  fails("m value=1\nm value=oops", /line 2/);
  const e = parseInfluxLines(enc("m value=9 9000000"), OPTS);
  assert.equal([e.count, e.values[0], e.timestamps[0]], [1, 9, 9]);
});

test("round trip: whatever Telegraf would serialise parses back to the same names, labels, values", () => {
  const name = fc.string({ minLength: 1, maxLength: 8 }).filter((s) => !/[\n\r\t]/.test(s) && s.trim() === s && !s.startsWith("#"));
  const value = fc.string({ minLength: 1, maxLength: 8 }).filter((s) => !/[\n\r\t]/.test(s) && s.trim() === s && !s.endsWith("\\"));
  fc.assert(
    fc.property(
      name,
      fc.uniqueArray(fc.record({ k: name, v: value }), { selector: (t) => normaliseLabelName(t.k), maxLength: 3 }),
      fc.uniqueArray(fc.record({ k: name, v: fc.oneof(fc.double({ noNaN: true, noDefaultInfinity: true }), fc.integer()) }), { selector: (f) => f.k, minLength: 1, maxLength: 3 }),
      fc.bigInt({ min: -(2n ** 62n), max: 2n ** 62n }),
      (measurement, tags, fields, ts) => {
        const reserved = tags.some((t) => ["__name__", "__tsink_tenant__"].includes(normaliseLabelName(t.k)));
        fc.pre(!reserved && !measurement.endsWith("\\") && !tags.some((t) => t.k.endsWith("\\")) && !fields.some((f) => f.k.endsWith("\\")));
        const line = `${escMeasurement(measurement)}${tags.map((t) => `,${escKey(t.k)}=${escKey(t.v)}`).join("")} ${fields
          .map((f) => `${escKey(f.k)}=${Number.isSafeInteger(f.v) ? `${f.v}i` : String(f.v)}`)
          .join(",")} ${ts}`;
        const rows = parsedRows(enc(line), { ...OPTS, serverPrecision: "ns" });
        assert.is(rows.length, fields.length);
        const m = normaliseMetricName(measurement);
        rows.forEach((r, i) => {
          assert.is(r.metric, fields[i]!.k === "value" ? m : `${m}_${normaliseMetricName(fields[i]!.k)}`);
          assert.is(r.dataPoint.value, fields[i]!.v);
          assert.is(r.dataPoint.timestamp, ts);
          assert.equal(
            r.labels.map((l) => `${l.name}=${l.value}`),
            tags.map((t) => `${normaliseLabelName(t.k)}=${t.v}`).sort((a, b) => (a.split("=")[0]! < b.split("=")[0]! ? -1 : 1)),
          );
        });
      },
    ),
    { numRuns: 1500 },
  );
});

test("WASM scan = JS parser: same samples, series, metrics, or the same error, on bodies of every shape", () => {
  const part = (...options: string[]) => fc.constantFrom(...options);
  const ident = fc.oneof(part("cpu", "mem", "disk_io", "m", "cpu.load", "ünï", "a:b", "1x", "#c", ""), fc.string({ unit: part(..."ab_.-:1".split("")), minLength: 1, maxLength: 6 }));
  const escaped = fc.oneof(ident, part("a\\ b", "a\\,b", "a\\=b", "a\\\\", "t\tb", "q\"x", "x\\"));
  const tagValue = fc.oneof(ident, part("host-01:9100", "a b", "a=b", "x\\ y", "1.5"));
  const tags = fc.array(fc.tuple(fc.oneof(ident, escaped, part("__name__", "host", "host")), tagValue).map(([k, v]) => `,${k}=${v}`), { maxLength: 3 }).map((t) => t.join(""));
  const number = fc.oneof(
    fc.double({ noNaN: true, noDefaultInfinity: true }).map(String),
    fc.integer().map(String),
    fc.bigInt({ min: -(2n ** 64n), max: 2n ** 64n }).map((v) => `${v}${["i", "u", ""][Number(v & 3n) % 3]}`),
    part("1", "-0", "+1.5", "0.1", "1e22", "1e23", "9007199254740993", "-1.5E-7", ".5", "5.", "1e", "1e+", "0x10", "1_0", "NaN", "inf", "-0i", "+1i", "-1u", "1.5i", "00000000000000000000001.5"),
    part("t", "T", "true", "True", "TRUE", "f", "false", "FALSE", "F"),
    part('"str"', '"a b, c=d"', '"unterminated', '"esc\\"q"', ""),
  );
  const field = fc.tuple(fc.oneof(part("value", "value", "usage_idle", "v"), escaped), number).map(([k, v]) => `${k}=${v}`);
  const fields = fc.array(field, { minLength: 0, maxLength: 3 }).map((f) => f.join(","));
  const timestamp = fc.oneof(
    part("", "", " 1700000000000", " 1700000000123", " -5", " 0", " 1700000000000000000", " 9300000000000000000", " 123456789012345678901", " 12x", " 1.5", "  42", " 1 2"),
    fc.bigInt({ min: -(2n ** 63n), max: 2n ** 63n - 1n }).map((t) => ` ${t}`),
  );
  const spaces = part(" ", " ", " ", "  ", "\t");
  const line = fc.oneof(
    { weight: 8, arbitrary: fc.tuple(fc.oneof(ident, escaped), tags, spaces, fields, timestamp, part("", "", "\r", " ", "\t")).map(([m, t, sp, f, ts, end]) => `${m}${t}${sp}${f}${ts}${end}`) },
    { weight: 1, arbitrary: part("", "# comment", "   ", "m", "m v=1,", "m v=1 1 2", " m,a=1 v=2") },
  );
  // bodies of the shape the WASM scan takes (plain keys, numbers, digit timestamps), so it is compared, not only its fallback
  const plain = fc.tuple(ident, fc.uniqueArray(fc.tuple(part("host", "dc", "job", "cpu", "1x"), part("a", "host-01:9100", "1.5", "ü")), { selector: ([k]) => k, maxLength: 3 }).map((t) => t.map(([k, v]) => `,${k}=${v}`)),
    fc.array(fc.tuple(part("value", "usage_idle", "v", "x"), fc.oneof(fc.integer().map((v) => String(v / 1000)), fc.integer().map((v) => (v * 0.37).toPrecision(12)), fc.integer().map((v) => `${v}e${v % 30}`), fc.integer().map(String), fc.integer().map((v) => `${v}i`))).map(([k, v]) => `${k}=${v}`), { minLength: 1, maxLength: 3 }),
    part("", " 1700000000000", " -1700000000123", " 1700000000", " 0"))
    .map(([m, t, f, ts]) => `${m.replace(/[ \\#]/g, "") || "m"}${t.join("")} ${f.join(",")}${ts}`);
  const body = fc.oneof(fc.array(line, { minLength: 1, maxLength: 8 }), fc.array(plain, { minLength: 1, maxLength: 8 }));
  const precision = part("ns", "us", "ms", "s", "m", "h");
  const server = part("ms", "s", "us");
  const outcome = (parse: typeof parseInfluxLines, body: Uint8Array, opts: InfluxParseOptions) => {
    try {
      const p = parse(body, opts);
      const out = {
        rows: Array.from({ length: p.count }, (_, i) => {
          const s = p.series[p.seriesIndex[i]!]!;
          return [s.metric, s.labels.map((l) => `${l.name}=${l.value}`).join(","), Object.is(p.values[i], -0) ? "-0" : p.values[i], p.timestamps[i]];
        }),
        series: p.series.length,
        metrics: p.metrics,
      };
      releaseInfluxColumns(p);
      return out;
    } catch (err) {
      return { error: (err as Error).message, kind: (err as ProtocolError).kind };
    }
  };
  fc.assert(
    fc.property(body, precision, server, fc.oneof(fc.constant(4096), fc.integer({ min: 1, max: 9 })), fc.integer({ min: 0, max: 2 }), (lines, p, sp, maxLines, ctx) => {
      const body = enc(lines.join("\n"));
      const opts: InfluxParseOptions = { precision: p as InfluxParseOptions["precision"], serverPrecision: sp as InfluxParseOptions["serverPrecision"], now: 77, maxLines, extraLabels: ctx ? [{ name: "influx_db", value: `db${ctx}` }] : [] };
      assert.equal(outcome(parseInfluxLines, body, opts), outcome(parseInfluxLinesInJs, body, opts), lines.join("\n"));
    }),
    { numRuns: 8000 },
  );
});

test("fuzz: any input either parses or throws a ProtocolError naming an existing line; never partial", () => {
  const chars = "ab_,= \\\"\n\t1.e+-iutf#";
  const alphabet = fc.constantFrom(...chars.split(""));
  const valid = ["cpu,host=a usage=1.5,idle=2i 1700000000000000000", 'm f=t,s="x y" 5\nm,t=b\\ c v=-3e2', "# c\nweather,loc=x temp=21.5,hum=40u"];
  let withSamples = 0;
  let rejected = 0;
  fc.assert(
    fc.property(fc.oneof(fc.string({ maxLength: 120 }), fc.string({ unit: alphabet, maxLength: 120 }), mutatedText(valid, chars)), (body) => {
      let rows;
      try {
        rows = parsedRows(enc(body), { ...OPTS, maxLines: 5 });
      } catch (err) {
        rejected++;
        assert.instance(err, ProtocolError);
        const m = /^line (\d+): /.exec((err as Error).message);
        if ((err as ProtocolError).kind === "malformed" && m) assert.ok(Number(m[1]) <= body.split("\n").length);
        else assert.ok((err as ProtocolError).kind === "too_large" || /UTF-8/.test((err as Error).message));
        return;
      }
      for (const r of rows) assert.ok(Number.isFinite(r.dataPoint.value) && r.metric.length > 0);
      if (rows.length > 0) withSamples++;
    }),
    { numRuns: 5000 },
  );
  // Not vacuous: some bodies parse to samples (so their checks run), others are rejected.
  assert.ok(withSamples >= 100 && rejected >= 100, `${withSamples} bodies with samples, ${rejected} rejected, of 5000`);
});

test.run();
