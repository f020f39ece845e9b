// TsinkError: the one error class of the library, with a stable `code` per kind (the reference's list)
// and the offending values in `details`. Also converts errors from lower layers into TsinkError.

export type TsinkErrorCode =
  // limits
  | "MemoryBudgetExceeded"
  | "CardinalityLimitExceeded"
  | "WalSizeLimitExceeded"
  | "WriteTimeout"
  | "LateWritePartitionFanoutExceeded"
  | "InsufficientDiskSpace"
  // validation
  | "InvalidTimeRange"
  | "MetricRequired"
  | "InvalidMetricName"
  | "InvalidLabel"
  | "InvalidTimestamp"
  | "InvalidValue"
  | "ValueTypeMismatch"
  | "OutOfRetention"
  | "UnsupportedAggregation"
  | "InvalidConfiguration"
  | "UnsupportedOperation"
  // lifecycle
  | "StorageClosed"
  | "StorageShuttingDown"
  // integrity
  | "DataCorruption"
  | "ChecksumMismatch"
  | "Compression"
  | "Codec"
  | "Wal"
  // plumbing
  | "Io"
  | "NoDataPoints"
  | "Other";

const KNOWN_CODES = new Set<string>([
  "MemoryBudgetExceeded", "CardinalityLimitExceeded", "WalSizeLimitExceeded", "WriteTimeout",
  "LateWritePartitionFanoutExceeded", "InsufficientDiskSpace", "InvalidTimeRange", "MetricRequired",
  "InvalidMetricName", "InvalidLabel", "InvalidTimestamp", "InvalidValue", "ValueTypeMismatch", "OutOfRetention",
  "UnsupportedAggregation", "InvalidConfiguration", "UnsupportedOperation", "StorageClosed", "StorageShuttingDown",
  "DataCorruption", "ChecksumMismatch", "Compression", "Codec", "Wal", "Io", "NoDataPoints", "Other",
]);

export class TsinkError extends Error {
  override readonly name = "TsinkError";
  constructor(
    readonly code: TsinkErrorCode,
    message: string,
    readonly details: Readonly<Record<string, unknown>> = {},
    options?: { cause?: unknown },
  ) {
    super(message, options);
  }

  /** Wraps any error thrown by a lower layer; errors that already carry a known `code` keep it. */
  static from(err: unknown): TsinkError {
    if (err instanceof TsinkError) return err;
    if (err instanceof Error) {
      const code = (err as { code?: unknown }).code;
      const details = (err as { details?: Record<string, unknown> }).details ?? {};
      if (typeof code === "string" && KNOWN_CODES.has(code)) {
        return new TsinkError(code as TsinkErrorCode, err.message, details, { cause: err });
      }
      if (typeof code === "string" && code.startsWith("E")) {
        return new TsinkError("Io", `${err.message} (check the data path and its permissions)`, { errno: code }, { cause: err });
      }
      return new TsinkError("Other", err.message, {}, { cause: err });
    }
    return new TsinkError("Other", String(err));
  }
}

const show = (v: unknown): string => (typeof v === "bigint" ? `${v}n` : JSON.stringify(v) ?? String(v));

export const errors = {
  closed: () => new TsinkError("StorageClosed", "storage is closed: build a new storage with StorageBuilder to continue"),
  invalidTimeRange: (start: number | bigint, end: number | bigint) =>
    new TsinkError("InvalidTimeRange", `invalid time range [${show(start)}, ${show(end)}): start must be lower than end (ranges are half-open)`, { start, end }),
  metricRequired: () => new TsinkError("MetricRequired", "a metric name is required: pass a non-empty string"),
  invalidMetricName: (metric: unknown, why: string) =>
    new TsinkError("InvalidMetricName", `invalid metric name ${show(typeof metric === "string" ? metric.slice(0, 64) : metric)}: ${why}`, { metric }),
  invalidLabel: (name: unknown, why: string) =>
    new TsinkError("InvalidLabel", `invalid label ${show(typeof name === "string" ? name.slice(0, 64) : name)}: ${why}`, { name }),
  invalidTimestamp: (timestamp: unknown, why: string) =>
    new TsinkError("InvalidTimestamp", `invalid timestamp ${show(timestamp)}: ${why}`, { timestamp }),
  invalidValue: (value: unknown, why: string) =>
    new TsinkError("InvalidValue", `invalid value ${show(typeof value === "object" ? String(value) : value)}: ${why}`, { value }),
  typeMismatch: (expected: string, actual: string, metric: string) =>
    new TsinkError(
      "ValueTypeMismatch",
      `value type mismatch for series of ${show(metric)}: the series holds ${expected} values (fixed by its first write) but got ${actual}; write ${expected} values or use another series`,
      { expected, actual, metric },
    ),
  outOfRetention: (timestamp: number | bigint, cutoff: number | bigint) =>
    new TsinkError("OutOfRetention", `timestamp ${show(timestamp)} is older than the retention cutoff ${show(cutoff)}; drop the sample or raise the retention`, { timestamp, cutoff }),
  futureSkew: (timestamp: number | bigint, limit: number | bigint) =>
    new TsinkError("InvalidTimestamp", `timestamp ${show(timestamp)} is more than 15 minutes in the future (limit ${show(limit)}); check the clock and the timestamp precision`, { timestamp, limit }),
  unsupportedAggregation: (aggregation: string, valueType: string) =>
    new TsinkError("UnsupportedAggregation", `aggregation ${aggregation} is not supported for ${valueType} values; use First/Last/Count or a custom bytes aggregation`, { aggregation, valueType }),
  invalidConfiguration: (message: string, details: Record<string, unknown> = {}) => new TsinkError("InvalidConfiguration", message, details),
  memoryBudget: (budget: number, required: number) =>
    new TsinkError("MemoryBudgetExceeded", `memory budget exceeded: budget ${budget} bytes, required ${required} bytes; raise withMemoryLimit, delete data or write less`, { budget, required }),
  cardinality: (limit: number) =>
    new TsinkError("CardinalityLimitExceeded", `cardinality limit of ${limit} series reached: the write would create a new series; existing series still accept writes (raise withCardinalityLimit)`, { limit }),
  writeTimeout: (timeoutMs: number, workers: number) =>
    new TsinkError("WriteTimeout", `no writer slot became free within ${timeoutMs} ms (${workers} writers busy); retry later or raise withWriteTimeout / withMaxWriters`, { timeoutMs, workers }),
};
