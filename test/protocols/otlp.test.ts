// OTLP metrics conversion: a collector-shaped ExportMetricsServiceRequest (protobufjs, official field numbers) to
// sample columns — names, resource/scope/point labels, every metric kind — plus rejections and fuzz (no crash, no partial).
import { test } from "uvu";
import * as assert from "uvu/assert";
import fc from "fast-check";
import { ProtocolError } from "../../src/protocols/errors.js";
import { ExportMetricsServiceRequest } from "../../src/protocols/otlp-proto.js";
import { decodeOtlpJson, decodeOtlpProtobuf, escapeOtlpName, otlpToColumns } from "../../src/protocols/otlp.js";
import { columnRows } from "./columns.js";

const T_NS = "1700000000123456789";
const str = (key: string, value: string) => ({ key, value: { stringValue: value } });

function request(metrics: object[], extra: { resource?: object; scope?: object } = {}): Uint8Array {
  return ExportMetricsServiceRequest.encode(
    ExportMetricsServiceRequest.fromObject({
      resourceMetrics: [{
        resource: extra.resource ?? { attributes: [str("service.name", "checkout"), { key: "host.cpus", value: { intValue: 8 } }] },
        scopeMetrics: [{ scope: extra.scope ?? { name: "io.opentelemetry.http", version: "1.2.0" }, metrics }],
      }],
    }),
  ).finish();
}

const rowsOf = (bytes: Uint8Array, precision: "ms" | "ns" = "ms") =>
  columnRows(otlpToColumns(decodeOtlpProtobuf(bytes), precision).columns).map((r) => [
    r.metric, Object.fromEntries(r.labels.map((l) => [l.name, l.value])), r.dataPoint.timestamp, r.dataPoint.value,
  ]);

const SHARED = { otel_scope_name: "io.opentelemetry.http", otel_scope_version: "1.2.0", resource_host_x2e_cpus: "8", resource_service_x2e_name: "checkout" };

test("name escaping as the reference", () => {
  assert.is(escapeOtlpName("http.server.duration"), "http_x2e_server_x2e_duration");
  assert.is(escapeOtlpName("a_b"), "a__b");
  assert.is(escapeOtlpName("1xx"), "_x31_xx");
  assert.is(escapeOtlpName("_x"), "_x5f_x");
});

test("gauge, monotonic and non-monotonic cumulative sums with resource/scope/point labels", () => {
  const rows = rowsOf(request([
    { name: "system.memory.usage", unit: "By", gauge: { dataPoints: [{ timeUnixNano: T_NS, asInt: 1024, attributes: [str("state", "used")] }] } },
    { name: "http.requests", sum: { aggregationTemporality: 2, isMonotonic: true, dataPoints: [{ timeUnixNano: T_NS, asDouble: 5.5, attributes: [{ key: "ok", value: { boolValue: true } }] }] } },
    { name: "queue.size", sum: { aggregationTemporality: 2, isMonotonic: false, dataPoints: [{ timeUnixNano: T_NS, asInt: -3 }] } },
  ]));
  assert.equal(rows, [
    ["system_x2e_memory_x2e_usage", { ...SHARED, state: "used" }, 1700000000123, 1024],
    ["http_x2e_requests", { ...SHARED, ok: "true", otel_metric_kind: "sum", otel_temporality: "cumulative" }, 1700000000123, 5.5],
    ["queue_x2e_size", { ...SHARED, otel_metric_kind: "sum", otel_monotonic: "false", otel_temporality: "cumulative" }, 1700000000123, -3],
  ]);
  // ns precision keeps every digit
  assert.is(rowsOf(request([{ name: "g", gauge: { dataPoints: [{ timeUnixNano: T_NS, asDouble: 1 }] } }]), "ns")[0]![2], 1700000000123456789n);
});

test("histogram as classic cumulative _bucket/_count/_sum/_min/_max series", () => {
  const rows = rowsOf(request([{
    name: "latency", histogram: { aggregationTemporality: 2, dataPoints: [{
      timeUnixNano: T_NS, count: 10, sum: 12.5, min: 0.1, max: 9, explicitBounds: [0.5, 1, 5], bucketCounts: [2, 3, 4, 1],
    }] },
  }], { resource: { attributes: [] }, scope: {} }));
  const kind = { otel_metric_kind: "histogram", otel_temporality: "cumulative" };
  assert.equal(rows, [
    ["latency_bucket", { ...kind, le: "0.5" }, 1700000000123, 2],
    ["latency_bucket", { ...kind, le: "1" }, 1700000000123, 5],
    ["latency_bucket", { ...kind, le: "5" }, 1700000000123, 9],
    ["latency_bucket", { ...kind, le: "+Inf" }, 1700000000123, 10],
    ["latency_count", kind, 1700000000123, 10],
    ["latency_sum", kind, 1700000000123, 12.5],
    ["latency_min", kind, 1700000000123, 0.1],
    ["latency_max", kind, 1700000000123, 9],
  ]);
  // sum/min/max absent on the wire → no series
  const bare = rowsOf(request([{ name: "h", histogram: { aggregationTemporality: 2, dataPoints: [{ timeUnixNano: T_NS, count: 1, explicitBounds: [], bucketCounts: [1] }] } }], { resource: {}, scope: {} }));
  assert.equal(bare.map((r) => r[0]), ["h_bucket", "h_count"]);
});

