// Bounds the server's garbage memory between collections: V8 collects dead Buffers/typed arrays only after ~64 MiB
// of external allocation, and lets its old space grow up to 4x the live heap before a full GC; both held dead
// memory at the RSS peaks (query evaluation, flush and compaction after an ingest burst).

import { setFlagsFromString } from "node:v8";
import { runInNewContext } from "node:vm";

/**
 * Collect once ArrayBuffer bytes exceed what survived the last collection by this much: while writes come (a
 * tighter bound there costs ingest CPU), and once no write came for WRITE_QUIET_MS (queries, flush, compaction).
 */
const BUFFER_GARBAGE_BYTES = 32 << 20;
const QUIET_BUFFER_GARBAGE_BYTES = 16 << 20;
const CHECK_INTERVAL_MS = 100;
/** After a scavenge, the next check comes this much later (V8 frees the dead buffers' memory on other threads). */
const SCAVENGE_RECHECK_MS = 10;

/**
 * The decision alone: collect when buffers grew `slack` bytes above the low-water mark since the last full collection;
 * young garbage first (a scavenge, ~1 ms: the Buffers and typed arrays of requests that just finished, most of a
 * query phase's garbage), everything when the bytes are still over the bound after that scavenge (old garbage: a
 * flush's or compaction's buffers), since a full GC stops the server for 5-25 ms and a query waiting for it pays that.
 */
export class BufferGcTrigger {
  private base: number;
  private scavenged = false;

  constructor(public slack: number, initialBytes = 0) {
    this.base = initialBytes;
  }

  /** Whether a collection is due at `bytes` of live-or-dead ArrayBuffers. */
  due(bytes: number): boolean {
    if (bytes < this.base) this.base = bytes; // V8 collected on its own: the live set is at most this
    return bytes > this.base + this.slack;
  }

  /** The collection due at `bytes`: none, a scavenge, or (after a scavenge that did not suffice) a full GC. */
  next(bytes: number): "none" | "minor" | "full" {
    if (!this.due(bytes)) {
      this.scavenged = false;
      return "none";
    }
    if (this.scavenged) return "full";
    this.scavenged = true;
    return "minor";
  }

  /** Records the ArrayBuffer bytes left after a full collection (the live set). */
  collected(bytes: number): void {
    this.base = bytes;
    this.scavenged = false;
  }
}

/**
 * Old-space growth allowed between full GCs once no write came for WRITE_QUIET_MS: the heap may grow 20 % over what
 * survived the last full GC. While writes keep coming V8 picks the factor itself (up to 4x): a tight bound there
 * costs ingest CPU (more full GCs while the live heap grows with new series); away from it, it costs query CPU
 * (~15 % more at 100k series than 50 %, which peaked ~25 MiB higher; docs/benchmarks.md).
 */
export const QUIET_HEAP_GROWING_PERCENT = 20;
export const WRITE_QUIET_MS = 1000;

let lastWriteAt = -Infinity;

/** Called by the ingest path for every write. */
export function noteWrite(): void {
  lastWriteAt = performance.now();
}

/** V8's --heap-growing-percent for the time since the last write (0: V8's own dynamic factor). */
export function heapGrowingPercent(msSinceWrite: number): number {
  return msSinceWrite >= WRITE_QUIET_MS ? QUIET_HEAP_GROWING_PERCENT : 0;
}

/**
 * Every 100 ms: collects when the ArrayBuffer garbage bound (for the write activity) is exceeded (a scavenge first,
 * checked again SCAVENGE_RECHECK_MS later, when V8's concurrent sweeping has freed what it found; a full GC if that
 * did not suffice), and sets V8's heap growth for the write activity (the flag is read whenever V8 recomputes its
 * limit, i.e. at each GC; one full GC applies it when a write burst ends). Returns a stop function.
 */
export function startBufferGc(slack = BUFFER_GARBAGE_BYTES, quietSlack = QUIET_BUFFER_GARBAGE_BYTES): () => void {
  setFlagsFromString("--expose-gc");
  // the flag exposes gc() in contexts created after it; { type: "minor" } asks for a scavenge only
  const gc = runInNewContext("gc") as (options?: { type: "minor" | "major" }) => void;
  const trigger = new BufferGcTrigger(slack, process.memoryUsage().arrayBuffers);
  let growing = 0;
  let recheck: NodeJS.Timeout | undefined;
  const check = () => {
    recheck = undefined;
    switch (trigger.next(process.memoryUsage().arrayBuffers)) {
      case "none":
        return;
      case "minor":
        gc({ type: "minor" });
        recheck = setTimeout(check, SCAVENGE_RECHECK_MS);
        recheck.unref();
        return;
      case "full":
        gc();
        trigger.collected(process.memoryUsage().arrayBuffers);
    }
  };
  const timer = setInterval(() => {
    const percent = heapGrowingPercent(performance.now() - lastWriteAt);
    if (percent !== growing) {
      growing = percent;
      setFlagsFromString(`--heap-growing-percent=${percent}`);
      trigger.slack = percent > 0 ? quietSlack : slack;
      if (percent > 0) {
        // A burst just ended: V8's limit still stems from the last full GC inside it (live heap with its
        // garbage, times up to 4), so the flush and compaction that follow could grow the heap up to there.
        // One full GC now frees the burst's garbage and sets the limit from what is left, with the new factor.
        gc();
        trigger.collected(process.memoryUsage().arrayBuffers);
        return;
      }
    }
    if (recheck === undefined) check();
  }, CHECK_INTERVAL_MS);
  timer.unref();
  return () => {
    clearInterval(timer);
    clearTimeout(recheck);
    setFlagsFromString("--heap-growing-percent=0");
  };
}
