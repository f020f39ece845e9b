// StatsD over a real UDP socket and Graphite plaintext over a real TCP socket into the real server, read back
// through PromQL: names, labels, values, timestamps; packet/line limits, bad input dropped and counted, tenants.
import { test } from "uvu";
import * as assert from "uvu/assert";
import { createSocket } from "node:dgram";
import { connect, type Socket } from "node:net";
import { parseServerArgs, type ServerConfig } from "../../src/server/config.js";
import { type RunningServer, getJson, startServer } from "./helpers.js";

let srv: RunningServer;
let statsdPort = 0;
let graphitePort = 0;

test.before(async () => {
  srv = await startServer(
    ["--statsd-listen", "127.0.0.1:0", "--graphite-listen", "127.0.0.1:0", "--graphite-tenant", "graphite-team"],
    { TSINK_STATSD_MAX_PACKET_BYTES: "512", TSINK_GRAPHITE_MAX_LINE_BYTES: "100" },
  );
  statsdPort = srv.server.listeners.statsd!.address.port;
  graphitePort = srv.server.listeners.graphite!.address.port;
});
test.after(async () => {
  await srv.stop();
});

type Result = { metric: Record<string, string>; value: [number, string] }[];

async function instant(q: string, headers: Record<string, string> = {}, timeSec = Date.now() / 1000): Promise<Result> {
  const res = await getJson(`${srv.url}/api/v1/query?query=${encodeURIComponent(q)}&time=${timeSec}`, { headers });
  assert.is(res.status, 200, JSON.stringify(res.body));
  return res.body.data.result;
}

/** Polls (up to 20 s, however loaded the machine) until the query returns `n` series (UDP/TCP writes are asynchronous to the sender). */
async function eventually(q: string, n: number, headers: Record<string, string> = {}): Promise<Result> {
  for (const deadline = Date.now() + 20_000; Date.now() < deadline; ) {
    const r = await instant(q, headers);
    if (r.length === n) return r;
    await new Promise((res) => setTimeout(res, 20));
  }
  assert.unreachable(`${q} never returned ${n} series`);
  return [];
}

async function sendUdp(...packets: string[]): Promise<void> {
  const socket = createSocket("udp4");
  for (const p of packets) await new Promise<void>((resolve, reject) => socket.send(p, statsdPort, "127.0.0.1", (err) => (err ? reject(err) : resolve())));
  socket.close();
}

async function metricsText(): Promise<string> {
  return (await fetch(`${srv.url}/metrics`)).text();
}

test("statsd over UDP: counter with sample rate, DogStatsD tags, relative gauges, timers, sets; receive timestamps", async () => {
  const before = Date.now();
  await sendUdp("shop.orders:3|c|@0.5|#env:prod,canary", "shop.queue:10|g", "shop.queue:+5|g", "shop.queue:-3|g\nshop.latency:12.5|ms|@0.1\nshop.users:alice|s");
  const orders = await eventually("shop_orders", 1);
  assert.equal(orders[0]!.metric, { __name__: "shop_orders", canary: "true", env: "prod" });
  assert.is(orders[0]!.value[1], "6");
  await eventually('shop_queue == 12', 1);
  const latency = await eventually("shop_latency", 1);
  assert.equal(latency[0]!.metric, { __name__: "shop_latency", statsd_sample_rate: "0.1" });
  assert.equal((await eventually("shop_users", 1))[0]!.metric.statsd_set_member, "alice");
  const ts = Number((await instant("timestamp(shop_orders)"))[0]!.value[1]) * 1000;
  assert.ok(ts >= Math.floor(before / 1000) * 1000 - 1 && ts <= Date.now(), `receive timestamp ${ts}`);
});

test("statsd: a bad event drops its whole packet; oversized packets are dropped; both counted", async () => {
  await sendUdp("drop.me:1|c\ndrop.bad:x|c", `big.packet:1|c|#pad:${"x".repeat(600)}`, "after.drop:1|c");
  await eventually("after_drop", 1);
  assert.equal(await instant("drop_me"), []);
  assert.equal(await instant("big_packet"), []);
  const text = await metricsText();
  assert.match(text, /tsink_ingest_rejected_requests_total\{protocol="statsd",reason="400"\} 1/);
  assert.match(text, /tsink_ingest_rejected_requests_total\{protocol="statsd",reason="413"\} 1/);
});

