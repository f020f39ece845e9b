// Little-endian byte writer/reader for the durability file formats. The reader bounds-checks every
// read and reports overruns as DataCorruption naming the file and offset.
import { GrowableBytes } from "../../encoding/growable-bytes.js";
import { dataCorruption } from "../wal/durability-errors.js";

const utf8Decode = new TextDecoder("utf-8", { fatal: true });

export class ByteWriter extends GrowableBytes {
  constructor(initialCapacity = 4096) {
    super(initialCapacity);
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
  /** u32 length + UTF-8 bytes (written in place; short ASCII strings byte by byte, cheaper than a native call). */
  string(s: string): void {
    const n = s.length;
    if (n <= 64) {
      this.reserve(4 + n);
      const buf = this.buf;
      const at = this.length + 4;
      let i = 0;
      for (; i < n; i++) {
        const c = s.charCodeAt(i);
        if (c >= 0x80) break;
        buf[at + i] = c;
      }
      if (i === n) {
        buf.writeUInt32LE(n, this.length);
        this.length = at + n;
        return;
      }
    }
    const bytes = Buffer.byteLength(s, "utf8");
    this.u32(bytes);
    this.reserve(bytes);
    this.length += this.buf.write(s, this.length, bytes, "utf8");
  }
  /** Unsigned LEB128 of a safe integer (0 .. 2^53-1). */
  varint(v: number): void {
    this.reserve(8);
    while (v > 0x7fffffff) {
      this.buf[this.length++] = (v % 128) | 0x80;
      v = Math.floor(v / 128);
    }
    while (v >= 0x80) {
      this.buf[this.length++] = (v & 0x7f) | 0x80;
      v >>>= 7;
    }
    this.buf[this.length++] = v;
  }
  /** Zigzag LEB128 of a safe integer with |v| < 2^52. */
  zigzag(v: number): void {
    this.varint(v < 0 ? -2 * v - 1 : 2 * v);
  }
  /** varint length + UTF-8 bytes. */
  shortString(s: string): void {
    const bytes = Buffer.byteLength(s, "utf8");
    this.varint(bytes);
    this.reserve(bytes);
    this.length += this.buf.write(s, this.length, bytes, "utf8");
  }
  /** Raw 8-byte cells of a typed array (timestamps, values). */
  cells(a: ArrayBufferView): void {
    this.bytes(new Uint8Array(a.buffer, a.byteOffset, a.byteLength));
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
    return this.utf8(this.u32());
  }
  /** Unsigned LEB128 up to 2^53 - 1. */
  varint(): number {
    const buf = this.buf;
    let v = 0;
    let scale = 1;
    for (let i = 0; i < 8; i++) {
      if (this.off >= buf.length) this.need(1);
      const b = buf[this.off++]!;
      v += (b & 0x7f) * scale;
      if (b < 0x80) {
        if (v > Number.MAX_SAFE_INTEGER) break;
        return v;
      }
      scale *= 128;
    }
    throw dataCorruption(this.where, this.baseOffset + this.off, "varint too long");
  }
  zigzag(): number {
    const u = this.varint();
    return u % 2 === 0 ? u / 2 : -(u + 1) / 2;
  }
  skip(n: number): void {
    this.need(n);
    this.off += n;
  }
  /** UTF-8 string of `n` bytes. */
  utf8(n: number): string {
    const b = this.bytes(n);
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
