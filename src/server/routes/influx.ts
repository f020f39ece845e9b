// InfluxDB compatibility routes. Writes: POST /write (v1: db, rp, precision) and POST /api/v2/write (v2: bucket,
// org, precision), handled alike through the shared ingest path; 204 on success; errors as InfluxDB clients read
// them: JSON {"code","message"} plus X-Influxdb-Error; a body with any bad line is rejected whole (400 naming the
// line). Plus what agents and InfluxDB 2 clients need around writes: GET|HEAD /ping, a minimal /query (CREATE
// DATABASE, SHOW DATABASES), GET /health and GET|POST /api/v2/buckets (a bucket is the influx_bucket label).
import type Router from "@koa/router";
import { createHash } from "node:crypto";
import type { Context } from "koa";
import { parseInfluxLines, parseInfluxPrecision, releaseInfluxColumns, type ParsedInflux } from "../../protocols/influx-line.js";
import { scaleMillis } from "../../protocols/timestamp-precision.js";
import type { Label } from "../../protocols/series-validation.js";
import { BodyBufferPool, readBody } from "../body.js";
import { HttpError } from "../http-error.js";
import { ingest, readEncodedBody } from "../protocol-ingest.js";
import { type Runtime, requestParams, sendJson, tenantOf } from "../runtime.js";
import { scopeSelection, tenantLabel } from "../tenancy.js";

/** The InfluxDB release whose HTTP API these routes follow (sent in X-Influxdb-Version). */
const INFLUXDB_COMPAT_VERSION = "1.8.10";

/** InfluxDB 2.x error codes by HTTP status. */
const INFLUX_CODES: Record<number, string> = {
  400: "invalid", 401: "unauthorized", 403: "forbidden", 404: "not found", 413: "request too large", 415: "unsupported media type",
  422: "unprocessable entity", 429: "too many requests", 500: "internal error", 503: "unavailable",
};

const QUERY_LABELS: [param: string, label: string][] = [["db", "influx_db"], ["rp", "influx_rp"], ["bucket", "influx_bucket"], ["org", "influx_org"]];

const CREATE_DATABASE_RE = /^create\s+database\s+("(?:[^"\\]|\\.)+"|[A-Za-z_][\w.-]*)(?:\s+with\s+.*)?$/is;
const SHOW_DATABASES_RE = /^show\s+databases$/i;

export const INFLUX_WRITE_PATHS = ["/write", "/api/v2/write"];
/** The InfluxDB 2 management paths served here; like the writes they answer errors as `{"code","message"}`. */
export const INFLUX_V2_API_PATHS = ["/health", "/api/v2/buckets"];

/** Bucket names as InfluxDB 2 allows them: 1-255 bytes, not starting with `_` (reserved for system buckets). */
const MAX_BUCKET_NAME_BYTES = 255;
/** Buckets created by POST and not yet written to are remembered (all tenants together) up to this many. */
const MAX_CREATED_BUCKETS = 10_000;

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

