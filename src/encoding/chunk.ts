// Chunk API: encode/decode/scan compressed chunks of (timestamp, value) points. Numeric work runs in the WASM
// kernels (assembly/codec) over scratch memory; bytes/string value sections use ./bytes-block. Layout: docs/format.md.
import { loadWasm, memoryViews, scratch, type WasmExports } from "../wasm/loader.js";
import { ChunkCorruptionError } from "./errors.js";
import { encodeByteValues, decodeByteValues } from "./bytes-block.js";

export { ChunkCorruptionError };

export type ValueKind = "f64" | "i64" | "u64" | "bool" | "bytes" | "string";
export type TimestampArray = Float64Array | BigInt64Array;
export type ValueArray = Float64Array | BigInt64Array | BigUint64Array | Uint8Array | Uint8Array[] | string[];

export interface ChunkInfo {
  kind: ValueKind;
  count: number;
  minTs: number | bigint;
  maxTs: number | bigint;
  timestampCodec: string;
  valueCodec: string;
  byteLength: number;
}

export interface DecodedChunk {
  kind: ValueKind;
  count: number;
  timestamps: TimestampArray;
  values: ValueArray;
}

export interface ChunkAggregate {
  count: number;
  sum: number;
  min: number;
  max: number;
  first: number;
  last: number;
  firstTs: number | bigint;
  lastTs: number | bigint;
}

/** Most points one chunk may hold. */
export const MAX_CHUNK_POINTS = 65535;
/** Version written; versions 1 and 2 stay readable. */
const CHUNK_VERSION = 3;
const HEADER_BYTES = 32;
const TRAILER_BYTES = 4;
/** Decoders may read a few bytes past a section end; the input copy is followed by this much slack. */
const READ_SLACK = 32;

const KINDS: readonly ValueKind[] = ["f64", "i64", "u64", "bool", "bytes", "string"];
const TIMESTAMP_CODECS: Readonly<Record<number, string>> = {
  1: "fixed-step",
  2: "delta-of-delta",
  3: "delta",
  4: "step-residual",
  5: "delta-varint",
};
const VALUE_CODECS: Readonly<Record<number, string>> = {
  16: "xor",
  17: "decimal",
  18: "int-pack",
  19: "runs",
  20: "bitmap",
  32: "bytes-block",
  33: "bytes-runs",
};

const ERR_UNSORTED_INPUT = -20;
const INT64_MIN = -(2n ** 63n);
const INT64_MAX = 2n ** 63n - 1n;

interface CodecKernels extends WasmExports {
  encodeChunk(kind: number, n: number, ts: number, values: number, extLen: number, extCodec: number, out: number, work: number): number;
  encodeOutputBytes(n: number, extraBytes: number): number;
  encodeWorkBytes(n: number): number;
  unsortedInputIndex(): number;
  checkHeader(p: number, len: number): number;
  decodeChunk(p: number, len: number, ts: number, values: number, timestampsAsF64: number): number;
  decodeRange(p: number, len: number, bounds: number, boundsAsF64: number, ts: number, values: number, timestampsAsF64: number): number;
  decodeRecordRange(
    record: number, len: number, count: number, minTs: number, maxTs: number, start: number, end: number, work: number, ts: number, values: number,
  ): number;
  decodeSeriesRecords(
    descs: number, firstRecord: number, ends: number, nSeries: number, start: number, end: number, work: number, ts: number, values: number, out: number,
  ): number;
  aggregateChunk(p: number, len: number, bounds: number, boundsAsF64: number, ts: number, values: number, result: number): number;
  timestampsFromF64(ts: number, n: number): number;
  checksum(p: number, len: number): number;
}

const kernels = (): CodecKernels => loadWasm() as CodecKernels;
const align16 = (n: number): number => (n + 15) & ~15;

