// Growable sample columns (storage's SampleColumns) that a protocol parser appends to one sample at a time:
// timestamps and values in typed arrays, one SeriesKey per distinct series of the batch; no object per sample.
import { grownTo } from "../encoding/typed-arrays.js";
import type { SampleColumns, SeriesKey } from "../storage/types.js";

export class SampleColumnsBuilder implements SampleColumns {
  /** The batch's distinct series in first-seen order (each once, whatever the order of its samples). */
  readonly series: SeriesKey[] = [];
  seriesIndex: Uint32Array;
  values: Float64Array;
  /** A BigInt64Array for a nanosecond storage, integers in a Float64Array otherwise. */
  timestamps: Float64Array | BigInt64Array;
  count = 0;
  private readonly indexOf = new Map<SeriesKey, number>();
  private lastKey: SeriesKey | undefined;
  private lastIndex = -1;

  constructor(
    readonly bigint: boolean,
    capacity = 64,
  ) {
    this.seriesIndex = new Uint32Array(capacity);
    this.values = new Float64Array(capacity);
    this.timestamps = bigint ? new BigInt64Array(capacity) : new Float64Array(capacity);
  }

  /** Appends a sample of `key`: pass the same SeriesKey object for every sample of a series (it is found by identity). */
  add(key: SeriesKey, timestamp: number | bigint, value: number): void {
    let k = this.lastIndex;
    if (key !== this.lastKey) {
      k = this.indexOf.get(key) ?? -1;
      if (k < 0) {
        k = this.series.length;
        this.series.push(key);
        this.indexOf.set(key, k);
      }
      this.lastKey = key;
      this.lastIndex = k;
    }
    const i = this.count;
    if (i === this.values.length) {
      this.seriesIndex = grownTo(this.seriesIndex, i + 1);
      this.values = grownTo(this.values, i + 1);
      this.timestamps = grownTo(this.timestamps, i + 1);
    }
    this.seriesIndex[i] = k;
    this.values[i] = value;
    if (this.bigint) (this.timestamps as BigInt64Array)[i] = typeof timestamp === "bigint" ? timestamp : BigInt(timestamp);
    else (this.timestamps as Float64Array)[i] = Number(timestamp);
    this.count = i + 1;
  }
}
