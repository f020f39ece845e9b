// Loads a peerbench workload into an embedded Storage: the in-process benches' data, the same rows the server gets.
import type { Row, Storage } from "../src/index.js";
import type { PeerbenchWorkload } from "./peerbench.mjs";

/** Inserts every sample of `wl` through insertRows, series after series, in batches of 100k rows. */
export async function insertWorkload(storage: Storage, wl: PeerbenchWorkload): Promise<void> {
  const batch: Row[] = [];
  for (let i = 0; i < wl.S; i++) {
    const labels = wl.series[i]!.labels.filter(([k]) => k !== "__name__").map(([name, value]) => ({ name, value }));
    const metric = wl.series[i]!.labels.find(([k]) => k === "__name__")![1];
    for (let j = 0; j < wl.P; j++) batch.push({ metric, labels, dataPoint: { timestamp: wl.timestamps[j]!, value: wl.values[i * wl.P + j]! } });
    if (batch.length >= 100_000) await storage.insertRows(batch.splice(0));
  }
  if (batch.length > 0) await storage.insertRows(batch.splice(0));
}
