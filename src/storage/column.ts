// Column: a run of points in typed arrays (8-byte timestamp cells + 8-byte value cells, or blob references),
// the unit every read path works on; and the sinks the bulk read writes many series into (JS pages, or the WASM read
// arena with its queue of segment records decoded by one kernel call). Cells are copied as int32 pairs or with
// TypedArray.set, never through JS arithmetic, so NaN payloads (the Prometheus staleness marker) survive bit-exact.
import {
  chunkFromRecord, chunkPointCount, decodeRangeInto, decodeRangeToMemory, decodeRecordRangeToMemory, decodeSeriesRecordsToMemory, MAX_CHUNK_POINTS,
  RECORD_DESC_I32,
} from "../encoding/chunk.js";
import { grownTo } from "../encoding/typed-arrays.js";
import { loadWasm, memoryViews } from "../wasm/loader.js";
import type { TimeAxis, TimestampArray, Ts } from "./timestamps.js";
import { KIND_BOOL, KIND_F64, KIND_I64, type Blob } from "./value-kinds.js";

export class Column {
  readonly ts: TimestampArray;
  readonly blobs: Blob[] | null;
  length = 0;
  private readonly raw: ArrayBuffer;
  // views are created on first use: most reads touch only one or two of them
  private ts32View?: Int32Array;
  private f64View?: Float64Array;
  private i64View?: BigInt64Array;
  private u64View?: BigUint64Array;
  private v32View?: Int32Array;

  constructor(axis: TimeAxis, capacity: number, blob: boolean) {
    this.ts = axis.newArray(capacity);
    this.raw = new ArrayBuffer(blob ? 0 : capacity * 8);
    this.blobs = blob ? new Array<Blob>(capacity) : null;
  }

  get ts32(): Int32Array {
    return (this.ts32View ??= new Int32Array(this.ts.buffer, this.ts.byteOffset, this.ts.length * 2));
  }
  get f64(): Float64Array {
    return (this.f64View ??= new Float64Array(this.raw));
  }
  get i64(): BigInt64Array {
    return (this.i64View ??= new BigInt64Array(this.raw));
  }
  get u64(): BigUint64Array {
    return (this.u64View ??= new BigUint64Array(this.raw));
  }
  get v32(): Int32Array {
    return (this.v32View ??= new Int32Array(this.raw));
  }

  get capacity(): number {
    return this.ts.length;
  }

  /** Appends point `i` of `src`. */
  pushFrom(src: Column, i: number): void {
    const n = this.length++;
    this.ts32[2 * n] = src.ts32[2 * i]!;
    this.ts32[2 * n + 1] = src.ts32[2 * i + 1]!;
    if (this.blobs) this.blobs[n] = src.blobs![i]!;
    else {
      this.v32[2 * n] = src.v32[2 * i]!;
      this.v32[2 * n + 1] = src.v32[2 * i + 1]!;
    }
  }

  /** Appends points [from, to) of `src` in one copy. */
  appendRange(src: Column, from: number, to: number): void {
    const n = this.length;
    this.ts32.set(src.ts32.subarray(2 * from, 2 * to), 2 * n);
    if (this.blobs) for (let i = from; i < to; i++) this.blobs[n + i - from] = src.blobs![i]!;
    else this.v32.set(src.v32.subarray(2 * from, 2 * to), 2 * n);
    this.length = n + (to - from);
  }
}

/**
 * Merges runs that are each sorted by timestamp into one sorted column. Equal timestamps keep run order
 * (older data first), so duplicates are all kept in a stable order.
 */
export function mergeRuns(axis: TimeAxis, runs: Column[], blob: boolean): Column {
  const live = runs.filter((r) => r.length > 0);
  if (live.length === 0) return new Column(axis, 0, blob);
  if (live.length === 1) return live[0]!;
  let disjoint = true;
  for (let i = 1; i < live.length && disjoint; i++) {
    const prev = live[i - 1]!;
    if (prev.ts[prev.length - 1]! > live[i]!.ts[0]!) disjoint = false;
  }
  if (disjoint) {
    let total = 0;
    for (const r of live) total += r.length;
    const out = new Column(axis, total, blob);
    for (const r of live) out.appendRange(r, 0, r.length);
    return out;
  }
  let acc = live[0]!;
  for (let k = 1; k < live.length; k++) acc = mergeTwo(axis, acc, live[k]!, blob);
  return acc;
}

