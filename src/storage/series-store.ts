// Per-series point storage in memory: active partition heads (slab blocks, struct-of-arrays, no per-point or
// per-head JS objects) sealed into encoded chunks at `chunkPoints`, plus reading a time range back as columns.
import { chunkInfo, decodeChunk, decodeRangeInto, encodeChunk, type ValueKind } from "../encoding/chunk.js";
import { PagePool, type SizeClass, type SlabPage, makeSizeClasses } from "./active-buffers.js";
import { Column, type PointSink } from "./column.js";
import { type SealedChunk, SealedChunks } from "./sealed-chunks.js";
import { lowerBound, type TimeAxis, type Ts } from "./timestamps.js";
import { KIND_BOOL, KIND_BYTES, KIND_F64, KIND_I64, KIND_NAMES, KIND_STRING, KIND_U64, type Blob, isBlobKind } from "./value-kinds.js";
import { resized } from "../encoding/typed-arrays.js";

export interface StoreConfig {
  chunkPoints: number;
  partitionUnits: Ts;
  maxHeadsPerSeries: number;
}

const NO_HEAD = -1;

export class SeriesStore {
  private readonly pool: PagePool;
  private readonly classes: SizeClass[];
  // per series
  private firstHead = new Int32Array(1024).fill(NO_HEAD);
  private headCount = new Uint8Array(1024);
  private readonly sealed: SealedChunks;
  // per head
  private hPartition = new Float64Array(256);
  private hClass = new Uint8Array(256);
  private hBlock = new Int32Array(256);
  private hCount = new Uint16Array(256); // chunkPoints <= 65535
  private hSorted = new Uint8Array(256);
  /** Payload bytes of the blob values a head references; made on the first blob value (numeric stores lack it). */
  private hBlobBytes: Float64Array | null = null;
  private hNext = new Int32Array(256);
  private hFree: number[] = [];
  private hHighWater = 0;
  private sealSeq = 0;
  /** Set by locate(): index of the located head's first point within its page. */
  private base = 0;
  /** Set by headRange(): the points of the head in the asked range are [lo, hi) of its page. */
  private lo = 0;
  private hi = 0;
  activeHeads = 0;
  /** Payload bytes of blob values held by active heads (counted into the memory budget). */
  private blobBytes = 0;

  constructor(
    private readonly axis: TimeAxis,
    private readonly config: StoreConfig,
  ) {
    this.pool = new PagePool(axis);
    this.classes = makeSizeClasses(axis, config.chunkPoints, this.pool);
    this.sealed = new SealedChunks(axis);
  }

  get sealedBytes(): number {
    return this.sealed.bytes;
  }

  get sealedChunkCount(): number {
    return this.sealed.count;
  }

  get activeBytes(): number {
    let b = this.blobBytes;
    for (const c of this.classes) b += c.liveBytes;
    return b;
  }

  /** Bytes held by slabs (live and free blocks, pooled pages) plus the head and series tables. */
  get allocatedBytes(): number {
    let b = this.pool.bytes;
    for (const c of this.classes) b += c.bytes;
    return (
      b + this.firstHead.byteLength + this.headCount.byteLength + this.sealed.arenaBytes +
      this.hPartition.length * (8 + 1 + 4 + 2 + 1 + 4) + (this.hBlobBytes?.byteLength ?? 0)
    );
  }

  /**
   * Appends point `vi` of a batch: its timestamp `timestamps[vi]`; `v32`/`vi` locate its 8-byte value cell (numeric kinds), `blob` is the value of blob kinds.
   * Returns true when a chunk was sealed.
   */
  append(sid: number, kind: number, timestamps: ArrayLike<Ts>, vi: number, v32: Int32Array, blob: Blob | undefined): boolean {
    // the timestamp is read here, not passed in: a double argument would be boxed into a HeapNumber per sample
    const ts = timestamps[vi]!;
    const partition = this.axis.partitionOf(ts, this.config.partitionUnits);
    let h = sid < this.firstHead.length ? this.firstHead[sid]! : NO_HEAD;
    while (h !== NO_HEAD && this.hPartition[h] !== partition) h = this.hNext[h]!;
    let sealedOne = false;
    if (h === NO_HEAD) {
      sealedOne = this.evictForNewHead(sid, kind);
      h = this.openHead(sid, partition);
    }
    let n = this.hCount[h]!;
    if (n === this.classes[this.hClass[h]!]!.blockPoints) this.growHead(h, kind);
    const pg = this.locate(h);
    const at = this.base + n;
    const tsCells = pg.ts;
    tsCells[at] = ts as never;
    if (n > 0 && tsCells[at - 1]! > ts) this.hSorted[h] = 0;
    if (isBlobKind(kind)) {
      pg.ensureBlobs()[at] = blob!;
      const size = blobSize(blob!);
      (this.hBlobBytes ??= new Float64Array(this.hPartition.length))[h] += size;
      this.blobBytes += size;
    } else {
      pg.v32[2 * at] = v32[2 * vi]!;
      pg.v32[2 * at + 1] = v32[2 * vi + 1]!;
    }
    this.hCount[h] = ++n;
    if (n >= this.config.chunkPoints) {
      this.sealHead(sid, h, kind);
      sealedOne = true;
    }
    return sealedOne;
  }

