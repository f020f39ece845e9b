// Prometheus HTTP API JSON encoding: Go-compatible float and timestamp spelling and the query result shapes,
// written as JSON text directly so values come out byte-identical to Prometheus' jsonutil marshalling.
import { GrowableBytes } from "../encoding/growable-bytes.js";
import type { InstantSample, QueryData, QueryResult, RangeSeries } from "../promql/result.js";

export interface Label {
  name: string;
  value: string;
}

/**
 * Go's strconv.FormatFloat(v, 'f' or 'e', -1, 64) as Prometheus' MarshalFloat picks it: exponent form below 1e-6
 * and from 1e21 up; NaN, +Inf, -Inf spelled out; -0 kept.
 */
export function formatFloat(v: number): string {
  if (Number.isInteger(v) && v !== 0 && v < 1e21 && v > -1e21) return String(v); // the common case, no exponent form
  if (Number.isNaN(v)) return "NaN";
  if (v === Infinity) return "+Inf";
  if (v === -Infinity) return "-Inf";
  if (v === 0) return Object.is(v, -0) ? "-0" : "0";
  // JS switches to exponent form at exactly the same thresholds; only the exponent needs Go's two-digit minimum.
  const s = String(v);
  const e = s.indexOf("e");
  if (e < 0) return s;
  const sign = s[e + 1] === "-" ? "-" : "+";
  const digits = s.slice(e + 2);
  return `${s.slice(0, e)}e${sign}${digits.length < 2 ? `0${digits}` : digits}`;
}

/** Prometheus' MarshalTimestamp: Unix ms as seconds with up to three fraction digits (".500", ".005"). */
export function formatTimestamp(ms: number): string {
  let t = Math.trunc(ms);
  let out = "";
  if (t < 0) {
    out = "-";
    t = -t;
  }
  out += String(Math.trunc(t / 1000));
  const fraction = t % 1000;
  if (fraction !== 0) out += fraction < 10 ? `.00${fraction}` : fraction < 100 ? `.0${fraction}` : `.${fraction}`;
  return out;
}

/** `{"__name__":"x","a":"b"}` with labels in the given (sorted) order. */
export function labelsJson(labels: readonly Label[]): string {
  let out = "{";
  for (let i = 0; i < labels.length; i++) {
    if (i > 0) out += ",";
    out += `${JSON.stringify(labels[i]!.name)}:${JSON.stringify(labels[i]!.value)}`;
  }
  return `${out}}`;
}

/** A growing byte buffer that JSON text is written into (ASCII fast path; other text as UTF-8). */
class JsonWriter extends GrowableBytes {

  /** Text known to be ASCII (numbers, punctuation, already-escaped JSON of ASCII strings). */
  ascii(s: string): void {
    const n = s.length;
    this.reserve(n);
    const buf = this.buf;
    let p = this.length;
    for (let i = 0; i < n; i++) buf[p++] = s.charCodeAt(i);
    this.length = p;
  }

  /** Any text, UTF-8 encoded. */
  text(s: string): void {
    this.reserve(s.length * 3);
    this.length += this.buf.write(s, this.length, "utf8");
  }

  /** A JSON string literal: printable ASCII without `"` and `\` is copied as is, anything else goes through JSON.stringify. */
  string(s: string): void {
    for (let i = 0; i < s.length; i++) {
      const c = s.charCodeAt(i);
      if (c < 0x20 || c > 0x7e || c === 0x22 || c === 0x5c) {
        this.text(JSON.stringify(s));
        return;
      }
    }
    this.reserve(s.length + 2);
    this.buf[this.length++] = 0x22;
    this.ascii(s);
    this.buf[this.length++] = 0x22;
  }

  /** formatFloat(v). */
  float(v: number): void {
    this.reserve(MAX_FLOAT_BYTES);
    oneValue[0] = v;
    this.length = writeFloat(this.buf, this.length, oneValue, 0);
  }

  /**
   * The points of one series, `[<ts>,"<value>"]` comma-separated, with each `[<ts>,"` prefix taken from `prefixes`
   * by the point's index (see writeQueryData).
   */
  points(prefixes: readonly Uint8Array[], values: Float64Array, n: number): void {
    let need = 0;
    for (let i = 0; i < n; i++) need += prefixes[i]!.length;
    this.reserve(need + n * (MAX_FLOAT_BYTES + 3));
    const buf = this.buf;
    let p = this.length;
    for (let i = 0; i < n; i++) {
      if (i > 0) buf[p++] = 0x2c;
      const prefix = prefixes[i]!;
      for (let j = 0; j < prefix.length; j++) buf[p++] = prefix[j]!;
      p = writeFloat(buf, p, values, i);
      buf[p++] = 0x22;
      buf[p++] = 0x5d;
    }
    this.length = p;
  }
}

/** Most bytes writeFloat writes: a sign, 17 significant digits, a point and leading zeros, or an exponent. */
const MAX_FLOAT_BYTES = 32;
/** Single values go through writeFloat as element 0 of this array. */
const oneValue = new Float64Array(1);
const POW10 = [1, 10, 100, 1e3, 1e4, 1e5, 1e6];
/** Below this, integers and the fast path's scaled values are exact doubles with room to spare (2^50). */
const EXACT = 1125899906842624;

