// End to end over HTTP: remote write (snappy protobuf) and text import into the real storage, then PromQL
// queries, remote read and the metadata routes, with Prometheus' exact response shapes.
import { test } from "uvu";
import * as assert from "uvu/assert";
import {
  type RunningServer, decodeReadResponse, getJson, readRequestBody, recentMs, remoteWrite, remoteWriteBody, REMOTE_WRITE_HEADERS, startServer,
} from "./helpers.js";

let srv: RunningServer;
const T0 = recentMs(600); // ten minutes ago, whole second
const sec = (ms: number) => ms / 1000;

test.before(async () => {
  srv = await startServer();
  const res = await remoteWrite(srv.url, [
    { labels: { __name__: "cpu_usage", host: "web-1", dc: "eu" }, samples: [[T0, 42], [T0 + 15000, 43], [T0 + 30000, NaN]] },
    { labels: { __name__: "cpu_usage", host: "web-2", dc: "us" }, samples: [[T0, 1.5e-7], [T0 + 15000, 1e21]] },
    { labels: { __name__: "http_requests_total", code: "200" }, samples: [[T0, 10], [T0 + 60000, 70]] },
  ]);
  assert.is(res.status, 200);
  assert.is(await res.text(), "");
});

test.after(() => srv.stop());

test("a query answer's status line and headers: 200, JSON Content-Type, Content-Length of the body; HEAD gets the same headers and no body", async () => {
  const url = `${srv.url}/api/v1/query?query=cpu_usage&time=${sec(T0 + 15000)}`;
  const get = await fetch(url);
  const bytes = Buffer.from(await get.arrayBuffer());
  assert.is(get.status, 200);
  assert.is(get.headers.get("content-type"), "application/json; charset=utf-8");
  assert.is(get.headers.get("content-length"), String(bytes.length));
  assert.is(JSON.parse(bytes.toString("utf8")).status, "success");
  const head = await fetch(url, { method: "HEAD" });
  assert.is(head.status, 200);
  assert.is(head.headers.get("content-type"), "application/json; charset=utf-8");
  assert.is(head.headers.get("content-length"), String(bytes.length));
  assert.is((await head.arrayBuffer()).byteLength, 0);
});

test("instant query over remote-written data: Prometheus vector shape, string values", async () => {
  const { status, headers, body } = await getJson(`${srv.url}/api/v1/query?query=cpu_usage&time=${sec(T0 + 15000)}`);
  assert.is(status, 200);
  assert.match(headers.get("content-type")!, /application\/json/);
  assert.equal(body, {
    status: "success",
    data: {
      resultType: "vector",
      result: [
        { metric: { __name__: "cpu_usage", dc: "eu", host: "web-1" }, value: [sec(T0 + 15000), "43"] },
        { metric: { __name__: "cpu_usage", dc: "us", host: "web-2" }, value: [sec(T0 + 15000), "1e+21"] },
      ],
    },
  });
});

test("raw JSON text matches Prometheus byte for byte (timestamps, NaN, exponent)", async () => {
  const res = await fetch(`${srv.url}/api/v1/query?query=cpu_usage{host="web-1"}&time=${sec(T0 + 30000) + 0.5}`);
  assert.is(
    await res.text(),
    `{"status":"success","data":{"resultType":"vector","result":[{"metric":{"__name__":"cpu_usage","dc":"eu","host":"web-1"},"value":[${sec(T0 + 30000)}.500,"NaN"]}]}}`,
  );
  const scalar = await fetch(`${srv.url}/api/v1/query?query=1.5e-7&time=${sec(T0)}`);
  assert.is(await scalar.text(), `{"status":"success","data":{"resultType":"scalar","result":[${sec(T0)},"1.5e-07"]}}`);
});

test("warnings and infos are returned as Prometheus does, and left out when there are none", async () => {
  const q = encodeURIComponent("quantile(2, rate(cpu_usage[1m]))");
  const res = await fetch(`${srv.url}/api/v1/query_range?query=${q}&start=${sec(T0 + 15000)}&end=${sec(T0 + 30000)}&step=15`);
  const body = (await res.json()) as { warnings?: string[]; infos?: string[] };
  assert.is(res.status, 200);
  assert.equal(body.warnings, ["PromQL warning: quantile value should be between 0 and 1, got 2 (1:10)"]);
  assert.equal(body.infos, ['PromQL info: metric might not be a counter, name does not end in _total/_sum/_count/_bucket: "cpu_usage" (1:18)']);
  const plain = await fetch(`${srv.url}/api/v1/query?query=${encodeURIComponent("rate(http_requests_total[5m])")}&time=${sec(T0 + 60000)}`);
  const text = await plain.text();
  assert.not.match(text, /warnings|infos/);
});

