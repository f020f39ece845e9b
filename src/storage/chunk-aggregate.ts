// Aggregation of f64 series on the WASM scan kernel: count/sum/min/max are computed directly on the encoded
// chunks (no decoding into JS), the few active-head points are folded in with a typed-array loop. Used for
// Sum/Count/Avg over a range and Sum/Count/Avg/Min/Max per downsample bucket. Returns null whenever the kernel
// result would differ from the reference (NaN present for sum-based aggregations, or buckets so narrow that
// decoding the chunk once is cheaper); callers then use the column path.
import { aggregateChunk, chunkInfo } from "../encoding/chunk.js";
import { forEachBucket } from "./aggregate.js";
import type { Column } from "./column.js";
import type { TimeAxis, Ts } from "./timestamps.js";
import type { StoredPoint } from "./types.js";

export type KernelAggregation = "Sum" | "Count" | "Avg" | "Min" | "Max";

export const isKernelAggregation = (agg: string, downsampled: boolean): agg is KernelAggregation =>
  agg === "Sum" || agg === "Count" || agg === "Avg" || (downsampled && (agg === "Min" || agg === "Max"));

class Acc {
  count = 0;
  sum = 0;
  min = NaN;
  max = NaN;
  lastTs: Ts | undefined;

  add(count: number, sum: number, min: number, max: number, lastTs: Ts): void {
    this.count += count;
    this.sum += sum;
    if (!Number.isNaN(min) && !(min >= this.min)) this.min = min;
    if (!Number.isNaN(max) && !(max <= this.max)) this.max = max;
    if (this.lastTs === undefined || lastTs > this.lastTs) this.lastTs = lastTs;
  }

  /** The aggregate as a point stamped `ts`, or undefined when there is nothing (e.g. only NaN for Min/Max). */
  result(agg: KernelAggregation, ts: Ts): StoredPoint | undefined {
    if (this.count === 0) return undefined;
    switch (agg) {
      case "Sum":
        return { timestamp: ts, value: this.sum };
      case "Count":
        return { timestamp: ts, value: BigInt(this.count) };
      case "Avg":
        return { timestamp: ts, value: this.sum / this.count };
      case "Min":
        return Number.isNaN(this.min) ? undefined : { timestamp: ts, value: this.min };
      case "Max":
        return Number.isNaN(this.max) ? undefined : { timestamp: ts, value: this.max };
    }
  }
}

const sumBased = (agg: KernelAggregation) => agg === "Sum" || agg === "Count" || agg === "Avg";

/** Folds head points [from, to) into `acc`; false when a NaN makes a sum-based aggregation unusable. */
function addHead(acc: Acc, run: Column, from: number, to: number, agg: KernelAggregation): boolean {
  let sum = 0;
  let min = NaN;
  let max = NaN;
  for (let i = from; i < to; i++) {
    const v = run.f64[i]!;
    if (Number.isNaN(v)) {
      if (sumBased(agg)) return false;
      continue;
    }
    sum += v;
    if (!(v >= min)) min = v;
    if (!(v <= max)) max = v;
  }
  if (to > from) acc.add(to - from, sum, min, max, run.ts[to - 1]!);
  return true;
}

/** Sum/Count/Avg over [s, e) stamped with the last point's timestamp (reference semantics). */
export function aggregateOnChunks(chunks: Uint8Array[], heads: Column[], s: Ts, e: Ts, agg: KernelAggregation): StoredPoint | undefined | null {
  const acc = new Acc();
  for (const bytes of chunks) {
    const a = aggregateChunk(bytes, s, e);
    if (a.count === 0) continue;
    if (Number.isNaN(a.sum) && sumBased(agg)) return null;
    acc.add(a.count, a.sum, a.min, a.max, a.lastTs);
  }
  for (const run of heads) if (!addHead(acc, run, 0, run.length, agg)) return null;
  return acc.lastTs === undefined ? undefined : acc.result(agg, acc.lastTs);
}

/** Per-bucket aggregates over [s, e), buckets [s + k*interval, ...) stamped with their start. */
export function downsampleOnChunks(
  axis: TimeAxis,
  chunks: Uint8Array[],
  heads: Column[],
  s: Ts,
  e: Ts,
  interval: Ts,
  agg: KernelAggregation,
): StoredPoint[] | null {
  const buckets = new Map<Ts, Acc>();
  const accFor = (start: Ts) => {
    let acc = buckets.get(start);
    if (!acc) buckets.set(start, (acc = new Acc()));
    return acc;
  };
  for (const bytes of chunks) {
    const info = chunkInfo(bytes, axis.codecTimestamps);
    const lo = info.minTs > s ? info.minTs : s;
    const hi = info.maxTs < e ? info.maxTs : axis.previous(e);
    if (lo > hi) continue;
    const first = axis.bucketStart(lo, s, interval);
    const last = axis.bucketStart(hi, s, interval);
    // one kernel call per bucket re-reads the chunk: only worth it when buckets hold several points each
    const spans = axis.bucketsBetween(first, last, interval);
    if (spans * 8 > info.count) return null;
    for (let b = first; b <= last; b = axis.add(b, interval)) {
      const end = axis.add(b, interval);
      const a = aggregateChunk(bytes, b > s ? b : s, end < e ? end : e);
      if (a.count === 0) continue;
      if (Number.isNaN(a.sum) && sumBased(agg)) return null;
      accFor(b).add(a.count, a.sum, a.min, a.max, a.lastTs);
    }
  }
  for (const run of heads) {
    if (!forEachBucket(axis, run, s, interval, (from, to, b) => addHead(accFor(b), run, from, to, agg))) return null;
  }
  const out: StoredPoint[] = [];
  for (const b of [...buckets.keys()].sort((x, y) => (x < y ? -1 : x > y ? 1 : 0))) {
    const p = buckets.get(b)!.result(agg, b);
    if (p) out.push(p);
  }
  return out;
}
