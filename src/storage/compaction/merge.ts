// Merges the chunks of several segments series by series: points ordered by timestamp (older segment first on
// ties), exact (timestamp, value) duplicates dropped, tombstoned and expired points purged, re-encoded into
// chunks of up to chunkPoints, written as staged segments of bounded size. Yields the event loop every few ms.
import { decodeChunk, encodeChunk, type DecodedChunk, type ValueArray } from "../../encoding/chunk.js";
import type { SegmentDictionary, TimeCells } from "../segment/format.js";
import type { SegmentReader } from "../segment/reader.js";
import { makeYielder } from "../segment/slices.js";
import { stageSegment, type SegmentChunk, type SegmentSeries, type StagedSegment } from "../segment/writer.js";
import type { Ts } from "../timestamps.js";
import { dataCorruption } from "../wal/durability-errors.js";
import type { Tombstones } from "./tombstones.js";

export interface MergeSettings {
  chunkPoints: number;
  timeCells: TimeCells;
  /** A new output segment is started after this many points. */
  maxPointsPerSegment: number;
  tombstones?: Tombstones;
  /** Points older than this are dropped (retention). */
  retentionCutoff?: Ts;
  /** Longest stretch of synchronous work between event-loop yields. */
  sliceMs?: number;
}

export interface MergeStats {
  sourceSegments: number;
  sourceChunks: number;
  outputChunks: number;
  pointsIn: number;
  pointsOut: number;
  duplicatesDropped: number;
  deletedDropped: number;
  expiredDropped: number;
}

type TsArray = Float64Array | BigInt64Array;

export async function mergeSegments(
  sources: readonly SegmentReader[],
  output: { level: number; levelDir: string; allocateId: () => number },
  settings: MergeSettings,
): Promise<{ staged: StagedSegment[]; stats: MergeStats }> {
  const ordered = [...sources].sort((a, b) => a.id - b.id);
  const pause = makeYielder(settings.sliceMs ?? 8);
  const stats: MergeStats = {
    sourceSegments: ordered.length,
    sourceChunks: 0,
    outputChunks: 0,
    pointsIn: 0,
    pointsOut: 0,
    duplicatesDropped: 0,
    deletedDropped: 0,
    expiredDropped: 0,
  };
  const walHighwater = Math.max(0, ...ordered.map((s) => s.manifest.walHighwater));
  // Where each series is defined (its first source); metric and labels are decoded only when the series is written.
  const dictionary = new Map<number, { seg: SegmentReader; at: number }>();
  for (const seg of ordered) {
    const ids = seg.index.seriesIds;
    for (let i = 0; i < ids.length; i++) if (!dictionary.has(ids[i]!)) dictionary.set(ids[i]!, { seg, at: i });
    await pause();
  }
  const seriesIds = Float64Array.from(dictionary.keys()).sort();
  // each source's dictionary, decoded on first use and dropped with the merge
  const definitions = new Map<SegmentReader, SegmentDictionary>();

  const staged: StagedSegment[] = [];
  let chunks: SegmentChunk[] = [];
  let series: SegmentSeries[] = [];
  let points = 0;
  const emit = async () => {
    if (chunks.length === 0) return;
    staged.push(
      await stageSegment(output.levelDir, {
        id: output.allocateId(),
        level: output.level,
        timeCells: settings.timeCells,
        walHighwater,
        series,
        chunks,
      }),
    );
    chunks = [];
    series = [];
    points = 0;
  };

  const tsAs = settings.timeCells === "i64" ? "bigint" : "number";
  for (const id of seriesIds) {
    const refs: { seg: SegmentReader; entry: number }[] = [];
    for (const seg of ordered) {
      const [lo, hi] = seg.chunkRange(id);
      for (let e = lo; e < hi; e++) refs.push({ seg, entry: e });
    }
    if (refs.length === 0) continue;
    stats.sourceChunks += refs.length;
    const before = chunks.length;
    const first = refs[0]!;
    const untouched =
      refs.length === 1 &&
      !settings.tombstones?.affects(id, first.seg.id) &&
      (settings.retentionCutoff === undefined || first.seg.minTs[first.entry]! >= settings.retentionCutoff);
    if (untouched) {
      const n = first.seg.index.chunkPoints[first.entry]!;
      chunks.push({
        seriesId: id,
        minTs: first.seg.minTs[first.entry]!,
        maxTs: first.seg.maxTs[first.entry]!,
        count: n,
        bytes: first.seg.readChunk(first.entry),
      });
      stats.pointsIn += n;
      stats.pointsOut += n;
      points += n;
    } else {
      const parts = refs.map((r) => decodeChunk(r.seg.readChunk(r.entry), tsAs));
      for (const p of parts) stats.pointsIn += p.count;
      const merged = mergePoints(parts, refs.map((r) => r.seg.id), id, settings, stats, first.seg.dir, true);
      for (let from = 0; from < merged.count; from += settings.chunkPoints) {
        const n = Math.min(settings.chunkPoints, merged.count - from);
        const ts = merged.timestamps.subarray(from, from + n) as TsArray;
        chunks.push({
          seriesId: id,
          minTs: ts[0]!,
          maxTs: ts[n - 1]!,
          count: n,
          bytes: encodeChunk(merged.kind, ts, sliceValues(merged.values, from, from + n), n),
        });
      }
      stats.pointsOut += merged.count;
      points += merged.count;
    }
    stats.outputChunks += chunks.length - before;
    if (chunks.length > before) {
      const where = dictionary.get(id)!;
      let defs = definitions.get(where.seg);
      if (defs === undefined) definitions.set(where.seg, (defs = where.seg.index.dictionary()));
      series.push(defs.seriesDef(where.at));
    }
    if (points >= settings.maxPointsPerSegment) await emit();
    await pause();
  }
  await emit();
  return { staged, stats };
}

