// WAL record payloads: SeriesDef (id, metric, labels) and Samples (columnar runs: series id, value kind,
// raw 8-byte timestamp cells, raw 8-byte value cells or length-prefixed blobs). No per-sample objects.
import { isBlobKind, KIND_STRING } from "../value-kinds.js";
import { ByteReader, ByteWriter } from "../segment/bytes.js";

export interface SeriesDefinition {
  id: number;
  metric: string;
  labels: { name: string; value: string }[];
}

/** One series' points in a batch. `tsCells`/`valueCells` hold 8-byte cells as int32 pairs (2 per point). */
export interface SampleRun {
  seriesId: number;
  kind: number;
  count: number;
  tsCells: Int32Array;
  /** Numeric kinds: 2 int32 per point (f64 bits or i64/u64 two's complement). */
  valueCells: Int32Array | null;
  /** Blob kinds (bytes or string). */
  blobs: (Uint8Array | string)[] | null;
}

export function encodeSeriesDefs(defs: SeriesDefinition[]): Buffer {
  const w = new ByteWriter();
  w.u32(defs.length);
  for (const d of defs) {
    w.u32(d.id);
    w.string(d.metric);
    w.u32(d.labels.length);
    for (const l of d.labels) {
      w.string(l.name);
      w.string(l.value);
    }
  }
  return w.finish();
}

export function decodeSeriesDefs(payload: Buffer, where = "WAL record", baseOffset = 0): SeriesDefinition[] {
  const r = new ByteReader(payload, where, baseOffset);
  const n = r.u32();
  const out: SeriesDefinition[] = [];
  for (let i = 0; i < n; i++) {
    const id = r.u32();
    const metric = r.string();
    const labelCount = r.u32();
    const labels: { name: string; value: string }[] = [];
    for (let j = 0; j < labelCount; j++) labels.push({ name: r.string(), value: r.string() });
    out.push({ id, metric, labels });
  }
  r.end();
  return out;
}

export function encodeSamples(runs: SampleRun[]): Buffer {
  const w = new ByteWriter();
  w.u32(runs.length);
  for (const run of runs) {
    w.u32(run.seriesId);
    w.u8(run.kind);
    w.u32(run.count);
    w.cells(run.tsCells.subarray(0, run.count * 2));
    if (run.blobs) {
      for (let i = 0; i < run.count; i++) {
        const b = run.blobs[i]!;
        if (typeof b === "string") w.string(b);
        else w.blob(b);
      }
    } else w.cells(run.valueCells!.subarray(0, run.count * 2));
  }
  return w.finish();
}

export function decodeSamples(payload: Buffer, where = "WAL record", baseOffset = 0): SampleRun[] {
  const r = new ByteReader(payload, where, baseOffset);
  const n = r.u32();
  const runs: SampleRun[] = [];
  for (let i = 0; i < n; i++) {
    const seriesId = r.u32();
    const kind = r.u8();
    const count = r.u32();
    const tsCells = new Int32Array(r.aligned(count * 8));
    let valueCells: Int32Array | null = null;
    let blobs: (Uint8Array | string)[] | null = null;
    if (isBlobKind(kind)) {
      blobs = new Array(count);
      for (let j = 0; j < count; j++) blobs[j] = kind === KIND_STRING ? r.string() : Uint8Array.from(r.blob());
    } else valueCells = new Int32Array(r.aligned(count * 8));
    runs.push({ seriesId, kind, count, tsCells, valueCells, blobs });
  }
  r.end();
  return runs;
}
