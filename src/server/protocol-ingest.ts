// The one write path of every protocol (remote write, text import, Influx line protocol, OTLP, StatsD, Graphite):
// write admission (global and per tenant), the tenant's row quota, one atomic insert, metadata and exemplars, the
// tsink_ingest_* metrics and the mapping of failures to HTTP statuses. Plus request bodies with gzip/deflate Content-Encoding.
import { promisify } from "node:util";
import { gunzip, inflate } from "node:zlib";
import type { Context } from "koa";
import { ProtocolError } from "../protocols/errors.js";
import type { DecodedExemplar } from "../protocols/exemplars.js";
import type { MetricMetadataUpdate } from "../protocols/remote.js";
import type { SampleColumns } from "../storage/types.js";
import { AdmissionRejected } from "./admission.js";
import { type BodyBufferPool, readBody } from "./body.js";
import { noteWrite } from "./buffer-gc.js";
import type { ExemplarOutcome } from "./exemplar-store.js";
import { HttpError } from "./http-error.js";
import type { Runtime } from "./runtime.js";
import { enforceQuota } from "./tenant-policy.js";

export type IngestProtocol = "remote_write" | "prometheus_text" | "influx_line" | "otlp" | "statsd" | "graphite";

export const WRITE_ERROR_HEADER = "X-Tsink-Write-Error-Code";

/**
 * What a protocol's decoder hands to `ingest`: one atomic batch of f64 samples in columns (storage's
 * SampleColumns: series named by SeriesKeys that storage resolves once) and what goes with it.
 */
export interface DecodedWrite {
  columns: SampleColumns;
  /** Metric metadata recorded for the tenant once the samples are stored. */
  metadata?: MetricMetadataUpdate[];
  /**
   * Exemplars for the exemplar store: more than its per-request limit refuses the whole write (413); else they are
   * stored once the samples are, and on disk before `ingest` resolves. `ingest` sets `exemplarOutcome`.
   */
  exemplars?: readonly DecodedExemplar[];
  exemplarOutcome?: ExemplarOutcome;
  /** Runs once the samples are stored (response headers, StatsD gauge state, ...). */
  after?: () => void;
  /** Runs once storage is done with the batch, stored or not (hands pooled columns back to their decoder). */
  release?: () => void;
}

export interface IngestSource {
  protocol: IngestProtocol;
  tenant: string;
  /**
   * "request" (HTTP): a global request slot, the tenant's in-flight write budget and its maxWriteRowsPerRequest
   * quota, as the contract asks of all HTTP ingestion. "stream" (a StatsD packet, a batch of Graphite lines):
   * only the global in-flight row budget; packets and TCP reads are not requests the quotas speak of.
   */
  kind: "request" | "stream";
  /** The status counted in tsink_ingest_requests_total on success ("200", Influx "204"). */
  okCode?: string;
}

/**
 * Runs one write: admission, `decode` (which reads the body, so it runs inside the admission slot, and stamps the
 * tenant label), the tenant quota, one atomic insert (all rows or none), metadata, `after`, metrics. Resolves with
 * the decoded write once stored; rejects with the HttpError the failure maps to (already counted and logged).
 */
export async function ingest<T extends DecodedWrite>(rt: Runtime, src: IngestSource, decode: () => T | Promise<T>): Promise<T> {
  const { protocol, tenant } = src;
  noteWrite();
  const store = async (): Promise<T> => {
    const storage = rt.storage();
    const decoded = await decode();
    const count = decoded.columns.count;
    const exemplars = decoded.exemplars?.length ?? 0;
    try {
      if (exemplars > rt.exemplars.limits.maxPerRequest) {
        rt.metrics.exemplarsRejected.inc(exemplars);
        rt.metrics.payloads.inc({ kind: "exemplars", outcome: "rejected" }, exemplars);
        throw new HttpError(413, `request carries ${exemplars} exemplars, more than the limit of ${rt.exemplars.limits.maxPerRequest}`, {
          headers: { [WRITE_ERROR_HEADER]: "write_resource_limit_exceeded" },
        });
      }
      if (src.kind === "request") {
        enforceQuota("maxWriteRowsPerRequest", rt.config.tenantPolicies.quotas(tenant).maxWriteRowsPerRequest, count, {
          json: false, headers: { [WRITE_ERROR_HEADER]: "write_resource_limit_exceeded" },
        });
      }
      if (count > 0) {
        await rt.writeGate.withUnits(count, async () => {
          await storage.insertColumns(decoded.columns);
        });
      }
    } finally {
      decoded.release?.();
    }
    if (decoded.metadata && decoded.metadata.length > 0) rt.metadata.apply(tenant, decoded.metadata);
    if (exemplars > 0) {
      const outcome = (decoded.exemplarOutcome = rt.exemplars.insert(decoded.exemplars!));
      rt.metrics.exemplarsAccepted.inc(outcome.accepted);
      rt.metrics.exemplarsDropped.inc(outcome.dropped);
      rt.metrics.payloads.inc({ kind: "exemplars", outcome: "accepted" }, outcome.accepted);
      await rt.exemplars.persisted();
    }
    decoded.after?.();
    rt.metrics.ingestSamples.inc({ protocol }, count);
    return decoded;
  };
  try {
    let result: T;
    if (src.kind === "stream") result = await store();
    else {
      const tenantGate = rt.tenantGate(tenant, "write");
      const admitted = () => rt.writeGate.withRequest(store);
      result = await (tenantGate ? tenantGate.withRequest(admitted) : admitted());
    }
    rt.metrics.ingestRequests.inc({ protocol, code: src.okCode ?? "200" });
    return result;
  } catch (err) {
    throw countRejected(rt, protocol, err);
  }
}

