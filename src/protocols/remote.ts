// Prometheus remote write 1.0 and remote read (SAMPLES response) messages: protobuf bytes in, validated sample
// columns out, and query results back to ReadResponse bytes. protobufjs holds the schema and the read messages; the hot
// WriteRequest path is the WASM scan (assembly/protocols/write_request.ts) with write-request-decoder.ts for the rest
// of the grammar. Snappy framing lives in snappy.ts; no I/O here.
import protobuf from "protobufjs";
import { ProtocolError } from "./errors.js";
import { type DecodedExemplar, validateExemplarLabels } from "./exemplars.js";
import { type Label, METRIC_NAME_LABEL, excerpt, validateSeries, validateTimestamp } from "./series-validation.js";
import { type SampleColumns, SeriesKey } from "../storage/types.js";
import { type TimestampPrecision, scaleMillis } from "./timestamp-precision.js";
import { type RawExemplar, type RawLabel, decodeExemplar, decodeLabelRun, visitWriteRequest } from "./write-request-decoder.js";
import { loadWasm, memoryViews, scratch } from "../wasm/loader.js";

// The subset of prometheus/prompb (types.proto, remote.proto) we read and write. Native histograms are kept as opaque
// bytes: the server only needs to know they are present (they answer 422 until their own issue).
const PROTO = `
syntax = "proto3";
package prometheus;
message Label { string name = 1; string value = 2; }
message Sample { double value = 1; int64 timestamp = 2; }
message Exemplar { repeated Label labels = 1; double value = 2; int64 timestamp = 3; }
message TimeSeries {
  repeated Label labels = 1;
  repeated Sample samples = 2;
  repeated Exemplar exemplars = 3;
  repeated bytes histograms = 4;
}
message MetricMetadata {
  enum MetricType { UNKNOWN = 0; COUNTER = 1; GAUGE = 2; HISTOGRAM = 3; GAUGEHISTOGRAM = 4; SUMMARY = 5; INFO = 6; STATESET = 7; }
  MetricType type = 1;
  string metric_family_name = 2;
  string help = 4;
  string unit = 5;
}
message WriteRequest { repeated TimeSeries timeseries = 1; repeated MetricMetadata metadata = 3; }
message LabelMatcher { enum Type { EQ = 0; NEQ = 1; RE = 2; NRE = 3; } Type type = 1; string name = 2; string value = 3; }
message ReadHints { int64 step_ms = 1; string func = 2; int64 start_ms = 3; int64 end_ms = 4; repeated string grouping = 5; bool by = 6; int64 range_ms = 7; }
message Query { int64 start_timestamp_ms = 1; int64 end_timestamp_ms = 2; repeated LabelMatcher matchers = 3; ReadHints hints = 4; }
message ReadRequest {
  enum ResponseType { SAMPLES = 0; STREAMED_XOR_CHUNKS = 1; }
  repeated Query queries = 1;
  repeated ResponseType accepted_response_types = 2;
}
message QueryResult { repeated TimeSeries timeseries = 1; }
message ReadResponse { repeated QueryResult results = 1; }
`;

/** The protobufjs message types (exported so tests and tools encode requests with the same schema). */
export const remoteProto = protobuf.parse(PROTO, { keepCase: false }).root;
const ReadRequest = remoteProto.lookupType("prometheus.ReadRequest");
const ReadResponse = remoteProto.lookupType("prometheus.ReadResponse");

type Int64 = number | { toNumber(): number };
interface PbSample { value: number; timestamp: Int64 }
interface PbMatcher { type: number; name: string; value: string }
interface PbQuery { startTimestampMs: Int64; endTimestampMs: Int64; matchers: PbMatcher[] }
interface PbReadRequest { queries: PbQuery[]; acceptedResponseTypes: number[] }

const METRIC_TYPE_NAMES = [
  "unknown", "counter", "gauge", "histogram", "gaugehistogram", "summary", "info", "stateset",
] as const;

export interface MetricMetadataUpdate {
  metric: string;
  type: string;
  help: string;
  unit: string;
}

export interface DecodedWriteRequest {
  /** Every sample of the request in columns, timestamps in the requested precision (SampleColumns of storage). */
  samples: SampleColumns & { series: SeriesKey[] };
  metadata: MetricMetadataUpdate[];
  /** The exemplars of every series, timestamps in the requested precision. */
  exemplars: DecodedExemplar[];
  histogramCount: number;
  /** Hands the sample columns back to the decoder's pool: call once storage no longer needs them. */
  release(): void;
}

