// Server memory benchmark: peerbench's phases against tsink-server alone (remote-write ingest C=4 B=5000, wait until
// all series are visible, settle, verify, the 19 queries), printing the server's RSS and peak RSS (VmHWM) after each
// phase and its CPU per ingested sample; `--server` points at another build for an A/B run. Runs the server with the
// runtime settings of `npm start` (server-harness.mjs SERVER_NODE_ARGS, SERVER_ENV). Encoded request bodies are cached
// in the temp dir per workload size (encoding 100k series takes minutes on the shared machine).
// `--trace FILE` preloads bench/memory-trace.mjs into the server (a memory sample every 100 ms) and prints, per phase,
// the largest RSS sample split into file-backed, V8 heap, ArrayBuffers, resident WASM memory and other anonymous memory.
// Usage: node bench/server-memory.mjs [--series 10000 --points 240 --repeat 5 --settle 5 --port 19261
//        --server dist/server/main.js --no-verify --trace FILE --peerbench DIR]   (--peerbench: a copy of
//        ../shared/tools/peerbench with its node_modules installed, when the shared one has none)
import { spawn } from "node:child_process";
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { loadPeerbench, remoteWrite, root, SERVER_ENV, SERVER_NODE_ARGS, serverBenchArgs, waitReady } from "./server-harness.mjs";

const opts = serverBenchArgs({
  about: "Server memory over peerbench's phases (ingest, settle, verify, the 19 queries): RSS and peak RSS after each.",
  defaults: { series: 10000, points: 240, port: 19261 },
  flags: {
    repeat: { type: "string", default: 5, help: "runs of each query" },
    settle: { type: "string", default: 5, help: "seconds between ingest and queries" },
    "no-verify": { type: "boolean", help: "skip the check that every series is visible" },
    trace: { type: "string", help: "write a memory trace (bench/memory-trace.mjs, one JSON line per 100 ms) to this file" },
  },
});
const pb = await loadPeerbench(opts.peerbench);
const { makeWorkload, encodeAll, runQueries, verifySamples, visibleSeries, request, sleep, procMem, procCpuSeconds } = pb;

const { series: S, points: P, port, server } = opts;
const repeat = Number(opts.repeat);
const settleS = Number(opts.settle);
const base = `http://127.0.0.1:${port}`;

// request bodies: encoded once per workload size, then replayed (the workload's timestamps are kept with them)
const cache = join(tmpdir(), `tsink-server-memory-S${S}-P${P}`);
let wl;
let bodies;
if (existsSync(`${cache}.json`)) {
  const meta = JSON.parse(readFileSync(`${cache}.json`, "utf8"));
  const all = readFileSync(`${cache}.bin`);
  wl = makeWorkload({ S, P, endMs: meta.endMs });
  bodies = meta.workers.map((reqs) => reqs.map(([at, length, samples]) => ({ body: all.subarray(at, at + length), samples })));
} else {
  const endMs = Math.floor(Date.now() / 60_000) * 60_000 - 60_000;
  wl = makeWorkload({ S, P, endMs });
  bodies = encodeAll(wl, { protocol: "remote_write", workers: 4, batch: 5000, perSeries: 1 });
  const parts = [];
  let at = 0;
  const workers = bodies.map((reqs) => reqs.map((r) => {
    parts.push(r.body);
    at += r.body.length;
    return [at - r.body.length, r.body.length, r.samples];
  }));
  writeFileSync(`${cache}.bin`, Buffer.concat(parts));
  writeFileSync(`${cache}.json`, JSON.stringify({ endMs, workers }));
}

const trace = opts.trace;
const dataDir = mkdtempSync(join(tmpdir(), "tsink-server-memory-"));
const preload = trace ? ["--import", join(root, "bench", "memory-trace.mjs")] : [];
const child = spawn(process.execPath, [...SERVER_NODE_ARGS, ...preload, server, "--listen", `127.0.0.1:${port}`, "--data-path", dataDir], {
  stdio: "ignore", env: { ...process.env, ...SERVER_ENV, ...(trace ? { TSINK_MEMORY_TRACE: resolve(trace) } : {}) },
});
const mib = (bytes) => (bytes / 1048576).toFixed(1);
const phases = [];
const phase = (label) => {
  const m = procMem(child.pid);
  phases.push({ label, t: Date.now() });
  console.log(`${label.padEnd(14)} RSS ${mib(m.rss).padStart(6)} MiB  peak ${mib(m.hwm).padStart(6)} MiB  server CPU ${procCpuSeconds(child.pid).toFixed(2)} s`);
};
/** Per phase, the trace sample with the largest RSS, split by kind (V8 heap, ArrayBuffers, WASM, rest of RSS). */
const printTrace = () => {
  const samples = readFileSync(resolve(trace), "utf8").trim().split("\n").map((l) => JSON.parse(l));
  let from = 0;
  for (const { label, t } of phases) {
    const inPhase = samples.filter((s) => s.t > from && s.t <= t);
    from = t;
    if (inPhase.length === 0) continue;
    const s = inPhase.reduce((a, b) => (b.rss > a.rss ? b : a));
    const other = s.anon - s.heapTotal - s.arrayBuffers - s.wasmRss;
    console.log(`  max in ${label.padEnd(14)} RSS ${mib(s.rss)} = file ${mib(s.fileRss)} + heap ${mib(s.heapTotal)} (used ${mib(s.heapUsed)}) + ArrayBuffers ${mib(s.arrayBuffers)} + WASM ${mib(s.wasmRss)} resident of ${mib(s.wasm)} + other anon ${mib(other)} MiB, at +${((s.t - phases[0].t) / 1000).toFixed(1)} s`);
  }
};
try {
  await waitReady(pb, base);
  phase("idle");
  const cpu0 = procCpuSeconds(child.pid);
  const samples = await remoteWrite(pb, base, bodies);
  const ingestCpu = procCpuSeconds(child.pid) - cpu0;
  phase("after ingest");
  while ((await visibleSeries(base, wl).catch(() => null)) !== S) await sleep(250);
  phase("visible");
  await sleep(settleS * 1000);
  phase("settled");
  if (!opts["no-verify"]) {
    const v = await verifySamples(base, wl);
    if (!v.ok) throw new Error(`verify: ${v.samples} of ${v.expected} samples visible`);
    phase("after verify");
  }
  const q = await runQueries(base, wl, { repeat, warmup: 1 });
  phase("after queries");
  const sum = q.queries.reduce((a, x) => a + x.medianMs, 0);
  console.log(`ingest CPU ${(ingestCpu * 1e6 / samples).toFixed(2)} us/sample, peak RSS ${mib(procMem(child.pid).hwm)} MiB, sum of query medians ${sum.toFixed(1)} ms`);
  if (trace) printTrace();
} finally {
  child.kill("SIGTERM");
  await new Promise((r) => child.on("exit", r));
  rmSync(dataDir, { recursive: true, force: true });
}