/**
 * A persisted chunk with the points that tombstones delete from segment `segmentId` removed (re-encoded), or
 * null when none is left. Used by reads until compaction purges the points physically.
 */
export function filterChunk(
  bytes: Uint8Array,
  seriesId: number,
  segmentId: number,
  tombstones: Tombstones,
  timeCells: TimeCells,
): Uint8Array | null {
  const part = decodeChunk(bytes, timeCells === "i64" ? "bigint" : "number");
  const stats: MergeStats = {
    sourceSegments: 1, sourceChunks: 1, outputChunks: 0, pointsIn: 0, pointsOut: 0, duplicatesDropped: 0, deletedDropped: 0, expiredDropped: 0,
  };
  const settings: MergeSettings = { chunkPoints: part.count, timeCells, maxPointsPerSegment: part.count, tombstones };
  const kept = mergePoints([part], [segmentId], seriesId, settings, stats, `segment ${segmentId}`, false);
  if (stats.deletedDropped === 0) return bytes;
  return kept.count === 0 ? null : encodeChunk(kept.kind, kept.timestamps, kept.values, kept.count);
}

function sliceValues(values: ValueArray, from: number, to: number): ValueArray {
  return Array.isArray(values) ? (values.slice(from, to) as ValueArray) : (values as Float64Array).subarray(from, to);
}

function concatParts(parts: DecodedChunk[], total: number): { ts: TsArray; values: ValueArray } {
  const big = parts[0]!.timestamps instanceof BigInt64Array;
  const ts: TsArray = big ? new BigInt64Array(total) : new Float64Array(total);
  const first = parts[0]!.values;
  let values: ValueArray;
  if (Array.isArray(first)) values = ([] as unknown[]).concat(...parts.map((p) => p.values as unknown[])) as ValueArray;
  else {
    const typed = new (first.constructor as new (n: number) => Float64Array)(total);
    let off = 0;
    for (const p of parts) {
      typed.set(p.values as Float64Array, off);
      off += p.count;
    }
    values = typed;
  }
  let off = 0;
  for (const p of parts) {
    (ts as Float64Array).set(p.timestamps as Float64Array, off);
    off += p.count;
  }
  return { ts, values };
}

/** Exact equality of two stored values (f64 compared bit for bit, so NaN payloads count). */
function sameValue(values: ValueArray, bits: Uint32Array | null, a: number, b: number): boolean {
  if (bits) return bits[2 * a] === bits[2 * b] && bits[2 * a + 1] === bits[2 * b + 1];
  const x = values[a]!;
  const y = values[b]!;
  if (x instanceof Uint8Array && y instanceof Uint8Array) return Buffer.compare(x, y) === 0;
  return x === y;
}