/** A stable 16-hex-digit InfluxDB-style ID for a name (buckets and orgs have no stored IDs here). */
function influxId(kind: string, tenant: string, name: string): string {
  return createHash("sha256").update(`${kind}\u0000${tenant}\u0000${name}`).digest("hex").slice(0, 16);
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
        let parsed: ParsedInflux;
        try {
          parsed = parseInfluxLines(body, {
            precision, serverPrecision: timestampPrecision, now: scaleMillis(Date.now(), timestampPrecision),
            maxLines: protocols.influxMaxLinesPerRequest, extraLabels, tenantLabel: tenantLabel(tenant),
          });
        } finally {
          bodies.release(body);
        }
        const metadata = [...parsed.metrics].map((metric) => ({ metric, type: "gauge", help: "Influx line protocol field coerced to gauge samples", unit: "" }));
        return { columns: parsed, metadata, release: () => releaseInfluxColumns(parsed) };
      });
      ctx.status = 204;
    } catch (err) {
      sendInfluxWriteError(ctx, err instanceof HttpError ? err : new HttpError(500, String(err)));
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

  // InfluxDB 2 health check (`influx ping`, client libraries' health()): 200 "pass" once storage is open, 503 "fail"
  // while it opens or shuts down. A probe like /ping (no token needed), as InfluxDB serves it.
  router.get("/health", (ctx) => {
    setInfluxHeaders(ctx, rt);
    let message = "ready for queries and writes";
    let status = 200;
    try {
      rt.storage();
    } catch (err) {
      message = (err as Error).message;
      status = 503;
    }
    const body = { name: "influxdb", message, status: status === 200 ? "pass" : "fail", checks: [], version: `tsink-${rt.version}`, commit: "" };
    sendJson(ctx, JSON.stringify(body), status);
  });

  // Buckets (InfluxDB 2 /api/v2/buckets). A bucket here is the value of the influx_bucket label that v2 writes
  // stamp (`/api/v2/write?bucket=`); it exists once written to, in the request's tenant. GET lists those (filters:
  // name, org, limit, offset); POST answers 201 for a bucket to write into (as CREATE DATABASE on /query), listed
  // by GET from then on (kept in the data path by rt.buckets until data is written to it, then as its label).
  // Retention is the server's (--retention): a create asking for another is a 422, not silently ignored.
  const retentionSeconds = Math.floor(rt.config.retentionMs / 1000);
  const bucketJson = (tenant: string, name: string, org: string | null) => {
    const id = influxId("bucket", tenant, name);
    return {
      id, orgID: org ? influxId("org", tenant, org) : "", type: "user", schemaType: "implicit", name,
      retentionRules: [{ type: "expire", everySeconds: retentionSeconds, shardGroupDurationSeconds: 0 }],
      labels: [], links: { self: `/api/v2/buckets/${id}` },
    };
  };
  function sendInfluxFailure(ctx: Context, status: number, message: string): void {
    sendInfluxWriteError(ctx, new HttpError(status, message));
  }

  router.get("/api/v2/buckets", async (ctx) => {
    setInfluxHeaders(ctx, rt);
    if (ctx.state.tokenScopes && !(ctx.state.tokenScopes as string[]).includes("read")) {
      return sendInfluxFailure(ctx, 403, "listing buckets needs a token with the read scope");
    }
    const params = new URLSearchParams(ctx.querystring);
    const limit = params.has("limit") ? Number(params.get("limit")) : 20;
    const offset = params.has("offset") ? Number(params.get("offset")) : 0;
    if (!Number.isInteger(limit) || limit < 1 || limit > 100) return sendInfluxFailure(ctx, 400, "limit must be an integer from 1 to 100");
    if (!Number.isInteger(offset) || offset < 0) return sendInfluxFailure(ctx, 400, "offset must be a non-negative integer");
    const tenant = tenantOf(ctx);
    const org = params.get("org");
    const matchers = org ? [{ name: "influx_org", op: "=" as const, value: org }] : [];
    let names: string[];
    try {
      names = await rt.readGate.withRequest(() => rt.storage().labelValues("influx_bucket", scopeSelection({ matchers }, tenant)));
    } catch (err) {
      const failure = err instanceof HttpError ? err : new HttpError(500, (err as Error).message);
      return sendInfluxFailure(ctx, failure.status, failure.message);
    }
    const all = [...new Set([...names, ...(org ? [] : rt.buckets.names(tenant))])].sort();
    const wanted = params.get("name");
    const id = params.get("id");
    const matching = all.filter((n) => (wanted === null || n === wanted) && (id === null || influxId("bucket", tenant, n) === id));
    const page = matching.slice(offset, offset + limit);
    const self = `/api/v2/buckets?descending=false&limit=${limit}&offset=${offset}`;
    sendJson(ctx, JSON.stringify({ links: { self }, buckets: page.map((n) => bucketJson(tenant, n, org)) }));
  });

  router.post("/api/v2/buckets", async (ctx) => {
    setInfluxHeaders(ctx, rt);
    if (ctx.state.tokenScopes && !(ctx.state.tokenScopes as string[]).includes("write")) {
      return sendInfluxFailure(ctx, 403, "creating a bucket needs a token with the write scope");
    }
    let request: { name?: unknown; orgID?: unknown; retentionRules?: unknown };
    try {
      const raw = await readBody(ctx, limits.maxBodyBytes);
      request = JSON.parse(raw.toString("utf8")) as typeof request;
      if (request === null || typeof request !== "object" || Array.isArray(request)) throw new Error("expected a JSON object");
    } catch (err) {
      const failure = err instanceof HttpError ? err : new HttpError(400, `invalid bucket request: ${(err as Error).message}`);
      return sendInfluxFailure(ctx, failure.status, failure.message);
    }
    const name = request.name;
    if (typeof name !== "string" || name.length === 0 || Buffer.byteLength(name) > MAX_BUCKET_NAME_BYTES || name.startsWith("_")) {
      return sendInfluxFailure(ctx, 400, `bucket name must be a string of 1-${MAX_BUCKET_NAME_BYTES} bytes not starting with '_'`);
    }
    const rules = request.retentionRules ?? [];
    if (!Array.isArray(rules)) return sendInfluxFailure(ctx, 400, "retentionRules must be an array");
    for (const rule of rules as { everySeconds?: unknown }[]) {
      const every = rule?.everySeconds;
      if (every !== undefined && every !== 0 && every !== retentionSeconds) {
        return sendInfluxFailure(ctx, 422, `per-bucket retention is not supported: this server keeps all data for ${retentionSeconds} s (--retention); omit retentionRules or ask for everySeconds ${retentionSeconds}`);
      }
    }
    const tenant = tenantOf(ctx);
    let names: string[];
    try {
      names = await rt.readGate.withRequest(() => rt.storage().labelValues("influx_bucket", scopeSelection({}, tenant)));
    } catch (err) {
      const failure = err instanceof HttpError ? err : new HttpError(500, (err as Error).message);
      return sendInfluxFailure(ctx, failure.status, failure.message);
    }
    const exists = () => sendInfluxFailure(ctx, 422, `bucket with name ${name} already exists`);
    if (names.includes(name) || rt.buckets.names(tenant).has(name)) return exists();
    try {
      // created buckets written to since are listed through their data: the store lets go of them
      await rt.buckets.forgetWritten(tenant, names);
      if (rt.buckets.size >= MAX_CREATED_BUCKETS) {
        return sendInfluxFailure(ctx, 422, `${MAX_CREATED_BUCKETS} buckets were created and not written to yet: write to them before creating more`);
      }
      if (!(await rt.buckets.add(tenant, name))) return exists(); // a concurrent create of the same name won
    } catch (err) {
      return sendInfluxFailure(ctx, 500, `the bucket could not be saved: ${(err as Error).message}`);
    }
    const orgID = typeof request.orgID === "string" ? request.orgID : "";
    sendJson(ctx, JSON.stringify({ ...bucketJson(tenant, name, null), orgID }), 201);
  });
}
