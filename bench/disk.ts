// Disk benchmark (npm run bench:disk): the peer workload (10k series x 240 points at 15 s, from
// ../shared/tools/peerbench/lib/workload.mjs) written through the embedded API with a data path. Prints ingest
// samples/s for PerAppend, Periodic(1s) and WAL-off, bytes/sample on disk after close (flush + compaction), reopen
// time, WAL replay rate, and the second-stage compression comparison (brotli vs deflate) on the chunk bytes.
import { cpSync, mkdtempSync, readdirSync, rmSync, statSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { pathToFileURL } from "node:url";
import { brotliCompressSync, deflateRawSync, constants as zc } from "node:zlib";
import { StorageBuilder, type Row, type Storage, type WalSyncMode } from "../src/index.js";
import { SegmentStore } from "../src/storage/segment/store.js";

interface Workload {
  series: { labels: [string, string][] }[];
  values: Float64Array;
  timestamps: Float64Array;
  S: number;
  P: number;
}

const S = Number(process.env.DISK_BENCH_SERIES ?? 10_000);
const P = Number(process.env.DISK_BENCH_POINTS ?? 240);
const workloadUrl = pathToFileURL(resolve(import.meta.dirname, "../../shared/tools/peerbench/lib/workload.mjs")).href;
interface Template {
  kind: "counter" | "gauge" | "const" | "clock";
  rate?: number;
  base?: number;
  vol?: number;
  decimals?: number;
  quantum?: number;
  integerIncrements?: boolean;
}
const { makeWorkload, TEMPLATE } = (await import(workloadUrl)) as {
  makeWorkload: (o: { S: number; P: number; endMs: number }) => Workload;
  TEMPLATE: Template[];
};

/**
 * Information floor of the workload's values: each step adds uniform noise of a known width (counter increments,
 * gauge steps, clock jitter), quantised to `decimals`/`quantum`; log2(width / quantum) bits per sample cannot be
 * compressed away. Averaged over the series templates (timestamps are regular and cost ~0).
 */
function entropyFloorBytesPerSample(): number {
  const dt = 15;
  let bits = 0;
  for (const t of TEMPLATE) {
    const q = t.quantum ?? (t.decimals !== undefined ? 10 ** -t.decimals : 0);
    if (t.kind === "counter") {
      const width = t.rate! * dt;
      bits += t.integerIncrements ? Math.log2(width + 1) : Math.log2(Math.max(1, width / q));
    } else if (t.kind === "gauge") bits += q > 0 ? Math.max(0, Math.log2((2 * t.vol! * t.base!) / q)) : 52;
    else if (t.kind === "clock") bits += Math.log2(10);
  }
  return bits / TEMPLATE.length / 8;
}
const endMs = Math.floor(Date.now() / 15_000) * 15_000 - 60_000;
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
try {
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
    `on disk after close: ${fmt(total)} bytes = ${(total / samples).toFixed(3)} bytes/sample; information floor of the values ~${entropyFloorBytesPerSample().toFixed(2)} bytes/sample ` +
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
} finally {
  rmSync(root, { recursive: true, force: true });
}
