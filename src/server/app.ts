// The tsink HTTP server: Koa middleware chain (in-flight tracking, errors, auth, routes, 404), the listener
// (HTTP or TLS), readiness while storage opens, and graceful shutdown.
import Router from "@koa/router";
import Koa, { type Context } from "koa";
import { readFileSync } from "node:fs";
import { createServer as createHttpServer, type Server } from "node:http";
import { createServer as createHttpsServer } from "node:https";
import type { AddressInfo } from "node:net";
import { join } from "node:path";
import type { Logger } from "pino";
import { AdmissionGate } from "./admission.js";
import { Authenticator, denied, presentedToken, scopeOfPath, tokenScopeOfPath } from "./auth.js";
import type { ServerConfig } from "./config.js";
import { HttpError } from "./http-error.js";
import { BUCKETS_FILE, BucketStore } from "./bucket-store.js";
import { EXEMPLAR_FILE, ExemplarStore } from "./exemplar-store.js";
import { METADATA_FILE, MetadataStore } from "./metadata-store.js";
import { ServerMetrics } from "./metrics.js";
import { errorJson } from "./prometheus-json.js";
import { registerAdminRoutes } from "./routes/admin.js";
import { registerIngestRoutes } from "./routes/ingest.js";
import { registerMetadataRoutes } from "./routes/metadata.js";
import { registerQueryRoutes } from "./routes/query.js";
import { registerRemoteReadRoute } from "./routes/remote-read.js";
import { registerRulesRoutes } from "./routes/rules.js";
import { RulesEngine } from "./rules/scheduler.js";
import { RULES_FILE, RulesStore } from "./rules/store.js";
import { INFLUX_V2_API_PATHS, INFLUX_WRITE_PATHS, registerInfluxRoutes, sendInfluxWriteError } from "./routes/influx.js";
import { registerOtlpRoute } from "./routes/otlp.js";
import { startGraphiteListener } from "./listeners/graphite.js";
import { type LegacyListener, startStatsdListener } from "./listeners/statsd.js";
import { type Runtime, sendText, tenantOf } from "./runtime.js";
import type { ServerStorage, StorageHooks } from "./storage.js";

const SHUTDOWN_GRACE_MS = 10_000;

export class TsinkServer {
  readonly runtime: Runtime;
  private readonly app = new Koa();
  private readonly server: Server;
  private storageInstance?: ServerStorage;
  private state: "starting" | "ready" | "stopping" | "stopped" = "starting";
  private inflight = 0;
  private opening?: Promise<void>;
  private idleWaiters: (() => void)[] = [];
  /** The StatsD (UDP) and Graphite (TCP) listeners, bound once storage is open (when their flags are given). */
  readonly listeners: { statsd?: LegacyListener; graphite?: LegacyListener } = {};

  constructor(
    readonly config: ServerConfig,
    readonly logger: Logger,
    private readonly hooks: StorageHooks,
    version: string,
  ) {
    const { limits } = config;
    const writeGate = new AdmissionGate("rows", limits.writeMaxInflightRequests, limits.writeMaxInflightRows, limits.writeAcquireTimeoutMs);
    const readGate = new AdmissionGate("queries", limits.readMaxInflightRequests, limits.readMaxInflightQueries, limits.readAcquireTimeoutMs);
    const startedAtMs = Date.now();
    const tenantGates = new Map<string, AdmissionGate>();
    const exemplars = new ExemplarStore(config.dataPath ? join(config.dataPath, EXEMPLAR_FILE) : undefined);
    const metrics = new ServerMetrics({
      startedAtMs,
      storage: () => this.storageInstance,
      inflight: () => ({ writeRequests: writeGate.inflightRequests, readRequests: readGate.inflightRequests }),
      exemplars: () => {
        const l = exemplars.limits;
        return {
          storedExemplars: exemplars.size,
          storedSeries: exemplars.seriesCount,
          limits: {
            max_total_exemplars: l.maxTotal, max_exemplars_per_series: l.maxPerSeries, max_exemplars_per_request: l.maxPerRequest,
            max_query_results: l.maxQueryResults, max_query_selectors: l.maxQuerySelectors,
          },
        };
      },
    });
    const metadata = new MetadataStore(config.dataPath ? join(config.dataPath, METADATA_FILE) : undefined, (err) =>
      logger.error({ err }, "saving metric metadata failed"),
    );
    const buckets = new BucketStore(config.dataPath ? join(config.dataPath, BUCKETS_FILE) : undefined);
    const rules = new RulesEngine(() => this.runtime, new RulesStore(config.dataPath ? join(config.dataPath, RULES_FILE) : undefined), config.rules);
    rules.registerMetrics(metrics.registry);
    this.runtime = {
      config, logger, version, startedAtMs, writeGate, readGate, metrics, metadata, buckets, exemplars, rules,
      storage: () => {
        if (this.state === "ready" && this.storageInstance) return this.storageInstance;
        throw new HttpError(503, this.state === "starting" ? "storage is still opening (WAL replay in progress)" : "server is shutting down", {
          errorType: "unavailable",
        });
      },
      openStorage: () => this.storageInstance,
      tenantGate: (tenant, surface) => {
        const limit = config.tenantPolicies.admission(tenant)[surface === "read" ? "maxInflightReads" : "maxInflightWrites"];
        if (limit === undefined) return undefined;
        const key = `${surface}\u0000${tenant}`;
        let gate = tenantGates.get(key);
        // Non-blocking: a tenant over its budget is refused at once instead of waiting.
        if (!gate) {
          // Tenant ids come from a header: drop idle gates before the map can grow without bound.
          if (tenantGates.size >= 10_000) for (const [k, g] of tenantGates) if (g.inflightRequests === 0) tenantGates.delete(k);
          tenantGates.set(key, (gate = new AdmissionGate(surface === "read" ? "queries" : "rows", limit, Number.MAX_SAFE_INTEGER, 0)));
        }
        return gate;
      },
    };
    this.buildApp();
    const handler = this.app.callback();
    this.server = config.tls
      ? createHttpsServer({ cert: readFileSync(config.tls.certPath), key: readFileSync(config.tls.keyPath), handshakeTimeout: 10_000 }, handler)
      : createHttpServer(handler);
    this.app.on("error", (err: Error) => logger.debug({ err: err.message }, "connection error"));
    this.server.on("clientError", (err, socket) => {
      logger.debug({ err: err.message }, "client error");
      socket.destroy();
    });
    this.server.maxConnections = 1024;
    this.server.keepAliveTimeout = 30_000;
    this.server.headersTimeout = 35_000;
  }

