// The WASM range-function kernels called directly: windows are (end - range, end], staleness markers are skipped,
// batching over series gives the same results as one call, and rate/irate/deriv match hand-computed values.
import { test } from "uvu";
import * as assert from "uvu/assert";
import fc from "fast-check";
import { evalRangeKernel, RANGE_FUNCTION_IDS, type RangeFunctionName, type WindowSeries } from "../../src/promql/range_kernels.js";

const STALE = new Float64Array(new BigUint64Array([0x7ff0000000000002n]).buffer)[0];
const series = (ts: number[], vs: number[]): WindowSeries => ({ timestamps: Float64Array.from(ts), values: Float64Array.from(vs) });
const at = (r: { values: Float64Array; present: Uint8Array }) => Array.from(r.values, (v, i) => (r.present[i] ? v : undefined));

test("windows are left-open and right-closed; staleness markers are not samples", () => {
  const s = series([0, 15_000, 30_000, 45_000, 60_000], [1, 2, STALE, 4, 5]);
  const [count] = evalRangeKernel("count_over_time", [s], { windowEnds: Float64Array.from([0, 30_000, 60_000, 90_000]), rangeMs: 30_000 });
  // (-30s,0]: {0}; (0,30s]: {15s} (30s is a marker); (30s,60s]: {45s,60s}; (60s,90s]: none.
  assert.equal(at(count), [1, 1, 2, undefined]);
  const [last] = evalRangeKernel("last_over_time", [s], { windowEnds: Float64Array.from([30_000, 60_000]), rangeMs: 60_000 });
  assert.equal(at(last), [2, 5]);
});

test("rate, increase, irate, delta and deriv on a counter with a reset", () => {
  // 10/s counter sampled every 10 s, reset to 0 after 40 s.
  const s = series([0, 10_000, 20_000, 30_000, 40_000, 50_000, 60_000], [0, 100, 200, 300, 400, 0, 100]);
  const end = Float64Array.from([60_000]);
  const v = (name: RangeFunctionName, range = 60_000) => at(evalRangeKernel(name, [s], { windowEnds: end, rangeMs: range })[0])[0]!;
  // Window (0, 60s] holds 10s..60s: 100 - 100 + 400 (the reset) = 400 over 50 s, extrapolated by 10 s to the
  // window start (within 1.1 sample intervals, and before the extrapolated zero point at 12.5 s): x 60/50.
  assert.ok(Math.abs(v("increase") - 480) < 1e-9, `increase ${v("increase")}`);
  assert.ok(Math.abs(v("rate") - 8) < 1e-9);
  assert.is(v("irate"), 10);
  assert.is(v("idelta"), 100);
  assert.ok(Math.abs(v("delta") - 0) < 1e-9);
  assert.is(v("resets"), 1);
  assert.is(v("changes"), 5); // 6 samples in (0, 60s], all different
  const linear = series([0, 10_000, 20_000, 30_000], [5, 7, 9, 11]);
  assert.ok(Math.abs(at(evalRangeKernel("deriv", [linear], { windowEnds: Float64Array.from([30_000]), rangeMs: 60_000 })[0])[0]! - 0.2) < 1e-12);
  const predicted = at(evalRangeKernel("predict_linear", [linear], { windowEnds: Float64Array.from([30_000]), rangeMs: 60_000, p0: Float64Array.from([100]), p1: Float64Array.from([30_000]) })[0])[0]!;
  assert.ok(Math.abs(predicted - 31) < 1e-9, `predict_linear ${predicted}`);
});

