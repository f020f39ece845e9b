import { test } from "uvu";
import * as assert from "uvu/assert";
import { StorageBuilder, u64 } from "../../src/index.js";
import { L, NOW, msStorage, rejects, row } from "./helpers.js";

test("insert then select returns points sorted, range half-open [start, end)", async () => {
  const s = await msStorage();
  await s.insertRows([row("cpu", L("host", "a"), 300, 3), row("cpu", L("host", "a"), 100, 1), row("cpu", L("host", "a"), 200, 2)]);
  assert.equal(await s.select("cpu", L("host", "a"), 0, 1000), [
    { timestamp: 100, value: 1 },
    { timestamp: 200, value: 2 },
    { timestamp: 300, value: 3 },
  ]);
  assert.equal(await s.select("cpu", L("host", "a"), 100, 200), [{ timestamp: 100, value: 1 }]);
  assert.equal(await s.select("cpu", L("host", "a"), 101, 300), [{ timestamp: 200, value: 2 }]);
  assert.equal(await s.select("nope", [], 0, 10), []);
  assert.equal(await s.select("cpu", L("host", "b"), 0, 1000), []);
  assert.equal(await s.select("cpu", [], 0, 1000), [], "[] is the series without labels");
});

test("start >= end is InvalidTimeRange on every range method", async () => {
  const s = await msStorage();
  await rejects(s.select("cpu", [], 10, 10), "InvalidTimeRange", "start must be lower than end");
  await rejects(s.select("cpu", [], 11, 10), "InvalidTimeRange");
  await rejects(s.selectAll("cpu", 5, 5), "InvalidTimeRange");
  await rejects(s.selectMany([], 5, 1), "InvalidTimeRange");
  await rejects(s.selectWithOptions("cpu", { start: 5, end: 5 }), "InvalidTimeRange");
  await rejects(s.scanMetricRows("cpu", 5, 5), "InvalidTimeRange");
  await rejects(s.selectColumns({ metric: "cpu" }, 9, 3), "InvalidTimeRange");
});

test("label order never matters; duplicate label names are InvalidLabel", async () => {
  const s = await msStorage();
  await s.insertRows([row("m", L("b", "2", "a", "1"), 1, 1)]);
  await s.insertRows([row("m", L("a", "1", "b", "2"), 2, 2)]);
  assert.equal((await s.select("m", L("b", "2", "a", "1"), 0, 10)).length, 2);
  assert.equal((await s.listMetrics()).length, 1);
  assert.equal((await s.listMetrics())[0]!.labels, L("a", "1", "b", "2"));
  await rejects(s.insertRows([row("m", L("a", "1", "a", "2"), 3, 3)]), "InvalidLabel", "appears twice");
});

test("rows sharing one labels array (one series, many samples) and interleaved series", async () => {
  const s = await msStorage();
  const a = L("h", "a");
  const b = L("h", "b");
  await s.insertRows([row("m", a, 1, 1), row("m", a, 2, 2), row("n", a, 3, 30), row("m", b, 3, 3), row("m", a, 4, 4), row("m", undefined as never, 5, 5), row("m", undefined as never, 6, 6)]);
  assert.equal((await s.select("m", a, 0, 10)).map((p) => p.value), [1, 2, 4]);
  assert.equal((await s.select("n", a, 0, 10)).map((p) => p.value), [30]);
  assert.equal((await s.select("m", b, 0, 10)).map((p) => p.value), [3]);
  assert.equal((await s.select("m", [], 0, 10)).map((p) => p.value), [5, 6]);
  await rejects(s.insertRows([row("m", a, 7, 7), row("m", a, 8, "x")]), "ValueTypeMismatch");
});

test("duplicate timestamps are all kept", async () => {
  const s = await msStorage();
  await s.insertRows([row("d", [], 100, 1), row("d", [], 100, 2), row("d", [], 100, 3)]);
  await s.insertRows([row("d", [], 100, 3)]);
  assert.equal((await s.select("d", [], 0, 1000)).map((p) => p.value), [1, 2, 3, 3]);
});

