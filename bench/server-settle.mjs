// Background work after an ingest burst: ingests peerbench's workload into a fresh tsink-server by remote write (as
// peerbench does), then once a second prints the server's CPU time in that second (/proc/<pid>/stat, 10 ms ticks),
// flush runs, segments per level and compaction passes, until --secs have passed. Shows how long flush and
// compaction of the just-ingested data keep running into a query phase.
// Usage: node bench/server-settle.mjs [--series 100000 --points 60 --secs 60 --port 19211 --server dist/server/main.js
//        --keep DIR]   (--keep: the data dir to use and keep, e.g. for `server-queries.mjs --data DIR --end MS`)
// TSINK_PEERBENCH_LIB: peerbench's lib directory in a copy with its node_modules installed (as for server-queries).
import { spawn } from "node:child_process";
import { mkdirSync, mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { loadPeerbench, remoteWrite, SERVER_ENV, SERVER_NODE_ARGS, serverBenchArgs, waitReady } from "./server-harness.mjs";

const opts = serverBenchArgs({
  about: "Background work after an ingest burst: the server's CPU time per second for --secs seconds after peerbench's remote-write ingest.",
  defaults: { series: 100000, points: 60, port: 19211 },
  flags: {
    secs: { type: "string", default: 60, help: "seconds to watch after the ingest" },
    keep: { type: "string", help: "keep the settled data dir here (for bench/server-latency.mjs --data)" },
  },
});
const pb = await loadPeerbench(opts.peerbench);
const { makeWorkload, visibleSeries, encodeAll, request, sleep } = pb;

const { series: S, points: P, port, server } = opts;
const secs = Number(opts.secs);
const keep = opts.keep;
const base = `http://127.0.0.1:${port}`;

const wl = makeWorkload({ S, P, endMs: Math.floor(Date.now() / 60_000) * 60_000 - 60_000 });
const bodies = encodeAll(wl, { protocol: "remote_write", workers: 4, batch: 5000, perSeries: 1 });
if (keep) mkdirSync(keep, { recursive: true });
const dataDir = keep ?? mkdtempSync(join(tmpdir(), "tsink-server-settle-"));
// the runtime settings of `npm start` and the tsink-server shebang
const child = spawn(process.execPath, [...SERVER_NODE_ARGS, server, "--listen", `127.0.0.1:${port}`, "--data-path", dataDir], {
  stdio: "ignore",
  env: { ...process.env, ...SERVER_ENV },
});
const stat = () => {
  const f = readFileSync(`/proc/${child.pid}/stat`, "utf8").split(") ")[1].split(" ");
  return (Number(f[11]) + Number(f[12])) * 10;
};
try {
  await waitReady(pb, base);
  const t0 = performance.now();
  const c0 = stat();
  await remoteWrite(pb, base, bodies);
  console.log(`${S} series x ${P} points ingested in ${((performance.now() - t0) / 1000).toFixed(1)} s, server CPU ${stat() - c0} ms; workload end ${wl.tEnd}`);
  while ((await visibleSeries(base, wl)) !== S) await sleep(200);
  const visible = performance.now();
  let previous = stat();
  let busy = 0;
  console.log("after visible   server CPU ms   flushes  segments L0/L1/L2  compaction passes merged");
  for (let i = 0; i < secs; i++) {
    await sleep(1000);
    const text = (await request(`${base}/metrics`)).body.toString();
    const value = (name) => Number(text.split("\n").find((l) => l.startsWith(`${name} `))?.split(" ")[1] ?? NaN);
    const levels = [0, 1, 2].map((l) => value(`tsink_segments_by_level{index="${l}"}`)).join("/");
    const cpu = stat() - previous;
    previous += cpu;
    busy += cpu;
    const at = ((performance.now() - visible) / 1000).toFixed(1);
    console.log(`+${at} s`.padEnd(16) + `${cpu}`.padStart(13) + `${value("tsink_flush_runs")}`.padStart(11) + levels.padStart(19) + `${value("tsink_compaction_success")}`.padStart(26));
  }
  console.log(`server CPU after the data was visible: ${busy} ms in ${secs} s`);
} finally {
  const exited = new Promise((r) => child.once("exit", r));
  child.kill("SIGTERM");
  await exited;
  if (!keep) rmSync(dataDir, { recursive: true, force: true });
}
