// PromQL range-vector function kernels: slide a (t - range, t] window through every series once per query and
// write one result per (series, step). Inputs and outputs live in the shared scratch arena (assembly/memory.ts), laid out by src/promql/range_kernels.ts.

// Function ids; keep in sync with RANGE_FUNCTION_IDS in src/promql/range_kernels.ts.
const FN_RATE: i32 = 0;
const FN_INCREASE: i32 = 1;
const FN_DELTA: i32 = 2;
const FN_IRATE: i32 = 3;
const FN_IDELTA: i32 = 4;
const FN_DERIV: i32 = 5;
const FN_CHANGES: i32 = 6;
const FN_RESETS: i32 = 7;
const FN_AVG: i32 = 8;
const FN_SUM: i32 = 9;
const FN_MIN: i32 = 10;
const FN_MAX: i32 = 11;
const FN_COUNT: i32 = 12;
const FN_LAST: i32 = 13;
const FN_FIRST: i32 = 14;
const FN_PRESENT: i32 = 15;
const FN_STDDEV: i32 = 16;
const FN_STDVAR: i32 = 17;
const FN_MAD: i32 = 18;
const FN_QUANTILE: i32 = 19;
const FN_PREDICT_LINEAR: i32 = 20;
const FN_DOUBLE_EXP: i32 = 21;
const FN_TS_FIRST: i32 = 22;
const FN_TS_LAST: i32 = 23;
const FN_TS_MAX: i32 = 24;
const FN_TS_MIN: i32 = 25;
// Extended range selectors: `anchored`/`smoothed` rate, increase and delta; `anchored` changes and resets.
const FN_EXT_RATE: i32 = 26;
const FN_EXT_INCREASE: i32 = 27;
const FN_EXT_DELTA: i32 = 28;
const FN_ANCHORED_CHANGES: i32 = 29;
const FN_ANCHORED_RESETS: i32 = 30;
// Instant-vector selectors: the newest sample in the window (one lookback delta), absent when it is a staleness
// marker (markers are kept for these), as its value or as its timestamp in seconds.
const FN_INSTANT_VALUE: i32 = 31;
const FN_INSTANT_TIMESTAMP: i32 = 32;

// Kahan-Neumaier increment; returns the new sum and stores the new compensation in kahanC.
let kahanC: f64 = 0;
@inline function kahanInc(inc: f64, sum: f64, c: f64): f64 {
  const t = sum + inc;
  if (!isFinite(t) && !isNaN(t)) {
    c = 0;
  } else if (Math.abs(sum) >= Math.abs(inc)) {
    c += (sum - t) + inc;
  } else {
    c += (inc - t) + sum;
  }
  kahanC = c;
  return t;
}

// kahanInc's loop over vs[from, hi) onto `sum`, without its infinity test and with the compensation step as a
// select instead of a data-dependent branch (~2x faster): the same operations as long as the running sum stays
// finite, which the caller checks on the result (a sum that reached ±Inf or NaN never becomes finite again) before
// falling back to the kahanInc loop. Returns the sum; the compensation goes to kahanC.
@inline function kahanSumFinite(vs: usize, from: i32, hi: i32, sum: f64, c: f64 = 0): f64 {
  for (let i = from; i < hi; i++) {
    const v = load<f64>(vs + (<usize>i << 3));
    const t = sum + v;
    c += select<f64>((sum - t) + v, (v - t) + sum, Math.abs(sum) >= Math.abs(v));
    sum = t;
  }
  kahanC = c;
  return sum;
}

// Element i of the f64 array at p.
@inline function f64At(p: usize, i: i32): f64 { return load<f64>(p + (<usize>i << 3)); }

@inline function swapAt(p: usize, i: i32, j: i32): void {
  const t = f64At(p, i);
  store<f64>(p + (<usize>i << 3), f64At(p, j));
  store<f64>(p + (<usize>j << 3), t);
}

@inline function lessNaNFirst(a: f64, b: f64): bool {
  if (isNaN(a)) return !isNaN(b);
  if (isNaN(b)) return false;
  return a < b;
}

