// Per-tenant policy from --tenant-config (reference §6): camelCase JSON `{defaults, tenants: {id: {...}}}`, unknown
// fields rejected, a tenant missing from the file inherits `defaults`. Quotas (413 when exceeded) and tenant bearer
// tokens with read/write scopes, which are checked before the global token and never cross tenants.
import { createHash, timingSafeEqual } from "node:crypto";
import { readFileSync } from "node:fs";
import { HttpError } from "./http-error.js";

export interface TenantQuotas {
  maxWriteRowsPerRequest?: number;
  maxReadQueriesPerRequest?: number;
  maxMetadataMatchersPerRequest?: number;
  maxQueryLengthBytes?: number;
  maxRangePointsPerQuery?: number;
}

const QUOTA_KEYS: readonly (keyof TenantQuotas)[] = [
  "maxWriteRowsPerRequest", "maxReadQueriesPerRequest", "maxMetadataMatchersPerRequest", "maxQueryLengthBytes", "maxRangePointsPerQuery",
];
/** Sections of the reference's tenant file this build does not enforce: refused rather than silently ignored. */
const UNSUPPORTED_SECTIONS = ["admission", "cluster"];

export type TokenScope = "read" | "write";

interface TenantToken {
  tenant: string;
  digest: Buffer;
  scopes: readonly TokenScope[];
}

const digestOf = (token: string) => createHash("sha256").update(token).digest();

export class TenantPolicies {
  constructor(
    private readonly defaults: TenantQuotas = {},
    private readonly tenants: ReadonlyMap<string, TenantQuotas> = new Map(),
    private readonly tokens: readonly TenantToken[] = [],
  ) {}

  quotas(tenant: string): TenantQuotas {
    return this.tenants.get(tenant) ?? this.defaults;
  }

  get hasTokens(): boolean {
    return this.tokens.length > 0;
  }

  /** The tenant token equal to `token` (every configured token is compared, in constant time each). */
  tokenOwner(token: string): { tenant: string; scopes: readonly TokenScope[] } | undefined {
    const digest = digestOf(token);
    let owner: TenantToken | undefined;
    for (const t of this.tokens) if (timingSafeEqual(t.digest, digest) && !owner) owner = t;
    return owner;
  }
}

function objectAt(value: unknown, where: string): Record<string, unknown> {
  if (value === null || typeof value !== "object" || Array.isArray(value)) throw new Error(`${where} must be an object`);
  return value as Record<string, unknown>;
}

function tokensAt(value: unknown, where: string, tenant: string): TenantToken[] {
  const auth = objectAt(value, where);
  for (const key of Object.keys(auth)) if (key !== "tokens") throw new Error(`unknown field ${where}.${key}`);
  if (!Array.isArray(auth.tokens)) throw new Error(`${where}.tokens must be an array`);
  return auth.tokens.map((raw, i) => {
    const t = objectAt(raw, `${where}.tokens[${i}]`);
    for (const key of Object.keys(t)) if (key !== "token" && key !== "scopes") throw new Error(`unknown field ${where}.tokens[${i}].${key}`);
    if (typeof t.token !== "string" || t.token.trim() === "") throw new Error(`${where}.tokens[${i}].token must be a non-empty string`);
    const scopes = t.scopes;
    if (!Array.isArray(scopes) || scopes.length === 0 || !scopes.every((s) => s === "read" || s === "write")) {
      throw new Error(`${where}.tokens[${i}].scopes must be a non-empty array of "read" and "write"`);
    }
    return { tenant, digest: digestOf(t.token.trim()), scopes: scopes as TokenScope[] };
  });
}

function policyAt(value: unknown, where: string, inherited: TenantQuotas, tokens?: { tenant: string; into: TenantToken[] }): TenantQuotas {
  const entry = objectAt(value, where);
  for (const key of Object.keys(entry)) {
    if (UNSUPPORTED_SECTIONS.includes(key)) throw new Error(`${where}.${key} is not supported by this tsink-server build (quotas and auth are)`);
    if (key === "auth") {
      if (!tokens) throw new Error(`${where}.auth is not allowed: tenant tokens belong to one tenant`);
      tokens.into.push(...tokensAt(entry.auth, `${where}.auth`, tokens.tenant));
    } else if (key !== "quotas") throw new Error(`unknown field ${where}.${key}`);
  }
  const quotas: TenantQuotas = { ...inherited };
  if (entry.quotas === undefined) return quotas;
  const q = objectAt(entry.quotas, `${where}.quotas`);
  for (const [key, limit] of Object.entries(q)) {
    if (!QUOTA_KEYS.includes(key as keyof TenantQuotas)) throw new Error(`unknown field ${where}.quotas.${key} (known: ${QUOTA_KEYS.join(", ")})`);
    if (limit === null) {
      delete quotas[key as keyof TenantQuotas];
      continue;
    }
    if (!Number.isSafeInteger(limit) || (limit as number) <= 0) throw new Error(`${where}.quotas.${key} must be a positive integer or null`);
    quotas[key as keyof TenantQuotas] = limit as number;
  }
  return quotas;
}

/** Parses a tenant config document; throws an Error naming the offending field. */
export function parseTenantPolicies(text: string): TenantPolicies {
  let doc: Record<string, unknown>;
  try {
    doc = objectAt(JSON.parse(text), "the tenant config");
  } catch (err) {
    throw new Error(`invalid JSON: ${(err as Error).message}`);
  }
  for (const key of Object.keys(doc)) if (key !== "defaults" && key !== "tenants") throw new Error(`unknown field ${key} (expected defaults, tenants)`);
  const defaults = doc.defaults === undefined ? {} : policyAt(doc.defaults, "defaults", {});
  const tenants = new Map<string, TenantQuotas>();
  const tokens: TenantToken[] = [];
  if (doc.tenants !== undefined) {
    for (const [id, entry] of Object.entries(objectAt(doc.tenants, "tenants"))) {
      tenants.set(id, policyAt(entry, `tenants.${id}`, defaults, { tenant: id, into: tokens }));
    }
  }
  return new TenantPolicies(defaults, tenants, tokens);
}

export function loadTenantPolicies(path: string): TenantPolicies {
  return parseTenantPolicies(readFileSync(path, "utf8"));
}

/** Throws 413 when `actual` exceeds the tenant's `quota` (undefined = unlimited). */
export function enforceQuota(
  quota: keyof TenantQuotas,
  limit: number | undefined,
  actual: number,
  options: { json: boolean; headers?: Record<string, string> },
): void {
  if (limit === undefined || actual <= limit) return;
  throw new HttpError(413, `tenant quota ${quota} exceeded: ${actual} > ${limit}`, { errorType: "bad_data", ...options });
}
