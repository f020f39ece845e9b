// Prometheus text exposition parser for /api/v1/import/prometheus: `name{l="v"} value [timestamp]` lines to
// sample columns (storage's SampleColumns, with the series keys cached across requests), and the OpenMetrics
// exemplars that follow a sample (` # {labels} value [timestamp]`).
// Hand-written (no maintained JS parser of the format exists that reports line-precise errors); runs on a char index.
import { ProtocolError } from "./errors.js";
import { type DecodedExemplar, validateExemplarLabels } from "./exemplars.js";
import type { TimestampPrecision } from "./timestamp-precision.js";
import { type Label, METRIC_NAME_LABEL, excerpt, validateSeries } from "./series-validation.js";
import { SeriesKey } from "../storage/types.js";
import { SampleColumnsBuilder } from "./sample-columns.js";

export interface ParsedTextImport {
  columns: SampleColumnsBuilder;
  /** OpenMetrics exemplars (` # {labels} value [ts]` after a sample), attached to the sample's series. */
  exemplars: DecodedExemplar[];
}

const utf8 = new TextDecoder("utf-8", { fatal: true });
const FLOAT_RE = /^[+-]?(?:(?:\d+\.?\d*|\.\d+)(?:[eE][+-]?\d+)?|0[xX][0-9a-fA-F]+)$/;
const SPECIAL_FLOATS: Record<string, number> = {
  nan: NaN, inf: Infinity, "+inf": Infinity, "-inf": -Infinity,
  infinity: Infinity, "+infinity": Infinity, "-infinity": -Infinity,
};

/** Parses a Go-ParseFloat-compatible number (NaN, ±Inf in any case); undefined when not a number. */
export function parseSampleValue(text: string): number | undefined {
  if (FLOAT_RE.test(text)) return Number(text);
  const special = SPECIAL_FLOATS[text.toLowerCase()];
  return special;
}

/**
 * Parses a whole text exposition body. Timestamps are raw integers in the server's precision (as the reference
 * does, no conversion); a line without one gets `defaultTimestamp`. `#` lines (HELP, TYPE, comments) are skipped.
 * Any bad line throws a ProtocolError naming the line, and nothing is returned. `extraLabel` is added to every series.
 * An exemplar's timestamp is OpenMetrics' (Unix seconds, fractions allowed), converted to `precision`; without one
 * it gets the sample's timestamp.
 */
export function parsePrometheusText(
  body: Uint8Array,
  defaultTimestamp: number | bigint,
  extraLabel?: Label,
  precision: TimestampPrecision = typeof defaultTimestamp === "bigint" ? "ns" : "ms",
): ParsedTextImport {
  let text: string;
  try {
    text = utf8.decode(body);
  } catch {
    throw new ProtocolError("malformed", "text import body is not valid UTF-8");
  }
  const columns = new SampleColumnsBuilder(typeof defaultTimestamp === "bigint", Math.min(1 << 16, (body.length >>> 5) + 16));
  const exemplars: DecodedExemplar[] = [];
  let lineNo = 0;
  let pos = 0;
  while (pos < text.length) {
    let end = text.indexOf("\n", pos);
    if (end < 0) end = text.length;
    lineNo++;
    const line = text.charCodeAt(end - 1) === 13 ? text.slice(pos, end - 1) : text.slice(pos, end);
    pos = end + 1;
    parseLine(line, lineNo, defaultTimestamp, extraLabel, precision, columns, exemplars);
  }
  return { columns, exemplars };
}

function isSpace(c: number): boolean {
  return c === 32 || c === 9;
}

function isNameChar(c: number, first: boolean, allowColon: boolean): boolean {
  return (
    (c >= 97 && c <= 122) || (c >= 65 && c <= 90) || c === 95 || (allowColon && c === 58) || (!first && c >= 48 && c <= 57)
  );
}

function failLine(line: string, lineNo: number, what: string): never {
  throw new ProtocolError("malformed", `line ${lineNo}: ${what}: ${excerpt(line, 120)}`);
}

// Import bodies repeat the same series text ("name{labels}") request after request: parsing and validating it once
// and finding it again by that text (per extra-label value) skips the label work for every later sample, and the
// same SeriesKey every time lets the storage resolve the series once.
const SERIES_CACHE_LIMIT = 50_000;
const seriesCache = new Map<string, Map<string, SeriesKey>>();

/** Index just after the series part (`name` or `name{...}`) that starts at `start`; -1 for an unterminated `{`. */
function seriesEnd(line: string, start: number): number {
  const n = line.length;
  let i = start;
  while (i < n && isNameChar(line.charCodeAt(i), i === start, true)) i++;
  if (i >= n || line.charCodeAt(i) !== 123 /* { */) return i;
  let inQuote = false;
  for (i++; i < n; i++) {
    const c = line.charCodeAt(i);
    if (inQuote) {
      if (c === 92 /* \ */) i++;
      else if (c === 34) inQuote = false;
    } else if (c === 34) inQuote = true;
    else if (c === 125 /* } */) return i + 1;
  }
  return -1;
}

