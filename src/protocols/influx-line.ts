// InfluxDB line protocol (v1 /write and v2 /api/v2/write bodies) to sample columns: the full line grammar (backslash
// escapes, quoted string fields, i/u suffixes, booleans, optional timestamp, precision), measurement+field naming
// and tags as labels (reference §4.5). Bodies of the common shape are scanned by a WASM kernel
// (assembly/protocols/influx_lines.ts), the rest by the JS parser here (in place on the bytes); both cache series
// keys across requests, neither makes per-line or per-sample objects. One bad line rejects the whole body (nothing
// is half-applied), with the JS parser's error naming the line.
// Hand-written: npm's InfluxDB packages (influx, influxdb-lite, ...) write the format; none parses it.
import { isUtf8 } from "node:buffer";
import { SeriesKey } from "../storage/types.js";
import { ProtocolError } from "./errors.js";
import { normaliseLabelName, normaliseMetricName } from "./legacy-names.js";
import type { TimestampPrecision } from "./timestamp-precision.js";
import { type Label, MAX_METRIC_NAME_BYTES, METRIC_NAME_LABEL, excerpt, validateSeries } from "./series-validation.js";
import { grownTo } from "../encoding/typed-arrays.js";
import { loadWasm, memoryViews, scratch } from "../wasm/loader.js";

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

/**
 * A parsed body in columns: sample i belongs to `series[seriesIndex[i]]`, at `timestamps[i]` (server precision:
 * a BigInt64Array for ns, integers in a Float64Array otherwise) with `values[i]`; only the first `count` entries
 * are used (a storage SampleColumns). The series keys are cached across requests (the same object every time a
 * series comes again), so storage resolves each one once.
 */
export interface ParsedInflux {
  series: SeriesKey[];
  seriesIndex: Uint32Array;
  timestamps: Float64Array | BigInt64Array;
  values: Float64Array;
  count: number;
  /** Distinct metric names written (the route records them as gauges in the metadata store). */
  metrics: string[];
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
/** Exact powers of ten (every 10^k with k <= 22 is a double). */
const POW10 = Array.from({ length: 23 }, (_, k) => 10 ** k);
const utf8 = new TextDecoder("utf-8");

class LineError extends Error {}

/** A parsed series key: the normalised measurement and the sorted, validated labels. */
interface ParsedKey {
  measurement: string;
  labels: Label[];
}

/** A parsed series key and the ids of its fields (storage series) in the cache. */
interface SeriesEntry extends ParsedKey {
  fields: number[];
}

// Parsed series keys and fields, kept across requests: agents send the same series every interval, so a known
// line costs a hash and a compare of its key bytes instead of decoding, tag parsing and validation. The hot data
// sits in typed arrays and one byte arena in first-seen order (lines come again in the same order, so the reads
// run along memory instead of chasing an object per line): key and field-name bytes, the open-addressing table,
// each key's first field, each field's place in the batch being parsed. One cache per request context (tenant
// and extra labels change the label set); all are emptied when the keys pass the limit.
const SERIES_CACHE_LIMIT = 200_000;
/** At most this many caches (tenant and db/rp/bucket/org combinations) are kept; one more empties them all. */
const MAX_CACHE_CONTEXTS = 4096;
const MAX_FIELDS_PER_SERIES = 1024;

class SeriesCache {
  /** Open addressing: hash and key id + 1 (0 = empty) per slot. */
  private slotHash = new Int32Array(64);
  private slotKey = new Int32Array(64);
  /** Key and field-name bytes, appended in first-seen order. */
  arena = new Uint8Array(4096);
  arenaView = new DataView(this.arena.buffer);
  private arenaUsed = 0;
  keys = 0;
  keyStart = new Int32Array(16);
  keyLength = new Int32Array(16);
  /** Field id of each key's first field (-1 none yet). */
  keyFirstField = new Int32Array(16);
  /** The key that followed each key the last time (+1, 0 = none): usually the next line's key again. */
  keyNext = new Int32Array(16);
  keyEntry: SeriesEntry[] = [];
  fields = 0;
  fieldStart = new Int32Array(16);
  fieldLength = new Int32Array(16);
  /** Which parse last saw the field, and its index in that parse's `series`. */
  fieldStamp = new Int32Array(16);
  fieldIndex = new Int32Array(16);
  fieldSeries: SeriesKey[] = [];
  /** Each field's metric name as a small id (so a parse lists its distinct names without touching the series). */
  fieldMetric = new Int32Array(16);
  metricIds = new Map<string, number>();
  metricNames: string[] = [];
  /** Which parse last listed each metric name. */
  metricStamp = new Int32Array(16);

