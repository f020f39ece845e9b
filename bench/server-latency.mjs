// Small-query latency over HTTP: per round, a fresh tsink-server on a copy of a settled data dir (kept by
// bench/server-settle.mjs) runs peerbench's 19 queries in peerbench's order, each 1 + 5 times (peerbench's count,
// back to back as peerbench sends them), and keeps for the --only queries the median of the 5 timed runs: wall time
// and the CPU time of the server's main thread per request (/proc/<pid>/task/<pid>/schedstat, in ns: unlike wall time
// it hardly moves with the load of a shared machine; JIT compiles and GC helpers run on other threads and are
// reported apart, as all threads' CPU); then each --only query runs --warm more times (the same figures, warm).
// Prints per query the median and p90 over rounds. With --b-server, each round runs A and B (alternating which goes
// first) on fresh servers and the script also prints, per query, the median over rounds of A's cold CPU minus B's and
// in how many rounds A's was lower: the pairing takes the machine's load drift out of the comparison.
// Usage: node bench/server-latency.mjs --data DIR --end MS [--series 10000 --points 240 --rounds 9 --warm 300
//        --only q07,q16 --port 19221 --server dist/server/main.js --b-server OTHER_BUILD]
// TSINK_PEERBENCH_LIB: peerbench's lib directory in a copy with its node_modules installed (as for server-queries).
import { cpSync, mkdtempSync, rmSync } from "node:fs";
import { loadavg, tmpdir } from "node:os";
import { join } from "node:path";
import { loadPeerbench, serverBenchArgs, serverCpuNs, startServer, stopServer } from "./server-harness.mjs";

const opts = serverBenchArgs({
  about: "Small-query latency over HTTP on a settled data dir (kept by bench/server-settle.mjs --keep): wall and server CPU time per query.",
  defaults: { series: 10000, points: 240, port: 19221 },
  flags: {
    data: { type: "string", help: "the data dir kept by bench/server-settle.mjs (required)" },
    end: { type: "string", help: "the end (ms) of that data dir's workload, as server-settle printed it (required)" },
    rounds: { type: "string", default: 9, help: "fresh servers, one round each" },
    warm: { type: "string", default: 300, help: "warm runs per --only query after the round's first pass" },
    only: { type: "string", default: "q07,q16", help: "the queries whose latency is reported" },
    "b-server": { type: "string", help: "variant B's server build: A and B alternate within each round, differences paired by round" },
  },
});
const pb = await loadPeerbench(opts.peerbench);
const { makeWorkload, queryList, queryWindow, request } = pb;

const { series: S, points: P, port, server } = opts;
const rounds = Number(opts.rounds);
const warm = Number(opts.warm);
const only = opts.only.split(",");
const data = opts.data;
if (!data || !opts.end) throw new Error("--data DIR --end MS: a data dir kept by bench/server-settle.mjs and its workload end (see --help)");
const base = `http://127.0.0.1:${port}`;
const wl = makeWorkload({ S: 1, P, endMs: Number(opts.end) }); // only the time window matters here
const win = queryWindow({ ...wl, S });
const urls = queryList({ ...wl, S, series: [] }).map((q) => {
  const p = new URLSearchParams({ query: q.q });
  if (q.type === "range") for (const k of ["start", "end", "step"]) p.set(k, String(win[k]));
  else p.set("time", String(win.time));
  return { id: q.id, url: `${base}/api/v1/${q.type === "range" ? "query_range" : "query"}?${p}` };
});

const median = (xs) => xs.slice().sort((a, b) => a - b)[xs.length >> 1];
const p90 = (xs) => xs.slice().sort((a, b) => a - b)[Math.min(xs.length - 1, Math.floor(xs.length * 0.9))];
const variants = opts["b-server"] ? [["A", server], ["B", opts["b-server"]]] : [["A", server]];
/** Per variant, per --only query and figure (cold/warm x wall/main/all), one list of values (one per round for cold). */
const newFigures = () => new Map(only.map((id) => [id, { coldWall: [], coldMain: [], coldAll: [], warmWall: [], warmMain: [], warmAll: [] }]));
const figuresOf = new Map(variants.map(([name]) => [name, newFigures()]));
const loads = [];

