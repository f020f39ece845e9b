// Bounds the server's garbage ArrayBuffer memory: V8 collects dead Buffers/typed arrays only after ~64 MiB of
// external allocation, so bursts (query evaluation, request bodies) held ~60-90 MiB of dead buffers at the RSS peak.

import { setFlagsFromString } from "node:v8";
import { runInNewContext } from "node:vm";

/** Collect once ArrayBuffer bytes exceed what survived the last collection by this much. */
export const BUFFER_GARBAGE_BYTES = 32 << 20;
const CHECK_INTERVAL_MS = 100;

/** The decision alone: collect when buffers grew `slack` bytes above the low-water mark since the last collection. */
export class BufferGcTrigger {
  private base: number;

  constructor(readonly slack: number, initialBytes = 0) {
    this.base = initialBytes;
  }

  /** Whether a collection is due at `bytes` of live-or-dead ArrayBuffers. */
  due(bytes: number): boolean {
    if (bytes < this.base) this.base = bytes; // V8 collected on its own: the live set is at most this
    return bytes > this.base + this.slack;
  }

  /** Records the ArrayBuffer bytes left after a collection (the live set). */
  collected(bytes: number): void {
    this.base = bytes;
  }
}

/** Checks ArrayBuffer memory every 100 ms and runs a full GC when the garbage bound is exceeded; returns a stop function. */
export function startBufferGc(slack = BUFFER_GARBAGE_BYTES): () => void {
  setFlagsFromString("--expose-gc");
  const gc = runInNewContext("gc") as () => void; // the flag exposes gc() in contexts created after it
  const trigger = new BufferGcTrigger(slack, process.memoryUsage().arrayBuffers);
  const timer = setInterval(() => {
    if (!trigger.due(process.memoryUsage().arrayBuffers)) return;
    gc();
    trigger.collected(process.memoryUsage().arrayBuffers);
  }, CHECK_INTERVAL_MS);
  timer.unref();
  return () => clearInterval(timer);
}
