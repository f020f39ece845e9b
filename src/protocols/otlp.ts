// OTLP/HTTP metrics (ExportMetricsServiceRequest, protobuf or OTLP/JSON) to sample columns, as the reference maps them (§4.5):
// escaped names, resource_/scope_ attribute labels, gauges, cumulative sums, explicit and exponential histograms as
// classic _bucket/_sum/_count series, summaries; exemplars with their filtered attributes plus trace_id/span_id
// as lowercase hex. Any invalid point rejects the whole request; pure (no I/O).
import type { Long } from "protobufjs";
import { ProtocolError } from "./errors.js";
import { type DecodedExemplar, validateExemplarLabels } from "./exemplars.js";
import { ExportMetricsServiceRequest } from "./otlp-proto.js";
import type { MetricMetadataUpdate } from "./remote.js";
import { SeriesKey } from "../storage/types.js";
import type { TimestampPrecision } from "./timestamp-precision.js";
import { SampleColumnsBuilder } from "./sample-columns.js";
import { type Label, excerpt, validateSeries } from "./series-validation.js";

type U64 = Long | number;
interface PbAnyValue {
  stringValue?: string; boolValue?: boolean; intValue?: U64; doubleValue?: number;
  arrayValue?: { values: PbAnyValue[] }; kvlistValue?: { values: PbKeyValue[] }; bytesValue?: Uint8Array; value?: string;
}
interface PbKeyValue { key: string; value?: PbAnyValue | null }
interface PbExemplar {
  filteredAttributes: PbKeyValue[]; timeUnixNano: U64; asDouble?: number; asInt?: U64; value?: string; spanId: Uint8Array; traceId: Uint8Array;
}
interface PbNumberPoint { attributes: PbKeyValue[]; timeUnixNano: U64; asDouble?: number; asInt?: U64; value?: string; exemplars: PbExemplar[]; flags: number }
interface PbHistogramPoint {
  attributes: PbKeyValue[]; timeUnixNano: U64; count: U64; sum?: number; bucketCounts: U64[]; explicitBounds: number[];
  exemplars: PbExemplar[]; flags: number; min?: number; max?: number;
}
interface PbBuckets { offset: number; bucketCounts: U64[] }
interface PbExpHistogramPoint {
  attributes: PbKeyValue[]; timeUnixNano: U64; count: U64; sum?: number; scale: number; zeroCount: U64; zeroThreshold: number;
  positive?: PbBuckets | null; negative?: PbBuckets | null; exemplars: PbExemplar[]; flags: number; min?: number; max?: number;
}
interface PbSummaryPoint { attributes: PbKeyValue[]; timeUnixNano: U64; count: U64; sum: number; quantileValues: { quantile: number; value: number }[]; flags: number }
interface PbMetric {
  name: string; description: string; unit: string; data?: string;
  gauge?: { dataPoints: PbNumberPoint[] };
  sum?: { dataPoints: PbNumberPoint[]; aggregationTemporality: number; isMonotonic: boolean };
  histogram?: { dataPoints: PbHistogramPoint[]; aggregationTemporality: number };
  exponentialHistogram?: { dataPoints: PbExpHistogramPoint[]; aggregationTemporality: number };
  summary?: { dataPoints: PbSummaryPoint[] };
}
export interface OtlpRequest {
  resourceMetrics: {
    resource?: { attributes: PbKeyValue[]; droppedAttributesCount: number } | null;
    scopeMetrics: { scope?: { name: string; version: string; attributes: PbKeyValue[]; droppedAttributesCount: number } | null; metrics: PbMetric[] }[];
  }[];
}

export interface OtlpConversion {
  columns: SampleColumnsBuilder;
  metadata: MetricMetadataUpdate[];
  dataPoints: number;
  /**
   * The points' exemplars: a gauge's or sum's on the point's series; a histogram's on the `_bucket` series of the
   * smallest bound that holds its value (as Prometheus' OTLP translator attaches them).
   */
  exemplars: DecodedExemplar[];
}

const CUMULATIVE = 2;
const TEMPORALITY_NAMES = ["unspecified", "delta", "cumulative"];
const NO_RECORDED_VALUE = 1;
/** Buckets one exponential-histogram point may expand to (OTel SDKs default to 160 per side). */
const MAX_EXPONENTIAL_BUCKETS = 1024;

/** Decodes a protobuf ExportMetricsServiceRequest. */
export function decodeOtlpProtobuf(body: Uint8Array): OtlpRequest {
  try {
    return ExportMetricsServiceRequest.decode(body) as unknown as OtlpRequest;
  } catch (err) {
    throw new ProtocolError("malformed", `invalid ExportMetricsServiceRequest protobuf: ${(err as Error).message}`);
  }
}