// Sorts values [lo, hi] at p ascending with NaN first (insertion sort: short ranges only).
function insertionSort(p: usize, lo: i32, hi: i32): void {
  for (let i = lo + 1; i <= hi; i++) {
    const v = f64At(p, i);
    let j = i - 1;
    while (j >= lo && lessNaNFirst(v, f64At(p, j))) {
      store<f64>(p + (<usize>(j + 1) << 3), f64At(p, j));
      j--;
    }
    store<f64>(p + (<usize>(j + 1) << 3), v);
  }
}

// Rearranges n values at p (order: ascending, NaN first) so that position k holds the value a full sort would put
// there, with no greater value before it and no smaller one after it (Hoare's selection, median-of-three pivots):
// expected O(n) where a sort is O(n log n), and a quantile needs only the two values around its rank.
function selectKth(p: usize, n: i32, k: i32): void {
  let lo = 0;
  let hi = n - 1;
  while (hi - lo > 16) {
    const mid = lo + ((hi - lo) >> 1);
    if (lessNaNFirst(f64At(p, mid), f64At(p, lo))) swapAt(p, mid, lo);
    if (lessNaNFirst(f64At(p, hi), f64At(p, lo))) swapAt(p, hi, lo);
    if (lessNaNFirst(f64At(p, hi), f64At(p, mid))) swapAt(p, hi, mid);
    const pivot = f64At(p, mid);
    let i = lo;
    let j = hi;
    while (i <= j) {
      while (lessNaNFirst(f64At(p, i), pivot)) i++;
      while (lessNaNFirst(pivot, f64At(p, j))) j--;
      if (i <= j) {
        swapAt(p, i, j);
        i++;
        j--;
      }
    }
    // now [lo, j] <= pivot, [i, hi] >= pivot and everything between equals the pivot
    if (k <= j) hi = j;
    else if (k >= i) lo = i;
    else return;
  }
  insertionSort(p, lo, hi);
}

// φ-quantile of the n values at p (Prometheus' `quantile`; reorders them).
function quantileOf(q: f64, p: usize, n: i32): f64 {
  if (n == 0 || isNaN(q)) return NaN;
  if (q < 0) return -Infinity;
  if (q > 1) return Infinity;
  const rank = q * <f64>(n - 1);
  const lower = <i32>Math.max(0, Math.floor(rank));
  const upper = <i32>Math.min(<f64>(n - 1), <f64>(lower + 1));
  const weight = rank - Math.floor(rank);
  selectKth(p, n, lower);
  // the value at rank lower + 1 is the smallest of those after position lower
  let next = f64At(p, lower);
  if (upper > lower) {
    next = f64At(p, upper);
    for (let i = upper + 1; i < n; i++) if (lessNaNFirst(f64At(p, i), next)) next = f64At(p, i);
  }
  return f64At(p, lower) * (1 - weight) + next * weight;
}

// Least-squares slope (and intercept at interceptT, stored in regressionIntercept) over samples [lo, hi).
let regressionIntercept: f64 = 0;
function regressionSlope(ts: usize, vs: usize, lo: i32, hi: i32, interceptT: f64): f64 {
  let n: f64 = 0;
  let sumX: f64 = 0, cX: f64 = 0, sumY: f64 = 0, cY: f64 = 0;
  let sumXY: f64 = 0, cXY: f64 = 0, sumX2: f64 = 0, cX2: f64 = 0;
  const initY = load<f64>(vs + (<usize>lo << 3));
  let constY = true;
  for (let i = lo; i < hi; i++) {
    const y = load<f64>(vs + (<usize>i << 3));
    if (constY && i > lo && y != initY) constY = false;
    n += 1;
    const x = (f64At(ts, i) - interceptT) / 1e3;
    sumX = kahanInc(x, sumX, cX); cX = kahanC;
    sumY = kahanInc(y, sumY, cY); cY = kahanC;
    sumXY = kahanInc(x * y, sumXY, cXY); cXY = kahanC;
    sumX2 = kahanInc(x * x, sumX2, cX2); cX2 = kahanC;
  }
  if (constY) {
    if (!isFinite(initY) && !isNaN(initY)) {
      regressionIntercept = NaN;
      return NaN;
    }
    regressionIntercept = initY;
    return 0;
  }
  sumX += cX; sumY += cY; sumXY += cXY; sumX2 += cX2;
  const covXY = sumXY - sumX * sumY / n;
  const varX = sumX2 - sumX * sumX / n;
  const slope = covXY / varX;
  regressionIntercept = sumY / n - slope * sumX / n;
  return slope;
}

