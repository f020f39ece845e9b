// Ingest routes: POST /api/v1/write (remote write 1.0) and POST /api/v1/import/prometheus (text exposition).
// Each request is decoded and validated whole, then written as one batch: all of it or none of it.
import type Router from "@koa/router";
import type { Context } from "koa";
import { ProtocolError } from "../../protocols/errors.js";
import { parsePrometheusText } from "../../protocols/prometheus-text.js";
import { decodeWriteRequest } from "../../protocols/remote.js";
import { type IngestRow, scaleMillis } from "../../protocols/rows.js";
import { snappyDecompress } from "../../protocols/snappy.js";
import type { ColumnBatch, Row } from "../../storage/types.js";
import { AdmissionRejected } from "../admission.js";
import { readBody } from "../body.js";
import { HttpError } from "../http-error.js";
import { type Runtime, tenantOf } from "../runtime.js";
import { enforceQuota } from "../tenant-policy.js";
import { tenantLabel } from "../tenancy.js";

type Protocol = "remote_write" | "prometheus_text";

/**
 * What a protocol's decode step hands to ingest(): the samples as rows, or as columns (ColumnBatch, the cheaper
 * path: series resolved once per key), plus response headers and a hook run after the insert succeeded.
 */
type DecodedBody = ({ rows: IngestRow[] } | { columns: ColumnBatch }) & { headers?: Record<string, string>; after?: () => void };

const WRITE_ERROR_HEADER = "X-Tsink-Write-Error-Code";

/** Maps protocol, admission and storage failures of a write to the contract's status codes. */
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

function unsupportedFeature(what: string, count: number, envVar: string, enabled: boolean): HttpError {
  const why = enabled ? "this build has no store for them yet" : `${envVar} is false`;
  return new HttpError(422, `request carries ${count} ${what}, which are not accepted: ${why}`);
}

function checkContentType(ctx: Context, allowed: (type: string) => boolean, expected: string): void {
  const type = ctx.get("content-type").split(";")[0]!.trim().toLowerCase();
  if (type && !allowed(type)) {
    throw new HttpError(415, `unsupported Content-Type ${JSON.stringify(ctx.get("content-type"))}: expected ${expected}`);
  }
}

