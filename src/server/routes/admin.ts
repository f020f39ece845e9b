// Admin data routes (only with --admin-api-enabled): POST /api/v1/admin/snapshot, restore, delete_series.
// Parameters come from the query string or a JSON body; paths are confined to --admin-path-prefix when set.
import type Router from "@koa/router";
import type { Context } from "koa";
import { resolve, sep } from "node:path";
import { readBody } from "../body.js";
import { HttpError } from "../http-error.js";
import { successJson } from "../prometheus-json.js";
import { parseMatchSelector } from "../promql.js";
import { type Runtime, sendJson, tenantOf } from "../runtime.js";
import type { StorageHooks } from "../storage.js";
import { scopeSelection } from "../tenancy.js";
import { selectionFromMatchers } from "./selectors.js";

const I64_MIN = "-9223372036854775808";
const I64_MAX = "9223372036854775807";

interface AdminParams {
  query: URLSearchParams;
  body: Record<string, unknown>;
}

async function adminParams(ctx: Context, maxBytes: number): Promise<AdminParams> {
  const query = new URLSearchParams(ctx.querystring);
  const raw = await readBody(ctx, maxBytes, true);
  let body: Record<string, unknown> = {};
  if (raw.length > 0 && ctx.get("content-type").toLowerCase().includes("json")) {
    try {
      const parsed: unknown = JSON.parse(raw.toString("utf8"));
      if (parsed === null || typeof parsed !== "object" || Array.isArray(parsed)) throw new Error("expected a JSON object");
      body = parsed as Record<string, unknown>;
    } catch (err) {
      throw HttpError.badData(`invalid JSON body: ${(err as Error).message}`);
    }
  } else if (raw.length > 0 && ctx.get("content-type").toLowerCase().startsWith("application/x-www-form-urlencoded")) {
    for (const [k, v] of new URLSearchParams(raw.toString("utf8"))) query.append(k, v);
  }
  return { query, body };
}

function stringParam(p: AdminParams, ...names: string[]): string | undefined {
  for (const name of names) {
    const q = p.query.get(name);
    if (q) return q;
    const b = p.body[name];
    if (typeof b === "string" && b) return b;
    if (b !== undefined && typeof b !== "string") throw HttpError.badData(`parameter "${name}" must be a string`);
  }
  return undefined;
}

function requiredString(p: AdminParams, ...names: string[]): string {
  const v = stringParam(p, ...names);
  if (v === undefined) throw HttpError.badData(`missing required parameter "${names[0]}"`);
  return v;
}

/** delete_series bounds: a raw integer in storage precision or RFC 3339. */
function boundParam(p: AdminParams, name: string): { value: number; text: string } | undefined {
  const raw = p.query.get(name) ?? p.body[name];
  if (raw === undefined || raw === null || raw === "") return undefined;
  const text = String(raw).trim();
  if (/^-?\d+$/.test(text) && Number.isSafeInteger(Number(text))) return { value: Number(text), text };
  if (typeof raw === "string") {
    const ms = Date.parse(text);
    if (/^\d{4}-\d{2}-\d{2}T/.test(text) && Number.isFinite(ms)) return { value: ms, text: String(ms) };
  }
  throw HttpError.badData(`invalid parameter "${name}": expected an integer timestamp or RFC 3339, got ${JSON.stringify(raw)}`);
}

