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

export interface SeriesSource {
  /** Numeric series matching `selection` with samples in [start, end) (ms), timestamps ascending. */
  selectColumns(selection: SeriesSelection, start: number, end: number): Promise<SelectedSeries[]>;
}
