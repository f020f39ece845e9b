// Influx line protocol over real HTTP to the real server: Telegraf-style v1 writes (gzip), v2 writes, read back
// through PromQL; InfluxDB-style error bodies, whole-request rejection, line limit, feature flag, tenants.
import { test } from "uvu";
import * as assert from "uvu/assert";
import { gzipSync } from "node:zlib";
import { type RunningServer, getJson, recentMs, startServer } from "./helpers.js";

let srv: RunningServer;
let disabled: RunningServer;

test.before(async () => {
  srv = await startServer();
  disabled = await startServer([], { TSINK_INFLUX_LINE_PROTOCOL_ENABLED: "false" });
});
test.after(async () => {
  await srv.stop();
  await disabled.stop();
});

const TELEGRAF_HEADERS = { "Content-Type": "text/plain; charset=utf-8", "User-Agent": "Telegraf/1.30.0 Go/1.22.1" };

async function instant(q: string, timeSec: number, headers: Record<string, string> = {}): Promise<{ metric: Record<string, string>; value: [number, string] }[]> {
  const res = await getJson(`${srv.url}/api/v1/query?query=${encodeURIComponent(q)}&time=${timeSec}`, { headers });
  assert.is(res.status, 200, JSON.stringify(res.body));
  return res.body.data.result;
}

test("Telegraf v1 write: gzip body, ns timestamps, db label; names, labels, values, timestamps via PromQL", async () => {
  const ms = recentMs(120);
  const ns = BigInt(ms) * 1_000_000n;
  const body = [
    `cpu,cpu=cpu-total,host=web-01 usage_idle=97.5,usage_user=1.25 ${ns}`,
    `mem,host=web-01 used=123456789i,available_percent=55.5 ${ns}`,
    `disk,device=sda1,fstype=ext4,host=web-01,mode=rw,path=/ free=1000u ${ns}`,
    `temperature,host=web-01,sensor=coretemp_package_id_0 value=51 ${ns}`,
  ].join("\n") + "\n";
  const res = await fetch(`${srv.url}/write?db=telegraf`, { method: "POST", body: gzipSync(body), headers: { ...TELEGRAF_HEADERS, "Content-Encoding": "gzip" } });
  assert.is(res.status, 204);
  assert.is(await res.text(), "");
  const t = ms / 1000;
  const idle = await instant("cpu_usage_idle", t);
  assert.equal(idle, [{ metric: { __name__: "cpu_usage_idle", cpu: "cpu-total", host: "web-01", influx_db: "telegraf" }, value: [t, "97.5"] }]);
  assert.equal((await instant("mem_used", t))[0]!.value, [t, "123456789"]);
  assert.equal((await instant("disk_free", t))[0]!.metric.path, "/");
  assert.equal((await instant("temperature", t))[0]!.value, [t, "51"]);
  // the sample sits exactly at its timestamp: nothing 1 ms earlier (lookback only looks back)
  assert.equal(await instant("cpu_usage_user", t - 0.001), []);
});

test("v2 write: bucket/org labels, precision=s, escaped tag values, missing timestamp = server time", async () => {
  const sec = Math.floor(recentMs(60) / 1000);
  const body = `weather,location=us\\ west,station=a\\,b temperature=82.5,humidity=71i ${sec}\nweather_now,location=here value=3`;
  const res = await fetch(`${srv.url}/api/v2/write?org=acme&bucket=sensors&precision=s`, { method: "POST", body, headers: { Authorization: "Token ignored" } });
  assert.is(res.status, 204);
  const temp = await instant("weather_temperature", sec);
  assert.equal(temp, [{ metric: { __name__: "weather_temperature", influx_bucket: "sensors", influx_org: "acme", location: "us west", station: "a,b" }, value: [sec, "82.5"] }]);
  const now = Date.now() / 1000;
  const live = await instant("weather_now", now);
  assert.is(live.length, 1);
  assert.ok(Math.abs(Number(live[0]!.value[1]) - 3) < 1e-9);
});

