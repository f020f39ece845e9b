// InfluxDB compatibility routes. Writes: POST /write (v1: db, rp, precision) and POST /api/v2/write (v2: bucket,
// org, precision), handled alike through the shared ingest path; 204 on success; errors as InfluxDB clients read
// them: JSON {"code","message"} plus X-Influxdb-Error; a body with any bad line is rejected whole (400 naming the
// line). Plus what agents need around writes: GET|HEAD /ping and a minimal /query (CREATE DATABASE, SHOW DATABASES).
import type Router from "@koa/router";
import type { Context } from "koa";
import { parseInfluxLines, parseInfluxPrecision, releaseInfluxColumns, type ParsedInflux } from "../../protocols/influx-line.js";
import { scaleMillis } from "../../protocols/rows.js";
import type { Label } from "../../protocols/series-validation.js";
import { BodyBufferPool } from "../body.js";
import { HttpError } from "../http-error.js";
import { ingest, readEncodedBody } from "../protocol-ingest.js";
import { type Runtime, requestParams, sendJson, tenantOf } from "../runtime.js";
import { scopeSelection, tenantLabel } from "../tenancy.js";

/** The InfluxDB release whose HTTP API these routes follow (sent in X-Influxdb-Version). */
export const INFLUXDB_COMPAT_VERSION = "1.8.10";

/** InfluxDB 2.x error codes by HTTP status. */
const INFLUX_CODES: Record<number, string> = {
  400: "invalid", 401: "unauthorized", 403: "forbidden", 404: "not found", 413: "request too large", 415: "unsupported media type",
  422: "unprocessable entity", 429: "too many requests", 500: "internal error", 503: "unavailable",
};

const QUERY_LABELS: [param: string, label: string][] = [["db", "influx_db"], ["rp", "influx_rp"], ["bucket", "influx_bucket"], ["org", "influx_org"]];

const CREATE_DATABASE_RE = /^create\s+database\s+("(?:[^"\\]|\\.)+"|[A-Za-z_][\w.-]*)(?:\s+with\s+.*)?$/is;
const SHOW_DATABASES_RE = /^show\s+databases$/i;

export const INFLUX_WRITE_PATHS = ["/write", "/api/v2/write"];

/**
 * A failed write as InfluxDB clients read it: JSON `{"code","message"}` and X-Influxdb-Error, plus the failure's own
 * headers (also used by the app for failures before the route, e.g. auth).
 */
export function sendInfluxWriteError(ctx: Context, failure: HttpError): void {
  for (const [k, v] of Object.entries(failure.options.headers ?? {})) ctx.set(k, v);
  ctx.set("X-Influxdb-Error", failure.message.replace(/[\r\n]/g, " ").slice(0, 1024));
  sendJson(ctx, JSON.stringify({ code: INFLUX_CODES[failure.status] ?? "invalid", message: failure.message }), failure.status);
}

function setInfluxHeaders(ctx: Context, rt: Runtime): void {
  ctx.set("X-Influxdb-Version", INFLUXDB_COMPAT_VERSION);
  ctx.set("X-Influxdb-Build", "OSS");
  ctx.set("X-Tsink-Version", rt.version);
}

/** Splits an InfluxQL request on `;` outside quotes; empty statements dropped. */
function statements(q: string): string[] {
  const out: string[] = [];
  let quote = "";
  let start = 0;
  for (let i = 0; i < q.length; i++) {
    const c = q[i]!;
    if (quote) {
      if (c === "\\") i++;
      else if (c === quote) quote = "";
    } else if (c === '"' || c === "'") quote = c;
    else if (c === ";") {
      out.push(q.slice(start, i).trim());
      start = i + 1;
    }
  }
  out.push(q.slice(start).trim());
  return out.filter((s) => s.length > 0);
}

