import { test } from "uvu";
import * as assert from "uvu/assert";
import type { Codec, QueryOptions, StoredPoint } from "../../src/index.js";
import { L, msStorage, rejects, row } from "./helpers.js";
import { StorageBuilder } from "../../src/index.js";
import { memoryViews } from "../../src/wasm/loader.js";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";

// 10 points 0..9 at ts 10, 20, ..., 100, with a NaN at ts 55 (chunkPoints 4: sealed chunks and an active head)
async function seeded() {
  const s = await msStorage((b) => b.withChunkPoints(4));
  const rows = Array.from({ length: 10 }, (_, i) => row("q", L("h", "a"), (i + 1) * 10, i));
  rows.push(row("q", L("h", "a"), 55, NaN));
  await s.insertRows(rows);
  return s;
}

const agg = async (aggregation: string, extra: object = {}) => {
  const s = await seeded();
  return s.selectWithOptions("q", { start: 0, end: 1000, labels: L("h", "a"), aggregation: aggregation as never, ...extra });
};

test("aggregations over the whole range follow the reference (NaN skipped, Count is u64)", async () => {
  assert.equal(await agg("Sum"), [{ timestamp: 100, value: 45 }]);
  assert.equal(await agg("Count"), [{ timestamp: 100, value: 10n }]);
  assert.equal(await agg("Avg"), [{ timestamp: 100, value: 4.5 }]);
  assert.equal(await agg("Min"), [{ timestamp: 10, value: 0 }], "Min keeps the point's own timestamp");
  assert.equal(await agg("Max"), [{ timestamp: 100, value: 9 }]);
  assert.equal(await agg("First"), [{ timestamp: 10, value: 0 }]);
  assert.equal(await agg("Last"), [{ timestamp: 100, value: 9 }]);
  assert.equal(await agg("Median"), [{ timestamp: 100, value: 4.5 }]);
  assert.equal(await agg("Range"), [{ timestamp: 100, value: 9 }]);
  assert.equal(await agg("Variance"), [{ timestamp: 100, value: 8.25 }]);
  assert.equal(await agg("StdDev"), [{ timestamp: 100, value: Math.sqrt(8.25) }]);
  assert.is((await agg("None")).length, 11);
});

test("Sum/Count/Avg agree between the WASM chunk path and the column path", async () => {
  const s = await msStorage((b) => b.withChunkPoints(8));
  const rows = Array.from({ length: 100 }, (_, i) => row("w", [], i, (i * 7) % 13));
  await s.insertRows(rows);
  for (const [start, end] of [[0, 100], [3, 57], [8, 16], [95, 200]] as const) {
    const pts = rows.filter((r) => (r.dataPoint.timestamp as number) >= start && (r.dataPoint.timestamp as number) < end);
    const sum = pts.reduce((a, r) => a + (r.dataPoint.value as number), 0);
    const last = Math.min(end, 100) - 1;
    assert.equal(await s.selectWithOptions("w", { start, end, aggregation: "Sum" }), [{ timestamp: last, value: sum }]);
    assert.equal(await s.selectWithOptions("w", { start, end, aggregation: "Count" }), [{ timestamp: last, value: BigInt(pts.length) }]);
    assert.equal(await s.selectWithOptions("w", { start, end, aggregation: "Avg" }), [{ timestamp: last, value: sum / pts.length }]);
  }
  assert.equal(await s.selectWithOptions("w", { start: 500, end: 600, aggregation: "Sum" }), []);
});

