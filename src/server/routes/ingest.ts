// Ingest routes: POST /api/v1/write (remote write 1.0) and POST /api/v1/import/prometheus (text exposition).
// Each request is decoded and validated whole, then written as one batch through the shared `ingest` path
// (server/protocol-ingest.ts: admission, tenant quota, exemplars, metrics, error mapping): all of it or none of it.
import type Router from "@koa/router";
import type { Context } from "koa";
import { parsePrometheusText } from "../../protocols/prometheus-text.js";
import { type DecodedWriteRequest, decodeWriteRequest } from "../../protocols/remote.js";
import { scaleMillis } from "../../protocols/timestamp-precision.js";
import { snappyDecompressTransient } from "../../protocols/snappy.js";
import { readBody, readBodyChunks } from "../body.js";
import { HttpError } from "../http-error.js";
import { type DecodedWrite, WRITE_ERROR_HEADER, ingest } from "../protocol-ingest.js";
import { type Runtime, tenantOf } from "../runtime.js";
import { tenantLabel } from "../tenancy.js";

function unsupportedFeature(what: string, count: number, why: string): HttpError {
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

  /** 422 for exemplars while TSINK_REMOTE_WRITE_EXEMPLARS_ENABLED is false. */
  function checkExemplarsEnabled(count: number): void {
    if (count === 0 || features.exemplarsEnabled) return;
    rt.metrics.exemplarsRejected.inc(count);
    rt.metrics.payloads.inc({ kind: "exemplars", outcome: "rejected" }, count);
    throw unsupportedFeature("exemplars", count, "TSINK_REMOTE_WRITE_EXEMPLARS_ENABLED is false");
  }

  /** The reference's exemplar headers, on every successful write that carried exemplars. */
  function exemplarHeaders(ctx: Context, decoded: DecodedWrite): void {
    const outcome = decoded.exemplarOutcome;
    if (!outcome) return;
    ctx.set("X-Tsink-Exemplars-Accepted", String(outcome.accepted));
    ctx.set("X-Tsink-Exemplars-Dropped", String(outcome.dropped));
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
    const written = await ingest(rt, { protocol: "remote_write", tenant, kind: "request" }, async () => {
      const body = await readBodyChunks(ctx, limits.maxBodyBytes);
      // the decompressed request is a view of WASM memory: decoded right away (the columns are copies)
      const decoded = decodeWriteRequest(snappyDecompressTransient(body, limits.maxDecompressedBodyBytes), timestampPrecision, tenantLabel(tenant));
      try {
        rejectUnsupported(decoded);
      } catch (err) {
        decoded.release();
        throw err;
      }
      return {
        columns: decoded.samples,
        exemplars: decoded.exemplars,
        release: decoded.release,
        after: () => {
          if (decoded.metadata.length === 0) return;
          rt.metrics.payloads.inc({ kind: "metadata", outcome: "accepted" }, decoded.metadata.length);
          ctx.set("X-Tsink-Metadata-Applied", String(rt.metadata.apply(tenant, decoded.metadata)));
        },
      };
    });
    exemplarHeaders(ctx, written);
    ctx.status = 200;
    ctx.body = "";
  });

  /** 422/413 for what a WriteRequest may carry but this server does not store (as configured). */
  function rejectUnsupported(decoded: DecodedWriteRequest): void {
    checkExemplarsEnabled(decoded.exemplars.length);
    if (decoded.histogramCount > 0) {
      rt.metrics.payloads.inc({ kind: "histograms", outcome: "rejected" }, decoded.histogramCount);
      const why = features.histogramsEnabled ? "this build has no store for them yet" : "TSINK_REMOTE_WRITE_HISTOGRAMS_ENABLED is false";
      throw unsupportedFeature("native histogram samples", decoded.histogramCount, why);
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
  }

  router.post("/api/v1/import/prometheus", async (ctx) => {
    checkContentType(
      ctx,
      (t) =>
        t.startsWith("text/") || ["application/openmetrics-text", "application/octet-stream", "application/x-www-form-urlencoded"].includes(t),
      "text/plain",
    );
    const tenant = tenantOf(ctx);
    const written = await ingest(rt, { protocol: "prometheus_text", tenant, kind: "request" }, async () => {
      const body = await readBody(ctx, limits.maxBodyBytes);
      const parsed = parsePrometheusText(body, scaleMillis(Date.now(), timestampPrecision), tenantLabel(tenant), timestampPrecision);
      checkExemplarsEnabled(parsed.exemplars.length);
      return { columns: parsed.columns, exemplars: parsed.exemplars };
    });
    exemplarHeaders(ctx, written);
    ctx.status = 200;
    ctx.body = "";
  });
}
