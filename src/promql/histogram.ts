// Classic (le-bucket) histogram maths for histogram_quantile and histogram_fraction, including Prometheus'
// precision and monotonicity fixes for buckets whose counts decrease.

export interface Bucket {
  upperBound: number;
  count: number;
}

function sortAndCoalesce(buckets: Bucket[]): Bucket[] {
  buckets.sort((a, b) => a.upperBound - b.upperBound);
  const out: Bucket[] = [];
  for (const b of buckets) {
    const last = out[out.length - 1];
    if (last && last.upperBound === b.upperBound) last.count += b.count;
    else out.push({ upperBound: b.upperBound, count: b.count });
  }
  return out;
}

/** Snaps counts that differ from their predecessor only by float noise (relative 1e-12) back to it. */
function correctPrecisionErrors(buckets: Bucket[]): void {
  let prev = buckets[0].count;
  for (let i = 1; i < buckets.length; i++) {
    const curr = buckets[i].count;
    const delta = Math.abs(curr - prev);
    if (delta === 0) continue;
    if (delta / curr <= 1e-12) buckets[i].count = prev;
    else prev = curr;
  }
}

/** Replaces decreases between successive buckets by the running maximum ("envelope"); true when it changed any. */
function ensureMonotonic(buckets: Bucket[]): boolean {
  let max = buckets[0].count;
  let forced = false;
  for (let i = 1; i < buckets.length; i++) {
    if (buckets[i].count > max) {
      max = buckets[i].count;
    } else if (buckets[i].count < max) {
      buckets[i].count = max;
      forced = true;
    }
  }
  return forced;
}

/**
 * φ-quantile of a classic histogram, interpolating linearly inside the bucket that holds the rank.
 * `onForcedMonotonic` is called when decreasing bucket counts had to be raised (Prometheus' info annotation).
 */
export function bucketQuantile(q: number, input: Bucket[], onForcedMonotonic?: () => void): number {
  if (Number.isNaN(q)) return NaN;
  if (q < 0) return -Infinity;
  if (q > 1) return Infinity;
  if (input.length === 0) return NaN;
  const buckets = sortAndCoalesce(input);
  if (buckets[buckets.length - 1].upperBound !== Infinity) return NaN;
  correctPrecisionErrors(buckets);
  if (ensureMonotonic(buckets)) onForcedMonotonic?.();
  if (buckets.length < 2) return NaN;
  const observations = buckets[buckets.length - 1].count;
  if (observations === 0) return NaN;
  let rank = q * observations;
  let b = 0;
  while (b < buckets.length - 1 && !(buckets[b].count >= rank)) b++;
  if (b === buckets.length - 1) return buckets[buckets.length - 2].upperBound;
  if (b === 0 && buckets[0].upperBound <= 0) return buckets[0].upperBound;
  let bucketStart = 0;
  const bucketEnd = buckets[b].upperBound;
  let count = buckets[b].count;
  if (b > 0) {
    bucketStart = buckets[b - 1].upperBound;
    count -= buckets[b - 1].count;
    rank -= buckets[b - 1].count;
  }
  return bucketStart + (bucketEnd - bucketStart) * (rank / count);
}

/** Fraction of observations in (lower, upper] of a classic histogram, interpolating linearly within buckets. */
export function bucketFraction(lower: number, upper: number, input: Bucket[]): number {
  if (input.length === 0) return NaN;
  const buckets = sortAndCoalesce(input);
  if (buckets[buckets.length - 1].upperBound !== Infinity) return NaN;
  correctPrecisionErrors(buckets);
  ensureMonotonic(buckets);
  const count = buckets[buckets.length - 1].count;
  if (count === 0 || Number.isNaN(lower) || Number.isNaN(upper)) return NaN;
  if (lower >= upper) return 0;
  let rank = 0;
  let lowerRank = 0;
  let upperRank = 0;
  let lowerSet = false;
  let upperSet = false;
  for (let i = 0; i < buckets.length; i++) {
    const b = buckets[i];
    const lowerBound = i > 0 ? buckets[i - 1].upperBound : b.upperBound > 0 ? 0 : -Infinity;
    const upperBound = b.upperBound;
    // A bucket of infinite width cannot be interpolated: a bound inside it counts the whole bucket as below it.
    const interpolate = (v: number) =>
      lowerBound === -Infinity ? b.count : rank + ((b.count - rank) * (v - lowerBound)) / (upperBound - lowerBound);
    if (!lowerSet && lowerBound >= lower) {
      lowerRank = rank;
      lowerSet = true;
    }
    if (!upperSet && lowerBound >= upper) {
      upperRank = rank;
      upperSet = true;
    }
    if (lowerSet && upperSet) break;
    if (!lowerSet && lowerBound < lower && upperBound > lower) {
      lowerRank = interpolate(lower);
      lowerSet = true;
    }
    if (!upperSet && lowerBound < upper && upperBound > upper) {
      upperRank = interpolate(upper);
      upperSet = true;
    }
    if (lowerSet && upperSet) break;
    rank = b.count;
  }
  if (!lowerSet || lowerRank > count) lowerRank = count;
  if (!upperSet || upperRank > count) upperRank = count;
  return (upperRank - lowerRank) / count;
}