  private buildApp(): void {
    const rt = this.runtime;
    const auth = new Authenticator(this.config);
    const router = new Router();
    // The PromQL routes in a router of their own, tried first: @koa/router tests a request's path against every route
    // of a router, and the most frequent requests then test 4 patterns instead of some 35 (in unoptimised code, as the
    // first thousands of requests run, that was ~20-60 us of each query's latency; docs/benchmarks.md).
    const queryRouter = new Router();
    registerQueryRoutes(queryRouter, rt);

    router.get("/healthz", (ctx) => sendText(ctx, "ok\n"));
    router.get("/ready", (ctx) => {
      if (this.state === "ready") sendText(ctx, "ready\n");
      else sendText(ctx, this.state === "starting" ? "not ready: storage is opening\n" : "not ready: shutting down\n", 503);
    });
    router.get("/metrics", async (ctx) => {
      ctx.type = rt.metrics.registry.contentType;
      ctx.body = await rt.metrics.exposition();
    });
    registerMetadataRoutes(router, rt);
    registerIngestRoutes(router, rt);
    registerRemoteReadRoute(router, rt);
    registerInfluxRoutes(router, rt);
    registerOtlpRoute(router, rt);
    if (this.config.adminApiEnabled) {
      registerAdminRoutes(router, rt, this.hooks);
      registerRulesRoutes(router, rt);
    }

    // One middleware for in-flight tracking, errors, the debug log and auth: each layer of the chain is paid on every
    // request, in unoptimised code for the first thousands of them. Without any token configured (no --auth-token,
    // no admin token, no tenant tokens), auth has nothing to check: only the disabled admin API answers 404.
    const debugLog = this.logger.isLevelEnabled("debug");
    const policies = this.config.tenantPolicies;
    const authEnabled = this.config.authToken !== undefined || this.config.adminAuthToken !== undefined || policies.hasTokens;
    const authorize = (ctx: Context): boolean => {
      const scope = scopeOfPath(ctx.path);
      if (scope === "admin" && !this.config.adminApiEnabled) {
        sendText(ctx, "not found", 404);
        return false;
      }
      if (!authEnabled) return true;
      const token = scope === "probe" ? undefined : presentedToken(ctx.path, ctx.get("authorization") || undefined, ctx.querystring);
      const owner = token !== undefined && scope === "public" && policies.hasTokens && ctx.path !== "/metrics" ? policies.tokenOwner(token) : undefined;
      if (owner) {
        // A tenant token: valid for its own tenant and scopes only, whatever the global tokens are.
        if (owner.tenant !== tenantOf(ctx)) throw denied(403, "auth_scope_denied", "this token belongs to another tenant");
        const needed = tokenScopeOfPath(ctx.path);
        if (needed && !owner.scopes.includes(needed)) throw denied(403, "auth_scope_denied", `this tenant token has no ${needed} scope`);
        ctx.state.tokenScopes = owner.scopes;
      } else auth.check(scope, token);
      return true;
    };
    this.app.use(async (ctx, next) => {
      this.inflight++;
      const started = debugLog ? performance.now() : 0;
      try {
        if (authorize(ctx)) await next();
      } catch (err) {
        this.sendError(ctx, err);
      } finally {
        if (--this.inflight === 0 && this.idleWaiters.length > 0) for (const resolve of this.idleWaiters.splice(0)) resolve();
        if (debugLog) {
          this.logger.debug({ method: ctx.method, path: ctx.path, status: ctx.status, ms: Math.round((performance.now() - started) * 10) / 10 }, "request");
        }
      }
    });
    this.app.use(queryRouter.routes());
    this.app.use(router.routes());
    this.app.use((ctx) => {
      if (ctx.body == null) sendText(ctx, "not found", 404);
    });
  }

