// Codec benchmark (npm run bench:codec): encode / decode / scan points per second on one core and bytes per point
// for the workloads in issue 2, using 2048-point chunks. Prints a markdown table; figures go to docs/benchmarks.md.
import { encodeChunk, decodeChunk, decodeRangeInto, aggregateChunk, chunkInfo } from "../src/encoding/chunk.js";
import { benchArgs } from "./cli.mjs";

benchArgs({ about: "Chunk codecs: bytes/point and encode, decode and scan speed per workload (2048-point chunks); no flags.", flags: {} });

const CHUNK_POINTS = 2048;
const CHUNKS = 128;
const SCRAPE_MS = 15_000;
const START_MS = 1_700_000_000_000;

/** mulberry32: a small seeded PRNG so runs are comparable. */
function prng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

function gaussian(random: () => number): number {
  return Math.sqrt(-2 * Math.log(1 - random())) * Math.cos(2 * Math.PI * random());
}

interface Workload {
  name: string;
  timestamps: Float64Array;
  values: Float64Array;
}

function regularTimestamps(total: number): Float64Array {
  const ts = new Float64Array(total);
  for (let i = 0; i < total; i++) ts[i] = START_MS + i * SCRAPE_MS;
  return ts;
}

function workloads(): Workload[] {
  const total = CHUNKS * CHUNK_POINTS;
  const random = prng(42);
  const regular = regularTimestamps(total);
  const gauge = new Float64Array(total);
  let level = 100;
  for (let i = 0; i < total; i++) {
    level += gaussian(random) * 0.5;
    gauge[i] = Math.round(level * 100) / 100;
  }
  const counter = new Float64Array(total);
  let count = 0;
  for (let i = 0; i < total; i++) counter[i] = count += Math.floor(random() * 101);
  const steadyCounter = new Float64Array(total);
  count = 0;
  let rate = 0;
  for (let i = 0; i < total; i++) {
    if (i % CHUNK_POINTS === 0) rate = Math.floor(random() * 101);
    steadyCounter[i] = count += rate;
  }
  const jittered = new Float64Array(total);
  for (let i = 0; i < total; i++) jittered[i] = regular[i]! + Math.round((random() - 0.5) * 100);
  // ±50 ms jitter on a 15 s grid never reorders points.
  return [
    { name: "(a) 15 s regular, random-walk gauge, 2 decimals", timestamps: regular, values: gauge },
    { name: "(b) counter, random increments 0..100 per scrape", timestamps: regular, values: counter },
    { name: "(b') counter, steady increment (0..100 per chunk)", timestamps: regular, values: steadyCounter },
    { name: "(c) constant", timestamps: regular, values: new Float64Array(total).fill(42.5) },
    { name: "(d) (a) with ±50 ms timestamp jitter", timestamps: jittered, values: gauge },
  ];
}

/** Points per CPU-second of fn (process user + system time, so other load on the shared machine does not count as
 * ours; GC helper threads do): the best of several ~150 ms rounds. */
function measure(points: number, fn: () => void, rounds = 5, roundMs = 150): number {
  fn();
  let best = 0;
  for (let round = 0; round < rounds; round++) {
    let calls = 0;
    const wallStart = Date.now();
    const cpuStart = process.cpuUsage();
    do {
      fn();
      calls++;
    } while (Date.now() - wallStart < roundMs);
    const cpu = process.cpuUsage(cpuStart);
    best = Math.max(best, (points * calls) / ((cpu.user + cpu.system) / 1e6));
  }
  return best;
}

const fmt = (pointsPerSecond: number) => `${(pointsPerSecond / 1e6).toFixed(0)} M`;

console.log(`tsink codec benchmark: ${CHUNKS} chunks x ${CHUNK_POINTS} points per workload, Node ${process.version}, one core, points per CPU-second, best of 5 rounds\n`);
console.log("| workload | codecs (ts / values) | bytes/point | encode pts/s | decodeChunk pts/s | decodeRangeInto pts/s | aggregate pts/s | 5-min aggregate chunks/s |");
console.log("|---|---|---:|---:|---:|---:|---:|---:|");
for (const w of workloads()) {
  const total = CHUNKS * CHUNK_POINTS;
  const chunks: Uint8Array[] = [];
  for (let c = 0; c < CHUNKS; c++) {
    const from = c * CHUNK_POINTS;
    chunks.push(encodeChunk("f64", w.timestamps.subarray(from, from + CHUNK_POINTS), w.values.subarray(from, from + CHUNK_POINTS)));
  }
  const bytes = chunks.reduce((sum, chunk) => sum + chunk.length, 0);
  const info = chunkInfo(chunks[0]!);
  const encode = measure(total, () => {
    for (let c = 0; c < CHUNKS; c++) {
      const from = c * CHUNK_POINTS;
      encodeChunk("f64", w.timestamps.subarray(from, from + CHUNK_POINTS), w.values.subarray(from, from + CHUNK_POINTS));
    }
  });
  const decode = measure(total, () => {
    for (const chunk of chunks) decodeChunk(chunk);
  });
  const tsOut = new Float64Array(CHUNK_POINTS);
  const valuesOut = new Float64Array(CHUNK_POINTS);
  const decodeInto = measure(total, () => {
    for (const chunk of chunks) decodeRangeInto(chunk, -Infinity, Infinity, tsOut, valuesOut, 0);
  });
  const scan = measure(total, () => {
    for (const chunk of chunks) aggregateChunk(chunk, -Infinity, Infinity);
  });
  // An instant query's 5-minute window: the last 20 points of each chunk (range decode skips the other blocks).
  const windows = chunks.map((chunk) => {
    const maxTs = chunkInfo(chunk).maxTs as number;
    return [maxTs - 5 * 60_000 + 1, maxTs + 1] as const;
  });
  const shortScan = measure(CHUNKS, () => {
    for (let c = 0; c < CHUNKS; c++) aggregateChunk(chunks[c]!, windows[c]![0], windows[c]![1]);
  });
  console.log(
    `| ${w.name} | ${info.timestampCodec} / ${info.valueCodec} | ${(bytes / total).toFixed(3)} | ${fmt(encode)} | ${fmt(decode)} | ${fmt(decodeInto)} | ${fmt(scan)} | ${(shortScan / 1e6).toFixed(2)} M |`,
  );
}