function corruptionMessage(code: number, chunk: Uint8Array): string {
  const view = new DataView(chunk.buffer, chunk.byteOffset, chunk.byteLength);
  switch (code) {
    case -1:
      return `chunk truncated: ${chunk.length} bytes is shorter than the ${HEADER_BYTES + TRAILER_BYTES}-byte minimum`;
    case -2:
      return `unsupported chunk version ${chunk[0]} (this build reads versions 1-${CHUNK_VERSION})`;
    case -3:
      return `unknown value kind id ${chunk[1]} in chunk header`;
    case -4:
      return `invalid point count ${view.getUint32(4, true)} in chunk header (must be 1..${MAX_CHUNK_POINTS})`;
    case -5:
      return `unknown timestamp codec id ${chunk[2]} in chunk header`;
    case -6:
      return `value codec id ${chunk[3]} is not valid for value kind ${KINDS[chunk[1]!] ?? chunk[1]}`;
    case -7: {
      const expected = HEADER_BYTES + TRAILER_BYTES + view.getUint32(24, true) + view.getUint32(28, true);
      return `chunk is ${chunk.length} bytes but its header describes ${expected} bytes (truncated or trailing bytes)`;
    }
    case -8:
      return "chunk checksum mismatch (XXH64): the bytes are corrupt";
    case -9:
      return "malformed timestamp section";
    case -10:
      return "malformed value section";
    case -11:
      return "decoded timestamps are out of order or disagree with the header's min/max";
    case -12:
      return "chunk header has minTs greater than maxTs";
    default:
      return `chunk rejected by the decoder (code ${code})`;
  }
}

function fail(code: number, chunk: Uint8Array): never {
  throw new ChunkCorruptionError(corruptionMessage(code, chunk));
}

/** Scratch layout while decoding: [chunk copy + read slack][timestamps n*8][values n*8][bounds + result 128]. */
interface Staged {
  inPtr: number;
  tsPtr: number;
  valuesPtr: number;
  extraPtr: number;
}

/** Copies a chunk (or just its header) into scratch. Validation happens in WASM: checkHeader for header-only
 * reads, inside the decode kernels otherwise (the single source of the format rules). */
function stage(chunk: Uint8Array, withPayload: boolean, withOutputs = withPayload): Staged {
  if (!(chunk instanceof Uint8Array)) throw new TypeError("chunk must be a Uint8Array");
  const claimed = chunkPointCount(chunk);
  const n = withOutputs && claimed <= MAX_CHUNK_POINTS ? claimed : 0;
  const copied = withPayload ? chunk.length : Math.min(chunk.length, HEADER_BYTES);
  const inBytes = align16(Math.max(copied, HEADER_BYTES) + READ_SLACK);
  const inPtr = scratch(inBytes + n * 16 + 128);
  memoryViews().u8.set(copied === chunk.length ? chunk : chunk.subarray(0, copied), inPtr);
  const tsPtr = inPtr + inBytes;
  return { inPtr, tsPtr, valuesPtr: tsPtr + n * 8, extraPtr: tsPtr + n * 16 };
}

/** The point count a chunk's header claims (u32 at byte 4; verified only by the decoders), 0 if there is no header. */
export function chunkPointCount(chunk: Uint8Array): number {
  return chunk.length >= 8 ? (chunk[4]! | (chunk[5]! << 8) | (chunk[6]! << 16) | (chunk[7]! << 24)) >>> 0 : 0;
}

/** The value kind of a chunk that a kernel has already accepted (or undefined for a bad id, which it will reject). */
const kindOf = (chunk: Uint8Array): ValueKind | undefined => KINDS[chunk[1] ?? 255];

function checkValues(kind: ValueKind, values: ValueArray): void {
  const ok =
    kind === "f64" ? values instanceof Float64Array
    : kind === "i64" ? values instanceof BigInt64Array
    : kind === "u64" ? values instanceof BigUint64Array
    : kind === "bool" ? values instanceof Uint8Array
    : Array.isArray(values);
  if (!ok) throw new TypeError(`values do not match value kind "${kind}"`);
}

/** Encodes the first `count` points (default: all). Timestamps must be sorted ascending (duplicates allowed);
 * Float64Array timestamps must hold integers. Throws RangeError/TypeError on bad input. */