  private sendError(ctx: Context, err: unknown): void {
    if (err instanceof HttpError && (INFLUX_WRITE_PATHS.includes(ctx.path) || INFLUX_V2_API_PATHS.includes(ctx.path))) {
      sendInfluxWriteError(ctx, err); // e.g. auth failures, in the error shape Influx clients read
      return;
    }
    if (err instanceof HttpError) {
      for (const [k, v] of Object.entries(err.options.headers ?? {})) ctx.set(k, v);
      if (err.options.json) {
        ctx.status = err.status;
        ctx.type = "application/json";
        ctx.body = errorJson(err.options.errorType ?? "bad_data", err.message);
      } else {
        sendText(ctx, `${err.message}\n`, err.status);
      }
      if (err.status >= 500) this.logger.warn({ path: ctx.path, status: err.status, err: err.message }, "request failed");
      return;
    }
    this.logger.error({ err, path: ctx.path, method: ctx.method }, "unhandled error");
    const message = err instanceof Error ? err.message : String(err);
    if (ctx.path.startsWith("/api/v1/") && !["/api/v1/write", "/api/v1/read", "/api/v1/import/prometheus"].includes(ctx.path)) {
      ctx.status = 500;
      ctx.type = "application/json";
      ctx.body = errorJson("internal", message);
    } else {
      sendText(ctx, `internal error: ${message}\n`, 500);
    }
  }

  /** Starts listening first (probes answer while storage opens), then opens storage. Resolves when ready. */
  async start(): Promise<AddressInfo> {
    await new Promise<void>((resolve, reject) => {
      // a stop() before the socket is bound cancels the listen: its callback never comes, only "close"
      const stopped = () => reject(new Error("the server was stopped before it started listening"));
      const failed = (err: Error) => {
        this.server.off("close", stopped);
        reject(err);
      };
      this.server.once("error", failed);
      this.server.once("close", stopped);
      this.server.listen(this.config.listen.port, this.config.listen.host, () => {
        this.server.off("error", failed);
        this.server.off("close", stopped);
        resolve();
      });
    });
    const address = this.server.address() as AddressInfo;
    if (this.state !== "starting") {
      // stop() came between the bind and its callback: close the socket and open no storage
      await new Promise<void>((resolve) => this.server.close(() => resolve()));
      return address;
    }
    this.logger.info({ address: `${address.address}:${address.port}`, tls: !!this.config.tls }, "listening; opening storage");
    this.opening = (async () => {
      await this.runtime.metadata.load();
      await this.runtime.buckets.load();
      await this.runtime.rules.load();
      await this.runtime.exemplars.load();
      this.storageInstance = await this.hooks.open();
    })();
    try {
      await this.opening;
    } catch (err) {
      if (this.server.listening) await new Promise<void>((resolve) => this.server.close(() => resolve()));
      throw err;
    }
    // A stop() that arrived while storage was opening owns the shutdown from here.
    if (this.state !== "starting") return address;
    try {
      this.listeners.statsd = await startStatsdListener(this.runtime);
      this.listeners.graphite = await startGraphiteListener(this.runtime);
    } catch (err) {
      await this.stop();
      throw err;
    }
    this.state = "ready";
    this.runtime.rules.start();
    this.logger.info({ dataPath: this.config.dataPath ?? null }, "storage open; ready");
    return address;
  }

  /** Graceful stop: refuse new connections, wait (up to 10 s) for in-flight requests, flush and close storage. */
  async stop(): Promise<void> {
    if (this.state === "stopping" || this.state === "stopped") return;
    this.state = "stopping";
    const rulesStopped = this.runtime.rules.stop(); // no new rules run; the one going on ends before storage closes
    const closed = new Promise<void>((resolve) => this.server.close(() => resolve()));
    this.server.closeIdleConnections();
    const drained = this.inflight === 0 ? Promise.resolve() : new Promise<void>((resolve) => this.idleWaiters.push(resolve));
    const timedOut = await Promise.race([drained.then(() => false), sleep(SHUTDOWN_GRACE_MS).then(() => true)]);
    if (timedOut) this.logger.warn({ inflight: this.inflight }, "in-flight requests did not finish within 10 s; closing anyway");
    this.server.closeAllConnections();
    await closed;
    for (const listener of Object.values(this.listeners)) await listener?.close();
    await this.opening?.catch(() => undefined);
    await rulesStopped;
    await this.runtime.metadata.flush();
    if (this.storageInstance) await this.storageInstance.close();
    this.state = "stopped";
    this.logger.info("stopped");
  }
}

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms).unref());
}