test("integer aggregations stay exact; non-numeric values need First/Last/Count or a custom aggregation", async () => {
  const s = await msStorage();
  await s.insertRows([row("i", [], 1, 2n ** 62n), row("i", [], 2, 2n ** 62n), row("i", [], 3, 1n)]);
  assert.equal(await s.selectWithOptions("i", { start: 0, end: 10, aggregation: "Sum" }), [{ timestamp: 3, value: 2n ** 63n - 1n }], "clamped like the reference");
  assert.equal(await s.selectWithOptions("i", { start: 0, end: 10, aggregation: "Range" }), [{ timestamp: 3, value: 2n ** 62n - 1n }]);
  assert.equal(await s.selectWithOptions("i", { start: 0, end: 10, aggregation: "Min" }), [{ timestamp: 3, value: 1n }]);
  await rejects(s.selectWithOptions("i", { start: 0, end: 10, aggregation: "Avg" }), "UnsupportedAggregation", "cannot be represented exactly");
  await s.insertRows([row("s", [], 1, "b"), row("s", [], 2, "a")]);
  await rejects(s.selectWithOptions("s", { start: 0, end: 10, aggregation: "Sum" }), "UnsupportedAggregation", "string");
  assert.equal(await s.selectWithOptions("s", { start: 0, end: 10, aggregation: "Min" }), [{ timestamp: 2, value: "a" }]);
  assert.equal(await s.selectWithOptions("s", { start: 0, end: 10, aggregation: "Count" }), [{ timestamp: 2, value: 2n }]);
  await rejects(s.selectWithOptions("s", { start: 0, end: 10, aggregation: "Bogus" as never }), "UnsupportedAggregation");
});

test("downsample: buckets anchored at start, bucket-start timestamps, None means Last", async () => {
  const s = await seeded();
  const q = (o: object) => s.selectWithOptions("q", { start: 5, end: 1000, labels: L("h", "a"), ...o });
  assert.equal(await q({ downsample: { interval: 30, aggregation: "Sum" } }), [
    { timestamp: 5, value: 0 + 1 + 2 },
    { timestamp: 35, value: 3 + 4 + 5 },
    { timestamp: 65, value: 6 + 7 + 8 },
    { timestamp: 95, value: 9 },
  ]);
  assert.equal(await q({ downsample: { interval: 30 } }), [
    { timestamp: 5, value: 2 },
    { timestamp: 35, value: 5 },
    { timestamp: 65, value: 8 },
    { timestamp: 95, value: 9 },
  ]);
  assert.equal(await q({ aggregation: "Max", downsample: { interval: 50 } }), [
    { timestamp: 5, value: 4 },
    { timestamp: 55, value: 9 },
  ], "the aggregation option applies when the downsample has none");
  assert.equal(await q({ downsample: { interval: 30, aggregation: "Count" }, offset: 1, limit: 2 }), [
    { timestamp: 35, value: 3n },
    { timestamp: 65, value: 3n },
  ]);
  await rejects(q({ downsample: { interval: 0 } }), "InvalidConfiguration", "positive");
});

test("pagination: offset/limit over raw points", async () => {
  const s = await seeded();
  const q = (offset?: number, limit?: number) => {
    const opts: QueryOptions = { start: 0, end: 1000, labels: L("h", "a"), offset, limit }; // the library root exports the storage QueryOptions
    return s.selectWithOptions("q", opts);
  };
  assert.equal((await q(2, 3)).map((p) => p.timestamp), [30, 40, 50]);
  assert.equal((await q(9)).map((p) => p.timestamp), [90, 100]);
  assert.equal(await q(50), []);
  assert.equal(await q(0, 0), []);
  await rejects(q(-1), "InvalidConfiguration");
  await rejects(q(0, 1.5), "InvalidConfiguration");
});

