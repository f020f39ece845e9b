// The exemplar store against a naive model (fast-check): after any sequence of writes it holds exactly what the
// reference's eviction order leaves (a timestamp replaces its twin in a series; oldest of a series over its limit;
// then the globally oldest, ties by series identity), counts every eviction as dropped, and reloads its own file.
import { test } from "uvu";
import * as assert from "uvu/assert";
import fc from "fast-check";
import { mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { EXEMPLAR_LIMITS, ExemplarStore, type ExemplarLimits } from "../../src/server/exemplar-store.js";
import type { DecodedExemplar } from "../../src/protocols/exemplars.js";
import { SeriesKey } from "../../src/storage/types.js";

const TENANT = "__tsink_tenant__";
const keys = ["a", "b", "c", "d"].map((s) => new SeriesKey("m", [{ name: TENANT, value: "default" }, { name: "s", value: s }]));

interface ModelEntry { s: number; ts: number; v: number }

/** The reference's order, written the slow obvious way. */
function modelInsert(model: ModelEntry[], e: ModelEntry, limits: ExemplarLimits): number {
  let dropped = 0;
  const same = model.findIndex((m) => m.s === e.s && m.ts === e.ts);
  if (same >= 0) model.splice(same, 1);
  model.push(e);
  const mine = model.filter((m) => m.s === e.s);
  if (mine.length > limits.maxPerSeries) {
    const oldest = mine.reduce((a, b) => (b.ts < a.ts ? b : a));
    model.splice(model.indexOf(oldest), 1);
    dropped++;
  }
  while (model.length > limits.maxTotal) {
    const oldest = model.reduce((a, b) => (b.ts < a.ts || (b.ts === a.ts && b.s < a.s) ? b : a));
    model.splice(model.indexOf(oldest), 1);
    dropped++;
  }
  return dropped;
}

function everything(store: ExemplarStore): ModelEntry[] {
  const out: ModelEntry[] = [];
  const json = JSON.parse(store.query("default", [[{ name: "__name__", op: "=", value: "m" }]], -1e15, 1e15, 1e9, (ts) => String(ts)).json) as {
    seriesLabels: { s: string }; exemplars: { value: string; timestamp: number }[];
  }[];
  for (const g of json) for (const e of g.exemplars) out.push({ s: "abcd".indexOf(g.seriesLabels.s), ts: e.timestamp, v: Number(e.value) });
  return out.sort((a, b) => a.s - b.s || a.ts - b.ts);
}

test("eviction order and dropped counts match the model (fast-check)", () => {
  const write = fc.array(fc.record({ s: fc.integer({ min: 0, max: 3 }), ts: fc.integer({ min: 0, max: 30 }), v: fc.integer({ min: -5, max: 5 }) }), { minLength: 1, maxLength: 6 });
  fc.assert(
    fc.property(fc.integer({ min: 1, max: 5 }), fc.integer({ min: 1, max: 12 }), fc.array(write, { maxLength: 25 }), (perSeries, total, writes) => {
      const limits = { ...EXEMPLAR_LIMITS, maxPerSeries: perSeries, maxTotal: total };
      const store = new ExemplarStore(undefined, limits);
      const model: ModelEntry[] = [];
      for (const w of writes) {
        let modelDropped = 0;
        for (const e of w) modelDropped += modelInsert(model, { s: e.s, ts: e.ts, v: e.v }, limits);
        const batch: DecodedExemplar[] = w.map((e) => ({ series: keys[e.s]!, labels: [{ name: "trace_id", value: `t${e.ts}` }], timestamp: e.ts, value: e.v }));
        const outcome = store.insert(batch);
        assert.equal(outcome, { accepted: w.length, dropped: modelDropped });
        assert.ok(store.size <= total);
      }
      assert.equal(everything(store), [...model].sort((a, b) => a.s - b.s || a.ts - b.ts));
      assert.is(store.size, model.length);
      assert.is(store.seriesCount, new Set(model.map((m) => m.s)).size);
    }),
    { numRuns: 400 },
  );
});

test("the file round-trips (NaN/Inf values, ns bigint timestamps); exemplar-store.tmp is renamed away", async () => {
  const dir = mkdtempSync(join(tmpdir(), "tsink-exstore-"));
  try {
    const path = join(dir, "server", "exemplar-store.json");
    const store = new ExemplarStore(path);
    store.insert([
      { series: keys[0]!, labels: [{ name: "trace_id", value: "x\"y" }], timestamp: 1700000000123456789n, value: NaN },
      { series: keys[1]!, labels: [], timestamp: 1700000000123456790n, value: -Infinity },
      { series: keys[1]!, labels: [], timestamp: 5n, value: 0.5 },
    ]);
    await store.persisted();
    assert.equal(readdirSync(join(dir, "server")), ["exemplar-store.json"]);
    const file = JSON.parse(readFileSync(path, "utf8")) as { magic: string; schema_version: number; entries: unknown[] };
    assert.is(file.magic, "tsink-exemplar-store");
    assert.is(file.schema_version, 1);
    assert.is(file.entries.length, 3);
    const again = new ExemplarStore(path);
    await again.load();
    const dump = (s: ExemplarStore) => s.query("default", [[{ name: "s", op: "=~", value: ".+" }]], -(2n ** 62n), 2n ** 62n, 100, (ts) => `"${ts}"`).json;
    assert.is(dump(again), dump(store));
    assert.match(dump(again), /"value":"NaN","timestamp":"1700000000123456789"/);
    // a bad magic or schema version refuses to load
    writeFileSync(path, JSON.stringify({ ...file, magic: "other" }));
    let err = await new ExemplarStore(path).load().catch((e: Error) => e);
    assert.match(String(err), /magic "other" is not "tsink-exemplar-store"/);
    writeFileSync(path, JSON.stringify({ ...file, schema_version: 2 }));
    err = await new ExemplarStore(path).load().catch((e: Error) => e);
    assert.match(String(err), /schema_version 2 is not 1/);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test("concurrent writes share saves, and each resolves only once its exemplars are in the file", async () => {
  const dir = mkdtempSync(join(tmpdir(), "tsink-exstore-"));
  try {
    const path = join(dir, "exemplar-store.json");
    const store = new ExemplarStore(path);
    const waits: Promise<void>[] = [];
    for (let i = 0; i < 20; i++) {
      store.insert([{ series: keys[i % 4]!, labels: [], timestamp: i, value: i }]);
      const n = i + 1;
      waits.push(store.persisted().then(() => assert.ok((JSON.parse(readFileSync(path, "utf8")) as { entries: unknown[] }).entries.length >= n, `write ${n}`)));
    }
    await Promise.all(waits);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test.run();