export function encodeChunk(kind: ValueKind, timestamps: TimestampArray, values: ValueArray, count?: number): Uint8Array {
  const kindId = KINDS.indexOf(kind);
  if (kindId < 0) throw new TypeError(`unknown value kind "${kind}"`);
  checkValues(kind, values);
  const n = count ?? timestamps.length;
  if (!Number.isInteger(n) || n < 1 || n > MAX_CHUNK_POINTS) {
    throw new RangeError(`a chunk holds 1..${MAX_CHUNK_POINTS} points, got ${n}`);
  }
  if (timestamps.length < n || values.length < n) {
    throw new RangeError(`count ${n} exceeds the timestamps (${timestamps.length}) or values (${values.length}) given`);
  }
  let external: { section: Uint8Array; codec: number } | undefined;
  if (kind === "bytes" || kind === "string") external = encodeByteValues(kind, values as Uint8Array[] | string[], n);
  const k = kernels();
  const externalBytes = external?.section.length ?? 0;
  const valueBytes = align16(external ? externalBytes : kind === "bool" ? n : n * 8);
  const outputBytes = align16(k.encodeOutputBytes(n, externalBytes));
  const tsPtr = scratch(n * 8 + valueBytes + outputBytes + k.encodeWorkBytes(n) + 64);
  const valuesPtr = tsPtr + n * 8;
  const outPtr = valuesPtr + valueBytes;
  const workPtr = outPtr + outputBytes;
  const mem = memoryViews();
  if (timestamps instanceof BigInt64Array) {
    mem.i64.set(timestamps.subarray(0, n), tsPtr / 8);
  } else if (timestamps instanceof Float64Array) {
    mem.f64.set(timestamps.subarray(0, n), tsPtr / 8);
    const bad = k.timestampsFromF64(tsPtr, n);
    if (bad >= 0) throw new RangeError(`timestamp at index ${bad} is not an integer in the int64 range: ${timestamps[bad]}`);
  } else {
    throw new TypeError("timestamps must be a Float64Array or BigInt64Array");
  }
  if (external) mem.u8.set(external.section, valuesPtr);
  else if (kind === "f64") mem.f64.set((values as Float64Array).subarray(0, n), valuesPtr / 8);
  else if (kind === "i64") mem.i64.set((values as BigInt64Array).subarray(0, n), valuesPtr / 8);
  else if (kind === "u64") mem.u64.set((values as BigUint64Array).subarray(0, n), valuesPtr / 8);
  else mem.u8.set((values as Uint8Array).subarray(0, n), valuesPtr);
  const length = k.encodeChunk(kindId, n, tsPtr, valuesPtr, externalBytes, external?.codec ?? 0, outPtr, workPtr);
  if (length === ERR_UNSORTED_INPUT) {
    const i = k.unsortedInputIndex();
    throw new RangeError(`timestamps must be sorted ascending: index ${i} (${timestamps[i]}) < index ${i - 1} (${timestamps[i - 1]})`);
  }
  if (length < 0) throw new RangeError(`encodeChunk rejected the input (code ${length})`);
  return memoryViews().u8.slice(outPtr, outPtr + length);
}

/** Bytes a segment record keeps of the 32-byte header: version, kind, timestamp codec, value codec. */
const RECORD_FIXED_BYTES = 4;

/**
 * A chunk as a segment stores it (docs/format.md, "Segments"): without the fields its chunk index already holds
 * (point count, min/max ts), without the value-section length (implied by the record length) and without the
 * checksum (segment blocks carry a CRC-32): [version, kind, ts codec, value codec][varint T][sections].
 */
export function chunkToRecord(chunk: Uint8Array): Uint8Array {
  const view = new DataView(chunk.buffer, chunk.byteOffset, chunk.byteLength);
  const sections = view.getUint32(24, true) + view.getUint32(28, true);
  const varint: number[] = [];
  for (let t = view.getUint32(24, true); ; t >>>= 7) {
    if (t < 0x80) {
      varint.push(t);
      break;
    }
    varint.push((t & 0x7f) | 0x80);
  }
  const out = new Uint8Array(RECORD_FIXED_BYTES + varint.length + sections);
  out.set(chunk.subarray(0, RECORD_FIXED_BYTES));
  out.set(varint, RECORD_FIXED_BYTES);
  out.set(chunk.subarray(HEADER_BYTES, HEADER_BYTES + sections), RECORD_FIXED_BYTES + varint.length);
  return out;
}