test("summary and exponential histogram", () => {
  const rows = rowsOf(request([
    { name: "rpc", summary: { dataPoints: [{ timeUnixNano: T_NS, count: 4, sum: 8, quantileValues: [{ quantile: 0.5, value: 1.5 }, { quantile: 1, value: 3 }] }] } },
    { name: "exp", exponentialHistogram: { aggregationTemporality: 2, dataPoints: [{
      timeUnixNano: T_NS, count: 10, sum: 3, scale: 0, zeroCount: 3, zeroThreshold: 0,
      positive: { offset: 0, bucketCounts: [1, 2] }, negative: { offset: 1, bucketCounts: [4] },
    }] } },
  ], { resource: {}, scope: {} }));
  const s = { otel_metric_kind: "summary" };
  const e = { otel_metric_kind: "exponential_histogram", otel_temporality: "cumulative" };
  assert.equal(rows, [
    ["rpc", { ...s, quantile: "0.5" }, 1700000000123, 1.5],
    ["rpc", { ...s, quantile: "1" }, 1700000000123, 3],
    ["rpc_count", s, 1700000000123, 4],
    ["rpc_sum", s, 1700000000123, 8],
    ["exp_bucket", { ...e, le: "-2" }, 1700000000123, 4],
    ["exp_bucket", { ...e, le: "0" }, 1700000000123, 7],
    ["exp_bucket", { ...e, le: "2" }, 1700000000123, 8],
    ["exp_bucket", { ...e, le: "4" }, 1700000000123, 10],
    ["exp_bucket", { ...e, le: "+Inf" }, 1700000000123, 10],
    ["exp_count", e, 1700000000123, 10],
    ["exp_sum", e, 1700000000123, 3],
  ]);
});

test("attribute values: arrays and maps as JSON, bytes as base64:, metadata by kind", () => {
  const conv = otlpToColumns(decodeOtlpProtobuf(request([
    { name: "g", description: "a gauge", unit: "s", gauge: { dataPoints: [{ timeUnixNano: T_NS, asDouble: 1, attributes: [
      { key: "arr", value: { arrayValue: { values: [{ intValue: 1 }, { stringValue: "x" }] } } },
      { key: "map", value: { kvlistValue: { values: [str("k", "v")] } } },
      { key: "raw", value: { bytesValue: Buffer.from([1, 2, 3]) } },
      { key: "d", value: { doubleValue: 0.25 } },
    ] }] } },
    { name: "c", sum: { aggregationTemporality: 2, isMonotonic: true, dataPoints: [] } },
  ], { resource: {}, scope: {} })), "ms");
  assert.equal(Object.fromEntries(columnRows(conv.columns)[0]!.labels.map((l) => [l.name, l.value])), { arr: '[1,"x"]', d: "0.25", map: '{"k":"v"}', raw: "base64:AQID" });
  assert.equal(conv.metadata, [{ metric: "g", type: "gauge", help: "a gauge", unit: "s" }, { metric: "c", type: "counter", help: "", unit: "" }]);
});

test("64-bit integers from protobuf: int64 attributes keep every digit and sign, int64/uint64 values round to the nearest double", () => {
  const rows = rowsOf(request([
    { name: "g", gauge: { dataPoints: [
      { timeUnixNano: T_NS, asInt: "-9007199254740993", attributes: [
        { key: "min", value: { intValue: "-9223372036854775808" } },
        { key: "max", value: { intValue: "9223372036854775807" } },
        { key: "neg", value: { intValue: -5 } },
      ] },
    ] } },
    { name: "h", histogram: { aggregationTemporality: 2, dataPoints: [{ timeUnixNano: T_NS, count: "18446744073709551615", sum: 1, explicitBounds: [], bucketCounts: ["18446744073709551615"] }] } },
  ], { resource: {}, scope: {} }));
  assert.equal(rows[0], ["g", { max: "9223372036854775807", min: "-9223372036854775808", neg: "-5" }, 1700000000123, -9007199254740992]);
  assert.equal(rows.find((r) => r[0] === "h_count")![3], 18446744073709552000);
});

