// OTLP/HTTP metrics over real HTTP to the real server: a collector-style gzip protobuf export, OTLP/JSON, read
// back through PromQL (names, labels, values, timestamps, histogram_quantile over the classic buckets); 415/422/400.
import { test } from "uvu";
import * as assert from "uvu/assert";
import { gzipSync } from "node:zlib";
import { ExportMetricsServiceRequest, ExportMetricsServiceResponse, RpcStatus } from "../../src/protocols/otlp-proto.js";
import { type RunningServer, getJson, recentMs, startServer } from "./helpers.js";

let srv: RunningServer;
let disabled: RunningServer;
test.before(async () => {
  srv = await startServer();
  disabled = await startServer([], { TSINK_OTLP_METRICS_ENABLED: "false" });
});
test.after(async () => {
  await srv.stop();
  await disabled.stop();
});

const COLLECTOR_HEADERS = { "Content-Type": "application/x-protobuf", "Content-Encoding": "gzip", "User-Agent": "OpenTelemetry Collector Contrib/0.98.0 (linux/amd64)" };
const str = (key: string, value: string) => ({ key, value: { stringValue: value } });

function exportBody(ms: number, metrics: object[]): Buffer {
  const ns = (BigInt(ms) * 1_000_000n).toString();
  const withTime = JSON.parse(JSON.stringify(metrics).replaceAll('"@T"', `"${ns}"`)) as object[];
  const bytes = ExportMetricsServiceRequest.encode(ExportMetricsServiceRequest.fromObject({
    resourceMetrics: [{
      resource: { attributes: [str("service.name", "checkout"), str("service.instance.id", "i-1")] },
      scopeMetrics: [{ scope: { name: "otelcol/hostmetricsreceiver", version: "0.98.0" }, metrics: withTime }],
    }],
  })).finish();
  return gzipSync(bytes);
}

async function instant(q: string, timeSec: number): Promise<{ metric: Record<string, string>; value: [number, string] }[]> {
  const res = await getJson(`${srv.url}/api/v1/query?query=${encodeURIComponent(q)}&time=${timeSec}`);
  assert.is(res.status, 200, JSON.stringify(res.body));
  return res.body.data.result;
}

test("collector export (gzip protobuf): gauge, counter, histogram read back through PromQL", async () => {
  const ms = recentMs(90);
  const body = exportBody(ms, [
    { name: "system.cpu.load_average.1m", unit: "{thread}", gauge: { dataPoints: [{ timeUnixNano: "@T", asDouble: 0.75 }] } },
    { name: "http.server.request.count", sum: { aggregationTemporality: 2, isMonotonic: true, dataPoints: [{ timeUnixNano: "@T", asInt: 42, attributes: [str("http.route", "/cart")] }] } },
    { name: "http.server.duration", unit: "ms", histogram: { aggregationTemporality: 2, dataPoints: [{
      timeUnixNano: "@T", count: 100, sum: 2500, explicitBounds: [10, 50, 100], bucketCounts: [50, 30, 15, 5],
    }] } },
  ]);
  const res = await fetch(`${srv.url}/v1/metrics`, { method: "POST", body, headers: COLLECTOR_HEADERS });
  assert.is(res.status, 200);
  assert.match(res.headers.get("content-type") ?? "", /application\/json/);
  assert.equal(await res.json(), {});
  const t = ms / 1000;
  const shared = { resource_service_x2e_name: "checkout", resource_service_x2e_instance_x2e_id: "i-1", otel_scope_name: "otelcol/hostmetricsreceiver", otel_scope_version: "0.98.0" };
  assert.equal(await instant("system_x2e_cpu_x2e_load__average_x2e_1m", t), [
    { metric: { __name__: "system_x2e_cpu_x2e_load__average_x2e_1m", ...shared }, value: [t, "0.75"] },
  ]);
  assert.equal(await instant("http_x2e_server_x2e_request_x2e_count", t), [
    { metric: { __name__: "http_x2e_server_x2e_request_x2e_count", ...shared, http_x2e_route: "/cart", otel_metric_kind: "sum", otel_temporality: "cumulative" }, value: [t, "42"] },
  ]);
  const buckets = await instant('http_x2e_server_x2e_duration_bucket{le="+Inf"}', t);
  assert.is(buckets[0]!.value[1], "100");
  const p50 = await instant("histogram_quantile(0.5, http_x2e_server_x2e_duration_bucket)", t);
  assert.is(Number(p50[0]!.value[1]), 10);
  assert.equal((await instant("http_x2e_server_x2e_duration_sum", t))[0]!.value, [t, "2500"]);
  const meta = await getJson(`${srv.url}/api/v1/metadata?metric=http_x2e_server_x2e_duration`);
  assert.equal(meta.body.data, { http_x2e_server_x2e_duration: [{ type: "histogram", help: "", unit: "ms" }] });
});

