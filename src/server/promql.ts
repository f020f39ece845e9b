// The server's two uses of the PromQL package: a tenant-scoped engine per request, and parsing `match[]`
// selectors (series, labels, label values, delete_series, query_exemplars) into label matchers.
import { PromqlEngine } from "../promql/engine.js";
import { parse } from "../promql/parser/index.js";
import type { Expr, VectorSelector } from "../promql/ast.js";
import { predicateOf } from "../storage/matchers.js";
import type { SeriesMatcher } from "../storage/types.js";
import { HttpError } from "./http-error.js";
import type { Runtime } from "./runtime.js";
import { TenantSeriesSource } from "./tenancy.js";

/** Engine defaults (Prometheus'): 5 m lookback, 2 min query timeout, 50 M samples per query. */
const LOOKBACK_DELTA_MS = 5 * 60_000;
const DEFAULT_QUERY_TIMEOUT_MS = 120_000;
const MAX_SAMPLES_PER_QUERY = 50_000_000;

export function tenantEngine(rt: Runtime, tenant: string, timeoutMs: number | undefined, lookbackDeltaMs?: number): PromqlEngine {
  const source = new TenantSeriesSource(rt.storage(), tenant, rt.config.timestampPrecision);
  return new PromqlEngine(source, {
    lookbackDeltaMs: lookbackDeltaMs ?? LOOKBACK_DELTA_MS,
    maxSamples: MAX_SAMPLES_PER_QUERY,
    timeoutMs: Math.min(timeoutMs ?? DEFAULT_QUERY_TIMEOUT_MS, DEFAULT_QUERY_TIMEOUT_MS),
  });
}

function parseOrBadData(text: string, param: string): Expr {
  try {
    return parse(text);
  } catch (err) {
    throw HttpError.badData(`invalid parameter ${JSON.stringify(param)}: ${(err as Error).message}`);
  }
}

function collectSelectors(expr: Expr, out: VectorSelector[]): void {
  switch (expr.type) {
    case "VectorSelector":
      out.push(expr);
      return;
    case "MatrixSelector":
      out.push(expr.vector);
      return;
    default:
      for (const child of Object.values(expr)) {
        if (Array.isArray(child)) for (const c of child) if (c && typeof c === "object" && "type" in c) collectSelectors(c as Expr, out);
        if (child && typeof child === "object" && "type" in child && "pos" in child) collectSelectors(child as Expr, out);
      }
  }
}

/**
 * Parses a `match[]` series selector into matchers (Prometheus requires at least one matcher that does not match
 * the empty string).
 */
export function parseMatchSelector(text: string): SeriesMatcher[] {
  const expr = parseOrBadData(text, "match[]");
  if (expr.type !== "VectorSelector") throw HttpError.badData(`invalid parameter "match[]": ${JSON.stringify(text)} is not a series selector`);
  if (!expr.matchers.some((m) => !matchesEmpty(m))) {
    throw HttpError.badData(`invalid parameter "match[]": match[] must contain at least one non-empty matcher`);
  }
  return expr.matchers.map((m) => ({ name: m.name, op: m.op, value: m.value }));
}

/**
 * query_exemplars: the matchers of every vector selector of any PromQL expression (the whole AST walked, matrix
 * selectors by their vector part), one list per selector; none or more than `maxSelectors` → bad_data.
 */
export function exemplarSelectors(text: string, maxSelectors: number): SeriesMatcher[][] {
  const selectors: VectorSelector[] = [];
  collectSelectors(parseOrBadData(text, "query"), selectors);
  if (selectors.length === 0) throw HttpError.badData("invalid parameter \"query\": the expression has no vector selector");
  if (selectors.length > maxSelectors) {
    throw HttpError.badData(`invalid parameter "query": ${selectors.length} selectors, more than the limit of ${maxSelectors}`);
  }
  return selectors.map((s) => s.matchers.map((m) => ({ name: m.name, op: m.op, value: m.value })));
}

/** Whether the matcher accepts the empty string (Prometheus refuses selectors made only of such matchers). */
function matchesEmpty(m: SeriesMatcher): boolean {
  try {
    return predicateOf(m)("");
  } catch (err) {
    throw HttpError.badData(`invalid parameter "match[]": ${(err as Error).message}`);
  }
}
