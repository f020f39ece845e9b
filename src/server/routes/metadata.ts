// Metadata reads: /api/v1/series, /api/v1/labels, /api/v1/label/{name}/values, /api/v1/metadata,
// /api/v1/query_exemplars, /api/v1/status/tsdb and /api/v1/status/buildinfo, all scoped to the request's tenant.
import type Router from "@koa/router";
import type { Context } from "koa";
import { METRIC_NAME_LABEL, TENANT_LABEL, compareLabels, isValidLabelName } from "../../protocols/series-validation.js";
import type { SeriesSelection } from "../../storage/types.js";
import { HttpError } from "../http-error.js";
import { parseLimitParam, parseTimeParam, requireParam } from "../params.js";
import { formatTimestamp, labelsJson, successJson } from "../prometheus-json.js";
import { exemplarSelectors, parseMatchSelector } from "../promql.js";
import { toMillis } from "../../protocols/timestamp-precision.js";
import { type Runtime, requestParams, sendJson, tenantOf } from "../runtime.js";
import { msToStorage, scopeSelection, stripTenantLabel } from "../tenancy.js";
import { enforceQuota } from "../tenant-policy.js";
import { guardedRead } from "./read-support.js";
import { selectionFromMatchers } from "./selectors.js";
import { tsdbStatus } from "./status.js";

const TRUNCATED_WARNING = "results truncated due to limit";