export function registerIngestRoutes(router: Router, rt: Runtime): void {
  const { limits, features, timestampPrecision } = rt.config;

  /** Runs one ingest request: admission, body, `decode` (which stamps the tenant label), one atomic insert. */
  async function ingest(
    ctx: Context,
    protocol: Protocol,
    tenant: string,
    decode: (body: Buffer) => DecodedBody,
  ): Promise<void> {
    const quota = rt.config.tenantPolicies.quotas(tenant).maxWriteRowsPerRequest;
    const tenantGate = rt.tenantGate(tenant, "write");
    try {
      const admitted = <T>(fn: () => Promise<T>) => (tenantGate ? tenantGate.withRequest(() => rt.writeGate.withRequest(fn)) : rt.writeGate.withRequest(fn));
      await admitted(async () => {
        const storage = rt.storage();
        const body = await readBody(ctx, limits.maxBodyBytes);
        const decoded = decode(body);
        const count = "rows" in decoded ? decoded.rows.length : decoded.columns.count;
        enforceQuota("maxWriteRowsPerRequest", quota, count, { json: false, headers: { [WRITE_ERROR_HEADER]: "write_resource_limit_exceeded" } });
        if (count > 0) {
          await rt.writeGate.withUnits(count, async () => {
            if ("rows" in decoded) await storage.insertRows(decoded.rows as Row[]);
            else await storage.insertColumns(decoded.columns);
          });
        }
        decoded.after?.();
        rt.metrics.ingestSamples.inc({ protocol }, count);
        for (const [k, v] of Object.entries(decoded.headers ?? {})) ctx.set(k, v);
      });
      ctx.status = 200;
      ctx.body = "";
    } catch (err) {
      const failure = writeFailure(err);
      if (err instanceof AdmissionRejected) rt.metrics.admissionRejections.inc({ surface: "write", reason: err.reason });
      rt.metrics.ingestRejected.inc({ protocol, reason: failure ? String(failure.status) : "internal" });
      throw failure ?? err;
    } finally {
      rt.metrics.ingestRequests.inc({ protocol, code: String(ctx.status) });
    }
  }

  router.post("/api/v1/write", async (ctx) => {
    const encoding = ctx.get("content-encoding").trim().toLowerCase();
    if (encoding && encoding !== "snappy") {
      throw new HttpError(415, `unsupported Content-Encoding ${JSON.stringify(encoding)}: remote write bodies are snappy block-compressed`);
    }
    checkContentType(ctx, (t) => t === "application/x-protobuf", "application/x-protobuf");
    const proto = /;\s*proto=([^;\s]+)/i.exec(ctx.get("content-type"))?.[1];
    if (proto && proto !== "prometheus.WriteRequest") {
      // Remote write 2.0 senders fall back to 1.0 on 415.
      throw new HttpError(415, `unsupported remote write message ${JSON.stringify(proto)}: this server speaks remote write 1.0 (prometheus.WriteRequest)`);
    }
    const tenant = tenantOf(ctx);
    await ingest(ctx, "remote_write", tenant, (body) => {
      const decoded = decodeWriteRequest(snappyDecompress(body, limits.maxDecompressedBodyBytes), timestampPrecision, tenantLabel(tenant));
      if (decoded.exemplarCount > 0) {
        rt.metrics.exemplarsRejected.inc(decoded.exemplarCount);
        rt.metrics.payloads.inc({ kind: "exemplars", outcome: "rejected" }, decoded.exemplarCount);
        throw unsupportedFeature("exemplars", decoded.exemplarCount, "TSINK_REMOTE_WRITE_EXEMPLARS_ENABLED", features.exemplarsEnabled);
      }
      if (decoded.histogramCount > 0) {
        rt.metrics.payloads.inc({ kind: "histograms", outcome: "rejected" }, decoded.histogramCount);
        throw unsupportedFeature("native histogram samples", decoded.histogramCount, "TSINK_REMOTE_WRITE_HISTOGRAMS_ENABLED", features.histogramsEnabled);
      }
      if (decoded.metadata.length > 0 && !features.metadataEnabled) {
        rt.metrics.payloads.inc({ kind: "metadata", outcome: "rejected" }, decoded.metadata.length);
        throw new HttpError(422, `request carries ${decoded.metadata.length} metadata updates, but TSINK_REMOTE_WRITE_METADATA_ENABLED is false`);
      }
      if (decoded.metadata.length > features.maxMetadataUpdates) {
        rt.metrics.payloads.inc({ kind: "metadata", outcome: "rejected" }, decoded.metadata.length);
        throw new HttpError(413, `request carries ${decoded.metadata.length} metadata updates, more than the limit of ${features.maxMetadataUpdates}`, {
          headers: { [WRITE_ERROR_HEADER]: "write_resource_limit_exceeded" },
        });
      }
      const headers: Record<string, string> = {};
      return {
        columns: decoded.samples,
        headers,
        after: () => {
          if (decoded.metadata.length === 0) return;
          rt.metrics.payloads.inc({ kind: "metadata", outcome: "accepted" }, decoded.metadata.length);
          headers["X-Tsink-Metadata-Applied"] = String(rt.metadata.apply(tenant, decoded.metadata));
        },
      };
    });
  });

  router.post("/api/v1/import/prometheus", async (ctx) => {
    checkContentType(
      ctx,
      (t) =>
        t.startsWith("text/") || ["application/openmetrics-text", "application/octet-stream", "application/x-www-form-urlencoded"].includes(t),
      "text/plain",
    );
    const tenant = tenantOf(ctx);
    await ingest(ctx, "prometheus_text", tenant, (body) => {
      const parsed = parsePrometheusText(body, scaleMillis(Date.now(), timestampPrecision), tenantLabel(tenant));
      if (parsed.exemplarCount > 0) {
        rt.metrics.exemplarsRejected.inc(parsed.exemplarCount);
        rt.metrics.payloads.inc({ kind: "exemplars", outcome: "rejected" }, parsed.exemplarCount);
        throw unsupportedFeature("exemplars", parsed.exemplarCount, "TSINK_REMOTE_WRITE_EXEMPLARS_ENABLED", features.exemplarsEnabled);
      }
      return { rows: parsed.rows };
    });
  });
}
