// Storing the rows of the Influx, OTLP, StatsD and Graphite front ends: write admission, one atomic insert, the
// metadata store and the tsink_ingest_* counters; plus request bodies with gzip/deflate Content-Encoding.
import { promisify } from "node:util";
import { gunzip, inflate } from "node:zlib";
import type { Context } from "koa";
import type { MetricMetadataUpdate } from "../protocols/remote.js";
import type { IngestRow } from "../protocols/rows.js";
import type { Row } from "../storage/types.js";
import { AdmissionRejected } from "./admission.js";
import { readBody } from "./body.js";
import { HttpError } from "./http-error.js";
import { writeFailure } from "./routes/ingest.js";
import type { Runtime } from "./runtime.js";

export type IngestProtocol = "influx_line" | "otlp" | "statsd" | "graphite";

const gunzipAsync = promisify(gunzip);
const inflateAsync = promisify(inflate);

/** Reads the body, undoing `Content-Encoding: gzip|deflate|identity` with the decompressed-size limit; 415 otherwise. */
export async function readEncodedBody(ctx: Context, rt: Runtime): Promise<Buffer> {
  const encoding = ctx.get("content-encoding").trim().toLowerCase();
  const { maxBodyBytes, maxDecompressedBodyBytes } = rt.config.limits;
  const body = await readBody(ctx, maxBodyBytes);
  if (encoding === "" || encoding === "identity") return body;
  if (encoding !== "gzip" && encoding !== "x-gzip" && encoding !== "deflate") {
    throw new HttpError(415, `unsupported Content-Encoding ${JSON.stringify(encoding)}: send gzip, deflate or identity`);
  }
  try {
    return await (encoding === "deflate" ? inflateAsync : gunzipAsync)(body, { maxOutputLength: maxDecompressedBodyBytes });
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === "ERR_BUFFER_TOO_LARGE" || err instanceof RangeError) {
      throw new HttpError(413, `decompressed body exceeds the limit of ${maxDecompressedBodyBytes} bytes`);
    }
    throw new HttpError(400, `invalid ${encoding} body: ${(err as Error).message}`);
  }
}

/** Stores one protocol batch atomically (all rows or none) and records its metadata. Throws as `writeFailure` maps. */
export async function storeRows(rt: Runtime, protocol: IngestProtocol, tenant: string, rows: IngestRow[], metadata: MetricMetadataUpdate[]): Promise<void> {
  const storage = rt.storage();
  await rt.writeGate.withUnits(rows.length, () => (rows.length > 0 ? storage.insertRows(rows as Row[]) : Promise.resolve()));
  if (metadata.length > 0) rt.metadata.apply(tenant, metadata);
  rt.metrics.ingestSamples.inc({ protocol }, rows.length);
}

/**
 * Counts one finished (or failed) request/packet in tsink_ingest_* and returns the HTTP-shaped failure (status,
 * message, headers) for an error; undefined on success.
 */
export function accountIngest(rt: Runtime, protocol: IngestProtocol, err: unknown, okCode = "200"): HttpError | undefined {
  if (err === undefined) {
    rt.metrics.ingestRequests.inc({ protocol, code: okCode });
    return undefined;
  }
  const failure = writeFailure(err) ?? new HttpError(500, `internal error: ${err instanceof Error ? err.message : String(err)}`);
  if (err instanceof AdmissionRejected) rt.metrics.admissionRejections.inc({ surface: "write", reason: err.reason });
  rt.metrics.ingestRejected.inc({ protocol, reason: String(failure.status) });
  rt.metrics.ingestRequests.inc({ protocol, code: String(failure.status) });
  if (failure.status >= 500) rt.logger.warn({ protocol, status: failure.status, err: failure.message }, "ingest failed");
  return failure;
}
