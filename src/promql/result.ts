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

export type QueryResult =
  | { resultType: "scalar"; value: [number, number] }
  | { resultType: "string"; value: [number, string] }
  | { resultType: "vector"; result: InstantSample[] }
  | { resultType: "matrix"; result: RangeSeries[] };

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
