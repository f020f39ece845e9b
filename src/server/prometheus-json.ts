// Prometheus HTTP API JSON encoding: Go-compatible float and timestamp spelling and the query result shapes,
// written as JSON text directly so values come out byte-identical to Prometheus' jsonutil marshalling.
import { GrowableBytes } from "../encoding/growable-bytes.js";
import { loadWasm, memoryViews } from "../wasm/loader.js";
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

  /** One ASCII byte (punctuation). */
  byte(c: number): void {
    this.reserve(1);
    this.buf[this.length++] = c;
  }

  /**
   * A JSON string literal: printable ASCII without `"` and `\` is copied as is, in the same pass that checks it;
   * anything else goes through JSON.stringify, written over the bytes copied so far.
   */
  string(s: string): void {
    const n = s.length;
    this.reserve(n + 2);
    const buf = this.buf;
    let p = this.length;
    buf[p++] = 0x22;
    for (let i = 0; i < n; i++) {
      const c = s.charCodeAt(i);
      if (c < 0x20 || c > 0x7e || c === 0x22 || c === 0x5c) {
        this.text(JSON.stringify(s));
        return;
      }
      buf[p++] = c;
    }
    buf[p++] = 0x22;
    this.length = p;
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
/** The bits of a double written to `bits64[0]`: `bits32[1]` holds its sign, exponent and top of the significand. */
const bits64 = new Float64Array(1);
const bits32 = new Uint32Array(bits64.buffer);
/** Half an ulp of the doubles whose binary exponent is e (0 <= e <= 52): 2^(e-53). */
const HALF_ULP = Float64Array.from({ length: 53 }, (_, e) => 2 ** (e - 53));
const TWO_53 = 9007199254740992;

/**
 * Writes formatFloat(values[i]) at `p` (MAX_FLOAT_BYTES free) and returns the end; the value is read here, not
 * passed, since a double crossing a call that is not inlined is boxed (one heap object per value written).
 * Values from 8 up to 2^53 (counters, byte gauges, their deltas and rates) take writeFixed's exact shortest digits,
 * those from 1e-6 up to 8 (ratios, rates, small gauges) writeShortest's; the rest formatFloat. Exported for the
 * property test and bench/prometheus-json.mjs.
 */
export function writeFloat(buf: Buffer, p: number, values: Float64Array, i: number): number {
  const v = values[i]!;
  const a = v < 0 ? -v : v;
  if (a >= 8 && a < TWO_53) {
    if (v < 0) buf[p++] = 0x2d;
    const end = writeFixed(buf, p, a);
    if (end > 0) return end;
    return writeTie(buf, p, values, i);
  }
  if (a >= 1e-6 && a < 8) {
    if (v < 0) buf[p++] = 0x2d;
    return writeShortest(buf, p, values, i);
  }
  return writeAscii(buf, p, formatFloat(v)); // NaN, ±Inf, ±0, exponent forms, integers from 2^53
}

const wasm = loadWasm();
/** The WASM Schubfach (assembly/text/shortest_decimal.ts): writes |v|'s text at SHORTEST_OUT, returns its length. */
const shortestFixed = wasm.shortestFixed as (v: number) => number;
const SHORTEST_OUT = (wasm.shortestFixedOut as () => number)();
/** Linear memory as 32-bit words (re-taken when memory grew); SHORTEST_OUT is 4-byte aligned. */
let memoryWords = memoryViews().i32;

/**
 * The shortest round-trip spelling of 1e-6 <= |values[i]| < 8 in Go's 'f' form (what String(v) gives there), from
 * the WASM Schubfach, copied out of linear memory four bytes a word (up to three bytes past the text are written
 * too: inside writeFloat's MAX_FLOAT_BYTES, and overwritten next): about half the CPU of String(v) and a byte copy,
 * and no heap string per value. Reads the value itself, like writeTie, so no double crosses a call boxed.
 */
function writeShortest(buf: Buffer, p: number, values: Float64Array, i: number): number {
  const v = values[i]!;
  const n = shortestFixed(v < 0 ? -v : v);
  let words = memoryWords;
  if (words.length === 0) words = memoryWords = memoryViews().i32;
  for (let j = 0, w = SHORTEST_OUT >> 2; j < n; j += 4, w++) {
    const x = words[w]!;
    buf[p + j] = x;
    buf[p + j + 1] = x >> 8;
    buf[p + j + 2] = x >> 16;
    buf[p + j + 3] = x >>> 24;
  }
  return p + n;
}

/**
 * writeFloat's String(|values[i]|) after writeFixed gave up (a tie), in a function of its own that reads the value
 * again: in writeFloat, `a` was live across the writeFixed call for this rare use, so V8 kept it as a heap number,
 * one per value written (16 bytes of garbage per point of every value from 8 up).
 */
function writeTie(buf: Buffer, p: number, values: Float64Array, i: number): number {
  const v = values[i]!;
  return writeAscii(buf, p, String(v < 0 ? -v : v));
}

/**
 * The shortest round-trip spelling of 8 <= a < 2^53 at `p`, or 0 where it leaves it to String(a) (two closest
 * candidates equally far from a). All arithmetic here is exact: a = w + f with f a multiple of a's ulp 2^E
 * (E = e - 52 >= -49), so f * 10 stays below 2^53 ulps and each fraction digit and the rest g_k of f * 10^k after it
 * come out exact; h_k = ulp / 2 * 10^k is 5^k * 2^(E-1+k), exact for k <= 22. A decimal parses back to a when it
 * lies within half an ulp of it, so with k fraction digits the truncation w.d1..dk qualifies when g_k < h_k and the
 * next decimal up when 1 - g_k < h_k, both distances scaled by 10^k. (A decimal exactly half an ulp away would
 * parse to a only if a's significand were even, but it has 1 - E fraction digits, more than this loop reaches.)
 * The first k where one qualifies gives the fewest digits; where both do, the closer one (as JS and Go pick). That
 * k's last digit is never a 9 when the one up is taken, nor a 0 when the truncation is: that decimal would have
 * qualified one digit earlier, so rounding up carries nothing. One always qualifies once h_k > 1/2, i.e. once
 * 10^k > 2^-E, so w's digits and the k fraction digits are at most 17 together.
 */
function writeFixed(buf: Buffer, p: number, a: number): number {
  const w = Math.floor(a);
  const hi = Math.floor(w / 1e9);
  p = writeUint(buf, p, hi, w - hi * 1e9);
  let g = a - w;
  if (g === 0) return p;
  bits64[0] = a;
  let h = HALF_ULP[(bits32[1]! >>> 20) - 1023]!;
  buf[p++] = 0x2e;
  for (;;) {
    const t = g * 10;
    const d = Math.floor(t);
    g = t - d;
    h *= 10;
    buf[p++] = 0x30 + d;
    const up = 1 - g;
    const lowIn = g < h;
    const highIn = up < h;
    if (highIn && (!lowIn || g > up)) {
      buf[p - 1] = 0x31 + d;
      return p;
    }
    if (lowIn) return g === up ? 0 : p;
  }
}

function writeAscii(buf: Buffer, p: number, s: string): number {
  for (let i = 0; i < s.length; i++) buf[p++] = s.charCodeAt(i);
  return p;
}

/** The decimal digits of hi * 10^9 + lo (0 <= hi < 2^24, 0 <= lo < 10^9). */
function writeUint(buf: Buffer, p: number, hi: number, lo: number): number {
  if (hi === 0) return writeDigits(buf, p, lo, digitCount(lo));
  p = writeDigits(buf, p, hi, digitCount(hi));
  return writeDigits(buf, p, lo, 9);
}

/** Decimal digits of 0 <= n < 10^10 (comparisons: a division loop here was 7 % of a q17 response). */
function digitCount(n: number): number {
  if (n < 1e5) return n < 100 ? (n < 10 ? 1 : 2) : n < 1e3 ? 3 : n < 1e4 ? 4 : 5;
  return n < 1e7 ? (n < 1e6 ? 6 : 7) : n < 1e8 ? 8 : n < 1e9 ? 9 : 10;
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
  w.byte(0x7b); // {
  for (let i = 0; i < labels.length; i++) {
    if (i > 0) w.byte(0x2c); // ,
    w.string(labels[i]!.name);
    w.byte(0x3a); // :
    w.string(labels[i]!.value);
  }
  w.byte(0x7d); // }
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
  // the samples of an instant vector share the evaluation time: its `,"value":[<ts>,"` is formatted once
  let prefixTs = NaN;
  let prefix = "";
  for (let k = 0; k < result.length; k++) {
    const s = result[k]!;
    w.ascii(k > 0 ? ',{"metric":' : '{"metric":');
    writeLabels(w, s.labels);
    if (s.timestamp !== prefixTs) {
      prefixTs = s.timestamp;
      prefix = `,"value":[${formatTimestamp(prefixTs)},"`;
    }
    w.ascii(prefix);
    w.float(s.value);
    w.ascii('"]}');
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
    updatePrefixes(prefixTs, prefixes, s.timestamps);
    w.points(prefixes, s.values, s.timestamps.length);
    w.ascii("]}");
  }
  w.ascii("]");
}

/**
 * Makes prefixes[i] the `[<ts>,"` of timestamps[i]. A function of its own, like the points loop: a step loop inside
 * writeMatrix had V8 compile writeMatrix with the whole number writer inlined (on-stack replacement, then again: ~10
 * ms of TurboFan each in the first matrix of 100 x 60 points), while the response waited in unoptimised code.
 */
function updatePrefixes(prefixTs: Float64Array, prefixes: Uint8Array[], timestamps: Float64Array): void {
  for (let i = 0; i < timestamps.length; i++) {
    const ms = timestamps[i]!;
    if (prefixTs[i] !== ms) {
      prefixTs[i] = ms;
      prefixes[i] = Buffer.from(`[${formatTimestamp(ms)},"`, "latin1");
    }
  }
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
 * `writeFloat`, `writeFixed`, `writeUint` and `writeDigits` on the first large matrix a server writes; a value of a
 * shape that matrix lacked (integers above 2^31 after fractional rates: peerbench's q07 after q02; a tie left to
 * String(v)) then finds no feedback for its branch, deoptimises them and has them compiled again while queries wait
 * for the CPU. Writing a few small results of all shapes once at load (well under a millisecond, too little to get
 * anything compiled) records feedback for every branch, so the code compiled later covers them all.
 */
function seedTypeFeedback(): void {
  const shapes = [
    0.25, 1234.5678, 2 ** 50 + 0.25, -3, 7, 100, 6442450944, 4294967296123, 2 ** 50, 2 ** 52 + 2, 1e-7, 3.5e-5, 1e21, 1.5e300, NaN, Infinity,
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