test("custom bytes aggregation through a codec + aggregator pair", async () => {
  type Pair = { a: number; b: number };
  const codec: Codec<Pair> = {
    encode: (p) => new Uint8Array([p.a, p.b]),
    decode: (bytes) => ({ a: bytes[0]!, b: bytes[1]! }),
  };
  const aggregator = { aggregate: (vs: Pair[]) => (vs.length === 0 ? undefined : { a: Math.max(...vs.map((v) => v.a)), b: vs.reduce((x, v) => x + v.b, 0) }) };
  const s = await msStorage((b) => b.withChunkPoints(3));
  await s.insertRows(Array.from({ length: 6 }, (_, i) => row("c", [], i * 10, codec.encode({ a: i, b: 1 }))));
  const whole = await s.selectWithOptions("c", { start: 0, end: 100, customAggregation: { codec, aggregator } });
  assert.equal(whole.map((p) => [p.timestamp, codec.decode(p.value as Uint8Array)]), [[50, { a: 5, b: 6 }]]);
  const buckets = await s.selectWithOptions("c", { start: 0, end: 100, downsample: { interval: 20 }, customAggregation: { codec, aggregator } });
  assert.equal(buckets.map((p) => [p.timestamp, codec.decode(p.value as Uint8Array)]), [
    [0, { a: 1, b: 2 }],
    [20, { a: 3, b: 2 }],
    [40, { a: 5, b: 2 }],
  ]);
  await s.insertRows([row("n", [], 1, 1)]);
  await rejects(s.selectWithOptions("n", { start: 0, end: 10, customAggregation: { codec, aggregator } }), "UnsupportedAggregation");
});

test("selectAll, selectMany and listMetrics", async () => {
  const s = await msStorage();
  await s.insertRows([row("m", L("h", "b"), 1, 2), row("m", L("h", "a"), 1, 1), row("m", L("h", "c"), 500, 3), row("n", [], 1, 9)]);
  const all = await s.selectAll("m", 0, 100);
  assert.equal(all, [
    { labels: L("h", "a"), points: [{ timestamp: 1, value: 1 }] },
    { labels: L("h", "b"), points: [{ timestamp: 1, value: 2 }] },
  ], "sorted by labels, series without points in range are left out");
  const many = await s.selectMany([{ name: "n", labels: [] }, { name: "m", labels: L("h", "zz") }, { name: "m", labels: L("h", "b") }], 0, 100);
  assert.equal(many.map((x) => [x.series.name, x.points.length]), [["n", 1], ["m", 0], ["m", 1]]);
  assert.equal(await s.listMetrics(), [
    { name: "m", labels: L("h", "a") },
    { name: "m", labels: L("h", "b") },
    { name: "m", labels: L("h", "c") },
    { name: "n", labels: [] },
  ]);
});

test("scanMetricRows / scanSeriesRows page with cursors until the end", async () => {
  const s = await msStorage((b) => b.withChunkPoints(2));
  const rows = [];
  for (const h of ["a", "b", "c"]) for (let i = 0; i < 5; i++) rows.push(row("sc", L("h", h), i, i));
  await s.insertRows(rows);
  const seen: string[] = [];
  let offset: number | undefined = 0;
  let pages = 0;
  while (offset !== undefined) {
    const page = await s.scanMetricRows("sc", 0, 100, { maxRows: 4, rowOffset: offset });
    pages++;
    for (const r of page.rows) seen.push(`${r.labels[0]!.value}${r.dataPoint.timestamp}`);
    assert.is(page.truncated, page.nextRowOffset !== undefined);
    assert.is(page.rowsScanned, offset + page.rows.length);
    offset = page.nextRowOffset;
  }
  assert.is(pages, 4);
  assert.equal(seen, ["a0", "a1", "a2", "a3", "a4", "b0", "b1", "b2", "b3", "b4", "c0", "c1", "c2", "c3", "c4"]);
  const everything = await s.scanMetricRows("sc", 2, 4);
  assert.is(everything.rows.length, 6);
  assert.is(everything.truncated, false);
  const series = await s.scanSeriesRows([{ name: "sc", labels: L("h", "c") }, { name: "sc", labels: L("h", "nope") }], 0, 100, { maxRows: 2, rowOffset: 3 });
  assert.equal(series.rows.map((r) => r.dataPoint.timestamp), [3, 4]);
  assert.equal(series.nextRowOffset, undefined);
  await rejects(s.scanMetricRows("sc", 0, 10, { maxRows: 0 }), "InvalidConfiguration");
});