const HEX_RE = /^(?:[0-9a-fA-F]{2})*$/;

/** Decodes an OTLP/JSON ExportMetricsServiceRequest (lowerCamelCase keys, int64 as strings, hex trace/span ids). */
export function decodeOtlpJson(text: string): OtlpRequest {
  let json: unknown;
  try {
    json = JSON.parse(text, (key, value: unknown) => {
      if ((key === "traceId" || key === "spanId") && typeof value === "string") {
        if (!HEX_RE.test(value)) throw new ProtocolError("malformed", `${key} ${excerpt(value)} is not hex`);
        return Buffer.from(value, "hex").toString("base64");
      }
      return value;
    });
  } catch (err) {
    if (err instanceof ProtocolError) throw err;
    throw new ProtocolError("malformed", `invalid OTLP JSON: ${(err as Error).message}`);
  }
  if (typeof json !== "object" || json === null || Array.isArray(json)) throw new ProtocolError("malformed", "OTLP JSON body must be an object");
  try {
    return ExportMetricsServiceRequest.fromObject(json as Record<string, unknown>) as unknown as OtlpRequest;
  } catch (err) {
    throw new ProtocolError("malformed", `invalid OTLP JSON: ${(err as Error).message}`);
  }
}

/** OTLP name escaping: [A-Za-z0-9] kept, `_` → `__`, other bytes → `_xHH_`, a non-letter first character escaped. */
export function escapeOtlpName(raw: string): string {
  let out = "";
  const bytes = Buffer.from(raw, "utf8");
  for (let i = 0; i < bytes.length; i++) {
    const b = bytes[i]!;
    const letter = (b >= 97 && b <= 122) || (b >= 65 && b <= 90);
    if (letter || (i > 0 && b >= 48 && b <= 57)) out += String.fromCharCode(b);
    else if (b === 95 && i > 0) out += "__";
    else out += `_x${b.toString(16).padStart(2, "0")}_`;
  }
  return out;
}

function u64ToBigInt(v: U64): bigint {
  if (typeof v === "number") return BigInt(v);
  return (BigInt(v.high >>> 0) << 32n) | BigInt(v.low >>> 0);
}

function toNumber(v: U64): number {
  return typeof v === "number" ? v : (v.unsigned ? v.high >>> 0 : v.high) * 4294967296 + (v.low >>> 0);
}

const NS_PER: Record<TimestampPrecision, bigint> = { ns: 1n, us: 1000n, ms: 1_000_000n, s: 1_000_000_000n };

function convertTime(v: U64, precision: TimestampPrecision, where: string): number | bigint {
  const ns = u64ToBigInt(v);
  if (ns === 0n) throw new ProtocolError("malformed", `${where}: time_unix_nano must be a non-zero Unix nanosecond value`);
  if (ns > 2n ** 63n - 1n) throw new ProtocolError("malformed", `${where}: time_unix_nano is out of range`);
  return precision === "ns" ? ns : Number(ns / NS_PER[precision]);
}

function checkFlags(flags: number, where: string): void {
  if (flags & NO_RECORDED_VALUE) throw new ProtocolError("malformed", `${where} uses DataPointFlags.NO_RECORDED_VALUE, which is not supported`);
  if (flags !== 0) throw new ProtocolError("malformed", `${where} has unsupported data point flags ${flags}`);
}

function anyValueJson(v: PbAnyValue | null | undefined): unknown {
  if (!v || v.value === undefined) return null;
  switch (v.value) {
    case "stringValue": return v.stringValue;
    case "boolValue": return v.boolValue;
    case "intValue": {
      const n = Number(u64ToSigned(v.intValue!));
      return Number.isSafeInteger(n) ? n : u64ToSigned(v.intValue!);
    }
    case "doubleValue": return Number.isFinite(v.doubleValue) ? v.doubleValue : String(v.doubleValue);
    case "arrayValue": return (v.arrayValue?.values ?? []).map(anyValueJson);
    case "kvlistValue": return Object.fromEntries((v.kvlistValue?.values ?? []).map((kv) => [kv.key, anyValueJson(kv.value)]));
    case "bytesValue": return `base64:${Buffer.from(v.bytesValue ?? []).toString("base64")}`;
    default: return null;
  }
}

function u64ToSigned(v: U64): string {
  if (typeof v === "number") return String(v);
  const bits = u64ToBigInt(v);
  return String(v.unsigned ? bits : BigInt.asIntN(64, bits));
}