  /** Key id of bytes [start, end) of the body (with this hash), or -1. */
  find(body: Body, start: number, end: number, hash: number): number {
    const mask = this.slotHash.length - 1;
    for (let slot = hash & mask; ; slot = (slot + 1) & mask) {
      const k = this.slotKey[slot]! - 1;
      if (k < 0) return -1;
      if (this.slotHash[slot] === hash && this.sameBytes(this.keyStart[k]!, this.keyLength[k]!, body, start, end)) return k;
    }
  }

  /** Arena bytes [at, at + n) equal to body bytes [start, end)? Compared 4 bytes at a time. */
  sameBytes(at: number, n: number, body: Body, start: number, end: number): boolean {
    if (n !== end - start) return false;
    const a = this.arenaView;
    const view = body.view;
    let j = 0;
    for (; j + 4 <= n; j += 4) if (a.getInt32(at + j, true) !== view.getInt32(start + j, true)) return false;
    for (; j < n; j++) if (this.arena[at + j] !== body.bytes[start + j]) return false;
    return true;
  }

  addKey(body: Body, start: number, end: number, hash: number, entry: SeriesEntry): number {
    const k = this.keys++;
    if (k === this.keyStart.length) {
      this.keyStart = grownTo(this.keyStart, k + 1);
      this.keyLength = grownTo(this.keyLength, k + 1);
      this.keyFirstField = grownTo(this.keyFirstField, k + 1);
      this.keyNext = grownTo(this.keyNext, k + 1);
    }
    this.keyStart[k] = this.store(body.bytes, start, end);
    this.keyLength[k] = end - start;
    this.keyFirstField[k] = -1;
    this.keyNext[k] = 0;
    this.keyEntry.push(entry);
    if (this.keys * 2 > this.slotHash.length) this.rehash(this.slotHash.length * 2);
    this.place(hash, k);
    return k;
  }

  addField(body: Body, start: number, end: number, series: SeriesKey): number {
    const f = this.fields++;
    if (f === this.fieldStart.length) {
      this.fieldStart = grownTo(this.fieldStart, f + 1);
      this.fieldLength = grownTo(this.fieldLength, f + 1);
      this.fieldStamp = grownTo(this.fieldStamp, f + 1);
      this.fieldIndex = grownTo(this.fieldIndex, f + 1);
      this.fieldMetric = grownTo(this.fieldMetric, f + 1);
    }
    this.fieldStart[f] = this.store(body.bytes, start, end);
    this.fieldLength[f] = end - start;
    this.fieldStamp[f] = 0;
    this.fieldSeries.push(series);
    let metric = this.metricIds.get(series.metric);
    if (metric === undefined) {
      metric = this.metricNames.length;
      this.metricIds.set(series.metric, metric);
      this.metricNames.push(series.metric);
      this.metricStamp = grownTo(this.metricStamp, metric + 1);
    }
    this.fieldMetric[f] = metric;
    return f;
  }

  private store(bytes: Uint8Array, start: number, end: number): number {
    const at = this.arenaUsed;
    if (at + end - start > this.arena.length) {
      this.arena = grownTo(this.arena, at + end - start);
      this.arenaView = new DataView(this.arena.buffer);
    }
    this.arena.set(bytes.subarray(start, end), at);
    this.arenaUsed = at + end - start;
    return at;
  }

  private place(hash: number, k: number): void {
    const mask = this.slotHash.length - 1;
    let slot = hash & mask;
    while (this.slotKey[slot] !== 0) slot = (slot + 1) & mask;
    this.slotHash[slot] = hash;
    this.slotKey[slot] = k + 1;
  }