/** Counts one refused request/packet/line in tsink_ingest_* and returns the HttpError its failure maps to. */
export function countRejected(rt: Runtime, protocol: IngestProtocol, err: unknown): HttpError {
  let failure = writeFailure(err);
  if (!failure) {
    rt.logger.error({ err, protocol }, "ingest failed with an unexpected error");
    failure = new HttpError(500, `internal error: ${err instanceof Error ? err.message : String(err)}`);
  } else if (failure.status >= 500) rt.logger.warn({ protocol, status: failure.status, err: failure.message }, "ingest refused");
  if (err instanceof AdmissionRejected) rt.metrics.admissionRejections.inc({ surface: "write", reason: err.reason });
  rt.metrics.ingestRejected.inc({ protocol, reason: String(failure.status) });
  rt.metrics.ingestRequests.inc({ protocol, code: String(failure.status) });
  return failure;
}

/** Maps protocol, admission and storage failures of a write to the contract's status codes (undefined: a bug). */
export function writeFailure(err: unknown): HttpError | undefined {
  if (err instanceof HttpError) return err;
  if (err instanceof ProtocolError) {
    return new HttpError(err.kind === "too_large" ? 413 : err.kind === "unsupported" ? 422 : 400, err.message);
  }
  if (err instanceof AdmissionRejected) {
    return err.reason === "overloaded"
      ? new HttpError(503, err.message, { headers: { [WRITE_ERROR_HEADER]: "write_overloaded", "Retry-After": "1" } })
      : new HttpError(413, err.message, { headers: { [WRITE_ERROR_HEADER]: "write_resource_limit_exceeded" } });
  }
  const code = (err as { code?: unknown }).code;
  if (!(err instanceof Error) || typeof code !== "string") return undefined;
  switch (code) {
    case "OutOfRetention":
      return new HttpError(422, err.message, { headers: { [WRITE_ERROR_HEADER]: "write_out_of_retention" } });
    case "MemoryBudgetExceeded":
    case "WriteTimeout":
    case "StorageShuttingDown":
      return new HttpError(503, err.message, { headers: { [WRITE_ERROR_HEADER]: "write_overloaded", "Retry-After": "1" } });
    case "CardinalityLimitExceeded":
    case "WalSizeLimitExceeded":
    case "InsufficientDiskSpace":
      return new HttpError(413, err.message, { headers: { [WRITE_ERROR_HEADER]: "write_resource_limit_exceeded" } });
    case "InvalidMetricName":
    case "InvalidLabel":
    case "InvalidTimestamp":
    case "InvalidValue":
    case "ValueTypeMismatch":
    case "MetricRequired":
    case "LateWritePartitionFanoutExceeded":
      return new HttpError(400, err.message);
    default:
      return undefined;
  }
}

const gunzipAsync = promisify(gunzip);
const inflateAsync = promisify(inflate);

/**
 * Reads the body, undoing `Content-Encoding: gzip|deflate|identity` with the decompressed-size limit; 415 otherwise.
 * With a pool, an identity body may be a pooled buffer: the caller gives it back (`pool.release`) when done.
 */
export async function readEncodedBody(ctx: Context, rt: Runtime, pool?: BodyBufferPool): Promise<Buffer> {
  const encoding = ctx.get("content-encoding").trim().toLowerCase();
  const { maxBodyBytes, maxDecompressedBodyBytes } = rt.config.limits;
  const body = await readBody(ctx, maxBodyBytes, false, pool);
  if (encoding === "" || encoding === "identity") return body;
  if (encoding !== "gzip" && encoding !== "x-gzip" && encoding !== "deflate") {
    pool?.release(body);
    throw new HttpError(415, `unsupported Content-Encoding ${JSON.stringify(encoding)}: send gzip, deflate or identity`);
  }
  try {
    return await (encoding === "deflate" ? inflateAsync : gunzipAsync)(body, { maxOutputLength: maxDecompressedBodyBytes });
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === "ERR_BUFFER_TOO_LARGE" || err instanceof RangeError) {
      throw new HttpError(413, `decompressed body exceeds the limit of ${maxDecompressedBodyBytes} bytes`);
    }
    throw new HttpError(400, `invalid ${encoding} body: ${(err as Error).message}`);
  } finally {
    pool?.release(body);
  }
}