function attributeValue(v: PbAnyValue | null | undefined, key: string, where: string): string {
  if (!v || v.value === undefined) throw new ProtocolError("malformed", `${where}: attribute ${excerpt(key)} has no value`);
  switch (v.value) {
    case "stringValue":
      if (!v.stringValue) throw new ProtocolError("malformed", `${where}: attribute ${excerpt(key)} is an empty string, which a label cannot hold`);
      return v.stringValue;
    case "boolValue": return String(v.boolValue);
    case "intValue": return u64ToSigned(v.intValue!);
    case "doubleValue": return String(v.doubleValue);
    case "bytesValue": return anyValueJson(v) as string;
    default: return JSON.stringify(anyValueJson(v));
  }
}

function attributeLabels(attrs: PbKeyValue[], prefix: string, out: Label[], where: string): void {
  for (const kv of attrs) {
    if (!kv.key) throw new ProtocolError("malformed", `${where}: attribute with an empty key`);
    out.push({ name: prefix + escapeOtlpName(kv.key), value: attributeValue(kv.value, kv.key, where) });
  }
}

/** Converts a decoded request. `tenantLabel` is merged into every series. */
export function otlpToColumns(request: OtlpRequest, precision: TimestampPrecision, tenantLabel?: Label): OtlpConversion {
  const columns = new SampleColumnsBuilder(precision === "ns");
  const metadata = new Map<string, MetricMetadataUpdate>();
  let dataPoints = 0;
  const exemplars: DecodedExemplar[] = [];

  const push = (metric: string, labels: Label[], where: string, timestamp: number | bigint, value: number): SeriesKey => {
    let valid: Label[];
    try {
      valid = validateSeries(metric, labels, tenantLabel);
    } catch (err) {
      if (err instanceof ProtocolError) throw new ProtocolError(err.kind, `${where}: ${err.message}`);
      throw err;
    }
    const key = new SeriesKey(metric, valid); // a key per point: OTLP points are mostly distinct series
    columns.add(key, timestamp, value);
    return key;
  };
  /** Adds a point's exemplars, each on the series `seriesOf` picks for its value. */
  const addExemplars = (list: PbExemplar[], pointTs: number | bigint, pw: string, seriesOf: (value: number) => SeriesKey) => {
    list.forEach((e, ei) => {
      const where = `${pw} exemplar ${ei}`;
      let value: number;
      if (e.value === "asDouble") value = e.asDouble!;
      else if (e.value === "asInt") value = toNumber(e.asInt!);
      else throw new ProtocolError("malformed", `${where}: missing asDouble/asInt value`);
      const labels: Label[] = [];
      attributeLabels(e.filteredAttributes, "", labels, where);
      if (e.traceId.length > 0) labels.push({ name: "trace_id", value: Buffer.from(e.traceId).toString("hex") });
      if (e.spanId.length > 0) labels.push({ name: "span_id", value: Buffer.from(e.spanId).toString("hex") });
      // time_unix_nano 0: the exemplar was recorded with the point (collectors leave it unset)
      const timestamp = u64ToBigInt(e.timeUnixNano) === 0n ? pointTs : convertTime(e.timeUnixNano, precision, where);
      exemplars.push({ series: seriesOf(value), labels: validateExemplarLabels(labels, where), timestamp, value });
    });
  };

  request.resourceMetrics.forEach((rm, ri) => {
    const shared: Label[] = [];
    const resource = rm.resource;
    if (resource) {
      attributeLabels(resource.attributes, "resource_", shared, `resource ${ri}`);
      if (resource.droppedAttributesCount > 0) shared.push({ name: "otel_resource_dropped_attributes_count", value: String(resource.droppedAttributesCount) });
    }
    rm.scopeMetrics.forEach((sm, si) => {
      const scopeLabels = [...shared];
      const scope = sm.scope;
      if (scope) {
        attributeLabels(scope.attributes, "scope_", scopeLabels, `resource ${ri} scope ${si}`);
        if (scope.name) scopeLabels.push({ name: "otel_scope_name", value: scope.name });
        if (scope.version) scopeLabels.push({ name: "otel_scope_version", value: scope.version });
        if (scope.droppedAttributesCount > 0) scopeLabels.push({ name: "otel_scope_dropped_attributes_count", value: String(scope.droppedAttributesCount) });
      }
      sm.metrics.forEach((m, mi) => {
        const where = `resource ${ri} scope ${si} metric ${mi} (${excerpt(m.name)})`;
        if (!m.name) throw new ProtocolError("malformed", `${where}: empty metric name`);
        const name = escapeOtlpName(m.name);
        const record = (type: string) => {
          if (!metadata.has(name)) metadata.set(name, { metric: name, type, help: m.description, unit: m.unit });
        };
        const pointLabels = (attrs: PbKeyValue[], extra: Label[], pw: string): Label[] => {
          const labels = [...scopeLabels];
          attributeLabels(attrs, "", labels, pw);
          for (const l of extra) labels.push(l);
          return labels;
        };
        const requireCumulative = (temporality: number, kind: string) => {
          if (temporality !== CUMULATIVE) {
            throw new ProtocolError("malformed", `${where}: ${kind} with ${TEMPORALITY_NAMES[temporality] ?? temporality} temporality; only cumulative is accepted`);
          }
        };
        const numberPoints = (points: PbNumberPoint[], extra: Label[]) => {
          points.forEach((p, pi) => {
            const pw = `${where} point ${pi}`;
            checkFlags(p.flags, pw);
            const ts = convertTime(p.timeUnixNano, precision, pw);
            let value: number;
            if (p.value === "asDouble") value = p.asDouble!;
            else if (p.value === "asInt") value = toNumber(p.asInt!);
            else throw new ProtocolError("malformed", `${pw}: missing asDouble/asInt value`);
            const key = push(name, pointLabels(p.attributes, extra, pw), pw, ts, value);
            addExemplars(p.exemplars, ts, pw, () => key);
            dataPoints++;
          });
        };
        switch (m.data) {
          case "gauge":
            record("gauge");
            numberPoints(m.gauge!.dataPoints, []);
            break;
          case "sum": {
            const sum = m.sum!;
            requireCumulative(sum.aggregationTemporality, "sum");
            record(sum.isMonotonic ? "counter" : "gauge");
            const extra = [{ name: "otel_metric_kind", value: "sum" }, { name: "otel_temporality", value: "cumulative" }];
            if (!sum.isMonotonic) extra.push({ name: "otel_monotonic", value: "false" });
            numberPoints(sum.dataPoints, extra);
            break;
          }
          case "histogram": {
            const h = m.histogram!;
            requireCumulative(h.aggregationTemporality, "histogram");
            record("histogram");
            const extra = [{ name: "otel_metric_kind", value: "histogram" }, { name: "otel_temporality", value: "cumulative" }];
            h.dataPoints.forEach((p, pi) => {
              const pw = `${where} point ${pi}`;
              checkFlags(p.flags, pw);
              const ts = convertTime(p.timeUnixNano, precision, pw);
              if (p.explicitBounds.length + 1 !== p.bucketCounts.length) {
                throw new ProtocolError("malformed", `${pw}: ${p.explicitBounds.length} explicit bounds but ${p.bucketCounts.length} bucket counts (expected bounds + 1)`);
              }
              const labels = pointLabels(p.attributes, extra, pw);
              const buckets: [string, number][] = [];
              let cumulative = 0;
              p.bucketCounts.forEach((c, bi) => {
                cumulative += toNumber(c);
                if (bi < p.explicitBounds.length) {
                  const bound = p.explicitBounds[bi]!;
                  if (!Number.isFinite(bound)) throw new ProtocolError("malformed", `${pw}: bucket bound ${bi} is not finite`);
                  buckets.push([String(bound), cumulative]);
                } else buckets.push(["+Inf", cumulative]);
              });
              addExemplars(p.exemplars, ts, pw, histogramRows(name, labels, pw, ts, buckets, toNumber(p.count), p));
              dataPoints++;
            });
            break;
          }
          case "exponentialHistogram": {
            const h = m.exponentialHistogram!;
            requireCumulative(h.aggregationTemporality, "exponential histogram");
            record("histogram");
            const extra = [{ name: "otel_metric_kind", value: "exponential_histogram" }, { name: "otel_temporality", value: "cumulative" }];
            h.dataPoints.forEach((p, pi) => {
              const pw = `${where} point ${pi}`;
              checkFlags(p.flags, pw);
              const ts = convertTime(p.timeUnixNano, precision, pw);
              const labels = pointLabels(p.attributes, extra, pw);
              addExemplars(p.exemplars, ts, pw, histogramRows(name, labels, pw, ts, exponentialBuckets(p, pw), toNumber(p.count), p));
              dataPoints++;
            });
            break;
          }
          case "summary":
            record("summary");
            m.summary!.dataPoints.forEach((p, pi) => {
              const pw = `${where} point ${pi}`;
              checkFlags(p.flags, pw);
              const ts = convertTime(p.timeUnixNano, precision, pw);
              const labels = pointLabels(p.attributes, [{ name: "otel_metric_kind", value: "summary" }], pw);
              for (const q of p.quantileValues) {
                if (!(q.quantile >= 0 && q.quantile <= 1)) throw new ProtocolError("malformed", `${pw}: quantile ${q.quantile} is outside [0, 1]`);
                push(name, [...labels, { name: "quantile", value: String(q.quantile) }], pw, ts, q.value);
              }
              push(`${name}_count`, labels, pw, ts, toNumber(p.count));
              push(`${name}_sum`, labels, pw, ts, p.sum);
              dataPoints++;
            });
            break;
          default:
            throw new ProtocolError("malformed", `${where}: no gauge, sum, histogram, exponential histogram or summary data`);
        }
      });
    });
  });

  /** Writes a histogram point's series; returns the `_bucket` series (by value) that an exemplar belongs to. */
  function histogramRows(
    name: string, labels: Label[], pw: string, ts: number | bigint, buckets: [string, number][], count: number,
    p: { sum?: number; min?: number; max?: number },
  ): (value: number) => SeriesKey {
    const keys = buckets.map(([le, cumulative]) => push(`${name}_bucket`, [...labels, { name: "le", value: le }], pw, ts, cumulative));
    push(`${name}_count`, labels, pw, ts, count);
    if (has(p, "sum")) push(`${name}_sum`, labels, pw, ts, p.sum!);
    if (has(p, "min")) push(`${name}_min`, labels, pw, ts, p.min!);
    if (has(p, "max")) push(`${name}_max`, labels, pw, ts, p.max!);
    return (value) => {
      // the last bucket is +Inf
      for (let b = 0; b < buckets.length - 1; b++) if (value <= Number(buckets[b]![0])) return keys[b]!;
      return keys[keys.length - 1]!;
    };
  }

  return { columns, metadata: [...metadata.values()], dataPoints, exemplars };
}