function mergeTwo(axis: TimeAxis, a: Column, b: Column, blob: boolean): Column {
  const out = new Column(axis, a.length + b.length, blob);
  let i = 0;
  let j = 0;
  while (i < a.length && j < b.length) {
    if (b.ts[j]! < a.ts[i]!) out.pushFrom(b, j++);
    else out.pushFrom(a, i++);
  }
  if (i < a.length) out.appendRange(a, i, a.length);
  if (j < b.length) out.appendRange(b, j, b.length);
  return out;
}

/**
 * A chunk a segment stores as a record (chunkToRecord), in place in linear memory: `length` bytes at `addr` (in its
 * cached block), with the fields of its index entry. A reader fills one such object for every record it hands to a
 * sink (valid during that call only), so reading a record boxes no timestamp and makes no view (decodeRecordRangeToMemory's
 * RecordRef, with number timestamps, on millisecond storage).
 */
export class ChunkRecord {
  addr = 0;
  length = 0;
  count = 0;
  minTs: Ts = 0;
  maxTs: Ts = 0;

  /** The rebuilt chunk (a copy). */
  chunk(): Uint8Array {
    return chunkFromRecord(memoryViews().u8.slice(this.addr, this.addr + this.length), this.count, this.minTs, this.maxTs);
  }
}

/**
 * Segment records of whole series (f64, millisecond storage) queued for one batch decode into an ArenaBatchBuilder
 * (decodeQueued): per record a descriptor (address in its cached block, length, point count, min/max ts), per series
 * its id and where its records end. Reused batch after batch.
 */
export class RecordQueue {
  /** Descriptors, RECORD_DESC_I32 int32 cells each (f64 cells 2 and 3 of every 32 bytes through `f64`). */
  descs = new Int32Array(RECORD_DESC_I32 * 256);
  private f64 = new Float64Array(this.descs.buffer);
  records = 0;
  /** Series queued; series k owns records [ends[k - 1] (0 for k = 0), ends[k]). */
  series = 0;
  ends = new Int32Array(256);
  ids = new Int32Array(256);
  /** Points of all queued records (an upper bound of the points they hold in a range). */
  points = 0;
  /** Longest queued record. */
  maxLength = 0;

  /**
   * Queues a record: `count` points in `length` bytes at `addr`, its time span minTs[i]..maxTs[i] (read here: a
   * double passed to a call that is not inlined would be boxed, a heap number each).
   */
  add(addr: number, length: number, count: number, minTs: Float64Array, maxTs: Float64Array, i: number): void {
    const r = this.records++;
    if (this.records * RECORD_DESC_I32 > this.descs.length) {
      this.descs = grownTo(this.descs, this.records * RECORD_DESC_I32);
      this.f64 = new Float64Array(this.descs.buffer);
    }
    const at = r * RECORD_DESC_I32;
    this.descs[at] = addr;
    this.descs[at + 1] = length;
    this.descs[at + 2] = count;
    this.f64[r * 4 + 2] = minTs[i]!;
    this.f64[r * 4 + 3] = maxTs[i]!;
    this.points += count;
    if (length > this.maxLength) this.maxLength = length;
  }

  /** Closes the queued records since the previous series as series `id`'s. */
  endSeries(id: number): void {
    const k = this.series++;
    if (this.series > this.ends.length) {
      this.ends = grownTo(this.ends, this.series);
      this.ids = grownTo(this.ids, this.series);
    }
    this.ends[k] = this.records;
    this.ids[k] = id;
  }

  /** Drops the records queued since the last endSeries. */
  dropSeries(): void {
    const from = this.series === 0 ? 0 : this.ends[this.series - 1]!;
    for (let r = from; r < this.records; r++) this.points -= this.descs[r * RECORD_DESC_I32 + 2]!;
    this.records = from;
  }

  clear(): void {
    this.records = this.series = this.points = this.maxLength = 0;
  }
}