function toNumber(v: Int64): number {
  return typeof v === "number" ? v : v.toNumber();
}

function decodeMessage<T>(type: protobuf.Type, bytes: Uint8Array, what: string): T {
  try {
    return type.decode(bytes) as unknown as T;
  } catch (err) {
    throw new ProtocolError("malformed", `invalid ${what} protobuf: ${err instanceof Error ? err.message : String(err)}`);
  }
}

function validatedExemplar(e: RawExemplar, key: SeriesKey, precision: TimestampPrecision): DecodedExemplar {
  const where = `exemplar of time series ${excerpt(key.metric)}`;
  validateTimestamp(e.timestamp, `(${where})`);
  return { series: key, labels: validateExemplarLabels(e.labels, where), timestamp: scaleMillis(e.timestamp, precision), value: e.value };
}

function validatedSeries(s: number, rawLabels: RawLabel[], extraLabel: Label | undefined): SeriesKey {
  let metric = "";
  let sawName = false;
  // exactly sized (no push growth): the series cache keeps one such array per series
  const labels = new Array<Label>(Math.max(0, rawLabels.length - 1));
  let n = 0;
  for (const l of rawLabels) {
    if (l.name === METRIC_NAME_LABEL) {
      if (sawName) throw new ProtocolError("malformed", `duplicate label name "__name__" in time series #${s}`);
      sawName = true;
      metric = l.value;
    } else if (n < labels.length) labels[n++] = l;
  }
  if (!sawName) throw new ProtocolError("malformed", `time series #${s} has no __name__ label`);
  return new SeriesKey(metric, validateSeries(metric, labels, extraLabel));
}

// Sample columns and series lists handed to storage come from a small pool: a request's go back once storage has
// them (DecodedWriteRequest.release), so steady ingest allocates no per-request arrays (they would live across the
// WAL fsync and be promoted to the old generation).
interface ColumnSet {
  index: Uint32Array;
  ts: Float64Array;
  values: Float64Array;
  series: SeriesKey[];
}
const columnPool: ColumnSet[] = [];
const POOLED_SETS = 8;
const POOLED_MAX_SAMPLES = 1 << 18;

function takeColumns(n: number): ColumnSet {
  for (let i = columnPool.length - 1; i >= 0; i--) {
    const set = columnPool[i]!;
    if (set.ts.length < n) continue;
    columnPool[i] = columnPool[columnPool.length - 1]!;
    columnPool.pop();
    return set;
  }
  let cap = 4096;
  while (cap < n) cap *= 2;
  return { index: new Uint32Array(cap), ts: new Float64Array(cap), values: new Float64Array(cap), series: [] };
}

function returnColumns(set: ColumnSet): void {
  if (columnPool.length < POOLED_SETS && set.ts.length <= POOLED_MAX_SAMPLES && set.series.length <= POOLED_MAX_SAMPLES) {
    set.series.fill(undefined as never); // no SeriesKey kept alive by the pool
    columnPool.push(set);
  }
}

function decoded(set: ColumnSet, count: number, precision: TimestampPrecision, rest: Omit<DecodedWriteRequest, "samples" | "release">): DecodedWriteRequest {
  let released = false;
  return {
    samples: {
      series: set.series,
      seriesIndex: set.index.subarray(0, count),
      timestamps: scaledTimestamps(set.ts.subarray(0, count), precision),
      values: set.values.subarray(0, count),
      count,
    },
    ...rest,
    release() {
      if (released) return;
      released = true;
      returnColumns(set);
    },
  };
}

/** Unix-ms timestamps in `precision`: integers in a Float64Array (s, ms, us) or a BigInt64Array (ns). */
function scaledTimestamps(ms: Float64Array, precision: TimestampPrecision): Float64Array | BigInt64Array {
  switch (precision) {
    case "ms":
      return ms;
    case "s":
    case "us":
      for (let i = 0; i < ms.length; i++) ms[i] = scaleMillis(ms[i]!, precision) as number;
      return ms;
    case "ns": {
      const out = new BigInt64Array(ms.length);
      for (let i = 0; i < ms.length; i++) {
        if (Math.abs(ms[i]!) > MAX_NS_MILLIS) throw new ProtocolError("malformed", `invalid timestamp ${ms[i]}: outside the signed 64-bit nanosecond range`);
        out[i] = scaleMillis(ms[i]!, precision) as bigint;
      }
      return out;
    }
  }
}
const MAX_NS_MILLIS = 9_223_372_036_854;