function mergePoints(
  parts: DecodedChunk[],
  partSegments: number[],
  seriesId: number,
  settings: MergeSettings,
  stats: MergeStats,
  where: string,
  dropDuplicates: boolean,
): { kind: DecodedChunk["kind"]; count: number; timestamps: TsArray; values: ValueArray } {
  const kind = parts[0]!.kind;
  if (parts.some((p) => p.kind !== kind)) throw dataCorruption(where, 0, `series ${seriesId} has chunks of different value kinds`);
  const total = parts.reduce((n, p) => n + p.count, 0);
  const { ts, values } = concatParts(parts, total);
  const tomb = settings.tombstones?.of(seriesId) ? settings.tombstones : undefined;
  const cutoff = settings.retentionCutoff;
  let sorted = true;
  let increasing = true;
  for (let i = 1; i < total && sorted; i++) {
    if (ts[i]! < ts[i - 1]!) sorted = false;
    else if (ts[i] === ts[i - 1]) increasing = false;
  }
  // The common case (parts in time order, no duplicate timestamps, nothing deleted or expired): kept as they are.
  if (increasing && sorted && !tomb && (cutoff === undefined || total === 0 || ts[0]! >= cutoff)) return { kind, count: total, timestamps: ts, values };
  const order = new Uint32Array(total);
  for (let i = 0; i < total; i++) order[i] = i;
  if (!sorted) order.sort((a, b) => (ts[a]! < ts[b]! ? -1 : ts[a]! > ts[b]! ? 1 : a - b)); // stable: older source first
  const bits = values instanceof Float64Array ? new Uint32Array(values.buffer, values.byteOffset, total * 2) : null;
  let segmentOf: Float64Array | undefined;
  if (tomb) {
    segmentOf = new Float64Array(total);
    let off = 0;
    parts.forEach((p, k) => {
      segmentOf!.fill(partSegments[k]!, off, off + p.count);
      off += p.count;
    });
  }
  const keep = new Uint32Array(total);
  let kept = 0;
  let runStart = 0; // first kept index (in keep[]) with the current timestamp
  for (let k = 0; k < total; k++) {
    const i = order[k]!;
    const t = ts[i]!;
    if (cutoff !== undefined && t < cutoff) {
      stats.expiredDropped++;
      continue;
    }
    if (tomb && tomb.covers(seriesId, t, segmentOf![i]!)) {
      stats.deletedDropped++;
      continue;
    }
    if (kept > 0 && ts[keep[kept - 1]!] !== t) runStart = kept;
    let duplicate = false;
    for (let r = runStart; dropDuplicates && r < kept && !duplicate; r++) duplicate = sameValue(values, bits, keep[r]!, i);
    if (duplicate) {
      stats.duplicatesDropped++;
      continue;
    }
    keep[kept++] = i;
  }
  const outTs: TsArray = ts instanceof BigInt64Array ? new BigInt64Array(kept) : new Float64Array(kept);
  for (let k = 0; k < kept; k++) outTs[k] = ts[keep[k]!]!;
  let outValues: ValueArray;
  if (Array.isArray(values)) outValues = Array.from(keep.subarray(0, kept), (i) => values[i]) as ValueArray;
  else if (values instanceof Uint8Array) outValues = Uint8Array.from(keep.subarray(0, kept), (i) => values[i]!);
  else {
    // 8-byte values are copied as int32 pairs so NaN payloads (staleness markers) stay bit-exact.
    const typed = new (values.constructor as new (n: number) => Float64Array)(kept);
    const src = new Int32Array(values.buffer, values.byteOffset, total * 2);
    const dst = new Int32Array(typed.buffer);
    for (let k = 0; k < kept; k++) {
      dst[2 * k] = src[2 * keep[k]!]!;
      dst[2 * k + 1] = src[2 * keep[k]! + 1]!;
    }
    outValues = typed;
  }
  return { kind, count: kept, timestamps: outTs, values: outValues };
}
