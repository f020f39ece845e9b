// Disk benchmark (npm run bench:disk): the peer workload (10k series x 240 points at 15 s, from
// ../shared/tools/peerbench/lib/workload.mjs) written through the embedded API with a data path. Prints ingest
// samples/s for PerAppend, Periodic(1s) and WAL-off, bytes/sample on disk after close (flush + compaction), reopen
// time, WAL replay rate, the second-stage compression comparison (brotli vs deflate) on the chunk bytes, and the
// reopen time at scale (100k series x 60 points: build() in process, and tsink-server from start to ready;
// `--reopen-only` runs just that part).
import { spawn } from "node:child_process";
import { cpSync, existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { brotliCompressSync, deflateRawSync, constants as zc } from "node:zlib";
import { StorageBuilder, type Row, type Storage, type WalSyncMode } from "../src/index.js";
import { SegmentStore } from "../src/storage/segment/store.js";
import { benchArgs } from "./cli.mjs";
import { importPeerbench, type MakeWorkload, PEERBENCH_ENV, PEERBENCH_FLAG } from "./peerbench.mjs";


const { values: opts } = benchArgs({
  about: "Disk: ingest per WAL mode, bytes/sample after close, reopen and WAL replay, brotli vs deflate, reopen at 100k series.",
  flags: {
    "reopen-only": { type: "boolean", help: "only the reopen-at-scale part" },
    peerbench: PEERBENCH_FLAG,
  },
  env: {
    DISK_BENCH_SERIES: "series of the main workload (default 10000)",
    DISK_BENCH_POINTS: "points per series (default 240)",
    DISK_BENCH_REOPEN_SERIES: "series of the reopen-at-scale part (default 100000)",
    ...PEERBENCH_ENV,
  },
});
const S = Number(process.env.DISK_BENCH_SERIES ?? 10_000);
const P = Number(process.env.DISK_BENCH_POINTS ?? 240);
interface Template {
  kind: "counter" | "gauge" | "const" | "clock";
  rate?: number;
  start?: number;
  base?: number;
  vol?: number;
  decimals?: number;
  quantum?: number;
  integerIncrements?: boolean;
}
const { makeWorkload, TEMPLATE, prng } = (await importPeerbench(opts.peerbench, "workload.mjs")) as {
  makeWorkload: MakeWorkload;
  TEMPLATE: Template[];
  prng: (seed: number) => () => number;
};

/** The generator's per-series seed mix (splitmix32 style, as in workload.mjs, which does not export it). */
function mix32(a: number): number {
  a = (a + 0x9e3779b9) | 0;
  a = Math.imul(a ^ (a >>> 16), 0x85ebca6b);
  a = Math.imul(a ^ (a >>> 13), 0xc2b2ae35);
  return (a ^ (a >>> 16)) >>> 0;
}
const entropy = (ps: number[]) => ps.reduce((h, p) => (p > 0 ? h - p * Math.log2(p) : h), 0);
/** Probabilities of round(X), X uniform on [a, b) (null when wide: then the entropy is log2(b - a) to < 0.001 bit). */
function roundUniform(a: number, b: number): number[] | null {
  if (b - a > 1000) return null;
  const ps: number[] = [];
  for (let k = Math.round(a) - 1; k <= Math.round(b) + 1; k++) {
    const lo = Math.max(a, k - 0.5);
    const hi = Math.min(b, k + 0.5);
    if (hi > lo) ps.push((hi - lo) / (b - a));
  }
  return ps;
}
/** Probabilities of floor(X + U), X uniform on [a, b), U uniform on [0, 1) (integer counters), numerically. */
function floorPlusUniform(a: number, b: number): number[] | null {
  if (b - a > 1000) return null;
  const steps = 2000;
  const mass = new Map<number, number>();
  for (let i = 0; i < steps; i++) {
    const x = a + ((b - a) * (i + 0.5)) / steps;
    const f = Math.floor(x);
    mass.set(f, (mass.get(f) ?? 0) + (1 - (x - f)) / steps);
    mass.set(f + 1, (mass.get(f + 1) ?? 0) + (x - f) / steps);
  }
  return [...mass.values()];
}
const bitsOf = (ps: number[] | null, width: number) => (ps === null ? Math.log2(width) : entropy(ps));

/**
 * Information floor of the values, in bytes/sample: the entropy of each series' step noise given the generator's
 * exact parameters (its per-series rate/base draws are replayed from the seed), plus each series' first value.
 * Counter increments are uniform over [0.5, 1.5) x rate x 15 s, rounded to the quantum (or floor(x + U) for integer
 * counters); gauges add uniform noise of width 2 x vol x base to a hidden mean-reverting level (lower bound: the
 * level known exactly); the clock adds 0..0.01 s at millisecond resolution. No lossless coder can go below this
 * on average; timestamps (regular) and the index come on top.
 */
function entropyFloorBytesPerSample(): number {
  const dt = 15;
  let bits = 0;
  for (let i = 0; i < S; i++) {
    const t = TEMPLATE[i % TEMPLATE.length]!;
    const rnd = prng(mix32(42 ^ mix32(i)));
    const q = t.quantum ?? (t.decimals !== undefined ? 10 ** -t.decimals : 1);
    let step = 0;
    let first = 0;
    if (t.kind === "counter") {
      const width = (t.rate! * (0.3 + 1.4 * rnd()) * dt);
      step = t.integerIncrements ? bitsOf(floorPlusUniform(0.5 * width, 1.5 * width), width) : bitsOf(roundUniform((0.5 * width) / q, (1.5 * width) / q), width / q);
      first = Math.log2(t.start! / q);
    } else if (t.kind === "gauge") {
      const base = t.base! * (0.5 + rnd());
      const width = (2 * t.vol! * base) / q;
      let sum = 0; // averaged over the level's position within a quantum
      for (let k = 0; k < 50; k++) sum += bitsOf(roundUniform((k + 0.5) / 50 - width / 2, (k + 0.5) / 50 + width / 2), width);
      step = sum / 50;
      first = Math.log2(base / q);
    } else if (t.kind === "clock") step = entropy([...new Array<number>(9).fill(0.1), 0.05, 0.05]);
    bits += step * (P - 1) + first;
  }
  return bits / 8 / (S * P);
}
// The hour of data ends half an hour past an hour boundary, so every run splits each series at the same point into two
// 1 h partitions (the size depended on the wall clock before: 1.07 B/sample for a run inside one partition, 1.12 for
// one split near an end).
const endMs = Math.floor(Date.now() / 3_600_000) * 3_600_000 - 1_800_000;
const w = makeWorkload({ S, P, endMs });
const samples = S * P;

// Label arrays built once per series (the engine caches interned labels by array identity, as a scraper would).
const metrics = w.series.map((s) => s.labels.find(([k]) => k === "__name__")![1]);
const labels = w.series.map((s) => s.labels.filter(([k]) => k !== "__name__").map(([name, value]) => ({ name, value })));

/** One scrape = one insert call of S rows at the same timestamp. */
function scrape(j: number): Row[] {
  const rows: Row[] = new Array(S);
  const ts = w.timestamps[j]!;
  for (let i = 0; i < S; i++) rows[i] = { metric: metrics[i]!, labels: labels[i]!, dataPoint: { timestamp: ts, value: w.values[i * P + j]! } };
  return rows;
}

const open = (dir: string, tweak: (b: StorageBuilder) => StorageBuilder = (b) => b): Promise<Storage> =>
  tweak(new StorageBuilder().withDataPath(dir).withTimestampPrecision("ms")).build();

function dirBytes(dir: string): number {
  let n = 0;
  for (const e of readdirSync(dir, { withFileTypes: true })) {
    const p = join(dir, e.name);
    n += e.isDirectory() ? dirBytes(p) : e.name === ".tsink.lock" ? 0 : statSync(p).size;
  }
  return n;
}

async function ingest(dir: string, wal: "PerAppend" | "Periodic" | "off"): Promise<{ seconds: number; storage: Storage }> {
  const mode: WalSyncMode = wal === "Periodic" ? { periodicMs: 1000 } : "PerAppend";
  const storage = await open(dir, (b) => b.withWalEnabled(wal !== "off").withWalSyncMode(mode));
  const started = performance.now();
  for (let j = 0; j < P; j++) await storage.insertRows(scrape(j));
  return { seconds: (performance.now() - started) / 1000, storage };
}

const root = mkdtempSync(join(tmpdir(), "tsink-bench-disk-"));
const fmt = (n: number) => Math.round(n).toLocaleString("en-US");

/**
 * Reopen at scale: the peer workload's 100k series x 60 points written with the WAL off and closed (so the series
 * come back from segment indexes alone), then opened REOPEN_ROUNDS times; prints the median wall and CPU time of
 * build() (what a server spends before /ready, besides loading its modules).
 */
async function reopenAtScale(): Promise<void> {
  const S2 = Number(process.env.DISK_BENCH_REOPEN_SERIES ?? 100_000);
  const P2 = 60;
  const w2 = makeWorkload({ S: S2, P: P2, endMs });
  const metrics2 = w2.series.map((s) => s.labels.find(([k]) => k === "__name__")![1]);
  const labels2 = w2.series.map((s) => s.labels.filter(([k]) => k !== "__name__").map(([name, value]) => ({ name, value })));
  const dir = join(root, "reopen-at-scale");
  const st = await open(dir, (b) => b.withWalEnabled(false));
  const rows: Row[] = new Array(S2);
  for (let j = 0; j < P2; j++) {
    for (let i = 0; i < S2; i++) rows[i] = { metric: metrics2[i]!, labels: labels2[i]!, dataPoint: { timestamp: w2.timestamps[j]!, value: w2.values[i * P2 + j]! } };
    await st.insertRows(rows);
  }
  await st.close();
  const segments = readdirSync(join(dir, "segments"), { recursive: true }).filter((p) => String(p).endsWith("index.bin")).length;
  const REOPEN_ROUNDS = 5;
  const wall: number[] = [];
  const cpu: number[] = [];
  let visible = 0;
  for (let r = 0; r < REOPEN_ROUNDS; r++) {
    const c0 = process.cpuUsage();
    const t0 = performance.now();
    const again = await open(dir);
    wall.push(performance.now() - t0);
    const c = process.cpuUsage(c0);
    cpu.push((c.user + c.system) / 1000);
    visible = (await again.selectSeries({ matchers: [{ name: "__name__", op: "=~", value: ".+" }] })).length;
    await again.close();
  }
  const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[xs.length >> 1]!;
  const main = resolve(import.meta.dirname, "../dist/server/main.js");
  if (existsSync(main) && process.platform === "linux") {
    // the server on the same data dir, and on an empty one (what loading its modules costs)
    const empty = join(root, "empty");
    mkdirSync(empty);
    for (const [what, path] of [["empty data dir", empty], [`${fmt(S2)}-series data dir`, dir]] as const) {
      const runs: { ms: number; cpuMs: number }[] = [];
      for (let r = 0; r < 3; r++) runs.push(await serverReady(main, path));
      console.log(
        `tsink-server start to ready (dist/, ${what}): median of 3 ${median(runs.map((x) => x.ms)).toFixed(0)} ms wall, ` +
          `${median(runs.map((x) => x.cpuMs)).toFixed(0)} ms CPU of the server process`,
      );
    }
  }
  console.log(
    `reopen at scale (${fmt(S2)} series x ${P2} points, ${segments} segment(s), WAL off): build() median of ${REOPEN_ROUNDS} ` +
      `${median(wall).toFixed(0)} ms wall, ${median(cpu).toFixed(0)} ms CPU (all: ${wall.map((x) => x.toFixed(0)).join(", ")} ms); ${fmt(visible)} series visible`,
  );
  rmSync(dir, { recursive: true, force: true });
}

/** Starts dist/server/main.js on `dataPath` and waits for its "ready" log line (when /ready turns 200). */
async function serverReady(main: string, dataPath: string): Promise<{ ms: number; cpuMs: number }> {
  const t0 = performance.now();
  const child = spawn(process.execPath, [main, "--listen", "127.0.0.1:0", "--data-path", dataPath], { stdio: ["ignore", "pipe", "inherit"] });
  const exited = new Promise((done) => child.on("exit", done));
  let out = "";
  await new Promise<void>((ready, fail) => {
    child.stdout.on("data", (b: Buffer) => {
      out += b.toString();
      if (out.includes('"msg":"storage open; ready"')) ready();
    });
    child.on("exit", () => fail(new Error(`tsink-server exited before ready: ${out}`)));
  });
  const ms = performance.now() - t0;
  // utime and stime (fields 14 and 15 of /proc/<pid>/stat) in clock ticks of 10 ms
  const fields = readFileSync(`/proc/${child.pid}/stat`, "utf8").split(") ")[1]!.split(" ");
  const cpuMs = (Number(fields[11]) + Number(fields[12])) * 10;
  child.stdout.resume();
  child.kill("SIGTERM");
  await exited;
  return { ms, cpuMs };
}

try {
  if (opts["reopen-only"]) {
    await reopenAtScale();
    rmSync(root, { recursive: true, force: true });
    process.exit(0);
  }
  console.log(`workload: ${S} series x ${P} points at 15 s = ${fmt(samples)} samples; one insert call per scrape (${S} rows)`);
  // Warm-up (JIT) on an in-memory storage so the first measured mode is not penalised.
  const warm = await new StorageBuilder().withTimestampPrecision("ms").build();
  for (let j = 0; j < Math.min(P, 60); j++) await warm.insertRows(scrape(j));
  await warm.close();
  const rates: Record<string, number[]> = { off: [], Periodic: [], PerAppend: [] };
  const ROUNDS = 3;
  // Rounds interleave the modes; the median of three per mode is reported (the machine is shared and noisy).
  const plan = Array.from({ length: ROUNDS }, (_, r) => (["off", "Periodic", "PerAppend"] as const).map((mode) => [r + 1, mode] as const)).flat();
  for (const [round, mode] of plan) {
    const dir = join(root, `${mode}-${round}`);
    const { seconds, storage } = await ingest(dir, mode);
    rates[mode]!.push(samples / seconds);
    if (mode === "PerAppend") {
      const flush = (storage.observabilitySnapshot() as { flush: { runs: number; lastCaptureMs: number; lastDurationMs: number } }).flush;
      if (flush.runs > 0) console.log(`background flushes during ingest: ${flush.runs}; last one ${flush.lastDurationMs.toFixed(0)} ms, of which ${flush.lastCaptureMs.toFixed(0)} ms synchronous capture`);
    }
    if (mode === "Periodic" && round === 1) {
      // WAL replay: copy the data dir while it holds only the WAL (no flush yet at this size), then open the copy.
      const copy = join(root, "replay");
      cpSync(dir, copy, { recursive: true, filter: (src) => !src.endsWith(".tsink.lock") });
      const walBytes = dirBytes(join(copy, "wal"));
      const started = performance.now();
      const replayed = await open(copy);
      const replayMs = performance.now() - started;
      const replayedRows = (replayed.observabilitySnapshot() as { ingest: { rowsTotal: number } }).ingest.rowsTotal;
      const check = await replayed.select(metrics[0]!, labels[0]!, 0, endMs + 1);
      console.log(`WAL replay: ${(walBytes / 2 ** 20).toFixed(1)} MiB WAL, ${fmt(replayedRows)} samples in ${replayMs.toFixed(0)} ms = ${fmt(replayedRows / (replayMs / 1000))} samples/s (series 0 has ${check.length} points)`);
      await replayed.close();
      rmSync(copy, { recursive: true, force: true });
    }
    const closeStarted = performance.now();
    await storage.close();
    console.log(`round ${round} ingest WAL ${mode}: ${seconds.toFixed(2)} s = ${fmt(samples / seconds)} samples/s; close (flush + compaction) ${(performance.now() - closeStarted).toFixed(0)} ms`);
    if (round < ROUNDS) rmSync(dir, { recursive: true, force: true });
  }
  const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[xs.length >> 1]!;
  const [off, periodic, perAppend] = [median(rates.off!), median(rates.Periodic!), median(rates.PerAppend!)];
  console.log(`median of ${ROUNDS}: WAL off ${fmt(off)}, Periodic(1s) ${fmt(periodic)}, PerAppend ${fmt(perAppend)} samples/s`);
  console.log(`Periodic(1s) / WAL-off ingest: ${((periodic / off) * 100).toFixed(0)} %; PerAppend / WAL-off: ${((perAppend / off) * 100).toFixed(0)} %`);

  const dir = join(root, `PerAppend-${ROUNDS}`);
  const total = dirBytes(dir);
  const store = await SegmentStore.open(join(dir, "segments"), "f64");
  const chunkFile = store.segments.reduce((n, s) => n + s.manifest.files["chunks.bin"]!.bytes, 0);
  const indexFile = store.segments.reduce((n, s) => n + s.manifest.files["index.bin"]!.bytes, 0);
  console.log(
    `on disk after close: ${fmt(total)} bytes = ${(total / samples).toFixed(3)} bytes/sample; information floor of the values ${entropyFloorBytesPerSample().toFixed(3)} bytes/sample ` +
      `(chunks.bin ${fmt(chunkFile)}, index.bin ${fmt(indexFile)}, ${store.segments.length} segment(s) at levels ${store.segments.map((s) => s.level).join(",")}; WAL ${fmt(dirBytes(join(dir, "wal")))})`,
  );
  // Second-stage compression choice, measured on the raw chunk bytes of the final segments.
  const raw = Buffer.concat(store.segments.flatMap((s) => Array.from({ length: s.manifest.chunkCount }, (_, i) => s.readChunk(i))));
  store.close();
  const block = 64 * 1024;
  const sizes = { raw: raw.length, deflate9: 0, brotli5: 0, brotli9: 0, brotli11: 0 };
  const times = { deflate9: 0, brotli5: 0, brotli9: 0, brotli11: 0 };
  for (let off = 0; off < raw.length; off += block) {
    const part = raw.subarray(off, off + block);
    const t0 = performance.now();
    sizes.deflate9 += deflateRawSync(part, { level: 9 }).length;
    const t1 = performance.now();
    for (const q of [5, 9, 11] as const) {
      const s0 = performance.now();
      sizes[`brotli${q}`] += brotliCompressSync(part, { params: { [zc.BROTLI_PARAM_QUALITY]: q, [zc.BROTLI_PARAM_LGWIN]: 22 } }).length;
      times[`brotli${q}`] += performance.now() - s0;
    }
    times.deflate9 += t1 - t0;
  }
  console.log(
    `second stage on ${fmt(raw.length)} chunk bytes (64 KiB blocks): ` +
      Object.entries(times).map(([k, t]) => `${k} ${fmt(sizes[k as keyof typeof sizes])} B (${((sizes[k as keyof typeof sizes] / raw.length) * 100).toFixed(1)} %, ${t.toFixed(0)} ms)`).join("; "),
  );

  const startedOpen = performance.now();
  const reopened = await open(dir);
  const reopenMs = performance.now() - startedOpen;
  const q0 = performance.now();
  const pts = await reopened.select(metrics[123]!, labels[123]!, 0, endMs + 1);
  console.log(`reopen: ${reopenMs.toFixed(0)} ms; first select after reopen ${(performance.now() - q0).toFixed(1)} ms (${pts.length} points)`);
  await reopened.close();
  await reopenAtScale();
} finally {
  rmSync(root, { recursive: true, force: true });
}
