// The tsink-server process itself: --help, rejected flags (exit 2), JSON logs, and graceful SIGTERM that lets an
// in-flight remote write finish before the process exits; kill -9 during ingest loses no acknowledged sample;
// and a real Prometheus (when installed) as remote-write and remote-read client.
import { test } from "uvu";
import * as assert from "uvu/assert";
import { type ChildProcess, spawn, spawnSync } from "node:child_process";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { createServer } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { request } from "node:http";
import { decodeReadResponse, getJson, readRequestBody, recentMs, remoteWriteBody, REMOTE_WRITE_HEADERS, SERVER_MAIN, spawnServer, startServer } from "./helpers.js";

const nodeArgs = (args: string[]) => ["--import", "tsx", SERVER_MAIN, ...args];

test("--help prints usage and exits 0; a bad flag exits 2 with a message (the flag matrix is in units.test.ts)", () => {
  const help = spawnSync(process.execPath, nodeArgs(["--help"]), { encoding: "utf8" });
  assert.is(help.status, 0);
  assert.match(help.stdout, /Usage: tsink-server/);
  assert.match(help.stdout, /--admin-api-enabled/);
  const bad = spawnSync(process.execPath, nodeArgs(["--tls-key", "k.pem"]), { encoding: "utf8" });
  assert.is(bad.status, 2);
  assert.match(bad.stderr, /--tls-cert and --tls-key must be given together/);
});

test("SIGTERM: stops accepting, finishes the in-flight write, exits 0 with JSON logs", async () => {
  const { child, port, logs } = await spawnServer([]);
  const exited = new Promise<number | null>((resolve) => child.on("exit", (code) => resolve(code)));
  const body = remoteWriteBody([{ labels: { __name__: "inflight" }, samples: [[recentMs(), 1]] }]);
  const req = request({ host: "127.0.0.1", port, path: "/api/v1/write", method: "POST", headers: { ...REMOTE_WRITE_HEADERS, "Content-Length": String(body.length) } });
  const status = new Promise<number>((resolve, reject) => {
    req.on("response", (res) => {
      res.resume();
      resolve(res.statusCode ?? 0);
    });
    req.on("error", reject);
  });
  req.write(body.subarray(0, 5));
  // Server-side signals, not sleeps: the write holds its admission slot (the request is in flight) before the
  // SIGTERM, and the server has begun shutting down before the rest of the body arrives.
  const inflightWrites = async () => {
    const text = await (await fetch(`http://127.0.0.1:${port}/metrics`)).text();
    return Number(/^tsink_ingest_inflight_requests (\d+)$/m.exec(text)?.[1] ?? 0);
  };
  await until("the write in flight", async () => ((await inflightWrites()) === 1 ? true : undefined), 30_000, 10);
  child.kill("SIGTERM");
  await until("the shutdown log line", async () => (logs().includes('"shutting down"') ? true : undefined), 30_000, 10);
  req.end(body.subarray(5));
  assert.is(await status, 200);
  assert.is(await exited, 0);
  const lines = logs().trim().split("\n").map((l) => JSON.parse(l) as { msg: string; level: number });
  assert.equal(lines.map((l) => l.msg).slice(-2), ["shutting down", "stopped"]);
});

const SERIES = 20;
const PER_BATCH = 10; // samples per series per batch
const WRITERS = 4;

