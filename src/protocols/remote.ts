// Prometheus remote write 1.0 and remote read (SAMPLES response) messages: protobuf bytes in, validated sample
// columns out, and query results back to ReadResponse bytes. protobufjs holds the schema and the read messages; the hot
// WriteRequest path is write-request-decoder.ts. Snappy framing lives in snappy.ts; no I/O here.
import protobuf from "protobufjs";
import { ProtocolError } from "./errors.js";
import { type Label, METRIC_NAME_LABEL, excerpt, validateSeries, validateTimestamp } from "./series-validation.js";
import { type SampleColumns, SeriesKey } from "../storage/types.js";
import { type TimestampPrecision, scaleMillis } from "./rows.js";
import { type RawLabel, visitWriteRequest } from "./write-request-decoder.js";

// The subset of prometheus/prompb (types.proto, remote.proto) we read and write. Exemplars and native histograms are
// kept as opaque bytes: the server only needs to know they are present (they answer 422 until their own issue).
const PROTO = `
syntax = "proto3";
package prometheus;
message Label { string name = 1; string value = 2; }
message Sample { double value = 1; int64 timestamp = 2; }
message TimeSeries {
  repeated Label labels = 1;
  repeated Sample samples = 2;
  repeated bytes exemplars = 3;
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

export const METRIC_TYPE_NAMES = [
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
  exemplarCount: number;
  histogramCount: number;
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

/** A validated label set (as the SeriesKey storage resolves once), cached under its wire bytes and the extra label. */
interface CachedSeries {
  bytes: Buffer;
  extraValue: string | undefined;
  key: SeriesKey;
  /** The series that followed this one in the last request that had it: usually the next one again. */
  next: CachedSeries | undefined;
}

// Remote-write clients resend the same series every scrape, in the same order: decoding, validating and sorting a
// label set is done once and then found again by its wire bytes, first as the successor of the previous series
// (one compare), else in this 2-way set-associative table (a hash of ~100 bytes and one compare). Equal bytes
// decode to equal labels. The cached SeriesKey lets storage skip its own lookup too.
const SERIES_CACHE_SETS = 1 << 16;
const SERIES_CACHE_MAX_BYTES = 1024;
const seriesCache: (CachedSeries | undefined)[] = new Array<CachedSeries | undefined>(2 * SERIES_CACHE_SETS).fill(undefined);

function cachedSeries(request: Buffer, start: number, end: number, extraValue: string | undefined, slot: number): CachedSeries | undefined {
  for (let way = 0; way < 2; way++) {
    const entry = seriesCache[slot + way];
    if (entry !== undefined && entry.extraValue === extraValue && sameBytes(entry.bytes, request, start, end)) {
      if (way === 1) {
        // keep the most recently used entry in way 0; the other one is evicted next
        seriesCache[slot + 1] = seriesCache[slot];
        seriesCache[slot] = entry;
      }
      return entry;
    }
  }
  return undefined;
}

/** Murmur3-style hash of request[start, end), four bytes per step. */
function bytesHash(view: DataView, start: number, end: number): number {
  let h = (end - start) | 0;
  let i = start;
  for (; i + 4 <= end; i += 4) {
    let k = Math.imul(view.getInt32(i, true), 0xcc9e2d51);
    k = Math.imul((k << 15) | (k >>> 17), 0x1b873593);
    h ^= k;
    h = (Math.imul((h << 13) | (h >>> 19), 5) + 0xe6546b64) | 0;
  }
  for (; i < end; i++) h = Math.imul(h ^ view.getUint8(i), 0x01000193);
  h ^= h >>> 16;
  h = Math.imul(h, 0x85ebca6b);
  h ^= h >>> 13;
  return (h ^ (h >>> 16)) >>> 0;
}

/** Native comparison (memcmp) of a cached key with request[start, end). */
function sameBytes(cached: Buffer, request: Buffer, start: number, end: number): boolean {
  return cached.length === end - start && cached.compare(request, start, end) === 0;
}

function validatedSeries(s: number, rawLabels: RawLabel[], extraLabel: Label | undefined): SeriesKey {
  let metric = "";
  let sawName = false;
  const labels: Label[] = [];
  for (const l of rawLabels) {
    if (l.name === METRIC_NAME_LABEL) {
      if (sawName) throw new ProtocolError("malformed", `duplicate label name "__name__" in time series #${s}`);
      sawName = true;
      metric = l.value;
    } else labels.push(l);
  }
  if (!sawName) throw new ProtocolError("malformed", `time series #${s} has no __name__ label`);
  return new SeriesKey(metric, validateSeries(metric, labels, extraLabel));
}

