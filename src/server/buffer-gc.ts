// Bounds the server's garbage memory between collections: V8 collects dead Buffers/typed arrays only after ~64 MiB
// of external allocation, and lets its old space grow up to 4x the live heap before a full GC; both held dead
// memory at the RSS peaks (query evaluation, flush and compaction after an ingest burst).

import { performance } from "node:perf_hooks";
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
/**
 * The room above the live heap that the quiet factor leaves at least. V8 starts incremental marking while 8-14 MiB
 * are still left below its old-space limit (`--trace-incremental-marking`, 4 MiB semi-spaces), and its minimum step
 * above the live heap is about that much: at 20 % of a small live heap (10k series: ~19 MiB) it began marking again
 * right after each mark-compact, and the marking steps (5-26 ms per cycle) landed on queries. 24 MiB leaves ~10 MiB
 * of promotions between mark-compacts (a 10k query phase promotes ~2 MiB); from 120 MiB of live heap on, 20 % is
 * more and applies.
 */
export const QUIET_HEAP_ROOM_BYTES = 24 << 20;
const MAX_QUIET_HEAP_GROWING_PERCENT = 300;
export const WRITE_QUIET_MS = 1000;

let lastWriteAt = -Infinity;

/** Called by the ingest path for every write. */
export function noteWrite(): void {
  lastWriteAt = performance.now();
}

/**
 * V8's --heap-growing-percent (0: V8's own dynamic factor) for the time since the last write, whether the server has
 * since been idle for IDLE_GC_AFTER_MS (the flush and compaction after a burst are done), and the live heap left by
 * the last full GC: QUIET_HEAP_GROWING_PERCENT while the flush and compaction run (their garbage makes the RSS peaks),
 * then what leaves QUIET_HEAP_ROOM_BYTES above a small live heap, for the requests that follow.
 */
export function heapGrowingPercent(msSinceWrite: number, idleSettled: boolean, liveHeapBytes: number): number {
  if (msSinceWrite < WRITE_QUIET_MS) return 0;
  if (!idleSettled) return QUIET_HEAP_GROWING_PERCENT;
  const forRoom = Math.ceil((100 * QUIET_HEAP_ROOM_BYTES) / Math.max(liveHeapBytes, 1));
  return Math.min(MAX_QUIET_HEAP_GROWING_PERCENT, Math.max(QUIET_HEAP_GROWING_PERCENT, forRoom));
}

/**
 * A full GC once the event loop has been idle for IDLE_GC_AFTER_MS and the JS heap plus ArrayBuffers grew by
 * IDLE_GC_GROWTH_BYTES since the last full GC (a flush, a compaction, a burst of requests): V8 counts the ArrayBuffers
 * allocated since its last mark-compact against the old generation's limit, and the dead ones it has promoted are only
 * freed by a mark-compact, so after a flush or compaction V8 had a marking cycle pending that started with the next
 * requests (the first queries after an ingest paid a 3-9 ms pause). Run while idle, the same collection costs no
 * request anything, and leaves the limit computed from the live set.
 */
export const IDLE_GC_AFTER_MS = 1000;
export const IDLE_GC_GROWTH_BYTES = 4 << 20;
/** Event-loop time per check interval above which the server counts as busy (the check itself takes ~0.05 ms). */
export const BUSY_MS_PER_CHECK = 1;

/** The decision alone: one collection per idle stretch, when enough was allocated since the last full GC. */
export class IdleGcTrigger {
  private idleMs = 0;
  private base: number;

  constructor(initialBytes: number, public afterMs = IDLE_GC_AFTER_MS, public growth = IDLE_GC_GROWTH_BYTES) {
    this.base = initialBytes;
  }