// Prometheus' extrapolatedRate over samples [lo, hi) for the window (rangeEnd - rangeMs, rangeEnd]. With
// hasResets false the caller knows no counter reset lies in the window, and the correction pass is skipped.
function extrapolatedRate(
  ts: usize, vs: usize, lo: i32, hi: i32, rangeEnd: f64, rangeMs: f64, isCounter: bool, isRate: bool, hasResets: bool,
): f64 {
  const rangeStart = rangeEnd - rangeMs;
  const last = hi - 1;
  const firstT = f64At(ts, lo);
  const lastT = f64At(ts, last);
  const firstV = load<f64>(vs + (<usize>lo << 3));
  let result = load<f64>(vs + (<usize>last << 3)) - firstV;
  if (isCounter && hasResets) {
    let prev = firstV;
    for (let i = lo + 1; i < hi; i++) {
      const cur = load<f64>(vs + (<usize>i << 3));
      if (cur < prev) result += prev;
      prev = cur;
    }
  }
  let durationToStart = (firstT - rangeStart) / 1000;
  let durationToEnd = (rangeEnd - lastT) / 1000;
  const sampledInterval = (lastT - firstT) / 1000;
  const averageDurationBetweenSamples = sampledInterval / <f64>(hi - lo - 1);
  const threshold = averageDurationBetweenSamples * 1.1;
  if (durationToStart >= threshold) durationToStart = averageDurationBetweenSamples / 2;
  if (isCounter) {
    let durationToZero = durationToStart;
    if (result > 0 && firstV >= 0) durationToZero = sampledInterval * (firstV / result);
    if (durationToZero < durationToStart) durationToStart = durationToZero;
  }
  if (durationToEnd >= threshold) durationToEnd = averageDurationBetweenSamples / 2;
  let factor = (sampledInterval + durationToStart + durationToEnd) / sampledInterval;
  if (isRate) factor /= rangeMs / 1000;
  return result * factor;
}

// Linear interpolation at t between samples i and j; a counter that dropped is modelled as restarting from 0.
function interpolateAt(ts: usize, vs: usize, i: i32, j: i32, t: f64, isCounter: bool): f64 {
  let y1 = load<f64>(vs + (<usize>i << 3));
  const y2 = load<f64>(vs + (<usize>j << 3));
  if (isCounter && y2 < y1) y1 = 0;
  return y1 + (y2 - y1) * (t - f64At(ts, i)) / (f64At(ts, j) - f64At(ts, i));
}

// Index of the last sample at or before rangeStart in [lo, hi), or lo when there is none (Prometheus' search).
function firstAnchoredIndex(ts: usize, lo: i32, hi: i32, rangeStart: f64): i32 {
  let i = lo;
  while (i < hi - 1 && f64At(ts, i) <= rangeStart) i++;
  return i - 1 < lo ? lo : i - 1;
}