export function registerAdminRoutes(router: Router, rt: Runtime, hooks: Pick<StorageHooks, "snapshot" | "restore">): void {
  const { limits, adminPathPrefix, dataPath } = rt.config;

  function confined(path: string, what: string): string {
    const full = resolve(path);
    if (adminPathPrefix) {
      const prefix = resolve(adminPathPrefix);
      if (full !== prefix && !full.startsWith(prefix + sep)) {
        throw new HttpError(403, `${what} ${JSON.stringify(path)} is outside --admin-path-prefix ${prefix}`, { errorType: "forbidden", json: true });
      }
    }
    return full;
  }

  router.post("/api/v1/admin/snapshot", async (ctx) => {
    const p = await adminParams(ctx, limits.maxBodyBytes);
    const path = confined(requiredString(p, "path"), "snapshot path");
    if (!dataPath) throw new HttpError(503, "snapshots need a persistent store: start the server with --data-path", { errorType: "unavailable", json: true });
    await storageCall(() => hooks.snapshot(rt.storage(), path));
    await rt.metadata.writeSnapshot(path);
    await rt.exemplars.writeSnapshot(path);
    await rt.buckets.writeSnapshot(path);
    await rt.rules.writeSnapshot(path);
    rt.logger.info({ path, actor: actorOf(ctx) }, "admin snapshot written");
    sendJson(ctx, successJson(JSON.stringify({ path })));
  });

  router.post("/api/v1/admin/restore", async (ctx) => {
    const p = await adminParams(ctx, limits.maxBodyBytes);
    const snapshotPath = confined(requiredString(p, "snapshot_path", "snapshotPath"), "snapshot path");
    const target = confined(requiredString(p, "data_path", "dataPath"), "data path");
    if (dataPath && resolve(dataPath) === target) {
      throw new HttpError(409, "cannot restore into the data path this server is running on: restore into another path and restart the server on it", {
        errorType: "conflict",
        json: true,
      });
    }
    await storageCall(() => hooks.restore(snapshotPath, target));
    rt.logger.info({ snapshotPath, dataPath: target, actor: actorOf(ctx) }, "admin restore done");
    sendJson(ctx, successJson(JSON.stringify({ snapshotPath, dataPath: target })));
  });

  router.post("/api/v1/admin/delete_series", async (ctx) => {
    const tenant = tenantOf(ctx);
    const p = await adminParams(ctx, limits.maxBodyBytes);
    const selectors = [...p.query.getAll("match[]")];
    const fromBody = p.body.selectors ?? p.body["match[]"];
    if (fromBody !== undefined) {
      if (!Array.isArray(fromBody) || !fromBody.every((s) => typeof s === "string")) throw HttpError.badData(`"selectors" must be an array of strings`);
      selectors.push(...fromBody);
    }
    if (selectors.length === 0) throw HttpError.badData("no match[] parameter provided");
    const start = boundParam(p, "start");
    const end = boundParam(p, "end");
    if (start && end && end.value <= start.value) throw HttpError.badData(`invalid parameter "end": must be greater than start`);
    const parsed = selectors.map((s) => selectionFromMatchers(parseMatchSelector(s)));
    const storage = rt.storage();
    let matchedSeries = 0;
    let tombstonesApplied = 0;
    for (const base of parsed) {
      const selection = scopeSelection(
        { ...base, ...(start || end ? { start: start?.value ?? -Number.MAX_SAFE_INTEGER, end: end?.value ?? Number.MAX_SAFE_INTEGER } : {}) },
        tenant,
      );
      const result = await storage.deleteSeries(selection);
      matchedSeries += result.matchedSeries;
      tombstonesApplied += result.tombstonesApplied;
    }
    rt.logger.info({ tenant, selectors, actor: actorOf(ctx) }, "admin delete_series done");
    const data =
      `{"tenantId":${JSON.stringify(tenant)},"matchersProcessed":${selectors.length},"matchedSeries":${matchedSeries},` +
      `"tombstonesApplied":${tombstonesApplied},"start":${start?.text ?? I64_MIN},"end":${end?.text ?? I64_MAX}}`;
    sendJson(ctx, successJson(data));
  });
}

/** Storage refusals of an admin call (bad paths, non-empty targets) are the caller's error: 400 with the reason. */
async function storageCall(fn: () => Promise<void>): Promise<void> {
  try {
    await fn();
  } catch (err) {
    const code = (err as { code?: unknown }).code;
    if (err instanceof Error && (code === "InvalidConfiguration" || code === "Io")) {
      throw new HttpError(400, err.message, { errorType: "bad_data", json: true });
    }
    throw err;
  }
}

function actorOf(ctx: Context): string {
  return ctx.get("x-tsink-actor-id") || ctx.get("x-forwarded-user") || "bearer";
}