/**
 * Writes formatFloat(values[i]) at `p` (MAX_FLOAT_BYTES free) and returns the end; the value is read here, not
 * passed, since a double crossing a call that is not inlined is boxed (one heap object per value written).
 * Integers below 2^50 and values with at most six fraction digits are spelled from integer digits without making a
 * string; the rest take JS's shortest round-trip spelling (Go's 'f' spelling from 1e-6 up to 1e21), or formatFloat.
 * The fast path spells the same digits as String(v): it picks the fewest fraction digits k for which
 * round(|v| * 10^k) / 10^k is v again (IEEE division is correctly rounded, so that decimal parses back to v); below
 * 2^50 the doubles around v are closer together than 10^-k, so no other k-digit decimal parses to v, and fewer
 * fraction digits means fewer significant digits, which is what the shortest round-trip spelling minimises.
 */
function writeFloat(buf: Buffer, p: number, values: Float64Array, i: number): number {
  const v = values[i]!;
  const a = v < 0 ? -v : v;
  if (a >= 1e-6 && a < EXACT) {
    if (v < 0) buf[p++] = 0x2d;
    const s6 = a * 1e6;
    if (s6 < EXACT) {
      // a cheap pre-test: with at most six fraction digits, a * 10^6 is an integer up to rounding errors
      const r6 = Math.round(s6);
      const off = s6 - r6;
      if (off <= s6 * 5e-16 && off >= -s6 * 5e-16) {
        for (let k = 0; k <= 6; k++) {
          const scale = POW10[k]!;
          const r = k === 6 ? r6 : Math.round(a * scale);
          if (r / scale !== a) continue;
          // r / 10^k with exactly k fraction digits; the helpers get integers below 2^30 (small integers, not boxed)
          const whole = Math.floor(r / scale);
          const hi = Math.floor(whole / 1e9);
          p = writeUint(buf, p, hi, whole - hi * 1e9);
          if (k === 0) return p;
          buf[p++] = 0x2e;
          return writeDigits(buf, p, r - whole * scale, k);
        }
      }
    } else if (Number.isInteger(a)) {
      const hi = Math.floor(a / 1e9);
      return writeUint(buf, p, hi, a - hi * 1e9);
    }
    return writeAscii(buf, p, String(a));
  }
  return writeAscii(buf, p, formatFloat(v)); // NaN, ±Inf, ±0, exponent forms, large integers
}

function writeAscii(buf: Buffer, p: number, s: string): number {
  for (let i = 0; i < s.length; i++) buf[p++] = s.charCodeAt(i);
  return p;
}

/** The decimal digits of hi * 10^9 + lo (0 <= hi < 2^30, 0 <= lo < 10^9). */
function writeUint(buf: Buffer, p: number, hi: number, lo: number): number {
  if (hi === 0) return writeDigits(buf, p, lo, digitCount(lo));
  p = writeDigits(buf, p, hi, digitCount(hi));
  return writeDigits(buf, p, lo, 9);
}

function digitCount(n: number): number {
  let len = 1;
  for (let t = n; t >= 10; t = (t / 10) | 0) len++;
  return len;
}

/** Exactly `len` digits of 0 <= n < 2^31 (zero-padded on the left). */
function writeDigits(buf: Buffer, p: number, n: number, len: number): number {
  let q = p + len;
  let x = n | 0;
  while (q > p) {
    const d = (x / 10) | 0;
    buf[--q] = 0x30 + x - d * 10;
    x = d;
  }
  return p + len;
}

function writeLabels(w: JsonWriter, labels: readonly Label[]): void {
  w.ascii("{");
  for (let i = 0; i < labels.length; i++) {
    if (i > 0) w.ascii(",");
    w.string(labels[i]!.name);
    w.ascii(":");
    w.string(labels[i]!.value);
  }
  w.ascii("}");
}

function writeSamplePair(w: JsonWriter, ms: number, value: number): void {
  w.ascii(`[${formatTimestamp(ms)},"`);
  w.float(value);
  w.ascii('"]');
}

function writeQueryData(w: JsonWriter, result: QueryData): void {
  switch (result.resultType) {
    case "scalar":
      w.ascii('{"resultType":"scalar","result":');
      writeSamplePair(w, result.value[0], result.value[1]);
      break;
    case "string":
      w.ascii(`{"resultType":"string","result":[${formatTimestamp(result.value[0])},`);
      w.string(result.value[1]);
      w.ascii("]");
      break;
    case "vector":
      writeVector(w, result.result);
      break;
    case "matrix":
      writeMatrix(w, result.result);
      break;
  }
  w.ascii("}");
}

// (the vector and matrix loops in functions of their own: V8 compiles each when it gets hot, smaller and sooner
// than one writeQueryData holding every case)

