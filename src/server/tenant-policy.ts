// Per-tenant policy from --tenant-config (reference §6): camelCase JSON `{defaults, tenants: {id: {...}}}`, unknown
// fields rejected, a tenant missing from the file inherits `defaults`. Quotas (413 when exceeded), in-flight
// admission budgets (503), and tenant bearer tokens with read/write scopes, checked before the global token and never
// valid for another tenant.
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
const UNSUPPORTED_SECTIONS = ["cluster"];

/** In-flight request budgets of one tenant, on top of the global ones (refused at once when full: 503). */
export interface TenantAdmission {
  maxInflightReads?: number;
  maxInflightWrites?: number;
}
const ADMISSION_KEYS: readonly (keyof TenantAdmission)[] = ["maxInflightReads", "maxInflightWrites"];

export type TokenScope = "read" | "write";

interface TenantToken {
  tenant: string;
  digest: Buffer;
  scopes: readonly TokenScope[];
}

const digestOf = (token: string) => createHash("sha256").update(token).digest();

export interface TenantPolicy {
  quotas: TenantQuotas;
  admission: TenantAdmission;
}

export class TenantPolicies {
  constructor(
    private readonly defaults: TenantPolicy = { quotas: {}, admission: {} },
    private readonly tenants: ReadonlyMap<string, TenantPolicy> = new Map(),
    private readonly tokens: readonly TenantToken[] = [],
  ) {}

  quotas(tenant: string): TenantQuotas {
    return (this.tenants.get(tenant) ?? this.defaults).quotas;
  }

  admission(tenant: string): TenantAdmission {
    return (this.tenants.get(tenant) ?? this.defaults).admission;
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

function limitsAt<K extends string>(value: unknown, where: string, keys: readonly K[], into: Partial<Record<K, number>>): void {
  for (const [key, limit] of Object.entries(objectAt(value, where))) {
    if (!keys.includes(key as K)) throw new Error(`unknown field ${where}.${key} (known: ${keys.join(", ")})`);
    if (limit === null) {
      delete into[key as K];
      continue;
    }
    if (!Number.isSafeInteger(limit) || (limit as number) <= 0) throw new Error(`${where}.${key} must be a positive integer or null`);
    into[key as K] = limit as number;
  }
}

function policyAt(value: unknown, where: string, inherited: TenantPolicy, tokens?: { tenant: string; into: TenantToken[] }): TenantPolicy {
  const entry = objectAt(value, where);
  const policy: TenantPolicy = { quotas: { ...inherited.quotas }, admission: { ...inherited.admission } };
  for (const key of Object.keys(entry)) {
    if (UNSUPPORTED_SECTIONS.includes(key)) throw new Error(`${where}.${key} is not supported by this tsink-server build (quotas, admission and auth are)`);
    if (key === "auth") {
      if (!tokens) throw new Error(`${where}.auth is not allowed: tenant tokens belong to one tenant`);
      tokens.into.push(...tokensAt(entry.auth, `${where}.auth`, tokens.tenant));
    } else if (key === "quotas") limitsAt(entry.quotas, `${where}.quotas`, QUOTA_KEYS, policy.quotas);
    else if (key === "admission") limitsAt(entry.admission, `${where}.admission`, ADMISSION_KEYS, policy.admission);
    else throw new Error(`unknown field ${where}.${key}`);
  }
  return policy;
}

/** Parses a tenant config document; throws an Error naming the offending field. */
function parseTenantPolicies(text: string): TenantPolicies {
  let doc: Record<string, unknown>;
  try {
    doc = objectAt(JSON.parse(text), "the tenant config");
  } catch (err) {
    throw new Error(`invalid JSON: ${(err as Error).message}`);
  }
  for (const key of Object.keys(doc)) if (key !== "defaults" && key !== "tenants") throw new Error(`unknown field ${key} (expected defaults, tenants)`);
  const empty: TenantPolicy = { quotas: {}, admission: {} };
  const defaults = doc.defaults === undefined ? empty : policyAt(doc.defaults, "defaults", empty);
  const tenants = new Map<string, TenantPolicy>();
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
