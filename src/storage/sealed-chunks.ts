// Sealed (encoded, immutable) chunks of every series: bytes packed into 1 MiB arena pages, metadata in
// struct-of-arrays indexed by chunk id, one linked list per series in sealing order. A chunk costs ~42 bytes
// besides its encoding (a JS object and an ArrayBuffer per chunk cost ~500). Pages are bump-allocated and never
// overwritten, so a Uint8Array view handed out stays valid; a page is dropped when its last chunk goes, and the
// arena is compacted when less than half of its bytes are live.
import type { TimeAxis, TimestampArray, Ts } from "./timestamps.js";
import { resized } from "../encoding/typed-arrays.js";

/** An encoded, immutable chunk of one series. `seq` orders chunks by sealing time (for flush watermarks). */
export interface SealedChunk {
  readonly bytes: Uint8Array;
  readonly minTs: Ts;
  readonly maxTs: Ts;
  readonly count: number;
  readonly seq: number;
}

const PAGE_BYTES = 1 << 20;
const NONE = -1;
/** Metadata bytes per chunk (page, offset, length, count, seq, next, min, max), counted into the budget. */
export const CHUNK_METADATA_BYTES = 4 + 4 + 4 + 2 + 8 + 4 + 8 + 8;

export class SealedChunks {
  count = 0;
  /** Encoded bytes of live chunks plus their metadata (what the memory budget counts). */
  bytes = 0;
  private pages: Array<Uint8Array | null> = [];
  private pageLive: number[] = [];
  private freePageIds: number[] = [];
  private current = NONE;
  private used = 0;
  private allocated = 0;
  private live = 0;
  // per chunk
  private cPage = new Uint32Array(64);
  private cOffset = new Uint32Array(64);
  private cLength = new Uint32Array(64);
  private cCount = new Uint16Array(64);
  private cSeq = new Float64Array(64);
  private cNext = new Int32Array(64);
  private cMin: TimestampArray;
  private cMax: TimestampArray;
  private freeIds: number[] = [];
  private highWater = 0;
  // per series
  private sFirst = new Int32Array(256).fill(NONE);
  private sLast = new Int32Array(256).fill(NONE);

  constructor(axis: TimeAxis) {
    this.cMin = axis.newArray(64);
    this.cMax = axis.newArray(64);
  }

  /** Appends a chunk (copied into the arena) to the series' list; returns its seq. */
  add(sid: number, bytes: Uint8Array, minTs: Ts, maxTs: Ts, count: number, seq: number): void {
    const c = this.allocId();
    this.place(c, bytes);
    this.cCount[c] = count;
    this.cSeq[c] = seq;
    this.cMin[c] = minTs as never;
    this.cMax[c] = maxTs as never;
    this.cNext[c] = NONE;
    if (sid >= this.sFirst.length) this.growSeries(sid + 1);
    if (this.sLast[sid] === NONE) this.sFirst[sid] = c;
    else this.cNext[this.sLast[sid]!] = c;
    this.sLast[sid] = c;
    this.count++;
    this.bytes += bytes.byteLength + CHUNK_METADATA_BYTES;
  }

  has(sid: number): boolean {
    return sid < this.sFirst.length && this.sFirst[sid] !== NONE;
  }

  /** The series' chunks as objects (for a flush), in sealing order. */
  list(sid: number): SealedChunk[] {
    const out: SealedChunk[] = [];
    for (let c = this.first(sid); c !== NONE; c = this.cNext[c]!) {
      out.push({ bytes: this.view(c), minTs: this.cMin[c]!, maxTs: this.cMax[c]!, count: this.cCount[c]!, seq: this.cSeq[c]! });
    }
    return out;
  }

  /** Encoded bytes of the series' chunks whose bounds overlap [start, end), in sealing order, appended to `out`. */
  overlapping(sid: number, start: Ts, end: Ts, out: Uint8Array[] = []): Uint8Array[] {
    for (let c = this.first(sid); c !== NONE; c = this.cNext[c]!) if (this.cMax[c]! >= start && this.cMin[c]! < end) out.push(this.view(c));
    return out;
  }

  hasOverlap(sid: number, start: Ts, end: Ts): boolean {
    for (let c = this.first(sid); c !== NONE; c = this.cNext[c]!) if (this.cMax[c]! >= start && this.cMin[c]! < end) return true;
    return false;
  }

  /** Series ids that hold chunks, ascending. */
  seriesIds(): number[] {
    const out: number[] = [];
    for (let sid = 0; sid < this.sFirst.length; sid++) if (this.sFirst[sid] !== NONE) out.push(sid);
    return out;
  }

  /** Removes the series' chunks for which `drop` says so; returns how many went. */
  removeWhere(sid: number, drop: (minTs: Ts, maxTs: Ts, seq: number) => boolean): number {
    let removed = 0;
    let prev = NONE;
    let c = this.first(sid);
    while (c !== NONE) {
      const next = this.cNext[c]!;
      if (drop(this.cMin[c]!, this.cMax[c]!, this.cSeq[c]!)) {
        if (prev === NONE) this.sFirst[sid] = next;
        else this.cNext[prev] = next;
        if (this.sLast[sid] === c) this.sLast[sid] = prev;
        this.freeChunk(c);
        removed++;
      } else prev = c;
      c = next;
    }
    if (removed > 0) this.maybeCompact();
    return removed;
  }

