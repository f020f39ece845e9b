// InfluxDB line protocol writes: POST /write (v1: db, rp, precision) and POST /api/v2/write (v2: bucket, org,
// precision), handled alike. 204 on success; errors as InfluxDB clients read them: JSON {"code","message"} plus
// the X-Influxdb-Error header. A body with any bad line is rejected whole (400 naming the line): no partial writes.
import type Router from "@koa/router";
import type { Context } from "koa";
import { parseInfluxLines, parseInfluxPrecision } from "../../protocols/influx-line.js";
import { scaleMillis } from "../../protocols/rows.js";
import type { Label } from "../../protocols/series-validation.js";
import { HttpError } from "../http-error.js";
import { accountIngest, readEncodedBody, storeRows } from "../protocol-ingest.js";
import { type Runtime, tenantOf } from "../runtime.js";
import { tenantLabel } from "../tenancy.js";

/** InfluxDB 2.x error codes by HTTP status. */
const INFLUX_CODES: Record<number, string> = {
  400: "invalid", 401: "unauthorized", 403: "forbidden", 404: "not found", 413: "request too large", 415: "unsupported media type",
  422: "unprocessable entity", 429: "too many requests", 500: "internal error", 503: "unavailable",
};

const QUERY_LABELS: [param: string, label: string][] = [["db", "influx_db"], ["rp", "influx_rp"], ["bucket", "influx_bucket"], ["org", "influx_org"]];

export function registerInfluxRoutes(router: Router, rt: Runtime): void {
  const { protocols, timestampPrecision } = rt.config;

  async function write(ctx: Context): Promise<void> {
    let failure: HttpError | undefined;
    try {
      if (!protocols.influxEnabled) throw new HttpError(422, "Influx line protocol ingest is disabled (TSINK_INFLUX_LINE_PROTOCOL_ENABLED=false)");
      const tenant = tenantOf(ctx);
      const params = new URLSearchParams(ctx.querystring);
      const extraLabels: Label[] = [];
      for (const [param, label] of QUERY_LABELS) {
        const v = params.get(param);
        if (v) extraLabels.push({ name: label, value: v });
      }
      await rt.writeGate.withRequest(async () => {
        const precision = parseInfluxPrecision(params.get("precision"));
        const body = await readEncodedBody(ctx, rt);
        const parsed = parseInfluxLines(body, {
          precision, serverPrecision: timestampPrecision, now: scaleMillis(Date.now(), timestampPrecision),
          maxLines: protocols.influxMaxLinesPerRequest, extraLabels, tenantLabel: tenantLabel(tenant),
        });
        const metadata = [...parsed.metrics].map((metric) => ({ metric, type: "gauge", help: "Influx line protocol field coerced to gauge samples", unit: "" }));
        await storeRows(rt, "influx_line", tenant, parsed.rows, metadata);
      });
    } catch (err) {
      failure = accountIngest(rt, "influx_line", err);
    }
    if (!failure) {
      accountIngest(rt, "influx_line", undefined, "204");
      ctx.status = 204;
      return;
    }
    for (const [k, v] of Object.entries(failure.options.headers ?? {})) ctx.set(k, v);
    ctx.set("X-Influxdb-Error", failure.message.replace(/[\r\n]/g, " ").slice(0, 1024));
    ctx.status = failure.status;
    ctx.type = "application/json";
    ctx.body = JSON.stringify({ code: INFLUX_CODES[failure.status] ?? "invalid", message: failure.message });
  }

  router.post("/write", write);
  router.post("/api/v2/write", write);
}
