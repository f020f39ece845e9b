// Value sections of bytes and string chunks: a length-prefixed block (all lengths as varints, then the bytes) or
// runs of identical values, whichever is smaller. TypeScript, not WASM: the data already lives in JS objects.
import { ChunkCorruptionError } from "./errors.js";

const VALUE_BYTES_BLOCK = 32;
const VALUE_BYTES_RUNS = 33;

const utf8Encoder = new TextEncoder();
const utf8Decoder = new TextDecoder("utf-8", { fatal: true });

function varintLength(v: number): number {
  let n = 1;
  while (v >= 0x80) {
    v = Math.floor(v / 128);
    n++;
  }
  return n;
}

function writeVarint(out: Uint8Array, at: number, v: number): number {
  while (v >= 0x80) {
    out[at++] = (v & 0x7f) | 0x80;
    v = Math.floor(v / 128);
  }
  out[at++] = v;
  return at;
}

function sameBytes(a: Uint8Array, b: Uint8Array): boolean {
  if (a === b) return true;
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
  return true;
}

function stringBytes(value: string, index: number): Uint8Array {
  if (typeof value !== "string") throw new TypeError(`string chunk: value at index ${index} is not a string`);
  if (!(value as string & { isWellFormed(): boolean }).isWellFormed()) {
    throw new RangeError(`string chunk: value at index ${index} has a lone surrogate and cannot round-trip as UTF-8`);
  }
  return utf8Encoder.encode(value);
}

/** Encodes the first n values of a bytes or string chunk; returns the section and its codec id. */
export function encodeByteValues(
  kind: "bytes" | "string",
  values: readonly Uint8Array[] | readonly string[],
  n: number,
): { section: Uint8Array; codec: number } {
  const items: Uint8Array[] = new Array(n);
  for (let i = 0; i < n; i++) {
    const value = values[i];
    if (kind === "string") items[i] = stringBytes(value as string, i);
    else if (value instanceof Uint8Array) items[i] = value;
    else throw new TypeError(`bytes chunk: value at index ${i} is not a Uint8Array`);
  }
  let blockBytes = 0;
  let runsBytes = 0;
  for (let i = 0; i < n; ) {
    let j = i + 1;
    while (j < n && sameBytes(items[j]!, items[i]!)) j++;
    const length = items[i]!.length;
    blockBytes += (j - i) * (varintLength(length) + length);
    runsBytes += varintLength(j - i) + varintLength(length) + length;
    i = j;
  }
  if (runsBytes < blockBytes) {
    const section = new Uint8Array(runsBytes);
    let at = 0;
    for (let i = 0; i < n; ) {
      let j = i + 1;
      while (j < n && sameBytes(items[j]!, items[i]!)) j++;
      at = writeVarint(section, at, j - i);
      at = writeVarint(section, at, items[i]!.length);
      section.set(items[i]!, at);
      at += items[i]!.length;
      i = j;
    }
    return { section, codec: VALUE_BYTES_RUNS };
  }
  const section = new Uint8Array(blockBytes);
  let at = 0;
  for (let i = 0; i < n; i++) at = writeVarint(section, at, items[i]!.length);
  for (let i = 0; i < n; i++) {
    section.set(items[i]!, at);
    at += items[i]!.length;
  }
  return { section, codec: VALUE_BYTES_BLOCK };
}

class SectionReader {
  at = 0;
  constructor(private readonly bytes: Uint8Array) {}

  varint(): number {
    let result = 0;
    let scale = 1;
    for (;;) {
      if (this.at >= this.bytes.length || scale > 2 ** 28) throw new ChunkCorruptionError("malformed value section: bad length varint");
      const b = this.bytes[this.at++]!;
      result += (b & 0x7f) * scale;
      if (b < 0x80) return result;
      scale *= 128;
    }
  }

  take(length: number): Uint8Array {
    if (length > this.bytes.length - this.at) throw new ChunkCorruptionError("malformed value section: value runs past the section end");
    const slice = this.bytes.slice(this.at, this.at + length);
    this.at += length;
    return slice;
  }

  finish(): void {
    if (this.at !== this.bytes.length) throw new ChunkCorruptionError("malformed value section: trailing bytes");
  }
}

function asString(bytes: Uint8Array): string {
  try {
    return utf8Decoder.decode(bytes);
  } catch {
    throw new ChunkCorruptionError("malformed value section: invalid UTF-8 in a string value");
  }
}

/** Decodes n values of a bytes or string chunk from its value section. */
export function decodeByteValues(kind: "bytes" | "string", codec: number, section: Uint8Array, n: number): Uint8Array[] | string[] {
  const reader = new SectionReader(section);
  const bytes: Uint8Array[] = new Array(n);
  if (codec === VALUE_BYTES_BLOCK) {
    const lengths = new Array<number>(n);
    for (let i = 0; i < n; i++) lengths[i] = reader.varint();
    for (let i = 0; i < n; i++) bytes[i] = reader.take(lengths[i]!);
  } else if (codec === VALUE_BYTES_RUNS) {
    for (let filled = 0; filled < n; ) {
      const run = reader.varint();
      if (run < 1 || run > n - filled) throw new ChunkCorruptionError("malformed value section: run lengths do not add up");
      const value = reader.take(reader.varint());
      for (let k = 0; k < run; k++) bytes[filled + k] = k === 0 ? value : value.slice();
      filled += run;
    }
  } else {
    throw new ChunkCorruptionError(`unknown bytes value codec ${codec}`);
  }
  reader.finish();
  return kind === "string" ? bytes.map(asString) : bytes;
}
