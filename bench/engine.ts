// Storage engine benchmark (not a test): insert throughput over 10k and 1M series, select / selectWithOptions
// latency, memory per series at 1M series x 10 samples, matcher select over 1M series.
// Run: npm run bench:engine   (needs --max-old-space-size=8192 and --expose-gc, set below via re-exec)
//      npm run bench:engine -- --select   (only the 1M-series insert, memory and select figures)
//      npm run bench:engine -- --insert   (only the 1M-series insertRows + memory and insertColumns figures)
//      npm run bench:engine -- --10k   (only the 10k-series insert figures and the single-series selects)
//      add --shuffled to visit the 1M series of insertRows in another random order every round (default: in the
//      order they were created, as scrapes and clients send them)
import { spawnSync } from "node:child_process";
import { StorageBuilder } from "../src/storage/builder.js";
import type { Storage } from "../src/storage/engine.js";
import { type Row, SeriesKey } from "../src/storage/types.js";
import { loadWasm } from "../src/wasm/loader.js";
import { resolveSelection } from "../src/storage/matchers.js";
import type { SeriesRegistry } from "../src/storage/registry.js";
import { CHUNK_METADATA_BYTES } from "../src/storage/sealed-chunks.js";
import { benchArgs } from "./cli.mjs";

const { values: opts } = benchArgs({
  about: "Storage engine: insert throughput at 10k and 1M series, memory per series, select latency, matcher select over 1M series.",
  flags: {
    quick: { type: "boolean", help: "100k series instead of 1M" },
    select: { type: "boolean", help: "only the 1M-series insert, memory and select figures" },
    insert: { type: "boolean", help: "only the 1M-series insertRows + memory and insertColumns figures" },
    "10k": { type: "boolean", help: "only the 10k-series insert figures and the single-series selects" },
    shuffled: { type: "boolean", help: "visit the series of insertRows in another random order every round" },
  },
});

if (!process.execArgv.includes("--expose-gc")) {
  const r = spawnSync(process.execPath, ["--max-old-space-size=8192", "--expose-gc", ...process.execArgv, ...process.argv.slice(1)], { stdio: "inherit" });
  process.exit(r.status ?? 1);
}

const gc = (globalThis as { gc?: () => void }).gc!;
const BATCH = 1000;
// a day ago, at the start of an hour: the rounds (10 x 15 s, or 100 x 15 s) then stay in one 1 h partition whatever
// the time of the run (rounds crossing an hour gave every series a second head and ~90 B more per series)
const T0 = Math.floor((Date.now() - 24 * 3600 * 1000) / 3_600_000) * 3_600_000;
const quick = opts.quick;
const BIG = quick ? 100_000 : 1_000_000;
const selectOnly = opts.select;
const insertOnly = opts.insert;
const smallOnly = opts["10k"];
const shuffled = opts.shuffled;

const fmt = (n: number) => n.toLocaleString("en-US", { maximumFractionDigits: 1 });
const lines: string[] = [];
const report = (name: string, value: string) => {
  lines.push(`| ${name} | ${value} |`);
  console.log(`${name}: ${value}`);
};

function labelsFor(i: number) {
  return [
    { name: "host", value: `host-${i}` },
    { name: "job", value: `job-${i % 100}` },
    { name: "region", value: `r${i % 7}` },
  ];
}

/** Wall and process CPU time of the timed insert calls only, as samples per second. */
class InsertMeter {
  private ns = 0n;
  private cpuUs = 0;
  private samples = 0;

  async time(samples: number, insert: () => Promise<unknown>): Promise<void> {
    const t = process.hrtime.bigint();
    const c = process.cpuUsage();
    await insert();
    const dc = process.cpuUsage(c);
    this.ns += process.hrtime.bigint() - t;
    this.cpuUs += dc.user + dc.system;
    this.samples += samples;
  }

  rates(): { wall: number; cpu: number } {
    return { wall: this.samples / (Number(this.ns) / 1e9), cpu: this.samples / (this.cpuUs / 1e6) };
  }
}

/**
 * Inserts `perSeries` rounds over `series` series (one point per series per round, 15 s apart); times insertRows
 * only, as wall time and as process CPU time (the machine is shared, so CPU time is the steadier figure).
 */