/** Where a segment record's sections start and how long its timestamp section is (a varint after the fixed bytes). */
function recordLayout(record: Uint8Array): { sectionsAt: number; timestampBytes: number } {
  let t = 0;
  let at = RECORD_FIXED_BYTES;
  for (let shift = 0; ; shift += 7) {
    const b = record[at++];
    if (b === undefined || shift > 28) throw new ChunkCorruptionError("segment chunk record: malformed timestamp-section length");
    t += (b & 0x7f) * 2 ** shift;
    if (b < 0x80) break;
  }
  const sections = record.length - at;
  if (sections < t) throw new ChunkCorruptionError(`segment chunk record: timestamp section of ${t} bytes exceeds the ${sections} left`);
  return { sectionsAt: at, timestampBytes: t };
}

/** Rebuilds the chunk of a segment record from its index entry (point count, min/max ts), checksum included. */
export function chunkFromRecord(record: Uint8Array, count: number, minTs: number | bigint, maxTs: number | bigint): Uint8Array {
  const { sectionsAt, timestampBytes } = recordLayout(record);
  const sections = record.length - sectionsAt;
  const length = HEADER_BYTES + sections + TRAILER_BYTES;
  const ptr = scratch(align16(length));
  const mem = memoryViews();
  const chunk = mem.u8.subarray(ptr, ptr + length);
  chunk.set(record.subarray(0, RECORD_FIXED_BYTES));
  const view = new DataView(mem.u8.buffer, ptr, length);
  view.setUint32(4, count, true);
  view.setBigInt64(8, typeof minTs === "bigint" ? minTs : BigInt(minTs), true);
  view.setBigInt64(16, typeof maxTs === "bigint" ? maxTs : BigInt(maxTs), true);
  view.setUint32(24, timestampBytes, true);
  view.setUint32(28, sections - timestampBytes, true);
  chunk.set(record.subarray(sectionsAt), HEADER_BYTES);
  view.setUint32(HEADER_BYTES + sections, kernels().checksum(ptr, HEADER_BYTES + sections), true);
  return chunk.slice();
}

const asTs = (v: bigint, tsAs: "number" | "bigint"): number | bigint => (tsAs === "bigint" ? v : Number(v));

/** Header fields of a chunk without decoding it (validates the header; the checksum is checked by decoders). */
export function chunkInfo(chunk: Uint8Array, tsAs: "number" | "bigint" = "number"): ChunkInfo {
  const { inPtr } = stage(chunk, false);
  const code = kernels().checkHeader(inPtr, chunk.length);
  if (code < 0) fail(code, chunk);
  const mem = memoryViews();
  return {
    kind: KINDS[mem.u8[inPtr + 1]!]!,
    count: mem.i32[inPtr / 4 + 1]!,
    minTs: asTs(mem.i64[inPtr / 8 + 1]!, tsAs),
    maxTs: asTs(mem.i64[inPtr / 8 + 2]!, tsAs),
    timestampCodec: TIMESTAMP_CODECS[mem.u8[inPtr + 2]!]!,
    valueCodec: VALUE_CODECS[mem.u8[inPtr + 3]!]!,
    byteLength: chunk.length,
  };
}

/** Decodes every point. Timestamps come back as Float64Array (default) or BigInt64Array (tsAs "bigint"). For numeric
 * kinds the two arrays are views over one fresh ArrayBuffer (one allocation per chunk instead of two). */
export function decodeChunk(chunk: Uint8Array, tsAs: "number" | "bigint" = "number"): DecodedChunk {
  const { inPtr, tsPtr, valuesPtr } = stage(chunk, true);
  const n = kernels().decodeChunk(inPtr, chunk.length, tsPtr, valuesPtr, tsAs === "number" ? 1 : 0);
  if (n < 0) fail(n, chunk);
  const kind = kindOf(chunk)!;
  const mem = memoryViews();
  const numeric = kind !== "bytes" && kind !== "string";
  // Timestamps and values lie back to back in scratch (valuesPtr == tsPtr + n*8): one allocation, one copy.
  const bytes = n * 8 + (!numeric ? 0 : kind === "bool" ? n : n * 8);
  const buffer = new ArrayBuffer(bytes);
  new Uint8Array(buffer).set(mem.u8.subarray(tsPtr, tsPtr + bytes));
  const timestamps = tsAs === "number" ? new Float64Array(buffer, 0, n) : new BigInt64Array(buffer, 0, n);
  if (!numeric) {
    const valuesStart = HEADER_BYTES + mem.i32[inPtr / 4 + 6]!;
    const values = decodeByteValues(kind, chunk[3]!, chunk.subarray(valuesStart, chunk.length - TRAILER_BYTES), n);
    return { kind, count: n, timestamps, values };
  }
  const values =
    kind === "f64" ? new Float64Array(buffer, n * 8, n)
    : kind === "i64" ? new BigInt64Array(buffer, n * 8, n)
    : kind === "u64" ? new BigUint64Array(buffer, n * 8, n)
    : new Uint8Array(buffer, n * 8, n);
  return { kind, count: n, timestamps, values };
}