// The WASM scan (assembly/protocols/write_request.ts) and its series cache: remote-write clients resend the same
// series every scrape, in the same order, so a label set is decoded and validated once and then found again by
// its wire bytes, compared in linear memory (first as the successor of the previous series, else by hash). Each
// cache entry maps to the SeriesKey validated for it (same object every request, so storage skips its lookup too).
interface ScanKernel {
  wrScan(body: number, len: number, tenant: number): number;
  wrOutputs(cap: number): number;
  wrSampleCount(): number;
  wrExemplarCount(): number;
  wrExemplars(): number;
  wrCacheGeneration(): number;
  wrCacheClear(): void;
}
const WR_FALLBACK = -1;
const WR_SPACE = -2;
let kernel: ScanKernel | undefined;
let outputCap = 0;
let outputBase = 0;
/** SeriesKey per cache entry of the current cache generation. */
let entryKeys: (SeriesKey | undefined)[] = [];
let keysGeneration = -1;
/** Cache entries are per extra label (tenant): a small id for each one seen. */
const extraLabelIds = new Map<string, number>();
const MAX_EXTRA_LABELS = 1 << 16;

function extraLabelId(k: ScanKernel, extraLabel: Label | undefined): number {
  if (extraLabel === undefined) return 0;
  const name = `${extraLabel.name}\u0000${extraLabel.value}`;
  let id = extraLabelIds.get(name);
  if (id === undefined) {
    if (extraLabelIds.size >= MAX_EXTRA_LABELS) {
      extraLabelIds.clear();
      k.wrCacheClear();
    }
    id = extraLabelIds.size + 1;
    extraLabelIds.set(name, id);
  }
  return id;
}

/**
 * Decodes and validates a whole remote-write WriteRequest. Either every sample is returned in columns (timestamps
 * converted from ms to `precision`, `extraLabel` added to every series) or a ProtocolError is thrown. `bytes` may
 * be a view of WASM memory (snappyDecompressTransient): it is scanned in place. Call `release()` on the result
 * once storage holds its samples.
 */
export function decodeWriteRequest(bytes: Uint8Array, precision: TimestampPrecision, extraLabel?: Label): DecodedWriteRequest {
  const k = (kernel ??= loadWasm() as unknown as ScanKernel);
  let body = bytes.byteOffset;
  const len = bytes.length;
  if (bytes.buffer !== memoryViews().buffer) {
    body = scratch(len);
    memoryViews().u8.set(bytes, body);
  }
  const tenant = extraLabelId(k, extraLabel);
  if (outputCap === 0) outputBase = k.wrOutputs((outputCap = 8192));
  let m = k.wrScan(body, len, tenant);
  while (m === WR_SPACE) {
    outputBase = k.wrOutputs((outputCap *= 2));
    m = k.wrScan(body, len, tenant);
  }
  const generation = k.wrCacheGeneration();
  if (generation !== keysGeneration) {
    entryKeys = [];
    keysGeneration = generation;
  }
  // the kernel may have grown memory: views from here on
  const views = memoryViews();
  const request = views.u8.subarray(body, body + len);
  if (m === WR_FALLBACK) return decodeInJs(request, precision, extraLabel);
  const count = k.wrSampleCount();
  const set = takeColumns(count);
  const series = set.series;
  if (series.length !== m) series.length = m;
  const at = (outputBase + outputCap * 20) >> 2;
  const i32 = views.i32;
  for (let s = 0; s < m; s++) {
    const entry = i32[at + 3 * s]!;
    let key = entry >= 0 ? entryKeys[entry] : undefined;
    if (key === undefined) {
      key = validatedSeries(s, decodeLabelRun(request, i32[at + 3 * s + 1]!, i32[at + 3 * s + 2]!), extraLabel);
      if (entry >= 0) entryKeys[entry] = key;
    }
    series[s] = key;
  }
  set.ts.set(new Float64Array(views.buffer, outputBase, count));
  set.values.set(new Float64Array(views.buffer, outputBase + outputCap * 8, count));
  set.index.set(new Uint32Array(views.buffer, outputBase + outputCap * 16, count));
  const exemplars: DecodedExemplar[] = [];
  const located = k.wrExemplarCount();
  if (located > 0) {
    // the scan located them (series ordinal, start, end): decoded here, few per request
    const records = k.wrExemplars() >> 2;
    for (let i = 0; i < located; i++) {
      const r = records + 3 * i;
      exemplars.push(validatedExemplar(decodeExemplar(request, views.i32[r + 1]!, views.i32[r + 2]!), series[views.i32[r]!]!, precision));
    }
  }
  return decoded(set, count, precision, { metadata: [], exemplars, histogramCount: 0 });
}

