// Run-to-run spread of peerbench's query medians: N fresh tsink-server starts on copies of one settled 10k x 240 data
// dir, each running peerbench's own `runQueries` (same 19 queries, same order, 1 warm-up + 5 timed runs, median), and
// per query: the median of the N per-run medians, the worst per-run median, and in how many runs the median was over
// 1.5x of the faster peer's figure. Servers run with the runtime settings of `npm start` (bench/peers.sh), plus extra
// node args / env per variant; with a B variant, A and B runs alternate (A B A B ...), so load drifts hit both alike.
// Usage: node bench/server-query-spread.mjs [--data DIR --end MS] [--series 10000 --points 240 --runs 8 --port 19211
//        --server dist/server/main.js --args=--trace-gc --env K=V,K2=V2
//        --b-server PATH --b-args="--flag --flag2" --b-env ... --ref FILE.json --json OUT.json]   (node args with "=")
//   --data DIR --end MS: a data dir kept by `bench/server-settle.mjs --keep DIR` and its workload end; without them the
//     workload is ingested once by remote write (peerbench's C=4, B=5000) into a fresh server, which is then stopped.
//   --ref FILE.json: {"q01": ms, ...} faster-peer figures replacing the ones of bench/faster-peer.mjs.
//   --out DIR: the servers' stdout and stderr go to DIR/run-<n>-<variant>.log, with a line "=== end qNN" written after
//     each query's 6 runs (for --args=--trace-gc or --args="--trace-opt --trace-deopt").
// Also prints per query the server CPU of its 6 runs (all threads, /proc/<pid>/task/*/schedstat), median over runs.
import { appendFileSync, cpSync, mkdirSync, mkdtempSync, openSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { loadavg, tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { FASTER_PEER_MS, LIMIT } from "./faster-peer.mjs";
import { loadPeerbench, remoteWrite, SERVER_NODE_ARGS, serverBenchArgs, serverCpuNs, startServer, stopServer } from "./server-harness.mjs";

const opts = serverBenchArgs({
  about: "Run-to-run spread of peerbench's query medians over fresh servers on one settled data dir, A/B alternated.",
  defaults: { series: 10000, points: 240, port: 19211 },
  flags: {
    data: { type: "string", help: "a data dir kept by bench/server-settle.mjs --keep (else one ingest first)" },
    end: { type: "string", help: "the end (ms) of that data dir's workload, as server-settle printed it" },
    runs: { type: "string", default: 8, help: "fresh-server runs per variant" },
    args: { type: "string", help: "extra node args of variant A, given with = (--args=--trace-gc)" },
    env: { type: "string", help: "extra env of variant A, K=V,K2=V2" },
    "b-server": { type: "string", help: "variant B's server build (default: --server)" },
    "b-args": { type: "string", help: "extra node args of variant B" },
    "b-env": { type: "string", help: "extra env of variant B" },
    ref: { type: "string", help: "JSON file {\"q01\": ms, ...} replacing the built-in faster-peer figures" },
    out: { type: "string", help: "directory for each server's output, with '=== end qNN' after each query" },
    json: { type: "string", help: "write the per-run figures to this JSON file" },
  },
});
const pb = await loadPeerbench(opts.peerbench);
const { makeWorkload, encodeAll, visibleSeries, verifySamples, runQueries, sleep } = pb;


const { series: S, points: P, port } = opts;
const runs = Number(opts.runs);
const ref = opts.ref ? { ...FASTER_PEER_MS, ...JSON.parse(readFileSync(opts.ref, "utf8")) } : FASTER_PEER_MS;
const base = `http://127.0.0.1:${port}`;
const outDir = opts.out;
if (outDir) mkdirSync(outDir, { recursive: true });
const words = (s) => (s ? s.split(/\s+/).filter(Boolean) : []);
const envOf = (s) => Object.fromEntries((s ? s.split(",") : []).map((kv) => [kv.slice(0, kv.indexOf("=")), kv.slice(kv.indexOf("=") + 1)]));
const variants = [{ name: "A", server: opts.server, args: words(opts.args), env: envOf(opts.env) }];
if (opts["b-server"] || opts["b-args"] || opts["b-env"]) {
  variants.push({ name: "B", server: opts["b-server"] ? resolve(opts["b-server"]) : opts.server, args: words(opts["b-args"]), env: envOf(opts["b-env"]) });
}

/** Starts a variant's server on `dataDir` (its output appended to `log` when given); resolves once ready. */
function start(v, dataDir, log) {
  return startServer(pb, { server: v.server, port, dataDir, nodeArgs: v.args, env: v.env, stdio: log ? openSync(log, "a") : "ignore" });
}
/** CPU ms of all the server's threads so far. */
const cpuMs = (pid) => serverCpuNs(pid).all / 1e6;

let data = opts.data;
let endMs = Number(opts.end);
const scratch = mkdtempSync(join(tmpdir(), "tsink-query-spread-"));
try {
  if (!data) {
    endMs = Math.floor(Date.now() / 60_000) * 60_000 - 60_000;
    const wl = makeWorkload({ S, P, endMs });
    data = join(scratch, "data");
    const child = await start(variants[0], data);
    try {
      await remoteWrite(pb, base, encodeAll(wl, { protocol: "remote_write", workers: 4, batch: 5000, perSeries: 1 }));
      while ((await visibleSeries(base, wl)) !== S) await sleep(200);
      await sleep(8000); // the idle flush and its settle pass (peerbench waits for an unchanged data dir)
    } finally {
      await stopServer(child);
    }
  }
  const wl = makeWorkload({ S, P, endMs });
  /** Per variant and query: the per-run medians and CPU ms of the 6 runs. */
  const results = variants.map(() => new Map());
  const loads = variants.map(() => []);
  for (let run = 0; run < runs; run++) {
    for (const [vi, v] of variants.entries()) {
      const dataDir = join(scratch, `run-${run}-${v.name}`);
      cpSync(data, dataDir, { recursive: true });
      const log = outDir ? join(outDir, `run-${run + 1}-${v.name}.log`) : undefined;
      if (log) writeFileSync(log, "");
      const child = await start(v, dataDir, log);
      try {
        // peerbench's sequence after its settle: the visible count, the sample check, then the timed queries
        if ((await visibleSeries(base, wl)) !== S) throw new Error("not all series visible");
        const verify = await verifySamples(base, wl);
        if (!verify.ok) throw new Error(`sample check failed: ${JSON.stringify(verify.mismatchedMetrics)}`);
        loads[vi].push(loadavg()[0]);
        let cpu0 = cpuMs(child.pid);
        const cpu = new Map();
        const { queries } = await runQueries(base, wl, {
          log: (line) => {
            const id = /q\d\d/.exec(line)[0];
            const now = cpuMs(child.pid);
            cpu.set(id, now - cpu0);
            cpu0 = now;
            if (log) appendFileSync(log, `=== end ${id}\n`);
          },
        });
        for (const q of queries) {
          if (q.error) throw new Error(`${q.id}: ${q.error}`);
          const r = results[vi].get(q.id) ?? { medians: [], ms: [], cpu: [] };
          r.medians.push(q.medianMs);
          r.ms.push(q.ms);
          r.cpu.push(cpu.get(q.id));
          results[vi].set(q.id, r);
        }
        process.stderr.write(`run ${run + 1}/${runs} ${v.name}: sum of medians ${queries.reduce((a, q) => a + q.medianMs, 0).toFixed(1)} ms\n`);
      } finally {
        await stopServer(child);
        rmSync(dataDir, { recursive: true, force: true });
      }
    }
  }

  const median = (xs) => {
    const s = xs.slice().sort((a, b) => a - b);
    return s.length % 2 ? s[s.length >> 1] : (s[s.length / 2 - 1] + s[s.length / 2]) / 2;
  };
  console.log(`${S} series x ${P} points; ${runs} fresh-server runs per variant, each peerbench's runQueries (1 + 5 per query)`);
  for (const [vi, v] of variants.entries()) {
    const env = Object.entries(v.env).map(([k, x]) => `${k}=${x}`).join(" ");
    console.log(`\n${v.name}: ${env ? `env ${env} ` : ""}node ${SERVER_NODE_ARGS.join(" ")} ${v.args.join(" ")} ${v.server}`.replace(/ +/g, " "));
    console.log(`load average (1 min) at each run's queries: ${loads[vi].map((l) => l.toFixed(1)).join(" ")}`);
    console.log("query  peer ms  limit   median of runs  worst   runs over 1.5x   CPU ms of 6 runs (median)");
    let sum = 0;
    let cpuSum = 0;
    let over = 0;
    let overRuns = 0;
    for (const [id, r] of results[vi]) {
      const limit = ref[id] * LIMIT;
      const n = r.medians.filter((m) => m > limit).length;
      sum += median(r.medians);
      cpuSum += median(r.cpu);
      overRuns += n;
      if (n > 0) over++;
      console.log(
        `${id}  ${ref[id].toFixed(1).padStart(7)} ${limit.toFixed(2).padStart(6)} ${median(r.medians).toFixed(2).padStart(16)} ${Math.max(...r.medians).toFixed(2).padStart(6)} ${`${n}/${r.medians.length}`.padStart(16)} ${median(r.cpu).toFixed(1).padStart(27)}`,
      );
    }
    console.log(`sums: medians of runs ${sum.toFixed(1)} ms, CPU ${cpuSum.toFixed(0)} ms; queries over 1.5x in some run: ${over}; query-runs over 1.5x: ${overRuns} of ${results[vi].size * runs}`);
  }
  const out = opts.json;
  if (out) writeFileSync(out, JSON.stringify(variants.map((v, vi) => ({ ...v, loads: loads[vi], queries: Object.fromEntries(results[vi]) })), null, 1));
} finally {
  rmSync(scratch, { recursive: true, force: true });
}