let extendedOk: bool = false;
// rate/increase/delta over an anchored or smoothed window: the samples [lo, hi) reach one lookback delta before
// the range (and after it when smoothed); the boundary values are picked or interpolated instead of extrapolated.
function extendedRate(ts: usize, vs: usize, lo: i32, hi: i32, rangeEnd: f64, rangeMs: f64, smoothed: bool, isCounter: bool, isRate: bool): f64 {
  const rangeStart = rangeEnd - rangeMs;
  let first = firstAnchoredIndex(ts, lo, hi, rangeStart);
  let last = hi - 1;
  if (smoothed) {
    let j = lo;
    while (j < hi - 1 && f64At(ts, j) < rangeEnd) j++;
    last = j;
  }
  // No result when all data lies before the range, or (smoothed) all of it after the range.
  extendedOk = f64At(ts, last) > rangeStart && !(smoothed && f64At(ts, first) >= rangeEnd);
  if (!extendedOk) return 0;
  const left = smoothed && f64At(ts, first) < rangeStart ? interpolateAt(ts, vs, first, first + 1, rangeStart, isCounter) : load<f64>(vs + (<usize>first << 3));
  const right = smoothed && last > lo && f64At(ts, last) > rangeEnd ? interpolateAt(ts, vs, last - 1, last, rangeEnd, isCounter) : load<f64>(vs + (<usize>last << 3));
  let result = right - left;
  if (isCounter) {
    if (f64At(ts, first) <= rangeStart) first++;
    if (f64At(ts, last) >= rangeEnd) last--;
    let correction: f64 = 0;
    let prev = left;
    for (let i = first; i <= last; i++) {
      const v = load<f64>(vs + (<usize>i << 3));
      if (v < prev) correction += prev;
      prev = v;
    }
    if (right < prev) correction += prev;
    result += correction;
  }
  if (isRate) result /= rangeMs / 1000;
  return result;
}

// Prometheus' staleness marker 0x7ff0000000000002, also in the quieted form 0x7ff8000000000002 that a JS number
// may turn it into.
@inline function isStaleMarker(bits: u64): bool {
  return (bits & 0xfff7ffffffffffff) == 0x7ff0000000000002;
}

// Removes staleness markers from samples [first, end) in place; returns the new end.
function dropStaleMarkers(ts: usize, vs: usize, first: i32, end: i32): i32 {
  let w = first;
  for (let i = first; i < end; i++) {
    const bits = load<u64>(vs + (<usize>i << 3));
    if (isStaleMarker(bits)) continue;
    if (w != i) {
      store<u64>(vs + (<usize>w << 3), bits);
      store<f64>(ts + (<usize>w << 3), f64At(ts, i));
    }
    w++;
  }
  return w;
}

// max_over_time / min_over_time: a NaN is replaced by any later sample, a number only by a larger (smaller) one;
// so after the leading NaNs the loop is a plain comparison.
function windowMax(vs: usize, lo: i32, hi: i32): f64 {
  let i = lo;
  while (i < hi - 1 && isNaN(load<f64>(vs + (<usize>i << 3)))) i++;
  let best = load<f64>(vs + (<usize>i << 3));
  for (i++; i < hi; i++) {
    const v = load<f64>(vs + (<usize>i << 3));
    if (v > best) best = v;
  }
  return best;
}

// windowMax's mirror, kept as its own loop: one inlined function taking a `max` flag measured ~10 % slower
// (bench/range-kernels.mjs: 73 vs 65 us per call), the comparison was not folded.
function windowMin(vs: usize, lo: i32, hi: i32): f64 {
  let i = lo;
  while (i < hi - 1 && isNaN(load<f64>(vs + (<usize>i << 3)))) i++;
  let best = load<f64>(vs + (<usize>i << 3));
  for (i++; i < hi; i++) {
    const v = load<f64>(vs + (<usize>i << 3));
    if (v < best) best = v;
  }
  return best;
}

// avg_over_time of vs[lo, hi) (hi > lo): Prometheus' Kahan sum, and its incremental mean once the sum overflows.
function windowAvg(vs: usize, lo: i32, hi: i32): f64 {
  const n = hi - lo;
  const finiteSum = kahanSumFinite(vs, lo + 1, hi, load<f64>(vs + (<usize>lo << 3)));
  if (isFinite(finiteSum)) return finiteSum / <f64>n + kahanC / <f64>n;
  return windowAvgSlow(vs, lo, hi);
}

// windowAvg after a sum that did not stay finite: Prometheus' loop as it is.
function windowAvgSlow(vs: usize, lo: i32, hi: i32): f64 {
  let sum = load<f64>(vs + (<usize>lo << 3));
  let count: f64 = 1;
  let mean: f64 = 0, c: f64 = 0;
  let incremental = false;
  for (let i = lo + 1; i < hi; i++) {
    const v = load<f64>(vs + (<usize>i << 3));
    count = <f64>(i - lo + 1);
    if (!incremental) {
      const newSum = kahanInc(v, sum, c);
      if (isFinite(newSum) || isNaN(newSum)) {
        sum = newSum; c = kahanC;
        continue;
      }
      incremental = true;
      mean = sum / (count - 1);
      c /= count - 1;
    }
    const q = (count - 1) / count;
    mean = kahanInc(v / count, q * mean, q * c);
    c = kahanC;
  }
  return incremental ? mean + c : sum / count + c / count;
}