/** The whole grammar in JS (write-request-decoder.ts), uncached: metadata, histograms, odd encodings, errors. */
function decodeInJs(bytes: Uint8Array, precision: TimestampPrecision, extraLabel: Label | undefined): DecodedWriteRequest {
  const metadata: MetricMetadataUpdate[] = [];
  const exemplars: DecodedExemplar[] = [];
  let histogramCount = 0;
  let count = 0;
  let set = takeColumns(0);
  set.series.length = 0;
  visitWriteRequest(bytes, {
    series(scan) {
      const series = set.series;
      const s = series.length;
      histogramCount += scan.histograms;
      const key = validatedSeries(s, scan.labels(), extraLabel);
      series.push(key);
      if (scan.exemplars > 0) for (const e of scan.decodeExemplars()) exemplars.push(validatedExemplar(e, key, precision));
      const n = scan.sampleCount;
      if (count + n > set.ts.length) {
        const grown = takeColumns(count + n);
        grown.series.length = 0;
        for (const key of set.series) grown.series.push(key);
        grown.index.set(set.index.subarray(0, count));
        grown.ts.set(set.ts.subarray(0, count));
        grown.values.set(set.values.subarray(0, count));
        returnColumns(set);
        set = grown;
      }
      const { timestamps, values } = scan;
      for (let i = 0; i < n; i++) {
        const ms = timestamps[i]!;
        if (!Number.isSafeInteger(ms)) validateTimestamp(ms, `in time series ${excerpt(key.metric)}`);
        set.index[count] = s;
        set.ts[count] = ms;
        set.values[count++] = values[i]!;
      }
    },
    metadata(type, metricFamilyName, help, unit) {
      if (!metricFamilyName) throw new ProtocolError("malformed", "metric metadata without metric_family_name");
      metadata.push({ metric: metricFamilyName, type: METRIC_TYPE_NAMES[type] ?? "unknown", help, unit });
    },
  });
  return decoded(set, count, precision, { metadata, exemplars, histogramCount });
}

export type MatchOp = "=" | "!=" | "=~" | "!~";
const MATCH_OPS: readonly MatchOp[] = ["=", "!=", "=~", "!~"];

export interface RemoteReadQuery {
  startMs: number;
  endMs: number;
  matchers: { name: string; op: MatchOp; value: string }[];
}

/** Decodes a ReadRequest; only the SAMPLES response type is served (anything else is "unsupported"). */
export function decodeReadRequest(bytes: Uint8Array): RemoteReadQuery[] {
  const req = decodeMessage<PbReadRequest>(ReadRequest, bytes, "ReadRequest");
  if (req.acceptedResponseTypes.length > 0 && !req.acceptedResponseTypes.includes(0)) {
    throw new ProtocolError("unsupported", "only the SAMPLES remote-read response type is supported (no chunked streaming)");
  }
  return req.queries.map((q, i) => {
    const startMs = toNumber(q.startTimestampMs);
    const endMs = toNumber(q.endTimestampMs);
    validateTimestamp(startMs, `(start of read query #${i})`);
    validateTimestamp(endMs, `(end of read query #${i})`);
    if (endMs < startMs) throw new ProtocolError("malformed", `read query #${i}: end ${endMs} is before start ${startMs}`);
    if (q.matchers.length === 0) throw new ProtocolError("malformed", `read query #${i} has no label matchers`);
    const matchers = q.matchers.map((m) => {
      const op = MATCH_OPS[m.type];
      if (!op) throw new ProtocolError("malformed", `read query #${i}: unknown matcher type ${m.type}`);
      return { name: m.name, op, value: m.value };
    });
    return { startMs, endMs, matchers };
  });
}

export interface ReadSeries {
  /** Full label set including `__name__`. */
  labels: Label[];
  /** Timestamps in ms. */
  timestamps: ArrayLike<number>;
  values: ArrayLike<number>;
}

/** Encodes one result (list of series) per query into ReadResponse bytes (uncompressed). */
export function encodeReadResponse(results: ReadSeries[][]): Uint8Array {
  const message = {
    results: results.map((series) => ({
      timeseries: series.map((s) => {
        const samples = new Array<PbSample>(s.timestamps.length);
        for (let i = 0; i < samples.length; i++) samples[i] = { value: s.values[i]!, timestamp: s.timestamps[i]! };
        return { labels: s.labels, samples };
      }),
    })),
  };
  return ReadResponse.encode(ReadResponse.fromObject(message)).finish();
}