test("observabilitySnapshot counts queries and memory sections", async () => {
  const s = await msStorage();
  await s.insertRows([row("o", [], 1, 1)]);
  await s.select("o", [], 0, 10);
  await rejects(s.select("o", [], 10, 0), "InvalidTimeRange");
  const snap = s.observabilitySnapshot() as Record<string, Record<string, number>>;
  assert.is(snap.query!.selectCallsTotal, 2);
  assert.is(snap.query!.selectErrorsTotal, 1);
  assert.is(snap.ingest!.rowsTotal, 1);
  assert.is(snap.memory!.activeAndSealedBytes, s.memoryUsed());
  assert.is(snap.series!.total, 1);
});

test("points come back as plain objects", async () => {
  const s = await msStorage();
  await s.insertRows([row("p", [], 1, 1)]);
  const pts: StoredPoint[] = await s.select("p", [], 0, 10);
  assert.equal(Object.keys(pts[0]!), ["timestamp", "value"]);
});

test("selectColumns label options: __name__ in sorted place, one label left out, values unchanged", async () => {
  const s = await msStorage((b) => b.withChunkPoints(3));
  const rows = [1, 2, 3, 4, 5].map((t) => row("m", L("Zone", "z", "job", "a", "tenant", "t1"), t, t * 2));
  rows.push(row("m", L("job", "b"), 1, -1));
  await s.insertRows(rows);
  const plain = await s.selectColumns({ metric: "m" }, 0, 10);
  assert.equal(plain.map((c) => c.labels), [L("Zone", "z", "job", "a", "tenant", "t1"), L("job", "b")]);
  const shaped = await s.selectColumns({ metric: "m" }, 0, 10, { metricLabel: true, omitLabel: "tenant" });
  assert.equal(shaped.map((c) => c.labels), [L("Zone", "z", "__name__", "m", "job", "a"), L("__name__", "m", "job", "b")]);
  assert.equal(Array.from(shaped[0]!.values), [2, 4, 6, 8, 10]);
  assert.equal(Array.from(shaped[0]!.timestamps as Float64Array), [1, 2, 3, 4, 5]);
  const again = await s.selectColumns({ metric: "m" }, 0, 10, { metricLabel: true });
  assert.equal(again[1]!.labels, L("__name__", "m", "job", "b"));
  assert.ok(again[0]!.labels[1] === shaped[0]!.labels[1], "label objects are shared between reads");
});

test("selectColumns over series that span and cross its shared pages equals select() per series", async () => {
  const s = await msStorage((b) => b.withChunkPoints(500));
  const sizes = [5000, 3, 9000, ...Array.from({ length: 60 }, (_, i) => 100 + i * 37), 20000];
  const rows = [];
  for (let k = 0; k < sizes.length; k++) for (let t = 0; t < sizes[k]!; t++) rows.push(row("big", L("k", String(k).padStart(3, "0")), t + 1, k * 1e6 + t));
  await s.insertRows(rows);
  const cols = await s.selectColumns({ metric: "big" }, 0, 1e9);
  assert.is(cols.length, sizes.length);
  for (let k = 0; k < sizes.length; k++) {
    const pts = await s.select("big", L("k", String(k).padStart(3, "0")), 0, 1e9);
    assert.equal(Array.from(cols[k]!.timestamps as Float64Array), pts.map((p) => p.timestamp), `timestamps of series ${k}`);
    assert.equal(Array.from(cols[k]!.values), pts.map((p) => p.value), `values of series ${k}`);
  }
});

