// What every route handler gets: config, logger, the storage once it is open, admission gates, metrics, the
// metric-metadata, exemplar and InfluxDB bucket stores, the rules engine; plus the small request helpers the routes
// share (params, JSON replies, tenant).
import type { Context } from "koa";
import type { Logger } from "pino";
import type { AdmissionGate } from "./admission.js";
import type { BucketStore } from "./bucket-store.js";
import { readBody } from "./body.js";
import type { ServerConfig } from "./config.js";
import type { ExemplarStore } from "./exemplar-store.js";
import { HttpError } from "./http-error.js";
import type { MetadataStore } from "./metadata-store.js";
import { recycleBody } from "./prometheus-json.js";
import type { RulesEngine } from "./rules/scheduler.js";
import type { ServerMetrics } from "./metrics.js";
import type { ServerStorage } from "./storage.js";
import { resolveTenant } from "./tenancy.js";

export interface Runtime {
  readonly config: ServerConfig;
  readonly logger: Logger;
  readonly version: string;
  readonly startedAtMs: number;
  readonly writeGate: AdmissionGate;
  readonly readGate: AdmissionGate;
  readonly metrics: ServerMetrics;
  readonly metadata: MetadataStore;
  readonly exemplars: ExemplarStore;
  /** InfluxDB 2 buckets created by POST /api/v2/buckets and not yet written to. */
  readonly buckets: BucketStore;
  /** Recording and alert rules (the admin rules routes; evaluated once storage is open). */
  readonly rules: RulesEngine;
  /** The open storage; 503 while it is still opening (WAL replay) or after shutdown began. */
  storage(): ServerStorage;
  /** The tenant's own in-flight budget for a surface (--tenant-config admission), undefined when unlimited. */
  tenantGate(tenant: string, surface: "read" | "write"): AdmissionGate | undefined;
  /** The storage if it is open, without failing (self-instrumentation). */
  openStorage(): ServerStorage | undefined;
}

/**
 * Runs `run` as one read request: a slot of the tenant's read gate (when it has one), then one of the global gate,
 * each taken without an await when free; `run` takes its queries (units) through the global gate it receives.
 */
export async function withReadRequest<T>(rt: Runtime, tenant: string, run: (reads: AdmissionGate) => Promise<T>): Promise<T> {
  const reads = rt.readGate;
  const tenantGate = rt.tenantGate(tenant, "read");
  let held: AdmissionGate | undefined; // the tenant's slot, once taken
  let admitted = false; // the global slot
  try {
    if (tenantGate) {
      const waiting = tenantGate.enter();
      if (waiting) await waiting;
      held = tenantGate;
    }
    const waiting = reads.enter();
    if (waiting) await waiting;
    admitted = true;
    return await run(reads);
  } finally {
    if (admitted) reads.leave();
    held?.leave();
  }
}

export function tenantOf(ctx: Context): string {
  return resolveTenant(ctx.headers);
}

/** Query-string parameters, merged with the urlencoded form body for POST (Prometheus' rule). */
export async function requestParams(ctx: Context, maxBodyBytes: number): Promise<URLSearchParams> {
  const params = new URLSearchParams(ctx.querystring);
  if (ctx.method === "POST") {
    const type = ctx.get("content-type");
    if (type && !type.toLowerCase().startsWith("application/x-www-form-urlencoded")) {
      throw new HttpError(415, `unsupported Content-Type ${JSON.stringify(type)}: send application/x-www-form-urlencoded`, {
        errorType: "bad_data",
        json: true,
      });
    }
    const body = await readBody(ctx, maxBodyBytes, true);
    for (const [k, v] of new URLSearchParams(body.toString("utf8"))) params.append(k, v);
  }
  return params;
}

// The Content-Type set as the full header value: Koa's `ctx.type` setter would look the same value up in its mime
// cache on every response (the header bytes are the same).
export function sendJson(ctx: Context, json: string | Buffer, status = 200): void {
  ctx.status = status;
  ctx.set("Content-Type", "application/json; charset=utf-8");
  ctx.body = json;
}

/**
 * A 200 JSON answer written at once, from the route: Koa's response handling is bypassed (`ctx.respond = false`, its
 * documented escape hatch) so the bytes leave before the middleware chain unwinds (admission release, metrics and
 * the debug log then run while the client reads) and without Koa's status/type/body setters. Status line and
 * headers as sendJson's; for HEAD, Node sends the headers without the body, as Koa does. The route's last step:
 * nothing may set headers or a body after it. A pooled query body (querySuccessBody) goes back to its pool once
 * Node handed the response to the operating system ("finish"); not when the response failed, then it is dropped.
 */
export function sendJsonNow(ctx: Context, body: Buffer): void {
  ctx.respond = false;
  const res = ctx.res;
  res.statusCode = 200; // (also what the request is counted as when the client is already gone)
  if (!ctx.writable) {
    res.end(); // the client is gone (what Koa's respond does then)
    return;
  }
  res.setHeader("Content-Type", "application/json; charset=utf-8");
  res.setHeader("Content-Length", body.length);
  res.end(body, () => {
    if (res.writableFinished) recycleBody(body);
  });
}

export function sendText(ctx: Context, text: string, status = 200): void {
  ctx.status = status;
  ctx.set("Content-Type", "text/plain; charset=utf-8");
  ctx.body = text;
}