  private rehash(size: number): void {
    const hashes = this.slotHash;
    const ids = this.slotKey;
    this.slotHash = new Int32Array(size);
    this.slotKey = new Int32Array(size);
    for (let s = 0; s < ids.length; s++) if (ids[s] !== 0) this.place(hashes[s]!, ids[s]! - 1);
  }
}

const seriesCaches = new Map<string, SeriesCache>();
let cachedKeys = 0;
/** Incremented per parsed body: marks which fields already have an index in the current batch. */
let batchStamp = 0;

/** The cache context of a request: its tenant and extra labels (they change every series' label set). */
function contextOf(opts: InfluxParseOptions): string {
  let context = opts.tenantLabel ? opts.tenantLabel.value : "";
  for (const l of opts.extraLabels ?? []) context += `\u0000${l.name}=${l.value}`;
  return context;
}

function seriesCacheFor(opts: InfluxParseOptions): SeriesCache {
  const context = contextOf(opts);
  let cache = seriesCaches.get(context);
  if (!cache) {
    // contexts come from request headers and parameters: bound their number, not only the keys in them
    if (seriesCaches.size >= MAX_CACHE_CONTEXTS) {
      seriesCaches.clear();
      cachedKeys = 0;
    }
    seriesCaches.set(context, (cache = new SeriesCache()));
  }
  return cache;
}

/** Size of the series-key caches: contexts (tenant + db/rp/bucket/org) and keys across them, of both parsers and in all. */
export function influxSeriesCacheStats(): { contexts: number; keys: number; js: CacheSize; wasm: CacheSize } {
  const js = { contexts: seriesCaches.size, keys: cachedKeys };
  const wasm = { contexts: scanContexts.size, keys: lineKernel?.ilKeyCount() ?? 0 };
  return { contexts: js.contexts + wasm.contexts, keys: js.keys + wasm.keys, js, wasm };
}
interface CacheSize {
  contexts: number;
  keys: number;
}

/** The body being parsed, as bytes and as a DataView for reading 4 bytes at a time. */
interface Body {
  bytes: Uint8Array;
  view: DataView;
}

const FNV_OFFSET = 0x811c9dc5 | 0;
const FNV_PRIME = 16777619;

/** FNV-1a over 4-byte words (then the tail bytes) of [start, end). */
function hashKey(body: Body, start: number, end: number): number {
  const view = body.view;
  let h = FNV_OFFSET;
  let i = start;
  for (; i + 4 <= end; i += 4) h = Math.imul(h ^ view.getInt32(i, true), FNV_PRIME);
  for (; i < end; i++) h = Math.imul(h ^ body.bytes[i]!, FNV_PRIME);
  return h;
}

/** Growable sample columns of one body, and its distinct series in first-seen order. */
class Columns {
  count = 0;
  /** Timestamps in a BigInt64Array (a nanosecond server). */
  readonly bigint: boolean;

  constructor(
    public seriesIndex: Uint32Array,
    public values: Float64Array,
    public timestamps: Float64Array | BigInt64Array,
    readonly series: SeriesKey[],
  ) {
    this.bigint = timestamps instanceof BigInt64Array;
  }

  static create(capacity: number, bigint: boolean): Columns {
    return new Columns(new Uint32Array(capacity), new Float64Array(capacity), bigint ? new BigInt64Array(capacity) : new Float64Array(capacity), []);
  }

