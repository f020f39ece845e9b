// Storage read path of small selections over segments: Storage.selectBatches (the read PromQL's range functions and
// instant selectors use) for the selectors of peerbench's q03/q07/q10/q11/q14/q17, with a callback that does nothing,
// so the figure is storage alone (matchers, segment lookup, record decoding into the WASM read arena).
// Usage: npm run bench:reads [-- --series N --points P --repeat R --keep DIR --calls]
// Prints per selector the CPU of its first 6 calls in this process (the first also reads its segment blocks from disk;
// the read path's JS runs interpreted or baseline-compiled at first) and the median CPU of R warm calls (per call and
// per series). --calls: JS function calls per series in src/storage + src/encoding (V8 precise
// coverage call counts over R calls). --keep DIR: load the workload into DIR once and reuse it on later runs.
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { Session } from "node:inspector/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { StorageBuilder } from "../src/index.js";
import type { SeriesSelection } from "../src/storage/types.js";
import { benchArgs } from "./cli.mjs";
import { insertWorkload } from "./load-workload.js";
import { importPeerbench, type MakeWorkload, PEERBENCH_ENV, PEERBENCH_FLAG, WORKLOAD_FLAGS } from "./peerbench.mjs";

const { values: opts } = benchArgs({
  about: "Storage.selectBatches over segments for the small selectors of peerbench's q03/q07/q10/q11/q14/q17: cold and warm CPU per call and per series.",
  flags: {
    ...WORKLOAD_FLAGS,
    repeat: { type: "string", default: 200, help: "warm calls per selector" },
    keep: { type: "string", help: "data directory to load once and reuse" },
    calls: { type: "boolean", help: "also count JS function calls per series (V8 precise coverage)" },
    peerbench: PEERBENCH_FLAG,
  },
  env: PEERBENCH_ENV,
});
const S = Number(opts.series);
const P = Number(opts.points);
const repeat = Number(opts.repeat);
const { makeWorkload } = (await importPeerbench(opts.peerbench, "workload.mjs")) as { makeWorkload: MakeWorkload };

const dataDir = opts.keep ?? mkdtempSync(join(tmpdir(), "tsink-bench-reads-"));
const stamp = join(dataDir, "bench-workload.json");
const open = () => new StorageBuilder().withTimestampPrecision("ms").withDataPath(dataDir).build();
let endMs: number;
if (existsSync(stamp) && JSON.parse(readFileSync(stamp, "utf8")).S === S && JSON.parse(readFileSync(stamp, "utf8")).P === P) {
  endMs = JSON.parse(readFileSync(stamp, "utf8")).endMs;
} else {
  endMs = Math.floor(Date.now() / 15_000) * 15_000;
  const wl = makeWorkload({ S, P, endMs });
  const storage = await open();
  await insertWorkload(storage, wl);
  await storage.close(); // everything into segments
  writeFileSync(stamp, JSON.stringify({ S, P, endMs }));
}
const storage = await open();
const wl = makeWorkload({ S, P, endMs });
const end = wl.tEnd;
const span = wl.tEnd - wl.timestamps[0]!;

// The selectors and ranges the evaluator asks storage for (range queries: window start minus the range or lookback).
const m = (name: string, op: "=" | "=~", value: string) => ({ name, op, value });
const selectors: { id: string; sel: SeriesSelection; start: number }[] = [
  { id: "q03 node_load1[10m], range", sel: { metric: "node_load1" }, start: end - span - 600_000 },
  { id: "q07 MemAvailable{instance=~..}, range", sel: { metric: "node_memory_MemAvailable_bytes", matchers: [m("instance", "=~", "host-00[0-4][0-9]:9100")] }, start: end - span - 300_000 },
  { id: "q10 node_load15[1h], instant", sel: { metric: "node_load15" }, start: end - 3_600_000 },
  { id: "q11 disk_written{device=~nvme.*}[1h]", sel: { metric: "node_disk_written_bytes_total", matchers: [m("device", "=~", "nvme.*")] }, start: end - 3_600_000 },
  { id: "q14 fs_avail{mountpoint=/,dc=dc1}", sel: { metric: "node_filesystem_avail_bytes", matchers: [m("mountpoint", "=", "/"), m("dc", "=", "dc1")] }, start: end - 300_000 },
  { id: "q17 MemFree{dc=dc3}[10m], range", sel: { metric: "node_memory_MemFree_bytes", matchers: [m("dc", "=", "dc3")] }, start: end - span - 600_000 },
];

let series = 0;
let points = 0;
const read = (s: (typeof selectors)[number]) =>
  storage.selectBatches(s.sel, s.start, end + 1, 1 << 18, (b) => {
    series += b.offsets.length - 1;
    points += b.offsets[b.offsets.length - 1]! - b.offsets[0]!;
  });
const cpuUs = async (s: (typeof selectors)[number]) => {
  const c0 = process.cpuUsage();
  await read(s);
  const c = process.cpuUsage(c0);
  return c.user + c.system;
};
const median = (xs: number[]) => xs.slice().sort((a, b) => a - b)[xs.length >> 1]!;

console.log(`${S} series x ${P} points in ${dataDir}; CPU us per selectBatches call (callback does nothing)`);
console.log("selector                                   series  points   first 6 calls (cold JIT)            warm median  us/series");
for (const s of selectors) {
  const cold: number[] = [];
  for (let k = 0; k < 6; k++) cold.push(await cpuUs(s));
  series = points = 0;
  await read(s);
  const n = series;
  const pts = points;
  const warm: number[] = [];
  for (let k = 0; k < repeat; k++) warm.push(await cpuUs(s));
  const w = median(warm);
  console.log(`${s.id.padEnd(42)} ${String(n).padStart(6)} ${String(pts).padStart(7)}   ${cold.map((x) => String(x).padStart(5)).join(" ")}   ${w.toFixed(0).padStart(9)}  ${(w / n).toFixed(2).padStart(9)}`);
}

if (opts.calls) {
  // V8's precise coverage counts every call of every function; the counts of a read over R calls, per series read.
  const session = new Session();
  session.connect();
  await session.post("Profiler.enable");
  for (const s of selectors.slice(0, 2)) {
    await session.post("Profiler.startPreciseCoverage", { callCount: true, detailed: false });
    await session.post("Profiler.takePreciseCoverage"); // resets the counts
    series = 0;
    const runs = 20;
    for (let k = 0; k < runs; k++) await read(s);
    const { result } = (await session.post("Profiler.takePreciseCoverage")) as unknown as {
      result: { url: string; functions: { functionName: string; ranges: { count: number }[] }[] }[];
    };
    await session.post("Profiler.stopPreciseCoverage");
    const perSeries: [string, number][] = [];
    let total = 0;
    for (const script of result) {
      if (!/\/src\/(storage|encoding|wasm)\//.test(script.url)) continue;
      for (const f of script.functions) {
        const c = f.ranges[0]!.count;
        if (c === 0 || f.functionName === "") continue;
        perSeries.push([`${f.functionName} (${script.url.replace(/^.*\/src\//, "")})`, c / series]);
        total += c / series;
      }
    }
    perSeries.sort((a, b) => b[1] - a[1]);
    console.log(`${s.id}: ${total.toFixed(1)} JS calls per series (storage, encoding, wasm loader); those >= 0.05 per series:`);
    for (const [name, c] of perSeries) if (c >= 0.05) console.log(`  ${c.toFixed(2).padStart(6)}  ${name}`);
  }
  session.disconnect();
}
await storage.close();
if (opts.keep === undefined) rmSync(dataDir, { recursive: true, force: true });
