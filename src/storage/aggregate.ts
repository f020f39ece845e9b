// Aggregation and downsampling over a sorted column (typed arrays, one value kind), following the reference:
// NaN is skipped by numeric aggregations, Count is u64, Min/Max/First/Last keep the chosen point, Avg/Median/
// Variance/StdDev work on the exact f64 projection, buckets are [start + k*interval, +interval).
import type { Column } from "./column.js";
import { errors } from "./errors.js";
import type { TimeAxis, Ts } from "./timestamps.js";
import type { Aggregation, CustomBytesAggregation, StoredPoint, StoredValue } from "./types.js";
import { KIND_BOOL, KIND_BYTES, KIND_F64, KIND_I64, KIND_NAMES, KIND_STRING, KIND_U64 } from "./value-kinds.js";

const I64_MIN = -(2n ** 63n);
const I64_MAX = 2n ** 63n - 1n;
const U64_MAX = 2n ** 64n - 1n;
const EXACT = 2n ** 53n;

/** The stored value of point i as the public API returns it. */
export function valueAt(col: Column, kind: number, i: number): StoredValue {
  switch (kind) {
    case KIND_F64:
      return col.f64[i]!;
    case KIND_I64:
      return col.i64[i]!;
    case KIND_U64:
      return col.u64[i]!;
    case KIND_BOOL:
      return col.f64[i] !== 0;
    default:
      return col.blobs![i]!;
  }
}

export function pointsOf(col: Column, kind: number, from = 0, to = col.length): StoredPoint[] {
  const out = new Array<StoredPoint>(Math.max(0, to - from));
  for (let i = from; i < to; i++) out[i - from] = { timestamp: col.ts[i]!, value: valueAt(col, kind, i) };
  return out;
}

/** Aggregates points [from, to); the result carries `bucketTs`, or the reference's timestamp when undefined. */
export function reduce(col: Column, kind: number, agg: Aggregation, from: number, to: number, bucketTs?: Ts): StoredPoint | undefined {
  if (to <= from || agg === "None") return undefined;
  const lastTs = bucketTs ?? col.ts[to - 1]!;
  const at = (i: number): StoredPoint => ({ timestamp: bucketTs ?? col.ts[i]!, value: valueAt(col, kind, i) });
  const isNaNAt = (i: number) => kind === KIND_F64 && Number.isNaN(col.f64[i]!);
  switch (agg) {
    case "First":
      return at(from);
    case "Last":
      return at(to - 1);
    case "Count": {
      let n = 0;
      for (let i = from; i < to; i++) if (!isNaNAt(i)) n++;
      return { timestamp: lastTs, value: BigInt(n) };
    }
    case "Min":
    case "Max": {
      const sign = agg === "Min" ? -1 : 1;
      let best = -1;
      for (let i = from; i < to; i++) {
        if (isNaNAt(i)) continue;
        if (best < 0 || sign * compareValues(col, kind, i, best) > 0) best = i;
      }
      return best < 0 ? undefined : at(best);
    }
    case "Sum":
    case "Range": {
      if (kind === KIND_I64 || kind === KIND_U64) {
        const arr = kind === KIND_I64 ? col.i64 : col.u64;
        let sum = 0n;
        let min = arr[from]!;
        let max = arr[from]!;
        for (let i = from; i < to; i++) {
          const v = arr[i]!;
          sum += v;
          if (v < min) min = v;
          if (v > max) max = v;
        }
        const r = agg === "Sum" ? sum : max - min;
        const value = kind === KIND_I64 ? (r < I64_MIN ? I64_MIN : r > I64_MAX ? I64_MAX : r) : r > U64_MAX ? U64_MAX : r;
        return { timestamp: lastTs, value };
      }
      const vals = floatValues(col, kind, agg, from, to);
      if (vals.length === 0) return undefined;
      if (agg === "Sum") {
        let s = 0;
        for (let i = 0; i < vals.length; i++) s += vals[i]!;
        return { timestamp: lastTs, value: s };
      }
      let min = Infinity;
      let max = -Infinity;
      for (let i = 0; i < vals.length; i++) {
        if (vals[i]! < min) min = vals[i]!;
        if (vals[i]! > max) max = vals[i]!;
      }
      return { timestamp: lastTs, value: max - min };
    }
    case "Avg": {
      const vals = floatValues(col, kind, agg, from, to);
      if (vals.length === 0) return undefined;
      let s = 0;
      for (let i = 0; i < vals.length; i++) s += vals[i]!;
      return { timestamp: lastTs, value: s / vals.length };
    }
    case "Median": {
      const vals = floatValues(col, kind, agg, from, to);
      if (vals.length === 0) return undefined;
      vals.sort();
      const mid = vals.length >>> 1;
      return { timestamp: lastTs, value: vals.length % 2 === 1 ? vals[mid]! : (vals[mid - 1]! + vals[mid]!) / 2 };
    }
    case "Variance":
    case "StdDev": {
      const vals = floatValues(col, kind, agg, from, to);
      if (vals.length === 0) return undefined;
      let mean = 0;
      let m2 = 0;
      for (let i = 0; i < vals.length; i++) {
        const d = vals[i]! - mean;
        mean += d / (i + 1);
        m2 += d * (vals[i]! - mean);
      }
      const variance = m2 / vals.length;
      return { timestamp: lastTs, value: agg === "Variance" ? variance : Math.sqrt(variance) };
    }
    default:
      throw errors.unsupportedAggregation(String(agg), KIND_NAMES[kind]!);
  }
}

