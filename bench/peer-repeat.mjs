// peerbench's own run (remote-write ingest, settle, verify, 19 queries x (1 warm-up + 5), fresh server each time)
// repeated against tsink-server alone, A/B alternated: per run the queries whose median is over 1.5x the faster
// peer's figure (bench/faster-peer.mjs), the sum of the medians, peak RSS, and with --trace-gc the query phase's GC
// pauses (bench/gc-trace.mjs); at the end, per query, in how many runs it was over. This is issue 5's per-query
// target in the regime it is measured in, where bench/server-query-spread.mjs (a settled data dir, no ingest) has
// neither the ingest's garbage nor the flush's.
// Usage: node bench/peer-repeat.mjs [--runs 3 --series 10000 --points 240 --port 19311 --server dist/server/main.js
//        --args="--flag" --b-server PATH --b-args="--flag" --trace-gc --out DIR]
import { spawnSync } from "node:child_process";
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync } from "node:fs";
import { loadavg, tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { FASTER_PEER_MS, LIMIT } from "./faster-peer.mjs";
import { describeGc, queryPhaseGc } from "./gc-trace.mjs";
import { root, SERVER_ENV, SERVER_NODE_ARGS, serverBenchArgs } from "./server-harness.mjs";

const opts = serverBenchArgs({
  about: "peerbench's full run against tsink-server alone, repeated (A/B alternated): queries over 1.5x of the faster peer per run.",
  defaults: { series: 10000, points: 240, port: 19311 },
  flags: {
    runs: { type: "string", default: 3, help: "peerbench runs per variant" },
    args: { type: "string", help: "extra node args of variant A, given with = (--args=--max-semi-space-size=8)" },
    "b-server": { type: "string", help: "variant B's server build (default: --server)" },
    "b-args": { type: "string", help: "extra node args of variant B" },
    "trace-gc": { type: "boolean", help: "run the servers with --trace-gc and print the query phase's GC pauses" },
    out: { type: "string", help: "keep peerbench's results and the server logs here (default: a temporary directory)" },
  },
});
const peerbench = resolve(opts.peerbench ?? join(root, "..", "shared", "tools", "peerbench"));
if (!existsSync(join(peerbench, "bench.mjs"))) {
  console.error(`peer-repeat.mjs: no peerbench at ${peerbench} (pass --peerbench DIR)`);
  process.exit(2);
}
const words = (s) => (s ? s.split(/\s+/).filter(Boolean) : []);
const variants = [{ name: "A", server: opts.server, args: words(opts.args) }];
if (opts["b-server"] || opts["b-args"]) variants.push({ name: "B", server: opts["b-server"] ? resolve(opts["b-server"]) : opts.server, args: words(opts["b-args"]) });
const out = opts.out ? resolve(opts.out) : mkdtempSync(join(tmpdir(), "tsink-peer-repeat-"));
const env = Object.entries(SERVER_ENV).map(([k, v]) => `${k}=${v}`).join(" ");

/** Runs peerbench once for variant `v`; returns its tsink result JSON. */
function peerbenchRun(v) {
  const dir = join(out, v.name);
  mkdirSync(dir, { recursive: true });
  const before = new Set(readdirSync(dir));
  const nodeArgs = [...SERVER_NODE_ARGS, ...(opts["trace-gc"] ? ["--trace-gc"] : []), ...v.args].join(" ");
  const cmd = `env ${env} node ${nodeArgs} ${v.server} --listen 127.0.0.1:{port} --data-path {dataDir}`;
  const r = spawnSync(process.execPath, [join(peerbench, "bench.mjs"), "--target", "", "--url", `http://127.0.0.1:${opts.port}`, "--name", "tsink",
    "--cmd", cmd, "--ready-path", "/ready", "--series", String(opts.series), "--points", String(opts.points), "--out", dir, "--tmp", join(out, "tmp")], { encoding: "utf8" });
  const made = readdirSync(dir).filter((f) => !before.has(f) && f.includes("-tsink-") && f.endsWith(".json"));
  if (r.status !== 0 || made.length !== 1) throw new Error(`peerbench failed (exit ${r.status}): ${(r.stderr || r.stdout).slice(-800)}`);
  return JSON.parse(readFileSync(join(dir, made[0]), "utf8"));
}

/** The faster-peer figures are for peerbench's 10k x 240 workload; other sizes get sums, RSS and GC only. */
const ref = opts.series === 10000 && opts.points === 240 ? FASTER_PEER_MS : undefined;
const overs = variants.map(() => new Map());
const sums = variants.map(() => []);
const runs = Number(opts.runs);
console.log(`${opts.series} series x ${opts.points} points; ${runs} peerbench runs per variant; ${ref ? `limit ${LIMIT}x the faster peer (bench/faster-peer.mjs)` : "no faster-peer figures at this size"}`);
for (let run = 1; run <= runs; run++) {
  for (const [vi, v] of variants.entries()) {
    const load = loadavg()[0];
    const j = peerbenchRun(v);
    const over = [];
    let sum = 0;
    for (const q of j.queries.queries ?? j.queries) {
      if (q.error) throw new Error(`${q.id}: ${q.error}`);
      sum += q.medianMs;
      if (ref && q.medianMs > ref[q.id] * LIMIT) {
        over.push(`${q.id} ${q.medianMs.toFixed(2)}/${ref[q.id]} [${q.ms.map((x) => x.toFixed(2)).join(" ")}]`);
        overs[vi].set(q.id, (overs[vi].get(q.id) ?? 0) + 1);
      }
    }
    sums[vi].push(sum);
    const gc = opts["trace-gc"] && j.logFile ? `; query phase: ${describeGc(queryPhaseGc(readFileSync(j.logFile, "utf8")))}` : "";
    console.log(`${v.name} run ${run} (load ${load.toFixed(1)}): sum ${sum.toFixed(1)} ms, peak RSS ${(j.memEnd.hwm / 2 ** 20).toFixed(0)} MiB, `
      + `ingest ${(j.ingest.samplesPerS / 1e6).toFixed(2)} M/s${gc}${ref ? `\n  over 1.5x: ${over.length ? over.join("; ") : "none"}` : ""}`);
  }
}
for (const [vi, v] of variants.entries()) {
  const total = [...overs[vi].values()].reduce((a, b) => a + b, 0);
  const list = [...overs[vi]].sort().map(([id, n]) => `${id} ${n}/${runs}`).join(", ");
  const overLine = ref ? `query-runs over 1.5x: ${total} of ${19 * runs}${list ? ` (${list})` : ""}; ` : "";
  console.log(`${v.name}: node ${[...SERVER_NODE_ARGS, ...v.args].join(" ")} ${v.server}\n  ${overLine}sums ${sums[vi].map((s) => s.toFixed(1)).join(" / ")} ms`);
}
if (!opts.out) rmSync(out, { recursive: true, force: true });
