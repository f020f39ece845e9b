// Public value and query types of the embedded library (camelCase names of the reference's Rust API).

export type TimestampPrecision = "s" | "ms" | "us" | "ns";

/** `number` for s/ms/us precision; `bigint` (or a safe-integer number) for ns precision. */
export type Timestamp = number | bigint;

/** Marks a bigint as an unsigned 64-bit value (a plain bigint is i64 unless the series already holds u64). */
export interface U64Value {
  readonly u64: bigint;
}
export const u64 = (value: bigint): U64Value => Object.freeze({ u64: value });

/** f64 (`number`), i64/u64 (`bigint`, see `u64()`), bool, bytes (`Uint8Array`) or string. */
export type Value = number | bigint | U64Value | boolean | Uint8Array | string;

export type ValueType = "f64" | "i64" | "u64" | "bool" | "bytes" | "string";

export interface Label {
  name: string;
  value: string;
}

export interface DataPoint<V = Value> {
  timestamp: Timestamp;
  value: V;
}

export interface Row {
  metric: string;
  labels?: Label[];
  dataPoint: DataPoint;
}

/**
 * A series named once for the many f64 samples of a columnar insert (`insertColumns`). Keep one key object per
 * series and pass it again in later batches: the storage remembers which series it resolved to, so a known series
 * costs no label validation or string hashing. `metric` and `labels` must not change after the first insert.
 */
export class SeriesKey {
  /** Resolution cache, written by the storage: which registry resolved the key, in which generation, to which id. */
  resolvedBy: object | null = null;
  resolvedGeneration = 0;
  resolvedId = -1;

  constructor(
    readonly metric: string,
    readonly labels: readonly Label[] = [],
  ) {}
}

/** A series named by metric and labels: a SeriesKey (resolved once per storage) or any such object (every batch). */
export interface SeriesName {
  readonly metric: string;
  readonly labels?: readonly Label[];
}

/**
 * f64 samples in columns: sample i belongs to `series[seriesIndex[i]]`, at `timestamps[i]` (the storage's
 * precision: integers in a Float64Array for s/ms/us, a BigInt64Array for ns) with `values[i]`. Only the first
 * `count` entries are read. Series given as SeriesKey objects are resolved once per storage and cached in the key;
 * other { metric, labels } objects are looked up in every batch. The arrays are read until the insert settles:
 * do not change them before.
 */
export interface SampleColumns {
  series: readonly SeriesName[];
  seriesIndex: Uint32Array;
  timestamps: Float64Array | BigInt64Array;
  values: Float64Array;
  count: number;
}

/** Points as returned by reads: numbers for f64, bigint for i64/u64, boolean, Uint8Array or string. */
export type StoredValue = number | bigint | boolean | Uint8Array | string;
export type StoredPoint = DataPoint<StoredValue>;

export interface MetricSeries {
  name: string;
  labels: Label[];
}

export interface SeriesPoints {
  series: MetricSeries;
  points: StoredPoint[];
}

export interface SeriesMatcher {
  name: string;
  op: "=" | "!=" | "=~" | "!~";
  value: string;
}

export interface SeriesSelection {
  metric?: string;
  matchers?: SeriesMatcher[];
  /** Optional time range [start, end): only series with data in it. */
  start?: Timestamp;
  end?: Timestamp;
}

export type Aggregation =
  | "None" | "Sum" | "Min" | "Max" | "Avg" | "First" | "Last" | "Count" | "Median" | "Range" | "Variance" | "StdDev";

export const AGGREGATIONS: readonly Aggregation[] = [
  "None", "Sum", "Min", "Max", "Avg", "First", "Last", "Count", "Median", "Range", "Variance", "StdDev",
];

/** Turns a custom type into bytes and back (`Value` bytes are what is stored). */
export interface Codec<T> {
  encode(value: T): Uint8Array;
  decode(bytes: Uint8Array): T;
}

/** Reduces the decoded values of one bucket (or the whole range) to one value, or undefined for none. */
export interface Aggregator<T> {
  aggregate(values: T[]): T | undefined;
}

export interface CustomBytesAggregation<T = unknown> {
  codec: Codec<T>;
  aggregator: Aggregator<T>;
}

export interface QueryOptions {
  start: Timestamp;
  end: Timestamp;
  labels?: Label[];
  aggregation?: Aggregation;
  /** Buckets of `interval` timestamp units starting at `start`; `aggregation` None means Last. */
  downsample?: { interval: Timestamp; aggregation?: Aggregation };
  offset?: number;
  limit?: number;
  customAggregation?: CustomBytesAggregation<any>;
}

export interface QueryRowsScanOptions {
  maxRows?: number;
  rowOffset?: number;
}

export interface QueryRowsPage {
  rowsScanned: number;
  truncated: boolean;
  nextRowOffset?: number;
  rows: Array<{ metric: string; labels: Label[]; dataPoint: StoredPoint }>;
}

export interface DeleteSeriesResult {
  matchedSeries: number;
  tombstonesApplied: number;
}

export type WriteAcknowledgement = "Durable" | "Appended" | "Volatile";

export interface WriteResult {
  acknowledgement: WriteAcknowledgement;
}

/**
 * How selectColumns builds each series' label list (by default: its labels, sorted, without the metric name, as
 * fresh objects). With any option set, the lists and their Label objects are shared between series and calls: treat
 * them as read-only.
 */
export interface ColumnLabelOptions {
  /** Also list the metric name as a `__name__` label, in sorted position. */
  metricLabel?: boolean;
  /** Leave out the label with this name (the server's tenant label). */
  omitLabel?: string;
}

export interface SelectedColumns {
  metric: string;
  labels: Label[];
  timestamps: Float64Array | BigInt64Array;
  values: Float64Array;
}

/**
 * A batch of selectBatches: whole series in WASM linear memory. Series i (labels[first + i]) is points
 * [offsets[i], offsets[i + 1]) of the f64 ms timestamps at byte address tsPtr and f64 values at vsPtr. `labels` is
 * one array for the whole read (see Storage.selectBatches).
 */
export interface ColumnArenaBatch {
  labels: Label[][];
  first: number;
  offsets: Int32Array;
  tsPtr: number;
  vsPtr: number;
}