test("out-of-order writes across partitions, with head eviction and chunk sealing", async () => {
  const s = await new StorageBuilder()
    .withTimestampPrecision("ms")
    .withPartitionDuration(1000)
    .withMaxActivePartitionHeadsPerSeries(2)
    .withChunkPoints(5)
    .build();
  const expected: number[] = [];
  // 40 points over 8 partitions, written in a scrambled order
  const order = Array.from({ length: 40 }, (_, i) => (i * 17) % 40);
  for (const i of order) {
    await s.insertRows([row("ooo", [], NOW + i * 200, i)]);
    expected.push(i);
  }
  const pts = await s.select("ooo", [], NOW, NOW + 10_000);
  assert.equal(pts.map((p) => p.value), Array.from({ length: 40 }, (_, i) => i));
  const snap = s.observabilitySnapshot() as { series: { activeHeads: number; sealedChunks: number } };
  assert.ok(snap.series.activeHeads <= 2, "at most 2 heads per series stay open");
  assert.ok(snap.series.sealedChunks > 0);
  // a sub-range that crosses several chunks and heads
  assert.equal((await s.select("ooo", [], NOW + 1000, NOW + 3000)).map((p) => p.value), [5, 6, 7, 8, 9, 10, 11, 12, 13, 14]);
});

test("thousands of series across several slab pages keep their points apart (grow, seal, read)", async () => {
  const s = await msStorage((b) => b.withChunkPoints(20));
  const series = 6000;
  for (let round = 0; round < 25; round++) {
    await s.insertRows(Array.from({ length: series }, (_, i) => row("pg", L("i", String(i)), NOW + round, i * 1000 + round)));
  }
  for (const i of [0, 1, 4095, 4096, 4097, 5999]) {
    const pts = await s.select("pg", L("i", String(i)), 0, NOW + 100);
    assert.equal(pts.map((p) => p.value), Array.from({ length: 25 }, (_, r) => i * 1000 + r), `series ${i}`);
  }
  const snap = s.observabilitySnapshot() as { series: { sealedChunks: number; activeHeads: number } };
  assert.is(snap.series.sealedChunks, series);
  assert.is(snap.series.activeHeads, series);
});

test("sealing every head lets the slab pages go (a flush holds no empty pages)", async () => {
  const s = await msStorage();
  for (let round = 0; round < 10; round++) {
    await s.insertRows(Array.from({ length: 6000 }, (_, i) => row("pg", L("i", String(i)), NOW + round, i)));
  }
  const memory = () => (s.observabilitySnapshot() as { memory: { allocatedBufferBytes: number; activeBytes: number } }).memory;
  const open = memory();
  assert.ok(open.activeBytes >= 6000 * 10 * 16);
  s.sealAll();
  // the sealed chunks (~0.5 MB) now take the place of ~1.2 MB of slab blocks; pooled pages would keep those
  assert.is(memory().activeBytes, 0);
  assert.ok(memory().allocatedBufferBytes < open.allocatedBufferBytes, `${memory().allocatedBufferBytes} B after sealing, ${open.allocatedBufferBytes} B before`);
  assert.equal((await s.select("pg", L("i", "5999"), 0, NOW + 100)).map((p) => p.value), Array(10).fill(5999));
});

test("value types round-trip: f64, i64, u64, bool, bytes, string", async () => {
  const s = await msStorage();
  const bytes = new Uint8Array([0, 1, 255]);
  await s.insertRows([
    row("f", [], 1, 1.5),
    row("i", [], 1, -(2n ** 63n)),
    row("i", [], 2, 2n ** 63n - 1n),
    row("u", [], 1, u64(2n ** 64n - 1n)),
    row("u", [], 2, 5n),
    row("b", [], 1, true),
    row("b", [], 2, false),
    row("y", [], 1, bytes),
    row("s", [], 1, "héllo"),
    row("s", [], 2, ""),
  ]);
  assert.equal(await s.select("f", [], 0, 10), [{ timestamp: 1, value: 1.5 }]);
  assert.equal((await s.select("i", [], 0, 10)).map((p) => p.value), [-(2n ** 63n), 2n ** 63n - 1n]);
  assert.equal((await s.select("u", [], 0, 10)).map((p) => p.value), [2n ** 64n - 1n, 5n]);
  assert.equal((await s.select("b", [], 0, 10)).map((p) => p.value), [true, false]);
  assert.equal((await s.select("y", [], 0, 10))[0]!.value, bytes);
  assert.equal((await s.select("s", [], 0, 10)).map((p) => p.value), ["héllo", ""]);
});

