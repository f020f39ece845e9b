// Bearer-token authentication by request scope (probe / admin / public): 401/403 with WWW-Authenticate and
// X-Tsink-Auth-Error-Code as the contract lists, and constant-time token comparison. On the InfluxDB routes the
// same token may also come the ways Influx clients send it (Token scheme, Basic password, `p` query parameter).
import { createHash, timingSafeEqual } from "node:crypto";
import { HttpError } from "./http-error.js";

export type RequestScope = "probe" | "admin" | "public";

/**
 * Probes answer without a token: the contract's `/healthz` and `/ready`, and InfluxDB's own probes `/ping` and
 * `/health`, which InfluxDB serves unauthenticated too (health checkers and `influx ping` send no token).
 */
export function scopeOfPath(path: string): RequestScope {
  if (path === "/healthz" || path === "/ready" || path === "/ping" || path === "/health") return "probe";
  if (path.startsWith("/api/v1/admin/")) return "admin";
  return "public";
}

function digest(token: string): Buffer {
  return createHash("sha256").update(token).digest();
}

/** Compares tokens in time independent of where they differ (fixed-length digests through timingSafeEqual). */
function tokensEqual(presented: string, expected: Buffer): boolean {
  return timingSafeEqual(digest(presented), expected);
}

/** `Authorization: Bearer <t>`: the scheme matched case-insensitively, the token trimmed. */
export function bearerToken(header: string | undefined): string | undefined {
  if (!header) return undefined;
  const m = /^\s*bearer\s+(.*)$/is.exec(header);
  const token = m?.[1]?.trim();
  return token ? token : undefined;
}

/** The InfluxDB-compatible routes, where Influx clients' ways of sending credentials are accepted too. */
const INFLUX_PATHS = new Set(["/write", "/api/v2/write", "/query", "/api/v2/buckets"]);

/**
 * The token a request presents. Everywhere: `Authorization: Bearer <t>`. On the Influx routes also
 * `Authorization: Token <t>` (InfluxDB 2 clients), `Authorization: Basic base64(user:<t>)` and the `p=<t>` query
 * parameter (InfluxDB 1 clients with username/password: the user name is ignored, the password is the token).
 * A header wins over the query parameter.
 */
export function presentedToken(path: string, header: string | undefined, querystring: string): string | undefined {
  const bearer = bearerToken(header);
  if (bearer !== undefined || !INFLUX_PATHS.has(path)) return bearer;
  const m = header ? /^\s*(token|basic)\s+(.*)$/is.exec(header) : null;
  if (m) {
    let token = m[2]!.trim();
    if (m[1]!.toLowerCase() === "basic") {
      const decoded = Buffer.from(token, "base64").toString("utf8");
      const colon = decoded.indexOf(":");
      token = colon < 0 ? "" : decoded.slice(colon + 1).trim();
    }
    return token ? token : undefined;
  }
  const p = new URLSearchParams(querystring).get("p")?.trim(); // parsed only here: other paths never look
  return p ? p : undefined;
}

/** Paths that write data (a tenant token needs the "write" scope there, "read" everywhere else). */
const WRITE_PATHS = new Set(["/api/v1/write", "/api/v1/import/prometheus", "/write", "/api/v2/write", "/v1/metrics"]);

/**
 * The scope a tenant token needs on a path. /query: none up front (CREATE DATABASE is a no-op any token may send,
 * as agents with write-only tokens do at startup); the route asks for "read" where a statement reads.
 * /api/v2/buckets: the route asks for "read" (GET) or "write" (POST).
 */
export function tokenScopeOfPath(path: string): "read" | "write" | undefined {
  if (path === "/query" || path === "/api/v2/buckets") return undefined;
  return WRITE_PATHS.has(path) ? "write" : "read";
}

export function denied(status: 401 | 403, code: string, message: string): HttpError {
  const headers: Record<string, string> = { "X-Tsink-Auth-Error-Code": code };
  if (status === 401) headers["WWW-Authenticate"] = "Bearer";
  return new HttpError(status, message, { errorType: status === 401 ? "unauthorized" : "forbidden", headers, json: true });
}

export class Authenticator {
  private readonly publicDigest?: Buffer;
  private readonly adminDigest?: Buffer;
  private readonly separateAdminToken: boolean;

  constructor(tokens: { authToken?: string; adminAuthToken?: string }) {
    if (tokens.authToken) this.publicDigest = digest(tokens.authToken);
    const admin = tokens.adminAuthToken ?? tokens.authToken;
    if (admin) this.adminDigest = digest(admin);
    this.separateAdminToken = tokens.adminAuthToken !== undefined;
  }

  /** Throws the 401/403 HttpError for a request (presenting `token`, if any) that may not proceed. */
  check(scope: RequestScope, token: string | undefined): void {
    if (scope === "probe") return;
    if (scope === "public") {
      if (!this.publicDigest) return;
      if (token === undefined) throw denied(401, "auth_token_missing", "bearer token required");
      if (!tokensEqual(token, this.publicDigest)) throw denied(401, "auth_token_invalid", "bearer token is not valid");
      return;
    }
    if (!this.adminDigest) return;
    if (token === undefined) throw denied(401, "admin_auth_token_missing", "admin bearer token required");
    if (tokensEqual(token, this.adminDigest)) return;
    if (this.separateAdminToken && this.publicDigest && tokensEqual(token, this.publicDigest)) {
      throw denied(403, "auth_scope_denied", "the public token may not be used on admin endpoints");
    }
    throw denied(401, "admin_auth_token_invalid", "admin bearer token is not valid");
  }
}