  /** Seals every active head (used before a flush and on close). */
  sealAll(kindOf: (sid: number) => number): void {
    this.sealRange(0, this.firstHead.length, kindOf);
  }

  /**
   * Seals the heads of series ids in [from, to); returns the end of the id space (callers seal in slices). Once no
   * head is left, the pooled empty pages are let go too (a flush leaves no reason to hold them).
   */
  sealRange(from: number, to: number, kindOf: (sid: number) => number): number {
    const end = Math.min(to, this.firstHead.length);
    for (let sid = from; sid < end; sid++) {
      while (this.firstHead[sid]! !== NO_HEAD) this.sealHead(sid, this.firstHead[sid]!, kindOf(sid));
    }
    if (this.activeHeads === 0) this.pool.clear();
    return this.firstHead.length;
  }

  sealedOf(sid: number): readonly SealedChunk[] {
    return this.sealed.list(sid);
  }

  /** Series ids that hold sealed chunks, ascending. */
  seriesWithSealed(): number[] {
    return this.sealed.seriesIds();
  }

  /** Forgets sealed chunks with seq <= upToSeq (after the durability layer persisted them). */
  releaseSealed(sid: number, upToSeq: number): void {
    this.sealed.removeWhere(sid, (_min, _max, seq) => seq <= upToSeq);
  }

  /** Encoded sealed chunks of `sid` whose bounds overlap [start, end), in sealing order (appended to `out`). */
  sealedIn(sid: number, start: Ts, end: Ts, out?: Uint8Array[]): Uint8Array[] {
    return this.sealed.overlapping(sid, start, end, out);
  }

  /** Points of the active heads of `sid` in [start, end): one sorted run per head. */
  readHeads(sid: number, kind: number, start: Ts, end: Ts): Column[] {
    const runs: Column[] = [];
    for (let h = sid < this.firstHead.length ? this.firstHead[sid]! : NO_HEAD; h !== NO_HEAD; h = this.hNext[h]!) {
      runs.push(this.readHead(h, kind, start, end));
    }
    return runs;
  }

  /**
   * Appends the points of `sid`'s active heads in [start, end) to `out` (f64 or bool cells), one sorted run per
   * head. Returns false when a run starts before the point preceding it in the current series: runs overlap.
   */
  appendHeads(sid: number, start: Ts, end: Ts, out: PointSink): boolean {
    let ordered = true;
    for (let h = sid < this.firstHead.length ? this.firstHead[sid]! : NO_HEAD; h !== NO_HEAD; h = this.hNext[h]!) {
      const pg = this.headRange(h, start, end);
      const { lo, hi } = this;
      if (hi === lo) continue;
      if (out.endsAfter(pg.ts[lo]!)) ordered = false;
      out.appendCells(pg.ts32, pg.v32, lo, hi);
    }
    return ordered;
  }

  /**
   * Whether series `sid` may have points in memory in [start, end): a sealed chunk overlapping it (by its bounds) or
   * an active head with a point in it (a live series read over older data has none).
   */
  inMemory(sid: number, start: Ts, end: Ts): boolean {
    for (let h = sid < this.firstHead.length ? this.firstHead[sid]! : NO_HEAD; h !== NO_HEAD; h = this.hNext[h]!) {
      this.headRange(h, start, end);
      if (this.hi > this.lo) return true;
    }
    return this.sealed.hasOverlap(sid, start, end);
  }

  /** Whether series `sid` has at least one point in [start, end) (sealed chunks judged by their bounds). */
  hasDataIn(sid: number, start: Ts, end: Ts): boolean {
    if (this.sealed.hasOverlap(sid, start, end)) return true;
    for (let h = sid < this.firstHead.length ? this.firstHead[sid]! : NO_HEAD; h !== NO_HEAD; h = this.hNext[h]!) {
      const pg = this.locate(h);
      const base = this.base;
      for (let i = 0, n = this.hCount[h]!; i < n; i++) {
        const t = pg.ts[base + i]!;
        if (t >= start && t < end) return true;
      }
    }
    return false;
  }

