// PromQL benchmark: peerbench's 19 dashboard queries over its synthetic workload (10k series x 240 points by
// default), through the library API (PromqlEngine over an in-memory tsink storage). Prints per-query medians of
// wall time, of the storage-read part, and of process CPU time (steadier than wall time on a shared machine).
// Usage: npm run bench:promql [-- --series N --points P --repeat R --only q01,q18 --disk --server --alloc [--top K]]
// --disk: load into a storage with a data directory, close and reopen it, so the queries read segments (as the server
// does once its flush has run) instead of sealed chunks in memory.
// --server: the server's query path without HTTP: the tenant-scoped source (src/server/tenancy.ts) and the response
// body written by src/server/prometheus-json.ts (given back to its pool after, as the query route does once the
// response is written), timed and counted with the query.
// --alloc: after the timed runs, R more runs under V8's sampling heap profiler (objects later collected by minor and
// major GCs included, 256-byte sampling interval): JS heap bytes allocated per query and its top K allocation sites
// (function and file; a builtin with its caller). ArrayBuffer backing stores (Buffers, typed arrays over 64 bytes) live
// outside the JS heap: counted apart, as the growth of process.memoryUsage().arrayBuffers over one run that starts
// after a full GC (the process re-runs itself with --expose-gc and 64 MiB semi-spaces, so no GC frees any during a run).
import { spawnSync } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import { Session } from "node:inspector/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { StorageBuilder } from "../src/index.js";
import { PromqlEngine } from "../src/promql/engine.js";
import type { QueryResult } from "../src/promql/result.js";
import type { SeriesSource } from "../src/promql/source.js";
import { querySuccessBody, recycleBody } from "../src/server/prometheus-json.js";
import { TenantSeriesSource } from "../src/server/tenancy.js";
import { benchArgs } from "./cli.mjs";
import { insertWorkload } from "./load-workload.js";
import { importPeerbench, type MakeWorkload, PEERBENCH_ENV, PEERBENCH_FLAG, WORKLOAD_FLAGS, type PeerbenchWorkload as Workload } from "./peerbench.mjs";

interface QueryDef {
  id: string;
  type: "range" | "instant";
  q: string;
  expect?: number;
}

const { values: opts } = benchArgs({
  about: "peerbench's 19 dashboard queries through the library (PromqlEngine over an in-memory storage): per query the median wall, read and CPU time.",
  flags: {
    ...WORKLOAD_FLAGS,
    repeat: { type: "string", default: 5, help: "timed runs per query" },
    only: { type: "string", help: "comma-separated query ids, e.g. q01,q18" },
    disk: { type: "boolean", help: "load into a storage with a data dir, close and reopen it, so queries read segments" },
    server: { type: "boolean", help: "the server's path without HTTP: tenant-scoped source and JSON response body" },
    alloc: { type: "boolean", help: "also JS heap bytes (sampled) and ArrayBuffer bytes allocated per query, with the top sites" },
    top: { type: "string", default: 6, help: "with --alloc: allocation sites listed per query" },
    peerbench: PEERBENCH_FLAG,
  },
  env: PEERBENCH_ENV,
});
const S = Number(opts.series);
const P = Number(opts.points);
const repeat = Number(opts.repeat);
const only = opts.only === undefined ? undefined : new Set(opts.only.split(","));
const serverPath = opts.server === true;
const alloc = opts.alloc === true;
const top = Number(opts.top);
const gc = (globalThis as { gc?: () => void }).gc;
if (alloc && gc === undefined) {
  const flags = ["--expose-gc", "--min-semi-space-size=64", "--max-semi-space-size=64", ...process.execArgv];
  process.exit(spawnSync(process.execPath, [...flags, ...process.argv.slice(1)], { stdio: "inherit" }).status ?? 1);
}

const { makeWorkload, queryList, queryWindow } = (await importPeerbench(opts.peerbench, "workload.mjs", "queries.mjs")) as {
  makeWorkload: MakeWorkload;
  queryList(wl: Workload): QueryDef[];
  queryWindow(wl: Workload): { start: number; end: number; step: number; time: number };
};

const endMs = Math.floor(Date.now() / 15_000) * 15_000;
const wl = makeWorkload({ S, P, endMs });
const disk = opts.disk;
const dataDir = disk ? mkdtempSync(join(tmpdir(), "tsink-bench-promql-")) : undefined;
const open = () => {
  const builder = new StorageBuilder().withTimestampPrecision("ms");
  return dataDir === undefined ? builder.build() : builder.withDataPath(dataDir).build();
};
let storage = await open();
const loadStart = performance.now();
await insertWorkload(storage, wl);
if (disk) {
  await storage.close(); // flushes everything into segments
  storage = await open();
}
console.log(`loaded ${wl.S} series x ${wl.P} points in ${((performance.now() - loadStart) / 1000).toFixed(1)} s${disk ? " (reading segments)" : ""}`);

// Times the storage reads separately so the table shows how a query's latency splits between storage and PromQL.
let selectMs = 0;
// The default tenant also reads series without the tenant label, so the same data serves both paths.
const inner: SeriesSource = serverPath ? new TenantSeriesSource(storage, "default", "ms") : storage;
const timedSource: SeriesSource = {
  async selectColumns(selection, start, end) {
    const t0 = performance.now();
    const rows = await inner.selectColumns(selection, start, end);
    selectMs += performance.now() - t0;
    return rows;
  },
  // Range functions read through this (batches in WASM memory); the timing includes their kernels.
  async selectBatches(selection, start, end, maxPoints, onBatch) {
    const t0 = performance.now();
    const ok = await inner.selectBatches!(selection, start, end, maxPoints, onBatch);
    selectMs += performance.now() - t0;
    return ok;
  },
};
const engine = new PromqlEngine(timedSource);
const win = queryWindow(wl);
const median = (xs: number[]) => {
  const s = xs.slice().sort((a, b) => a - b);
  return s.length % 2 ? s[(s.length - 1) >> 1] : (s[s.length / 2 - 1] + s[s.length / 2]) / 2;
};
const shape = (r: QueryResult) => {
  if (r.resultType === "matrix") return { series: r.result.length, points: r.result.reduce((a, s) => a + s.values.length, 0) };
  if (r.resultType === "vector") return { series: r.result.length, points: r.result.length };
  return { series: 1, points: 1 };
};