const TWO_POW_63 = 2 ** 63;

/** Writes [start, end) at `at` for the range kernels: i64 inclusive bounds (mode 0) or, for number bounds, the f64
 * values ceil(start) and ceil(end) (mode 1; the kernel clamps them to int64). Returns the mode, or -1 when no int64
 * timestamp can fall inside. */
function writeBounds(at: number, start: number | bigint, end: number | bigint): number {
  const mem = memoryViews();
  if (typeof start === "number" && typeof end === "number") {
    if (Number.isNaN(start) || Number.isNaN(end)) throw new RangeError("time bound is NaN");
    const first = Math.ceil(start);
    const stop = Math.ceil(end);
    if (first >= stop || first >= TWO_POW_63 || stop <= -TWO_POW_63) return -1;
    mem.f64[at / 8] = first;
    mem.f64[at / 8 + 1] = stop;
    return 1;
  }
  const first = ceilToInt64(start);
  const last = ceilToInt64(end) - 1n;
  const clampedFirst = first < INT64_MIN ? INT64_MIN : first;
  const clampedLast = last > INT64_MAX ? INT64_MAX : last;
  if (clampedFirst > clampedLast) return -1;
  mem.i64[at / 8] = clampedFirst;
  mem.i64[at / 8 + 1] = clampedLast;
  return 0;
}

/** Smallest int64 >= x, unclamped. */
function ceilToInt64(x: number | bigint): bigint {
  if (typeof x === "bigint") return x;
  if (Number.isNaN(x)) throw new RangeError("time bound is NaN");
  if (x === Infinity) return INT64_MAX + 1n;
  if (x === -Infinity) return INT64_MIN;
  return BigInt(Math.ceil(x));
}

function numericKindOrThrow(chunk: Uint8Array): ValueKind | undefined {
  const kind = kindOf(chunk);
  if (kind === "bytes" || kind === "string") throw new TypeError(`range scans need a numeric chunk, got "${kind}"`);
  return kind;
}

/** Decodes the points with start <= ts < end into tsOut/valuesOut at `offset`; returns how many were written.
 * Numeric kinds only; valuesOut must match the kind (bool -> Uint8Array of 0/1). */
export function decodeRangeInto(
  chunk: Uint8Array,
  start: number | bigint,
  end: number | bigint,
  tsOut: TimestampArray,
  valuesOut: Float64Array | BigInt64Array | BigUint64Array | Uint8Array,
  offset: number,
): number {
  const kind = numericKindOrThrow(chunk);
  if (kind !== undefined) checkValues(kind, valuesOut);
  const asF64 = tsOut instanceof Float64Array;
  const layout = stage(chunk, true);
  const boundsMode = writeBounds(layout.extraPtr, start, end);
  if (boundsMode < 0) return 0;
  const count = kernels().decodeRange(layout.inPtr, chunk.length, layout.extraPtr, boundsMode, layout.tsPtr, layout.valuesPtr, asF64 ? 1 : 0);
  if (count < 0) fail(count, chunk);
  if (count === 0) return 0;
  if (!Number.isInteger(offset) || offset < 0 || offset + count > tsOut.length || offset + count > valuesOut.length) {
    throw new RangeError(`output arrays too small: need ${offset + count} slots from offset ${offset}`);
  }
  const mem = memoryViews();
  const from = mem.i32[(layout.extraPtr + 16) / 4]!;
  const tsAt = layout.tsPtr / 8 + from;
  if (asF64) tsOut.set(mem.f64.subarray(tsAt, tsAt + count), offset);
  else tsOut.set(mem.i64.subarray(tsAt, tsAt + count), offset);
  const valuesAt = layout.valuesPtr / 8 + from;
  if (kind === "f64") (valuesOut as Float64Array).set(mem.f64.subarray(valuesAt, valuesAt + count), offset);
  else if (kind === "i64") (valuesOut as BigInt64Array).set(mem.i64.subarray(valuesAt, valuesAt + count), offset);
  else if (kind === "u64") (valuesOut as BigUint64Array).set(mem.u64.subarray(valuesAt, valuesAt + count), offset);
  else (valuesOut as Uint8Array).set(mem.u8.subarray(layout.valuesPtr + from, layout.valuesPtr + from + count), offset);
  return count;
}