// Sample columns of the request being decoded (grown as needed, copied out at the end).
let scratchIndex = new Uint32Array(4096);
let scratchTs = new Float64Array(4096);
let scratchValues = new Float64Array(4096);

function growScratch(need: number): void {
  let size = scratchIndex.length;
  while (size < need) size *= 2;
  const index = new Uint32Array(size);
  const ts = new Float64Array(size);
  const values = new Float64Array(size);
  index.set(scratchIndex);
  ts.set(scratchTs);
  values.set(scratchValues);
  scratchIndex = index;
  scratchTs = ts;
  scratchValues = values;
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

/**
 * Decodes and validates a whole remote-write WriteRequest. Either every sample is returned in columns (timestamps
 * converted from ms to `precision`, `extraLabel` added to every series) or a ProtocolError is thrown.
 */
export function decodeWriteRequest(bytes: Uint8Array, precision: TimestampPrecision, extraLabel?: Label): DecodedWriteRequest {
  const series: SeriesKey[] = [];
  const metadata: MetricMetadataUpdate[] = [];
  let exemplarCount = 0;
  let histogramCount = 0;
  let count = 0;
  let previous: CachedSeries | undefined;
  const extraValue = extraLabel?.value;
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const request = Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  let predicted: CachedSeries | undefined;
  visitWriteRequest(bytes, {
    knownLabels(pos, end) {
      // the series that followed the previous one last time, if its label bytes are at pos: no label scan needed
      const entry = previous?.next;
      predicted = undefined;
      if (entry === undefined || entry.extraValue !== extraValue || entry.bytes.length > end - pos || !sameBytes(entry.bytes, request, pos, pos + entry.bytes.length)) return 0;
      predicted = entry;
      return entry.bytes.length;
    },
    series(scan) {
      const s = series.length;
      exemplarCount += scan.exemplars;
      histogramCount += scan.histograms;
      const { labelStart, labelEnd } = scan;
      let key: SeriesKey;
      if (scan.recognised) {
        previous = predicted!;
        key = predicted!.key;
      } else if (labelStart >= 0 && labelEnd - labelStart <= SERIES_CACHE_MAX_BYTES) {
        const slot = (bytesHash(view, labelStart, labelEnd) & (SERIES_CACHE_SETS - 1)) * 2;
        let entry = cachedSeries(request, labelStart, labelEnd, extraValue, slot);
        if (entry === undefined) {
          entry = { bytes: Buffer.from(request.subarray(labelStart, labelEnd)), extraValue, key: validatedSeries(s, scan.labels(), extraLabel), next: undefined };
          const evicted = seriesCache[slot + 1];
          if (evicted !== undefined) evicted.next = undefined; // so successor links retain at most one evicted entry each
          seriesCache[slot + 1] = seriesCache[slot];
          seriesCache[slot] = entry;
        }
        if (previous !== undefined) previous.next = entry;
        previous = entry;
        key = entry.key;
      } else key = validatedSeries(s, scan.labels(), extraLabel);
      series.push(key);
      const n = scan.sampleCount;
      if (count + n > scratchIndex.length) growScratch(count + n);
      const { timestamps, values } = scan;
      for (let i = 0; i < n; i++) {
        const ms = timestamps[i]!;
        if (!Number.isSafeInteger(ms)) validateTimestamp(ms, `in time series ${excerpt(key.metric)}`);
        scratchIndex[count] = s;
        scratchTs[count] = ms;
        scratchValues[count++] = values[i]!;
      }
    },
    metadata(type, metricFamilyName, help, unit) {
      if (!metricFamilyName) throw new ProtocolError("malformed", "metric metadata without metric_family_name");
      metadata.push({ metric: metricFamilyName, type: METRIC_TYPE_NAMES[type] ?? "unknown", help, unit });
    },
  });
  const samples: DecodedWriteRequest["samples"] = {
    series,
    seriesIndex: scratchIndex.slice(0, count),
    timestamps: scaledTimestamps(scratchTs.slice(0, count), precision),
    values: scratchValues.slice(0, count),
    count,
  };
  return { samples, metadata, exemplarCount, histogramCount };
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
