// Influx line protocol over real HTTP to the real server: Telegraf-style v1 writes (gzip), v2 writes, read back
// through PromQL; InfluxDB-style error bodies, whole-request rejection, line limit, feature flag, tenants; the
// shared ingest path (tenant quota and admission as for remote write); /ping, Influx-style auth, /query, status.
import { test } from "uvu";
import * as assert from "uvu/assert";
import { mkdtempSync, readdirSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { gzipSync } from "node:zlib";
import { type RunningServer, getJson, holdOpenPost, recentMs, remoteWrite, startServer } from "./helpers.js";

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

/** A server with a --tenant-config file; removed with the server. */
async function withTenantConfig(doc: object, args: string[], fn: (srv: RunningServer) => Promise<void>): Promise<void> {
  const dir = mkdtempSync(join(tmpdir(), "tsink-influx-tenants-"));
  try {
    const file = join(dir, "tenants.json");
    writeFileSync(file, JSON.stringify(doc));
    const s = await startServer(["--tenant-config", file, ...args]);
    try {
      await fn(s);
    } finally {
      await s.stop();
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

test("one ingest path: an Influx write over the tenant quota or admission budget is refused like a remote write", async () => {
  await withTenantConfig({ tenants: { small: { quotas: { maxWriteRowsPerRequest: 2 }, admission: { maxInflightWrites: 1 } } } }, [], async (s) => {
    const ms = recentMs(90);
    const small = { "x-tsink-tenant": "small" };
    const rw = await remoteWrite(s.url, [{ labels: { __name__: "quota_m" }, samples: [[ms, 1], [ms + 1, 2], [ms + 2, 3]] }], small);
    // one line with three fields = three samples > 2
    const influx = await fetch(`${s.url}/write?precision=ms`, { method: "POST", body: `quota_m a=1,b=2,c=3 ${ms}`, headers: small });
    for (const res of [rw, influx]) {
      assert.is(res.status, 413);
      assert.is(res.headers.get("x-tsink-write-error-code"), "write_resource_limit_exceeded");
    }
    assert.match(await rw.text(), /tenant quota maxWriteRowsPerRequest exceeded: 3 > 2/);
    const err = (await influx.json()) as { code: string; message: string };
    assert.equal(err, { code: "request too large", message: "tenant quota maxWriteRowsPerRequest exceeded: 3 > 2" });
    const v2 = await fetch(`${s.url}/api/v2/write?precision=ms`, { method: "POST", body: `quota_m a=1,b=2,c=3 ${ms}`, headers: small });
    assert.is(v2.status, 413);
    assert.equal(await instantOn(s, "{__name__=~\"quota_m.*\"}", ms / 1000, small), []);
    // within the quota: stored
    assert.is((await fetch(`${s.url}/write?precision=ms`, { method: "POST", body: `quota_m a=1,b=2 ${ms}`, headers: small })).status, 204);
    assert.is((await instantOn(s, "quota_m_a", ms / 1000, small)).length, 1);
    // the tenant's in-flight budget: a held remote write blocks an Influx write of the same tenant (503 at once)
    const held = await holdOpenPost(s.port, "/api/v1/write", { "Content-Type": "application/x-protobuf", "Content-Encoding": "snappy", ...small });
    const busy = await fetch(`${s.url}/write?precision=ms`, { method: "POST", body: `quota_m a=5 ${ms + 5}`, headers: small });
    assert.is(busy.status, 503);
    assert.is(busy.headers.get("x-tsink-write-error-code"), "write_overloaded");
    assert.is(busy.headers.get("retry-after"), "1");
    assert.is(((await busy.json()) as { code: string }).code, "unavailable");
    assert.is((await fetch(`${s.url}/write?precision=ms`, { method: "POST", body: `quota_m a=5 ${ms + 5}` })).status, 204, "other tenants go on");
    await held.release();
    assert.is((await fetch(`${s.url}/write?precision=ms`, { method: "POST", body: `quota_m a=5 ${ms + 5}`, headers: small })).status, 204);
    const metrics = await (await fetch(`${s.url}/metrics`)).text();
    assert.match(metrics, /tsink_ingest_requests_total\{protocol="influx_line",code="413"\} 2/);
    assert.match(metrics, /tsink_ingest_requests_total\{protocol="influx_line",code="503"\} 1/);
    assert.match(metrics, /tsink_ingest_requests_total\{protocol="remote_write",code="413"\} 1/);
    assert.match(metrics, /tsink_admission_rejections_total\{surface="write",reason="overloaded"\} 1/);
  });
});

async function instantOn(s: RunningServer, q: string, timeSec: number, headers: Record<string, string> = {}): Promise<{ metric: Record<string, string>; value: [number, string] }[]> {
  const res = await getJson(`${s.url}/api/v1/query?query=${encodeURIComponent(q)}&time=${timeSec}`, { headers });
  assert.is(res.status, 200, JSON.stringify(res.body));
  return res.body.data.result;
}

test("group commit: concurrent Influx writes to a per-append WAL share fsyncs instead of queueing for them", async () => {
  const dir = mkdtempSync(join(tmpdir(), "tsink-influx-gc-"));
  const durable = await startServer(["--data-path", dir]);
  try {
    const N = 24;
    const ms = recentMs(80);
    const send = (offset: number) =>
      Promise.all(Array.from({ length: N }, (_, k) => {
        const body = Array.from({ length: 500 }, (_, i) => `gc,s=${k}_${i} value=${i} ${ms + offset}`).join("\n");
        return fetch(`${durable.url}/write?precision=ms`, { method: "POST", body }).then((r) => r.status);
      }));
    const rounds = async () => (await getJson(`${durable.url}/api/v1/status/tsdb`)).body.data.storage.wal.fsyncRounds as number;
    assert.equal(await send(0), Array(N).fill(204));
    const before = await rounds();
    assert.equal(await send(1), Array(N).fill(204));
    const used = (await rounds()) - before;
    console.log(`group commit: ${used} fsync rounds for ${N} concurrent Influx writes`);
    // every write waited for an fsync; with writer slots limited to the CPU count they went in pairs (N/2 rounds)
    assert.ok(used >= 1 && used <= N / 3, `${used} fsync rounds for ${N} concurrent writes`);
    assert.is((await instantOn(durable, "count(gc)", ms / 1000 + 0.001)).at(0)?.value[1], String(N * 500));
  } finally {
    await durable.stop();
    rmSync(dir, { recursive: true, force: true });
  }
});

test("reused body buffers and columns: concurrent multi-chunk writes queued for one writer, some rejected, all land as sent", async () => {
  // one storage writer held across each WAL fsync: parsed requests wait in the queue holding their columns
  const dir = mkdtempSync(join(tmpdir(), "tsink-influx-pool-"));
  const queued = await startServer(["--data-path", dir, "--max-writers", "1"]);
  try {
    const ms = recentMs(70);
    const lines = 4000; // ~200 KB per body: many socket chunks, so the body is assembled in a pooled buffer
    const body = (k: number, round: number) =>
      Array.from({ length: lines }, (_, i) => `pool,req=r${k},pad=${"p".repeat(16)}${i} value=${k * 1000 + round} ${ms + round}`).join("\n");
    for (let round = 0; round < 3; round++) {
      const statuses = await Promise.all(Array.from({ length: 6 }, (_, k) => {
        // request 5 of each round ends in a bad line: rejected whole while the others share the pools
        const text = k === 5 ? `${body(k, round)}\npool value=oops` : body(k, round);
        return fetch(`${queued.url}/write?precision=ms`, { method: "POST", body: text }).then((r) => r.status);
      }));
      assert.equal(statuses, [204, 204, 204, 204, 204, 400]);
    }
    for (let round = 0; round < 3; round++) {
      const t = (ms + round) / 1000;
      const counts = await instantOn(queued, "count by (req) (pool)", t);
      assert.equal(counts.map((r) => [r.metric.req, r.value[1]]).sort(), [0, 1, 2, 3, 4].map((k) => [`r${k}`, String(lines)]));
      const sums = await instantOn(queued, "sum by (req) (pool)", t);
      assert.equal(sums.map((r) => [r.metric.req, r.value[1]]).sort(), [0, 1, 2, 3, 4].map((k) => [`r${k}`, String(lines * (k * 1000 + round))]));
    }
  } finally {
    await queued.stop();
    rmSync(dir, { recursive: true, force: true });
  }
});

test("GET|HEAD /ping: 204 with the InfluxDB version headers, no auth needed", async () => {
  const locked = await startServer(["--auth-token", "secret"]);
  try {
    for (const method of ["GET", "HEAD"]) {
      const res = await fetch(`${locked.url}/ping`, { method });
      assert.is(res.status, 204, method);
      assert.is(res.headers.get("x-influxdb-version"), "1.8.10");
      assert.is(res.headers.get("x-influxdb-build"), "OSS");
      assert.is(await res.text(), "");
    }
  } finally {
    await locked.stop();
  }
});

test("Influx-style credentials on /write, /api/v2/write and /query map onto the bearer token and tenant token scopes", async () => {
  const tenants = { tenants: { acme: { auth: { tokens: [{ token: "acme-w", scopes: ["write"] }, { token: "acme-rw", scopes: ["read", "write"] }] } } } };
  await withTenantConfig(tenants, ["--auth-token", "global"], async (s) => {
    const ms = recentMs(100);
    const basic = (user: string, pass: string) => `Basic ${Buffer.from(`${user}:${pass}`).toString("base64")}`;
    const write = (path: string, headers: Record<string, string>, query = "") =>
      fetch(`${s.url}${path}?precision=ms${query}`, { method: "POST", body: `authm value=1 ${ms}`, headers });
    assert.is((await write("/api/v2/write", { Authorization: "Token global" })).status, 204);
    assert.is((await write("/write", { Authorization: basic("telegraf", "global") })).status, 204);
    assert.is((await write("/write", {}, "&u=telegraf&p=global")).status, 204);
    assert.is((await write("/write", { Authorization: "Bearer global" })).status, 204);
    assert.is((await write("/api/v2/write", { Authorization: "Token acme-w", "x-tsink-tenant": "acme" })).status, 204);
    assert.is((await write("/write", { "x-tsink-tenant": "acme" }, "&u=x&p=acme-w")).status, 204);
    const cases: [string, Record<string, string>, string, number, string][] = [
      ["/write", {}, "", 401, "auth_token_missing"],
      ["/write", { Authorization: "Token wrong" }, "", 401, "auth_token_invalid"],
      ["/write", { Authorization: basic("telegraf", "wrong") }, "", 401, "auth_token_invalid"],
      ["/write", {}, "&u=telegraf&p=wrong", 401, "auth_token_invalid"],
      ["/api/v2/write", { Authorization: "Token acme-w" }, "", 403, "auth_scope_denied"],
    ];
    for (const [path, headers, query, status, code] of cases) {
      const res = await write(path, headers, query);
      assert.is(res.status, status, `${path} ${JSON.stringify(headers)} ${query}`);
      assert.is(res.headers.get("x-tsink-auth-error-code"), code);
      // in the InfluxDB error shape, as Influx clients read it
      assert.is(((await res.json()) as { code: string }).code, status === 401 ? "unauthorized" : "forbidden");
      assert.ok(res.headers.get("x-influxdb-error"));
    }
    // the Influx styles are for the Influx routes only
    const q = await fetch(`${s.url}/api/v1/query?query=authm&p=global`, { headers: { Authorization: "Token global" } });
    assert.is(q.status, 401);
    // /query: CREATE DATABASE with a write-only tenant token (Telegraf's startup), SHOW DATABASES needs read
    const create = await getJson(`${s.url}/query?q=${encodeURIComponent('CREATE DATABASE "telegraf"')}`, { method: "POST", headers: { Authorization: basic("t", "acme-w"), "x-tsink-tenant": "acme" } });
    assert.equal([create.status, create.body], [200, { results: [{ statement_id: 0 }] }]);
    const show = (token: string) => getJson(`${s.url}/query?q=SHOW+DATABASES&p=${token}`, { headers: { "x-tsink-tenant": "acme" } });
    assert.is((await show("acme-w")).status, 403);
    assert.is((await show("acme-rw")).status, 200);
    assert.is((await getJson(`${s.url}/query?q=SHOW+DATABASES`)).status, 401);
  });
});

test("GET /health: InfluxDB 2 shape; a probe (no token needed, as InfluxDB serves it)", async () => {
  const res = await getJson(`${srv.url}/health`);
  assert.is(res.status, 200);
  assert.is(res.body.name, "influxdb");
  assert.is(res.body.status, "pass");
  assert.equal(res.body.checks, []);
  assert.match(res.body.version, /^tsink-/);
  await withTenantConfig({ tenants: { acme: { auth: { tokens: [{ token: "acme-w", scopes: ["write"] }] } } } }, ["--auth-token", "global"], async (s) => {
    assert.is((await getJson(`${s.url}/health`)).body.status, "pass");
    assert.is((await getJson(`${s.url}/health`, { headers: { Authorization: "Token global" } })).body.status, "pass");
    // any token, or a tenant's, is ignored as on /ping
    assert.is((await fetch(`${s.url}/health`, { headers: { Authorization: "Token acme-w", "x-tsink-tenant": "acme" } })).status, 200);
    assert.is((await fetch(`${s.url}/health`, { headers: { Authorization: "Token wrong" } })).status, 200);
  });
});

test("/api/v2/buckets: lists the tenant's written buckets, creates (201, 422 on duplicates or other retention), filters, scopes", async () => {
  const ms = recentMs(115);
  for (const [bucket, org] of [["metrics", "acme"], ["logs", "other"]]) {
    const res = await fetch(`${srv.url}/api/v2/write?org=${org}&bucket=${bucket}&precision=ms`, { method: "POST", body: `bk value=1 ${ms}`, headers: { "x-tsink-tenant": "bk" } });
    assert.is(res.status, 204);
  }
  const list = async (query = "", headers: Record<string, string> = { "x-tsink-tenant": "bk" }) => {
    const res = await getJson(`${srv.url}/api/v2/buckets${query}`, { headers });
    assert.is(res.status, 200, JSON.stringify(res.body));
    return res.body as { links: { self: string }; buckets: { id: string; name: string; type: string; retentionRules: { everySeconds: number }[] }[] };
  };
  const all = await list();
  assert.equal(all.buckets.map((b) => b.name), ["logs", "metrics"]);
  assert.equal(all.buckets[0]!.retentionRules, [{ type: "expire", everySeconds: 14 * 86_400, shardGroupDurationSeconds: 0 }]);
  assert.match(all.buckets[0]!.id, /^[0-9a-f]{16}$/);
  assert.equal((await list("?org=acme")).buckets.map((b) => b.name), ["metrics"]);
  assert.equal((await list("?name=logs")).buckets.map((b) => b.name), ["logs"]);
  assert.equal((await list(`?id=${all.buckets[1]!.id}`)).buckets.map((b) => b.name), ["metrics"]);
  assert.equal((await list("?limit=1&offset=1")).buckets.map((b) => b.name), ["metrics"]);
  assert.equal((await list("", {})).buckets.filter((b) => b.name === "metrics"), [], "another tenant's buckets are not listed");

  const create = (body: unknown, headers: Record<string, string> = {}) =>
    getJson(`${srv.url}/api/v2/buckets`, { method: "POST", body: JSON.stringify(body), headers: { "Content-Type": "application/json", "x-tsink-tenant": "bk", ...headers } });
  const made = await create({ orgID: "0123456789abcdef", name: "fresh", retentionRules: [] });
  assert.is(made.status, 201, JSON.stringify(made.body));
  assert.equal([made.body.name, made.body.orgID, made.body.type], ["fresh", "0123456789abcdef", "user"]);
  assert.equal((await list()).buckets.map((b) => b.name), ["fresh", "logs", "metrics"]);
  assert.is((await create({ name: "same-retention", retentionRules: [{ type: "expire", everySeconds: 14 * 86_400 }] })).status, 201);
  const rejected: [unknown, number, RegExp][] = [
    [{ name: "fresh" }, 422, /already exists/],
    [{ name: "metrics" }, 422, /already exists/],
    [{ name: "short", retentionRules: [{ type: "expire", everySeconds: 3600 }] }, 422, /per-bucket retention is not supported/],
    [{ name: "_system" }, 400, /bucket name/],
    [{ name: "" }, 400, /bucket name/],
    [[1, 2], 400, /JSON object/],
  ];
  for (const [body, status, message] of rejected) {
    const res = await create(body);
    assert.is(res.status, status, JSON.stringify(body));
    assert.match(res.body.message, message);
    assert.ok(typeof res.body.code === "string");
  }
  // writing into a created bucket is an ordinary v2 write
  assert.is((await fetch(`${srv.url}/api/v2/write?bucket=fresh&precision=ms`, { method: "POST", body: `bk value=2 ${ms}`, headers: { "x-tsink-tenant": "bk" } })).status, 204);
  assert.equal((await instant('bk{influx_bucket="fresh"}', ms / 1000, { "x-tsink-tenant": "bk" })).map((r) => r.value[1]), ["2"]);

  await withTenantConfig({ tenants: { acme: { auth: { tokens: [{ token: "acme-w", scopes: ["write"] }, { token: "acme-r", scopes: ["read"] }] } } } }, ["--auth-token", "global"], async (s) => {
    const h = (token: string) => ({ Authorization: `Token ${token}`, "x-tsink-tenant": "acme" });
    assert.is((await fetch(`${s.url}/api/v2/buckets`)).status, 401);
    assert.is((await fetch(`${s.url}/api/v2/buckets`, { headers: h("acme-w") })).status, 403);
    assert.is((await fetch(`${s.url}/api/v2/buckets`, { headers: h("acme-r") })).status, 200);
    const post = (token: string) => fetch(`${s.url}/api/v2/buckets`, { method: "POST", body: JSON.stringify({ name: "b1" }), headers: h(token) });
    assert.is((await post("acme-r")).status, 403);
    assert.is((await post("acme-w")).status, 201);
  });
});

test("/api/v2/buckets: created buckets survive a restart of the server, each in its tenant", async () => {
  const dir = mkdtempSync(join(tmpdir(), "tsink-buckets-"));
  const create = (s: RunningServer, tenant: string, name: string) =>
    getJson(`${s.url}/api/v2/buckets`, { method: "POST", body: JSON.stringify({ name }), headers: { "Content-Type": "application/json", "x-tsink-tenant": tenant } });
  const names = async (s: RunningServer, tenant: string) =>
    ((await getJson(`${s.url}/api/v2/buckets`, { headers: { "x-tsink-tenant": tenant } })).body as { buckets: { name: string }[] }).buckets.map((b) => b.name);
  let s: RunningServer | undefined;
  try {
    s = await startServer(["--data-path", dir]);
    assert.is((await create(s, "a", "kept")).status, 201);
    assert.is((await create(s, "b", "other")).status, 201);
    // concurrent creates of one name: one wins, the others hear it exists (also when the first one waits for
    // the store to forget a created bucket that was written to meanwhile)
    assert.is((await create(s, "a", "filled")).status, 201);
    assert.is((await fetch(`${s.url}/api/v2/write?bucket=filled&precision=ms`, { method: "POST", body: `bkt value=0 ${recentMs(101)}`, headers: { "x-tsink-tenant": "a" } })).status, 204);
    const first = s;
    const racing = await Promise.all(Array.from({ length: 5 }, () => create(first, "a", "raced")));
    assert.equal(racing.map((r) => r.status).sort(), [201, 422, 422, 422, 422]);
    await s.stop();
    assert.equal(readdirSync(join(dir, "server")).filter((f) => f.includes("bucket")), ["influx-buckets.json"], "no temp file left");

    s = await startServer(["--data-path", dir]);
    assert.equal(await names(s, "a"), ["filled", "kept", "raced"]);
    assert.equal(await names(s, "b"), ["other"]);
    assert.is((await create(s, "a", "kept")).status, 422, "still known after the restart");
    assert.is((await create(s, "b", "kept")).status, 201, "another tenant's name is free");
    // once written to, a created bucket is listed through its data
    const ms = recentMs(100);
    assert.is((await fetch(`${s.url}/api/v2/write?bucket=kept&precision=ms`, { method: "POST", body: `bkt value=1 ${ms}`, headers: { "x-tsink-tenant": "a" } })).status, 204);
    assert.is((await create(s, "a", "second")).status, 201);
    await s.stop();

    s = await startServer(["--data-path", dir]);
    assert.equal(await names(s, "a"), ["filled", "kept", "raced", "second"]);
    assert.equal(await names(s, "b"), ["kept", "other"]);
  } finally {
    await s?.stop(); // stopping twice is a no-op
    rmSync(dir, { recursive: true, force: true });
  }
});

test("/query: CREATE DATABASE answered OK, SHOW DATABASES lists the tenant's db labels, anything else a clear 400", async () => {
  const ms = recentMs(110);
  assert.is((await fetch(`${srv.url}/write?db=metrics_db&precision=ms`, { method: "POST", body: `dbm value=1 ${ms}`, headers: { "x-tsink-tenant": "dbs" } })).status, 204);
  const form = await getJson(`${srv.url}/query`, {
    method: "POST", headers: { "Content-Type": "application/x-www-form-urlencoded", "x-tsink-tenant": "dbs" },
    body: `q=${encodeURIComponent('CREATE DATABASE "new db" WITH DURATION 7d; SHOW DATABASES')}`,
  });
  assert.is(form.status, 200);
  assert.is(form.headers.get("x-influxdb-version"), "1.8.10");
  assert.equal(form.body, { results: [{ statement_id: 0 }, { statement_id: 1, series: [{ name: "databases", columns: ["name"], values: [["metrics_db"]] }] }] });
  const empty = await getJson(`${srv.url}/query?q=SHOW%20DATABASES`, { headers: { "x-tsink-tenant": "nobody" } });
  assert.equal(empty.body, { results: [{ statement_id: 0, series: [{ name: "databases", columns: ["name"] }] }] });
  const select = await getJson(`${srv.url}/query?db=telegraf&q=${encodeURIComponent("SELECT mean(usage_idle) FROM cpu; CREATE DATABASE x")}`);
  assert.is(select.status, 400);
  assert.match(select.body.error, /^unsupported InfluxQL statement "SELECT mean\(usage_idle\) FROM cpu": tsink answers only CREATE DATABASE and SHOW DATABASES/);
  // a ';' inside a quoted name does not split statements
  const quoted = await getJson(`${srv.url}/query?q=${encodeURIComponent('CREATE DATABASE "a;b"; CREATE DATABASE c')}`);
  assert.equal([quoted.status, quoted.body], [200, { results: [{ statement_id: 0 }, { statement_id: 1 }] }]);
  assert.is((await getJson(`${srv.url}/query`)).status, 400);
  assert.match((await getJson(`${srv.url}/query?q=DROP%20DATABASE%20x`)).body.error, /unsupported InfluxQL statement "DROP DATABASE x"/);
});

test("/api/v1/status/tsdb: otlpMetrics and legacyIngest{influxLineProtocol, statsd, graphite}", async () => {
  const before = (await getJson(`${srv.url}/api/v1/status/tsdb`)).body.data;
  assert.is(before.legacyIngest.influxLineProtocol.enabled, true);
  assert.is(before.legacyIngest.influxLineProtocol.maxLinesPerRequest, 4096);
  assert.equal(before.legacyIngest.statsd, { enabled: false, acceptedTotal: 0, rejectedTotal: 0, samplesTotal: 0 });
  assert.equal(before.legacyIngest.graphite, { enabled: false, acceptedTotal: 0, rejectedTotal: 0, samplesTotal: 0 });
  assert.equal(Object.keys(before.otlpMetrics), ["enabled", "supportedKinds", "exemplarsStored", "acceptedTotal", "rejectedTotal", "samplesTotal"]);
  const ms = recentMs(20);
  assert.is((await fetch(`${srv.url}/write?precision=ms`, { method: "POST", body: `statusm a=1,b=2 ${ms}` })).status, 204);
  assert.is((await fetch(`${srv.url}/write`, { method: "POST", body: `statusm a=x` })).status, 400);
  const after = (await getJson(`${srv.url}/api/v1/status/tsdb`)).body.data.legacyIngest.influxLineProtocol;
  const was = before.legacyIngest.influxLineProtocol;
  assert.equal([after.acceptedTotal - was.acceptedTotal, after.rejectedTotal - was.rejectedTotal, after.samplesTotal - was.samplesTotal], [1, 1, 2]);
  assert.ok(after.seriesCache.contexts >= 1 && after.seriesCache.keys >= 1, JSON.stringify(after.seriesCache));
});

test.run();
