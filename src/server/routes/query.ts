// PromQL over HTTP: GET|POST /api/v1/query and /api/v1/query_range, with Prometheus' parameter rules,
// response shapes and error statuses (bad_data 400, execution 422, timeout 503). Range limits are the engine's.
import type Router from "@koa/router";
import type { Context } from "koa";
import type { ServerResponse } from "node:http";
import { PromqlError, type QueryResult } from "../../promql/result.js";
import { HttpError } from "../http-error.js";
import { parseDurationParam, parseTimeParam, queryParams, requireParam } from "../params.js";
import { querySuccessBody } from "../prometheus-json.js";
import { tenantEngine } from "../promql.js";
import { type Runtime, requestParams, sendJsonNow, tenantOf } from "../runtime.js";
import { enforceQuota } from "../tenant-policy.js";
import { guardedRead } from "./read-support.js";

const STATUS_BY_ERROR_TYPE: Record<string, number> = { bad_data: 400, execution: 422, timeout: 503, canceled: 499, internal: 500 };

function promqlFailure(err: unknown): HttpError | undefined {
  if (err instanceof PromqlError) {
    return new HttpError(STATUS_BY_ERROR_TYPE[err.errorType] ?? 500, err.message, { errorType: err.errorType, json: true });
  }
  return undefined;
}

/**
 * The evaluation's cancel signal: set once the client's connection closed before the answer (Node marks the response
 * destroyed when its socket closes). Read by the evaluator between AST nodes and read batches; unlike an
 * AbortController and a `close` listener per request, it costs nothing until then.
 */
class ClientGone {
  constructor(private readonly res: ServerResponse) {}

  get aborted(): boolean {
    return this.res.destroyed;
  }
}

const JSON_ERRORS = { json: true };

export function registerQueryRoutes(router: Router, rt: Runtime): void {
  const maxBody = rt.config.limits.maxBodyBytes;
  const policies = rt.config.tenantPolicies;

  async function run(ctx: Context, endpoint: "query" | "query_range"): Promise<void> {
    const tenant = tenantOf(ctx);
    const params = ctx.method === "POST" ? await requestParams(ctx, maxBody) : queryParams(ctx.querystring);
    await guardedRead(rt, ctx, tenant, endpoint, true, async (reads) => {
      const query = requireParam(params, "query");
      const quotas = policies.quotas(tenant);
      if (quotas.maxQueryLengthBytes !== undefined) enforceQuota("maxQueryLengthBytes", quotas.maxQueryLengthBytes, Buffer.byteLength(query), JSON_ERRORS);
      const timeoutRaw = params.get("timeout");
      const timeoutMs = timeoutRaw ? parseDurationParam("timeout", timeoutRaw) : undefined;
      const lookbackRaw = params.get("lookback_delta");
      const lookbackDeltaMs = lookbackRaw ? parseDurationParam("lookback_delta", lookbackRaw) : undefined;
      if (lookbackDeltaMs !== undefined && lookbackDeltaMs <= 0) throw HttpError.badData(`invalid parameter "lookback_delta": must be positive`);
      const engine = tenantEngine(rt, tenant, timeoutMs, lookbackDeltaMs);
      // A client that goes away before the answer cancels the evaluation (it yields to the event loop to notice).
      const options = { signal: new ClientGone(ctx.res) };
      let result: QueryResult;
      try {
        if (endpoint === "query") {
          const timeRaw = params.get("time");
          const timeMs = timeRaw ? parseTimeParam("time", timeRaw) : Date.now();
          result = await reads.withUnits(1, () => engine.instantQuery(query, timeMs, options));
        } else {
          const startMs = parseTimeParam("start", requireParam(params, "start"));
          const endMs = parseTimeParam("end", requireParam(params, "end"));
          const stepMs = parseDurationParam("step", requireParam(params, "step"));
          if (stepMs > 0 && endMs >= startMs) {
            enforceQuota("maxRangePointsPerQuery", quotas.maxRangePointsPerQuery, Math.floor((endMs - startMs) / stepMs) + 1, JSON_ERRORS);
          }
          result = await reads.withUnits(1, () => engine.rangeQuery(query, startMs, endMs, stepMs, options));
        }
      } catch (err) {
        throw promqlFailure(err) ?? err;
      }
      sendJsonNow(ctx, querySuccessBody(result));
    });
  }

  router.get("/api/v1/query", (ctx) => run(ctx, "query"));
  router.post("/api/v1/query", (ctx) => run(ctx, "query"));
  router.get("/api/v1/query_range", (ctx) => run(ctx, "query_range"));
  router.post("/api/v1/query_range", (ctx) => run(ctx, "query_range"));
}