test("query accepts POST form, RFC 3339 time, lookback_delta, and defaults time to now", async () => {
  const iso = new Date(T0 + 15000).toISOString();
  const { status, body } = await getJson(`${srv.url}/api/v1/query`, {
    method: "POST",
    headers: { "Content-Type": "application/x-www-form-urlencoded" },
    body: new URLSearchParams({ query: 'sum(cpu_usage{dc="eu"})', time: iso }).toString(),
  });
  assert.is(status, 200);
  assert.equal(body.data, { resultType: "vector", result: [{ metric: {}, value: [sec(T0 + 15000), "43"] }] });
  const short = await getJson(`${srv.url}/api/v1/query?query=cpu_usage&time=${sec(T0 + 45000)}&lookback_delta=10s`);
  assert.equal(short.body.data.result, []);
  const long = await getJson(`${srv.url}/api/v1/query?query=cpu_usage&time=${sec(T0 + 45000)}&lookback_delta=1m`);
  assert.is(long.body.data.result.length, 2);
  const now = await getJson(`${srv.url}/api/v1/query?query=time()`);
  assert.is(now.body.data.resultType, "scalar");
  assert.ok(Math.abs(now.body.data.result[0] - Date.now() / 1000) < 5);
});

test("range query: matrix shape, step as seconds or duration, GET and POST", async () => {
  const expected = {
    resultType: "matrix",
    result: [{ metric: { __name__: "cpu_usage", dc: "eu", host: "web-1" }, values: [[sec(T0), "42"], [sec(T0 + 15000), "43"], [sec(T0 + 30000), "NaN"]] }],
  };
  const q = encodeURIComponent('cpu_usage{host="web-1"}');
  for (const step of ["15", "15s", "15000ms", "0.25m"]) {
    const { status, body } = await getJson(`${srv.url}/api/v1/query_range?query=${q}&start=${sec(T0)}&end=${sec(T0 + 30000)}&step=${step}`);
    assert.is(status, 200, step);
    assert.equal(body.data, expected, step);
  }
  const post = await getJson(`${srv.url}/api/v1/query_range`, {
    method: "POST",
    headers: { "Content-Type": "application/x-www-form-urlencoded" },
    body: `query=${q}&start=${new Date(T0).toISOString()}&end=${new Date(T0 + 30000).toISOString()}&step=15s`,
  });
  assert.equal(post.body.data, expected);
  const rate = await getJson(`${srv.url}/api/v1/query_range?query=${encodeURIComponent("increase(http_requests_total[2m])")}&start=${sec(T0 + 60000)}&end=${sec(T0 + 60000)}&step=60`);
  assert.is(rate.status, 200);
  assert.is(rate.body.data.result.length, 1);
  assert.equal(rate.body.data.result[0].metric, { code: "200" });
});

test("query parameters: + and escapes decoded, the first of repeated parameters wins, malformed escapes still read", async () => {
  const at = sec(T0 + 15000);
  const expected = await getJson(`${srv.url}/api/v1/query?query=${encodeURIComponent('sum by (dc) (cpu_usage{host="web-1"})')}&time=${at}`);
  assert.is(expected.status, 200);
  assert.is(expected.body.data.result.length, 1);
  for (const qs of [
    `query=sum+by+%28dc%29+%28cpu_usage%7Bhost%3D%22web-1%22%7D%29&time=${at}`,
    `query=sum%20by%20(dc)%20(cpu_usage%7Bhost=%22web-1%22%7D)&time=${at}&query=up&time=1`,
    `&&query=sum+by+(dc)+(cpu_usage{host="web-1"})&&time=${at}&%zz=1`,
  ]) {
    const res = await getJson(`${srv.url}/api/v1/query?${qs}`);
    assert.is(res.status, 200, qs);
    assert.equal(res.body, expected.body, qs);
  }
  // "%zz" is not an escape: it is kept as text (URLSearchParams' reading), so PromQL reads "cpu_usage % zz"
  const malformed = await getJson(`${srv.url}/api/v1/query?query=cpu_usage%zz&time=${at}`);
  assert.is(malformed.status, 200);
  assert.equal(malformed.body.data, { resultType: "vector", result: [] });
  const parsed = await getJson(`${srv.url}/api/v1/query?query=%zz&time=${at}`);
  assert.is(parsed.status, 400);
  assert.is(parsed.body.errorType, "bad_data");
});