/**
 * Where the bulk read writes the points of many series, one series after the other (f64 values): JS pages
 * (ColumnBatchBuilder) or the WASM read arena (ArenaBatchBuilder).
 */
export interface PointSink {
  /** Points written so far. */
  readonly length: number;
  /** Appends the points of an f64 chunk in [s, e); false when they start before the series' last point. */
  appendChunk(bytes: Uint8Array, s: Ts, e: Ts): boolean;
  /** appendChunk for a chunk a segment stores as a record (chunkToRecord), with its index entry's fields. */
  appendRecord(record: ChunkRecord, s: Ts, e: Ts): boolean;
  /** Appends cells [from, to) given as int32 pairs (timestamps and f64 values; bit-exact). */
  appendCells(ts32: Int32Array, v32: Int32Array, from: number, to: number): void;
  /** Appends a column of numeric kind `kind` (as read by the engine: bool as 0/1 f64), values projected to f64. */
  appendColumn(col: Column, kind: number): void;
  /** Whether the current series already holds a point later than `t`. */
  endsAfter(t: Ts): boolean;
  /** Drops the points written for the current series. */
  discardSeries(): void;
  /** Closes the current series; returns false (and records nothing) when it has no points. */
  endSeries(): boolean;
}

/** Points of the first page of a ColumnBatchBuilder; each further page doubles, up to PAGE_POINTS. */
const FIRST_PAGE_POINTS = 1 << 12;
/** Largest page (1 MiB of timestamps + 1 MiB of values). */
const PAGE_POINTS = 1 << 17;

/**
 * The points of many series, f64 values, written back to back into shared pages of typed arrays: the bulk read
 * path decodes chunks straight into them instead of building a column per chunk and series. A series always
 * lies in one page (a series that does not fit moves to a fresh page), so each comes out as two subarray views.
 * Pages start at 4k points and double up to 128k, so a small read does not zero megabytes.
 */
export class ColumnBatchBuilder implements PointSink {
  /** The current page; points of the current series are [seriesStart, length). */
  ts: TimestampArray;
  values: Float64Array;
  length = 0;
  seriesStart = 0;
  readonly seriesTimestamps: TimestampArray[] = [];
  readonly seriesValues: Float64Array[] = [];
  private ts32View: Int32Array;
  private v32View: Int32Array;
  private nextPagePoints = FIRST_PAGE_POINTS;

  constructor(private readonly axis: TimeAxis) {
    this.ts = axis.newArray(0);
    this.values = new Float64Array(0);
    this.ts32View = new Int32Array(0);
    this.v32View = new Int32Array(0);
  }

  /** Makes room for `n` more points of the current series in the current page. */
  reserve(n: number): void {
    if (this.length + n <= this.values.length) return;
    const partial = this.length - this.seriesStart;
    const cap = Math.max(this.nextPagePoints, partial + n);
    this.nextPagePoints = Math.min(PAGE_POINTS, this.nextPagePoints * 2); // small reads stay small
    const ts = this.axis.newArray(cap);
    const values = new Float64Array(cap);
    ts.set(this.ts.subarray(this.seriesStart, this.length) as never);
    values.set(this.values.subarray(this.seriesStart, this.length));
    this.ts = ts;
    this.values = values;
    this.ts32View = new Int32Array(ts.buffer);
    this.v32View = new Int32Array(values.buffer);
    this.seriesStart = 0;
    this.length = partial;
  }

  appendChunk(bytes: Uint8Array, s: Ts, e: Ts): boolean {
    this.reserve(Math.min(chunkPointCount(bytes), MAX_CHUNK_POINTS));
    const n = decodeRangeInto(bytes, s, e, this.ts, this.values, this.length);
    if (n === 0) return true;
    if (this.endsAfter(this.ts[this.length]!)) return false;
    this.length += n;
    return true;
  }

  appendRecord(record: ChunkRecord, s: Ts, e: Ts): boolean {
    return this.appendChunk(record.chunk(), s, e);
  }

  endsAfter(t: Ts): boolean {
    return this.length > this.seriesStart && this.ts[this.length - 1]! > t;
  }

