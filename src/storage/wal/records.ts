// WAL record payloads, columnar: SeriesDef (new series of a batch), Samples (a validated batch: series ids,
// kinds, raw 8-byte timestamp and value cells, optional blobs) and Delete (series ids + optional time range).
import type { TypedSeriesDefinition, ValidatedBatch } from "../durability.js";
import { ByteReader, ByteWriter } from "../segment/bytes.js";
import type { TimeAxis, Ts } from "../timestamps.js";
import type { Blob } from "../value-kinds.js";

export const enum RecordType {
  SeriesDef = 1,
  Samples = 2,
  Delete = 3,
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
 * Samples payload: u32 n, u32 ids[n], u8 kinds[n], 8-byte ts cells[n], 8-byte value cells[n], u8 hasBlobs, blobs.
 * For a batch without blobs the result is a view of a shared buffer, valid until the next call: write it at once.
 */
export function encodeSamples(batch: ValidatedBatch): Buffer {
  const n = batch.count;
  if (!batch.blobs) return encodeNumericSamples(batch);
  const w = new ByteWriter(16 + n * 21);
  w.u32(n);
  w.cells(batch.seriesIds.subarray(0, n));
  w.bytes(batch.kinds.subarray(0, n));
  w.cells(batch.timestamps.subarray(0, n));
  w.cells(batch.values.subarray(0, n));
  w.u8(1);
  for (let i = 0; i < n; i++) {
    const b = batch.blobs[i];
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

// The payload of a numeric batch is written into this buffer, reused by the next batch: the WAL writes a payload
// synchronously (writevSync) before anything else can encode, so a batch leaves no 21 B/sample of garbage behind.
let numericPayload = Buffer.allocUnsafe(1 << 16);

/** encodeSamples of a batch without blobs (the same bytes), as a view of a shared buffer: valid until the next call. */
function encodeNumericSamples(batch: ValidatedBatch): Buffer {
  const n = batch.count;
  const size = 5 + 21 * n;
  if (size > numericPayload.length) numericPayload = Buffer.allocUnsafe(Math.max(size, 2 * numericPayload.length));
  const out = numericPayload;
  out.writeUInt32LE(n, 0);
  let at = 4;
  const put = (a: ArrayBufferView, bytes: number) => {
    out.set(new Uint8Array(a.buffer, a.byteOffset, bytes), at);
    at += bytes;
  };
  put(batch.seriesIds, 4 * n);
  put(batch.kinds, n);
  put(batch.timestamps, 8 * n);
  put(batch.values, 8 * n);
  out[at++] = 0;
  return out.subarray(0, at);
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
