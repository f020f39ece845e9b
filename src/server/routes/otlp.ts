// OTLP/HTTP metrics: POST /v1/metrics with a protobuf (application/x-protobuf or application/protobuf) or OTLP/JSON
// (application/json) ExportMetricsServiceRequest, gzip or not; the points' exemplars go to the exemplar store (through
// `ingest`, more than 512 → 413). 200 with ExportMetricsServiceResponse as JSON; 415
// for other content types, 422 when TSINK_OTLP_METRICS_ENABLED=false, 400 for any invalid point (nothing stored).
// Error bodies are google.rpc.Status as OTLP/HTTP asks: protobuf for protobuf requests, JSON otherwise.
import type Router from "@koa/router";
import { decodeOtlpJson, decodeOtlpProtobuf, otlpToColumns } from "../../protocols/otlp.js";
import { RpcStatus } from "../../protocols/otlp-proto.js";
import { HttpError } from "../http-error.js";
import { ingest, readEncodedBody } from "../protocol-ingest.js";
import { type Runtime, sendJson, tenantOf } from "../runtime.js";
import { tenantLabel } from "../tenancy.js";

const PROTOBUF_TYPES = new Set(["application/x-protobuf", "application/protobuf"]);

/** gRPC status codes for the HTTP statuses this route answers with. */
const GRPC_CODES: Record<number, number> = { 400: 3, 413: 8, 415: 3, 422: 9, 429: 8, 500: 13, 503: 14 };

export function registerOtlpRoute(router: Router, rt: Runtime): void {
  const { protocols, timestampPrecision } = rt.config;

  router.post("/v1/metrics", async (ctx) => {
    const type = ctx.get("content-type").split(";")[0]!.trim().toLowerCase();
    const json = type === "application/json";
    try {
      const tenant = tenantOf(ctx);
      await ingest(rt, { protocol: "otlp", tenant, kind: "request" }, async () => {
        if (!protocols.otlpEnabled) throw new HttpError(422, "OTLP metrics ingest is disabled (TSINK_OTLP_METRICS_ENABLED=false)");
        if (!json && !PROTOBUF_TYPES.has(type)) {
          throw new HttpError(415, `unsupported Content-Type ${JSON.stringify(ctx.get("content-type"))}: expected application/x-protobuf, application/protobuf or application/json`);
        }
        const body = await readEncodedBody(ctx, rt);
        const request = json ? decodeOtlpJson(body.toString("utf8")) : decodeOtlpProtobuf(body);
        return otlpToColumns(request, timestampPrecision, tenantLabel(tenant));
      });
    } catch (err) {
      const failure = err instanceof HttpError ? err : new HttpError(500, String(err));
      for (const [k, v] of Object.entries(failure.options.headers ?? {})) ctx.set(k, v);
      const status = { code: GRPC_CODES[failure.status] ?? 2, message: failure.message };
      ctx.status = failure.status;
      if (PROTOBUF_TYPES.has(type)) {
        ctx.type = "application/x-protobuf";
        ctx.body = Buffer.from(RpcStatus.encode(RpcStatus.fromObject(status)).finish());
      } else {
        sendJson(ctx, JSON.stringify(status), failure.status);
      }
      return;
    }
    sendJson(ctx, "{}");
  });
}