test("batches of series give the same results as a single call", async () => {
  await fc.assert(
    fc.property(
      fc.array(fc.array(fc.double({ min: -1e6, max: 1e6, noNaN: true }), { minLength: 0, maxLength: 40 }), { minLength: 1, maxLength: 20 }),
      fc.constantFrom(...(Object.keys(RANGE_FUNCTION_IDS) as RangeFunctionName[])),
      (valueLists, name) => {
        const input = valueLists.map((vs) => series(vs.map((_, i) => i * 1000), vs));
        const ends = Float64Array.from({ length: 12 }, (_, i) => i * 4000);
        const p = Float64Array.from(ends, () => 0.5);
        const whole = evalRangeKernel(name, input, { windowEnds: ends, rangeMs: 5000, p0: p, p1: p });
        const batched = evalRangeKernel(name, input, { windowEnds: ends, rangeMs: 5000, p0: p, p1: p }, 1);
        return whole.every((r, i) => {
          const a = at(r);
          const b = at(batched[i]);
          return a.every((x, k) => Object.is(x, b[k]));
        });
      },
    ),
    { numRuns: 200 },
  );
});

test("beforeBatch runs before every batch and can stop the evaluation (the query deadline check)", () => {
  const input = [0, 1, 2, 3].map((k) => series([0, 1000, 2000], [k, k + 1, k + 2]));
  const ends = Float64Array.from([2000]);
  let calls = 0;
  evalRangeKernel("sum_over_time", input, { windowEnds: ends, rangeMs: 5000 }, 1, () => calls++);
  assert.is(calls, 4);
  calls = 0;
  evalRangeKernel("sum_over_time", input, { windowEnds: ends, rangeMs: 5000 }, undefined, () => calls++);
  assert.is(calls, 1);
  assert.throws(() =>
    evalRangeKernel("sum_over_time", input, { windowEnds: ends, rangeMs: 5000 }, 1, () => {
      if (++calls > 2) throw new Error("deadline");
    }),
  /deadline/);
});

test("quantile_over_time picks the values a full sort puts around the rank (NaN first, ties, infinities)", () => {
  const value = fc.oneof(
    // (mostly distinct values: fast-check's doubles repeat their favourite values, and ties hide wrong picks)
    { arbitrary: fc.integer({ min: -1e6, max: 1e6 }).map((v) => v / 64), weight: 8 },
    { arbitrary: fc.integer({ min: -3, max: 3 }), weight: 1 },
    { arbitrary: fc.constantFrom(NaN, Infinity, -Infinity), weight: 1 },
  );
  fc.assert(
    fc.property(fc.array(value, { minLength: 20, maxLength: 150 }), fc.integer({ min: 0, max: 1000 }).map((q) => q / 1000), fc.integer({ min: 1, max: 120 }), (vs, q, windowPoints) => {
      const input = series(vs.map((_, i) => i * 1000), vs);
      const ends = Float64Array.from({ length: 8 }, (_, i) => i * 20_000);
      const [result] = evalRangeKernel("quantile_over_time", [input], { windowEnds: ends, rangeMs: windowPoints * 1000, p0: Float64Array.from(ends, () => q) });
      const got = at(result);
      ends.forEach((end, k) => {
        const window = vs.filter((_, i) => i * 1000 > end - windowPoints * 1000 && i * 1000 <= end);
        if (window.length === 0) return assert.is(got[k], undefined);
        const sorted = window.slice().sort((a, b) => (Number.isNaN(a) ? (Number.isNaN(b) ? 0 : -1) : Number.isNaN(b) ? 1 : a - b || 0));
        const rank = q * (sorted.length - 1);
        const lower = Math.max(0, Math.floor(rank));
        const upper = Math.min(sorted.length - 1, lower + 1);
        const weight = rank - Math.floor(rank);
        assert.ok(Object.is(got[k], sorted[lower] * (1 - weight) + sorted[upper] * weight), `q=${q} window=${window} got ${got[k]}`);
      });
    }),
    { numRuns: 300 },
  );
});

