// Prometheus HTTP API JSON encoding: Go-compatible float and timestamp spelling and the query result shapes,
// written as JSON text directly so values come out byte-identical to Prometheus' jsonutil marshalling; query bodies
// are written into one reused buffer and copied into an exact-size body from a small pool (recycleBody).
import { GrowableBytes } from "../encoding/growable-bytes.js";
import { loadWasm, memoryViews, scratch, type MemoryViews } from "../wasm/loader.js";
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
   * The points of one series, `[<ts>,"<value>"]` comma-separated, written by the WASM writer
   * (assembly/text/json_points.ts, one call per series: no JS loop per point, so nothing here waits for V8 to
   * optimise a number writer on a query shape's first responses) at `base` in linear memory (see writeMatrix) and
   * copied in; the few values it leaves to JS (exponent forms, integers from 2^53, ties) are written by writeFloat.
   */
  points(timestamps: Float64Array, values: Float64Array, mem: MemoryViews, base: number): void {
    const n = timestamps.length;
    mem.f64.set(timestamps, base >> 3);
    mem.f64.set(values, (base >> 3) + n);
    const out = base + n * 16;
    for (let i = 0; i < n; ) {
      const bytes = jsonPoints(base, base + n * 8, i, n, out);
      this.reserve(bytes);
      this.buf.set(new Uint8Array(mem.buffer, out, bytes), this.length);
      this.length += bytes;
      const stop = mem.i32[JSON_POINTS_STOP]!;
      if (stop === n) break;
      this.ascii(`${stop > 0 ? "," : ""}[${formatTimestamp(timestamps[stop]!)},"`);
      this.float(values[stop]!);
      this.ascii('"]');
      i = stop + 1;
    }
  }
}

/** Most bytes writeFloat writes: a sign, 17 significant digits, a point and leading zeros, or an exponent. */
const MAX_FLOAT_BYTES = 32;
/** Single values go through writeFloat as element 0 of this array. */
const oneValue = new Float64Array(1);

const wasm = loadWasm();
/** The WASM number writers (assembly/text/json_points.ts): a series' matrix points, and single values. */
const jsonPoints = wasm.jsonPoints as (ts: number, values: number, from: number, n: number, out: number) => number;
const jsonValue = wasm.jsonValue as (v: number) => number;
/** jsonPoints' stop index, as an index into 32-bit words of linear memory. */
const JSON_POINTS_STOP = (wasm.jsonPointsStopAt as () => number)() >> 2;
/** Where jsonValue writes, as an index into 32-bit words (8-byte aligned). */
const JSON_VALUE_OUT = (wasm.jsonValueOut as () => number)() >> 2;
/** Room jsonPoints needs per point. */
const JSON_POINT_BYTES = 64;
/** Linear memory as 32-bit words (re-taken when memory grew). */
let memoryWords = memoryViews().i32;

/**
 * Writes formatFloat(values[i]) at `p` (MAX_FLOAT_BYTES free) and returns the end: the WASM writer's text (NaN,
 * ±Inf, ±0, exact shortest digits from 1e-6 up to 2^53), copied out of linear memory four bytes a word (up to three
 * bytes past the text are written too: inside MAX_FLOAT_BYTES, and overwritten next), or formatFloat's for the rest
 * (exponent forms, integers from 2^53, ties). The value is read here, not passed, since a double crossing a call that
 * is not inlined is boxed. Exported for the property test and bench/prometheus-json.mjs.
 */
export function writeFloat(buf: Buffer, p: number, values: Float64Array, i: number): number {
  const n = jsonValue(values[i]!);
  if (n === 0) return writeAscii(buf, p, formatFloat(values[i]!));
  let words = memoryWords;
  if (words.length === 0) words = memoryWords = memoryViews().i32;
  for (let j = 0, w = JSON_VALUE_OUT; j < n; j += 4, w++) {
    const x = words[w]!;
    buf[p + j] = x;
    buf[p + j + 1] = x >> 8;
    buf[p + j + 2] = x >> 16;
    buf[p + j + 3] = x >>> 24;
  }
  return p + n;
}