test("exemplars: filtered attributes, lowercase hex ids; a histogram's on the _bucket of its value; unset time = the point's", () => {
  const trace = Buffer.from("5B8EFFF798038103D269B633813FC60C", "hex");
  const span = Buffer.from("EEE19B7EC3C1B174", "hex");
  const conv = otlpToColumns(decodeOtlpProtobuf(request([
    { name: "lat", histogram: { aggregationTemporality: 2, dataPoints: [{ timeUnixNano: T_NS, count: 6, sum: 9, explicitBounds: [0.1, 1], bucketCounts: [1, 2, 3], exemplars: [
      { timeUnixNano: "1700000000200000000", asDouble: 0.5, traceId: trace, spanId: span, filteredAttributes: [str("http.route", "/pay")] },
      { asDouble: 7, traceId: trace },
      { timeUnixNano: T_NS, asInt: 0 },
    ] }] } },
    { name: "req", sum: { aggregationTemporality: 2, isMonotonic: true, dataPoints: [{ timeUnixNano: T_NS, asInt: 3, exemplars: [{ timeUnixNano: T_NS, asInt: 1, spanId: span }] }] } },
  ])), "ms");
  const le = (e: (typeof conv.exemplars)[number]) => `${e.series.metric}{le=${e.series.labels.find((l) => l.name === "le")?.value ?? "-"}}`;
  assert.equal(conv.exemplars.map((e) => [le(e), e.labels, e.timestamp, e.value]), [
    ["lat_bucket{le=1}", [{ name: "http_x2e_route", value: "/pay" }, { name: "span_id", value: "eee19b7ec3c1b174" }, { name: "trace_id", value: "5b8efff798038103d269b633813fc60c" }], 1700000000200, 0.5],
    ["lat_bucket{le=+Inf}", [{ name: "trace_id", value: "5b8efff798038103d269b633813fc60c" }], 1700000000123, 7],
    ["lat_bucket{le=0.1}", [], 1700000000123, 0],
    ["req{le=-}", [{ name: "span_id", value: "eee19b7ec3c1b174" }], 1700000000123, 1],
  ]);
  for (const e of conv.exemplars) assert.ok(conv.columns.series.includes(e.series), "the exemplar's series is one the samples write");
  assert.throws(
    () => otlpToColumns(decodeOtlpProtobuf(request([{ name: "g", gauge: { dataPoints: [{ timeUnixNano: T_NS, asInt: 1, exemplars: [{ timeUnixNano: T_NS }] }] } }])), "ms"),
    /metric 0 \("g"\) point 0 exemplar 0: missing asDouble\/asInt/,
  );
});

test("OTLP/JSON: camelCase, int64 strings, hex trace ids", () => {
  const json = JSON.stringify({ resourceMetrics: [{ resource: { attributes: [str("service.name", "api")] }, scopeMetrics: [{ metrics: [
    { name: "up", gauge: { dataPoints: [{ timeUnixNano: T_NS, asInt: "1", exemplars: [{ timeUnixNano: T_NS, asDouble: 1, traceId: "5b8efff798038103d269b633813fc60c", spanId: "eee19b7ec3c1b174" }] }] } },
  ] }] }] });
  const conv = otlpToColumns(decodeOtlpJson(json), "ms");
  assert.equal(columnRows(conv.columns).map((r) => [r.metric, r.labels, r.dataPoint]), [["up", [{ name: "resource_service_x2e_name", value: "api" }], { timestamp: 1700000000123, value: 1 }]]);
  assert.equal(conv.exemplars.map((e) => [e.series === conv.columns.series[0], e.labels, e.timestamp, e.value]), [
    [true, [{ name: "span_id", value: "eee19b7ec3c1b174" }, { name: "trace_id", value: "5b8efff798038103d269b633813fc60c" }], 1700000000123, 1],
  ]);
  assert.throws(() => decodeOtlpJson('{"resourceMetrics":[{"scopeMetrics":[{"metrics":[{"name":"x","gauge":{"dataPoints":[{"exemplars":[{"traceId":"zz"}]}]}}]}]}]}'), /not hex/);
  assert.throws(() => decodeOtlpJson("[1]"), /must be an object/);
  assert.throws(() => decodeOtlpJson("{"), /invalid OTLP JSON/);
});

