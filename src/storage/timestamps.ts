// The one place that knows how timestamps are represented per precision: s/ms/us are exact integers held in
// float64 (Float64Array, JS number), ns needs 64-bit integers (BigInt64Array, bigint). Everything else in the
// engine handles timestamps as 8-byte cells and asks this module for arithmetic, conversions and typed views.
import { errors } from "./errors.js";
import type { TimestampPrecision } from "./types.js";

export type Ts = number | bigint;
export type TimestampArray = Float64Array | BigInt64Array;

const UNITS_PER_MS: Record<TimestampPrecision, number> = { s: 1e-3, ms: 1, us: 1e3, ns: 1e6 };
const FUTURE_SKEW_MS = 15 * 60 * 1000;

export class TimeAxis {
  readonly isBigInt: boolean;
  /** Smallest and largest representable timestamps. */
  readonly min: Ts;
  readonly max: Ts;

  constructor(readonly precision: TimestampPrecision) {
    this.isBigInt = precision === "ns";
    this.min = this.isBigInt ? -(2n ** 63n) : -Number.MAX_SAFE_INTEGER;
    this.max = this.isBigInt ? 2n ** 63n - 1n : Number.MAX_SAFE_INTEGER;
  }

  /** Validates a caller's timestamp and returns it in the internal representation. */
  normalize(ts: unknown): Ts {
    if (!this.isBigInt && typeof ts === "number" && Number.isSafeInteger(ts)) return ts; // the common case first
    if (this.isBigInt) {
      if (typeof ts === "bigint") {
        if (ts < (this.min as bigint) || ts > (this.max as bigint)) throw errors.invalidTimestamp(ts, "outside the signed 64-bit range");
        return ts;
      }
      if (typeof ts === "number" && Number.isSafeInteger(ts)) return BigInt(ts);
      throw errors.invalidTimestamp(ts, "ns precision needs a bigint (or a safe-integer number)");
    }
    if (typeof ts === "number" && Number.isSafeInteger(ts)) return ts;
    if (typeof ts === "bigint" && ts >= -(2n ** 53n) + 1n && ts <= 2n ** 53n - 1n) return Number(ts);
    throw errors.invalidTimestamp(ts, `${this.precision} precision needs an integer number within ±2^53`);
  }

  /** Like normalize, but clamps out-of-range query bounds instead of throwing (a range may be open-ended). */
  bound(ts: unknown): Ts {
    if (typeof ts === "number" && (ts === Infinity || ts === -Infinity)) return ts > 0 ? this.max : this.min;
    if (!this.isBigInt && typeof ts === "bigint") {
      if (ts > BigInt(Number.MAX_SAFE_INTEGER)) return this.max;
      if (ts < -BigInt(Number.MAX_SAFE_INTEGER)) return this.min;
    }
    return this.normalize(ts);
  }

  /** A duration given in milliseconds, in timestamp units (at least 1). */
  fromMillis(ms: number): Ts {
    if (this.isBigInt) return BigInt(Math.max(1, Math.round(ms))) * 1_000_000n;
    return Math.max(1, Math.floor(ms * UNITS_PER_MS[this.precision]));
  }

  now(): Ts {
    if (this.isBigInt) return BigInt(Date.now()) * 1_000_000n;
    return Math.floor(Date.now() * UNITS_PER_MS[this.precision]);
  }

  /** Latest timestamp a write may carry right now (15 min future-skew window). */
  futureLimit(): Ts {
    return this.add(this.now(), this.fromMillis(FUTURE_SKEW_MS));
  }

  add(a: Ts, b: Ts): Ts {
    if (this.isBigInt) {
      const r = (a as bigint) + (b as bigint);
      return r > (this.max as bigint) ? this.max : r < (this.min as bigint) ? this.min : r;
    }
    return Math.min(Math.max((a as number) + (b as number), this.min as number), this.max as number);
  }

  sub(a: Ts, b: Ts): Ts {
    return this.isBigInt ? this.add(a, -(b as bigint)) : this.add(a, -(b as number));
  }

  /** Start of the bucket of width `interval` (anchored at `origin`) that holds `ts`. */
  bucketStart(ts: Ts, origin: Ts, interval: Ts): Ts {
    if (this.isBigInt) {
      const rel = (ts as bigint) - (origin as bigint);
      const iv = interval as bigint;
      let q = rel / iv;
      if (rel % iv !== 0n && rel < 0n) q -= 1n;
      return (origin as bigint) + q * iv;
    }
    return (origin as number) + Math.floor(((ts as number) - (origin as number)) / (interval as number)) * (interval as number);
  }

  /** Partition index (a JS number) of a timestamp. */
  partitionOf(ts: Ts, partitionUnits: Ts): number {
    if (this.isBigInt) {
      const p = partitionUnits as bigint;
      let q = (ts as bigint) / p;
      if ((ts as bigint) % p !== 0n && (ts as bigint) < 0n) q -= 1n;
      return Number(q);
    }
    return Math.floor((ts as number) / (partitionUnits as number));
  }

  /** How the chunk codec should hand timestamps back. */
  get codecTimestamps(): "bigint" | "number" {
    return this.isBigInt ? "bigint" : "number";
  }

  /** The timestamp just before `ts`. */
  previous(ts: Ts): Ts {
    return this.isBigInt ? this.sub(ts, 1n) : this.sub(ts, 1);
  }

  /** Number of buckets of width `interval` from bucket start `first` to bucket start `last`, inclusive. */
  bucketsBetween(first: Ts, last: Ts, interval: Ts): number {
    if (this.isBigInt) return Number(((last as bigint) - (first as bigint)) / (interval as bigint)) + 1;
    return ((last as number) - (first as number)) / (interval as number) + 1;
  }

  /** A typed-array view of 8-byte timestamp cells. */
  view(buffer: ArrayBufferLike, byteOffset = 0, length?: number): TimestampArray {
    return this.isBigInt ? new BigInt64Array(buffer, byteOffset, length) : new Float64Array(buffer, byteOffset, length);
  }

  newArray(length: number): TimestampArray {
    return this.isBigInt ? new BigInt64Array(length) : new Float64Array(length);
  }

}

/** First index in sorted ts[lo, hi) whose value is >= t. */
export function lowerBound(ts: TimestampArray, lo: number, hi: number, t: Ts): number {
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if (ts[mid]! < t) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}
