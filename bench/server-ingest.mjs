// Server ingest CPU: peerbench's ingest phase (same workload, same requests: C=4 connections, 5,000 samples per
// remote-write request, or with --ingest influx 4,000 lines per `/write?precision=ms` request) against tsink-server, printing the server's CPU time per sample (utime + stime of the whole
// process from /proc/<pid>/stat, as peerbench counts it) over the ingest, split into the main thread and the rest
// (V8's compiler and GC helpers, libuv's pool), and again after --settle seconds (the flush and compaction that
// follow the ingest). Encoded requests are kept in --cache, so repeated runs skip peerbench's encoding.
// Usage: node bench/server-ingest.mjs [--series 10000 --points 240 --rounds 3 --settle 0 --port 19241
//        --server dist/server/main.js --cache /tmp/tsink-rw-requests --peerbench ../shared/tools/peerbench
//        --ingest remote_write|influx --server-args "--wal-sync-mode periodic"
//        --node-args "--cpu-prof --cpu-prof-dir=/tmp/prof"]  (env TSINK_BENCH_SERVER_STDOUT=1: the server's stdout, e.g. --trace-gc)
//        (--server: another build, for before/after; --peerbench: a copy of peerbench with its npm dependencies)
import { spawn } from "node:child_process";
import { existsSync, mkdirSync, mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { loadPeerbench, remoteWrite, SERVER_ENV, SERVER_NODE_ARGS, serverBenchArgs, waitReady } from "./server-harness.mjs";

const opts = serverBenchArgs({
  about: "Server ingest CPU per sample over peerbench's ingest phase (remote write, or Influx line protocol), then over --settle s.",
  defaults: { series: 10000, points: 240, port: 19241 },
  flags: {
    rounds: { type: "string", default: 3, help: "fresh servers, one ingest each" },
    settle: { type: "string", default: 0, help: "seconds to keep measuring after the ingest (flush and compaction)" },
    ingest: { type: "string", default: "remote_write", help: "remote_write | influx" },
    cache: { type: "string", default: "$TMPDIR/tsink-rw-requests", help: "where the encoded requests are kept between runs" },
    "node-args": { type: "string", default: "", help: 'node flags for the server, space-separated (e.g. "--cpu-prof")' },
    "server-args": { type: "string", default: "", help: 'server flags, space-separated (e.g. "--wal-sync-mode periodic")' },
  },
  env: { TSINK_BENCH_SERVER_STDOUT: "1: show the server's stdout (e.g. with --node-args --trace-gc)" },
});
const pb = await loadPeerbench(opts.peerbench);
const { makeWorkload, encodeAll, PROTOCOLS, request, sleep } = pb;

const { series: S, points: P, port, server } = opts;
const rounds = Number(opts.rounds);
const settleS = Number(opts.settle);
const protocol = opts.ingest;
if (protocol !== "remote_write" && protocol !== "influx") throw new Error(`--ingest ${protocol}: remote_write or influx (see --help)`);
const batch = protocol === "influx" ? 4000 : 5000;
const path = protocol === "influx" ? "/write?precision=ms" : "/api/v1/write";
const nodeArgs = opts["node-args"].split(" ").filter(Boolean);
const serverArgs = opts["server-args"].split(" ").filter(Boolean);
const cache = join(opts.cache.replace("$TMPDIR", tmpdir()), `${protocol}-S${S}-P${P}`);

// Requests: encoded once (data ending on a past minute boundary, like peerbench) and kept as files per connection.
if (!existsSync(join(cache, "done"))) {
  const endMs = Math.floor(Date.now() / 60_000) * 60_000 - 60_000;
  const bodies = encodeAll(makeWorkload({ S, P, seed: 42, endMs }), { protocol, workers: 4, batch, perSeries: 1 });
  rmSync(cache, { recursive: true, force: true });
  mkdirSync(cache, { recursive: true });
  bodies.forEach((reqs, w) => reqs.forEach((r, i) => writeFileSync(join(cache, `${w}-${String(i).padStart(6, "0")}-${r.samples}`), r.body)));
  writeFileSync(join(cache, "done"), "");
}
const workers = [[], [], [], []];
for (const f of readdirSync(cache).sort()) {
  if (f === "done") continue;
  const [w, , samples] = f.split("-");
  workers[Number(w)].push({ body: readFileSync(join(cache, f)), samples: Number(samples) });
}

const { contentType, headers } = PROTOCOLS[protocol];
const hdrs = { "Content-Type": contentType, ...headers };
const ticks = (path) => {
  const f = readFileSync(path, "utf8").slice(readFileSync(path, "utf8").lastIndexOf(")") + 2).split(" ");
  return (Number(f[11]) + Number(f[12])) / 100;
};
const cpu = (pid) => {
  let main = 0;
  let other = 0;
  for (const t of readdirSync(`/proc/${pid}/task`)) {
    try {
      const v = ticks(`/proc/${pid}/task/${t}/stat`);
      if (Number(t) === pid) main += v;
      else other += v;
    } catch {
      // a thread that ended meanwhile
    }
  }
  return { main, other, total: ticks(`/proc/${pid}/stat`) };
};

const results = [];
for (let r = 0; r < rounds; r++) {
  const data = mkdtempSync(join(tmpdir(), "tsink-bench-ingest-"));
  const child = spawn("node", [...SERVER_NODE_ARGS, ...nodeArgs, server, "--listen", `127.0.0.1:${port}`, "--data-path", data, ...serverArgs], {
    env: { ...process.env, ...SERVER_ENV }, // the runtime settings of `npm start` and bench/peers.sh
    stdio: ["ignore", process.env.TSINK_BENCH_SERVER_STDOUT ? "inherit" : "ignore", "inherit"],
  });
  await waitReady(pb, `http://127.0.0.1:${port}`);
  const pid = child.pid;
  const before = cpu(pid);
  const started = performance.now();
  let ok = 0;
  let failed = 0;
  await Promise.all(
    workers.map(async (reqs) => {
      for (const q of reqs) {
        const resp = await request(`http://127.0.0.1:${port}${path}`, { method: "POST", headers: hdrs, body: q.body, maxSockets: 4 });
        if (resp.status < 300) ok += q.samples;
        else if (failed++ === 0) console.error(`HTTP ${resp.status}: ${resp.body.toString().slice(0, 200)}`);
      }
    }),
  );
  const after = cpu(pid);
  const wallS = (performance.now() - started) / 1000;
  const us = (s) => ((s * 1e6) / ok).toFixed(2);
  results.push((after.total - before.total) * 1e6 / ok);
  let line = `round ${r + 1}: server CPU ${us(after.total - before.total)} us/sample (main thread ${us(after.main - before.main)}, busy ${(((after.main - before.main) / wallS) * 100).toFixed(0)} % of the wall time; other threads ${us(after.other - before.other)}), ${(ok / wallS / 1e6).toFixed(2)} M samples/s wall, ${failed} failed requests`;
  if (settleS > 0) {
    await sleep(settleS * 1000);
    line += `; with the ${settleS} s after it ${us(cpu(pid).total - before.total)} us/sample`;
  }
  console.log(`${line}; load ${readFileSync("/proc/loadavg", "utf8").split(" ")[0]}`);
  child.kill("SIGTERM");
  await new Promise((done) => child.on("exit", done));
  rmSync(data, { recursive: true, force: true });
}
results.sort((a, b) => a - b);
console.log(`${S} series x ${P} points: median server CPU ${results[Math.floor(results.length / 2)].toFixed(2)} us/sample over ${rounds} rounds`);
