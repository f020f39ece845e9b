// Request parameter parsing shared by the query, metadata and admin routes: Prometheus time values
// (Unix seconds or RFC 3339), step durations (seconds or Go/Prometheus duration strings), integer limits.
import { HttpError } from "./http-error.js";

const RFC3339_RE = /^\d{4}-\d{2}-\d{2}[Tt ]\d{2}:\d{2}:\d{2}(?:\.\d+)?(?:[Zz]|[+-]\d{2}:\d{2})$/;

/** Parses `time`/`start`/`end`: float Unix seconds or RFC 3339. Returns Unix ms (rounded to the millisecond). */
export function parseTimeParam(name: string, raw: string): number {
  const text = raw.trim();
  if (/^[+-]?(?:\d+\.?\d*|\.\d+)(?:[eE][+-]?\d+)?$/.test(text)) {
    const seconds = Number(text);
    const ms = Math.round(seconds * 1000);
    if (Number.isSafeInteger(ms)) return ms;
  } else if (RFC3339_RE.test(text)) {
    const ms = Date.parse(text);
    if (Number.isFinite(ms)) return ms;
  }
  throw HttpError.badData(`invalid parameter "${name}": cannot parse ${JSON.stringify(raw)} to a valid timestamp`);
}

const DURATION_UNITS_MS: Record<string, number> = {
  ns: 1e-6, us: 1e-3, "µs": 1e-3, ms: 1, s: 1000, m: 60_000, h: 3_600_000, d: 86_400_000, w: 604_800_000, y: 31_536_000_000,
};
const DURATION_SEGMENT_RE = /(\d+(?:\.\d+)?)(ns|us|µs|ms|s|m|h|d|w|y)/y;

/** Go/Prometheus duration string (`15s`, `1m30s`, `1500ms`) to ms; undefined when it is not one. */
function parseDurationMs(text: string): number | undefined {
  if (text.length === 0) return undefined;
  let total = 0;
  DURATION_SEGMENT_RE.lastIndex = 0;
  let at = 0;
  while (at < text.length) {
    DURATION_SEGMENT_RE.lastIndex = at;
    const m = DURATION_SEGMENT_RE.exec(text);
    if (!m) return undefined;
    total += Number(m[1]) * DURATION_UNITS_MS[m[2]!]!;
    at = DURATION_SEGMENT_RE.lastIndex;
  }
  return total;
}

/** Parses `step` (or `timeout`): float seconds or a duration string. Returns ms. */
export function parseDurationParam(name: string, raw: string): number {
  const text = raw.trim();
  let ms: number | undefined;
  if (/^[+-]?(?:\d+\.?\d*|\.\d+)(?:[eE][+-]?\d+)?$/.test(text)) ms = Number(text) * 1000;
  else ms = parseDurationMs(text);
  if (ms === undefined || !Number.isFinite(ms)) {
    throw HttpError.badData(`invalid parameter "${name}": cannot parse ${JSON.stringify(raw)} to a valid duration`);
  }
  return Math.round(ms);
}

/** Optional non-negative integer parameter (0 or absent = no limit). */
export function parseLimitParam(name: string, raw: string | null, max = Number.MAX_SAFE_INTEGER): number | undefined {
  if (raw === null || raw === "") return undefined;
  if (!/^\d+$/.test(raw.trim())) throw HttpError.badData(`invalid parameter "${name}": ${JSON.stringify(raw)} is not a non-negative integer`);
  const n = Number(raw);
  if (n === 0) return undefined;
  return Math.min(n, max);
}

/** Request parameters by name, the first value of each (URLSearchParams is one). */
export interface Params {
  get(name: string): string | null;
}

class FirstValues implements Params {
  constructor(private readonly values: Map<string, string>) {}

  get(name: string): string | null {
    return this.values.get(name) ?? null;
  }
}

const PLUS_RE = /\+/g;

/**
 * The parameters of a query string, as URLSearchParams reads them ("&"-separated, "+" is a space, percent-escapes
 * decoded, empty pieces skipped), through the engine's builtins (split, indexOf, decodeURIComponent) rather than
 * URLSearchParams' parser, which runs in JavaScript and, on a fresh server, in the interpreter. A string that
 * decodeURIComponent refuses (a malformed escape, bytes that are not UTF-8) is read by URLSearchParams, which keeps
 * or replaces what it cannot decode; where both decode, they agree.
 */
export function queryParams(querystring: string): Params {
  const values = new Map<string, string>();
  if (querystring.length === 0) return new FirstValues(values);
  const pieces = querystring.split("&");
  try {
    for (let i = 0; i < pieces.length; i++) {
      const piece = pieces[i]!;
      if (piece.length === 0) continue;
      const eq = piece.indexOf("=");
      const name = decodeComponent(eq < 0 ? piece : piece.slice(0, eq));
      if (!values.has(name)) values.set(name, eq < 0 ? "" : decodeComponent(piece.slice(eq + 1)));
    }
  } catch {
    return new URLSearchParams(querystring);
  }
  return new FirstValues(values);
}

function decodeComponent(text: string): string {
  return decodeURIComponent(text.indexOf("+") < 0 ? text : text.replace(PLUS_RE, " "));
}

export function requireParam(params: Params, name: string): string {
  const v = params.get(name);
  if (v === null || v === "") throw HttpError.badData(`missing required parameter "${name}"`);
  return v;
}