// sum_over_time of vs[lo, hi): Prometheus' Kahan sum.
function windowSum(vs: usize, lo: i32, hi: i32): f64 {
  const finiteSum = kahanSumFinite(vs, lo, hi, 0);
  if (isFinite(finiteSum)) return finiteSum + kahanC;
  return windowSumSlow(vs, lo, hi);
}

// windowSum after a sum that did not stay finite: Prometheus' loop as it is.
function windowSumSlow(vs: usize, lo: i32, hi: i32): f64 {
  let sum: f64 = 0, c: f64 = 0;
  for (let i = lo; i < hi; i++) {
    sum = kahanInc(load<f64>(vs + (<usize>i << 3)), sum, c);
    c = kahanC;
  }
  return (!isFinite(sum) && !isNaN(sum)) ? sum : sum + c;
}

// Lane 1's sum and the two compensations of the last kahanSumFinitePair call.
let pairSum1: f64 = 0;
let pairC0: f64 = 0;
let pairC1: f64 = 0;

// kahanSumFinite of two windows at once: lane 0 adds vs[from0, hi0) onto sum0, lane 1 vs[from1, hi1) onto sum1
// (from0 <= from1, hi0 <= hi1: the windows of two consecutive steps). Where they overlap, [from1, hi0), both run in
// the two lanes of one f64x2, each adding the same elements in the same order with the same operations as
// kahanSumFinite, so each lane's sum and compensation are bit for bit those of its window alone; the parts of one
// window only run alone. Returns lane 0's sum; lane 1's goes to pairSum1, the compensations to pairC0 and pairC1.
function kahanSumFinitePair(vs: usize, from0: i32, hi0: i32, sum0: f64, from1: i32, hi1: i32, sum1: f64): f64 {
  const both = min(from1, hi0); // lane 0 alone before it
  sum0 = kahanSumFinite(vs, from0, both, sum0);
  let s = f64x2(sum0, sum1);
  let c = f64x2(kahanC, 0);
  for (let i = from1; i < hi0; i++) {
    const v = v128.splat<f64>(load<f64>(vs + (<usize>i << 3)));
    const t = f64x2.add(s, v);
    const big = f64x2.ge(f64x2.abs(s), f64x2.abs(v));
    c = f64x2.add(c, v128.bitselect(f64x2.add(f64x2.sub(s, t), v), f64x2.add(f64x2.sub(v, t), s), big));
    s = t;
  }
  pairC0 = f64x2.extract_lane(c, 0);
  pairSum1 = kahanSumFinite(vs, max(hi0, from1), hi1, f64x2.extract_lane(s, 1), f64x2.extract_lane(c, 1));
  pairC1 = kahanC;
  return f64x2.extract_lane(s, 0);
}