  /**
   * Replaces each chunk overlapping [start, end) by `rewrite(bytes)`: new encoded bytes with their bounds and
   * count (same place in the list, same seq), or null to drop it.
   */
  rewriteOverlapping(
    sid: number,
    start: Ts,
    end: Ts,
    rewrite: (bytes: Uint8Array) => { bytes: Uint8Array; minTs: Ts; maxTs: Ts; count: number } | null,
  ): void {
    const seqs = new Map<number, { bytes: Uint8Array; minTs: Ts; maxTs: Ts; count: number } | null>();
    for (let c = this.first(sid); c !== NONE; c = this.cNext[c]!) {
      if (this.cMax[c]! >= start && this.cMin[c]! < end) seqs.set(this.cSeq[c]!, rewrite(this.view(c)));
    }
    if (seqs.size === 0) return;
    for (let c = this.first(sid); c !== NONE; c = this.cNext[c]!) {
      const r = seqs.get(this.cSeq[c]!);
      if (!r) continue;
      this.live -= this.cLength[c]!;
      this.pageFree(this.cPage[c]!, this.cLength[c]!);
      this.bytes += r.bytes.byteLength - this.cLength[c]!;
      this.place(c, r.bytes);
      this.cMin[c] = r.minTs as never;
      this.cMax[c] = r.maxTs as never;
      this.cCount[c] = r.count;
    }
    this.removeWhere(sid, (_min, _max, seq) => seqs.has(seq) && seqs.get(seq) === null);
    this.maybeCompact();
  }

  get arenaBytes(): number {
    return this.allocated + this.cPage.length * CHUNK_METADATA_BYTES + this.sFirst.byteLength * 2;
  }

  // ---- internals ----

  private first(sid: number): number {
    return sid < this.sFirst.length ? this.sFirst[sid]! : NONE;
  }

  private view(c: number): Uint8Array {
    const off = this.cOffset[c]!;
    return this.pages[this.cPage[c]!]!.subarray(off, off + this.cLength[c]!);
  }

  /** Copies `bytes` into the arena and points chunk `c` at them. */
  private place(c: number, bytes: Uint8Array): void {
    const n = bytes.byteLength;
    if (this.current === NONE || this.used + n > this.pages[this.current]!.byteLength) this.newPage(n);
    this.pages[this.current]!.set(bytes, this.used);
    this.cPage[c] = this.current;
    this.cOffset[c] = this.used;
    this.cLength[c] = n;
    this.used += n;
    this.pageLive[this.current]! += n;
    this.live += n;
  }

  private newPage(minBytes: number): void {
    const id = this.freePageIds.pop() ?? this.pages.length;
    const size = Math.max(PAGE_BYTES, minBytes);
    this.pages[id] = new Uint8Array(size);
    this.pageLive[id] = 0;
    this.allocated += size;
    const previous = this.current;
    this.current = id;
    this.used = 0;
    if (previous !== NONE && this.pageLive[previous] === 0) this.dropPage(previous);
  }

  private pageFree(page: number, n: number): void {
    this.pageLive[page]! -= n;
    if (this.pageLive[page] === 0 && page !== this.current) this.dropPage(page);
  }

  private dropPage(page: number): void {
    this.allocated -= this.pages[page]!.byteLength;
    this.pages[page] = null;
    this.freePageIds.push(page);
  }

  private freeChunk(c: number): void {
    this.live -= this.cLength[c]!;
    this.bytes -= this.cLength[c]! + CHUNK_METADATA_BYTES;
    this.count--;
    this.pageFree(this.cPage[c]!, this.cLength[c]!);
    this.freeIds.push(c);
  }

  /** When under half of the arena is live, copies every live chunk into fresh pages (old views stay valid). */
  private maybeCompact(): void {
    if (this.allocated <= 4 * PAGE_BYTES || this.live * 2 >= this.allocated) return;
    const old = this.pages;
    this.pages = [];
    this.pageLive = [];
    this.freePageIds = [];
    this.current = NONE;
    this.allocated = 0;
    this.live = 0;
    for (let sid = 0; sid < this.sFirst.length; sid++) {
      for (let c = this.sFirst[sid]!; c !== NONE; c = this.cNext[c]!) {
        const off = this.cOffset[c]!;
        this.place(c, old[this.cPage[c]!]!.subarray(off, off + this.cLength[c]!));
      }
    }
  }

  private allocId(): number {
    const reused = this.freeIds.pop();
    if (reused !== undefined) return reused;
    const c = this.highWater++;
    if (c >= this.cPage.length) this.growChunks(c + 1);
    return c;
  }

  private growChunks(min: number): void {
    const size = Math.max(min, Math.ceil(this.cPage.length * 1.5));
    this.cPage = resized(this.cPage, size);
    this.cOffset = resized(this.cOffset, size);
    this.cLength = resized(this.cLength, size);
    this.cCount = resized(this.cCount, size);
    this.cSeq = resized(this.cSeq, size);
    this.cNext = resized(this.cNext, size);
    this.cMin = resized(this.cMin, size);
    this.cMax = resized(this.cMax, size);
  }

  private growSeries(min: number): void {
    let size = this.sFirst.length * 2;
    while (size < min) size *= 2;
    this.sFirst = resized(this.sFirst, size, NONE);
    this.sLast = resized(this.sLast, size, NONE);
  }
}
