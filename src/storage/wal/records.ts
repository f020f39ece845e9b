// WAL record payloads, columnar: SeriesDef (new series of a batch), Samples (a validated batch: series ids,
// kinds, raw 8-byte timestamp and value cells, optional blobs), CompactSamples (a batch of numbers with number
// timestamps: raw values, series ids and timestamps as zigzag varint deltas; ~10 instead of 21 bytes per sample
// of remote write) and Delete (series ids + optional time range).
import type { TypedSeriesDefinition, ValidatedBatch } from "../durability.js";
import { ByteReader, ByteWriter } from "../segment/bytes.js";
import { dataCorruption } from "./durability-errors.js";
import type { TimeAxis, Ts } from "../timestamps.js";
import type { Blob } from "../value-kinds.js";

export const enum RecordType {
  SeriesDef = 1,
  Samples = 2,
  Delete = 3,
  CompactSamples = 4,
}

/** A record to append: its type and payload. */
export interface EncodedRecord {
  type: RecordType;
  payload: Buffer;
}

export function encodeSeriesDefs(defs: readonly TypedSeriesDefinition[]): Buffer {
  const w = new ByteWriter();
  w.u32(defs.length);
  for (const d of defs) {
    w.u32(d.id);
    w.u8(d.kind);
    w.string(d.metric);
    w.u32(d.labels.length);
    for (const l of d.labels) {
      w.string(l.name);
      w.string(l.value);
    }
  }
  return w.finish();
}

export function decodeSeriesDefs(payload: Buffer, where: string, baseOffset = 0): TypedSeriesDefinition[] {
  const r = new ByteReader(payload, where, baseOffset);
  const out: TypedSeriesDefinition[] = new Array(r.u32());
  for (let i = 0; i < out.length; i++) {
    const id = r.u32();
    const kind = r.u8();
    const metric = r.string();
    const labels = new Array(r.u32());
    for (let j = 0; j < labels.length; j++) labels[j] = { name: r.string(), value: r.string() };
    out[i] = { id, kind, metric, labels };
  }
  r.end();
  return out;
}

const BLOB_ABSENT = 0;
const BLOB_BYTES = 1;
const BLOB_STRING = 2;

/**
 * A batch as a CompactSamples record when it has no blobs and number timestamps within ±2^51 (every ms, s or us
 * timestamp of this era), else as a Samples record. CompactSamples payloads are views of a shared buffer, valid
 * until the next call: write them at once.
 */
export function encodeSamplesRecord(batch: ValidatedBatch): EncodedRecord {
  const compact = batch.blobs ? undefined : encodeCompactSamples(batch);
  return compact ? { type: RecordType.CompactSamples, payload: compact } : { type: RecordType.Samples, payload: encodeSamples(batch) };
}

/** Samples payload: u32 n, u32 ids[n], u8 kinds[n], 8-byte ts cells[n], 8-byte value cells[n], u8 hasBlobs, blobs. */
function encodeSamples(batch: ValidatedBatch): Buffer {
  const n = batch.count;
  const w = new ByteWriter(16 + n * 21);
  w.u32(n);
  w.cells(batch.seriesIds.subarray(0, n));
  w.bytes(batch.kinds.subarray(0, n));
  w.cells(batch.timestamps.subarray(0, n));
  w.cells(batch.values.subarray(0, n));
  const blobs = batch.blobs;
  w.u8(blobs ? 1 : 0);
  for (let i = 0; blobs && i < n; i++) {
    const b = blobs[i];
    if (b === undefined) w.u8(BLOB_ABSENT);
    else if (typeof b === "string") {
      w.u8(BLOB_STRING);
      w.string(b);
    } else {
      w.u8(BLOB_BYTES);
      w.blob(b);
    }
  }
  return w.finish();
}

// CompactSamples payloads are written into this buffer, reused by the next batch: the WAL writes a payload
// synchronously (writevSync) before anything else can encode, so a batch leaves no garbage behind.
let compactPayload = Buffer.allocUnsafe(1 << 16);
const TS_LIMIT = 2 ** 51;

/**
 * CompactSamples payload: u32 n, u8 kinds mode (0: one kind for all, then u8 kind; 1: u8 kinds[n]), 8-byte value
 * cells[n], then per sample the zigzag varint of its series id minus the previous one's, then per sample the
 * zigzag varint of its timestamp minus the previous one's (both start at 0). Undefined when the timestamps are
 * not numbers within ±2^51 (the deltas would not be exact).
 */