test("query errors: Prometheus envelope, bad_data 400, missing parameters", async () => {
  const cases: [string, RegExp][] = [
    ["/api/v1/query", /missing required parameter "query"/],
    ["/api/v1/query?query=sum(", /unclosed|unexpected|parse/i],
    ["/api/v1/query?query=up&time=tomorrow", /cannot parse "tomorrow" to a valid timestamp/],
    ["/api/v1/query_range?query=up&start=1&end=2", /missing required parameter "step"/],
    ["/api/v1/query_range?query=up&end=2&step=1", /missing required parameter "start"/],
    ["/api/v1/query_range?query=up&start=10&end=2&step=1", /end timestamp must not be before start time/],
    ["/api/v1/query_range?query=up&start=1&end=2&step=0", /zero or negative query resolution step/],
    ["/api/v1/query_range?query=up&start=0&end=100000&step=1", /11,000 points/],
    ["/api/v1/query_range?query=up&start=1&end=2&step=fast", /cannot parse "fast" to a valid duration/],
  ];
  for (const [path, pattern] of cases) {
    const { status, body } = await getJson(srv.url + path);
    assert.is(status, 400, path);
    assert.is(body.status, "error", path);
    assert.is(body.errorType, "bad_data", path);
    assert.match(body.error, pattern, path);
  }
  const form = await getJson(`${srv.url}/api/v1/query`, { method: "POST", headers: { "Content-Type": "application/json" }, body: "{}" });
  assert.is(form.status, 415);
});

test("evaluation errors are 422 execution; an exceeded timeout is 503 timeout", async () => {
  const dup = await getJson(`${srv.url}/api/v1/query?query=${encodeURIComponent('label_replace(label_replace(cpu_usage, "host", "x", "", ""), "dc", "x", "", "")')}&time=${sec(T0)}`);
  assert.is(dup.status, 422);
  assert.equal([dup.body.status, dup.body.errorType], ["error", "execution"]);
  assert.match(dup.body.error, /same labelset/);
  const slow = await getJson(`${srv.url}/api/v1/query?query=${encodeURIComponent("count_over_time(cpu_usage[1y:1s])")}&timeout=20ms`);
  assert.is(slow.status, 503);
  assert.is(slow.body.errorType, "timeout");
});

test("remote read returns the samples of matching series (inclusive range), snappy protobuf", async () => {
  const res = await fetch(`${srv.url}/api/v1/read`, {
    method: "POST",
    headers: REMOTE_WRITE_HEADERS,
    body: readRequestBody([
      { startMs: T0, endMs: T0 + 15000, matchers: [{ type: 0, name: "__name__", value: "cpu_usage" }, { type: 2, name: "host", value: "web-.*" }] },
      { startMs: T0, endMs: T0 + 60000, matchers: [{ type: 0, name: "code", value: "200" }] },
    ]),
  });
  assert.is(res.status, 200);
  assert.is(res.headers.get("content-type"), "application/x-protobuf");
  assert.is(res.headers.get("content-encoding"), "snappy");
  assert.is(res.headers.get("x-prometheus-remote-read-version"), "0.1.0");
  const decoded = decodeReadResponse(await res.arrayBuffer());
  assert.is(decoded.results.length, 2);
  const first = decoded.results[0]!.timeseries;
  assert.equal(first.map((s) => s.labels), [
    [{ name: "__name__", value: "cpu_usage" }, { name: "dc", value: "eu" }, { name: "host", value: "web-1" }],
    [{ name: "__name__", value: "cpu_usage" }, { name: "dc", value: "us" }, { name: "host", value: "web-2" }],
  ]);
  assert.equal(first[0]!.samples, [{ value: 42, timestamp: T0 }, { value: 43, timestamp: T0 + 15000 }]);
  assert.equal(decoded.results[1]!.timeseries[0]!.samples, [{ value: 10, timestamp: T0 }, { value: 70, timestamp: T0 + 60000 }]);
});

