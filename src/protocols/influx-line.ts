// InfluxDB line protocol (v1 /write and v2 /api/v2/write bodies) to rows: the full line grammar (backslash escapes,
// quoted string fields, i/u suffixes, booleans, optional timestamp, precision), measurement+field naming and tags
// as labels (reference §4.5). Hand-written: no maintained JS parser reports line-precise errors without allocating
// a point object per line. One bad line rejects the whole body (nothing is half-applied).
import { ProtocolError } from "./errors.js";
import { normaliseLabelName, normaliseMetricName } from "./legacy-names.js";
import type { IngestRow, TimestampPrecision } from "./rows.js";
import { type Label, MAX_METRIC_NAME_BYTES, METRIC_NAME_LABEL, excerpt, validateSeries } from "./series-validation.js";

export type InfluxPrecision = "ns" | "us" | "ms" | "s" | "m" | "h";

const INFLUX_PRECISIONS: Record<string, InfluxPrecision> = { ns: "ns", n: "ns", u: "us", us: "us", ms: "ms", s: "s", m: "m", h: "h" };

/** The `precision` query parameter (default ns when absent, as the reference); ProtocolError for anything else. */
export function parseInfluxPrecision(raw: string | null | undefined): InfluxPrecision {
  if (raw === null || raw === undefined || raw === "") return "ns";
  const p = INFLUX_PRECISIONS[raw.toLowerCase()];
  if (!p) throw new ProtocolError("malformed", `unsupported precision ${excerpt(raw)} (expected ns, u, us, ms, s, m or h)`);
  return p;
}

export interface InfluxParseOptions {
  precision: InfluxPrecision;
  serverPrecision: TimestampPrecision;
  /** Timestamp of lines without one, in the server precision. */
  now: number | bigint;
  /** More non-empty lines than this → ProtocolError("too_large"). */
  maxLines: number;
  /** Labels added to every series (influx_db, influx_rp, influx_bucket, influx_org). */
  extraLabels?: Label[];
  /** The tenant label (not validated, merged in sorted). */
  tenantLabel?: Label;
}

export interface ParsedInflux {
  rows: IngestRow[];
  /** Distinct metric names written (the route records them as gauges in the metadata store). */
  metrics: Set<string>;
}

const NS_PER: Record<InfluxPrecision, bigint> = { ns: 1n, us: 1000n, ms: 1_000_000n, s: 1_000_000_000n, m: 60_000_000_000n, h: 3_600_000_000_000n };
const DIGITS_OF: Record<string, number> = { ns: 0, us: 3, ms: 6, s: 9 };
const I64_MIN = -(2n ** 63n);
const I64_MAX = 2n ** 63n - 1n;
const U64_MAX = 2n ** 64n - 1n;
const INT_RE = /^-?\d+$/;
const UINT_RE = /^\d+$/;
const FLOAT_RE = /^[+-]?(?:\d+\.?\d*|\.\d+)(?:[eE][+-]?\d+)?$/;
const BOOLEANS = new Set(["t", "true", "f", "false"]);
const utf8 = new TextDecoder("utf-8", { fatal: true });

class LineError extends Error {}

interface SeriesEntry {
  measurement: string;
  labels: Label[];
  /** Metric name per raw field key. */
  fields: Map<string, string>;
}

// Parsed series keys (measurement + tag set as written) and field metric names, kept across requests: agents send
// the same series every interval, so most lines skip tag parsing and validation. Keyed by the request's extra
// labels and tenant (which change the label set); cleared whole when full.
const SERIES_CACHE_LIMIT = 200_000;
const seriesCaches = new Map<string, Map<string, SeriesEntry>>();
let cachedSeries = 0;

function seriesCacheFor(opts: InfluxParseOptions): Map<string, SeriesEntry> {
  let context = opts.tenantLabel ? opts.tenantLabel.value : "";
  for (const l of opts.extraLabels ?? []) context += `\u0000${l.name}=${l.value}`;
  let cache = seriesCaches.get(context);
  if (!cache) seriesCaches.set(context, (cache = new Map()));
  return cache;
}

