// Admin rules routes: POST /api/v1/admin/rules/apply (an empty body clears), POST .../rules/run (409 while a run is
// going on), GET .../rules/status; each answers the rules snapshot in the success envelope.
import type Router from "@koa/router";
import type { Context } from "koa";
import { readBody } from "../body.js";
import { HttpError } from "../http-error.js";
import { successJson } from "../prometheus-json.js";
import { RulesRunInFlight } from "../rules/scheduler.js";
import { RulesConfigError } from "../rules/validation.js";
import { type Runtime, sendJson, tenantOf } from "../runtime.js";

export function registerRulesRoutes(router: Router, rt: Runtime): void {
  const rules = () => {
    if (!rt.rules.ready) throw new HttpError(503, "the rules runtime is not loaded yet (the server is starting)", { errorType: "unavailable", json: true });
    return rt.rules;
  };
  const reply = (ctx: Context) => sendJson(ctx, successJson(JSON.stringify(rt.rules.status())));

  router.post("/api/v1/admin/rules/apply", async (ctx) => {
    const engine = rules();
    const tenant = tenantOf(ctx);
    const raw = (await readBody(ctx, rt.config.limits.maxBodyBytes, true)).toString("utf8");
    let body: unknown;
    try {
      body = raw.trim() === "" ? undefined : JSON.parse(raw);
    } catch (err) {
      throw HttpError.badData(`invalid JSON body: ${(err as Error).message}`);
    }
    try {
      await engine.apply(body, tenant);
    } catch (err) {
      if (err instanceof RulesConfigError) throw HttpError.badData(`invalid rules configuration: ${err.message}`);
      throw err;
    }
    rt.logger.info({ status: rt.rules.metrics() }, "rules applied");
    reply(ctx);
  });

  router.post("/api/v1/admin/rules/run", async (ctx) => {
    try {
      await rules().runNow();
    } catch (err) {
      if (err instanceof RulesRunInFlight) throw new HttpError(409, err.message, { errorType: "conflict", json: true });
      throw err;
    }
    reply(ctx);
  });

  router.get("/api/v1/admin/rules/status", (ctx) => {
    rules();
    reply(ctx);
  });
}