  /** Removes the points of `sid` in [start, end): heads are compacted, chunks dropped or re-encoded. */
  deleteRange(sid: number, kind: number, start: Ts, end: Ts): void {
    this.sealed.rewriteOverlapping(sid, start, end, (bytes) => {
      const col = decodeChunkRange(this.axis, bytes, kind, this.axis.min, this.axis.max);
      const kept = new Column(this.axis, col.length, isBlobKind(kind));
      for (let i = 0; i < col.length; i++) {
        const t = col.ts[i]!;
        if (t < start || t >= end) kept.pushFrom(col, i);
      }
      if (kept.length === 0) return null;
      return { bytes: this.encode(kind, kept, 0, kept.length), minTs: kept.ts[0]!, maxTs: kept.ts[kept.length - 1]!, count: kept.length };
    });
    // (a page of a numeric head may have blob slots too: other series' blocks share the page)
    const blob = isBlobKind(kind);
    let h = sid < this.firstHead.length ? this.firstHead[sid]! : NO_HEAD;
    while (h !== NO_HEAD) {
      const following = this.hNext[h]!;
      const pg = this.locate(h);
      const base = this.base;
      let w = 0;
      for (let i = 0, n = this.hCount[h]!; i < n; i++) {
        const t = pg.ts[base + i]!;
        if (t >= start && t < end) {
          if (blob) {
            const size = blobSize(pg.blobs![base + i]!);
            this.hBlobBytes![h] -= size;
            this.blobBytes -= size;
          }
          continue;
        }
        if (w !== i) {
          pg.ts32[2 * (base + w)] = pg.ts32[2 * (base + i)]!;
          pg.ts32[2 * (base + w) + 1] = pg.ts32[2 * (base + i) + 1]!;
          if (blob) pg.blobs![base + w] = pg.blobs![base + i]!;
          pg.v32[2 * (base + w)] = pg.v32[2 * (base + i)]!;
          pg.v32[2 * (base + w) + 1] = pg.v32[2 * (base + i) + 1]!;
        }
        w++;
      }
      // drop references to removed blobs
      if (blob) pg.blobs!.fill(undefined as unknown as Blob, base + w, base + this.hCount[h]!);
      if (w === 0) this.closeHead(sid, h);
      else this.hCount[h] = w;
      h = following;
    }
  }

  /** Drops everything held for `sid`. */
  dropSeries(sid: number): void {
    this.sealed.removeWhere(sid, () => true);
    while (sid < this.firstHead.length && this.firstHead[sid]! !== NO_HEAD) this.closeHead(sid, this.firstHead[sid]!);
  }

  /** Drops sealed chunks that end before `cutoff` (retention). Returns the number dropped. */
  dropSealedBefore(cutoff: Ts): number {
    let dropped = 0;
    for (const sid of this.sealed.seriesIds()) dropped += this.sealed.removeWhere(sid, (_min, max) => max < cutoff);
    return dropped;
  }

  // ---- internals ----

  private openHead(sid: number, partition: number): number {
    if (sid >= this.firstHead.length) {
      let size = this.firstHead.length * 2;
      while (size <= sid) size *= 2;
      const fh = new Int32Array(size).fill(NO_HEAD);
      fh.set(this.firstHead);
      this.firstHead = fh;
      const hc = new Uint8Array(size);
      hc.set(this.headCount);
      this.headCount = hc;
    }
    let h = this.hFree.pop();
    if (h === undefined) {
      h = this.hHighWater++;
      if (h >= this.hPartition.length) this.growHeadTable();
    }
    this.hPartition[h] = partition;
    this.hClass[h] = 0;
    this.hBlock[h] = this.classes[0]!.alloc();
    this.hCount[h] = 0;
    this.hSorted[h] = 1;
    if (this.hBlobBytes) this.hBlobBytes[h] = 0;
    // keep heads ordered by partition (oldest first) so eviction takes the list head
    let prev = NO_HEAD;
    let cur = this.firstHead[sid]!;
    while (cur !== NO_HEAD && this.hPartition[cur]! < partition) {
      prev = cur;
      cur = this.hNext[cur]!;
    }
    this.hNext[h] = cur;
    if (prev === NO_HEAD) this.firstHead[sid] = h;
    else this.hNext[prev] = h;
    this.headCount[sid]++;
    this.activeHeads++;
    return h;
  }