function writeVector(w: JsonWriter, result: readonly InstantSample[]): void {
  w.ascii('{"resultType":"vector","result":[');
  for (let k = 0; k < result.length; k++) {
    const s = result[k]!;
    w.ascii(k > 0 ? ',{"metric":' : '{"metric":');
    writeLabels(w, s.labels);
    w.ascii(',"value":');
    writeSamplePair(w, s.timestamp, s.value);
    w.ascii("}");
  }
  w.ascii("]");
}

function writeMatrix(w: JsonWriter, result: readonly RangeSeries[]): void {
  // Series of a range query share the step timestamps: the `[<ts>,"` prefix at point i is formatted once and
  // reused by every later series whose i-th timestamp is the same.
  // (a typed array: a JS array of doubles compared here boxed ~36 bytes of garbage per point)
  let longest = 0;
  for (const s of result) longest = Math.max(longest, s.timestamps.length);
  const prefixTs = new Float64Array(longest).fill(NaN);
  const prefixes: Uint8Array[] = [];
  w.ascii('{"resultType":"matrix","result":[');
  for (let k = 0; k < result.length; k++) {
    const s = result[k]!;
    w.ascii(k > 0 ? ',{"metric":' : '{"metric":');
    writeLabels(w, s.labels);
    w.ascii(',"values":[');
    const n = s.timestamps.length;
    for (let i = 0; i < n; i++) {
      const ms = s.timestamps[i]!;
      if (prefixTs[i] !== ms) {
        prefixTs[i] = ms;
        prefixes[i] = Buffer.from(`[${formatTimestamp(ms)},"`, "latin1");
      }
    }
    w.points(prefixes, s.values, n);
    w.ascii("]}");
  }
  w.ascii("]");
}

/** Bytes a result's JSON likely takes, so the writer rarely grows (and copies) the buffer while writing. */
function sizeEstimate(result: QueryData): number {
  let n = 1024;
  if (result.resultType === "matrix") for (const s of result.result) n += 64 * s.labels.length + 40 * s.timestamps.length;
  else if (result.resultType === "vector") for (const s of result.result) n += 64 * s.labels.length + 48;
  return n;
}

/**
 * The whole success response of a query or query_range call as UTF-8 bytes:
 * `{"status":"success","data":{...}}` plus warnings and infos when there are any.
 */
export function querySuccessBody(result: QueryResult): Buffer {
  const w = new JsonWriter(sizeEstimate(result));
  w.ascii('{"status":"success","data":');
  writeQueryData(w, result);
  if (result.warnings.length > 0) w.text(`,"warnings":${JSON.stringify(result.warnings)}`);
  if (result.infos.length > 0) w.text(`,"infos":${JSON.stringify(result.infos)}`);
  w.ascii("}");
  return w.finish();
}

/** `{"status":"success","data":<dataJson>}` (plus warnings and infos when there are any). */
export function successJson(dataJson: string, warnings: readonly string[] = [], infos: readonly string[] = []): string {
  const w = warnings.length > 0 ? `,"warnings":${JSON.stringify(warnings)}` : "";
  const i = infos.length > 0 ? `,"infos":${JSON.stringify(infos)}` : "";
  return `{"status":"success","data":${dataJson}${w}${i}}`;
}

export function errorJson(errorType: string, message: string): string {
  return JSON.stringify({ status: "error", errorType, error: message });
}

/**
 * Gives the number writer type feedback from every shape of value before the first response. V8 optimises `points`,
 * `writeFloat`, `writeUint` and `writeDigits` on the first large matrix a server writes; a value of a shape that
 * matrix lacked (integers above 2^31 after fractional rates: peerbench's q07 after q02) then finds no feedback for
 * its branch, deoptimises them and has them compiled again while queries wait for the CPU. Writing a few small
 * results of all shapes once at load (well under a millisecond, too little to get anything compiled) records feedback
 * for every branch, so the code compiled later covers them all.
 */
function seedTypeFeedback(): void {
  const shapes = [
    0.25, 1234.5678, -3, 7, 100, 6442450944, 4294967296123, 2 ** 50, 2 ** 52 + 2, 1e-7, 3.5e-5, 1e21, 1.5e300, NaN, Infinity,
    -Infinity, 0, -0, 0.1 + 0.2, 123456789.123, -987654.321,
  ];
  const values = Float64Array.from(shapes);
  const timestamps = values.map((_, i) => 1_700_000_000_000 + i * 15_500);
  const labels = [{ name: "__name__", value: "seed" }];
  const matrix: QueryResult = { resultType: "matrix", result: [{ labels, timestamps, values }], warnings: [], infos: [] };
  const vector: QueryResult = {
    resultType: "vector", result: Array.from(values, (value, i) => ({ labels, timestamp: timestamps[i]!, value })), warnings: [], infos: [],
  };
  // V8 allocates a function's feedback vector only after its first 8 calls or so
  const scalar: QueryResult = { resultType: "scalar", value: [timestamps[0]!, 0.5], warnings: [], infos: [] };
  const string: QueryResult = { resultType: "string", value: [timestamps[0]!, "seed"], warnings: [], infos: [] };
  for (let round = 0; round < 10; round++) for (const result of [matrix, vector, scalar, string]) querySuccessBody(result);
}
seedTypeFeedback();
