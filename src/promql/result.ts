// PromQL query results and errors as returned by PromqlEngine (the shape the HTTP server serialises).
// Timestamps are Unix milliseconds; label lists are sorted by name.

export interface Label {
  name: string;
  value: string;
}

export interface InstantSample {
  labels: Label[];
  timestamp: number;
  value: number;
}

export interface RangeSeries {
  labels: Label[];
  timestamps: Float64Array;
  values: Float64Array;
}

/**
 * Prometheus' annotations of a query (e.g. "PromQL info: metric might not be a counter, ..."), each ending in the
 * "(line:column)" of the expression it concerns; empty when there are none.
 */
export interface QueryAnnotations {
  warnings: string[];
  infos: string[];
}

/** The value of a query result, as Prometheus' `data` object. */
export type QueryData =
  | { resultType: "scalar"; value: [number, number] }
  | { resultType: "string"; value: [number, string] }
  | { resultType: "vector"; result: InstantSample[] }
  | { resultType: "matrix"; result: RangeSeries[] };

export type QueryResult = QueryData & QueryAnnotations;

/** Prometheus' API errorType strings. */
export type PromqlErrorType = "bad_data" | "execution" | "timeout" | "canceled" | "internal";

export class PromqlError extends Error {
  readonly errorType: PromqlErrorType;
  constructor(errorType: PromqlErrorType, message: string) {
    super(message);
    this.name = "PromqlError";
    this.errorType = errorType;
  }
}
