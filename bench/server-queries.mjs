// Server query benchmark: peerbench's 19 dashboard queries against tsink-server over HTTP (same workload, same
// remote-write ingest), printing per query the median wall time and the server's own CPU time per run (from
// /proc/<pid>/stat: utime + stime, 10 ms ticks, averaged over the runs). CPU time stays meaningful when other
// processes load the machine, which wall time does not.
// Usage: node bench/server-queries.mjs [--series 10000 --points 240 --repeat 7 --settle 15 --port 19211
//        --server dist/server/main.js --profile DIR --only q01,q18]   (--server: another build of the server, e.g. for a before/after
//        run; --profile: the server writes a CPU profile into DIR when it exits)
//        --data DIR --end MS: query a copy of a data dir kept by bench/server-settle.mjs (settled data; MS: the end
//        of its workload, which server-settle prints) instead of ingesting
//        --trace-jit FILE: run the server with --trace-opt --trace-deopt into FILE and print per query the TurboFan
//        compiles that finished during its runs (count, compile ms as V8 reports them) and the deoptimisations: the JIT
//        work a new query shape causes (attribution is approximate: a concurrent compile may finish in the next query)
//        --trace-gc FILE: run the server with --trace-gc into FILE and print per query the scavenges and mark-compacts
//        during its 1 + R runs (count, pause ms as V8 reports them), and their totals over the query sequence
import { spawn } from "node:child_process";
import { appendFileSync, cpSync, mkdtempSync, openSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { loadPeerbench, remoteWrite, SERVER_ENV, SERVER_NODE_ARGS, serverBenchArgs, waitReady } from "./server-harness.mjs";

const opts = serverBenchArgs({
  about: "Server query benchmark: peerbench's 19 queries over HTTP after its remote-write ingest; per query the median wall time and server CPU.",
  defaults: { series: 10000, points: 240, port: 19211 },
  flags: {
    repeat: { type: "string", default: 7, help: "timed runs per query (after one warm-up)" },
    settle: { type: "string", default: 15, help: "seconds between ingest and queries" },
    only: { type: "string", help: "comma-separated query ids, e.g. q01,q18" },
    profile: { type: "string", help: "write the server's CPU profile (node --cpu-prof) into this directory" },
    data: { type: "string", help: "query a data dir kept by bench/server-settle.mjs instead of ingesting (needs --end)" },
    end: { type: "string", help: "with --data: the end (ms) of that data dir's workload" },
    "trace-jit": { type: "string", help: "write the server's JIT trace (--trace-opt --trace-deopt) to this file" },
    "trace-gc": { type: "string", help: "write the server's GC trace (--trace-gc) to this file; counts per query" },
  },
});
const pb = await loadPeerbench(opts.peerbench);
const { makeWorkload, queryList, queryWindow, visibleSeries, encodeAll, request, sleep } = pb;

const { series: S, points: P, port, server } = opts;
const repeat = Number(opts.repeat);
const settleS = Number(opts.settle);
const only = opts.only?.split(",");
const profileDir = opts.profile;
const base = `http://127.0.0.1:${port}`;

const kept = opts.data;
const wl = makeWorkload({ S, P, endMs: kept ? Number(opts.end) : Math.floor(Date.now() / 60_000) * 60_000 - 60_000 });
const dataDir = mkdtempSync(join(tmpdir(), "tsink-server-queries-"));
if (kept) cpSync(kept, dataDir, { recursive: true });
const traceJit = opts["trace-jit"];
const traceGc = opts["trace-gc"];
if (traceJit && traceGc) throw new Error("--trace-jit and --trace-gc: one at a time");
const traceFile = traceJit ?? traceGc;
if (traceFile) writeFileSync(traceFile, "");
const nodeArgs = [
  ...(profileDir ? ["--cpu-prof", `--cpu-prof-dir=${resolve(profileDir)}`] : []),
  ...(traceJit ? ["--trace-opt", "--trace-deopt"] : []),
  ...(traceGc ? ["--trace-gc"] : []),
];
// the runtime settings of `npm start` and the tsink-server shebang
const child = spawn(process.execPath, [...SERVER_NODE_ARGS, ...nodeArgs, server, "--listen", `127.0.0.1:${port}`, "--data-path", dataDir], {
  stdio: ["ignore", traceFile ? openSync(traceFile, "a") : "ignore", "ignore"],
  env: { ...process.env, ...SERVER_ENV },
});
const stat = () => {
  const f = readFileSync(`/proc/${child.pid}/stat`, "utf8").split(") ")[1].split(" ");
  return (Number(f[11]) + Number(f[12])) * 10; // clock ticks of 10 ms
};
const memory = () => {
  const s = readFileSync(`/proc/${child.pid}/status`, "utf8");
  const mib = (key) => Number(new RegExp(`${key}:\\s+(\\d+)`).exec(s)[1]) / 1024;
  return { rss: mib("VmRSS"), hwm: mib("VmHWM") };
};
try {
  await waitReady(pb, base);
  // ingest exactly as peerbench does: remote write, 4 concurrent senders, 5000 samples per request
  const bodies = kept ? [] : encodeAll(wl, { protocol: "remote_write", workers: 4, batch: 5000, perSeries: 1 });
  await remoteWrite(pb, base, bodies);
  while ((await visibleSeries(base, wl)) !== S) await sleep(200);
  await sleep(settleS * 1000); // let the flush put the data into segments, as in a peerbench run
  const afterIngest = memory();
  const idle0 = stat();
  await sleep(2000); // background work (flush, compaction) still running when the queries start shows up here
  console.log(`server CPU in the 2 s before the queries: ${stat() - idle0} ms`);
  const win = queryWindow(wl);
  /** TurboFan compiles finished and deoptimisations since this query's marker in the trace file. */
  const jitSince = (id) => {
    const text = readFileSync(traceJit, "latin1");
    const part = text.slice(text.lastIndexOf(`=== ${id}\n`));
    let compiles = 0;
    let ms = 0;
    for (const m of part.matchAll(/completed compiling .*? took [0-9.]+, ([0-9.]+), [0-9.]+ ms/g)) {
      compiles++;
      ms += Number(m[1]);
    }
    const deopts = (part.match(/bailout \(kind: /g) ?? []).length;
    return `   JIT: ${compiles} compiles ${ms.toFixed(0)} ms, ${deopts} deopts`;
  };
  /** Scavenges and mark-compacts since this query's marker in the trace file (counts and pause ms); totals kept. */
  const gcTotals = { scavenges: 0, scavengeMs: 0, markCompacts: 0, markCompactMs: 0 };
  const gcSince = (id) => {
    const text = readFileSync(traceGc, "latin1");
    const part = text.slice(text.lastIndexOf(`=== ${id}\n`));
    const g = { scavenges: 0, scavengeMs: 0, markCompacts: 0, markCompactMs: 0 };
    for (const m of part.matchAll(/ (Scavenge|Mark-Compact)\b[^\n]*? MB, ([0-9.]+) \/ [0-9.]+ ms/g)) {
      if (m[1] === "Scavenge") (g.scavenges++, (g.scavengeMs += Number(m[2])));
      else (g.markCompacts++, (g.markCompactMs += Number(m[2])));
    }
    for (const k of Object.keys(g)) gcTotals[k] += g[k];
    return `   GC: ${g.scavenges} scavenges ${g.scavengeMs.toFixed(1)} ms, ${g.markCompacts} mark-compacts ${g.markCompactMs.toFixed(1)} ms`;
  };
  const median = (xs) => xs.slice().sort((a, b) => a - b)[xs.length >> 1];
  let wallSum = 0;
  let cpuSum = 0;
  console.log(`${S} series x ${P} points; ${repeat} runs per query after one warm-up; server ${server}`);
  console.log("query   median wall ms   server CPU ms/run");
  for (const q of queryList(wl)) {
    if (only && !only.includes(q.id)) continue;
    if (traceFile) appendFileSync(traceFile, `=== ${q.id}\n`);
    const p = new URLSearchParams({ query: q.q });
    if (q.type === "range") for (const k of ["start", "end", "step"]) p.set(k, String(win[k]));
    else p.set("time", String(win.time));
    const url = `${base}/api/v1/${q.type === "range" ? "query_range" : "query"}?${p}`;
    const walls = [];
    let cpu = 0;
    let body = "";
    for (let k = 0; k <= repeat; k++) {
      const c0 = stat();
      const t0 = performance.now();
      const r = await request(url, { timeoutMs: 120_000 });
      const t1 = performance.now();
      await sleep(20); // let the server's GC threads finish before reading its CPU time
      if (k > 0) {
        walls.push(t1 - t0);
        cpu += stat() - c0;
      }
      body = r.body.toString();
    }
    const wall = median(walls);
    wallSum += wall;
    cpuSum += cpu / repeat;
    let check = "";
    if (q.expect !== undefined) {
      const got = Number(JSON.parse(body).data.result[0]?.value[1]);
      check = got === q.expect ? `  (count ok: ${got})` : `  (COUNT MISMATCH: expected ${q.expect}, got ${got})`;
    }
    console.log(`${q.id}     ${wall.toFixed(1).padStart(12)}   ${(cpu / repeat).toFixed(1).padStart(17)}${check}${traceJit ? jitSince(q.id) : ""}${traceGc ? gcSince(q.id) : ""}`);
  }
  const end = memory();
  console.log(`sum     ${wallSum.toFixed(1).padStart(12)}   ${cpuSum.toFixed(1).padStart(17)}`);
  if (traceGc) {
    const t = gcTotals;
    console.log(`GC during the queries: ${t.scavenges} scavenges (${t.scavengeMs.toFixed(1)} ms), ${t.markCompacts} mark-compacts (${t.markCompactMs.toFixed(1)} ms)`);
  }
  console.log(`server RSS after ingest ${afterIngest.rss.toFixed(0)} MiB, after queries ${end.rss.toFixed(0)} MiB, peak ${end.hwm.toFixed(0)} MiB`);
} finally {
  if (child.exitCode === null) {
    const exited = new Promise((r) => child.once("exit", r));
    child.kill("SIGTERM");
    await exited;
  }
  rmSync(dataDir, { recursive: true, force: true });
}
