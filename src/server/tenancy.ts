// Tenants: the x-tsink-tenant header (X-Scope-OrgID alias), the reserved __tsink_tenant__ label stamped on every
// write, and the scoping of every read (extra matcher in, label stripped out), including the PromQL source.
import type { SeriesBatch, SeriesSource, SeriesSelection as PromqlSelection, SelectedSeries } from "../promql/source.js";
import { type Label, MAX_LABEL_VALUE_BYTES, TENANT_LABEL } from "../protocols/series-validation.js";
import { type TimestampPrecision, toMillis, scaleMillis } from "../protocols/timestamp-precision.js";
import type { SeriesMatcher, SeriesSelection } from "../storage/types.js";
import { HttpError } from "./http-error.js";
import type { ServerStorage } from "./storage.js";

const DEFAULT_TENANT = "default";

/** A header's value as one string (Node joins most repeated headers itself; a few arrive as arrays). */
function headerValue(v: string | string[] | undefined): string | undefined {
  return Array.isArray(v) ? v.join(",") : v;
}

/** Resolves and validates the request's tenant id (400 for an invalid or conflicting one). */
export function resolveTenant(headers: Record<string, string | string[] | undefined>): string {
  const tenant = headerValue(headers["x-tsink-tenant"]);
  const orgId = headerValue(headers["x-scope-orgid"]);
  if (tenant === undefined && orgId === undefined) return DEFAULT_TENANT;
  if (tenant !== undefined && orgId !== undefined && tenant !== orgId) {
    throw new HttpError(400, `x-tsink-tenant ${JSON.stringify(tenant)} and X-Scope-OrgID ${JSON.stringify(orgId)} disagree`);
  }
  const id = (tenant ?? orgId)!;
  if (id.length === 0) throw new HttpError(400, "invalid tenant id: x-tsink-tenant must not be empty");
  if (id.startsWith("__")) throw new HttpError(400, `invalid tenant id ${JSON.stringify(id.slice(0, 64))}: must not start with "__"`);
  if (/[\u0000-\u001f\u007f]/.test(id)) throw new HttpError(400, "invalid tenant id: control characters are not allowed");
  if (Buffer.byteLength(id) > MAX_LABEL_VALUE_BYTES) throw new HttpError(400, `invalid tenant id: longer than ${MAX_LABEL_VALUE_BYTES} bytes`);
  return id;
}

/**
 * The read matcher of a tenant. The default tenant also sees series without the label (written before tenancy, e.g.
 * by the embedded library into the same data path): a missing label matches "" as in Prometheus.
 */
const DEFAULT_TENANT_MATCHER: SeriesMatcher = { name: TENANT_LABEL, op: "=~", value: `${DEFAULT_TENANT}|` };

function tenantMatcher(tenant: string): SeriesMatcher {
  return tenant === DEFAULT_TENANT ? DEFAULT_TENANT_MATCHER : { name: TENANT_LABEL, op: "=", value: tenant };
}

/** The matchers of a selection plus the tenant's (a new array: the caller's is left alone). */
function withTenantMatcher(matchers: readonly SeriesMatcher[] | undefined, tenant: string): SeriesMatcher[] {
  const scoped = matchers === undefined ? [] : matchers.slice();
  scoped.push(tenantMatcher(tenant));
  return scoped;
}

/** The selection restricted to one tenant. */
export function scopeSelection(selection: SeriesSelection, tenant: string): SeriesSelection {
  return { ...selection, matchers: withTenantMatcher(selection.matchers, tenant) };
}

export function stripTenantLabel(labels: readonly Label[]): Label[] {
  return labels.filter((l) => l.name !== TENANT_LABEL);
}

/** The label stamped on every series a tenant writes. */
export function tenantLabel(tenant: string): Label {
  return { name: TENANT_LABEL, value: tenant };
}

/**
 * Converts a Unix-ms range bound (start inclusive or end exclusive) to the storage precision. For seconds the
 * bound rounds up: second S lies in [start, end) ms exactly when ceil(start/1000) <= S < ceil(end/1000).
 */
export function msToStorage(ms: number, precision: TimestampPrecision): number | bigint {
  return precision === "s" ? Math.ceil(ms / 1000) : scaleMillis(Math.ceil(ms), precision);
}

/** PromQL-ready label lists: `__name__` included, the tenant label left out (storage builds and keeps them per series). */
const LABEL_OPTIONS = { metricLabel: true, omitLabel: TENANT_LABEL } as const;

/** The PromQL engine's view of one tenant's data: ms timestamps, tenant matcher added, tenant label removed. */
export class TenantSeriesSource implements SeriesSource {
  constructor(
    private readonly storage: ServerStorage,
    private readonly tenant: string,
    private readonly precision: TimestampPrecision,
  ) {}

  // Built property by property (no spreads, no destructuring: each request runs this in unoptimised code at first).
  private scoped(selection: PromqlSelection): SeriesSelection {
    const scoped: SeriesSelection = { metric: selection.metric, matchers: withTenantMatcher(selection.matchers, this.tenant) };
    if (selection.start !== undefined) scoped.start = msToStorage(selection.start, this.precision);
    if (selection.end !== undefined) scoped.end = msToStorage(selection.end, this.precision);
    return scoped;
  }

  async selectColumns(selection: PromqlSelection, start: number, end: number): Promise<SelectedSeries[]> {
    // Labels come back with __name__ in place and without the tenant label: no per-series copies here.
    const columns = await this.storage.selectColumns(this.scoped(selection), msToStorage(start, this.precision), msToStorage(end, this.precision), LABEL_OPTIONS);
    if (this.precision !== "ms") for (const c of columns) c.timestamps = timestampsToMillis(c.timestamps, this.precision);
    return columns as SelectedSeries[];
  }

  /** Batches in WASM memory for the range kernels; millisecond storage only (other precisions use selectColumns). */
  selectBatches(
    selection: PromqlSelection, start: number, end: number, maxPoints: number, onBatch: (batch: SeriesBatch) => void | Promise<void>,
  ): Promise<boolean> {
    if (this.precision !== "ms") return Promise.resolve(false);
    return this.storage.selectBatches(this.scoped(selection), msToStorage(start, "ms"), msToStorage(end, "ms"), maxPoints, onBatch, LABEL_OPTIONS);
  }
}

export function timestampsToMillis(ts: Float64Array | BigInt64Array, precision: TimestampPrecision): Float64Array {
  if (precision === "ms" && ts instanceof Float64Array) return ts;
  const out = new Float64Array(ts.length);
  for (let i = 0; i < ts.length; i++) out[i] = toMillis(ts[i]!, precision);
  return out;
}