test("max_over_time and min_over_time: a NaN gives way to any later sample, a number only to a larger (smaller) one", () => {
  const value = fc.oneof({ arbitrary: fc.integer({ min: -50, max: 50 }), weight: 4 }, { arbitrary: fc.constantFrom(NaN, Infinity, -Infinity), weight: 2 });
  fc.assert(
    fc.property(fc.array(value, { minLength: 1, maxLength: 60 }), fc.integer({ min: 1, max: 40 }), (vs, windowPoints) => {
      const input = series(vs.map((_, i) => i * 1000), vs);
      const ends = Float64Array.from({ length: 8 }, (_, i) => i * 8000);
      for (const [name, better] of [["max_over_time", (v: number, b: number) => v > b], ["min_over_time", (v: number, b: number) => v < b]] as const) {
        const got = at(evalRangeKernel(name, [input], { windowEnds: ends, rangeMs: windowPoints * 1000 })[0]);
        ends.forEach((end, k) => {
          const window = vs.filter((_, i) => i * 1000 > end - windowPoints * 1000 && i * 1000 <= end);
          if (window.length === 0) return assert.is(got[k], undefined);
          let best = window[0]!; // Prometheus' loop
          for (const v of window) if (better(v, best) || Number.isNaN(best)) best = v;
          assert.ok(Object.is(got[k], best), `${name} window=${window} got ${got[k]}`);
        });
      }
    }),
    { numRuns: 300 },
  );
});

/** Prometheus' kahanSumInc (promql/functions.go). */
function kahanInc(inc: number, sum: number, c: number): [number, number] {
  const t = sum + inc;
  if (!Number.isFinite(t) && !Number.isNaN(t)) return [t, 0];
  return [t, Math.abs(sum) >= Math.abs(inc) ? c + (sum - t + inc) : c + (inc - t + sum)];
}

test("sum_over_time and avg_over_time: Prometheus' compensated sums bit for bit (overflow, NaN, infinities)", () => {
  const value = fc.oneof(
    { arbitrary: fc.integer({ min: -1e6, max: 1e6 }).map((v) => v / 64), weight: 6 },
    { arbitrary: fc.double({ noNaN: true, noDefaultInfinity: true }), weight: 2 }, // magnitudes up to 1.8e308: sums overflow
    { arbitrary: fc.constantFrom(1e308, -1e308, 1e-300, 0.1, -0), weight: 2 },
    { arbitrary: fc.constantFrom(NaN, Infinity, -Infinity), weight: 1 },
  );
  fc.assert(
    // (an odd step count too: the kernel sums two steps' windows at a time, the last one alone)
    fc.property(fc.array(value, { minLength: 1, maxLength: 80 }), fc.integer({ min: 1, max: 60 }), fc.integer({ min: 1, max: 9 }), (vs, windowPoints, steps) => {
      const input = series(vs.map((_, i) => i * 1000), vs);
      const ends = Float64Array.from({ length: steps }, (_, i) => i * 10_000);
      const sums = at(evalRangeKernel("sum_over_time", [input], { windowEnds: ends, rangeMs: windowPoints * 1000 })[0]);
      const avgs = at(evalRangeKernel("avg_over_time", [input], { windowEnds: ends, rangeMs: windowPoints * 1000 })[0]);
      ends.forEach((end, k) => {
        const window = vs.filter((_, i) => i * 1000 > end - windowPoints * 1000 && i * 1000 <= end);
        if (window.length === 0) return assert.is(sums[k], undefined);
        let [sum, c] = [0, 0];
        for (const v of window) [sum, c] = kahanInc(v, sum, c);
        assert.ok(Object.is(sums[k], !Number.isFinite(sum) && !Number.isNaN(sum) ? sum : sum + c), `sum window=${window} got ${sums[k]}`);
        // Prometheus 3's avg_over_time: a compensated sum, or an incremental mean once the sum overflows
        let [mean, incremental, count] = [0, false, 1];
        [sum, c] = [window[0]!, 0];
        for (const v of window.slice(1)) {
          count++;
          if (!incremental) {
            const [t, nc] = kahanInc(v, sum, c);
            if (Number.isFinite(t) || Number.isNaN(t)) {
              [sum, c] = [t, nc];
              continue;
            }
            incremental = true;
            mean = sum / (count - 1);
            c /= count - 1;
          }
          const q = (count - 1) / count;
          [mean, c] = kahanInc(v / count, q * mean, q * c);
        }
        const want = incremental ? mean + c : sum / count + c / count;
        assert.ok(Object.is(avgs[k], want), `avg window=${window} got ${avgs[k]} want ${want}`);
      });
    }),
    { numRuns: 1000 },
  );
});

test.run();