  appendCells(ts32: Int32Array, v32: Int32Array, from: number, to: number): void {
    this.reserve(to - from);
    const n = this.length;
    this.ts32View.set(ts32.subarray(2 * from, 2 * to), 2 * n);
    this.v32View.set(v32.subarray(2 * from, 2 * to), 2 * n);
    this.length = n + (to - from);
  }

  appendColumn(col: Column, kind: number): void {
    if (kind === KIND_F64 || kind === KIND_BOOL) {
      this.appendCells(col.ts32, col.v32, 0, col.length);
      return;
    }
    this.reserve(col.length);
    this.ts.set(col.ts.subarray(0, col.length) as never, this.length);
    const ints = kind === KIND_I64 ? col.i64 : col.u64;
    for (let i = 0; i < col.length; i++) this.values[this.length + i] = Number(ints[i]!);
    this.length += col.length;
  }

  discardSeries(): void {
    this.length = this.seriesStart;
  }

  endSeries(): boolean {
    if (this.length === this.seriesStart) return false;
    this.seriesTimestamps.push(this.ts.subarray(this.seriesStart, this.length));
    this.seriesValues.push(this.values.subarray(this.seriesStart, this.length));
    this.seriesStart = this.length;
    return true;
  }
}

interface ArenaExports {
  readArena(points: number, keepPoints: number): number;
  readArenaPoints(): number;
}

/**
 * The per-series arrays of the arena batch being built, shared by every ArenaBatchBuilder like the arena itself (a
 * batch is built and consumed synchronously, between two reads' awaits): `starts`, the start index of each closed
 * series (series i is [starts[i], starts[i + 1] or length)), and decodeQueued's per-series point counts (and status).
 */
const arenaScratch = { starts: new Int32Array(1024), counts: new Int32Array(256) };

/**
 * The points of many series written back to back into the WASM read arena (f64 millisecond timestamps and f64
 * values, timestamps area then values area), where range kernels read them in place: chunks are decoded straight
 * into it. Holds indexes, never addresses (the arena moves when it grows). One builder at a time: the arena is
 * shared, and its contents are valid until the next builder writes.
 */
export class ArenaBatchBuilder implements PointSink {
  /** Points written; the current series is [seriesStart, length). */
  length = 0;
  seriesStart = 0;
  /** Series closed so far. */
  count = 0;
  /** Byte address of the timestamps area (valid until the arena grows: reserve() updates it). */
  tsPtr: number;
  /** Byte address of the values area. */
  vsPtr: number;
  private readonly wasm = loadWasm() as unknown as ArenaExports;
  private capacity = 0;

  /**
   * `expectedPoints`: the batch size the caller fills up to, reserved at once. The arena's earlier sizes would stay
   * behind as touched, unused linear memory (it never shrinks), and the AssemblyScript heap doubles linear memory
   * on every growth step.
   */
  constructor(expectedPoints = 0) {
    this.tsPtr = this.vsPtr = 0;
    this.reserve(expectedPoints);
  }

  private reserve(n: number): void {
    if (this.length + n <= this.capacity && this.tsPtr !== 0) return;
    this.tsPtr = this.wasm.readArena(this.length + n, this.length);
    this.capacity = this.wasm.readArenaPoints();
    this.vsPtr = this.tsPtr + this.capacity * 8;
  }

  appendChunk(bytes: Uint8Array, s: Ts, e: Ts): boolean {
    this.reserve(Math.min(chunkPointCount(bytes), MAX_CHUNK_POINTS));
    const ts = this.tsPtr;
    return this.appended(decodeRangeToMemory(bytes, s as number, e as number, ts, this.vsPtr, this.length));
  }

  appendRecord(r: ChunkRecord, s: Ts, e: Ts): boolean {
    this.reserve(Math.min(r.count, MAX_CHUNK_POINTS));
    const ts = this.tsPtr;
    const n = decodeRecordRangeToMemory(r as ChunkRecord & { minTs: number; maxTs: number }, s as number, e as number, ts, this.vsPtr, this.length); // (ms: number timestamps)
    return this.appended(n);
  }