  /**
   * Records one check interval of `elapsedMs` in which the event loop was busy for `activeMs`, with `bytes` of JS heap
   * plus ArrayBuffers in use: "work" (busy, or idle for less than `afterMs`), "idle" (idle long enough, too little
   * allocated to collect) or "collect" (collect now).
   */
  tick(activeMs: number, elapsedMs: number, bytes: number): "work" | "idle" | "collect" {
    if (bytes < this.base) this.base = bytes; // V8 collected on its own
    if (activeMs >= BUSY_MS_PER_CHECK) {
      this.idleMs = 0;
      return "work";
    }
    this.idleMs += elapsedMs;
    if (this.idleMs < this.afterMs) return "work";
    return bytes >= this.base + this.growth ? "collect" : "idle";
  }

  /** Records the bytes left by a full GC (this one or another). */
  collected(bytes: number): void {
    this.base = bytes;
  }
}

/**
 * Every 100 ms: collects when the ArrayBuffer garbage bound (for the write activity) is exceeded (a scavenge first,
 * checked again SCAVENGE_RECHECK_MS later, when V8's concurrent sweeping has freed what it found; a full GC if that
 * did not suffice), and sets V8's heap growth for the write activity (the flag is read whenever V8 recomputes its
 * limit, i.e. at each GC; one full GC applies it when a write burst ends); one full GC once the event loop has been
 * idle for IDLE_GC_AFTER_MS with enough allocated since the last one (IdleGcTrigger). Returns a stop function.
 */
export function startBufferGc(slack = BUFFER_GARBAGE_BYTES, quietSlack = QUIET_BUFFER_GARBAGE_BYTES): () => void {
  setFlagsFromString("--expose-gc");
  // the flag exposes gc() in contexts created after it; { type: "minor" } asks for a scavenge only
  const gc = runInNewContext("gc") as (options?: { type: "minor" | "major" }) => void;
  const trigger = new BufferGcTrigger(slack, process.memoryUsage().arrayBuffers);
  const start = process.memoryUsage();
  const idle = new IdleGcTrigger(start.heapUsed + start.arrayBuffers);
  let loop = performance.eventLoopUtilization();
  let quiet = false;
  let settled = false;
  let growing = 0;
  let liveHeap = start.heapUsed;
  /** Sets V8's factor for the write activity and the live heap (read by V8 whenever it recomputes its limit). */
  const applyGrowth = () => {
    const percent = heapGrowingPercent(quiet ? Infinity : 0, settled, liveHeap);
    if (percent === growing) return;
    growing = percent;
    setFlagsFromString(`--heap-growing-percent=${percent}`);
  };
  const fullGc = () => {
    gc();
    const { heapUsed, arrayBuffers } = process.memoryUsage();
    liveHeap = heapUsed;
    applyGrowth(); // (V8 applies it from its next mark-compact; the live heap moves little between full GCs)
    trigger.collected(arrayBuffers);
    idle.collected(heapUsed + arrayBuffers);
    loop = performance.eventLoopUtilization(); // the collection's own time is not work that asks for another
  };
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
        fullGc();
    }
  };
  const timer = setInterval(() => {
    const nowQuiet = performance.now() - lastWriteAt >= WRITE_QUIET_MS;
    if (nowQuiet !== quiet) {
      quiet = nowQuiet;
      settled = false;
      applyGrowth();
      trigger.slack = quiet ? quietSlack : slack;
      if (quiet) {
        // A burst just ended: V8's limit still stems from the last full GC inside it (live heap with its
        // garbage, times up to 4), so the flush and compaction that follow could grow the heap up to there.
        // One full GC now frees the burst's garbage and sets the limit from what is left, with the new factor.
        fullGc();
        return;
      }
    }
    const since = performance.eventLoopUtilization(loop);
    loop = performance.eventLoopUtilization();
    const { heapUsed, arrayBuffers } = process.memoryUsage();
    const state = idle.tick(since.active, since.idle + since.active, heapUsed + arrayBuffers);
    if (state !== "work" && quiet && !settled) {
      settled = true;
      applyGrowth(); // before the collection below, which computes V8's next limit with it
    }
    if (state === "collect") {
      fullGc();
      return;
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