  /** At the head limit, seals the oldest partition head to make room (bounded out-of-order fan-out). */
  private evictForNewHead(sid: number, kind: number): boolean {
    if (sid >= this.headCount.length || this.headCount[sid]! < this.config.maxHeadsPerSeries) return false;
    this.sealHead(sid, this.firstHead[sid]!, kind);
    return true;
  }

  private growHeadTable(): void {
    const size = this.hPartition.length * 2;
    this.hPartition = resized(this.hPartition, size);
    this.hClass = resized(this.hClass, size);
    this.hBlock = resized(this.hBlock, size);
    this.hCount = resized(this.hCount, size);
    this.hSorted = resized(this.hSorted, size);
    if (this.hBlobBytes) this.hBlobBytes = resized(this.hBlobBytes, size);
    this.hNext = resized(this.hNext, size);
  }

  /** Moves a full head into a block of the next size class. */
  private growHead(h: number, kind: number): void {
    const from = this.classes[this.hClass[h]!]!;
    const ci = this.hClass[h]! + 1;
    const to = this.classes[ci]!;
    const block = to.alloc();
    const src = from.pageOf(this.hBlock[h]!);
    const s0 = from.offsetOf(this.hBlock[h]!);
    const dst = to.pageOf(block);
    const d0 = to.offsetOf(block);
    const n = from.blockPoints;
    copyCells(src.ts32, s0, dst.ts32, d0, n);
    if (isBlobKind(kind)) {
      const blobs = dst.ensureBlobs();
      for (let i = 0; i < n; i++) blobs[d0 + i] = src.blobs![s0 + i]!;
    } else copyCells(src.v32, s0, dst.v32, d0, n);
    from.release(this.hBlock[h]!);
    this.hClass[h] = ci;
    this.hBlock[h] = block;
  }

  /** The slab page of head `h`; sets `this.base` to the index of its first point in that page. */
  private locate(h: number): SlabPage {
    const cls = this.classes[this.hClass[h]!]!;
    const block = this.hBlock[h]!;
    this.base = cls.offsetOf(block);
    return cls.pageOf(block);
  }

  /** Sorts head `h` and finds its points in [start, end): they are [this.lo, this.hi) of the returned page. */
  private headRange(h: number, start: Ts, end: Ts): SlabPage {
    this.sortHead(h);
    const pg = this.locate(h);
    const n = this.hCount[h]!;
    this.lo = lowerBound(pg.ts, this.base, this.base + n, start);
    this.hi = lowerBound(pg.ts, this.lo, this.base + n, end);
    return pg;
  }

  /** Sorts a head's points by timestamp in place (stable: equal timestamps keep arrival order). */
  private sortHead(h: number): void {
    if (this.hSorted[h]) return;
    const pg = this.locate(h);
    const base = this.base;
    const n = this.hCount[h]!;
    const ts = pg.ts;
    const order = new Uint32Array(n);
    for (let i = 0; i < n; i++) order[i] = i;
    order.sort((a, b) => {
      const x = ts[base + a]!;
      const y = ts[base + b]!;
      return x < y ? -1 : x > y ? 1 : a - b;
    });
    const t32 = pg.ts32.slice(2 * base, 2 * (base + n));
    const v32 = pg.v32.slice(2 * base, 2 * (base + n));
    const blobs = pg.blobs ? pg.blobs.slice(base, base + n) : null;
    for (let i = 0; i < n; i++) {
      const j = order[i]!;
      pg.ts32[2 * (base + i)] = t32[2 * j]!;
      pg.ts32[2 * (base + i) + 1] = t32[2 * j + 1]!;
      pg.v32[2 * (base + i)] = v32[2 * j]!;
      pg.v32[2 * (base + i) + 1] = v32[2 * j + 1]!;
      if (blobs) pg.blobs![base + i] = blobs[j]!;
    }
    this.hSorted[h] = 1;
  }

  private readHead(h: number, kind: number, start: Ts, end: Ts): Column {
    const pg = this.headRange(h, start, end);
    const { lo, hi } = this;
    const col = new Column(this.axis, hi - lo, isBlobKind(kind));
    col.ts32.set(pg.ts32.subarray(2 * lo, 2 * hi));
    if (col.blobs) for (let i = lo; i < hi; i++) col.blobs[i - lo] = pg.blobs![i]!;
    else col.v32.set(pg.v32.subarray(2 * lo, 2 * hi));
    col.length = hi - lo;
    return col;
  }