test("value types survive chunk sealing (chunkPoints 3)", async () => {
  const s = await msStorage((b) => b.withChunkPoints(3));
  const rows = [];
  for (let i = 0; i < 10; i++) {
    rows.push(row("f", [], i, i / 3), row("i", [], i, BigInt(i) - 5n), row("u", [], i, u64(BigInt(i) * 2n ** 60n)));
    rows.push(row("b", [], i, i % 2 === 0), row("y", [], i, new Uint8Array([i])), row("s", [], i, `v${i}`));
  }
  await s.insertRows(rows);
  const all = async (m: string) => (await s.select(m, [], 0, 100)).map((p) => p.value);
  assert.equal(await all("f"), Array.from({ length: 10 }, (_, i) => i / 3));
  assert.equal(await all("i"), Array.from({ length: 10 }, (_, i) => BigInt(i) - 5n));
  assert.equal(await all("u"), Array.from({ length: 10 }, (_, i) => BigInt(i) * 2n ** 60n));
  assert.equal(await all("b"), Array.from({ length: 10 }, (_, i) => i % 2 === 0));
  assert.equal(await all("y"), Array.from({ length: 10 }, (_, i) => new Uint8Array([i])));
  assert.equal(await all("s"), Array.from({ length: 10 }, (_, i) => `v${i}`));
  const snap = s.observabilitySnapshot() as { series: { sealedChunks: number } };
  assert.is(snap.series.sealedChunks, 18);
});

test("type mismatch: later write of another type, or mixed types in one batch, is rejected whole", async () => {
  const s = await msStorage();
  await s.insertRows([row("t", [], 1, 1.0)]);
  const err = await rejects(s.insertRows([row("t", [], 2, 5n)]), "ValueTypeMismatch", "holds f64");
  assert.equal(err.details.expected, "f64");
  assert.equal(err.details.actual, "i64");
  await rejects(s.insertRows([row("t2", [], 1, "a"), row("t2", [], 2, 2)]), "ValueTypeMismatch");
  // the rejected batch left nothing behind: t2 does not exist and can take a number now
  assert.equal(await s.select("t2", [], 0, 10), []);
  await s.insertRows([row("t2", [], 1, 7)]);
  assert.equal(await s.select("t2", [], 0, 10), [{ timestamp: 1, value: 7 }]);
  // i64 series refuses a u64-tagged value; a u64 series takes plain bigints
  await s.insertRows([row("iu", [], 1, 1n), row("uu", [], 1, u64(1n))]);
  await rejects(s.insertRows([row("iu", [], 2, u64(2n))]), "ValueTypeMismatch");
  await s.insertRows([row("uu", [], 2, 2n)]);
  await rejects(s.insertRows([row("uu", [], 3, -1n)]), "InvalidValue");
  assert.equal((await s.select("uu", [], 0, 10)).map((p) => p.value), [1n, 2n]);
});

test("a failing row rejects the whole batch (no partial write)", async () => {
  const s = await msStorage();
  await rejects(s.insertRows([row("ok", [], 1, 1), row("", [], 2, 2)]), "MetricRequired");
  await rejects(s.insertRows([row("ok", [], 1, 1), { metric: "ok", dataPoint: { timestamp: 1.5, value: 1 } }]), "InvalidTimestamp");
  await rejects(s.insertRows([row("ok", [], 1, 1), { metric: "ok", dataPoint: { timestamp: 1, value: {} as never } }]), "InvalidValue");
  assert.equal(await s.select("ok", [], 0, 10), []);
  assert.equal(await s.listMetrics(), []);
});