function rememberSeries(cache: Map<string, SeriesEntry>, key: string, entry: SeriesEntry): void {
  if (++cachedSeries > SERIES_CACHE_LIMIT) {
    for (const c of seriesCaches.values()) c.clear();
    cachedSeries = 1;
  }
  cache.set(key, entry);
}

/**
 * Parses a whole body. Blank lines and `#` comments are skipped; every other line must parse, or a ProtocolError
 * names the (1-based) line and why, and no row is returned.
 */
export function parseInfluxLines(body: Uint8Array, opts: InfluxParseOptions): ParsedInflux {
  let text: string;
  try {
    text = utf8.decode(body);
  } catch {
    throw new ProtocolError("malformed", "line protocol body is not valid UTF-8");
  }
  const rows: IngestRow[] = [];
  const metrics = new Set<string>();
  const series = seriesCacheFor(opts);
  let lines = 0;
  let lineNo = 0;
  let pos = 0;
  const len = text.length;
  // Lines are parsed in place (indices into the body), so a good line costs no substrings but its series key,
  // field value and (rarely) field name.
  while (pos < len) {
    let end = text.indexOf("\n", pos);
    if (end < 0) end = len;
    lineNo++;
    let s = pos;
    let e = end;
    pos = end + 1;
    while (s < e && isSpace(text.charCodeAt(s))) s++;
    while (e > s && isSpace(text.charCodeAt(e - 1))) e--;
    if (s === e) continue;
    if (++lines > opts.maxLines) {
      throw new ProtocolError("too_large", `request has more than ${opts.maxLines} lines (TSINK_INFLUX_LINE_PROTOCOL_MAX_LINES_PER_REQUEST)`);
    }
    if (text.charCodeAt(s) === 35 /* # */) continue;
    try {
      parseLine(text, s, e, opts, rows, metrics, series);
    } catch (err) {
      if (err instanceof LineError || err instanceof ProtocolError) {
        throw new ProtocolError("malformed", `line ${lineNo}: ${err.message}: ${excerpt(text.slice(s, e), 120)}`);
      }
      throw err;
    }
  }
  return { rows, metrics };
}

function isSpace(c: number): boolean {
  return c === 32 || c === 9 || c === 13 || c === 11 || c === 12;
}

/** Index of the first `stop` char in [from, end) not preceded by a backslash (or `end`). */
function scanUnescaped(text: string, from: number, end: number, stop1: number, stop2: number, stop3 = stop2): number {
  let i = from;
  while (i < end) {
    const c = text.charCodeAt(i);
    if (c === 92 /* \ */) i += 2;
    else if (c === stop1 || c === stop2 || c === stop3) return i;
    else i++;
  }
  return end;
}

/** Removes the backslash of `\,` `\=` `\ ` `\"` and `\\`; any other backslash is literal (line protocol rules). */
function unescape(raw: string): string {
  if (raw.indexOf("\\") < 0) return raw;
  let out = "";
  for (let i = 0; i < raw.length; i++) {
    const c = raw[i]!;
    const next = raw[i + 1];
    if (c === "\\" && (next === "," || next === "=" || next === " " || next === '"' || next === "\\")) {
      out += next;
      i++;
    } else out += c;
  }
  return out;
}

