// Exemplars end to end on the real server: snappy-protobuf remote write, text import and OTLP protobuf carry
// exemplars, the samples are stored and the exemplars answered by /api/v1/query_exemplars (labels, value, timestamp,
// range, selectors anywhere in the expression); limits (513 → 413, per-series and total eviction, counted as dropped),
// the disabled flag (422), tenants, status and metrics; persistence across a restart, a kill -9 and a snapshot/restore;
// a bad exemplar-store.json refuses startup.
import { test } from "uvu";
import * as assert from "uvu/assert";
import { type ChildProcess, spawn, spawnSync } from "node:child_process";
import { mkdirSync, mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from "node:fs";
import { type Server, createServer } from "node:http";
import type { AddressInfo } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { gzipSync } from "node:zlib";
import { ExportMetricsServiceRequest } from "../../src/protocols/otlp-proto.js";
import { REMOTE_WRITE_HEADERS, type RunningServer, getJson, recentMs, remoteWriteBody, spawnServer, startServer } from "./helpers.js";

interface Ex { labels: { name: string; value: string }[]; value: number; timestamp: number }
type Series = { labels: Record<string, string>; samples?: [number, number][]; exemplars?: Ex[] };

/** A remote-write body whose series carry exemplars (prometheus.Exemplar: labels, value, timestamp in ms). */
function body(series: Series[]): Buffer {
  return remoteWriteBody([], {
    timeseries: series.map((s) => ({
      labels: Object.entries(s.labels).map(([name, value]) => ({ name, value })),
      samples: (s.samples ?? []).map(([timestamp, value]) => ({ timestamp, value })),
      exemplars: s.exemplars ?? [],
    })),
  });
}

function write(url: string, series: Series[], headers: Record<string, string> = {}): Promise<Response> {
  return fetch(`${url}/api/v1/write`, { method: "POST", body: body(series), headers: { ...REMOTE_WRITE_HEADERS, ...headers } });
}

const trace = (id: string): Ex["labels"] => [{ name: "trace_id", value: id }];

async function exemplars(url: string, query: string, params = "", headers: Record<string, string> = {}): Promise<any[]> {
  const res = await getJson(`${url}/api/v1/query_exemplars?query=${encodeURIComponent(query)}${params}`, { headers });
  assert.is(res.status, 200, JSON.stringify(res.body));
  return res.body.data;
}

const T = recentMs(120);
const ADMIN = { "Content-Type": "application/json", authorization: "Bearer adm" };
const sec = (ms: number) => ms / 1000;

let srv: RunningServer;
test.before(async () => {
  srv = await startServer();
});
test.after(async () => {
  await srv.stop();
});

test("remote write: samples stored and exemplars queryable (labels, value, timestamp), headers, range, selectors anywhere", async () => {
  const res = await write(srv.url, [
    { labels: { __name__: "rw_latency_bucket", le: "0.5", job: "api" }, samples: [[T, 3]], exemplars: [{ labels: [...trace("aa01"), { name: "span_id", value: "b1" }], value: 0.31, timestamp: T - 500 }] },
    { labels: { __name__: "rw_latency_bucket", le: "+Inf", job: "api" }, samples: [[T, 4]], exemplars: [{ labels: trace("aa02"), value: 2.5, timestamp: T }] },
  ]);
  assert.is(res.status, 200, await res.clone().text());
  assert.is(res.headers.get("x-tsink-exemplars-accepted"), "2");
  assert.is(res.headers.get("x-tsink-exemplars-dropped"), "0");
  const samples = await getJson(`${srv.url}/api/v1/query?query=${encodeURIComponent('rw_latency_bucket{le="0.5"}')}&time=${sec(T)}`);
  assert.equal(samples.body.data.result, [{ metric: { __name__: "rw_latency_bucket", job: "api", le: "0.5" }, value: [sec(T), "3"] }]);
  const all = await exemplars(srv.url, "rw_latency_bucket", `&start=${sec(T - 60_000)}&end=${sec(T + 60_000)}`);
  assert.equal(all, [
    { seriesLabels: { __name__: "rw_latency_bucket", job: "api", le: "+Inf" }, exemplars: [{ labels: { trace_id: "aa02" }, value: "2.5", timestamp: sec(T) }] },
    { seriesLabels: { __name__: "rw_latency_bucket", job: "api", le: "0.5" }, exemplars: [{ labels: { span_id: "b1", trace_id: "aa01" }, value: "0.31", timestamp: sec(T - 500) }] },
  ]);
  // start/end are inclusive bounds on the exemplar timestamps
  assert.equal((await exemplars(srv.url, "rw_latency_bucket", `&start=${sec(T - 400)}&end=${sec(T)}`)).map((g) => g.seriesLabels.le), ["+Inf"]);
  assert.equal(await exemplars(srv.url, "rw_latency_bucket", `&start=${sec(T - 400)}&end=${sec(T - 1)}`), []);
  // every selector of the expression counts (the whole AST is walked), matrix selectors by their vector part
  const q = `histogram_quantile(0.9, sum by (le) (rate(rw_latency_bucket{le="0.5"}[5m]))) / on() group_left nothing_here`;
  assert.equal((await exemplars(srv.url, q)).map((g) => g.seriesLabels.le), ["0.5"]);
  // limit counts exemplars, default and maximum 1000
  const limited = await getJson(`${srv.url}/api/v1/query_exemplars?query=rw_latency_bucket&limit=1`);
  assert.is(limited.headers.get("x-tsink-exemplar-limit"), "1");
  assert.is(limited.body.data.flatMap((g: { exemplars: unknown[] }) => g.exemplars).length, 1);
});

test("query_exemplars: no selector or more than 32 -> bad_data; a bad query -> bad_data", async () => {
  for (const query of ["1", `"text"`, Array.from({ length: 33 }, (_, i) => `m${i}`).join(" + "), "sum(", ""]) {
    const res = await getJson(`${srv.url}/api/v1/query_exemplars?query=${encodeURIComponent(query)}`);
    assert.is(res.status, 400, query);
    assert.is(res.body.errorType, "bad_data", query);
  }
  assert.match((await getJson(`${srv.url}/api/v1/query_exemplars?query=${encodeURIComponent(Array.from({ length: 33 }, (_, i) => `m${i}`).join(" + "))}`)).body.error, /33 selectors, more than the limit of 32/);
  assert.is((await getJson(`${srv.url}/api/v1/query_exemplars?query=${encodeURIComponent(Array.from({ length: 32 }, (_, i) => `m${i}`).join(" + "))}`)).status, 200);
  assert.is((await getJson(`${srv.url}/api/v1/query_exemplars?query=up&start=10&end=5`)).status, 400);
});

test("513 exemplars -> 413 and nothing stored; 512 pass; over 128 in a series the oldest go, counted as dropped", async () => {
  const many = (n: number, metric: string): Series[] => [
    { labels: { __name__: metric }, samples: [[T, 1]], exemplars: Array.from({ length: n }, (_, i) => ({ labels: trace(`t${i}`), value: i, timestamp: T - n + i })) },
  ];
  let res = await write(srv.url, many(513, "too_many_ex"));
  assert.is(res.status, 413);
  assert.is(res.headers.get("x-tsink-write-error-code"), "write_resource_limit_exceeded");
  assert.match(await res.text(), /513 exemplars, more than the limit of 512/);
  assert.equal((await getJson(`${srv.url}/api/v1/series?match[]=too_many_ex`)).body.data, [], "the samples are refused too");
  assert.equal(await exemplars(srv.url, "too_many_ex"), []);
  res = await write(srv.url, many(512, "per_series_ex"));
  assert.is(res.status, 200);
  assert.is(res.headers.get("x-tsink-exemplars-accepted"), "512");
  assert.is(res.headers.get("x-tsink-exemplars-dropped"), "384");
  const kept = (await exemplars(srv.url, "per_series_ex"))[0].exemplars as { labels: { trace_id: string } }[];
  assert.is(kept.length, 128);
  assert.equal([kept[0]!.labels.trace_id, kept[127]!.labels.trace_id], ["t384", "t511"], "the newest 128 stay");
  // the same timestamp again replaces the exemplar (not a new one, nothing dropped)
  res = await write(srv.url, [{ labels: { __name__: "per_series_ex" }, exemplars: [{ labels: trace("again"), value: -1, timestamp: T - 1 }] }]);
  assert.is(res.headers.get("x-tsink-exemplars-dropped"), "0");
  const after = (await exemplars(srv.url, "per_series_ex"))[0].exemplars as { labels: { trace_id: string }; value: string }[];
  assert.equal([after.length, after[127]!.labels.trace_id, after[127]!.value], [128, "again", "-1"]);
});

test("50,000 in total: the globally oldest go first, ties broken by series identity", async () => {
  const own = await startServer();
  try {
    // 391 series x 128 = 50,048 exemplars at T0 + j: the first 48 writes over the limit each evict one T0 exemplar,
    // from the series in identity order (s=000, s=001, ...)
    const T0 = T - 1_000_000;
    const all: Series[] = Array.from({ length: 391 }, (_, i) => ({
      labels: { __name__: "total_ex", s: String(i).padStart(3, "0") },
      exemplars: Array.from({ length: 128 }, (_, j) => ({ labels: [], value: j, timestamp: T0 + j })),
    }));
    let dropped = 0;
    for (let i = 0; i < all.length; i += 4) {
      const res = await write(own.url, all.slice(i, i + 4));
      assert.is(res.status, 200);
      dropped += Number(res.headers.get("x-tsink-exemplars-dropped"));
    }
    assert.is(dropped, 48);
    const status = (await getJson(`${own.url}/api/v1/status/tsdb`)).body.data;
    assert.is(status.exemplarStore.storedExemplars, 50_000);
    assert.is(status.exemplarStore.droppedTotal, 48);
    assert.is(status.exemplarStore.maxPerRequest, 512);
    const oldest = await exemplars(own.url, "total_ex", `&start=${sec(T0)}&end=${sec(T0)}&limit=1000`);
    assert.equal(oldest.map((g) => g.seriesLabels.s), all.slice(48).map((s) => s.labels.s), "s=000..047 lost their T0 exemplar");
    const metrics = await (await fetch(`${own.url}/metrics`)).text();
    assert.match(metrics, /^tsink_exemplars_dropped_total 48$/m);
    assert.match(metrics, /^tsink_exemplars_stored\{kind="exemplars"\} 50000$/m);
    assert.match(metrics, /^tsink_exemplar_limits\{kind="max_total_exemplars"\} 50000$/m);
  } finally {
    await own.stop();
  }
});

test("TSINK_REMOTE_WRITE_EXEMPLARS_ENABLED=false: remote write and text import with exemplars -> 422, nothing stored", async () => {
  const off = await startServer([], { TSINK_REMOTE_WRITE_EXEMPLARS_ENABLED: "false" });
  try {
    const res = await write(off.url, [{ labels: { __name__: "off_ex" }, samples: [[T, 1]], exemplars: [{ labels: trace("x"), value: 1, timestamp: T }] }]);
    assert.is(res.status, 422);
    assert.match(await res.text(), /1 exemplars.*TSINK_REMOTE_WRITE_EXEMPLARS_ENABLED is false/);
    const imp = await fetch(`${off.url}/api/v1/import/prometheus`, { method: "POST", body: `off_ex 1 ${T} # {trace_id="a"} 1`, headers: { "Content-Type": "text/plain" } });
    assert.is(imp.status, 422);
    assert.equal((await getJson(`${off.url}/api/v1/series?match[]=off_ex`)).body.data, []);
    // without exemplars the same write goes through
    assert.is((await write(off.url, [{ labels: { __name__: "off_ex" }, samples: [[T, 1]] }])).status, 200);
    const status = (await getJson(`${off.url}/api/v1/status/tsdb`)).body.data;
    assert.equal(status.prometheusPayloads.exemplars, { enabled: false, acceptedTotal: 0, rejectedTotal: 2 });
  } finally {
    await off.stop();
  }
});

test("text import: an OpenMetrics exemplar (Unix seconds) goes to the store", async () => {
  const res = await fetch(`${srv.url}/api/v1/import/prometheus`, {
    method: "POST",
    body: `import_ex_total{path="/a"} 17 ${T} # {trace_id="KOO5S4vxi0o"} 0.67 ${sec(T - 250)}\nimport_ex_total{path="/b"} 3 ${T}\n`,
    headers: { "Content-Type": "text/plain" },
  });
  assert.is(res.status, 200);
  assert.is(res.headers.get("x-tsink-exemplars-accepted"), "1");
  assert.equal(await exemplars(srv.url, "import_ex_total"), [
    { seriesLabels: { __name__: "import_ex_total", path: "/a" }, exemplars: [{ labels: { trace_id: "KOO5S4vxi0o" }, value: "0.67", timestamp: sec(T - 250) }] },
  ]);
});

test("OTLP protobuf: histogram exemplars on their bucket, trace_id/span_id as lowercase hex, filtered attributes", async () => {
  const ns = (ms: number) => (BigInt(ms) * 1_000_000n).toString();
  const bytes = ExportMetricsServiceRequest.encode(ExportMetricsServiceRequest.fromObject({
    resourceMetrics: [{ resource: { attributes: [{ key: "service.name", value: { stringValue: "pay" } }] }, scopeMetrics: [{ metrics: [{
      name: "otlp.lat", histogram: { aggregationTemporality: 2, dataPoints: [{ timeUnixNano: ns(T), count: 3, sum: 2, explicitBounds: [1], bucketCounts: [2, 1], exemplars: [{
        timeUnixNano: ns(T - 10), asDouble: 0.75, traceId: Buffer.from("0AF7651916CD43DD8448EB211C80319C", "hex"), spanId: Buffer.from("B7AD6B7169203331", "hex"),
        filteredAttributes: [{ key: "user.id", value: { intValue: 42 } }],
      }] }] },
    }] }] }],
  })).finish();
  const res = await fetch(`${srv.url}/v1/metrics`, { method: "POST", body: gzipSync(bytes), headers: { "Content-Type": "application/x-protobuf", "Content-Encoding": "gzip" } });
  assert.is(res.status, 200);
  assert.equal(await res.json(), {});
  assert.equal(await exemplars(srv.url, "otlp_x2e_lat_bucket"), [{
    seriesLabels: { __name__: "otlp_x2e_lat_bucket", le: "1", otel_metric_kind: "histogram", otel_temporality: "cumulative", resource_service_x2e_name: "pay" },
    exemplars: [{ labels: { span_id: "b7ad6b7169203331", trace_id: "0af7651916cd43dd8448eb211c80319c", user_x2e_id: "42" }, value: "0.75", timestamp: sec(T - 10) }],
  }]);
});

test("ns precision: exact timestamps through remote write, text import and OTLP; POST form; OTLP over 512 -> 413", async () => {
  const ns = await startServer(["--timestamp-precision", "ns"]);
  try {
    assert.is((await write(ns.url, [{ labels: { __name__: "ns_ex" }, samples: [[T, 1]], exemplars: [{ labels: trace("rw"), value: 1, timestamp: T + 7 }] }])).status, 200);
    const stamp = `${BigInt(T) * 1_000_000n + 5n}`;
    const imp = await fetch(`${ns.url}/api/v1/import/prometheus`, { method: "POST", body: `ns_ex{src="import"} 1 ${stamp} # {trace_id="imp"} 2 ${sec(T + 9)}`, headers: { "Content-Type": "text/plain" } });
    assert.is(imp.status, 200);
    const form = await getJson(`${ns.url}/api/v1/query_exemplars`, {
      method: "POST", body: new URLSearchParams({ query: "ns_ex", start: String(sec(T)), end: String(sec(T + 8)) }), headers: { "Content-Type": "application/x-www-form-urlencoded" },
    });
    assert.is(form.status, 200);
    assert.equal(form.body.data, [{ seriesLabels: { __name__: "ns_ex" }, exemplars: [{ labels: { trace_id: "rw" }, value: "1", timestamp: sec(T + 7) }] }]);
    assert.equal((await exemplars(ns.url, "ns_ex", `&start=${sec(T + 9)}`)).map((g) => g.exemplars[0].labels.trace_id), ["imp"]);
    const ts = (BigInt(T) * 1_000_000n).toString();
    const big = ExportMetricsServiceRequest.encode(ExportMetricsServiceRequest.fromObject({
      resourceMetrics: [{ scopeMetrics: [{ metrics: [{ name: "otlp.many", gauge: { dataPoints: [{ timeUnixNano: ts, asDouble: 1, exemplars: Array.from({ length: 513 }, (_, i) => ({ timeUnixNano: ts, asDouble: i })) }] } }] }] }],
    })).finish();
    const res = await fetch(`${ns.url}/v1/metrics`, { method: "POST", body: big, headers: { "Content-Type": "application/x-protobuf" } });
    assert.is(res.status, 413);
    assert.equal((await getJson(`${ns.url}/api/v1/series?match[]=otlp_x2e_many`)).body.data, []);
  } finally {
    await ns.stop();
  }
});

test("tenants: exemplars are scoped by the tenant label, which never shows", async () => {
  const res = await write(srv.url, [{ labels: { __name__: "tenant_ex" }, samples: [[T, 1]], exemplars: [{ labels: trace("t1"), value: 1, timestamp: T }] }], { "x-tsink-tenant": "acme" });
  assert.is(res.status, 200);
  assert.equal(await exemplars(srv.url, "tenant_ex"), [], "the default tenant sees nothing");
  assert.equal(await exemplars(srv.url, "tenant_ex", "", { "x-tsink-tenant": "other" }), []);
  assert.equal(await exemplars(srv.url, "tenant_ex", "", { "x-tsink-tenant": "acme" }), [
    { seriesLabels: { __name__: "tenant_ex" }, exemplars: [{ labels: { trace_id: "t1" }, value: "1", timestamp: sec(T) }] },
  ]);
  assert.equal(await exemplars(srv.url, `{__tsink_tenant__="acme"}`), [], "no reaching another tenant through the label");
});

test("persistence: restart, kill -9 right after the ack, snapshot/restore; a bad file refuses startup", async () => {
  const root = mkdtempSync(join(tmpdir(), "tsink-ex-persist-"));
  const data = join(root, "data");
  const ex = (id: string, ts: number): Series[] => [{ labels: { __name__: "durable_ex", id }, samples: [[ts, 1]], exemplars: [{ labels: trace(id), value: 1, timestamp: ts }] }];
  try {
    // graceful restart
    let s = await startServer(["--data-path", data, "--admin-auth-token", "adm", "--admin-api-enabled"]);
    // the write is acknowledged only once its exemplars are on disk: a save that cannot happen fails the request
    mkdirSync(join(data, "server", "exemplar-store.tmp"), { recursive: true });
    const failed = await write(s.url, ex("unsaved", T - 1000));
    assert.is(failed.status, 500);
    assert.match(await failed.text(), /exemplar-store\.tmp/);
    rmSync(join(data, "server", "exemplar-store.tmp"), { recursive: true });
    assert.is((await write(s.url, ex("one", T))).status, 200);
    await s.stop();
    assert.equal(readdirSync(join(data, "server")).filter((f) => f.startsWith("exemplar")), ["exemplar-store.json"], "no exemplar-store.tmp left");
    const file = JSON.parse(readFileSync(join(data, "server", "exemplar-store.json"), "utf8"));
    assert.equal([file.magic, file.schema_version, file.entries.length], ["tsink-exemplar-store", 1, 2]);
    assert.equal(file.entries[1], {
      metric: "durable_ex", series_labels: [{ name: "__tsink_tenant__", value: "default" }, { name: "id", value: "one" }],
      exemplar_labels: [{ name: "trace_id", value: "one" }], timestamp: T, value: 1,
    });
    // kill -9 the moment the write is acknowledged
    const child = await spawnServer(["--data-path", data]);
    const url = `http://127.0.0.1:${child.port}`;
    assert.is((await write(url, ex("two", T + 1000))).status, 200);
    // acknowledged means on disk: the file already holds it
    assert.match(readFileSync(join(data, "server", "exemplar-store.json"), "utf8"), /"trace_id","value":"two"/);
    child.child.kill("SIGKILL");
    await new Promise((r) => child.child.once("exit", r));
    s = await startServer(["--data-path", data, "--admin-auth-token", "adm", "--admin-api-enabled"]);
    assert.equal((await exemplars(s.url, "durable_ex")).map((g) => g.exemplars[0].labels.trace_id), ["one", "two", "unsaved"]);
    // snapshot, restore into a new path, start there
    const snap = join(root, "snap");
    const snapRes = await fetch(`${s.url}/api/v1/admin/snapshot`, { method: "POST", body: JSON.stringify({ path: snap }), headers: ADMIN });
    assert.is(snapRes.status, 200, await snapRes.clone().text());
    assert.is((await write(s.url, ex("after_snapshot", T + 2000))).status, 200);
    const restored = join(root, "restored");
    assert.is((await fetch(`${s.url}/api/v1/admin/restore`, { method: "POST", body: JSON.stringify({ snapshotPath: snap, dataPath: restored }), headers: ADMIN })).status, 200);
    await s.stop();
    s = await startServer(["--data-path", restored]);
    assert.equal((await exemplars(s.url, "durable_ex")).map((g) => g.exemplars[0].labels.trace_id), ["one", "two", "unsaved"]);
    await s.stop();
    // a wrong magic or schema version refuses to start, naming the file
    for (const [change, why] of [[{ magic: "nope" }, /magic "nope"/], [{ schema_version: 9 }, /schema_version 9/]] as const) {
      writeFileSync(join(restored, "server", "exemplar-store.json"), JSON.stringify({ ...file, ...change }));
      const err = await startServer(["--data-path", restored]).then(
        async (started) => {
          await started.stop();
          return undefined;
        },
        (e: Error) => e,
      );
      assert.match(String(err), why);
      assert.match(String(err), /exemplar-store\.json/);
    }
  } finally {
    rmSync(root, { recursive: true, force: true });
  }
});

const hasPrometheus = spawnSync("prometheus", ["--version"], { stdio: "ignore" }).status === 0;
if (!hasPrometheus) console.log("prometheus send_exemplars: skipped, no `prometheus` binary on PATH (apt-get install prometheus)");

(hasPrometheus ? test : test.skip)("a real Prometheus (exemplar storage, send_exemplars: true) remote-writes scraped exemplars into tsink", async () => {
  const dir = mkdtempSync(join(tmpdir(), "tsink-prom-ex-"));
  const exemplarSec = Math.floor(Date.now() / 1000) - 5;
  // the scrape target: OpenMetrics with an exemplar on a counter
  const target: Server = createServer((_req, res) => {
    res.writeHead(200, { "Content-Type": "application/openmetrics-text; version=1.0.0; charset=utf-8" });
    res.end(`# TYPE checkout_requests counter\ncheckout_requests_total{path="/pay"} 7 # {trace_id="4bf92f3577b34da6a3ce929d0e0e4736"} 1 ${exemplarSec}.25\n# EOF\n`);
  });
  await new Promise<void>((r) => target.listen(0, "127.0.0.1", r));
  const targetPort = (target.address() as AddressInfo).port;
  let prom: ChildProcess | undefined;
  try {
    writeFileSync(join(dir, "prometheus.yml"), [
      "global: { scrape_interval: 1s }",
      `scrape_configs: [{ job_name: shop, static_configs: [{ targets: ["127.0.0.1:${targetPort}"] }] }]`,
      `remote_write: [{ url: "${srv.url}/api/v1/write", send_exemplars: true, queue_config: { batch_send_deadline: 1s } }]`,
    ].join("\n"));
    prom = spawn("prometheus", [
      `--config.file=${join(dir, "prometheus.yml")}`, "--web.listen-address=127.0.0.1:0", `--storage.tsdb.path=${join(dir, "data")}`, "--enable-feature=exemplar-storage",
    ], { stdio: "ignore" });
    let found: any[] = [];
    for (const deadline = Date.now() + 40_000; found.length === 0 && Date.now() < deadline; ) {
      await new Promise((r) => setTimeout(r, 500));
      found = await exemplars(srv.url, "checkout_requests_total");
    }
    assert.equal(found, [{
      seriesLabels: { __name__: "checkout_requests_total", instance: `127.0.0.1:${targetPort}`, job: "shop", path: "/pay" },
      exemplars: [{ labels: { trace_id: "4bf92f3577b34da6a3ce929d0e0e4736" }, value: "1", timestamp: exemplarSec + 0.25 }],
    }]);
    const samples = await getJson(`${srv.url}/api/v1/query?query=checkout_requests_total`);
    assert.equal(samples.body.data.result.map((r: { value: [number, string] }) => r.value[1]), ["7"], "and the samples of the same batches");
  } finally {
    prom?.kill("SIGTERM");
    if (prom) await new Promise((r) => prom!.on("exit", r));
    target.close();
    rmSync(dir, { recursive: true, force: true });
  }
});

test.run();