test("one bad line rejects the whole request: 400 InfluxDB error body naming the line; nothing stored", async () => {
  const ms = recentMs(30);
  const body = `atomic_ok v=1 ${ms}\natomic_bad flag=true ${ms}\natomic_ok2 v=2 ${ms}`;
  const res = await fetch(`${srv.url}/write?precision=ms`, { method: "POST", body });
  assert.is(res.status, 400);
  assert.match(res.headers.get("content-type") ?? "", /application\/json/);
  const err = (await res.json()) as { code: string; message: string };
  assert.is(err.code, "invalid");
  assert.match(err.message, /^line 2: field "flag": boolean field values are not supported/);
  assert.match(res.headers.get("x-influxdb-error") ?? "", /line 2/);
  assert.equal(await instant("atomic_ok", ms / 1000), []);
  const str = await fetch(`${srv.url}/write`, { method: "POST", body: 'm s="hello world"' });
  assert.is(str.status, 400);
  assert.match(((await str.json()) as { message: string }).message, /string field values are not supported/);
  const prec = await fetch(`${srv.url}/write?precision=µs`, { method: "POST", body: "m v=1" });
  assert.is(prec.status, 400);
  const enc = await fetch(`${srv.url}/write`, { method: "POST", body: "m v=1", headers: { "Content-Encoding": "br" } });
  assert.is(enc.status, 415);
  const badGzip = await fetch(`${srv.url}/write`, { method: "POST", body: "not gzip", headers: { "Content-Encoding": "gzip" } });
  assert.is(badGzip.status, 400);
});

test("empty body is a 204; tenants are kept apart", async () => {
  assert.is((await fetch(`${srv.url}/write`, { method: "POST", body: "" })).status, 204);
  const ms = recentMs(40);
  const res = await fetch(`${srv.url}/write?precision=ms`, { method: "POST", body: `tenant_metric value=7 ${ms}`, headers: { "x-tsink-tenant": "team-a" } });
  assert.is(res.status, 204);
  assert.equal(await instant("tenant_metric", ms / 1000), []);
  assert.equal((await instant("tenant_metric", ms / 1000, { "x-tsink-tenant": "team-a" }))[0]!.value, [ms / 1000, "7"]);
});

test("TSINK_INFLUX_LINE_PROTOCOL_ENABLED=false → 422 on both paths", async () => {
  assert.is((await fetch(`${disabled.url}/api/v2/write`, { method: "POST", body: "m v=1" })).status, 422);
  const res = await fetch(`${disabled.url}/write`, { method: "POST", body: "m v=1" });
  assert.is(res.status, 422);
  assert.is(((await res.json()) as { code: string }).code, "unprocessable entity");
});

test("line limit → 413 with code 'request too large'", async () => {
  const small = await startServer([], { TSINK_INFLUX_LINE_PROTOCOL_MAX_LINES_PER_REQUEST: "3" });
  try {
    assert.is((await fetch(`${small.url}/write`, { method: "POST", body: "m v=1\n\nm v=2\nm v=3\n" })).status, 204);
    const res = await fetch(`${small.url}/write`, { method: "POST", body: "m v=1\nm v=2\nm v=3\nm v=4" });
    assert.is(res.status, 413);
    const err = (await res.json()) as { code: string; message: string };
    assert.is(err.code, "request too large");
    assert.match(err.message, /more than 3 lines/);
    const metrics = await (await fetch(`${small.url}/metrics`)).text();
    assert.match(metrics, /tsink_ingest_requests_total\{protocol="influx_line",code="413"\} 1/);
    assert.match(metrics, /tsink_ingest_samples_total\{protocol="influx_line"\} 3/);
  } finally {
    await small.stop();
  }
});

test("decompressed-size limit → 413; a nanosecond-precision server keeps every digit of the timestamp", async () => {
  const ns = await startServer(["--timestamp-precision", "ns"], { TSINK_SERVER_MAX_DECOMPRESSED_BODY_BYTES: "2000" });
  try {
    const bomb = await fetch(`${ns.url}/write`, { method: "POST", body: gzipSync(`m value=1\n`.repeat(1000)), headers: { "Content-Encoding": "gzip" } });
    assert.is(bomb.status, 413);
    assert.is(((await bomb.json()) as { code: string }).code, "request too large");
    const t = BigInt(recentMs(50)) * 1_000_000n + 123_456n;
    assert.is((await fetch(`${ns.url}/write`, { method: "POST", body: `precise value=2 ${t}` })).status, 204);
    const sec = Number(t / 1_000_000n) / 1000;
    const res = await getJson(`${ns.url}/api/v1/query?query=timestamp(precise)&time=${sec + 1}`);
    assert.is(res.body.data.result[0].value[1], String(sec));
    const stored = await ns.server.runtime.storage().selectColumns({ metric: "precise" }, 0n, 2n ** 62n);
    assert.equal([...stored[0]!.timestamps], [t]);
  } finally {
    await ns.stop();
  }
});

test.run();