test("remote read refuses non-SAMPLES response types and garbage with 400", async () => {
  const streamed = await fetch(`${srv.url}/api/v1/read`, {
    method: "POST",
    headers: REMOTE_WRITE_HEADERS,
    body: readRequestBody([{ startMs: 0, endMs: 1, matchers: [{ type: 0, name: "a", value: "b" }] }], [1]),
  });
  assert.is(streamed.status, 400);
  assert.match(await streamed.text(), /SAMPLES/);
  const garbage = await fetch(`${srv.url}/api/v1/read`, { method: "POST", headers: REMOTE_WRITE_HEADERS, body: Buffer.from([3, 1, 2, 3]) });
  assert.is(garbage.status, 400);
});

test("text import: optional timestamps, then visible to PromQL; 200 with empty body", async () => {
  const body = `# TYPE temp gauge\ntemp{room="a"} 21.5 ${T0}\ntemp{room="b"} 19 ${T0}\n`;
  const res = await fetch(`${srv.url}/api/v1/import/prometheus`, { method: "POST", headers: { "Content-Type": "text/plain" }, body });
  assert.is(res.status, 200);
  assert.is(await res.text(), "");
  const { body: q } = await getJson(`${srv.url}/api/v1/query?query=max(temp)&time=${sec(T0)}`);
  assert.equal(q.data.result, [{ metric: {}, value: [sec(T0), "21.5"] }]);
  const now = await fetch(`${srv.url}/api/v1/import/prometheus`, { method: "POST", body: "fresh_metric 7\n" });
  assert.is(now.status, 200);
  const { body: fresh } = await getJson(`${srv.url}/api/v1/query?query=fresh_metric`);
  assert.equal(fresh.data.result.map((r: any) => r.value[1]), ["7"]);
});

test("series, labels and label values with match[], start/end and limit", async () => {
  const series = await getJson(`${srv.url}/api/v1/series?match[]=cpu_usage&match[]=${encodeURIComponent('{code="200"}')}`);
  assert.equal(series.body, {
    status: "success",
    data: [
      { __name__: "cpu_usage", dc: "eu", host: "web-1" },
      { __name__: "cpu_usage", dc: "us", host: "web-2" },
      { __name__: "http_requests_total", code: "200" },
    ],
  });
  const none = await getJson(`${srv.url}/api/v1/series`);
  assert.is(none.status, 400);
  assert.match(none.body.error, /no match\[\] parameter provided/);
  const emptyMatcher = await getJson(`${srv.url}/api/v1/series?match[]=${encodeURIComponent('{a=""}')}`);
  assert.is(emptyMatcher.status, 400);
  const re2 = await getJson(`${srv.url}/api/v1/series?match[]=${encodeURIComponent('{host=~"(?i)WEB-1"}')}`);
  assert.equal(re2.body.data, [{ __name__: "cpu_usage", dc: "eu", host: "web-1" }]);
  const labels = await getJson(`${srv.url}/api/v1/labels`);
  assert.equal(labels.body.data, ["__name__", "code", "dc", "host", "room"]);
  const scoped = await getJson(`${srv.url}/api/v1/labels?match[]=http_requests_total`);
  assert.equal(scoped.body.data, ["__name__", "code"]);
  const postLabels = await getJson(`${srv.url}/api/v1/labels`, { method: "POST", headers: { "Content-Type": "application/x-www-form-urlencoded" }, body: "match[]=temp" });
  assert.equal(postLabels.body.data, ["__name__", "room"]);
  const names = await getJson(`${srv.url}/api/v1/label/__name__/values`);
  assert.equal(names.body.data, ["cpu_usage", "fresh_metric", "http_requests_total", "temp"]);
  const hosts = await getJson(`${srv.url}/api/v1/label/host/values?match[]=cpu_usage&limit=1`);
  assert.equal(hosts.body, { status: "success", data: ["web-1"], warnings: ["results truncated due to limit"] });
  const future = await getJson(`${srv.url}/api/v1/label/host/values?start=${sec(Date.now() + 3600000)}&end=${sec(Date.now() + 7200000)}`);
  assert.equal(future.body.data, []);
  const badName = await getJson(`${srv.url}/api/v1/label/${encodeURIComponent("bad-name")}/values`);
  assert.is(badName.status, 400);
});

