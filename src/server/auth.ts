// Bearer-token authentication by request scope (probe / admin / public): 401/403 with WWW-Authenticate and
// X-Tsink-Auth-Error-Code as the contract lists, and constant-time token comparison.
import { createHash, timingSafeEqual } from "node:crypto";
import { HttpError } from "./http-error.js";

export type RequestScope = "probe" | "admin" | "public";

export function scopeOfPath(path: string): RequestScope {
  if (path === "/healthz" || path === "/ready") return "probe";
  if (path.startsWith("/api/v1/admin/")) return "admin";
  return "public";
}

function digest(token: string): Buffer {
  return createHash("sha256").update(token).digest();
}

/** Compares tokens in time independent of where they differ (fixed-length digests through timingSafeEqual). */
export function tokensEqual(presented: string, expected: Buffer): boolean {
  return timingSafeEqual(digest(presented), expected);
}

/** `Authorization: Bearer <t>`: the scheme matched case-insensitively, the token trimmed. */
export function bearerToken(header: string | undefined): string | undefined {
  if (!header) return undefined;
  const m = /^\s*bearer\s+(.*)$/is.exec(header);
  const token = m?.[1]?.trim();
  return token ? token : undefined;
}

/** Paths that write data (a tenant token needs the "write" scope there, "read" everywhere else). */
const WRITE_PATHS = new Set(["/api/v1/write", "/api/v1/import/prometheus", "/write", "/api/v2/write", "/v1/metrics"]);

export function tokenScopeOfPath(path: string): "read" | "write" {
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

  /** Throws the 401/403 HttpError for a request that may not proceed. */
  check(scope: RequestScope, authorization: string | undefined): void {
    if (scope === "probe") return;
    const token = bearerToken(authorization);
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