  /** Accepts the n points just decoded at the end unless they start before the series' last point. */
  private appended(n: number): boolean {
    if (n === 0) return true;
    // endsAfter inline: a double passed to a call would be boxed, a heap number per chunk
    const f64 = memoryViews().f64;
    const at = this.tsPtr / 8 + this.length;
    if (this.length > this.seriesStart && f64[at - 1]! > f64[at]!) return false;
    this.length += n;
    return true;
  }

  endsAfter(t: Ts): boolean {
    return this.length > this.seriesStart && memoryViews().f64[this.tsPtr / 8 + this.length - 1]! > (t as number);
  }

  appendCells(ts32: Int32Array, v32: Int32Array, from: number, to: number): void {
    this.reserve(to - from);
    const mem = memoryViews().i32;
    mem.set(ts32.subarray(2 * from, 2 * to), this.tsPtr / 4 + 2 * this.length);
    mem.set(v32.subarray(2 * from, 2 * to), this.vsPtr / 4 + 2 * this.length);
    this.length += to - from;
  }

  appendColumn(col: Column, kind: number): void {
    if (kind === KIND_F64 || kind === KIND_BOOL) {
      this.appendCells(col.ts32, col.v32, 0, col.length);
      return;
    }
    this.reserve(col.length);
    const f64 = memoryViews().f64;
    const t = this.tsPtr / 8 + this.length;
    const v = this.vsPtr / 8 + this.length;
    f64.set(col.ts.subarray(0, col.length) as Float64Array, t);
    const ints = kind === KIND_I64 ? col.i64 : col.u64;
    for (let i = 0; i < col.length; i++) f64[v + i] = Number(ints[i]!);
    this.length += col.length;
  }

  discardSeries(): void {
    this.length = this.seriesStart;
  }

  endSeries(): boolean {
    if (this.length === this.seriesStart) return false;
    if (this.count + 1 >= arenaScratch.starts.length) arenaScratch.starts = grownTo(arenaScratch.starts, this.count + 2);
    arenaScratch.starts[this.count++] = this.seriesStart;
    this.seriesStart = this.length;
    return true;
  }

  /**
   * Decodes the series queued in `queue` (records of f64 series, read in [s, e)) by one kernel call, each series
   * closed as endSeries would (`kept` called for those with points), and clears the queue. A series whose records
   * overlap in time or fail to decode is handed to `readAlone` instead, which appends and closes it itself (merging
   * it, or throwing the decoder's error); the kernel then goes on with the next series.
   */
  decodeQueued(queue: RecordQueue, s: number, e: number, kept: (sid: number) => void, readAlone: (sid: number) => void): void {
    if (this.length !== this.seriesStart) throw new Error("decodeQueued with a series open");
    if (arenaScratch.counts.length <= queue.series) arenaScratch.counts = new Int32Array(queue.series + 2);
    const counts = arenaScratch.counts;
    for (let from = 0; from < queue.series; ) {
      this.reserve(queue.points); // (all queued points: the kernel may write a whole record before moving its run in range)
      const done = decodeSeriesRecordsToMemory(queue.descs, queue.ends, from, queue.series, queue.maxLength, s, e, this.tsPtr, this.vsPtr, this.length, counts);
      for (let k = 0; k < done; k++) {
        const n = counts[k]!;
        if (n === 0) continue;
        this.length += n;
        this.endSeries();
        kept(queue.ids[from + k]!);
      }
      from += done;
      if (from < queue.series) readAlone(queue.ids[from++]!);
    }
    queue.clear();
  }

  /** The batch's series offsets: series i is points [offsets[i], offsets[i + 1]); a view valid until clear(). */
  offsets(): Int32Array {
    arenaScratch.starts[this.count] = this.length;
    return arenaScratch.starts.subarray(0, this.count + 1);
  }

  /**
   * Forgets every series (after a batch was consumed); the arena is reused. The next append asks for the arena's
   * address again: a read that yields between batches may find it moved by another read's batch.
   */
  clear(): void {
    this.length = 0;
    this.seriesStart = 0;
    this.count = 0;
    this.tsPtr = this.vsPtr = 0;
  }
}