export function registerInfluxRoutes(router: Router, rt: Runtime): void {
  const { protocols, timestampPrecision, limits } = rt.config;

  // Request bodies and parsed sample columns are reused from one write to the next (both are garbage as soon as the
  // insert settled: the parser copies what it keeps, the storage copies the samples).
  const bodies = new BodyBufferPool();

  async function write(ctx: Context): Promise<void> {
    setInfluxHeaders(ctx, rt);
    let parsed: ParsedInflux | undefined;
    try {
      const tenant = tenantOf(ctx);
      await ingest(rt, { protocol: "influx_line", tenant, kind: "request", okCode: "204" }, async () => {
        if (!protocols.influxEnabled) throw new HttpError(422, "Influx line protocol ingest is disabled (TSINK_INFLUX_LINE_PROTOCOL_ENABLED=false)");
        const params = new URLSearchParams(ctx.querystring);
        const extraLabels: Label[] = [];
        for (const [param, label] of QUERY_LABELS) {
          const v = params.get(param);
          if (v) extraLabels.push({ name: label, value: v });
        }
        const precision = parseInfluxPrecision(params.get("precision"));
        const body = await readEncodedBody(ctx, rt, bodies);
        try {
          parsed = parseInfluxLines(body, {
            precision, serverPrecision: timestampPrecision, now: scaleMillis(Date.now(), timestampPrecision),
            maxLines: protocols.influxMaxLinesPerRequest, extraLabels, tenantLabel: tenantLabel(tenant),
          });
        } finally {
          bodies.release(body);
        }
        const metadata = [...parsed.metrics].map((metric) => ({ metric, type: "gauge", help: "Influx line protocol field coerced to gauge samples", unit: "" }));
        return { columns: parsed, metadata };
      });
      ctx.status = 204;
    } catch (err) {
      sendInfluxWriteError(ctx, err instanceof HttpError ? err : new HttpError(500, String(err)));
    } finally {
      if (parsed) releaseInfluxColumns(parsed);
    }
  }

  for (const path of INFLUX_WRITE_PATHS) router.post(path, write);

  // InfluxDB 1.x answers 204 with its version headers (clients and agents use it as a liveness check).
  const ping = (ctx: Context) => {
    setInfluxHeaders(ctx, rt);
    ctx.status = 204;
  };
  router.get("/ping", ping);
  router.head("/ping", ping);

  // Just enough InfluxQL for agents' startup: CREATE DATABASE is answered OK (a database is only the influx_db
  // label, created by the first write), SHOW DATABASES lists the tenant's influx_db values. Anything else is a
  // 400 pointing at PromQL: data is queried on /api/v1/query.
  async function query(ctx: Context): Promise<void> {
    setInfluxHeaders(ctx, rt);
    const fail = (status: number, error: string) => sendJson(ctx, JSON.stringify({ error }), status);
    let params: URLSearchParams;
    try {
      params = await requestParams(ctx, limits.maxBodyBytes);
    } catch (err) {
      return fail(err instanceof HttpError ? err.status : 400, (err as Error).message);
    }
    const q = params.get("q");
    if (!q) return fail(400, "missing required parameter \"q\"");
    const list = statements(q);
    if (list.length === 0) return fail(400, "missing required parameter \"q\"");
    for (const s of list) {
      if (!CREATE_DATABASE_RE.test(s) && !SHOW_DATABASES_RE.test(s)) {
        return fail(400, `unsupported InfluxQL statement ${JSON.stringify(s.length > 80 ? `${s.slice(0, 80)}...` : s)}: tsink answers only CREATE DATABASE and SHOW DATABASES on /query; query data with PromQL on /api/v1/query`);
      }
    }
    if (list.some((s) => SHOW_DATABASES_RE.test(s)) && ctx.state.tokenScopes && !(ctx.state.tokenScopes as string[]).includes("read")) {
      return fail(403, "SHOW DATABASES needs a token with the read scope");
    }
    const results: Record<string, unknown>[] = [];
    for (let i = 0; i < list.length; i++) {
      if (!SHOW_DATABASES_RE.test(list[i]!)) {
        results.push({ statement_id: i });
        continue;
      }
      const names = await rt.readGate.withRequest(() => rt.storage().labelValues("influx_db", scopeSelection({}, tenantOf(ctx))));
      const series = [{ name: "databases", columns: ["name"], ...(names.length > 0 ? { values: names.map((n) => [n]) } : {}) }];
      results.push({ statement_id: i, series });
    }
    sendJson(ctx, JSON.stringify({ results }));
  }
  router.get("/query", query);
  router.post("/query", query);
}