function writeAscii(buf: Buffer, p: number, s: string): number {
  for (let i = 0; i < s.length; i++) buf[p++] = s.charCodeAt(i);
  return p;
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
  // one scratch region for every series' points (inputs, then their text: see JsonWriter.points)
  let longest = 0;
  for (let k = 0; k < result.length; k++) longest = Math.max(longest, result[k]!.timestamps.length);
  const base = scratch(longest * (16 + JSON_POINT_BYTES));
  const mem = memoryViews();
  w.ascii('{"resultType":"matrix","result":[');
  for (let k = 0; k < result.length; k++) {
    const s = result[k]!;
    w.ascii(k > 0 ? ',{"metric":' : '{"metric":');
    writeLabels(w, s.labels);
    w.ascii(',"values":[');
    w.points(s.timestamps, s.values, mem, base);
    w.ascii("]}");
  }
  w.ascii("]");
}

/** The writer of every query body: a body is written synchronously, then copied out (querySuccessBody). */
const WRITER_BYTES = 64 * 1024;
/** A writer buffer grown past this by one large response is dropped after it. */
const WRITER_KEEP_BYTES = 8 * 1024 * 1024;
const writer = new JsonWriter(WRITER_BYTES);

/**
 * Query bodies of BODY_POOL_MIN bytes and up: views of exact length over ArrayBuffers of a power-of-two size, lent
 * out by querySuccessBody and taken back by recycleBody once the response is written, so a server answering query
 * after query reuses the same few buffers instead of allocating a body each time (V8 counts ArrayBuffer bytes as
 * external memory, which brings full GCs sooner). Smaller bodies come from Node's own small-buffer pool.
 */
const BODY_POOL_MIN = 16 * 1024;
/** Buffers kept per size class, and in all (bytes). */
const BODY_POOL_PER_CLASS = 4;
const BODY_POOL_MAX_BYTES = 8 * 1024 * 1024;
const bodyFree: ArrayBuffer[][] = [];
let bodyFreeBytes = 0;
/** The pool's buffers out in bodies: only these are taken back (once each). */
const bodyLent = new WeakSet<ArrayBuffer>();

function takeBody(n: number): Buffer {
  if (n < BODY_POOL_MIN) return Buffer.allocUnsafe(n);
  const sizeClass = 32 - Math.clz32(n - 1); // 2^sizeClass >= n
  let ab = bodyFree[sizeClass]?.pop();
  if (ab === undefined) ab = new ArrayBuffer(2 ** sizeClass);
  else bodyFreeBytes -= ab.byteLength;
  bodyLent.add(ab);
  return Buffer.from(ab, 0, n);
}

/**
 * Gives a body from querySuccessBody back once nothing reads it any more (the response's bytes were handed to the
 * socket); the next body may then reuse its bytes. Other buffers, and a body given back before, are ignored.
 */
export function recycleBody(body: Buffer): void {
  const ab = body.buffer as ArrayBuffer;
  if (!bodyLent.delete(ab)) return;
  const sizeClass = 31 - Math.clz32(ab.byteLength);
  const free = (bodyFree[sizeClass] ??= []);
  if (free.length >= BODY_POOL_PER_CLASS || bodyFreeBytes + ab.byteLength > BODY_POOL_MAX_BYTES) return;
  free.push(ab);
  bodyFreeBytes += ab.byteLength;
}

/**
 * The whole success response of a query or query_range call as UTF-8 bytes:
 * `{"status":"success","data":{...}}` plus warnings and infos when there are any. The body is lent from a pool:
 * the caller may pass it to recycleBody once it is written (or just drop it).
 */
export function querySuccessBody(result: QueryResult): Buffer {
  const w = writer;
  w.reset(WRITER_BYTES, WRITER_KEEP_BYTES);
  w.ascii('{"status":"success","data":');
  writeQueryData(w, result);
  if (result.warnings.length > 0) w.text(`,"warnings":${JSON.stringify(result.warnings)}`);
  if (result.infos.length > 0) w.text(`,"infos":${JSON.stringify(result.infos)}`);
  w.ascii("}");
  const body = takeBody(w.length);
  w.finish().copy(body);
  return body;
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