// Sampled allocations of the runs between start and stop: total bytes and the top sites by self bytes.
interface HeapNode { callFrame: { functionName: string; url: string; lineNumber: number }; selfSize: number; children: HeapNode[] }
const session = new Session();
if (alloc) session.connect();
async function sampledAllocations(runs: number, body: () => Promise<unknown>): Promise<{ perRun: number; sites: [string, number][] }> {
  await session.post("HeapProfiler.startSampling", { samplingInterval: 256, includeObjectsCollectedByMajorGC: true, includeObjectsCollectedByMinorGC: true });
  for (let k = 0; k < runs; k++) await body();
  const { profile } = (await session.post("HeapProfiler.stopSampling")) as unknown as { profile: { head: HeapNode } };
  const bySite = new Map<string, number>();
  let total = 0;
  // A site is the allocating function and file; a builtin (subarray, push, ...) is named with its caller.
  const name = (f: HeapNode["callFrame"]) => `${f.functionName || "(anonymous)"}${f.url ? ` ${f.url.replace(/^.*\/(src|node_modules)\//, "$1/")}` : ""}`;
  const walk = (n: HeapNode, caller: string) => {
    const own = name(n.callFrame);
    if (n.selfSize > 0) {
      const site = n.callFrame.url ? own : `${own} <- ${caller}`;
      bySite.set(site, (bySite.get(site) ?? 0) + n.selfSize);
      total += n.selfSize;
    }
    for (const c of n.children) walk(c, n.callFrame.url ? own : caller);
  };
  walk(profile.head, "");
  const sites = [...bySite].sort((a, b) => b[1] - a[1]).slice(0, top).map(([k, v]) => [k, v / runs] as [string, number]);
  return { perRun: total / runs, sites };
}
const kib = (b: number) => `${(b / 1024).toFixed(0)} KiB`;

let sum = 0;
let selectSum = 0;
let cpuSum = 0;
let allocSum = 0;
let bufferSum = 0;
console.log("query   type     median ms   (storage reads ms)   cpu ms   series/points");
for (const q of queryList(wl)) {
  if (only && !only.has(q.id)) continue;
  const evaluate = () => (q.type === "range" ? engine.rangeQuery(q.q, win.start * 1000, win.end * 1000, win.step * 1000) : engine.instantQuery(q.q, win.time * 1000));
  let bodyBytes = 0;
  const run = serverPath
    ? async () => {
        const r = await evaluate();
        const body = querySuccessBody(r);
        bodyBytes = body.length;
        recycleBody(body); // (as the query route does once the body is written)
        return r;
      }
    : evaluate;
  let result = await run();
  const times: number[] = [];
  const selectTimes: number[] = [];
  const cpuTimes: number[] = [];
  for (let k = 0; k < repeat; k++) {
    selectMs = 0;
    const c0 = process.cpuUsage();
    const t0 = performance.now();
    result = await run();
    times.push(performance.now() - t0);
    const c = process.cpuUsage(c0);
    cpuTimes.push((c.user + c.system) / 1000);
    selectTimes.push(selectMs);
  }
  const m = median(times);
  const ms = median(selectTimes);
  const cpu = median(cpuTimes);
  sum += m;
  selectSum += ms;
  cpuSum += cpu;
  const { series, points } = shape(result);
  let check = "";
  if (q.expect !== undefined) {
    const got = result.resultType === "vector" ? result.result[0]?.value : undefined;
    check = got === q.expect ? `  (count ok: ${got})` : `  (COUNT MISMATCH: expected ${q.expect}, got ${got})`;
  }
  const body = serverPath ? `  body ${bodyBytes} B` : "";
  console.log(`${q.id}     ${q.type.padEnd(7)}  ${m.toFixed(1).padStart(9)}   ${`(${ms.toFixed(1)})`.padStart(18)}   ${cpu.toFixed(1).padStart(6)}   ${series}/${points}${check}${body}`);
  if (alloc) {
    const { perRun, sites } = await sampledAllocations(repeat, run);
    const buffers: number[] = [];
    for (let k = 0; k < repeat; k++) {
      gc!();
      const before = process.memoryUsage().arrayBuffers;
      await run();
      buffers.push(process.memoryUsage().arrayBuffers - before);
    }
    allocSum += perRun;
    bufferSum += median(buffers);
    console.log(`        allocated ${kib(perRun)} per query (+ ${kib(median(buffers))} of ArrayBuffers); top sites:`);
    for (const [site, bytes] of sites) console.log(`          ${kib(bytes).padStart(9)}  ${site}`);
  }
}
console.log(`sum of medians: ${sum.toFixed(1)} ms, of which storage reads ${selectSum.toFixed(1)} ms; process CPU ${cpuSum.toFixed(1)} ms (peers over HTTP: VictoriaMetrics 145.5 ms, Prometheus 350.3 ms)`);
if (alloc) console.log(`JS heap allocated per run of the ${only?.size ?? 19} queries: ${kib(allocSum)} (+ ${kib(bufferSum)} of ArrayBuffers)`);
await storage.close();
if (dataDir !== undefined) rmSync(dataDir, { recursive: true, force: true });