// avg_over_time / sum_over_time of one series over all steps, windows as promqlRangeEval's, two steps at a time
// (kahanSumFinitePair); a window whose sum does not stay finite is summed again alone by Prometheus' loop.
function windowSums(
  fn: i32, ts: usize, vs: usize, first: i32, end: i32, stepCount: i32, windowEnds: usize, rangeMs: f64,
  extraBeforeMs: f64, extraAfterMs: f64, rowOut: usize, rowPresent: usize,
): void {
  const avg = fn == FN_AVG;
  let lo = first;
  let hi = first;
  for (let k = 0; k < stepCount; k += 2) {
    let we = load<f64>(windowEnds + (<usize>k << 3));
    while (hi < end && f64At(ts, hi) <= we + extraAfterMs) hi++;
    while (lo < hi && f64At(ts, lo) <= we - rangeMs - extraBeforeMs) lo++;
    const lo0 = lo;
    const hi0 = hi;
    if (k + 1 == stepCount) {
      storeWindowSum(avg, vs, lo0, hi0, rowOut, rowPresent, k);
      break;
    }
    we = load<f64>(windowEnds + (<usize>(k + 1) << 3));
    while (hi < end && f64At(ts, hi) <= we + extraAfterMs) hi++;
    while (lo < hi && f64At(ts, lo) <= we - rangeMs - extraBeforeMs) lo++;
    if (hi0 == lo0 || hi == lo) {
      storeWindowSum(avg, vs, lo0, hi0, rowOut, rowPresent, k);
      storeWindowSum(avg, vs, lo, hi, rowOut, rowPresent, k + 1);
      continue;
    }
    // avg starts from a window's first value, sum from 0
    const skip = avg ? 1 : 0;
    const sum0 = kahanSumFinitePair(
      vs, lo0 + skip, hi0, avg ? load<f64>(vs + (<usize>lo0 << 3)) : 0, lo + skip, hi, avg ? load<f64>(vs + (<usize>lo << 3)) : 0,
    );
    storePairLane(avg, vs, lo0, hi0, sum0, pairC0, rowOut, rowPresent, k);
    storePairLane(avg, vs, lo, hi, pairSum1, pairC1, rowOut, rowPresent, k + 1);
  }
}

// One window's avg or sum from its finite-path sum and compensation, or by windowAvg/windowSum when it is not finite.
@inline function storePairLane(avg: bool, vs: usize, lo: i32, hi: i32, sum: f64, c: f64, rowOut: usize, rowPresent: usize, k: i32): void {
  const n = <f64>(hi - lo);
  const r = isFinite(sum) ? (avg ? sum / n + c / n : sum + c) : (avg ? windowAvgSlow(vs, lo, hi) : windowSumSlow(vs, lo, hi));
  store<f64>(rowOut + (<usize>k << 3), r);
  store<u8>(rowPresent + <usize>k, 1);
}

// One window's avg or sum alone (absent when the window is empty).
function storeWindowSum(avg: bool, vs: usize, lo: i32, hi: i32, rowOut: usize, rowPresent: usize, k: i32): void {
  const ok = hi > lo;
  store<f64>(rowOut + (<usize>k << 3), ok ? (avg ? windowAvg(vs, lo, hi) : windowSum(vs, lo, hi)) : 0);
  store<u8>(rowPresent + <usize>k, ok ? 1 : 0);
}

/**
 * Evaluates range function `fn` for `seriesCount` series over `stepCount` windows.
 * Series s owns samples [offsets[s], offsets[s+1]) of the ts/vals arrays (ms timestamps ascending); staleness
 * markers among them are dropped (in place) before windowing, except for the instant-selector functions.
 * Window k is (windowEnds[k] - rangeMs - extraBeforeMs, windowEnds[k] + extraAfterMs]; windowEnds must be
 * non-decreasing. The extra margins are a lookback delta for anchored and smoothed selectors, else 0.
 * p0/p1 hold per-step scalar parameters. Results go to out[s*stepCount + k], with present[...] = 1 when defined.
 * sortBuf must hold as many f64 as the longest series.
 */
