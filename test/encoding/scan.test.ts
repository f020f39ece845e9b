// Scan kernels against a plain JS reference: decodeRangeInto and aggregateChunk over random half-open ranges.
import { test } from "uvu";
import * as assert from "uvu/assert";
import fc from "fast-check";
import { encodeChunk, decodeChunk, decodeRangeInto, aggregateChunk, type ChunkAggregate } from "../../src/encoding/chunk.js";
import { timestampsArb, valuesArb, f64ArrayFromBits, bitsOf } from "./helpers.js";

/** Prometheus-style reference: sequential sum; min/max ignore NaN unless all values are NaN. */
function referenceAggregate(ts: bigint[], values: number[], start: bigint, end: bigint): ChunkAggregate {
  const picked: number[] = [];
  const pickedTs: bigint[] = [];
  ts.forEach((t, i) => {
    if (t >= start && t < end) {
      picked.push(values[i]!);
      pickedTs.push(t);
    }
  });
  if (picked.length === 0) return { count: 0, sum: NaN, min: NaN, max: NaN, first: NaN, last: NaN, firstTs: NaN, lastTs: NaN };
  let sum = 0;
  let min = NaN;
  let max = NaN;
  for (const v of picked) {
    sum += v;
    if (v < min || Number.isNaN(min)) min = v;
    if (v > max || Number.isNaN(max)) max = v;
  }
  return { count: picked.length, sum, min, max, first: picked[0]!, last: picked.at(-1)!, firstTs: pickedTs[0]!, lastTs: pickedTs.at(-1)! };
}

const chunkAndRange = fc.integer({ min: 1, max: 300 }).chain((n) =>
  fc.tuple(timestampsArb(n, false), valuesArb("f64", n), fc.nat(), fc.nat()),
);

test("aggregateChunk matches a JS reference on random ranges (bigint bounds)", () => {
  fc.assert(
    fc.property(chunkAndRange, ([ts, bits, a, b]) => {
      const values = f64ArrayFromBits(bits as bigint[]);
      const chunk = encodeChunk("f64", BigInt64Array.from(ts), values);
      const lo = ts[0]! - 5n;
      const span = ts.at(-1)! - ts[0]! + 10n;
      const start = lo + (BigInt(a) % span);
      const end = start + (BigInt(b) % span);
      const got = aggregateChunk(chunk, start, end);
      const want = referenceAggregate(ts, Array.from(values), start, end);
      assert.equal(got, want);
      // The same range as JS numbers (fractional bounds round up), where the timestamps are exact doubles.
      if (ts.every((t) => t >= -(2n ** 53n) && t <= 2n ** 53n)) {
        const asNumbers = aggregateChunk(chunk, Number(start) - 0.5, Number(end) - 0.5);
        assert.equal(asNumbers, { ...want, firstTs: Number(want.firstTs), lastTs: Number(want.lastTs) });
      }
    }),
    { numRuns: 300 },
  );
});

test("decodeRangeInto writes exactly the points in [start, end) at the offset (number and bigint outputs)", () => {
  fc.assert(
    fc.property(chunkAndRange, fc.nat({ max: 5 }), ([ts, bits, a, b], offset) => {
      const values = f64ArrayFromBits(bits as bigint[]);
      const chunk = encodeChunk("f64", BigInt64Array.from(ts), values);
      const span = ts.at(-1)! - ts[0]! + 2n;
      const start = ts[0]! - 1n + (BigInt(a) % span);
      const end = start + (BigInt(b) % span);
      const expectedIdx = ts.flatMap((t, i) => (t >= start && t < end ? [i] : []));
      const tsOut = new BigInt64Array(ts.length + offset);
      const valuesOut = new Float64Array(ts.length + offset);
      const count = decodeRangeInto(chunk, start, end, tsOut, valuesOut, offset);
      assert.is(count, expectedIdx.length);
      assert.equal(Array.from(tsOut.subarray(offset, offset + count)), expectedIdx.map((i) => ts[i]!));
      assert.equal(Array.from(bitsOf(valuesOut.subarray(offset, offset + count))), expectedIdx.map((i) => bitsOf(values)[i]!));
      assert.ok(tsOut.subarray(0, offset).every((t) => t === 0n));
    }),
    { numRuns: 300 },
  );
});