export function registerMetadataRoutes(router: Router, rt: Runtime): void {
  const { limits, timestampPrecision } = rt.config;

  /** One tenant-scoped selection per `match[]` (or one for everything), with the optional start/end range. */
  function selections(params: URLSearchParams, tenant: string, matchRequired: boolean): SeriesSelection[] {
    const matches = params.getAll("match[]");
    if (matchRequired && matches.length === 0) throw HttpError.badData("no match[] parameter provided");
    enforceQuota("maxMetadataMatchersPerRequest", rt.config.tenantPolicies.quotas(tenant).maxMetadataMatchersPerRequest, matches.length, { json: true });
    const range: Pick<SeriesSelection, "start" | "end"> = {};
    const startRaw = params.get("start");
    const endRaw = params.get("end");
    const startMs = startRaw ? parseTimeParam("start", startRaw) : undefined;
    const endMs = endRaw ? parseTimeParam("end", endRaw) : undefined;
    if (startMs !== undefined && endMs !== undefined && endMs < startMs) {
      throw HttpError.badData(`invalid parameter "end": end timestamp must not be before start time`);
    }
    if (startMs !== undefined) range.start = msToStorage(startMs, timestampPrecision);
    // Prometheus' end is inclusive; storage ranges are half-open.
    if (endMs !== undefined) range.end = msToStorage(endMs + 1, timestampPrecision);
    if (startMs !== undefined && endMs === undefined) range.end = msToStorage(8.64e15, timestampPrecision);
    if (endMs !== undefined && startMs === undefined) range.start = msToStorage(-8.64e15, timestampPrecision);
    const bases = matches.length === 0 ? [{}] : matches.map((m) => selectionFromMatchers(parseMatchSelector(m)));
    return bases.map((b) => scopeSelection({ ...b, ...range }, tenant));
  }

  function limited<T>(items: T[], params: URLSearchParams): { items: T[]; warnings: string[] } {
    const limit = parseLimitParam("limit", params.get("limit"));
    if (limit !== undefined && items.length > limit) return { items: items.slice(0, limit), warnings: [TRUNCATED_WARNING] };
    return { items, warnings: [] };
  }

  async function series(ctx: Context): Promise<void> {
    const tenant = tenantOf(ctx);
    const params = await requestParams(ctx, limits.maxBodyBytes);
    await guardedRead(rt, ctx, tenant, "series", true, async (reads) => {
      const sels = selections(params, tenant, true);
      const storage = rt.storage();
      const found = await reads.withUnits(sels.length, () => Promise.all(sels.map((s) => storage.selectSeries(s))));
      const byKey = new Map<string, string>();
      for (const list of found) {
        for (const s of list) {
          const labels = [{ name: METRIC_NAME_LABEL, value: s.name }, ...stripTenantLabel(s.labels)].sort(compareLabels);
          const json = labelsJson(labels);
          byKey.set(json, json);
        }
      }
      const { items, warnings } = limited([...byKey.keys()].sort(), params);
      sendJson(ctx, successJson(`[${items.join(",")}]`, warnings));
    });
  }

  async function labelNames(ctx: Context): Promise<void> {
    const tenant = tenantOf(ctx);
    const params = await requestParams(ctx, limits.maxBodyBytes);
    await guardedRead(rt, ctx, tenant, "labels", true, async (reads) => {
      const sels = selections(params, tenant, false);
      const storage = rt.storage();
      const found = await reads.withUnits(sels.length, () => Promise.all(sels.map((s) => storage.labelNames(s))));
      const names = new Set<string>();
      for (const list of found) for (const n of list) if (n !== TENANT_LABEL) names.add(n);
      const { items, warnings } = limited([...names].sort(), params);
      sendJson(ctx, successJson(JSON.stringify(items), warnings));
    });
  }

  async function labelValues(ctx: Context, name: string): Promise<void> {
    const tenant = tenantOf(ctx);
    const params = await requestParams(ctx, limits.maxBodyBytes);
    await guardedRead(rt, ctx, tenant, "label_values", true, async (reads) => {
      if (!isValidLabelName(name)) throw HttpError.badData(`invalid label name: ${JSON.stringify(name)}`);
      const sels = selections(params, tenant, false);
      const storage = rt.storage();
      const values = new Set<string>();
      if (name !== TENANT_LABEL) {
        const found = await reads.withUnits(sels.length, () => Promise.all(sels.map((s) => storage.labelValues(name, s))));
        for (const list of found) for (const v of list) values.add(v);
      }
      const { items, warnings } = limited([...values].sort(), params);
      sendJson(ctx, successJson(JSON.stringify(items), warnings));
    });
  }

  router.get("/api/v1/series", series);
  router.post("/api/v1/series", series);
  router.get("/api/v1/labels", labelNames);
  router.post("/api/v1/labels", labelNames);
  router.get("/api/v1/label/:name/values", (ctx) => labelValues(ctx, ctx.params.name!));

  router.get("/api/v1/metadata", async (ctx) => {
    const tenant = tenantOf(ctx);
    await guardedRead(rt, ctx, tenant, "metadata", true, async () => {
      const params = new URLSearchParams(ctx.querystring);
      const limit = parseLimitParam("limit", params.get("limit"), 10_000) ?? 1000;
      const metric = params.get("metric") || undefined;
      sendJson(ctx, successJson(JSON.stringify(rt.metadata.list(tenant, metric, limit))));
    });
  });

  async function exemplars(ctx: Context): Promise<void> {
    const tenant = tenantOf(ctx);
    const params = await requestParams(ctx, limits.maxBodyBytes);
    await guardedRead(rt, ctx, tenant, "query_exemplars", true, async () => {
      const store = rt.exemplars;
      const selectors = exemplarSelectors(requireParam(params, "query"), store.limits.maxQuerySelectors);
      const startRaw = params.get("start");
      const endRaw = params.get("end");
      const startMs = startRaw ? parseTimeParam("start", startRaw) : -8.64e15;
      const endMs = endRaw ? parseTimeParam("end", endRaw) : 8.64e15;
      if (endMs < startMs) throw HttpError.badData(`invalid parameter "end": end timestamp must not be before start time`);
      // limit: default and maximum max_query_results (1000), echoed in X-Tsink-Exemplar-Limit.
      const max = store.limits.maxQueryResults;
      const limit = parseLimitParam("limit", params.get("limit"), max) ?? max;
      ctx.set("X-Tsink-Exemplar-Limit", String(limit));
      // [start, end] inclusive, in storage precision (msToStorage rounds a start up; the end is inclusive, so its bound is end + 1 ms, exclusive)
      const start = msToStorage(startMs, timestampPrecision);
      const endExclusive = msToStorage(endMs + 1, timestampPrecision);
      const result = store.query(tenant, selectors, start, endExclusive, limit, (ts) => formatTimestamp(toMillis(ts, timestampPrecision)));
      rt.metrics.exemplarQueries.inc();
      rt.metrics.exemplarQuerySeries.inc(result.series);
      rt.metrics.exemplarQueryResults.inc(result.exemplars);
      sendJson(ctx, successJson(result.json));
    });
  }
  router.get("/api/v1/query_exemplars", exemplars);
  router.post("/api/v1/query_exemplars", exemplars);

  router.get("/api/v1/status/tsdb", async (ctx) => {
    const tenant = tenantOf(ctx);
    await guardedRead(rt, ctx, tenant, "status_tsdb", true, async () => {
      sendJson(ctx, successJson(JSON.stringify(await tsdbStatus(rt, tenant))));
    });
  });

  router.get("/api/v1/status/buildinfo", (ctx) => {
    sendJson(
      ctx,
      successJson(
        JSON.stringify({
          version: rt.version,
          revision: "",
          branch: "",
          buildUser: "",
          buildDate: "",
          goVersion: `node${process.versions.node}`,
          application: "tsink",
        }),
      ),
    );
  });
}