  private sealHead(sid: number, h: number, kind: number): void {
    this.sortHead(h);
    const n = this.hCount[h]!;
    if (n > 0) {
      const pg = this.locate(h);
      const base = this.base;
      const chunk = this.encode(kind, pg, base, n);
      this.sealed.add(sid, chunk, pg.ts[base]!, pg.ts[base + n - 1]!, n, ++this.sealSeq);
    }
    this.closeHead(sid, h);
  }

  private encode(kind: number, src: SlabPage | Column, base: number, n: number): Uint8Array {
    const ts = src.ts.subarray(base, base + n);
    return encodeChunk(KIND_NAMES[kind] as ValueKind, ts, valuesFor(kind, src, base, n), n);
  }

  private closeHead(sid: number, h: number): void {
    if (this.hBlobBytes) {
      this.blobBytes -= this.hBlobBytes[h]!;
      this.hBlobBytes[h] = 0;
    }
    this.classes[this.hClass[h]!]!.release(this.hBlock[h]!);
    let prev = NO_HEAD;
    let cur = this.firstHead[sid]!;
    while (cur !== h) {
      prev = cur;
      cur = this.hNext[cur]!;
    }
    if (prev === NO_HEAD) this.firstHead[sid] = this.hNext[h]!;
    else this.hNext[prev] = this.hNext[h]!;
    this.headCount[sid]--;
    this.activeHeads--;
    this.hFree.push(h);
  }
}

/** The value array the chunk encoder wants for `n` points at `base` of a slab class or column. */
function valuesFor(kind: number, src: SlabPage | Column, base: number, n: number) {
  switch (kind) {
    case KIND_F64:
      return src.f64.subarray(base, base + n);
    case KIND_I64:
      return src.i64.subarray(base, base + n);
    case KIND_U64:
      return src.u64.subarray(base, base + n);
    case KIND_BOOL: {
      const out = new Uint8Array(n);
      for (let i = 0; i < n; i++) out[i] = src.f64[base + i] !== 0 ? 1 : 0;
      return out;
    }
    case KIND_BYTES:
      return src.blobs!.slice(base, base + n) as Uint8Array[];
    case KIND_STRING:
      return src.blobs!.slice(base, base + n) as string[];
    default:
      throw new Error(`unknown value kind ${kind}`);
  }
}

/** Decodes the points of an encoded chunk that fall in [start, end) into a column (WASM range decode for numbers). */
export function decodeChunkRange(axis: TimeAxis, bytes: Uint8Array, kind: number, start: Ts, end: Ts): Column {
  if (isBlobKind(kind)) {
    const decoded = decodeChunk(bytes, axis.codecTimestamps);
    const ts = decoded.timestamps;
    const lo = lowerBound(ts, 0, decoded.count, start);
    const hi = lowerBound(ts, lo, decoded.count, end);
    const col = new Column(axis, hi - lo, true);
    col.ts32.set(new Int32Array(ts.buffer, ts.byteOffset + lo * 8, (hi - lo) * 2));
    const arr = decoded.values as Blob[];
    for (let i = lo; i < hi; i++) col.blobs![i - lo] = arr[i]!;
    col.length = hi - lo;
    return col;
  }
  const info = chunkInfo(bytes);
  const col = new Column(axis, info.count, false);
  if (kind === KIND_BOOL) {
    const bools = new Uint8Array(info.count);
    col.length = decodeRangeInto(bytes, start, end, col.ts, bools, 0);
    for (let i = 0; i < col.length; i++) col.f64[i] = bools[i]!;
  } else {
    const out = kind === KIND_F64 ? col.f64 : kind === KIND_I64 ? col.i64 : col.u64;
    col.length = decodeRangeInto(bytes, start, end, col.ts, out, 0);
  }
  return col;
}

/** Copies n 8-byte cells as int32 pairs (bit-exact); small blocks by a loop, which makes no subarray objects. */
function copyCells(src: Int32Array, from: number, dst: Int32Array, to: number, n: number): void {
  if (n > 64) {
    dst.set(src.subarray(2 * from, 2 * (from + n)), 2 * to);
    return;
  }
  for (let i = 0; i < 2 * n; i++) dst[2 * to + i] = src[2 * from + i]!;
}

/** Approximate payload bytes of a blob value (UTF-16 for strings). */
function blobSize(b: Blob): number {
  return typeof b === "string" ? 2 * b.length : b.byteLength;
}
