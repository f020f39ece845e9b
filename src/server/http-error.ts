// The one error type route handlers throw: HTTP status, message, extra headers, and whether the body is the
// Prometheus JSON error envelope (API routes) or plain text (ingest, probes).
export class HttpError extends Error {
  constructor(
    readonly status: number,
    message: string,
    readonly options: { errorType?: string; headers?: Record<string, string>; json?: boolean } = {},
  ) {
    super(message);
    this.name = "HttpError";
  }

  /** 400 with errorType bad_data (Prometheus request validation). */
  static badData(message: string): HttpError {
    return new HttpError(400, message, { errorType: "bad_data", json: true });
  }
}