  grow(): void {
    const n = this.values.length * 2;
    const si = new Uint32Array(n);
    si.set(this.seriesIndex);
    const v = new Float64Array(n);
    v.set(this.values);
    const t = this.bigint ? new BigInt64Array(n) : new Float64Array(n);
    t.set(this.timestamps as never);
    this.seriesIndex = si;
    this.values = v;
    this.timestamps = t;
  }
}

// Columns of finished requests wait here for the next parse (releaseInfluxColumns), so a busy server does not
// allocate ~20 bytes x samples of typed arrays (and a growing series array: it is overwritten in place, not
// emptied, which would drop its capacity) per request, garbage that made V8 collect often. Bounded in number
// and in size: a body with more samples than MAX_SPARE_SAMPLES gets columns of its own.
const spareColumns: Columns[] = [];
const MAX_SPARE_COLUMNS = 8;
const MAX_SPARE_SAMPLES = 1 << 18;

function takeColumns(capacity: number, bigint: boolean): Columns {
  for (let i = spareColumns.length - 1; i >= 0; i--) {
    const c = spareColumns[i]!;
    if (c.bigint === bigint && c.values.length >= capacity) {
      spareColumns.splice(i, 1);
      c.count = 0;
      return c;
    }
  }
  return Columns.create(capacity, bigint);
}

/**
 * Hands the columns of a parse back for reuse once nothing reads them any more (after the storage insert
 * settled). The parse's arrays must not be used afterwards.
 */
export function releaseInfluxColumns(parsed: ParsedInflux): void {
  if (!spareColumns.some((c) => c.values === parsed.values)) keepColumns(new Columns(parsed.seriesIndex, parsed.values, parsed.timestamps, parsed.series));
}

/** Keeps columns for reuse (the most recent ones: the next parse takes the last kept that fits). */
function keepColumns(cols: Columns): void {
  if (cols.values.length > MAX_SPARE_SAMPLES) return;
  if (spareColumns.length >= MAX_SPARE_COLUMNS) spareColumns.shift();
  spareColumns.push(cols);
}

/**
 * Parses a whole body (bytes, no decoding of known series). Blank lines and `#` comments are skipped; every other
 * line must parse, or a ProtocolError names the (1-based) line and why, and nothing is returned. A body of the
 * common shape is scanned in WASM (scanInWasm); any other, and every bad one, by the JS parser.
 */
export function parseInfluxLines(body: Uint8Array, opts: InfluxParseOptions): ParsedInflux {
  if (!isUtf8(body)) throw new ProtocolError("malformed", "line protocol body is not valid UTF-8");
  return (opts.serverPrecision !== "ns" && scanInWasm(body, opts, timestampDrop(opts))) || parseInJs(body, opts);
}

/** Digits a timestamp loses on the fast paths (-1: no fast path for this precision pair). */
function timestampDrop(opts: InfluxParseOptions): number {
  const from = DIGITS_OF[opts.precision];
  const drop = opts.serverPrecision === "ns" || from === undefined ? -1 : DIGITS_OF[opts.serverPrecision]! - from;
  return drop < 0 ? -1 : drop;
}

/** parseInfluxLines by the JS parser alone (the whole grammar, every error; the oracle the WASM scan is tested against). */
export function parseInfluxLinesInJs(body: Uint8Array, opts: InfluxParseOptions): ParsedInflux {
  if (!isUtf8(body)) throw new ProtocolError("malformed", "line protocol body is not valid UTF-8");
  return parseInJs(body, opts);
}

function parseInJs(body: Uint8Array, opts: InfluxParseOptions): ParsedInflux {
  const len = body.length;
  // room for one sample per 64 bytes (lines are mostly longer); the columns grow when they are not
  const cols = takeColumns(Math.min(len >>> 6, opts.maxLines) + 16, opts.serverPrecision === "ns");
  const st: ParseState = {
    body: { bytes: body, view: new DataView(body.buffer, body.byteOffset, body.byteLength) },
    opts,
    // Without backslashes and tabs anywhere, a series key ends at the line's first space (found natively).
    plainKeys: body.indexOf(92) < 0 && body.indexOf(9) < 0,
    timestampDrop: timestampDrop(opts),
    cols,
    series: cols.series,
    seriesCount: 0,
    metrics: [],
    cache: seriesCacheFor(opts),
    stamp: ++batchStamp,
  };
  try {
    parseBody(st, body);
  } catch (err) {
    keepColumns(cols);
    throw err;
  }
  // a reused array keeps its capacity: entries are overwritten in place and only the length set here
  st.series.length = st.seriesCount;
  return { series: st.series, seriesIndex: cols.seriesIndex, timestamps: cols.timestamps, values: cols.values, count: cols.count, metrics: st.metrics };
}

// The WASM scan (assembly/protocols/influx_lines.ts) and its cache of series keys and field names: the kernel
// finds a line's key and fields again by their bytes in linear memory and converts the numbers, so JS touches a
// body only once per distinct field (one array load for a known one). JS decodes and validates a key the first
// time the kernel reports it and keeps a SeriesKey per cached field. A body the kernel does not take (escapes,
// tabs, strings, booleans, numbers off the fast paths, bad lines, a key or field JS rejects) goes to the JS
// parser, which then gives the same result or the same error as it would alone (test/protocols/influx-line.test.ts
// checks both against each other).
interface LineKernel {
  ilScan(body: number, len: number, context: number, maxLines: number, drop: number, now: number): number;
  ilOutputs(cap: number): number;
  ilSampleCount(): number;
  ilCacheGeneration(): number;
  ilCacheClear(): void;
  ilKeyCount(): number;
  ilKeyBytes(key: number): number;
  ilKeyLength(key: number): number;
  ilFieldBytes(field: number): number;
  ilFieldLength(field: number): number;
  ilFieldKey(field: number): number;
}
const IL_FALLBACK = -1;
const IL_SPACE = -2;
let lineKernel: LineKernel | undefined;
let scanCap = 0;
let scanBase = 0;
/** What JS holds per kernel key and field, for the kernel's current cache generation. */
let scanGeneration = -1;
let scanKeys: (ParsedKey | undefined)[] = [];
let scanFieldSeries: (SeriesKey | undefined)[] = [];
let scanFieldMetric = new Int32Array(1024);
let scanMetricIds = new Map<string, number>();
let scanMetricNames: string[] = [];
let scanMetricStamp = new Int32Array(64);
/** Kernel contexts (tenant and extra labels) by their contextOf string. */
const scanContexts = new Map<string, number>();

function scanContextId(k: LineKernel, opts: InfluxParseOptions): number {
  const name = contextOf(opts);
  let id = scanContexts.get(name);
  if (id === undefined) {
    if (scanContexts.size >= MAX_CACHE_CONTEXTS) {
      scanContexts.clear();
      k.ilCacheClear();
    }
    id = scanContexts.size;
    scanContexts.set(name, id);
  }
  return id;
}

/** The body scanned by the WASM kernel, or undefined when the JS parser has to take it. */
function scanInWasm(body: Uint8Array, opts: InfluxParseOptions, drop: number): ParsedInflux | undefined {
  const k = (lineKernel ??= loadWasm() as unknown as LineKernel);
  const context = scanContextId(k, opts);
  const len = body.length;
  const at = scratch(len);
  memoryViews().u8.set(body, at);
  if (scanCap === 0) scanBase = k.ilOutputs((scanCap = 8192));
  const now = Number(opts.now);
  let distinct = k.ilScan(at, len, context, opts.maxLines, drop, now);
  while (distinct === IL_SPACE) {
    // the kernel's outputs stay allocated: a body with more samples than the pooled columns hold goes to JS
    if (scanCap >= MAX_SPARE_SAMPLES) return undefined;
    scanBase = k.ilOutputs((scanCap *= 2));
    distinct = k.ilScan(at, len, context, opts.maxLines, drop, now);
  }
  const generation = k.ilCacheGeneration();
  if (generation !== scanGeneration) {
    scanGeneration = generation;
    scanKeys = [];
    scanFieldSeries = [];
    scanMetricIds = new Map();
    scanMetricNames = [];
  }
  if (distinct === IL_FALLBACK) return undefined;
  const count = k.ilSampleCount();
  const cols = takeColumns(Math.max(count, Math.min(len >>> 6, opts.maxLines) + 16), false); // sized as parseInJs does
  const series = cols.series;
  const metrics: string[] = [];
  const stamp = ++batchStamp;
  // the kernel may have grown memory: views from here on
  const views = memoryViews();
  const fieldIds = (scanBase + scanCap * 20) >> 2;
  for (let d = 0; d < distinct; d++) {
    const f = views.i32[fieldIds + d]!;
    const key = scanFieldSeries[f] ?? scannedField(k, f, opts);
    if (key === undefined) {
      keepColumns(cols);
      return undefined;
    }
    if (d < series.length) series[d] = key;
    else series.push(key);
    const metric = scanFieldMetric[f]!;
    if (scanMetricStamp[metric] !== stamp) {
      scanMetricStamp[metric] = stamp;
      metrics.push(scanMetricNames[metric]!);
    }
  }
  series.length = distinct;
  cols.count = count;
  const timestamps = cols.timestamps as Float64Array;
  timestamps.set(views.f64.subarray(scanBase >> 3, (scanBase >> 3) + count));
  cols.values.set(views.f64.subarray((scanBase >> 3) + scanCap, (scanBase >> 3) + scanCap + count));
  cols.seriesIndex.set(new Uint32Array(views.buffer, scanBase + scanCap * 16, count));
  return { series, seriesIndex: cols.seriesIndex, timestamps, values: cols.values, count, metrics };
}

/** Decodes a field the kernel cached but JS has not seen (and its key, the first time); undefined when JS rejects either. */
function scannedField(k: LineKernel, f: number, opts: InfluxParseOptions): SeriesKey | undefined {
  const u8 = memoryViews().u8;
  const keyId = k.ilFieldKey(f);
  try {
    let key = scanKeys[keyId];
    if (key === undefined) {
      const at = k.ilKeyBytes(keyId);
      key = parseSeries(utf8.decode(u8.subarray(at, at + k.ilKeyLength(keyId))), opts);
      scanKeys[keyId] = key;
    }
    const at = k.ilFieldBytes(f);
    const series = fieldSeries(key, u8.subarray(at, at + k.ilFieldLength(f)));
    scanFieldSeries[f] = series;
    let metric = scanMetricIds.get(series.metric);
    if (metric === undefined) {
      metric = scanMetricNames.length;
      scanMetricIds.set(series.metric, metric);
      scanMetricNames.push(series.metric);
      scanMetricStamp = grownTo(scanMetricStamp, metric + 1);
    }
    scanFieldMetric = grownTo(scanFieldMetric, f + 1);
    scanFieldMetric[f] = metric;
    return series;
  } catch (err) {
    if (err instanceof LineError || err instanceof ProtocolError) return undefined;
    throw err;
  }
}

/** The line loop of parseInfluxLines. */
function parseBody(st: ParseState, body: Uint8Array): void {
  const { opts } = st;
  const len = body.length;
  let lines = 0;
  let lineNo = 0;
  let pos = 0;
  let previousKey = -1;
  while (pos < len) {
    let end = body.indexOf(10, pos);
    if (end < 0) end = len;
    lineNo++;
    let s = pos;
    let e = end;
    pos = end + 1;
    while (s < e && isSpace(body[s]!)) s++;
    while (e > s && isSpace(body[e - 1]!)) e--;
    if (s === e) continue;
    if (++lines > opts.maxLines) {
      throw new ProtocolError("too_large", `request has more than ${opts.maxLines} lines (TSINK_INFLUX_LINE_PROTOCOL_MAX_LINES_PER_REQUEST)`);
    }
    if (body[s] === 35 /* # */) continue;
    try {
      if (cachedKeys >= SERIES_CACHE_LIMIT) {
        seriesCaches.clear();
        cachedKeys = 0;
        st.cache = seriesCacheFor(opts);
        previousKey = -1;
      }
      previousKey = parseLine(st, s, e, previousKey);
    } catch (err) {
      if (err instanceof LineError || err instanceof ProtocolError) {
        throw new ProtocolError("malformed", `line ${lineNo}: ${err.message}: ${excerpt(utf8.decode(body.subarray(s, e)), 120)}`);
      }
      throw err;
    }
  }
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

/** Parses a series key (measurement and tags as written) into the normalised metric base name and sorted labels. */
function parseSeries(key: string, opts: InfluxParseOptions): ParsedKey {
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
  return { measurement, labels: validateSeries(measurement, labels, opts.tenantLabel) };
}

/** Everything one body's parse shares between its lines. */
interface ParseState {
  body: Body;
  opts: InfluxParseOptions;
  /** No backslash or tab in the body: a series key ends at the line's first space. */
  plainKeys: boolean;
  /** Digits a timestamp loses on the fast path (-1: no fast path for this precision pair). */
  timestampDrop: number;
  cols: Columns;
  /** The distinct series (the first `seriesCount` entries) and metric names of the batch, in first-seen order. */
  series: SeriesKey[];
  seriesCount: number;
  metrics: string[];
  cache: SeriesCache;
  stamp: number;
}

/** Parses one trimmed, non-comment line [start, n); returns its key id (the next line's prediction). */
function parseLine(st: ParseState, start: number, n: number, previousKey: number): number {
  const { body, opts, cols, cache, stamp } = st;
  const buf = body.bytes;
  // Series key: up to the first unescaped space or tab.
  let i: number;
  if (st.plainKeys) {
    i = buf.indexOf(32, start);
    if (i < 0 || i > n) i = n;
  } else {
    i = start;
    while (i < n) {
      const c = buf[i]!;
      if (c === 32 || c === 9) break;
      i += c === 92 /* \ */ ? 2 : 1;
    }
    if (i > n) i = n;
  }
  const keyEnd = i;
  if (keyEnd >= n) throw new LineError("missing field section");
  // the key that followed the previous line's key last time, else the table
  let key = previousKey >= 0 ? cache.keyNext[previousKey]! - 1 : -1;
  if (key < 0 || !cache.sameBytes(cache.keyStart[key]!, cache.keyLength[key]!, body, start, keyEnd)) {
    const hash = hashKey(body, start, keyEnd);
    key = cache.find(body, start, keyEnd, hash);
    if (key < 0) {
      const parsed = parseSeries(utf8.decode(buf.subarray(start, keyEnd)), opts);
      key = cache.addKey(body, start, keyEnd, hash, { measurement: parsed.measurement, labels: parsed.labels, fields: [] });
      cachedKeys++;
    }
    if (previousKey >= 0) cache.keyNext[previousKey] = key + 1;
  }
  while (i < n && (buf[i] === 32 || buf[i] === 9)) i++;

  // Field section: name=value pairs up to the first unescaped, unquoted space.
  const lineFirst = cols.count;
  for (let f = 0; ; f++) {
    const nameStart = i;
    while (i < n) {
      const c = buf[i]!;
      if (c === 61 || c === 32 || c === 44) break;
      i += c === 92 ? 2 : 1;
    }
    if (i >= n || buf[i] !== 61) throw new LineError(`field ${excerpt(utf8.decode(buf.subarray(nameStart, Math.min(i, n))))} is missing '='`);
    const field = f === 0 && cache.keyFirstField[key]! >= 0 && cache.sameBytes(cache.fieldStart[cache.keyFirstField[key]!]!, cache.fieldLength[cache.keyFirstField[key]!]!, body, nameStart, i)
      ? cache.keyFirstField[key]!
      : fieldOf(cache, key, body, nameStart, i, f);
    i++;
    let value: number;
    if (buf[i] === 34 /* " */) {
      i++;
      while (i < n && buf[i] !== 34) i += buf[i] === 92 ? 2 : 1;
      const name = excerpt(fieldName(buf, nameStart, cache.fieldLength[field]!));
      if (i >= n) throw new LineError(`field ${name} has an unterminated string value`);
      throw new LineError(`field ${name}: string field values are not supported`);
    } else {
      const valueStart = i;
      while (i < n) {
        const c = buf[i]!;
        if (c === 44 || c === 32 || c === 9) break;
        i++;
      }
      value = fastNumber(buf, valueStart, i) ? NUMBER_OUT[0]! : parseFieldValue(utf8.decode(buf.subarray(valueStart, i)), fieldName(buf, nameStart, cache.fieldLength[field]!));
    }
    if (cache.fieldStamp[field] !== stamp) {
      cache.fieldStamp[field] = stamp;
      const k = st.seriesCount++;
      cache.fieldIndex[field] = k;
      if (k < st.series.length) st.series[k] = cache.fieldSeries[field]!;
      else st.series.push(cache.fieldSeries[field]!);
      const metric = cache.fieldMetric[field]!;
      if (cache.metricStamp[metric] !== stamp) {
        cache.metricStamp[metric] = stamp;
        st.metrics.push(cache.metricNames[metric]!);
      }
    }
    if (cols.count === cols.values.length) cols.grow();
    cols.seriesIndex[cols.count] = cache.fieldIndex[field]!;
    cols.values[cols.count++] = value;
    if (i >= n || buf[i] !== 44) break;
    i++;
  }
  while (i < n && (buf[i] === 32 || buf[i] === 9)) i++;
  if (cols.bigint) {
    const ts = cols.timestamps as BigInt64Array;
    const t = i < n ? BigInt(convertTimestamp(utf8.decode(buf.subarray(i, n)), opts.precision, opts.serverPrecision)) : BigInt(opts.now);
    for (let r = lineFirst; r < cols.count; r++) ts[r] = t;
  } else {
    const ts = cols.timestamps as Float64Array;
    let t: number;
    if (i >= n) t = Number(opts.now);
    else if (st.timestampDrop >= 0 && fastTimestamp(buf, i, n, st.timestampDrop)) t = NUMBER_OUT[0]!;
    else t = Number(convertTimestamp(utf8.decode(buf.subarray(i, n)), opts.precision, opts.serverPrecision));
    for (let r = lineFirst; r < cols.count; r++) ts[r] = t;
  }
  return key;
}

/** The field id of field-name bytes [from, to) of key `key`: by position first (lines repeat their field order). */
function fieldOf(cache: SeriesCache, key: number, body: Body, from: number, to: number, position: number): number {
  const entry = cache.keyEntry[key]!;
  const fields = entry.fields;
  const guess = fields[position];
  if (guess !== undefined && cache.sameBytes(cache.fieldStart[guess]!, cache.fieldLength[guess]!, body, from, to)) return guess;
  for (const f of fields) if (cache.sameBytes(cache.fieldStart[f]!, cache.fieldLength[f]!, body, from, to)) return f;
  const series = fieldSeries(entry, body.bytes.subarray(from, to));
  if (fields.length >= MAX_FIELDS_PER_SERIES) fields.length = 0;
  const f = cache.addField(body, from, to, series);
  fields.push(f);
  if (cache.keyFirstField[key]! < 0) cache.keyFirstField[key] = f;
  return f;
}

/** The series of field-name bytes `raw` (as written) of a parsed key: `measurement_field`, or `measurement` for `value`. */
function fieldSeries(key: ParsedKey, raw: Uint8Array): SeriesKey {
  const rawField = unescape(utf8.decode(raw));
  if (rawField.length === 0) throw new LineError("empty field key");
  const metric = rawField === "value" ? key.measurement : `${key.measurement}_${normaliseMetricName(rawField)}`;
  if (metric.length > MAX_METRIC_NAME_BYTES) throw new LineError(`metric name longer than ${MAX_METRIC_NAME_BYTES} bytes`);
  return new SeriesKey(metric, key.labels); // storage resolves a key once
}

function fieldName(buf: Uint8Array, from: number, length: number): string {
  return unescape(utf8.decode(buf.subarray(from, from + length)));
}

/**
 * A field value in place when it is a plain number this can convert exactly: a float of at most 2^53 in its
 * digits and a power-of-ten exponent within ±22 (one correctly rounded multiplication or division, Clinger's fast
 * path, so the same double as Number()), or an `i`/`u` integer of at most 15 digits, into NUMBER_OUT[0]. false:
 * take the general path (which also produces every error).
 */
function fastNumber(buf: Uint8Array, from: number, to: number): boolean {
  let p = from;
  let negative = false;
  let signed = false;
  if (buf[p] === 45 || buf[p] === 43) {
    negative = buf[p] === 45;
    signed = true;
    p++;
  }
  let mantissa = 0;
  let digits = 0;
  let scale = 0;
  let plain = true;
  while (p < to) {
    const d = buf[p]! - 48;
    if (d < 0 || d > 9) break;
    mantissa = mantissa * 10 + d;
    digits++;
    p++;
  }
  if (p < to && buf[p] === 46 /* . */) {
    plain = false;
    p++;
    while (p < to) {
      const d = buf[p]! - 48;
      if (d < 0 || d > 9) break;
      mantissa = mantissa * 10 + d;
      digits++;
      scale--;
      p++;
    }
  }
  if (digits === 0 || digits > 300) return false;
  if (p === to - 1 && (buf[p] === 105 /* i */ || buf[p] === 117) /* u */) {
    if (!plain || digits > 15 || (buf[p] === 117 && signed) || (signed && !negative)) return false;
    NUMBER_OUT[0] = negative ? -mantissa : mantissa;
    return true;
  }
  if (p < to && (buf[p] === 101 || buf[p] === 69) /* e E */) {
    p++;
    let expNegative = false;
    if (buf[p] === 45 || buf[p] === 43) {
      expNegative = buf[p] === 45;
      p++;
    }
    const expStart = p;
    let exp = 0;
    while (p < to && exp < 1000) {
      const d = buf[p]! - 48;
      if (d < 0 || d > 9) break;
      exp = exp * 10 + d;
      p++;
    }
    if (p === expStart) return false;
    scale += expNegative ? -exp : exp;
  }
  if (p !== to || mantissa > Number.MAX_SAFE_INTEGER || scale < -22 || scale > 22) return false;
  const v = scale >= 0 ? mantissa * POW10[scale]! : mantissa / POW10[-scale]!;
  NUMBER_OUT[0] = negative ? -v : v;
  return true;
}

/**
 * The common case of convertTimestamp in place: plain digits, a power-of-ten conversion (dropping `drop` digits) to
 * a non-ns server precision, and at most 15 digits kept (exact in a double), into NUMBER_OUT[0]. false: take the
 * general path.
 */
function fastTimestamp(buf: Uint8Array, i: number, n: number, drop: number): boolean {
  const negative = buf[i] === 45;
  const first = negative ? i + 1 : i;
  const keep = n - first - drop;
  // 19 digits may lie outside int64 unless the first is below 9 (Telegraf's ns timestamps are 19 digits starting
  // with 1); longer ones always: the general path checks the range
  const digits = n - first;
  if (digits === 0 || keep > 15 || digits > 19 || (digits === 19 && buf[first]! >= 57)) return false;
  let v = 0;
  for (let k = first; k < n; k++) {
    const d = buf[k]! - 48;
    if (d < 0 || d > 9) return false;
    if (k < first + keep) v = v * 10 + d;
  }
  NUMBER_OUT[0] = negative && v !== 0 ? -v : v;
  return true;
}

/** Where fastNumber and fastTimestamp put their result (a double returned from a call would be boxed). */
const NUMBER_OUT = new Float64Array(1);

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
