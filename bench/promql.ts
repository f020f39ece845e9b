// PromQL benchmark: peerbench's 19 dashboard queries over its synthetic workload (10k series x 240 points by
// default), through the library API (PromqlEngine over an in-memory tsink storage). Prints per-query medians of
// wall time, of the storage-read part, and of process CPU time (steadier than wall time on a shared machine).
// Usage: npm run bench:promql [-- --series N --points P --repeat R --only q01,q18 --disk]
// --disk: load into a storage with a data directory, close and reopen it, so the queries read segments (as the server
// does once its flush has run) instead of sealed chunks in memory.
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { StorageBuilder, type Row } from "../src/index.js";
import { PromqlEngine } from "../src/promql/engine.js";
import type { QueryResult } from "../src/promql/result.js";
import type { SeriesSource } from "../src/promql/source.js";
import { benchArgs } from "./cli.mjs";
import { importPeerbench, type MakeWorkload, PEERBENCH_ENV, PEERBENCH_FLAG, type PeerbenchWorkload as Workload } from "./peerbench.mjs";

interface QueryDef {
  id: string;
  type: "range" | "instant";
  q: string;
  expect?: number;
}

const { values: opts } = benchArgs({
  about: "peerbench's 19 dashboard queries through the library (PromqlEngine over an in-memory storage): per query the median wall, read and CPU time.",
  flags: {
    series: { type: "string", default: 10_000, help: "series of peerbench's workload" },
    points: { type: "string", default: 240, help: "points per series (15 s apart)" },
    repeat: { type: "string", default: 5, help: "timed runs per query" },
    only: { type: "string", help: "comma-separated query ids, e.g. q01,q18" },
    disk: { type: "boolean", help: "load into a storage with a data dir, close and reopen it, so queries read segments" },
    peerbench: PEERBENCH_FLAG,
  },
  env: PEERBENCH_ENV,
});
const S = Number(opts.series);
const P = Number(opts.points);
const repeat = Number(opts.repeat);
const only = opts.only === undefined ? undefined : new Set(opts.only.split(","));

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
const batch: Row[] = [];
for (let i = 0; i < wl.S; i++) {
  const labels = wl.series[i].labels.filter(([k]) => k !== "__name__").map(([name, value]) => ({ name, value }));
  const metric = wl.series[i].labels.find(([k]) => k === "__name__")![1];
  for (let j = 0; j < wl.P; j++) batch.push({ metric, labels, dataPoint: { timestamp: wl.timestamps[j], value: wl.values[i * wl.P + j] } });
  if (batch.length >= 100_000) await storage.insertRows(batch.splice(0));
}
if (batch.length > 0) await storage.insertRows(batch.splice(0));
if (disk) {
  await storage.close(); // flushes everything into segments
  storage = await open();
}
console.log(`loaded ${wl.S} series x ${wl.P} points in ${((performance.now() - loadStart) / 1000).toFixed(1)} s${disk ? " (reading segments)" : ""}`);

// Times the storage reads separately so the table shows how a query's latency splits between storage and PromQL.
let selectMs = 0;
const timedSource: SeriesSource = {
  async selectColumns(selection, start, end) {
    const t0 = performance.now();
    const rows = await storage.selectColumns(selection, start, end);
    selectMs += performance.now() - t0;
    return rows;
  },
  // Range functions read through this (batches in WASM memory); the timing includes their kernels.
  async selectBatches(selection, start, end, maxPoints, onBatch) {
    const t0 = performance.now();
    const ok = await storage.selectBatches(selection, start, end, maxPoints, onBatch);
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

let sum = 0;
let selectSum = 0;
let cpuSum = 0;
console.log("query   type     median ms   (storage reads ms)   cpu ms   series/points");
for (const q of queryList(wl)) {
  if (only && !only.has(q.id)) continue;
  const run = () => (q.type === "range" ? engine.rangeQuery(q.q, win.start * 1000, win.end * 1000, win.step * 1000) : engine.instantQuery(q.q, win.time * 1000));
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
  console.log(`${q.id}     ${q.type.padEnd(7)}  ${m.toFixed(1).padStart(9)}   ${`(${ms.toFixed(1)})`.padStart(18)}   ${cpu.toFixed(1).padStart(6)}   ${series}/${points}${check}`);
}
console.log(`sum of medians: ${sum.toFixed(1)} ms, of which storage reads ${selectSum.toFixed(1)} ms; process CPU ${cpuSum.toFixed(1)} ms (peers over HTTP: VictoriaMetrics 145.5 ms, Prometheus 350.3 ms)`);
await storage.close();
if (dataDir !== undefined) rmSync(dataDir, { recursive: true, force: true });