test("NaN payloads (Prometheus staleness marker) round-trip bit-exact through selectColumns", async () => {
  const s = await msStorage((b) => b.withChunkPoints(4));
  const stale = new Float64Array(new BigUint64Array([0x7ff0000000000002n]).buffer)[0]!;
  const rows = [];
  for (let i = 0; i < 10; i++) rows.push(row("up", L("job", "x"), i, i % 3 === 0 ? stale : i));
  await s.insertRows(rows);
  const [sel] = await s.selectColumns({ metric: "up" }, 0, 100);
  const bits = new BigUint64Array(sel!.values.buffer, sel!.values.byteOffset, sel!.values.length);
  for (let i = 0; i < 10; i++) {
    if (i % 3 === 0) assert.is(bits[i], 0x7ff0000000000002n, `point ${i} (sealed and active)`);
    else assert.is(sel!.values[i], i);
  }
  assert.equal(Array.from(sel!.timestamps as Float64Array), Array.from({ length: 10 }, (_, i) => i));
});

test("ns precision: bigint timestamps in and out, beyond 2^53", async () => {
  const s = await new StorageBuilder().build(); // library default precision is ns
  const base = BigInt(Date.now() - 60_000) * 1_000_000n;
  await s.insertRows([row("ns", [], base + 1n, 1), row("ns", [], base, 0), row("ns", [], base + 3n, 3), row("ns", [], Number(1000), 9)]);
  const pts = await s.select("ns", [], base, base + 3n);
  assert.equal(pts, [
    { timestamp: base, value: 0 },
    { timestamp: base + 1n, value: 1 },
  ]);
  assert.equal((await s.select("ns", [], 0n, 2000n)).map((p) => p.timestamp), [1000n]);
  const [col] = await s.selectColumns({ metric: "ns" }, 0n, base + 10n);
  assert.instance(col!.timestamps, BigInt64Array);
  assert.equal(Array.from(col!.timestamps as BigInt64Array), [1000n, base, base + 1n, base + 3n]);
  const down = await s.selectWithOptions("ns", { start: base, end: base + 4n, downsample: { interval: 2n, aggregation: "Sum" } });
  assert.equal(down, [
    { timestamp: base, value: 1 },
    { timestamp: base + 2n, value: 3 },
  ]);
  await rejects(s.insertRows([row("ns", [], 1.5, 1)]), "InvalidTimestamp", "ns precision");
});

test("ns precision: aggregation and downsampling on sealed chunks (WASM kernel) with bigint buckets", async () => {
  const s = await new StorageBuilder().withChunkPoints(16).build();
  const base = BigInt(Date.now() - 60_000) * 1_000_000n;
  await s.insertRows(Array.from({ length: 40 }, (_, i) => row("k", [], base + BigInt(i), i)));
  const sum = (from: number, to: number) => Array.from({ length: to - from }, (_, k) => from + k).reduce((a, b) => a + b, 0);
  assert.equal(await s.selectWithOptions("k", { start: base, end: base + 40n, aggregation: "Sum" }), [{ timestamp: base + 39n, value: sum(0, 40) }]);
  assert.equal(await s.selectWithOptions("k", { start: base, end: base + 40n, downsample: { interval: 16n, aggregation: "Sum" } }), [
    { timestamp: base, value: sum(0, 16) },
    { timestamp: base + 16n, value: sum(16, 32) },
    { timestamp: base + 32n, value: sum(32, 40) },
  ]);
  assert.equal(await s.selectWithOptions("k", { start: base + 4n, end: base + 36n, downsample: { interval: 16n, aggregation: "Max" } }), [
    { timestamp: base + 4n, value: 19 },
    { timestamp: base + 20n, value: 35 },
  ]);
});

