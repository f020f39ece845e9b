// The narrow read interface the PromQL engine needs from storage; tsink's storage satisfies it structurally,
// and the server wraps it to scope reads to a tenant.

import type { SeriesMatcher } from "../storage/types.js";

export type { SeriesMatcher };

/** Storage's SeriesSelection with the time range in Unix ms (PromQL's unit, whatever the storage precision). */
export interface SeriesSelection {
  metric?: string;
  matchers?: SeriesMatcher[];
  start?: number;
  end?: number;
}

export interface SelectedSeries {
  metric: string;
  /** Sorted by name; the metric name may be given separately in `metric` instead of as a `__name__` label. */
  labels: { name: string; value: string }[];
  /** Millisecond timestamps (a BigInt64Array from nanosecond-precision storage is converted). */
  timestamps: Float64Array | BigInt64Array;
  values: Float64Array;
}

/**
 * Whole series in WASM linear memory: series i (labels[first + i], sorted, `__name__` included) is points
 * [offsets[i], offsets[i + 1]) of the f64 ms timestamps at byte address tsPtr and f64 values at vsPtr. The offsets and
 * points are valid only during the batch callback. `labels` is one array for the whole read, the same in every
 * batch, which the callback may keep: the label lists of the series read so far (entries from `first` + the batch's
 * series on are placeholders until later batches fill them); once the read resolved, exactly its series' lists.
 */
export interface SeriesBatch {
  labels: { name: string; value: string }[][];
  first: number;
  offsets: Int32Array;
  tsPtr: number;
  vsPtr: number;
}

export interface SeriesSource {
  /** Numeric series matching `selection` with samples in [start, end) (ms), timestamps ascending. */
  selectColumns(selection: SeriesSelection, start: number, end: number): Promise<SelectedSeries[]>;
  /**
   * Optional: the same series in batches of about `maxPoints` points written into WASM memory, where range kernels
   * read them in place. `onBatch` runs synchronously, once per batch, the batch valid only during the call; when it
   * returns a promise (the engine yielding to the event loop), the source reads on once it settles and stops with
   * its rejection. Resolves to false (without calling onBatch) when the source cannot (then the engine uses
   * selectColumns).
   */
  selectBatches?(
    selection: SeriesSelection, start: number, end: number, maxPoints: number, onBatch: (batch: SeriesBatch) => void | Promise<void>,
  ): Promise<boolean>;
}