test("OTLP/JSON body; samples stored, exemplars stored with hex trace/span ids", async () => {
  const ms = recentMs(80);
  const ns = (BigInt(ms) * 1_000_000n).toString();
  const json = { resourceMetrics: [{ scopeMetrics: [{ metrics: [{ name: "json.gauge", gauge: { dataPoints: [{
    timeUnixNano: ns, asInt: "7", exemplars: [{ timeUnixNano: ns, asDouble: 7, traceId: "5b8efff798038103d269b633813fc60c", spanId: "eee19b7ec3c1b174" }],
  }] } }] }] }] };
  const res = await fetch(`${srv.url}/v1/metrics`, { method: "POST", body: JSON.stringify(json), headers: { "Content-Type": "application/json" } });
  assert.is(res.status, 200);
  const reply = (await res.json()) as Record<string, unknown>;
  assert.equal(reply, {});
  // the reply is a valid ExportMetricsServiceResponse in OTLP/JSON
  assert.ok(ExportMetricsServiceResponse.fromObject(reply));
  assert.equal((await instant("json_x2e_gauge", ms / 1000))[0]!.value, [ms / 1000, "7"]);
  const ex = (await (await fetch(`${srv.url}/api/v1/query_exemplars?query=json_x2e_gauge`)).json()) as { data: unknown };
  assert.equal(ex.data, [{
    seriesLabels: { __name__: "json_x2e_gauge" },
    exemplars: [{ labels: { span_id: "eee19b7ec3c1b174", trace_id: "5b8efff798038103d269b633813fc60c" }, value: "7", timestamp: ms / 1000 }],
  }]);
});

test("415 for other content types, 422 when disabled, 400 (nothing stored) for a delta sum; google.rpc.Status bodies", async () => {
  const ms = recentMs(70);
  const text = await fetch(`${srv.url}/v1/metrics`, { method: "POST", body: "x", headers: { "Content-Type": "text/plain" } });
  assert.is(text.status, 415);
  assert.match(((await text.json()) as { message: string }).message, /unsupported Content-Type/);
  const off = await fetch(`${disabled.url}/v1/metrics`, { method: "POST", body: exportBody(ms, []), headers: COLLECTOR_HEADERS });
  assert.is(off.status, 422);
  const offStatus = RpcStatus.decode(new Uint8Array(await off.arrayBuffer())) as unknown as { code: number; message: string };
  assert.is(offStatus.code, 9);
  assert.match(offStatus.message, /TSINK_OTLP_METRICS_ENABLED/);
  const body = exportBody(ms, [
    { name: "ok.gauge", gauge: { dataPoints: [{ timeUnixNano: "@T", asDouble: 1 }] } },
    { name: "delta.sum", sum: { aggregationTemporality: 1, isMonotonic: true, dataPoints: [{ timeUnixNano: "@T", asInt: 1 }] } },
  ]);
  const bad = await fetch(`${srv.url}/v1/metrics`, { method: "POST", body, headers: COLLECTOR_HEADERS });
  assert.is(bad.status, 400);
  assert.is(bad.headers.get("content-type"), "application/x-protobuf");
  const badStatus = RpcStatus.decode(new Uint8Array(await bad.arrayBuffer())) as unknown as { code: number; message: string };
  assert.is(badStatus.code, 3);
  assert.match(badStatus.message, /metric 1 \("delta.sum"\): sum with delta temporality/);
  assert.equal(await instant("ok_x2e_gauge", ms / 1000), []);
  const garbage = await fetch(`${srv.url}/v1/metrics`, { method: "POST", body: Buffer.from([0x0a, 0xff, 0x01]), headers: { "Content-Type": "application/protobuf" } });
  assert.is(garbage.status, 400);
  const badJson = await fetch(`${srv.url}/v1/metrics`, { method: "POST", body: "{", headers: { "Content-Type": "application/json" } });
  assert.is(badJson.status, 400);
  assert.equal(Object.keys((await badJson.json()) as object), ["code", "message"]);
});

test.run();