test("ms precision rejects unsafe timestamps; writes > 15 min in the future are rejected", async () => {
  const s = await msStorage();
  await rejects(s.insertRows([row("f", [], 2 ** 60, 1)]), "InvalidTimestamp");
  await rejects(s.insertRows([row("f", [], Date.now() + 16 * 60_000, 1)]), "InvalidTimestamp", "15 minutes in the future");
  await s.insertRows([row("f", [], Date.now() + 14 * 60_000, 1)]);
  const sec = await new StorageBuilder().withTimestampPrecision("s").build();
  await rejects(sec.insertRows([row("f", [], Math.floor(Date.now() / 1000) + 16 * 60, 1)]), "InvalidTimestamp");
  await sec.insertRows([row("f", [], Math.floor(Date.now() / 1000) + 10 * 60, 1)]);
});

test("naming limits: metric, label name and value lengths", async () => {
  const s = await msStorage();
  await rejects(s.insertRows([row("", [], 1, 1)]), "MetricRequired");
  await rejects(s.insertRows([{ labels: [], dataPoint: { timestamp: 1, value: 1 } } as never]), "MetricRequired");
  await rejects(s.insertRows([row("x".repeat(65536), [], 1, 1)]), "InvalidMetricName", "65535 bytes");
  await s.insertRows([row("x".repeat(65535), [], 1, 1)]);
  await rejects(s.insertRows([row("m", L("", "v"), 1, 1)]), "InvalidLabel");
  await rejects(s.insertRows([row("m", L("n".repeat(257), "v"), 1, 1)]), "InvalidLabel", "256 bytes");
  await rejects(s.insertRows([row("m", L("n", "é".repeat(8193)), 1, 1)]), "InvalidLabel", "16384 bytes");
  await s.insertRows([row("m", L("n".repeat(256), "v".repeat(16384)), 1, 1), row("m", L("e", ""), 1, 1)]);
  assert.equal((await s.select("m", L("e", ""), 0, 10)).length, 1);
});

test("retention: withRetention enforces it on writes and hides expired data", async () => {
  const s = await msStorage((b) => b.withRetention(60_000));
  const now = Date.now();
  await s.insertRows([row("r", [], now - 1000, 1)]);
  const err = await rejects(s.insertRows([row("r", [], now - 120_000, 2)]), "OutOfRetention");
  assert.ok(typeof err.details.cutoff === "number");
  const off = await msStorage(); // default: retention not enforced
  await off.insertRows([row("r", [], 5, 1)]);
  assert.equal((await off.select("r", [], 0, 10)).length, 1);
});

test("retention: expired points are hidden at once and expired sealed chunks dropped by the sweep", async () => {
  const s = await msStorage((b) => b.withRetention(60_000).withChunkPoints(2));
  const now = Date.now();
  await s.insertRows([row("r", [], now - 50_000, 1), row("r", [], now - 49_000, 2)]);
  assert.is((await s.select("r", [], 0, now + 3_600_000)).length, 2);
  // a point 14 min ahead moves the cutoff past the first chunk
  await s.insertRows([row("r", [], now + 14 * 60_000, 3)]);
  assert.equal((await s.select("r", [], 0, now + 3_600_000)).map((p) => p.value), [3]);
  await new Promise((r) => setTimeout(r, 1050));
  await s.insertRows([row("r", [], now + 14 * 60_000 + 1, 4)]);
  const snap = s.observabilitySnapshot() as { retention: { chunksDroppedTotal: number }; series: { sealedChunks: number } };
  assert.is(snap.retention.chunksDroppedTotal, 1);
  assert.is(snap.series.sealedChunks, 1);
  assert.equal((await s.select("r", [], 0, now + 3_600_000)).map((p) => p.value), [3, 4]);
});

test("cardinality limit: new series past it fail, existing ones keep working", async () => {
  const s = await msStorage((b) => b.withCardinalityLimit(2));
  await s.insertRows([row("c", L("i", "1"), 1, 1), row("c", L("i", "2"), 1, 1)]);
  const err = await rejects(s.insertRows([row("c", L("i", "3"), 1, 1)]), "CardinalityLimitExceeded", "existing series still accept writes");
  assert.is(err.details.limit, 2);
  await s.insertRows([row("c", L("i", "1"), 2, 2)]);
  await rejects(s.insertRows([row("c", L("i", "1"), 3, 3), row("c", L("i", "4"), 1, 1)]), "CardinalityLimitExceeded");
  assert.equal((await s.select("c", L("i", "1"), 0, 10)).length, 2, "rejected batch wrote nothing");
});