export function promqlRangeEval(
  fn: i32, seriesCount: i32, stepCount: i32, rangeMs: f64,
  ts: usize, vs: usize, offsets: usize, windowEnds: usize,
  p0: usize, p1: usize, out: usize, present: usize, sortBuf: usize,
  extraBeforeMs: f64, extraAfterMs: f64, smoothed: i32,
): void {
  for (let s = 0; s < seriesCount; s++) {
    const first = load<i32>(offsets + (<usize>s << 2));
    const stored = load<i32>(offsets + (<usize>(s + 1) << 2));
    const end = fn >= FN_INSTANT_VALUE ? stored : dropStaleMarkers(ts, vs, first, stored);
    const rowOut = out + ((<usize>s * <usize>stepCount) << 3);
    const rowPresent = present + <usize>s * <usize>stepCount;
    if (fn == FN_AVG || fn == FN_SUM) {
      windowSums(fn, ts, vs, first, end, stepCount, windowEnds, rangeMs, extraBeforeMs, extraAfterMs, rowOut, rowPresent);
      continue;
    }
    let lo = first;
    let hi = first;
    // First index i > lo with vs[i] < vs[i - 1] (a counter reset), or an index >= hi when the window has none;
    // only moves forward, so finding the resets costs one pass over the series, not one per window.
    let reset = first + 1;
    for (let k = 0; k < stepCount; k++) {
      const we = load<f64>(windowEnds + (<usize>k << 3));
      const ws = we - rangeMs - extraBeforeMs;
      while (hi < end && f64At(ts, hi) <= we + extraAfterMs) hi++;
      while (lo < hi && f64At(ts, lo) <= ws) lo++;
      // windowEnds never decrease, so neither do lo and hi; a window may be empty.
      const n = hi - lo;
      let ok = n > 0;
      let r: f64 = 0;
      if (ok) {
        switch (fn) {
          case FN_RATE:
          case FN_INCREASE:
          case FN_DELTA: {
            if (n < 2) { ok = false; break; }
            const isCounter = fn != FN_DELTA;
            if (isCounter) {
              if (reset <= lo) reset = lo + 1;
              while (reset < hi && !(load<f64>(vs + (<usize>reset << 3)) < load<f64>(vs + (<usize>(reset - 1) << 3)))) reset++;
            }
            r = extrapolatedRate(ts, vs, lo, hi, we, rangeMs, isCounter, fn == FN_RATE, reset < hi);
            break;
          }
          case FN_IRATE:
          case FN_IDELTA: {
            if (n < 2) { ok = false; break; }
            const t0 = f64At(ts, hi - 2), t1 = f64At(ts, hi - 1);
            const v0 = load<f64>(vs + (<usize>(hi - 2) << 3)), v1 = load<f64>(vs + (<usize>(hi - 1) << 3));
            const interval = t1 - t0;
            if (interval == 0) { ok = false; break; }
            if (fn == FN_IRATE) {
              r = (v1 < v0 ? v1 : v1 - v0) / (interval / 1000);
            } else {
              r = v1 - v0;
            }
            break;
          }
          case FN_DERIV: {
            if (n < 2) { ok = false; break; }
            r = regressionSlope(ts, vs, lo, hi, f64At(ts, lo));
            break;
          }
          case FN_PREDICT_LINEAR: {
            if (n < 2) { ok = false; break; }
            const slope = regressionSlope(ts, vs, lo, hi, load<f64>(p1 + (<usize>k << 3)));
            r = slope * load<f64>(p0 + (<usize>k << 3)) + regressionIntercept;
            break;
          }
          case FN_CHANGES:
          case FN_RESETS: {
            r = <f64>countChangesOrResets(vs, lo, hi, fn == FN_CHANGES);
            break;
          }
          case FN_AVG: {
            r = windowAvg(vs, lo, hi);
            break;
          }
          case FN_SUM: {
            r = windowSum(vs, lo, hi);
            break;
          }
          case FN_MIN:
          case FN_MAX: {
            r = fn == FN_MAX ? windowMax(vs, lo, hi) : windowMin(vs, lo, hi);
            break;
          }
          case FN_TS_MAX:
          case FN_TS_MIN: {
            let best = load<f64>(vs + (<usize>lo << 3));
            let bestT = f64At(ts, lo);
            for (let i = lo; i < hi; i++) {
              const v = load<f64>(vs + (<usize>i << 3));
              let take = false;
              if (fn == FN_TS_MAX) take = v >= best || isNaN(best);
              else take = v <= best || isNaN(best);
              if (take) { best = v; bestT = f64At(ts, i); }
            }
            r = bestT / 1000;
            break;
          }
          case FN_INSTANT_VALUE:
          case FN_INSTANT_TIMESTAMP: {
            if (isStaleMarker(load<u64>(vs + (<usize>(hi - 1) << 3)))) { ok = false; break; }
            r = fn == FN_INSTANT_VALUE ? load<f64>(vs + (<usize>(hi - 1) << 3)) : f64At(ts, hi - 1) / 1000;
            break;
          }
          case FN_COUNT: r = <f64>n; break;
          case FN_PRESENT: r = 1; break;
          case FN_LAST: r = load<f64>(vs + (<usize>(hi - 1) << 3)); break;
          case FN_FIRST: r = load<f64>(vs + (<usize>lo << 3)); break;
          case FN_TS_FIRST: r = f64At(ts, lo) / 1000; break;
          case FN_TS_LAST: r = f64At(ts, hi - 1) / 1000; break;
          case FN_STDDEV:
          case FN_STDVAR: {
            let count: f64 = 0, mean: f64 = 0, cMean: f64 = 0, aux: f64 = 0, cAux: f64 = 0;
            for (let i = lo; i < hi; i++) {
              const v = load<f64>(vs + (<usize>i << 3));
              count++;
              const delta = v - (mean + cMean);
              mean = kahanInc(delta / count, mean, cMean); cMean = kahanC;
              aux = kahanInc(delta * (v - (mean + cMean)), aux, cAux); cAux = kahanC;
            }
            const variance = (aux + cAux) / count;
            r = fn == FN_STDDEV ? Math.sqrt(variance) : variance;
            break;
          }
          case FN_QUANTILE:
          case FN_MAD: {
            memory.copy(sortBuf, vs + (<usize>lo << 3), <usize>n << 3);
            if (fn == FN_QUANTILE) {
              r = quantileOf(load<f64>(p0 + (<usize>k << 3)), sortBuf, n);
            } else {
              // A NaN sample makes the deviation NaN rather than being sorted away.
              let hasNaN = false;
              for (let i = lo; i < hi; i++) if (isNaN(load<f64>(vs + (<usize>i << 3)))) hasNaN = true;
              if (hasNaN) { r = NaN; break; }
              const median = quantileOf(0.5, sortBuf, n);
              for (let i = 0; i < n; i++) {
                store<f64>(sortBuf + (<usize>i << 3), Math.abs(load<f64>(vs + (<usize>(lo + i) << 3)) - median));
              }
              r = quantileOf(0.5, sortBuf, n);
            }
            break;
          }
          case FN_DOUBLE_EXP: {
            if (n < 2) { ok = false; break; }
            const sf = load<f64>(p0 + (<usize>k << 3));
            const tf = load<f64>(p1 + (<usize>k << 3));
            let s0: f64 = 0;
            let s1 = load<f64>(vs + (<usize>lo << 3));
            let b = load<f64>(vs + (<usize>(lo + 1) << 3)) - s1;
            for (let i = 1; i < n; i++) {
              const x = sf * load<f64>(vs + (<usize>(lo + i) << 3));
              if (i - 1 != 0) b = tf * (s1 - s0) + (1 - tf) * b;
              const y = (1 - sf) * (s1 + b);
              s0 = s1;
              s1 = x + y;
            }
            r = s1;
            break;
          }
          case FN_EXT_RATE:
          case FN_EXT_INCREASE:
          case FN_EXT_DELTA: {
            r = extendedRate(ts, vs, lo, hi, we, rangeMs, smoothed != 0, fn != FN_EXT_DELTA, fn == FN_EXT_RATE);
            ok = extendedOk;
            break;
          }
          case FN_ANCHORED_CHANGES:
          case FN_ANCHORED_RESETS: {
            if (f64At(ts, hi - 1) <= we - rangeMs) { ok = false; break; }
            const start = firstAnchoredIndex(ts, lo, hi, we - rangeMs);
            r = <f64>countChangesOrResets(vs, start, hi, fn == FN_ANCHORED_CHANGES);
            break;
          }
          default: ok = false;
        }
      }
      store<f64>(rowOut + (<usize>k << 3), ok ? r : 0);
      store<u8>(rowPresent + <usize>k, ok ? 1 : 0);
    }
  }
}

/** changes() (value differs from the previous one; NaN equals NaN) or resets() (value dropped) over points [from, hi). */
function countChangesOrResets(vs: usize, from: i32, hi: i32, changes: bool): i32 {
  let count = 0;
  let prev = load<f64>(vs + (<usize>from << 3));
  for (let i = from + 1; i < hi; i++) {
    const cur = load<f64>(vs + (<usize>i << 3));
    if (changes) {
      if (cur != prev && !(isNaN(cur) && isNaN(prev))) count++;
    } else if (cur < prev) {
      count++;
    }
    prev = cur;
  }
  return count;
}
