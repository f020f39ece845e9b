// A byte buffer that grows by doubling: the one growth rule behind the binary writer of the file formats
// (storage/segment/bytes.ts) and the JSON writer of query responses (server/prometheus-json.ts, one reused buffer).

export class GrowableBytes {
  protected buf: Buffer;
  /** Bytes written so far. */
  length = 0;

  constructor(initialCapacity: number) {
    this.buf = Buffer.allocUnsafe(initialCapacity);
  }

  /** Makes room for `n` more bytes after `length`. */
  protected reserve(n: number): void {
    if (this.length + n <= this.buf.length) return;
    const next = Buffer.allocUnsafe(Math.max(this.buf.length * 2, this.length + n));
    this.buf.copy(next, 0, 0, this.length);
    this.buf = next;
  }

  /** The bytes written so far (a view of the buffer, not a copy). */
  finish(): Buffer {
    return this.buf.subarray(0, this.length);
  }

  /**
   * Empties the buffer for the next use (a scratch writer reused across calls): keeps it up to `maxKeep` bytes,
   * else starts again from `initialCapacity`, so one huge write does not pin its buffer.
   */
  reset(initialCapacity: number, maxKeep: number): void {
    this.length = 0;
    if (this.buf.length > maxKeep) this.buf = Buffer.allocUnsafe(initialCapacity);
  }
}