test("memory budget: writers wait up to the write timeout, then MemoryBudgetExceeded", async () => {
  const s = await msStorage((b) => b.withMemoryLimit(4096).withWriteTimeout(50));
  assert.is(s.memoryBudget(), 4096);
  const rows = Array.from({ length: 300 }, (_, i) => row("mem", L("i", String(i)), 1, i));
  const t = Date.now();
  const err = await rejects(s.insertRows(rows), "MemoryBudgetExceeded", "raise withMemoryLimit");
  assert.ok(Date.now() - t >= 45, "waited for the write timeout");
  assert.is(err.details.budget, 4096);
  assert.is(s.memoryUsed(), 0, "nothing was written");
  await s.insertRows(rows.slice(0, 5));
  assert.ok(s.memoryUsed() > 0 && s.memoryUsed() <= 4096);
});

test("memory accounting counts blob payloads held by active heads", async () => {
  const s = await msStorage();
  await s.insertRows([row("blob", [], 1, "x".repeat(10_000)), row("blob", [], 2, "y".repeat(2_500))]);
  assert.ok(s.memoryUsed() >= 25_000, `memoryUsed ${s.memoryUsed()}`);
  await s.deleteSeries({ metric: "blob", start: 1, end: 2 });
  assert.ok(s.memoryUsed() < 10_000 && s.memoryUsed() >= 5_000, `after ranged delete ${s.memoryUsed()}`);
  await s.deleteSeries({ metric: "blob" });
  assert.is(s.memoryUsed(), 0);
});

test("memory budget: a waiting writer proceeds once a delete frees memory", async () => {
  const s = await msStorage((b) => b.withMemoryLimit(1500).withWriteTimeout(5000));
  await s.insertRows(Array.from({ length: 40 }, (_, i) => row("x", L("i", String(i)), 1, i)));
  assert.ok(s.memoryUsed() > 1500, "the first batch overshoots (admission is checked before a write)");
  let done = false;
  const pending = s.insertRows(Array.from({ length: 40 }, (_, i) => row("y", [], i, i))).then(() => (done = true));
  await new Promise((r) => setTimeout(r, 40));
  assert.is(done, false, "writer is parked while over budget");
  await s.deleteSeries({ metric: "x" });
  await pending;
  assert.is((await s.select("y", [], 0, 100)).length, 40);
  assert.ok((s.observabilitySnapshot() as { ingest: { admissionWaitsTotal: number } }).ingest.admissionWaitsTotal >= 1);
});

test("writer slots: withMaxWriters bounds concurrent batches (others queue, none fail within the timeout)", async () => {
  const s = await msStorage((b) => b.withMaxWriters(1));
  await Promise.all(Array.from({ length: 20 }, (_, i) => s.insertRows([row("w", [], i, i)])));
  assert.is((await s.select("w", [], 0, 100)).length, 20);
  assert.is(((await s.insertRowsWithResult([row("w", [], 50, 1)])).acknowledgement), "Volatile");
});

test("writer slots: a writer that cannot get a slot within the write timeout fails with WriteTimeout", async () => {
  const s = await msStorage((b) => b.withMaxWriters(1).withWriteTimeout(30));
  // hold the only slot the way a batch waiting on the WAL would
  const slots = s as unknown as { acquireWriter(): Promise<void>; releaseWriter(): void };
  await slots.acquireWriter();
  const t = Date.now();
  const err = await rejects(s.insertRows([row("w", [], 1, 1)]), "WriteTimeout", "withMaxWriters");
  assert.ok(Date.now() - t >= 25);
  assert.equal(err.details, { timeoutMs: 30, workers: 1 });
  slots.releaseWriter();
  await s.insertRows([row("w", [], 1, 1)]);
  assert.is((await s.select("w", [], 0, 10)).length, 1);
});