test("kill -9 during remote-write ingest loses no acknowledged sample", async () => {
  const dir = mkdtempSync(join(tmpdir(), "tsink-crash-"));
  try {
    const first = await spawnServer(["--data-path", dir]);
    const exited = new Promise<void>((resolve) => first.child.on("exit", () => resolve()));
    const base = recentMs(600);
    const acknowledged: number[] = [];
    let nextBatch = 0;
    let killed = false;
    const writer = async () => {
      while (!killed) {
        const batch = nextBatch++;
        const body = remoteWriteBody(
          Array.from({ length: SERIES }, (_, s) => ({
            labels: { __name__: "crash_test", series: String(s) },
            samples: Array.from({ length: PER_BATCH }, (_, i) => [base + batch * PER_BATCH + i, batch * 1000 + s + i / 100] as [number, number]),
          })),
        );
        try {
          const res = await fetch(`http://127.0.0.1:${first.port}/api/v1/write`, { method: "POST", headers: REMOTE_WRITE_HEADERS, body });
          await res.arrayBuffer();
          if (res.status >= 200 && res.status < 300) acknowledged.push(batch);
        } catch {
          return; // connection died with the server: this batch was never acknowledged
        }
      }
    };
    const writers = Array.from({ length: WRITERS }, writer);
    // Kill once some batches are acknowledged (however slow a loaded machine makes them), while writers still write.
    await until("10 acknowledged batches", async () => (acknowledged.length > 10 ? true : undefined), 60_000, 10);
    first.child.kill("SIGKILL");
    killed = true;
    await Promise.all(writers);
    await exited;
    assert.ok(acknowledged.length > 10, `only ${acknowledged.length} batches acknowledged before the kill`);

    const second = await spawnServer(["--data-path", dir]);
    try {
      const res = await fetch(`http://127.0.0.1:${second.port}/api/v1/read`, {
        method: "POST",
        headers: REMOTE_WRITE_HEADERS,
        body: readRequestBody([{ startMs: base - 1, endMs: base + nextBatch * PER_BATCH + 1, matchers: [{ type: 0, name: "__name__", value: "crash_test" }] }]),
      });
      assert.is(res.status, 200);
      const stored = new Map<string, number>();
      for (const ts of decodeReadResponse(await res.arrayBuffer()).results[0]!.timeseries) {
        const series = ts.labels.find((l) => l.name === "series")!.value;
        for (const p of ts.samples) stored.set(`${series}@${p.timestamp}`, p.value);
      }
      let missing = 0;
      for (const batch of acknowledged) {
        for (let s = 0; s < SERIES; s++) {
          for (let i = 0; i < PER_BATCH; i++) {
            const value = stored.get(`${s}@${base + batch * PER_BATCH + i}`);
            if (value !== batch * 1000 + s + i / 100) missing++;
          }
        }
      }
      assert.is(missing, 0, `${missing} acknowledged samples missing or wrong after restart (${acknowledged.length} batches acknowledged)`);
      console.log(`kill -9: ${acknowledged.length} acknowledged batches (${acknowledged.length * SERIES * PER_BATCH} samples) all present; ${nextBatch - acknowledged.length} batches unacknowledged`);
    } finally {
      second.child.kill("SIGTERM");
      await new Promise<void>((resolve) => second.child.on("exit", () => resolve()));
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

const hasPrometheus = spawnSync("prometheus", ["--version"], { stdio: "ignore" }).status === 0;
const run = hasPrometheus ? test : test.skip;
if (!hasPrometheus) console.log("prometheus-interop: skipped, no `prometheus` binary on PATH (apt-get install prometheus)");

function freePort(): Promise<number> {
  return new Promise((resolve) => {
    const s = createServer().listen(0, "127.0.0.1", () => {
      const { port } = s.address() as { port: number };
      s.close(() => resolve(port));
    });
  });
}

async function until<T>(what: string, fn: () => Promise<T | undefined>, timeoutMs = 30_000, pollMs = 250): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const v = await fn().catch(() => undefined);
    if (v !== undefined) return v;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, pollMs));
  }
}

run("Prometheus remote-writes samples and metadata into tsink and reads tsink data back", async () => {
  const tsink = await startServer();
  const dir = mkdtempSync(join(tmpdir(), "tsink-prom-"));
  let prom: ChildProcess | undefined;
  try {
    const promPort = await freePort();
    writeFileSync(
      join(dir, "prometheus.yml"),
      [
        "global: { scrape_interval: 1s }",
        `scrape_configs: [{ job_name: self, static_configs: [{ targets: ["127.0.0.1:${promPort}"] }] }]`,
        `remote_write: [{ url: "${tsink.url}/api/v1/write", metadata_config: { send_interval: 1s } }]`,
        `remote_read: [{ url: "${tsink.url}/api/v1/read", read_recent: true }]`,
      ].join("\n"),
    );
    prom = spawn("prometheus", [`--config.file=${join(dir, "prometheus.yml")}`, `--web.listen-address=127.0.0.1:${promPort}`, `--storage.tsdb.path=${join(dir, "data")}`], { stdio: "ignore" });
    const up = await until("Prometheus' samples in tsink", async () => {
      const r = await getJson(`${tsink.url}/api/v1/query?query=up`);
      return r.body.data.result.length > 0 ? r.body.data.result : undefined;
    });
    assert.equal(up[0].metric, { __name__: "up", instance: `127.0.0.1:${promPort}`, job: "self" });
    const md = await until("metadata in tsink", async () => {
      const r = await getJson(`${tsink.url}/api/v1/metadata?metric=prometheus_http_requests_total`);
      return r.body.data.prometheus_http_requests_total;
    });
    assert.is(md[0].type, "counter");

    const T = recentMs(30);
    const imported = await fetch(`${tsink.url}/api/v1/import/prometheus`, { method: "POST", body: `only_in_tsink{src="import"} 42 ${T}\n` });
    assert.is(imported.status, 200);
    const viaProm = await until("remote read through Prometheus", async () => {
      const r = await getJson(`http://127.0.0.1:${promPort}/api/v1/query?query=only_in_tsink&time=${T / 1000}`);
      return r.body.data?.result?.length ? r.body.data.result : undefined;
    });
    assert.equal(viaProm, [{ metric: { __name__: "only_in_tsink", src: "import" }, value: [T / 1000, "42"] }]);
  } finally {
    prom?.kill("SIGTERM");
    if (prom) await new Promise((r) => prom!.on("exit", r));
    await tsink.stop();
    rmSync(dir, { recursive: true, force: true });
  }
});

test.run();