async function insertRounds(storage: Storage, metric: string, series: number, perSeries: number, labelCache?: ReturnType<typeof labelsFor>[], shuffle = false) {
  const meter = new InsertMeter();
  const rows: Row[] = new Array(BATCH);
  const order = Uint32Array.from({ length: series }, (_, i) => i);
  let seed = 42;
  const random = () => (seed = (Math.imul(seed, 1103515245) + 12345) >>> 0) / 2 ** 32;
  for (let round = 0; round < perSeries; round++) {
    if (shuffle) {
      for (let i = series - 1; i > 0; i--) {
        const j = Math.floor(random() * (i + 1));
        [order[i], order[j]] = [order[j]!, order[i]!];
      }
    }
    for (let base = 0; base < series; base += BATCH) {
      const n = Math.min(BATCH, series - base);
      for (let k = 0; k < n; k++) {
        const i = order[base + k]!;
        rows[k] = { metric, labels: labelCache ? labelCache[i]! : labelsFor(i), dataPoint: { timestamp: T0 + round * 15_000, value: Math.round(Math.sin(i + round) * 10000) / 100 } };
      }
      const batch = n === BATCH ? rows : rows.slice(0, n);
      await meter.time(n, () => storage.insertRows(batch));
    }
  }
  return meter.rates();
}

/**
 * insertRounds through insertColumns: one SeriesKey per series, made once (as a protocol decoder or a client keeps
 * them), batches of 1,000 samples as columns. Times insertColumns only.
 */
async function insertColumnRounds(storage: Storage, metric: string, series: number, perSeries: number) {
  const keys = Array.from({ length: series }, (_, i) => new SeriesKey(metric, labelsFor(i)));
  const meter = new InsertMeter();
  for (let round = 0; round < perSeries; round++) {
    for (let base = 0; base < series; base += BATCH) {
      const n = Math.min(BATCH, series - base);
      const batch = { series: keys.slice(base, base + n), seriesIndex: new Uint32Array(n), timestamps: new Float64Array(n), values: new Float64Array(n), count: n };
      for (let k = 0; k < n; k++) {
        const i = base + k;
        batch.seriesIndex[k] = k;
        batch.timestamps[k] = T0 + round * 15_000;
        batch.values[k] = Math.round(Math.sin(i + round) * 10000) / 100;
      }
      await meter.time(n, () => storage.insertColumns(batch));
    }
  }
  return meter.rates();
}

const rates = (r: { wall: number; cpu: number }) => `${fmt(r.cpu / 1e6)} M samples/s per CPU second (${fmt(r.wall / 1e6)} M/s wall clock)`;

/** Memory after full GCs and a pause, so dead ArrayBuffer backing stores are really swept. */
async function settledMemory() {
  for (let i = 0; i < 2; i++) {
    gc();
    await new Promise((r) => setTimeout(r, 250));
  }
  return process.memoryUsage();
}

function percentile(xs: number[], p: number) {
  const s = xs.slice().sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.floor(p * s.length))]!;
}

async function time(fn: () => Promise<unknown>, runs: number) {
  const xs: number[] = [];
  const cpus: number[] = [];
  for (let i = 0; i < runs; i++) {
    const t = performance.now();
    const c = process.cpuUsage();
    await fn();
    const dc = process.cpuUsage(c);
    xs.push(performance.now() - t);
    cpus.push((dc.user + dc.system) / 1000);
  }
  return { p50: percentile(xs, 0.5), p99: percentile(xs, 0.99), cpu50: percentile(cpus, 0.5), cpu99: percentile(cpus, 0.99) };
}

/** "p50 / p99 ms (CPU p50 / p99 ms)": wall latency, then the process CPU time of the same calls. */
const latency = (r: Awaited<ReturnType<typeof time>>, digits = 2) =>
  `${r.p50.toFixed(digits)} / ${r.p99.toFixed(digits)} ms (CPU ${r.cpu50.toFixed(digits)} / ${r.cpu99.toFixed(digits)} ms)`;

// ---- 1M series x 10 samples
if (!smallOnly) {
  const before = await settledMemory();
  const storage = await new StorageBuilder().withTimestampPrecision("ms").build();
  const rate = await insertRounds(storage, "bench_1m", BIG, 10, undefined, shuffled);
  report(`insert, ${fmt(BIG)} series x 10 samples, batches of 1000 (labels built per row${shuffled ? ", series in a random order every round" : ""})`, rates(rate));
  const after = await settledMemory();
  const total = after.heapUsed - before.heapUsed + (after.arrayBuffers - before.arrayBuffers);
  const perSeries = total / BIG;
  report(`memory per series at ${fmt(BIG)} series x 10 samples (heap + array buffers)`, `${fmt(perSeries)} B`);
  report("  of which raw active samples (10 x 16 B, not yet sealed)", `160 B`);
  report("  memory per series beyond the samples", `${fmt(perSeries - 160)} B`);
  const snap = storage.observabilitySnapshot() as { memory: Record<string, number> };
  report("  engine accounting: registry+index / active buffers allocated, per series", `${fmt(snap.memory.registryBytes! / BIG)} B / ${fmt(snap.memory.allocatedBufferBytes! / BIG)} B`);
  report("  heap / array buffers, per series", `${fmt((after.heapUsed - before.heapUsed) / BIG)} B / ${fmt((after.arrayBuffers - before.arrayBuffers) / BIG)} B`);
  report("  WASM linear memory (shared scratch, not per series)", `${fmt(loadWasm().memory.buffer.byteLength / 1024)} KiB`);
  if (!insertOnly) await selectFigures(storage, before, total, perSeries);
  await storage.close();
}