/** Non-NaN values of [from, to) as f64; integers must be exactly representable. */
function floatValues(col: Column, kind: number, agg: Aggregation, from: number, to: number): Float64Array {
  const out = new Float64Array(to - from);
  let n = 0;
  if (kind === KIND_F64) {
    for (let i = from; i < to; i++) {
      const v = col.f64[i]!;
      if (!Number.isNaN(v)) out[n++] = v;
    }
  } else if (kind === KIND_I64 || kind === KIND_U64) {
    const arr = kind === KIND_I64 ? col.i64 : col.u64;
    for (let i = from; i < to; i++) {
      const v = arr[i]!;
      if (v > EXACT || v < -EXACT) throw errors.unsupportedAggregation(agg, `${KIND_NAMES[kind]} (cannot be represented exactly as f64)`);
      out[n++] = Number(v);
    }
  } else throw errors.unsupportedAggregation(agg, KIND_NAMES[kind]!);
  return out.subarray(0, n);
}

function compareValues(col: Column, kind: number, i: number, j: number): number {
  switch (kind) {
    case KIND_F64:
    case KIND_BOOL:
      return col.f64[i]! - col.f64[j]!;
    case KIND_I64:
      return col.i64[i]! < col.i64[j]! ? -1 : col.i64[i]! > col.i64[j]! ? 1 : 0;
    case KIND_U64:
      return col.u64[i]! < col.u64[j]! ? -1 : col.u64[i]! > col.u64[j]! ? 1 : 0;
    case KIND_STRING: {
      const a = col.blobs![i] as string;
      const b = col.blobs![j] as string;
      return a < b ? -1 : a > b ? 1 : 0;
    }
    case KIND_BYTES:
      return Buffer.compare(col.blobs![i] as Uint8Array, col.blobs![j] as Uint8Array);
    default:
      return 0;
  }
}

/**
 * Index ranges of the buckets [start + k*interval, ...) that hold points, with their start timestamps, in order.
 * `fn` returning false stops the walk, and then forEachBucket returns false.
 */
export function forEachBucket(
  axis: TimeAxis,
  col: Column,
  start: Ts,
  interval: Ts,
  fn: (from: number, to: number, bucketTs: Ts) => boolean | void,
): boolean {
  let i = 0;
  while (i < col.length) {
    const bucketTs = axis.bucketStart(col.ts[i]!, start, interval);
    const bucketEnd = axis.add(bucketTs, interval);
    const from = i;
    while (i < col.length && col.ts[i]! < bucketEnd) i++;
    if (fn(from, i, bucketTs) === false) return false;
  }
  return true;
}

export function downsample(axis: TimeAxis, col: Column, kind: number, agg: Aggregation, start: Ts, interval: Ts): StoredPoint[] {
  const out: StoredPoint[] = [];
  forEachBucket(axis, col, start, interval, (from, to, bucketTs) => {
    const p = reduce(col, kind, agg, from, to, bucketTs);
    if (p) out.push(p);
  });
  return out;
}

/** Custom aggregation over bytes values through a codec; one point per bucket (or one for the range). */
export function customAggregate(
  axis: TimeAxis,
  col: Column,
  kind: number,
  custom: CustomBytesAggregation,
  start: Ts,
  interval: Ts | undefined,
): StoredPoint[] {
  if (kind !== KIND_BYTES) throw errors.unsupportedAggregation("custom bytes aggregation", KIND_NAMES[kind]!);
  const out: StoredPoint[] = [];
  const one = (from: number, to: number, ts: Ts) => {
    const decoded: unknown[] = [];
    for (let i = from; i < to; i++) decoded.push(custom.codec.decode(col.blobs![i] as Uint8Array));
    const r = custom.aggregator.aggregate(decoded);
    if (r !== undefined) out.push({ timestamp: ts, value: custom.codec.encode(r) });
  };
  if (interval === undefined) {
    if (col.length > 0) one(0, col.length, col.ts[col.length - 1]!);
  } else forEachBucket(axis, col, start, interval, one);
  return out;
}

