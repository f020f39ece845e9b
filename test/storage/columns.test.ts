// insertColumns: the columnar write path (SeriesKey resolved once per storage, f64 sample columns).
import { test } from "uvu";
import * as assert from "uvu/assert";
import { type SampleColumns, SeriesKey, StorageBuilder } from "../../src/index.js";
import { L, NOW, msStorage, rejects, row } from "./helpers.js";

function batch(series: SampleColumns["series"], samples: Array<[number, number, number]>): SampleColumns {
  return {
    series,
    seriesIndex: Uint32Array.from(samples, (s) => s[0]),
    timestamps: Float64Array.from(samples, (s) => s[1]),
    values: Float64Array.from(samples, (s) => s[2]),
    count: samples.length,
  };
}

test("columns land in their series, equal to the same rows inserted with insertRows", async () => {
  const a = new SeriesKey("cpu", L("host", "a"));
  const b = new SeriesKey("cpu", L("zone", "z", "host", "b")); // unsorted labels are canonicalised
  const s = await msStorage();
  const res = await s.insertColumns(batch([a, b, a], [[0, NOW + 2, 2], [1, NOW, 10], [2, NOW + 1, 1], [0, NOW + 3, NaN]]));
  assert.is(res.acknowledgement, "Volatile");
  const rows = await msStorage();
  await rows.insertRows([row("cpu", L("host", "a"), NOW + 2, 2), row("cpu", L("host", "b", "zone", "z"), NOW, 10), row("cpu", L("host", "a"), NOW + 1, 1), row("cpu", L("host", "a"), NOW + 3, NaN)]);
  for (const st of [s, rows]) {
    const got = await st.selectColumns({ metric: "cpu" }, 0, NOW + 10);
    assert.equal(got.map((c) => [c.labels, [...c.timestamps], [...c.values].map(String)]), [
      [L("host", "a"), [NOW + 1, NOW + 2, NOW + 3], ["1", "2", "NaN"]],
      [L("host", "b", "zone", "z"), [NOW], ["10"]],
    ]);
  }
  // the key remembers its series: a later batch with the same key object goes to the same series
  await s.insertColumns(batch([a], [[0, NOW + 4, 4]]));
  assert.equal((await s.select("cpu", L("host", "a"), 0, NOW + 10)).length, 4);
  assert.is((await s.listMetrics()).length, 2);
});

test("one key used with two storages resolves in each (ids are per storage)", async () => {
  const filler = new SeriesKey("other", []);
  const key = new SeriesKey("m", L("k", "v"));
  const s1 = await msStorage();
  const s2 = await msStorage();
  await s2.insertColumns(batch([filler], [[0, NOW, 0]])); // so the key's id differs between the two
  for (let k = 0; k < 2; k++) {
    await s1.insertColumns(batch([key], [[0, NOW + k, 1]]));
    await s2.insertColumns(batch([key], [[0, NOW + k, 2]]));
  }
  assert.equal(await s1.select("m", L("k", "v"), 0, NOW + 10), [{ timestamp: NOW, value: 1 }, { timestamp: NOW + 1, value: 1 }]);
  assert.equal(await s2.select("m", L("k", "v"), 0, NOW + 10), [{ timestamp: NOW, value: 2 }, { timestamp: NOW + 1, value: 2 }]);
  assert.equal(await s2.select("other", [], 0, NOW + 10), [{ timestamp: NOW, value: 0 }]);
});

test("a rejected batch writes nothing and a key cached in it does not point at a rolled-back id", async () => {
  const s = await msStorage((b) => b.withCardinalityLimit(3));
  const fresh = new SeriesKey("new_series", L("x", "1"));
  const bad = new SeriesKey("", []);
  await rejects(s.insertColumns(batch([fresh, bad], [[0, NOW, 1], [1, NOW, 2]])), "MetricRequired");
  await rejects(s.insertColumns(batch([fresh], [[0, NOW, 1], [0, Number.NaN, 2]])), "InvalidTimestamp");
  await rejects(s.insertColumns(batch([fresh], [[0, NOW, 1], [0, Date.now() + 3_600_000, 2]])), "InvalidTimestamp", "future");
  await rejects(s.insertColumns(batch([fresh], [[1, NOW, 1]])), "InvalidValue", "past the end");
  assert.equal(await s.listMetrics(), []);
  // another series now takes the id `fresh` was given and rolled back from
  const other = new SeriesKey("taker", []);
  await s.insertColumns(batch([other], [[0, NOW, 5]]));
  await s.insertColumns(batch([fresh], [[0, NOW, 7]]));
  assert.equal(await s.select("new_series", L("x", "1"), 0, NOW + 1), [{ timestamp: NOW, value: 7 }]);
  assert.equal(await s.select("taker", [], 0, NOW + 1), [{ timestamp: NOW, value: 5 }]);
  // cardinality limit and type mismatch apply as for rows
  await s.insertRows([row("ints", [], NOW, 5n)]);
  await rejects(s.insertColumns(batch([new SeriesKey("ints", [])], [[0, NOW + 1, 1]])), "ValueTypeMismatch");
  await rejects(s.insertColumns(batch([new SeriesKey("fourth", [])], [[0, NOW, 1]])), "CardinalityLimitExceeded");
  assert.is((await s.listMetrics()).length, 3);
});