test("range decodes of large packed chunks skip blocks yet match the full decode (decimal with exceptions, i64)", () => {
  const sizes = fc.integer({ min: 600, max: 5000 });
  const series = fc.constantFrom("gauge", "counter", "dod", "i64");
  fc.assert(
    fc.property(sizes, series, fc.boolean(), fc.nat(), fc.nat(), fc.nat(), (n, shape, jitter, a, b, seed) => {
      let x = seed % 1000;
      const ts = BigInt64Array.from({ length: n }, (_, i) => BigInt(1_000_000 + i * 1000 + (jitter ? (i * 7919 + seed) % 400 : 0)));
      const kind = shape === "i64" ? "i64" : "f64";
      const values =
        shape === "i64" ? BigInt64Array.from({ length: n }, (_, i) => BigInt(i * i - seed))
        : Float64Array.from({ length: n }, (_, i) => {
            if (shape === "gauge") x += ((i * 31 + seed) % 201) - 100;
            else if (shape === "counter") x += (i * 17 + seed) % 101;
            else x += i * 3;
            return i % 997 === 500 ? NaN : x / 100;
          });
      const chunk = encodeChunk(kind, ts, values);
      const full = decodeChunk(chunk, "bigint");
      const start = BigInt(1_000_000 + (a % (n * 1000)));
      const end = start + BigInt(b % (n * 600));
      const tsOut = new BigInt64Array(n);
      const valuesOut = kind === "i64" ? new BigInt64Array(n) : new Float64Array(n);
      const count = decodeRangeInto(chunk, start, end, tsOut, valuesOut, 0);
      const idx = Array.from(full.timestamps as BigInt64Array).flatMap((t, i) => (t >= start && t < end ? [i] : []));
      assert.is(count, idx.length);
      const fullValues = full.values as Float64Array | BigInt64Array;
      const same = kind === "i64"
        ? idx.every((i, k) => valuesOut[k] === fullValues[i])
        : idx.every((i, k) => Object.is(valuesOut[k], fullValues[i]));
      assert.ok(same, `values of ${shape} n=${n} [${start}, ${end})`);
      const agg = aggregateChunk(chunk, start, end);
      assert.is(agg.count, idx.length);
      if (idx.length > 0) assert.ok(Object.is(agg.last, Number(fullValues[idx.at(-1)!])));
    }),
    { numRuns: 120 },
  );
});

test("number bounds are half-open and work with Float64Array outputs; ±Infinity covers everything", () => {
  const ts = Float64Array.from([1000, 2000, 2000, 3000, 4000]);
  const values = Float64Array.from([1, 2, 3, 4, 5]);
  const chunk = encodeChunk("f64", ts, values);
  const tsOut = new Float64Array(5);
  const valuesOut = new Float64Array(5);
  assert.is(decodeRangeInto(chunk, 2000, 4000, tsOut, valuesOut, 0), 3);
  assert.equal(Array.from(tsOut.subarray(0, 3)), [2000, 2000, 3000]);
  assert.equal(Array.from(valuesOut.subarray(0, 3)), [2, 3, 4]);
  assert.is(decodeRangeInto(chunk, 1999.5, 2000.5, tsOut, valuesOut, 0), 2);
  assert.is(decodeRangeInto(chunk, -Infinity, Infinity, tsOut, valuesOut, 0), 5);
  assert.is(decodeRangeInto(chunk, 4001, Infinity, tsOut, valuesOut, 0), 0);
  assert.is(decodeRangeInto(chunk, 3000, 3000, tsOut, valuesOut, 0), 0);
  const agg = aggregateChunk(chunk, 1500, 3500);
  assert.equal(agg, { count: 3, sum: 9, min: 2, max: 4, first: 2, last: 4, firstTs: 2000, lastTs: 3000 });
  const empty = aggregateChunk(chunk, 5000, 6000);
  assert.is(empty.count, 0);
  assert.ok(Number.isNaN(empty.sum) && Number.isNaN(empty.min) && Number.isNaN(empty.firstTs as number));
  assert.throws(() => decodeRangeInto(chunk, 0, 5000, new Float64Array(4), new Float64Array(5), 0), /too small/);
  assert.throws(() => aggregateChunk(chunk, NaN, 5), /NaN/);
  assert.is(decodeRangeInto(chunk, -(2 ** 70), 2 ** 70, tsOut, valuesOut, 0), 5);
  assert.is(decodeRangeInto(chunk, 2 ** 63, 2 ** 64, tsOut, valuesOut, 0), 0);
  assert.is(decodeRangeInto(chunk, -(2 ** 64), -(2 ** 63), tsOut, valuesOut, 0), 0);
});