function rejects(metrics: object[], pattern: RegExp): void {
  try {
    otlpToColumns(decodeOtlpProtobuf(request(metrics)), "ms");
  } catch (err) {
    assert.instance(err, ProtocolError);
    assert.match((err as Error).message, pattern);
    return;
  }
  assert.unreachable("expected a rejection");
}

test("rejections: delta temporality, flags, zero timestamp, bad buckets, quantiles, empty attribute values", () => {
  const point = { timeUnixNano: T_NS, asDouble: 1 };
  rejects([{ name: "d", sum: { aggregationTemporality: 1, isMonotonic: true, dataPoints: [point] } }], /metric 0 \("d"\): sum with delta temporality; only cumulative/);
  rejects([{ name: "d", histogram: { aggregationTemporality: 0, dataPoints: [] } }], /unspecified temporality/);
  rejects([{ name: "f", gauge: { dataPoints: [{ ...point, flags: 1 }] } }], /NO_RECORDED_VALUE/);
  rejects([{ name: "f", gauge: { dataPoints: [{ ...point, flags: 4 }] } }], /unsupported data point flags 4/);
  rejects([{ name: "z", gauge: { dataPoints: [{ asDouble: 1 }] } }], /time_unix_nano must be a non-zero/);
  rejects([{ name: "v", gauge: { dataPoints: [{ timeUnixNano: T_NS }] } }], /missing asDouble\/asInt/);
  rejects([{ name: "h", histogram: { aggregationTemporality: 2, dataPoints: [{ timeUnixNano: T_NS, explicitBounds: [1], bucketCounts: [1] }] } }], /1 explicit bounds but 1 bucket counts/);
  rejects([{ name: "h", histogram: { aggregationTemporality: 2, dataPoints: [{ timeUnixNano: T_NS, explicitBounds: [Infinity], bucketCounts: [1, 1] }] } }], /not finite/);
  rejects([{ name: "s", summary: { dataPoints: [{ timeUnixNano: T_NS, quantileValues: [{ quantile: 1.5, value: 1 }] }] } }], /quantile 1.5 is outside/);
  rejects([{ name: "a", gauge: { dataPoints: [{ ...point, attributes: [str("k", "")] }] } }], /empty string/);
  rejects([{ name: "a", gauge: { dataPoints: [{ ...point, attributes: [{ key: "k" }] }] } }], /has no value/);
  rejects([{ name: "a", gauge: { dataPoints: [{ ...point, attributes: [str("service.name", "x")] }] } }, { name: "b" }], /no gauge, sum/);
  rejects([{ name: "e", exponentialHistogram: { aggregationTemporality: 2, dataPoints: [{ timeUnixNano: T_NS, scale: 21 }] } }], /scale 21/);
  rejects([{ name: "", gauge: { dataPoints: [point] } }], /empty metric name/);
  assert.throws(() => decodeOtlpProtobuf(new Uint8Array([0x0a, 0x05, 0x01])), /invalid ExportMetricsServiceRequest/);
});

test("fuzz: random and mutated protobuf bodies decode+convert or throw ProtocolError, never anything else", () => {
  const valid = request([
    { name: "g", gauge: { dataPoints: [{ timeUnixNano: T_NS, asDouble: 1, attributes: [str("a", "b")] }] } },
    { name: "h", histogram: { aggregationTemporality: 2, dataPoints: [{ timeUnixNano: T_NS, count: 1, explicitBounds: [1], bucketCounts: [0, 1] }] } },
  ]);
  const mutated = fc.array(fc.record({ at: fc.nat(valid.length - 1), byte: fc.integer({ min: 0, max: 255 }) }), { minLength: 1, maxLength: 4 }).map((edits) => {
    const copy = Uint8Array.from(valid);
    for (const e of edits) copy[e.at] = e.byte;
    return copy;
  });
  let converted = 0; // bodies that gave samples
  let rejected = 0;
  fc.assert(
    fc.property(fc.oneof(fc.uint8Array({ maxLength: 200 }), mutated), (bytes) => {
      try {
        const conv = otlpToColumns(decodeOtlpProtobuf(bytes), "ms");
        const rows = columnRows(conv.columns);
        for (const r of rows) assert.ok(r.metric.length > 0);
        if (rows.length > 0) converted++;
      } catch (err) {
        if (!(err instanceof ProtocolError)) throw err;
        rejected++;
      }
    }),
    { numRuns: 3000 },
  );
  // Not vacuous: both outcomes occur often, so the checks on converted samples run too. (About 300-400 of the 3000
  // bodies convert, so the bound sits well below that: 298 was seen once against an earlier bound of 300.)
  assert.ok(converted >= 100 && rejected >= 100, `${converted} bodies converted to samples, ${rejected} rejected, of 3000`);
});

test.run();
