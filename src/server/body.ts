// Request body reading with a hard cap on the bytes taken off the wire (413 before buffering more than the limit),
// optionally into reusable buffers (BodyBufferPool) so a busy ingest route does not allocate a body-sized buffer
// per request.
import type { Context } from "koa";
import { HttpError } from "./http-error.js";

/**
 * Reusable body buffers: a read copies the body's chunks into a pooled buffer instead of a fresh one per request;
 * the caller gives it back with `release` once nothing refers to the bytes. Bounded: buffers above
 * `maxBufferBytes` are never kept, and at most `maxFree` wait for reuse.
 */
export class BodyBufferPool {
  private readonly free: Buffer[] = [];
  private readonly owned = new WeakSet<ArrayBufferLike>();

  constructor(
    readonly maxBufferBytes = 8 << 20,
    readonly maxFree = 8,
  ) {}

  /** `size` bytes in a pooled buffer (a fresh one when none free is large enough, or above the size bound). */
  take(size: number): Buffer {
    for (let i = this.free.length - 1; i >= 0; i--) {
      const b = this.free[i]!;
      if (b.length >= size) {
        this.free.splice(i, 1);
        return b.subarray(0, size);
      }
    }
    if (size > this.maxBufferBytes) return Buffer.allocUnsafe(size);
    // round up so slightly larger bodies later still fit
    const b = Buffer.allocUnsafeSlow(Math.min(this.maxBufferBytes, Math.max(64 << 10, 2 ** Math.ceil(Math.log2(size)))));
    this.owned.add(b.buffer);
    return b.subarray(0, size);
  }

  /** Gives back a buffer from `take` (anything else is ignored); its bytes may be overwritten from now on. */
  release(body: Buffer): void {
    const ab = body.buffer;
    if (body.byteOffset !== 0 || !this.owned.has(ab) || this.free.length >= this.maxFree) return;
    if (this.free.some((b) => b.buffer === ab)) return;
    this.free.push(Buffer.from(ab, 0, ab.byteLength));
  }

  get freeCount(): number {
    return this.free.length;
  }
}

/** The body in one buffer: the socket's chunk when there is one, else a copy (into a pooled buffer when given one). */
export async function readBody(ctx: Context, maxBytes: number, json = false, pool?: BodyBufferPool): Promise<Buffer> {
  const chunks = await readBodyChunks(ctx, maxBytes, json);
  if (chunks.length === 1) return chunks[0]!;
  if (!pool) return Buffer.concat(chunks);
  let total = 0;
  for (const c of chunks) total += c.length;
  const out = pool.take(total);
  let at = 0;
  for (const c of chunks) {
    out.set(c, at);
    at += c.length;
  }
  return out;
}

/** The body as the socket delivered it (no concatenated copy), for consumers that copy it somewhere anyway. */
export async function readBodyChunks(ctx: Context, maxBytes: number, json = false): Promise<Buffer[]> {
  const declared = Number(ctx.get("content-length") || NaN);
  if (declared > maxBytes) {
    throw new HttpError(413, `request body of ${declared} bytes exceeds the limit of ${maxBytes} bytes`, { json });
  }
  const chunks: Buffer[] = [];
  let total = 0;
  try {
    for await (const chunk of ctx.req as AsyncIterable<Buffer>) {
      total += chunk.length;
      if (total > maxBytes) {
        ctx.set("Connection", "close");
        throw new HttpError(413, `request body exceeds the limit of ${maxBytes} bytes`, { json });
      }
      chunks.push(chunk);
    }
  } catch (err) {
    if (err instanceof HttpError) throw err;
    throw new HttpError(400, `reading the request body failed: ${(err as Error).message}`, { json });
  }
  return chunks;
}