test("fixed-step chunks (located arithmetically): step 0, one point, bounds between and beyond points", () => {
  const same = encodeChunk("f64", Float64Array.from([500, 500, 500]), Float64Array.from([1, 2, 3]));
  assert.is(aggregateChunk(same, 500, 501).sum, 6);
  assert.is(aggregateChunk(same, 0, 500).count, 0);
  assert.is(aggregateChunk(same, 501, 1000).count, 0);
  const one = encodeChunk("f64", Float64Array.of(-7), Float64Array.of(2.5));
  assert.equal(aggregateChunk(one, -7, -6), { count: 1, sum: 2.5, min: 2.5, max: 2.5, first: 2.5, last: 2.5, firstTs: -7, lastTs: -7 });
  const grid = encodeChunk("f64", Float64Array.from({ length: 100 }, (_, i) => 1000 + i * 15), Float64Array.from({ length: 100 }, (_, i) => i));
  const tsOut = new Float64Array(100);
  const valuesOut = new Float64Array(100);
  assert.is(decodeRangeInto(grid, 1001, 1046, tsOut, valuesOut, 0), 3);
  assert.equal(Array.from(tsOut.subarray(0, 3)), [1015, 1030, 1045]);
  assert.equal(Array.from(valuesOut.subarray(0, 3)), [1, 2, 3]);
  assert.equal(aggregateChunk(grid, 1015, 1045), { count: 2, sum: 3, min: 1, max: 2, first: 1, last: 2, firstTs: 1015, lastTs: 1030 });
  assert.is(aggregateChunk(grid, 2485, 10_000).lastTs, 2485);
  assert.is(aggregateChunk(grid, 2486, 10_000).count, 0);
});

test("integer and bool kinds: values projected to f64 in aggregates; typed outputs per kind", () => {
  const ts = Float64Array.from([1, 2, 3, 4]);
  const i64 = encodeChunk("i64", ts, BigInt64Array.from([-5n, 10n, 2n ** 62n, 7n]));
  assert.equal(aggregateChunk(i64, 0, 3), { count: 2, sum: 5, min: -5, max: 10, first: -5, last: 10, firstTs: 1, lastTs: 2 });
  const out = new BigInt64Array(4);
  assert.is(decodeRangeInto(i64, 2, 10, new Float64Array(4), out, 1), 3);
  assert.equal(Array.from(out), [0n, 10n, 2n ** 62n, 7n]);
  const u64 = encodeChunk("u64", ts, BigUint64Array.from([1n, 2n ** 64n - 1n, 3n, 4n]));
  const uOut = new BigUint64Array(4);
  assert.is(decodeRangeInto(u64, 0, 10, new Float64Array(4), uOut, 0), 4);
  assert.is(uOut[1], 2n ** 64n - 1n);
  assert.is(aggregateChunk(u64, 2, 3).max, 2 ** 64);
  const bools = encodeChunk("bool", ts, Uint8Array.from([1, 0, 1, 1]));
  assert.equal(aggregateChunk(bools, 0n, 10n), { count: 4, sum: 3, min: 0, max: 1, first: 1, last: 1, firstTs: 1n, lastTs: 4n });
  const bOut = new Uint8Array(4);
  assert.is(decodeRangeInto(bools, 2, 4, new BigInt64Array(4), bOut, 0), 2);
  assert.equal(Array.from(bOut), [0, 1, 0, 0]);
  assert.throws(() => decodeRangeInto(bools, 0, 10, new Float64Array(4), new Float64Array(4), 0), TypeError);
  const extremes = encodeChunk("f64", BigInt64Array.from([-(2n ** 63n), 0n, 2n ** 63n - 1n]), Float64Array.from([1, 2, 4]));
  assert.is(aggregateChunk(extremes, -Infinity, Infinity).count, 3);
  assert.is(aggregateChunk(extremes, 1, Infinity).sum, 4);
  assert.is(aggregateChunk(extremes, -Infinity, 0).sum, 1);
  assert.is(aggregateChunk(extremes, 2n ** 63n - 1n, 2n ** 64n).lastTs, 2n ** 63n - 1n);
  assert.is(aggregateChunk(extremes, -(2n ** 64n), -(2n ** 63n) + 1n).firstTs, -(2n ** 63n));
  const strings = encodeChunk("string", ts, ["a", "b", "c", "d"]);
  assert.throws(() => aggregateChunk(strings, 0, 10), TypeError);
});

test.run();