/** One request: wall ms and server CPU ms (main thread, all threads). */
async function timed(pid, id, url) {
  const c0 = serverCpuNs(pid);
  const r = await request(url, { timeoutMs: 120_000 });
  const c1 = serverCpuNs(pid);
  if (r.status !== 200) throw new Error(`${id}: HTTP ${r.status} ${r.body.toString().slice(0, 200)}`);
  return { wall: r.ms, main: (c1.main - c0.main) / 1e6, all: (c1.all - c0.all) / 1e6 };
}

/** One fresh server of a build: the 19 queries 1 + 5 times each, then the --only queries --warm times. */
async function runRound(build, figures) {
  const dataDir = mkdtempSync(join(tmpdir(), "tsink-server-latency-"));
  cpSync(data, dataDir, { recursive: true });
  const child = await startServer(pb, { server: build, port, dataDir });
  try {
    for (const { id, url } of urls) {
      const runs = [];
      for (let k = 0; k < 6; k++) runs.push(await timed(child.pid, id, url));
      const f = figures.get(id);
      if (!f) continue;
      const timedRuns = runs.slice(1);
      f.coldWall.push(median(timedRuns.map((r) => r.wall)));
      f.coldMain.push(median(timedRuns.map((r) => r.main)));
      f.coldAll.push(median(timedRuns.map((r) => r.all)));
    }
    for (const { id, url } of urls) {
      const f = figures.get(id);
      if (!f) continue;
      for (let k = 0; k < warm; k++) {
        const r = await timed(child.pid, id, url);
        f.warmWall.push(r.wall);
        f.warmMain.push(r.main);
        f.warmAll.push(r.all);
      }
    }
  } finally {
    await stopServer(child);
    rmSync(dataDir, { recursive: true, force: true });
  }
}

for (let round = 0; round < rounds; round++) {
  loads.push(loadavg()[0]);
  const order = round % 2 === 0 ? variants : [...variants].reverse();
  for (const [name, build] of order) await runRound(build, figuresOf.get(name));
}
const fmt = (xs) => `${median(xs).toFixed(2)} / ${p90(xs).toFixed(2)}`.padStart(14);
console.log(`${S} series x ${P} points; ${rounds} rounds (fresh server each), ${warm} warm runs per query and round`);
console.log(`load average (1 min) at each round's start: ${loads.map((l) => l.toFixed(1)).join(" ")}`);
for (const [name, build] of variants) {
  if (variants.length > 1) console.log(`\n${name}: ${build}`);
  else console.log(`server ${build}`);
  console.log("peerbench-style (median of runs 2-6 per round), then warm (every run); median / p90 over them, ms");
  console.log("query   cold wall      cold CPU main  cold CPU all   warm wall      warm CPU main  warm CPU all");
  for (const [id, f] of figuresOf.get(name)) {
    console.log(`${id}  ${[f.coldWall, f.coldMain, f.coldAll, f.warmWall, f.warmMain, f.warmAll].map(fmt).join(" ")}`);
  }
}
if (variants.length > 1) {
  console.log("\ncold CPU main, A - B paired by round: median of the differences (ms), rounds where A was lower");
  const a = figuresOf.get("A");
  const b = figuresOf.get("B");
  const meanOf = (figures, r) => only.reduce((sum, id) => sum + figures.get(id).coldMain[r], 0) / only.length;
  for (const id of only) {
    const d = a.get(id).coldMain.map((x, r) => x - b.get(id).coldMain[r]);
    console.log(`${id}  ${median(d).toFixed(3).padStart(7)}  ${d.filter((x) => x < 0).length} of ${rounds}`);
  }
  const d = Array.from({ length: rounds }, (_, r) => meanOf(a, r) - meanOf(b, r));
  console.log(`mean of the --only queries  ${median(d).toFixed(3).padStart(7)}  ${d.filter((x) => x < 0).length} of ${rounds}`);
}