/**
 * Decodes the points with start <= ts < end of an f64 chunk straight into linear memory: timestamps (as f64) to
 * tsPtr + 8 * at, values to vsPtr + 8 * at; returns how many were written. Both areas need room for
 * chunkPointCount(chunk) points from `at` (the whole chunk is decoded there, the in-range run moved to `at`).
 */
export function decodeRangeToMemory(chunk: Uint8Array, start: number, end: number, tsPtr: number, vsPtr: number, at: number): number {
  const kind = numericKindOrThrow(chunk);
  if (kind !== undefined && kind !== "f64") throw new TypeError(`decodeRangeToMemory needs an f64 chunk, got "${kind}"`);
  const layout = stage(chunk, true, false);
  const boundsMode = writeBounds(layout.extraPtr, start, end);
  if (boundsMode < 0) return 0;
  const count = kernels().decodeRange(layout.inPtr, chunk.length, layout.extraPtr, boundsMode, tsPtr + 8 * at, vsPtr + 8 * at, 1);
  if (count < 0) fail(count, chunk);
  if (count === 0) return 0;
  const mem = memoryViews();
  const from = mem.i32[(layout.extraPtr + 16) / 4]!;
  if (from > 0) {
    const t = tsPtr / 8 + at;
    const v = vsPtr / 8 + at;
    mem.f64.copyWithin(t, t + from, t + from + count);
    mem.f64.copyWithin(v, v + from, v + from + count);
  }
  return count;
}

/** A segment's chunk record in linear memory: `length` bytes at address `addr`, with its index entry's fields. */
export interface RecordRef {
  addr: number;
  length: number;
  /** Point count. */
  count: number;
  minTs: number;
  maxTs: number;
}

/**
 * decodeRangeToMemory for a chunk a segment stores as a record (chunkToRecord) in linear memory (a block of the
 * segment block cache), given the fields of its index entry (point count, min and max ts as integer numbers): the
 * kernel rebuilds only the header, in scratch in front of a copy of the sections, and checks no checksum (the record
 * has none: the segment block's CRC-32 covered it). The record comes as one object (a reader reuses one for all its
 * records): its timestamps are read here, next to the kernel call, so no heap number is made for them.
 */
export function decodeRecordRangeToMemory(r: RecordRef, start: number, end: number, tsPtr: number, vsPtr: number, at: number): number {
  if (Number.isNaN(start) || Number.isNaN(end)) throw new RangeError("time bound is NaN");
  const { addr, length } = r;
  const kindId = memoryViews().u8[addr + 1];
  if (kindId !== 0 && kindId !== undefined && KINDS[kindId] !== undefined) {
    throw new TypeError(`decodeRecordRangeToMemory needs an f64 chunk, got "${KINDS[kindId]}"`);
  }
  const work = scratch(align16(length + 112));
  const n = kernels().decodeRecordRange(addr, length, r.count, r.minTs, r.maxTs, start, end, work, tsPtr + 8 * at, vsPtr + 8 * at);
  if (n < 0) failRecord(n, addr, length, r.count, r.minTs, r.maxTs);
  return n;
}

/** Throws the ChunkCorruptionError of decoder code `code` for a record (rebuilt for the message; throws itself on a bad length varint). */
function failRecord(code: number, addr: number, length: number, count: number, minTs: number, maxTs: number): never {
  fail(code, chunkFromRecord(memoryViews().u8.slice(addr, addr + length), count, minTs, maxTs));
}