function parseSeries(key: string, opts: InfluxParseOptions): SeriesEntry {
  let comma = scanUnescaped(key, 0, key.length, 44, 44);
  const rawMeasurement = unescape(key.slice(0, comma));
  if (rawMeasurement.length === 0) throw new LineError("missing measurement");
  const measurement = normaliseMetricName(rawMeasurement);
  const labels: Label[] = opts.extraLabels ? [...opts.extraLabels] : [];
  while (comma < key.length) {
    const start = comma + 1;
    comma = scanUnescaped(key, start, key.length, 44, 44);
    const eq = scanUnescaped(key, start, comma, 61, 61);
    if (eq >= comma) throw new LineError(`tag ${excerpt(key.slice(start, comma))} is missing '='`);
    const rawName = unescape(key.slice(start, eq));
    const value = unescape(key.slice(eq + 1, comma));
    if (rawName.length === 0) throw new LineError("empty tag key");
    if (value.length === 0) throw new LineError(`tag ${excerpt(rawName)} has an empty value`);
    const name = normaliseLabelName(rawName);
    if (name === METRIC_NAME_LABEL) throw new LineError(`tag ${METRIC_NAME_LABEL} is reserved`);
    labels.push({ name, value });
  }
  return { measurement, labels: validateSeries(measurement, labels, opts.tenantLabel), fields: new Map() };
}

function parseLine(
  text: string,
  start: number,
  n: number,
  opts: InfluxParseOptions,
  rows: IngestRow[],
  metrics: Set<string>,
  seriesCache: Map<string, SeriesEntry>,
): void {
  const keyEnd = scanUnescaped(text, start, n, 32, 9);
  if (keyEnd >= n) throw new LineError("missing field section");
  const key = text.slice(start, keyEnd);
  let series = seriesCache.get(key);
  if (!series) {
    series = parseSeries(key, opts);
    rememberSeries(seriesCache, key, series);
  }
  let i = keyEnd;
  while (i < n && (text.charCodeAt(i) === 32 || text.charCodeAt(i) === 9)) i++;

  // Field section: name=value pairs up to the first unescaped, unquoted space.
  const fieldStart = rows.length;
  for (;;) {
    let rawField: string;
    if (text.startsWith("value=", i)) {
      rawField = "value";
      i += 6;
    } else {
      const eq = scanUnescaped(text, i, n, 61, 32, 44);
      if (eq >= n || text.charCodeAt(eq) !== 61) throw new LineError(`field ${excerpt(text.slice(i, eq))} is missing '='`);
      rawField = unescape(text.slice(i, eq));
      if (rawField.length === 0) throw new LineError("empty field key");
      i = eq + 1;
    }
    let value: number;
    if (text.charCodeAt(i) === 34 /* " */) {
      i++;
      while (i < n && text.charCodeAt(i) !== 34) i += text.charCodeAt(i) === 92 ? 2 : 1;
      if (i >= n) throw new LineError(`field ${excerpt(rawField)} has an unterminated string value`);
      throw new LineError(`field ${excerpt(rawField)}: string field values are not supported`);
    } else {
      const valueStart = i;
      while (i < n) {
        const c = text.charCodeAt(i);
        if (c === 44 || c === 32 || c === 9) break;
        i++;
      }
      value = parseFieldValue(text.slice(valueStart, i), rawField);
    }
    let metric = rawField === "value" ? series.measurement : series.fields.get(rawField);
    if (metric === undefined) {
      metric = `${series.measurement}_${normaliseMetricName(rawField)}`;
      if (metric.length > MAX_METRIC_NAME_BYTES) throw new LineError(`metric name longer than ${MAX_METRIC_NAME_BYTES} bytes`);
      if (series.fields.size >= 1024) series.fields.clear();
      series.fields.set(rawField, metric);
    }
    metrics.add(metric);
    rows.push({ metric, labels: series.labels, dataPoint: { timestamp: opts.now, value } });
    if (i >= n || text.charCodeAt(i) !== 44) break;
    i++;
  }
  while (i < n && (text.charCodeAt(i) === 32 || text.charCodeAt(i) === 9)) i++;
  if (i < n) {
    const timestamp = fastTimestamp(text, i, n, opts) ?? convertTimestamp(text.slice(i, n), opts.precision, opts.serverPrecision);
    for (let r = fieldStart; r < rows.length; r++) rows[r]!.dataPoint.timestamp = timestamp;
  }
}

/**
 * The common case of convertTimestamp without substrings: plain digits, a power-of-ten conversion to a non-ns
 * server precision, and at most 15 digits kept (exact in a double). undefined → take the general path.
 */