/** Parses and validates the series text (name and labels) of one line. */
function parseSeries(text: string, line: string, lineNo: number, extraLabel: Label | undefined): SeriesKey {
  const fail = (what: string): never => failLine(line, lineNo, what);
  let i = 0;
  while (i < text.length && isNameChar(text.charCodeAt(i), i === 0, true)) i++;
  let metric = text.slice(0, i);
  const labels: Label[] = [];
  if (i < text.length) parseLabels(text, i + 1, labels, fail);
  else if (metric.length === 0) fail("expected a metric name");
  const nameIdx = labels.findIndex((l) => l.name === METRIC_NAME_LABEL);
  if (nameIdx >= 0) {
    if (metric.length > 0) fail("metric name given twice (before the braces and as __name__)");
    metric = labels[nameIdx]!.value;
    labels.splice(nameIdx, 1);
  }
  if (metric.length === 0) fail("missing metric name");
  try {
    return new SeriesKey(metric, validateSeries(metric, labels, extraLabel));
  } catch (err) {
    return fail((err as Error).message);
  }
}

/** Appends the sample of one line to `out` and its exemplar to `exemplars` (nothing for blank and `#` lines). */
function parseLine(
  line: string,
  lineNo: number,
  defaultTimestamp: number | bigint,
  extraLabel: Label | undefined,
  precision: TimestampPrecision,
  out: SampleColumnsBuilder,
  exemplars: DecodedExemplar[],
): void {
  let i = 0;
  const n = line.length;
  while (i < n && isSpace(line.charCodeAt(i))) i++;
  if (i === n || line.charCodeAt(i) === 35 /* # */) return;

  const end = seriesEnd(line, i);
  if (end < 0) failLine(line, lineNo, "unterminated label set");
  const text = line.slice(i, end);
  const extraValue = extraLabel?.value ?? "";
  let cache = seriesCache.get(extraValue);
  if (!cache) seriesCache.set(extraValue, (cache = new Map()));
  let series = cache.get(text);
  if (!series) {
    series = parseSeries(text, line, lineNo, extraLabel);
    if (cache.size >= SERIES_CACHE_LIMIT) cache.clear();
    cache.set(text, series);
  }
  i = end;

  if (i >= n || !isSpace(line.charCodeAt(i))) failLine(line, lineNo, "expected whitespace and a value after the series");
  while (i < n && isSpace(line.charCodeAt(i))) i++;
  const valueStart = i;
  while (i < n && !isSpace(line.charCodeAt(i))) i++;
  const valueText = line.slice(valueStart, i);
  if (valueText.length === 0) failLine(line, lineNo, "missing sample value");
  const value = parseSampleValue(valueText);
  if (value === undefined) failLine(line, lineNo, `invalid sample value ${excerpt(valueText)}`);

  while (i < n && isSpace(line.charCodeAt(i))) i++;
  let timestamp: number | bigint = defaultTimestamp;
  if (i < n && line.charCodeAt(i) !== 35) {
    const tsStart = i;
    while (i < n && !isSpace(line.charCodeAt(i))) i++;
    const tsText = line.slice(tsStart, i);
    if (!/^-?\d+$/.test(tsText)) failLine(line, lineNo, `invalid timestamp ${excerpt(tsText)} (expected an integer)`);
    if (typeof defaultTimestamp === "bigint") {
      // Nanosecond precision: 64-bit integers, beyond what a number holds exactly.
      const big = BigInt(tsText);
      if (big < -(2n ** 63n) || big >= 2n ** 63n) failLine(line, lineNo, `invalid timestamp ${excerpt(tsText)}: outside the signed 64-bit range`);
      timestamp = big;
    } else {
      const ts = Number(tsText);
      if (!Number.isSafeInteger(ts)) failLine(line, lineNo, `invalid timestamp ${excerpt(tsText)}: must be an integer within ±2^53`);
      timestamp = ts;
    }
    while (i < n && isSpace(line.charCodeAt(i))) i++;
  }
  if (i < n) {
    if (line.charCodeAt(i) !== 35) failLine(line, lineNo, "unexpected text after the timestamp");
    exemplars.push(parseExemplar(line, i + 1, lineNo, series, timestamp, precision));
  }
  out.add(series, timestamp, value!);
}