/** The select, seal and value-order figures over the 1M-series storage. */
async function selectFigures(storage: Storage, before: NodeJS.MemoryUsage, total: number, perSeries: number) {
  const selective = await time(() => storage.selectSeries({ metric: "bench_1m", matchers: [{ name: "job", op: "=", value: "job-7" }, { name: "host", op: "=~", value: "host-1[0-9]7" }] }), 20);
  report(`selectSeries over ${fmt(BIG)} series: job="job-7", host=~"host-1[0-9]7" (p50 / p99)`, latency(selective));
  // the first prefix regex on `host` sorts its 1M values once (the label's value order); later ones binary-search it
  const firstRegex = await time(() => storage.selectSeries({ metric: "bench_1m", matchers: [{ name: "host", op: "=~", value: "host-99.*" }] }), 1);
  report(`  first host=~"host-99.*" (builds the value order of ${fmt(BIG)} host values)`, latency(firstRegex, 1));
  const regexSel = { metric: "bench_1m", matchers: [{ name: "host", op: "=~" as const, value: "host-99.*" }] };
  const regex = await time(() => storage.selectSeries(regexSel), 30);
  report(`selectSeries over ${fmt(BIG)} series: host=~"host-99.*" (regex over 1M values, ${fmt(BIG / 90)} results, p50 / p99)`, latency(regex));
  // the matcher layer alone (ids ascending, no ordering by labels, no result objects): the bench reaches into the
  // engine's registry for this
  const registry = (storage as unknown as { registry: SeriesRegistry }).registry;
  const regexIds = await time(async () => resolveSelection(registry, regexSel), 30);
  report(`  of which resolveSelection (series ids)`, latency(regexIds, 3));
  const ids = resolveSelection(registry, regexSel);
  const order = await time(async () => registry.sortSeries(ids), 30);
  report(`  of which sortSeries (ids in label order)`, latency(order, 3));
  const alternation = await time(() => storage.selectSeries({ metric: "bench_1m", matchers: [{ name: "host", op: "=~", value: "host-1|host-22|host-333|host-4444" }] }), 30);
  report(`selectSeries over ${fmt(BIG)} series: host=~"host-1|host-22|host-333|host-4444" (literal alternation)`, latency(alternation, 3));
  const exact = await time(() => storage.selectSeries({ metric: "bench_1m", matchers: [{ name: "host", op: "=", value: "host-4242" }] }), 30);
  report(`selectSeries over ${fmt(BIG)} series: host="host-4242"`, latency(exact, 3));
  const ordered = await settledMemory();
  const orderBytes = ordered.heapUsed - before.heapUsed + (ordered.arrayBuffers - before.arrayBuffers) - total;
  report("  memory per series beyond the samples, with the host value order built", `${fmt(perSeries - 160 + orderBytes / BIG)} B`);
  const cols = await time(() => storage.selectColumns({ metric: "bench_1m", matchers: [{ name: "job", op: "=", value: "job-7" }, { name: "region", op: "=", value: "r3" }] }, 0, Date.now()), 10);
  report(`selectColumns over ${fmt(BIG)} series: job="job-7", region="r3" (~${fmt(BIG / 700)} series x 10 points, p50 / p99)`, latency(cols));
  // seal every head into an encoded chunk (what a flush does) and measure again
  const t = performance.now();
  storage.sealAll();
  const sealMs = performance.now() - t;
  const sealed = await settledMemory();
  const sealedSnap = storage.observabilitySnapshot() as { memory: Record<string, number>; series: Record<string, number> };
  const encoded = sealedSnap.memory.sealedBytes! - CHUNK_METADATA_BYTES * sealedSnap.series.sealedChunks!;
  const sealedPerSeries = (sealed.heapUsed - before.heapUsed + sealed.arrayBuffers - before.arrayBuffers) / BIG;
  report(`after sealing all heads (${fmt(BIG)} chunks, ${fmt(sealMs)} ms): memory per series`, `${fmt(sealedPerSeries)} B`);
  report("  of which encoded chunk bytes / beyond them", `${fmt(encoded / BIG)} B / ${fmt(sealedPerSeries - encoded / BIG)} B`);
  // new values since the last regex are sorted and merged into the value order on the next one (measured last:
  // these extra series would skew the memory figures)
  const merges: number[] = [];
  for (let round = 0; round < 10; round++) {
    const rows: Row[] = [];
    for (let k = 0; k < BATCH; k++) rows.push({ metric: "bench_1m", labels: labelsFor(BIG + round * BATCH + k), dataPoint: { timestamp: T0, value: 1 } });
    await storage.insertRows(rows);
    merges.push((await time(async () => resolveSelection(registry, regexSel), 1)).cpu50);
  }
  report(`after inserting 1,000 new hosts: the next resolveSelection (merges them into the value order), CPU p50 / max`, `${percentile(merges, 0.5).toFixed(2)} / ${Math.max(...merges).toFixed(2)} ms`);
  const values = await time(() => storage.labelValues("host"), 5);
  report(`labelValues("host") over ${fmt(BIG)} values (p50 / p99)`, latency(values));
  // a delete leaves the order sorted (removed values are skipped, not re-sorted)
  await storage.deleteSeries({ metric: "bench_1m", matchers: [{ name: "host", op: "=~", value: "host-99[0-9]" }] });
  const afterDelete = await time(async () => resolveSelection(registry, regexSel), 1);
  report(`after deleting 10 hosts of the range: the next resolveSelection`, latency(afterDelete));
}