/** Whether a proto3 `optional` field was present on the wire (protobufjs sets own properties only then). */
function has(obj: object, key: string): boolean {
  return Object.prototype.hasOwnProperty.call(obj, key) && (obj as Record<string, unknown>)[key] != null;
}

/**
 * Exponential buckets as classic cumulative `le` buckets (the contract lists exponential histograms as supported;
 * the reference rejects them). With base = 2^(2^-scale), positive bucket i holds (base^i, base^(i+1)], negative
 * bucket i holds [-base^(i+1), -base^i) and the zero bucket [-zero_threshold, zero_threshold]. Upper bounds in
 * ascending order: negative buckets from the largest index down (le = -base^i), the zero bucket
 * (le = zero_threshold), positive buckets (le = base^(i+1)), then +Inf = count.
 */
function exponentialBuckets(p: PbExpHistogramPoint, pw: string): [string, number][] {
  if (!Number.isInteger(p.scale) || p.scale < -10 || p.scale > 20) throw new ProtocolError("malformed", `${pw}: scale ${p.scale} outside [-10, 20]`);
  const pos = p.positive?.bucketCounts ?? [];
  const neg = p.negative?.bucketCounts ?? [];
  if (pos.length + neg.length > MAX_EXPONENTIAL_BUCKETS) {
    throw new ProtocolError("malformed", `${pw}: ${pos.length + neg.length} exponential buckets, more than ${MAX_EXPONENTIAL_BUCKETS}`);
  }
  if (!(p.zeroThreshold >= 0) || !Number.isFinite(p.zeroThreshold)) throw new ProtocolError("malformed", `${pw}: invalid zero_threshold ${p.zeroThreshold}`);
  const bound = (index: number) => 2 ** (index * 2 ** -p.scale);
  const out: [string, number][] = [];
  let cumulative = 0;
  const negOffset = p.negative?.offset ?? 0;
  for (let k = neg.length - 1; k >= 0; k--) {
    cumulative += toNumber(neg[k]!);
    out.push([String(-bound(negOffset + k)), cumulative]);
  }
  cumulative += toNumber(p.zeroCount);
  out.push([String(p.zeroThreshold), cumulative]);
  const posOffset = p.positive?.offset ?? 0;
  for (let k = 0; k < pos.length; k++) {
    cumulative += toNumber(pos[k]!);
    const upper = bound(posOffset + k + 1);
    if (!Number.isFinite(upper) || upper === 0) throw new ProtocolError("malformed", `${pw}: bucket index ${posOffset + k} is out of range at scale ${p.scale}`);
    out.push([String(upper), cumulative]);
  }
  out.push(["+Inf", toNumber(p.count)]);
  return out;
}