function openGraphite(): Promise<Socket> {
  return new Promise((resolve, reject) => {
    const s = connect(graphitePort, "127.0.0.1", () => resolve(s));
    s.on("error", reject);
  });
}

const TENANT = { "x-tsink-tenant": "graphite-team" };

test("graphite over TCP: plain and tagged paths, seconds timestamps, into --graphite-tenant", async () => {
  const sec = Math.floor(Date.now() / 1000) - 30;
  const s = await openGraphite();
  s.write(`servers.web01.cpu.load 0.5 ${sec}\nservers.api.latency;env=prod;region=us-west 42.5 ${sec}.5\n`);
  const plain = await eventually("servers_web01_cpu_load", 1, TENANT);
  assert.equal(plain[0]!.metric, { __name__: "servers_web01_cpu_load" });
  assert.is(Number((await instant("timestamp(servers_web01_cpu_load)", TENANT))[0]!.value[1]), sec);
  const tagged = await eventually("servers_api_latency", 1, TENANT);
  assert.equal(tagged[0]!.metric, { __name__: "servers_api_latency", env: "prod", region: "us-west" });
  assert.is(Number((await instant("timestamp(servers_api_latency)", TENANT))[0]!.value[1]), sec + 0.5);
  assert.equal(await instant("servers_web01_cpu_load"), [], "not in the default tenant");
  s.end();
});

test("graphite: slow client with a half line, over-long and bad lines dropped without closing the connection", async () => {
  const s = await openGraphite();
  s.write("slow.metric 1");
  await new Promise((r) => setTimeout(r, 150));
  assert.equal(await instant("slow_metric", TENANT), [], "a half line is not stored");
  s.write("7\n");
  assert.is((await eventually("slow_metric", 1, TENANT))[0]!.value[1], "17");
  s.write(`long.line ${"9".repeat(120)}\nbad.line notanumber\nafter.long 3\n`);
  await eventually("after_long", 1, TENANT);
  assert.equal(await instant("long_line", TENANT), []);
  assert.ok(!s.destroyed && s.writable);
  s.write("still.open 4\n");
  await eventually("still_open", 1, TENANT);
  // a last line without newline is stored when the client closes
  s.end("closing.line 5");
  await eventually("closing_line", 1, TENANT);
  const text = await metricsText();
  assert.match(text, /tsink_ingest_rejected_requests_total\{protocol="graphite",reason="413"\} 1/);
  assert.match(text, /tsink_ingest_rejected_requests_total\{protocol="graphite",reason="400"\} 1/);
});

test("a listener address already in use fails startup", async () => {
  let failed: unknown;
  try {
    const other = await startServer(["--graphite-listen", `127.0.0.1:${graphitePort}`]);
    await other.stop();
  } catch (err) {
    failed = err;
  }
  assert.match(String((failed as Error | undefined)?.message), /EADDRINUSE/);
});

test("listener flags and env limits", () => {
  const c = parseServerArgs(["--statsd-listen", "0.0.0.0:8125", "--statsd-tenant", "ops", "--graphite-listen", "[::1]:2003"], {
    TSINK_STATSD_MAX_PACKET_BYTES: "1432", TSINK_GRAPHITE_MAX_LINE_BYTES: "10",
  }) as ServerConfig;
  assert.equal(c.protocols.statsd, { listen: { host: "0.0.0.0", port: 8125 }, tenant: "ops", maxPacketBytes: 1432, maxEventsPerPacket: 1024 });
  assert.equal(c.protocols.graphite, { listen: { host: "::1", port: 2003 }, tenant: "default", maxLineBytes: 64 });
  assert.is((parseServerArgs([], {}) as ServerConfig).protocols.statsd, undefined);
  assert.throws(() => parseServerArgs(["--statsd-listen", "8125"], {}), /--statsd-listen: expected host:port/);
  assert.throws(() => parseServerArgs(["--statsd-tenant", " "], {}), /--statsd-tenant must not be empty/);
  assert.throws(() => parseServerArgs(["--graphite-tenant", "__x"], {}), /must not start with "__"/);
  assert.throws(() => parseServerArgs([], { TSINK_OTLP_METRICS_ENABLED: "maybe" }), /TSINK_OTLP_METRICS_ENABLED/);
});

test.run();