// ---- 1M series x 10 samples through insertColumns (after the memory figures above, in a storage of its own)
if (!selectOnly && !smallOnly) {
  const storage = await new StorageBuilder().withTimestampPrecision("ms").build();
  const rate = await insertColumnRounds(storage, "bench_1m", BIG, 10);
  report(`insertColumns, ${fmt(BIG)} series x 10 samples, batches of 1000 (one SeriesKey per series)`, rates(rate));
  await storage.close();
}

// ---- 10k series x 100 samples (labels reused per series, as a client that keeps its series objects)
if (!selectOnly && !insertOnly) {
  const storage = await new StorageBuilder().withTimestampPrecision("ms").build();
  const cache = Array.from({ length: 10_000 }, (_, i) => labelsFor(i));
  const rate = await insertRounds(storage, "bench_10k", 10_000, 100, cache);
  report("insert, 10k series x 100 samples, batches of 1000 (label arrays reused)", rates(rate));
  const colStorage = await new StorageBuilder().withTimestampPrecision("ms").build();
  report("insertColumns, 10k series x 100 samples, batches of 1000 (one SeriesKey per series)", rates(await insertColumnRounds(colStorage, "bench_10k", 10_000, 100)));
  await colStorage.close();

  // one long series for select / selectWithOptions
  const long: Row[] = [];
  const labels = [{ name: "host", value: "long" }];
  const L0 = Date.now() - 100_000 * 15_000 - 3_600_000;
  for (let i = 0; i < 100_000; i++) long.push({ metric: "bench_long", labels, dataPoint: { timestamp: L0 + i * 15_000, value: Math.round(Math.random() * 10000) / 100 } });
  for (let i = 0; i < long.length; i += BATCH) await storage.insertRows(long.slice(i, i + BATCH));
  const end = L0 + 100_000 * 15_000;
  const sel100 = await time(() => storage.select("bench_10k", labelsFor(42), 0, end), 2000);
  report("select one series, 100 points (p50 / p99)", `${sel100.p50.toFixed(3)} / ${sel100.p99.toFixed(3)} ms`);
  const sel = await time(() => storage.select("bench_long", labels, L0, L0 + 10_000 * 15_000), 50);
  report("select 10,000 points of a 100k-point series (p50 / p99)", `${sel.p50.toFixed(2)} / ${sel.p99.toFixed(2)} ms`);
  const agg = await time(() => storage.selectWithOptions("bench_long", { start: L0, end, labels, aggregation: "Sum" }), 50);
  report("selectWithOptions Sum over 100k points (p50 / p99)", `${agg.p50.toFixed(2)} / ${agg.p99.toFixed(2)} ms`);
  const ds = await time(() => storage.selectWithOptions("bench_long", { start: L0, end, labels, downsample: { interval: 3_600_000, aggregation: "Avg" } }), 50);
  report("selectWithOptions 1 h Avg downsample over 100k points (p50 / p99)", `${ds.p50.toFixed(2)} / ${ds.p99.toFixed(2)} ms`);
  const page = await time(() => storage.selectWithOptions("bench_long", { start: L0, end, labels, offset: 50_000, limit: 100 }), 50);
  report("selectWithOptions offset 50k limit 100 (p50 / p99)", `${page.p50.toFixed(2)} / ${page.p99.toFixed(2)} ms`);
  await storage.close();
}

console.log("\n| measurement | result |\n|---|---|");
console.log(lines.join("\n"));
