// Exemplar store costs at its limit (50,000 exemplars): insert CPU per exemplar while every insert evicts, the save
// before an acknowledged write (serialize + write + fsync + rename of server/exemplar-store.json) when one series
// changed and when all did, and a query_exemplars selection over everything; and the decode of a remote-write
// request of 5,000 samples with and without 10 exemplars; with --baseline, that decode without exemplars
// alternately through another build's dist/protocols/remote.js (e.g. main's). CPU times via process.cpuUsage.
// Usage: node --import tsx bench/exemplar-store.ts [--runs 5] [--baseline /path/to/other/dist]
import { benchArgs } from "./cli.mjs";
import { mkdtempSync, rmSync, statSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { DecodedExemplar } from "../src/protocols/exemplars.js";
import { decodeWriteRequest, remoteProto } from "../src/protocols/remote.js";
import { ExemplarStore } from "../src/server/exemplar-store.js";
import { SeriesKey } from "../src/storage/types.js";

const { values } = benchArgs({
  about: "Exemplar store at its 50,000 limit: insert CPU per exemplar (each evicting), the save before an acknowledged write, a query.",
  flags: {
    runs: { type: "string", default: 5, help: "repetitions (medians printed)" },
    baseline: { type: "string", help: "another build's dist/ directory: A/B of the exemplar-free remote-write decode" },
  },
});
const runs = Number(values.runs);
const SERIES = 400;
const keys = Array.from({ length: SERIES }, (_, i) => new SeriesKey("http_request_duration_seconds_bucket", [
  { name: "__tsink_tenant__", value: "default" }, { name: "instance", value: `host-${i}:9100` }, { name: "job", value: "api" }, { name: "le", value: "0.5" },
]));
const batch = (start: number, n: number): DecodedExemplar[] =>
  Array.from({ length: n }, (_, i) => ({
    series: keys[(start + i) % SERIES]!,
    labels: [{ name: "span_id", value: "b7ad6b7169203331" }, { name: "trace_id", value: `0af7651916cd43dd8448eb211c8${String(start + i).padStart(5, "0")}` }],
    timestamp: 1_700_000_000_000 + start + i,
    value: 0.042,
  }));
const cpuMs = (f: () => void) => {
  const before = process.cpuUsage();
  f();
  const d = process.cpuUsage(before);
  return (d.user + d.system) / 1000;
};
const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[xs.length >> 1]!;

const dir = mkdtempSync(join(tmpdir(), "tsink-exbench-"));
try {
  const path = join(dir, "exemplar-store.json");
  const store = new ExemplarStore(path);
  let next = 0;
  store.insert(batch(next, 50_000));
  next += 50_000;
  const insertUs: number[] = [];
  const saveOne: number[] = [];
  const saveAll: number[] = [];
  const query: number[] = [];
  for (let r = 0; r < runs; r++) {
    // 512 exemplars (one request at the limit), each evicting the globally oldest
    const b = batch(next, 512);
    next += 512;
    insertUs.push((cpuMs(() => store.insert(b)) * 1000) / 512);
    await store.persisted(); // all series changed
    store.insert(batch(next++, 1)); // one series changed
    let t = performance.now();
    await store.persisted();
    saveOne.push(performance.now() - t);
    store.insert(batch(next, SERIES));
    next += SERIES;
    t = performance.now();
    await store.persisted();
    saveAll.push(performance.now() - t);
    query.push(cpuMs(() => store.query("default", [[{ name: "__name__", op: "=~", value: "http_.*" }]], 0, 2e12, 1000, (ts) => String(ts))));
  }
  console.log(`store at ${store.size} exemplars in ${store.seriesCount} series, file ${(statSync(path).size / 1e6).toFixed(1)} MB; medians of ${runs} runs:`);
  console.log(`insert (every one evicts): ${median(insertUs).toFixed(2)} us CPU per exemplar`);
  console.log(`save after a write to 1 series: ${median(saveOne).toFixed(1)} ms wall; after a write to all ${SERIES} series: ${median(saveAll).toFixed(1)} ms wall`);
  console.log(`query_exemplars over all series (1000 results): ${median(query).toFixed(1)} ms CPU`);
  // remote-write decode: 500 series x 10 samples, as a scrape-shaped request; the second carries 10 exemplars
  const WriteRequest = remoteProto.lookupType("prometheus.WriteRequest");
  const request = (withExemplars: boolean) =>
    WriteRequest.encode(WriteRequest.fromObject({
      timeseries: Array.from({ length: 500 }, (_, i) => ({
        labels: [{ name: "__name__", value: "node_cpu_seconds_total" }, { name: "cpu", value: String(i % 8) }, { name: "instance", value: `host-${i}:9100` }],
        samples: Array.from({ length: 10 }, (_, j) => ({ value: i + j, timestamp: 1_700_000_000_000 + j * 15_000 })),
        exemplars: withExemplars && i % 50 === 0 ? [{ labels: [{ name: "trace_id", value: `t${i}` }], value: 1, timestamp: 1_700_000_000_000 }] : [],
      })),
    })).finish();
  for (const withExemplars of [false, true]) {
    const bytes = request(withExemplars);
    const decodeUs: number[] = [];
    for (let r = 0; r < 20 * runs; r++) decodeUs.push((cpuMs(() => decodeWriteRequest(bytes, "ms").release()) * 1000) / 5000);
    console.log(`remote-write decode, 5,000 samples ${withExemplars ? "with 10 exemplars" : "without exemplars"}: ${median(decodeUs).toFixed(3)} us CPU per sample`);
  }
  if (values.baseline) {
    const other = (await import(join(values.baseline, "protocols", "remote.js"))) as { decodeWriteRequest: typeof decodeWriteRequest };
    const bytes = request(false);
    const ab: Record<"this" | "baseline", number[]> = { this: [], baseline: [] };
    for (let r = 0; r < 30 * runs; r++) {
      const order = r % 2 ? (["this", "baseline"] as const) : (["baseline", "this"] as const);
      for (const which of order) {
        const decode = which === "this" ? decodeWriteRequest : other.decodeWriteRequest;
        ab[which].push((cpuMs(() => { for (let k = 0; k < 50; k++) decode(bytes, "ms").release(); }) * 1000) / 50 / 5000);
      }
    }
    console.log(`remote-write decode without exemplars, A/B alternating: this build ${median(ab.this).toFixed(4)}, baseline ${median(ab.baseline).toFixed(4)} us CPU per sample`);
  }
} finally {
  rmSync(dir, { recursive: true, force: true });
}