function fastTimestamp(text: string, i: number, n: number, opts: InfluxParseOptions): number | undefined {
  if (opts.serverPrecision === "ns") return undefined;
  const from = DIGITS_OF[opts.precision];
  if (from === undefined) return undefined;
  const drop = DIGITS_OF[opts.serverPrecision]! - from;
  if (drop < 0) return undefined;
  const negative = text.charCodeAt(i) === 45;
  const first = negative ? i + 1 : i;
  const keep = n - first - drop;
  // more than 18 digits may lie outside int64: the general path checks the range
  if (n === first || keep > 15 || n - first > 18) return undefined;
  let v = 0;
  for (let k = first; k < n; k++) {
    const d = text.charCodeAt(k) - 48;
    if (d < 0 || d > 9) return undefined;
    if (k < first + keep) v = v * 10 + d;
  }
  return negative && v !== 0 ? -v : v;
}

function parseFieldValue(text: string, field: string): number {
  if (text.length === 0) throw new LineError(`field ${excerpt(field)} has no value`);
  const last = text.charCodeAt(text.length - 1);
  if (last === 105 /* i */) {
    const digits = text.slice(0, -1);
    if (!INT_RE.test(digits) || (digits.length > 15 && (BigInt(digits) < I64_MIN || BigInt(digits) > I64_MAX))) {
      throw new LineError(`field ${excerpt(field)} has an invalid integer value ${excerpt(text)}`);
    }
    return Number(digits);
  }
  if (last === 117 /* u */) {
    const digits = text.slice(0, -1);
    if (!UINT_RE.test(digits) || (digits.length > 15 && BigInt(digits) > U64_MAX)) {
      throw new LineError(`field ${excerpt(field)} has an invalid unsigned integer value ${excerpt(text)}`);
    }
    return Number(digits);
  }
  if (FLOAT_RE.test(text)) {
    const v = Number(text);
    if (!Number.isFinite(v)) throw new LineError(`field ${excerpt(field)} value ${excerpt(text)} is not finite`);
    return v;
  }
  if (BOOLEANS.has(text.toLowerCase())) throw new LineError(`field ${excerpt(field)}: boolean field values are not supported`);
  throw new LineError(`field ${excerpt(field)} has an invalid value ${excerpt(text)}`);
}

/**
 * A line's timestamp (integer in `precision`) in the server precision, truncated toward zero as the reference's
 * integer division. bigint for a nanosecond server, a safe-integer number otherwise.
 */
export function convertTimestamp(text: string, precision: InfluxPrecision, server: TimestampPrecision): number | bigint {
  if (!INT_RE.test(text)) throw new LineError(`invalid timestamp ${excerpt(text)} (expected an integer)`);
  if (text.length > 18 && (BigInt(text) < I64_MIN || BigInt(text) > I64_MAX)) throw new LineError(`timestamp ${excerpt(text)} is out of range`);
  const drop = server === "ns" ? -1 : (DIGITS_OF[server]! - (DIGITS_OF[precision] ?? 99));
  if (drop >= 0) {
    // Powers of ten only: truncating digits is exact integer division, no bigint needed.
    const negative = text.charCodeAt(0) === 45;
    const digits = negative ? text.slice(1) : text;
    const kept = digits.length > drop ? Number(digits.slice(0, digits.length - drop)) : 0;
    if (Number.isSafeInteger(kept)) return negative && kept !== 0 ? -kept : kept;
    throw new LineError(`timestamp ${excerpt(text)} is out of range`);
  }
  const scaled = (BigInt(text) * NS_PER[precision]) / NS_PER[server];
  if (scaled < I64_MIN || scaled > I64_MAX) throw new LineError(`timestamp ${excerpt(text)} is out of range`);
  if (server === "ns") return scaled;
  const v = Number(scaled);
  if (!Number.isSafeInteger(v)) throw new LineError(`timestamp ${excerpt(text)} is out of range`);
  return v;
}
