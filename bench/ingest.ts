// Remote-write ingest path in process (not a test): peerbench's workload encoded as snappy WriteRequests exactly as
// peerbench sends them (series i on connection i mod 4, 5,000 samples per request), then decoded and inserted
// with 4 requests in flight, as the server does per request. Prints process CPU microseconds per sample per stage.
// Run: node --import tsx bench/ingest.ts [--series 10000] [--points 240] [--wal off|periodic|per-append]
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { decodeWriteRequest, remoteProto } from "../src/protocols/remote.js";
import { snappyCompress, snappyDecompressTransient } from "../src/protocols/snappy.js";
import "../src/storage/segment/disk-durability.js";
import { StorageBuilder } from "../src/storage/builder.js";
import { loadWasm } from "../src/wasm/loader.js";
import { benchArgs } from "./cli.mjs";
import { importPeerbench, type MakeWorkload, PEERBENCH_ENV, PEERBENCH_FLAG, WORKLOAD_FLAGS } from "./peerbench.mjs";

const { values: opts } = benchArgs({
  about: "Remote-write ingest in process (snappy WriteRequests as peerbench sends them, decoded and inserted): CPU us per sample per stage.",
  flags: {
    ...WORKLOAD_FLAGS,
    wal: { type: "string", default: "per-append", help: "off | periodic | per-append" },
    peerbench: PEERBENCH_FLAG,
  },
  env: PEERBENCH_ENV,
});
const S = Number(opts.series);
const P = Number(opts.points);
const wal = opts.wal;
if (!["off", "periodic", "per-append"].includes(wal)) throw new Error(`--wal ${wal}: off, periodic or per-append (see --help)`);
const C = 4;
const BATCH = 5000;
const WriteRequest = remoteProto.lookupType("prometheus.WriteRequest");
const { makeWorkload } = (await importPeerbench(opts.peerbench, "workload.mjs")) as {
  makeWorkload: MakeWorkload;
};

const wl = makeWorkload({ S, P, endMs: Math.floor(Date.now() / 60_000) * 60_000 - 60_000 });
const requests: Buffer[][] = [];
for (let w = 0; w < C; w++) {
  const out: Buffer[] = [];
  let timeseries: object[] = [];
  const cut = () => {
    out.push(Buffer.from(snappyCompress(WriteRequest.encode({ timeseries }).finish())));
    timeseries = [];
  };
  for (let j = 0; j < P; j++) {
    for (let i = w; i < S; i += C) {
      timeseries.push({ labels: wl.series[i]!.labels.map(([name, value]) => ({ name, value })), samples: [{ value: wl.values[i * P + j], timestamp: wl.timestamps[j] }] });
      if (timeseries.length === BATCH) cut();
    }
  }
  if (timeseries.length > 0) cut();
  requests.push(out);
}

const dir = mkdtempSync(join(tmpdir(), "tsink-bench-ingest-"));
const builder = new StorageBuilder().withTimestampPrecision("ms").withDataPath(dir);
if (wal === "off") builder.withWalEnabled(false);
else if (wal === "periodic") builder.withWalSyncMode({ periodicMs: 1000 });
const storage = await builder.build();

const cpu = { snappy: 0, decode: 0 };
let peak = process.memoryUsage();
const watchMemory = setInterval(() => {
  const m = process.memoryUsage();
  if (m.rss > peak.rss) peak = m;
}, 50);
const cpuNow = () => {
  const u = process.cpuUsage();
  return u.user + u.system;
};
const started = cpuNow();
const wall = performance.now();
await Promise.all(
  requests.map(async (reqs) => {
    for (const body of reqs) {
      let t = cpuNow();
      const raw = snappyDecompressTransient(body, 64 << 20);
      cpu.snappy += cpuNow() - t;
      t = cpuNow();
      const decoded = decodeWriteRequest(raw, "ms");
      cpu.decode += cpuNow() - t;
      await storage.insertColumns(decoded.samples);
      decoded.release();
    }
  }),
);
const total = cpuNow() - started;
clearInterval(watchMemory);
const wallS = (performance.now() - wall) / 1000;
const samples = S * P;
const us = (x: number) => (x / samples).toFixed(3);
console.log(`${S} series x ${P} points, WAL ${wal}: ${(samples / wallS / 1e6).toFixed(2)} M samples/s wall, process CPU ${us(total)} us/sample`);
console.log(`  snappy ${us(cpu.snappy)}, decode ${us(cpu.decode)}, the rest (insertColumns: validate, WAL, apply; flushes; GC) ${us(total - cpu.snappy - cpu.decode)} us/sample`);
const mib = (x: number) => `${(x / 1048576).toFixed(0)} MiB`;
console.log(`  at peak RSS ${mib(peak.rss)}: V8 heap ${mib(peak.heapTotal)} (used ${mib(peak.heapUsed)}), external ${mib(peak.external)} (array buffers ${mib(peak.arrayBuffers)}); tsink.wasm memory ${mib(loadWasm().memory.buffer.byteLength)}; max RSS ${mib(process.resourceUsage().maxRSS * 1024)}`);
await storage.close();
rmSync(dir, { recursive: true, force: true });