function encodeCompactSamples(batch: ValidatedBatch): Buffer | undefined {
  const n = batch.count;
  const timestamps = batch.timestamps;
  if (!(timestamps instanceof Float64Array)) return undefined;
  const size = 6 + 9 * n + 5 * n + 8 * n;
  if (size > compactPayload.length) compactPayload = Buffer.allocUnsafe(Math.max(size, 2 * compactPayload.length));
  const out = compactPayload;
  out.writeUInt32LE(n, 0);
  const kinds = batch.kinds;
  let mixed = false;
  for (let i = 1; i < n && !mixed; i++) mixed = kinds[i] !== kinds[0];
  let at = 4;
  if (mixed) {
    out[at++] = 1;
    out.set(kinds.subarray(0, n), at);
    at += n;
  } else {
    out[at++] = 0;
    out[at++] = n > 0 ? kinds[0]! : 0;
  }
  const values = batch.values;
  out.set(new Uint8Array(values.buffer, values.byteOffset, 8 * n), at);
  at += 8 * n;
  const ids = batch.seriesIds;
  let prev = 0;
  for (let i = 0; i < n; i++) {
    at = putZigzag(out, at, ids[i]! - prev);
    prev = ids[i]!;
  }
  let prevTs = 0;
  for (let i = 0; i < n; i++) {
    const t = timestamps[i]!;
    if (!(t >= -TS_LIMIT && t <= TS_LIMIT)) return undefined;
    at = putZigzag(out, at, t - prevTs);
    prevTs = t;
  }
  return out.subarray(0, at);
}

/** Writes the zigzag varint of the integer d (|d| < 2^52) at `at`; returns the offset after it. */
function putZigzag(out: Buffer, at: number, d: number): number {
  let z = d < 0 ? -2 * d - 1 : 2 * d;
  if (z < 0x80) {
    out[at] = z;
    return at + 1;
  }
  while (z > 0x7fffffff) {
    out[at++] = (z % 128) | 0x80;
    z = Math.floor(z / 128);
  }
  while (z >= 0x80) {
    out[at++] = (z & 0x7f) | 0x80;
    z >>>= 7;
  }
  out[at++] = z;
  return at;
}

/** Decodes a CompactSamples payload (number timestamps: only written for Float64 time axes). */
export function decodeCompactSamples(payload: Buffer, axis: TimeAxis, where: string, baseOffset = 0): ValidatedBatch {
  const r = new ByteReader(payload, where, baseOffset);
  const n = r.u32();
  const kinds = new Uint8Array(n);
  if (r.u8() === 1) kinds.set(r.bytes(n));
  else kinds.fill(r.u8());
  const values = new Float64Array(r.aligned(n * 8));
  const seriesIds = new Uint32Array(n);
  let id = 0;
  for (let i = 0; i < n; i++) {
    id += r.zigzag();
    if (id < 0 || id > 0xffffffff) throw dataCorruption(where, baseOffset + r.off, `series id ${id} out of range`);
    seriesIds[i] = id;
  }
  if (axis.isBigInt) throw dataCorruption(where, baseOffset, "a compact samples record in a nanosecond-precision WAL");
  const timestamps = axis.newArray(n) as Float64Array;
  let ts = 0;
  for (let i = 0; i < n; i++) timestamps[i] = ts += r.zigzag();
  r.end();
  return { count: n, seriesIds, kinds, timestamps, values, blobs: null, newSeries: [] };
}

export function decodeSamples(payload: Buffer, axis: TimeAxis, where: string, baseOffset = 0): ValidatedBatch {
  const r = new ByteReader(payload, where, baseOffset);
  const n = r.u32();
  const seriesIds = r.u32Array(n);
  const kinds = Uint8Array.from(r.bytes(n));
  const timestamps = axis.view(r.aligned(n * 8));
  const values = new Float64Array(r.aligned(n * 8));
  let blobs: Array<Blob | undefined> | null = null;
  if (r.u8() === 1) {
    blobs = new Array(n);
    for (let i = 0; i < n; i++) {
      const tag = r.u8();
      if (tag === BLOB_STRING) blobs[i] = r.string();
      else if (tag === BLOB_BYTES) blobs[i] = Uint8Array.from(r.blob());
      else blobs[i] = undefined;
    }
  }
  r.end();
  return { count: n, seriesIds, kinds, timestamps, values, blobs, newSeries: [] };
}

export interface DeleteRecord {
  seriesIds: Uint32Array;
  range: [Ts, Ts] | undefined;
  /** Tombstones of this delete apply to segments with smaller ids (later ones were flushed after it). */
  beforeSegment: number;
}

export function encodeDelete(rec: DeleteRecord, axis: TimeAxis): Buffer {
  const w = new ByteWriter();
  w.u32(rec.seriesIds.length);
  w.cells(rec.seriesIds);
  w.f64(rec.beforeSegment);
  w.u8(rec.range ? 1 : 0);
  if (rec.range) {
    const cells = axis.newArray(2);
    cells[0] = rec.range[0] as never;
    cells[1] = rec.range[1] as never;
    w.cells(cells);
  }
  return w.finish();
}

export function decodeDelete(payload: Buffer, axis: TimeAxis, where: string, baseOffset = 0): DeleteRecord {
  const r = new ByteReader(payload, where, baseOffset);
  const seriesIds = r.u32Array(r.u32());
  const beforeSegment = r.f64();
  let range: [Ts, Ts] | undefined;
  if (r.u8() === 1) {
    const cells = axis.view(r.aligned(16));
    range = [cells[0]!, cells[1]!];
  }
  r.end();
  return { seriesIds, range, beforeSegment };
}