test("metadata from remote write, status/tsdb, buildinfo, query_exemplars", async () => {
  const res = await fetch(`${srv.url}/api/v1/write`, {
    method: "POST",
    headers: REMOTE_WRITE_HEADERS,
    body: remoteWriteBody([], { metadata: [{ type: 1, metricFamilyName: "http_requests_total", help: "Total HTTP requests", unit: "" }] }),
  });
  assert.is(res.status, 200);
  assert.is(res.headers.get("x-tsink-metadata-applied"), "1");
  const md = await getJson(`${srv.url}/api/v1/metadata`);
  assert.equal(md.body, { status: "success", data: { http_requests_total: [{ type: "counter", help: "Total HTTP requests", unit: "" }] } });
  const one = await getJson(`${srv.url}/api/v1/metadata?metric=nope`);
  assert.equal(one.body.data, {});
  const tsdb = await getJson(`${srv.url}/api/v1/status/tsdb`);
  assert.is(tsdb.status, 200);
  assert.is(tsdb.body.data.headStats.numSeries, 6);
  assert.equal(tsdb.body.data.seriesCountByMetricName[0], { name: "cpu_usage", value: 2 });
  assert.ok(tsdb.body.data.memoryUsedBytes > 0);
  assert.equal(tsdb.body.data.prometheusPayloads.metadata, { enabled: true, acceptedTotal: 1, rejectedTotal: 0 });
  const build = await getJson(`${srv.url}/api/v1/status/buildinfo`);
  assert.is(build.body.data.version, "0.1.0-test");
  const ex = await getJson(`${srv.url}/api/v1/query_exemplars?query=cpu_usage&start=${sec(T0)}&end=${sec(T0 + 60000)}`);
  assert.equal(ex.body, { status: "success", data: [] });
  assert.is(ex.headers.get("x-tsink-exemplar-limit"), "1000");
  const exLimited = await getJson(`${srv.url}/api/v1/query_exemplars?query=cpu_usage&limit=5`);
  assert.is(exLimited.headers.get("x-tsink-exemplar-limit"), "5");
  assert.is((await getJson(`${srv.url}/api/v1/query_exemplars?query=cpu_usage&limit=99999`)).headers.get("x-tsink-exemplar-limit"), "1000");
  assert.is((await getJson(`${srv.url}/api/v1/query_exemplars?query=cpu_usage&limit=x`)).status, 400);
  const more = await fetch(`${srv.url}/api/v1/write`, {
    method: "POST",
    headers: REMOTE_WRITE_HEADERS,
    body: remoteWriteBody([], { metadata: ["a_total", "b_total"].map((metricFamilyName) => ({ type: 1, metricFamilyName, help: "", unit: "" })) }),
  });
  assert.is(more.status, 200);
  assert.equal(Object.keys((await getJson(`${srv.url}/api/v1/metadata?limit=2`)).body.data), ["a_total", "b_total"]);
  assert.is(Object.keys((await getJson(`${srv.url}/api/v1/metadata?limit=20000`)).body.data).length, 3);
  assert.is((await getJson(`${srv.url}/api/v1/metadata?limit=-1`)).status, 400);
  const exBad = await getJson(`${srv.url}/api/v1/query_exemplars?query=1`);
  assert.is(exBad.status, 400);
});

test("probes, /metrics families, unknown paths", async () => {
  const health = await fetch(`${srv.url}/healthz`);
  assert.is(health.status, 200);
  assert.is(await health.text(), "ok\n");
  assert.match(health.headers.get("content-type")!, /text\/plain/);
  const ready = await fetch(`${srv.url}/ready`);
  assert.is(await ready.text(), "ready\n");
  const metrics = await (await fetch(`${srv.url}/metrics`)).text();
  for (const family of ["tsink_uptime_seconds", "tsink_memory_used_bytes", "tsink_series_total", "tsink_ingest_samples_total", "tsink_query_requests_total", "tsink_exemplars_rejected_total", "tsink_exemplars_stored", "tsink_exemplar_limits", "tsink_memory_active_bytes", "tsink_ingest_rows_total"]) {
    assert.match(metrics, new RegExp(`^# TYPE ${family} `, "m"), family);
  }
  assert.match(metrics, /^tsink_ingest_samples_total\{protocol="remote_write"\} 7$/m);
  assert.match(metrics, /^tsink_series_total 6$/m);
  for (const [method, path] of [["GET", "/nope"], ["GET", "/api/v1/write"], ["POST", "/healthz"], ["GET", "/api/v1/admin/snapshot"]]) {
    const res = await fetch(srv.url + path, { method: method! });
    assert.is(res.status, 404, `${method} ${path}`);
    assert.is(await res.text(), "not found");
  }
});

test.run();
