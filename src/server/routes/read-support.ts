// Shared by every read route: global and per-tenant admission (503/413 with X-Tsink-Read-Error-Code), request
// counting and latency, and the mapping of storage errors met while reading.
import type { Context } from "koa";
import { type AdmissionGate, AdmissionRejected } from "../admission.js";
import { HttpError } from "../http-error.js";
import { type Runtime, withReadRequest } from "../runtime.js";

const READ_ERROR_HEADER = "X-Tsink-Read-Error-Code";

function readAdmissionFailure(err: AdmissionRejected, json: boolean): HttpError {
  return err.reason === "overloaded"
    ? new HttpError(503, err.message, { errorType: "unavailable", json, headers: { [READ_ERROR_HEADER]: "read_overloaded", "Retry-After": "1" } })
    : new HttpError(413, err.message, { errorType: "bad_data", json, headers: { [READ_ERROR_HEADER]: "read_resource_limit_exceeded" } });
}

/**
 * Runs a read handler of `tenant` as one read request (withReadRequest: the tenant's gate, when it has one, and the
 * global gate); the handler takes its queries (units) through the global gate it receives, `reads.withUnits(n, ...)`.
 */
export async function guardedRead(
  rt: Runtime,
  ctx: Context,
  tenant: string,
  endpoint: string,
  json: boolean,
  handler: (reads: AdmissionGate) => Promise<void>,
): Promise<void> {
  const started = performance.now();
  let failedStatus: number | undefined; // ctx.status is set from a thrown error only after this returns
  try {
    await withReadRequest(rt, tenant, handler);
  } catch (err) {
    const failure = readFailure(rt, err, json);
    failedStatus = failure instanceof HttpError ? failure.status : 500;
    throw failure;
  } finally {
    rt.metrics.queryRequests.inc({ endpoint, code: String(failedStatus ?? ctx.status) });
    rt.metrics.queryDuration.observe({ endpoint }, (performance.now() - started) / 1000);
  }
}

/** The error a read failure is answered with. */
function readFailure(rt: Runtime, err: unknown, json: boolean): unknown {
  if (err instanceof AdmissionRejected) {
    rt.metrics.admissionRejections.inc({ surface: "read", reason: err.reason });
    return readAdmissionFailure(err, json);
  }
  if (err instanceof HttpError && json && !err.options.json) {
    return new HttpError(err.status, err.message, { ...err.options, errorType: err.options.errorType ?? "bad_data", json: true });
  }
  const code = (err as { code?: unknown }).code;
  if (err instanceof Error && !(err instanceof HttpError) && typeof code === "string") {
    if (code === "InvalidTimeRange") return new HttpError(400, err.message, { errorType: "bad_data", json });
    if (code === "StorageClosed" || code === "StorageShuttingDown") return new HttpError(503, err.message, { errorType: "unavailable", json });
    return new HttpError(422, err.message, { errorType: "execution", json });
  }
  return err;
}