for (const where of ["memory", "segments"] as const) test(`selectBatches delivers selectColumns' series in WASM memory, whole series per batch, bits unchanged (${where})`, async () => {
  const dir = where === "segments" ? mkdtempSync(join(tmpdir(), "tsink-batches-")) : undefined;
  const open = () => msStorage((b) => (dir ? b.withDataPath(dir) : b).withChunkPoints(4));
  let s = await open();
  const stale = new Float64Array(new BigUint64Array([0x7ff0000000000002n]).buffer)[0]!;
  const rows = [];
  for (let k = 0; k < 6; k++) for (let t = 1; t <= 11 + k; t++) rows.push(row("m", L("k", String(k)), t * 10, t === 7 ? stale : k * 100 + t));
  rows.push(row("m", L("k", "late"), 50, 1), row("m", L("k", "late"), 90, 2));
  rows.push(row("m", L("k", "ints"), 20, 5n), row("m", L("k", "ints"), 30, 6n));
  rows.push(row("m", L("k", "text"), 20, "x"));
  await s.insertRows(rows);
  await s.insertRows([row("m", L("k", "late"), 40, 3), row("m", L("k", "late"), 60, 4)]); // overlaps the sealed run
  if (dir) {
    await s.deleteSeries({ metric: "m", matchers: [{ name: "k", op: "=", value: "2" }], start: 95, end: 115 });
    await s.close(); // everything goes into segments (chunk records), read back below with the tombstone applied
    s = await open();
  }
  const [start, end] = [25, 135];
  const cols = await s.selectColumns({ metric: "m" }, start, end, { metricLabel: true });
  const got: { labels: unknown; ts: number[]; bits: bigint[] }[] = [];
  const batchSizes: number[] = [];
  let labels: unknown[] = [];
  const ok = await s.selectBatches({ metric: "m" }, start, end, 9, (batch) => {
    const mem = memoryViews();
    const n = batch.offsets.length - 1;
    assert.is(batch.first, got.length, "a batch's series follow the previous batches' in the read's one label list");
    assert.ok(labels.length === 0 || batch.labels === labels, "the same label list in every batch");
    labels = batch.labels;
    batchSizes.push(batch.offsets[n]! - batch.offsets[0]!);
    for (let i = 0; i < n; i++) {
      const [a, b] = [batch.offsets[i]!, batch.offsets[i + 1]!];
      got.push({
        labels: batch.labels[batch.first + i],
        ts: Array.from(mem.f64.subarray(batch.tsPtr / 8 + a, batch.tsPtr / 8 + b)),
        bits: Array.from(mem.u64.subarray(batch.vsPtr / 8 + a, batch.vsPtr / 8 + b)),
      });
    }
  });
  assert.ok(ok);
  assert.equal(got.map((g) => g.labels), cols.map((c) => c.labels));
  assert.equal(labels, cols.map((c) => c.labels), "once the read resolved, the list holds exactly the series read");
  for (let i = 0; i < cols.length; i++) {
    assert.equal(got[i]!.ts, Array.from(cols[i]!.timestamps as Float64Array), `timestamps of ${i}`);
    assert.equal(got[i]!.bits, Array.from(new BigUint64Array(cols[i]!.values.slice().buffer)), `value bits of ${i}`);
  }
  assert.equal(cols.find((c) => c.labels.some((l) => l.value === "late"))!.timestamps, new Float64Array([40, 50, 60, 90]));
  const deleted = cols.find((c) => c.labels.some((l) => l.value === "2"))!.timestamps as Float64Array;
  assert.equal(Array.from(deleted), [30, 40, 50, 60, 70, 80, 90, ...(dir ? [] : [100, 110]), 120, 130]);
  assert.ok(batchSizes.length > 2, "several batches");
  for (const size of batchSizes.slice(0, -1)) assert.ok(size >= 9, "a batch closes once it holds maxPoints");
  await s.close();
  if (dir) rmSync(dir, { recursive: true, force: true });
  if (where === "segments") return;

  const ns = await new StorageBuilder().build();
  await ns.insertRows([row("m", L("k", "a"), 1n, 1)]);
  let called = false;
  assert.is(await ns.selectBatches({ metric: "m" }, 0n, 10n, 9, () => {
    called = true;
  }), false);
  assert.not.ok(called);
  await ns.close();
});

test.run();