/** Int32 cells per record descriptor of decodeSeriesRecordsToMemory (32 bytes: address, length, count, unused, f64 minTs, f64 maxTs). */
export const RECORD_DESC_I32 = 8;
/** decodeSeriesRecordsToMemory's status for a series whose records overlap in time. */
export const SERIES_ORDER = -30;

/**
 * decodeRecordRangeToMemory for the records of many series in one kernel call: series `from` to `to - 1` of a list
 * whose series k owns the records [ends[k - 1] (0 for k = 0), ends[k]) of `descs` (RECORD_DESC_I32 cells each: record
 * address, length, point count, unused, then minTs and maxTs as the f64 cells 2 and 3 of the record's 32 bytes). Each
 * series' points in [start, end) are written right after the previous series' from index `at` of the f64 areas at
 * tsPtr / vsPtr, which need room for the sum of the records' counts; `maxLength` bounds the records' lengths. Writes
 * series from + k's point count to counts[k]. Stops before a series whose records overlap in time (SERIES_ORDER) or
 * fail to decode (the decoder's code), keeping none of its points: then counts[to - from] holds that status and the
 * return value is how many series were done (to - from when all were).
 */
export function decodeSeriesRecordsToMemory(
  descs: Int32Array, ends: Int32Array, from: number, to: number, maxLength: number, start: number, end: number,
  tsPtr: number, vsPtr: number, at: number, counts: Int32Array,
): number {
  if (Number.isNaN(start) || Number.isNaN(end)) throw new RangeError("time bound is NaN");
  const firstRecord = from === 0 ? 0 : ends[from - 1]!;
  const records = ends[to - 1]! - firstRecord;
  const n = to - from;
  const descBytes = records * RECORD_DESC_I32 * 4;
  const endsAt = descBytes;
  const outAt = align16(endsAt + n * 4);
  const workAt = align16(outAt + n * 4 + 8);
  const base = scratch(workAt + align16(maxLength + 112));
  const mem = memoryViews();
  mem.i32.set(descs.subarray(firstRecord * RECORD_DESC_I32, firstRecord * RECORD_DESC_I32 + records * RECORD_DESC_I32), base / 4);
  mem.i32.set(ends.subarray(from, to), (base + endsAt) / 4);
  const done = kernels().decodeSeriesRecords(base, firstRecord, base + endsAt, n, start, end, base + workAt, tsPtr + 8 * at, vsPtr + 8 * at, base + outAt);
  counts.set(mem.i32.subarray((base + outAt) / 4, (base + outAt) / 4 + n + 1));
  return done;
}

const EMPTY_AGGREGATE: Readonly<ChunkAggregate> = { count: 0, sum: NaN, min: NaN, max: NaN, first: NaN, last: NaN, firstTs: NaN, lastTs: NaN };

/** count/sum/min/max/first/last of the points with start <= ts < end, computed in WASM on the chunk (values
 * projected to f64; sum in time order; min/max skip NaN unless all are NaN). firstTs/lastTs are bigint when `start`
 * is a bigint, else numbers. With no point in range, count is 0 and every other field is NaN. */
export function aggregateChunk(chunk: Uint8Array, start: number | bigint, end: number | bigint): ChunkAggregate {
  numericKindOrThrow(chunk);
  const layout = stage(chunk, true);
  const boundsMode = writeBounds(layout.extraPtr, start, end);
  if (boundsMode < 0) return { ...EMPTY_AGGREGATE };
  const resultPtr = layout.extraPtr + 32;
  const count = kernels().aggregateChunk(layout.inPtr, chunk.length, layout.extraPtr, boundsMode, layout.tsPtr, layout.valuesPtr, resultPtr);
  if (count < 0) fail(count, chunk);
  if (count === 0) return { ...EMPTY_AGGREGATE };
  const mem = memoryViews();
  const r = resultPtr / 8;
  const bigintTs = typeof start === "bigint";
  return {
    count,
    sum: mem.f64[r + 1]!,
    min: mem.f64[r + 2]!,
    max: mem.f64[r + 3]!,
    first: mem.f64[r + 4]!,
    last: mem.f64[r + 5]!,
    firstTs: bigintTs ? mem.i64[r + 6]! : mem.f64[r + 8]!,
    lastTs: bigintTs ? mem.i64[r + 7]! : mem.f64[r + 9]!,
  };
}