/** Parses ` {labels} value [timestamp]` starting after the `#`. */
function parseExemplar(line: string, start: number, lineNo: number, series: SeriesKey, sampleTs: number | bigint, precision: TimestampPrecision): DecodedExemplar {
  const fail = (what: string): never => failLine(line, lineNo, what);
  const n = line.length;
  let i = start;
  while (i < n && isSpace(line.charCodeAt(i))) i++;
  if (line.charCodeAt(i) !== 123) fail("expected an exemplar `# {labels} value [timestamp]` after the sample");
  const labels: Label[] = [];
  i = parseLabels(line, i + 1, labels, fail);
  if (i >= n || !isSpace(line.charCodeAt(i))) fail("expected whitespace and a value after the exemplar labels");
  const fields = line.slice(i).trim().split(/[ \t]+/);
  if (fields.length > 2) fail("unexpected text after the exemplar timestamp");
  const value = parseSampleValue(fields[0]!);
  if (value === undefined) fail(`invalid exemplar value ${excerpt(fields[0]!)}`);
  let timestamp = sampleTs;
  if (fields.length === 2) {
    const ts = secondsToPrecision(fields[1]!, precision);
    if (ts === undefined) fail(`invalid exemplar timestamp ${excerpt(fields[1]!)} (expected Unix seconds)`);
    timestamp = ts!;
  }
  let valid: Label[] = [];
  try {
    valid = validateExemplarLabels(labels, "exemplar");
  } catch (err) {
    fail((err as Error).message);
  }
  return { series, labels: valid, timestamp, value: value! };
}

const DIGITS: Record<TimestampPrecision, number> = { s: 0, ms: 3, us: 6, ns: 9 };

/** Decimal Unix seconds (`1700000000.123`) in `precision`, exactly (fraction digits beyond it truncated); undefined when malformed or out of range. */
function secondsToPrecision(text: string, precision: TimestampPrecision): number | bigint | undefined {
  const m = /^(-?)(\d+)(?:\.(\d*))?$/.exec(text);
  if (!m) return undefined;
  const digits = DIGITS[precision];
  const units = BigInt(m[2]! + (m[3] ?? "").slice(0, digits).padEnd(digits, "0"));
  const signed = m[1] ? -units : units;
  if (precision === "ns") return signed >= -(2n ** 63n) && signed < 2n ** 63n ? signed : undefined;
  const out = Number(signed);
  return Number.isSafeInteger(out) ? out : undefined;
}

/** Parses `name="value",...}` starting after `{`; returns the index after `}`. */
function parseLabels(line: string, start: number, out: Label[], fail: (what: string) => never): number {
  let i = start;
  const n = line.length;
  for (;;) {
    while (i < n && isSpace(line.charCodeAt(i))) i++;
    if (i >= n) fail("unterminated label set");
    if (line.charCodeAt(i) === 125 /* } */) return i + 1;
    let name: string;
    if (line.charCodeAt(i) === 34) {
      const q = parseQuoted(line, i + 1, fail);
      name = q.value;
      i = q.end;
    } else {
      const nameStart = i;
      while (i < n && isNameChar(line.charCodeAt(i), i === nameStart, false)) i++;
      name = line.slice(nameStart, i);
      if (name.length === 0) fail("expected a label name");
    }
    while (i < n && isSpace(line.charCodeAt(i))) i++;
    if (line.charCodeAt(i) !== 61 /* = */) fail(`expected "=" after label name ${excerpt(name)}`);
    i++;
    while (i < n && isSpace(line.charCodeAt(i))) i++;
    if (line.charCodeAt(i) !== 34 /* " */) fail(`expected a quoted value for label ${excerpt(name)}`);
    const q = parseQuoted(line, i + 1, fail);
    out.push({ name, value: q.value });
    i = q.end;
    while (i < n && isSpace(line.charCodeAt(i))) i++;
    const c = line.charCodeAt(i);
    if (c === 44 /* , */) i++;
    else if (c !== 125) fail(`expected "," or "}" after the value of label ${excerpt(name)}`);
  }
}

/** Parses a double-quoted string body starting after the opening quote; escapes \\ \" \n. */
function parseQuoted(line: string, start: number, fail: (what: string) => never): { value: string; end: number } {
  let i = start;
  let value = "";
  let chunkStart = i;
  for (;;) {
    if (i >= line.length) fail("unterminated quoted string");
    const c = line.charCodeAt(i);
    if (c === 34) {
      value += line.slice(chunkStart, i);
      return { value, end: i + 1 };
    }
    if (c === 92 /* \ */) {
      value += line.slice(chunkStart, i);
      const e = line[i + 1];
      if (e === "\\") value += "\\";
      else if (e === '"') value += '"';
      else if (e === "n") value += "\n";
      else fail(`invalid escape sequence \\${e ?? ""} in a quoted string`);
      i += 2;
      chunkStart = i;
      continue;
    }
    i++;
  }
}
