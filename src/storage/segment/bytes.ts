// Little-endian byte writer/reader for the durability file formats. The reader bounds-checks every
// read and reports overruns as DataCorruption naming the file and offset.
import { dataCorruption } from "../wal/durability-errors.js";

const utf8 = new TextEncoder();
const utf8Decode = new TextDecoder("utf-8", { fatal: true });

export class ByteWriter {
  private buf: Buffer;
  length = 0;

  constructor(initialCapacity = 4096) {
    this.buf = Buffer.allocUnsafe(initialCapacity);
  }

  private reserve(n: number): void {
    if (this.length + n <= this.buf.length) return;
    const next = Buffer.allocUnsafe(Math.max(this.buf.length * 2, this.length + n));
    this.buf.copy(next, 0, 0, this.length);
    this.buf = next;
  }
  u8(v: number): void {
    this.reserve(1);
    this.buf[this.length++] = v;
  }
  u32(v: number): void {
    this.reserve(4);
    this.buf.writeUInt32LE(v, this.length);
    this.length += 4;
  }
  f64(v: number): void {
    this.reserve(8);
    this.buf.writeDoubleLE(v, this.length);
    this.length += 8;
  }
  bytes(b: Uint8Array): void {
    this.reserve(b.length);
    this.buf.set(b, this.length);
    this.length += b.length;
  }
  /** u32 length + bytes. */
  blob(b: Uint8Array): void {
    this.u32(b.length);
    this.bytes(b);
  }
  string(s: string): void {
    this.blob(utf8.encode(s));
  }
  /** Raw 8-byte cells of a typed array (timestamps, values). */
  cells(a: ArrayBufferView): void {
    this.bytes(new Uint8Array(a.buffer, a.byteOffset, a.byteLength));
  }
  finish(): Buffer {
    return this.buf.subarray(0, this.length);
  }
}

export class ByteReader {
  off = 0;
  constructor(
    readonly buf: Buffer,
    readonly where: string,
    readonly baseOffset = 0,
  ) {}

  need(n: number): void {
    if (n < 0 || this.off + n > this.buf.length) {
      throw dataCorruption(this.where, this.baseOffset + this.off, `record needs ${n} bytes, ${this.buf.length - this.off} left`);
    }
  }
  u8(): number {
    this.need(1);
    return this.buf[this.off++]!;
  }
  u32(): number {
    this.need(4);
    const v = this.buf.readUInt32LE(this.off);
    this.off += 4;
    return v;
  }
  f64(): number {
    this.need(8);
    const v = this.buf.readDoubleLE(this.off);
    this.off += 8;
    return v;
  }
  bytes(n: number): Buffer {
    this.need(n);
    const b = this.buf.subarray(this.off, this.off + n);
    this.off += n;
    return b;
  }
  blob(): Buffer {
    return this.bytes(this.u32());
  }
  string(): string {
    const b = this.blob();
    try {
      return utf8Decode.decode(b);
    } catch {
      throw dataCorruption(this.where, this.baseOffset + this.off, "invalid UTF-8");
    }
  }
  /** Copies `bytes` bytes into a fresh ArrayBuffer (aligned for any typed-array view). */
  aligned(bytes: number): ArrayBuffer {
    const src = this.bytes(bytes);
    const out = new ArrayBuffer(bytes);
    new Uint8Array(out).set(src);
    return out;
  }
  u32Array(n: number): Uint32Array {
    return new Uint32Array(this.aligned(n * 4));
  }
  end(): void {
    if (this.off !== this.buf.length) throw dataCorruption(this.where, this.baseOffset + this.off, "trailing bytes");
  }
}