test("during close() calls fail with StorageShuttingDown; close waits for in-flight writers", async () => {
  const s = await msStorage();
  const slots = s as unknown as { acquireWriter(): Promise<void>; releaseWriter(): void };
  await slots.acquireWriter();
  let closed = false;
  const closing = s.close().then(() => (closed = true));
  await rejects(s.select("x", [], 0, 10), "StorageShuttingDown");
  await rejects(s.insertRows([row("x", [], 1, 1)]), "StorageShuttingDown");
  await new Promise((r) => setTimeout(r, 30));
  assert.is(closed, false, "close waits for the writer");
  slots.releaseWriter();
  await closing;
  await rejects(s.select("x", [], 0, 10), "StorageClosed");
});

test("snapshot needs a data path", async () => {
  const s = await msStorage();
  await rejects(s.snapshot("/tmp/nowhere"), "InvalidConfiguration", "withDataPath");
});

test("after close() every call fails with StorageClosed", async () => {
  const s = await msStorage();
  await s.insertRows([row("c", [], 1, 1)]);
  await s.close();
  await rejects(s.insertRows([row("c", [], 2, 2)]), "StorageClosed", "closed");
  await rejects(s.select("c", [], 0, 10), "StorageClosed");
  await rejects(s.selectAll("c", 0, 10), "StorageClosed");
  await rejects(s.selectMany([], 0, 10), "StorageClosed");
  await rejects(s.selectWithOptions("c", { start: 0, end: 10 }), "StorageClosed");
  await rejects(s.scanMetricRows("c", 0, 10), "StorageClosed");
  await rejects(s.scanSeriesRows([], 0, 10), "StorageClosed");
  await rejects(s.listMetrics(), "StorageClosed");
  await rejects(s.selectSeries({}), "StorageClosed");
  await rejects(s.selectColumns({ metric: "c" }, 0, 10), "StorageClosed");
  await rejects(s.labelNames(), "StorageClosed");
  await rejects(s.labelValues("x"), "StorageClosed");
  await rejects(s.deleteSeries({ metric: "c" }), "StorageClosed");
  await rejects(s.close(), "StorageClosed");
});

test("builder: defaults and validation", async () => {
  const o = new StorageBuilder().resolvedOptions();
  assert.is(o.timestampPrecision, "ns");
  assert.is(o.chunkPoints, 2048);
  assert.is(o.partitionDurationMs, 3_600_000);
  assert.is(o.maxActivePartitionHeadsPerSeries, 8);
  assert.is(o.retentionMs, 14 * 86_400_000);
  assert.is(o.retentionEnforced, false);
  assert.is(o.writeTimeoutMs, 30_000);
  assert.is(o.walSyncMode, "PerAppend");
  assert.is(o.walReplayMode, "Strict");
  assert.is(o.walBufferSize, 4096);
  assert.is(new StorageBuilder().withChunkPoints(100_000).resolvedOptions().chunkPoints, 65535);
  assert.is(new StorageBuilder().withMaxActivePartitionHeadsPerSeries(0).resolvedOptions().maxActivePartitionHeadsPerSeries, 1);
  assert.is(new StorageBuilder().withRetention(1000).resolvedOptions().retentionEnforced, true);
  const wal = new StorageBuilder().withWalEnabled(false).withWalSyncMode({ periodicMs: 1000 }).withWalReplayMode("Salvage").withWalSizeLimit(1 << 20).resolvedOptions();
  assert.equal([wal.walEnabled, wal.walSyncMode, wal.walReplayMode, wal.walSizeLimitBytes], [false, { periodicMs: 1000 }, "Salvage", 1 << 20]);
  await rejects(() => new StorageBuilder().withTimestampPrecision("m" as never).build(), "InvalidConfiguration");
  await rejects(() => new StorageBuilder().withMemoryLimit(-1).build(), "InvalidConfiguration");
});

test.run();
