// POST /api/v1/read: Prometheus remote read, SAMPLES response only, scoped to the request's tenant.
import type Router from "@koa/router";
import { decodeReadRequest, encodeReadResponse, type ReadSeries } from "../../protocols/remote.js";
import { METRIC_NAME_LABEL, compareLabels } from "../../protocols/series-validation.js";
import { snappyCompress, snappyDecompress } from "../../protocols/snappy.js";
import { readBody } from "../body.js";
import { HttpError } from "../http-error.js";
import { type Runtime, tenantOf } from "../runtime.js";
import { msToStorage, scopeSelection, stripTenantLabel, timestampsToMillis } from "../tenancy.js";
import { writeFailure } from "../protocol-ingest.js";
import { enforceQuota } from "../tenant-policy.js";
import { guardedRead } from "./read-support.js";
import { selectionFromMatchers } from "./selectors.js";

export function registerRemoteReadRoute(router: Router, rt: Runtime): void {
  const { limits, timestampPrecision } = rt.config;
  router.post("/api/v1/read", async (ctx) => {
    const tenant = tenantOf(ctx);
    const encoding = ctx.get("content-encoding").trim().toLowerCase();
    if (encoding && encoding !== "snappy") throw new HttpError(415, `unsupported Content-Encoding ${JSON.stringify(encoding)}: expected snappy`);
    await guardedRead(rt, ctx, tenant, "remote_read", false, async (reads) => {
      const storage = rt.storage();
      let queries;
      try {
        const body = await readBody(ctx, limits.maxBodyBytes);
        queries = decodeReadRequest(snappyDecompress(body, limits.maxDecompressedBodyBytes));
      } catch (err) {
        const failure = writeFailure(err);
        // ProtocolError "unsupported" (a non-SAMPLES response type) is a bad request here, not a disabled feature.
        throw failure && failure.status === 422 ? new HttpError(400, failure.message) : (failure ?? err);
      }
      enforceQuota("maxReadQueriesPerRequest", rt.config.tenantPolicies.quotas(tenant).maxReadQueriesPerRequest, queries.length, {
        json: false,
        headers: { "X-Tsink-Read-Error-Code": "read_resource_limit_exceeded" },
      });
      const results = await reads.withUnits(queries.length, () =>
        Promise.all(
          queries.map(async (q): Promise<ReadSeries[]> => {
            const selection = scopeSelection(selectionFromMatchers(q.matchers), tenant);
            // Remote read ranges are inclusive; storage ranges are half-open.
            const columns = await storage.selectColumns(
              selection,
              msToStorage(q.startMs, timestampPrecision),
              msToStorage(q.endMs + 1, timestampPrecision),
            );
            return columns.map((c) => ({
              labels: [{ name: METRIC_NAME_LABEL, value: c.metric }, ...stripTenantLabel(c.labels)].sort(compareLabels),
              timestamps: timestampsToMillis(c.timestamps, timestampPrecision),
              values: c.values,
            }));
          }),
        ),
      );
      ctx.status = 200;
      ctx.set("Content-Type", "application/x-protobuf");
      ctx.set("Content-Encoding", "snappy");
      ctx.set("X-Prometheus-Remote-Read-Version", "0.1.0");
      ctx.body = Buffer.from(snappyCompress(encodeReadResponse(results)));
    });
  });
}
