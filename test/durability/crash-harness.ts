// Crash harness shared by crash.test.ts (npm test) and crash-soak.ts (npm run soak:crash): runs a writer child,
// SIGKILLs it at a random moment, reopens the data dir and checks that every acknowledged batch is there, whole,
// exactly once, with the right values.
import { spawn } from "node:child_process";
import { join } from "node:path";
import "../../src/storage/segment/disk-durability.js";
import { StorageBuilder } from "../../src/storage/builder.js";
import type { Row } from "../../src/storage/types.js";

export const SERIES = 16;
export const WRITERS = 4;
const BASE_TS = 1_600_000_000_000;
const labelSets = Array.from({ length: SERIES }, (_, s) => [{ name: "s", value: String(s) }]);

const tsOf = (batch: number) => BASE_TS + batch * 10;
const valueOf = (batch: number, s: number) => batch * 100 + s + 0.25;

export function batchRows(batch: number): Row[] {
  const ts = tsOf(batch);
  return labelSets.map((labels, s) => ({ metric: "crash", labels, dataPoint: { timestamp: ts, value: valueOf(batch, s) } }));
}

export interface KillReport {
  /** Batches this child acknowledged before the kill. */
  acked: number;
}

/**
 * Runs one writer child for `run`, kills it a random delay (up to `maxDelayMs`) after its first `minAcks`
 * acknowledgements, returns the batches it acknowledged. With
 * Periodic, acknowledged means written to the OS, which a SIGKILL (unlike power loss) does not undo.
 */
export async function runAndKill(
  dataDir: string,
  run: number,
  maxDelayMs: number,
  acked: Set<number>,
  mode: "PerAppend" | "Periodic" = "PerAppend",
  minAcks = 0,
): Promise<KillReport> {
  const script = join(import.meta.dirname, "fixtures", "crash-writer.ts");
  const child = spawn(process.execPath, ["--import", "tsx", script, dataDir, String(run), mode], { stdio: ["ignore", "pipe", "pipe"] });
  let out = "";
  let err = "";
  let count = 0;
  let ready!: () => void;
  const readyP = new Promise<void>((r) => (ready = r));
  let enoughAcks!: () => void;
  const enoughAcksP = new Promise<void>((r) => (enoughAcks = r));
  if (minAcks === 0) enoughAcks();
  child.stdout.on("data", (d: Buffer) => {
    out += d.toString();
    let nl: number;
    while ((nl = out.indexOf("\n")) >= 0) {
      const line = out.slice(0, nl);
      out = out.slice(nl + 1);
      if (line === "ready") ready();
      else if (line.startsWith("ack ")) {
        acked.add(Number(line.slice(4)));
        if (++count === minAcks) enoughAcks();
      }
    }
  });
  child.stderr.on("data", (d: Buffer) => (err += d.toString()));
  const exited = new Promise<number | null>((r) => child.once("exit", (code) => r(code)));
  const early = await Promise.race([readyP.then(() => undefined), exited]);
  if (early !== undefined) throw new Error(`writer exited before ready (code ${early}): ${err}`);
  // Counted in acknowledgements, not time: a loaded machine can keep the writer from acknowledging anything for a while.
  const slow = await Promise.race([enoughAcksP.then(() => undefined), exited]);
  if (slow !== undefined) throw new Error(`writer exited after ${count} of ${minAcks} acknowledgements (code ${slow}): ${err}`);
  await new Promise((r) => setTimeout(r, Math.random() * maxDelayMs));
  child.kill("SIGKILL");
  await exited;
  if (err.trim()) throw new Error(`writer printed errors: ${err}`);
  return { acked: count };
}

/** Opens the data dir (WAL replay + segments) and checks every acknowledged batch; returns batches present. */
export async function verify(dataDir: string, acked: ReadonlySet<number>): Promise<number> {
  const storage = await new StorageBuilder().withDataPath(dataDir).withTimestampPrecision("ms").withChunkPoints(32).build();
  try {
    const perBatch = new Map<number, number>();
    for (let s = 0; s < SERIES; s++) {
      const points = await storage.select("crash", labelSets[s]!, BASE_TS, BASE_TS + 1e12);
      let prev = -Infinity;
      for (const p of points) {
        const ts = Number(p.timestamp);
        if (ts <= prev) throw new Error(`series ${s}: timestamp ${ts} duplicated or out of order`);
        prev = ts;
        const batch = (ts - BASE_TS) / 10;
        if (!Number.isInteger(batch) || p.value !== valueOf(batch, s)) throw new Error(`series ${s}: corrupt point ${ts} = ${String(p.value)}`);
        perBatch.set(batch, (perBatch.get(batch) ?? 0) + 1);
      }
    }
    for (const b of acked) if (!perBatch.has(b)) throw new Error(`acknowledged batch ${b} is missing`);
    for (const [b, n] of perBatch) if (n !== SERIES) throw new Error(`batch ${b} is torn: ${n} of ${SERIES} series`);
    return perBatch.size;
  } finally {
    await storage.close();
  }
}