test("malformed batches are InvalidValue / InvalidTimestamp, never a crash", async () => {
  const s = await msStorage();
  const k = new SeriesKey("m", []);
  await rejects(s.insertColumns(null as never), "InvalidValue");
  await rejects(s.insertColumns({ ...batch([k], [[0, NOW, 1]]), count: 2 }), "InvalidValue");
  await rejects(s.insertColumns({ ...batch([k], [[0, NOW, 1]]), seriesIndex: [0] as never }), "InvalidValue");
  await rejects(s.insertColumns({ ...batch([k], [[0, NOW, 1]]), timestamps: BigInt64Array.of(1n) }), "InvalidTimestamp", "Float64Array");
  await rejects(s.insertColumns(batch([null as never], [[0, NOW, 1]])), "InvalidValue", "SeriesKey");
  assert.equal((await s.insertColumns(batch([], []))).acknowledgement, "Volatile");
  assert.equal(await s.listMetrics(), []);
});

test("a key whose series was deleted writes to it again (visible, typed anew)", async () => {
  const s = await msStorage();
  const key = new SeriesKey("gone", L("k", "v"));
  await s.insertColumns(batch([key], [[0, NOW, 1]]));
  assert.equal((await s.deleteSeries({ metric: "gone" })).matchedSeries, 1);
  assert.equal(await s.listMetrics(), []);
  await s.insertColumns(batch([key], [[0, NOW + 1, 2]]));
  assert.equal(await s.select("gone", L("k", "v"), 0, NOW + 10), [{ timestamp: NOW + 1, value: 2 }]);
  assert.equal((await s.listMetrics()).map((m) => m.name), ["gone"]);
});

test("plain { metric, labels } series (no SeriesKey) are looked up in every batch", async () => {
  const s = await msStorage();
  for (let k = 0; k < 3; k++) {
    await s.insertColumns({ series: [{ metric: "plain", labels: L("b", "2", "a", "1") }, { metric: "plain" }], seriesIndex: Uint32Array.of(0, 1), timestamps: Float64Array.of(NOW + k, NOW + k), values: Float64Array.of(k, -k), count: 2 });
  }
  assert.equal((await s.select("plain", L("a", "1", "b", "2"), 0, NOW + 10)).map((p) => p.value), [0, 1, 2]);
  assert.equal((await s.select("plain", [], 0, NOW + 10)).map((p) => p.value), [-0, -1, -2]);
  await rejects(s.insertColumns({ series: [{ metric: "plain", labels: L("a", "1", "a", "2") }], seriesIndex: Uint32Array.of(0), timestamps: Float64Array.of(NOW), values: Float64Array.of(1), count: 1 }), "InvalidLabel");
});

test("ns precision takes BigInt64Array timestamps", async () => {
  const s = await new StorageBuilder().withTimestampPrecision("ns").build();
  const k = new SeriesKey("m", []);
  const t = BigInt(NOW) * 1_000_000n + 1n;
  await s.insertColumns({ series: [k], seriesIndex: Uint32Array.of(0), timestamps: BigInt64Array.of(t), values: Float64Array.of(3), count: 1 });
  assert.equal(await s.select("m", [], 0n, t + 1n), [{ timestamp: t, value: 3 }]);
  await rejects(s.insertColumns(batch([k], [[0, NOW, 1]])), "InvalidTimestamp", "BigInt64Array");
});

test("batches of every size and kind after one another (the validated columns are reused between batches)", async () => {
  const s = await msStorage();
  const big = 70_000; // larger than the reused arrays: this batch gets arrays of its own
  const keys = Array.from({ length: 50 }, (_, i) => new SeriesKey("m", L("k", `v${i}`)));
  const samples: Array<[number, number, number]> = [];
  for (let i = 0; i < big; i++) samples.push([i % 50, NOW + Math.floor(i / 50), i]);
  await s.insertColumns(batch(keys, samples));
  await s.insertColumns(batch(keys, [[3, NOW + 5000, -1]]));
  await s.insertRows([row("txt", L("k", "a"), NOW, "hello"), row("m", L("k", "v3"), NOW + 5001, 7)]);
  await s.insertRows(Array.from({ length: big }, (_, i) => row("r", L("k", `v${i % 7}`), NOW + Math.floor(i / 7), i)));
  await s.insertRows([row("txt", L("k", "a"), NOW + 1, "world"), row("r", L("k", "v0"), NOW + 20_000, 0.5)]);
  const v3 = await s.select("m", L("k", "v3"), 0, NOW + 10_000);
  assert.is(v3.length, big / 50 + 2);
  assert.equal(v3.slice(-3).map((p) => p.value), [big - 47, -1, 7]);
  assert.equal((await s.select("txt", L("k", "a"), 0, NOW + 10)).map((p) => p.value), ["hello", "world"]);
  const r0 = await s.select("r", L("k", "v0"), 0, NOW + 30_000);
  assert.is(r0.length, big / 7 + 1);
  assert.equal([r0[1]!.value, r0[r0.length - 1]!.value], [7, 0.5]);
});

test.run();
