// Slab allocator for active (not yet sealed) points: blocks of 8, 12, 16, 24, ... points carved out of pages of
// one common size, so a series' buffer costs no JS object, its points stay contiguous (a block is handed to the
// chunk encoder as a subarray without copying), and growth never copies a full slab. Each page keeps its own
// free list, and a page whose blocks are all free goes back to a pool shared by the size classes: when every
// head outgrows one class at once (all series of a scrape reach 9 points), the pages the smaller class gives up
// are the pages the larger class takes, instead of fresh ArrayBuffers (which also make V8 run full GCs).
// Hand-written because no library does this.
import type { TimeAxis, TimestampArray } from "./timestamps.js";
import type { Blob } from "./value-kinds.js";

const MIN_BLOCK_POINTS = 8;
/** Points of a full page (512 KiB of timestamp + value cells); larger only for a class whose block exceeds it. */
export const PAGE_POINTS = 32768;
/** A block id is page << BLOCK_BITS | index in page (PAGE_POINTS / MIN_BLOCK_POINTS blocks fit). */
const BLOCK_BITS = 12;
const BLOCK_MASK = (1 << BLOCK_BITS) - 1;
const FIRST_PAGE_BLOCKS = 64;
const CELL = 8;
/** Most empty full-size pages kept for reuse (8 MiB). */
const POOL_PAGES = 16;

/** One page of a size class: timestamp cells, value cells (several views) and blob references. */
export class SlabPage {
  readonly ts: TimestampArray;
  readonly ts32: Int32Array;
  readonly f64: Float64Array;
  readonly i64: BigInt64Array;
  readonly u64: BigUint64Array;
  readonly v32: Int32Array;
  blobs: Blob[] | null = null;

  constructor(axis: TimeAxis, readonly points: number, from?: SlabPage) {
    const tsBuf = new ArrayBuffer(points * CELL);
    const valBuf = new ArrayBuffer(points * CELL);
    this.ts = axis.view(tsBuf);
    this.ts32 = new Int32Array(tsBuf);
    this.f64 = new Float64Array(valBuf);
    this.i64 = new BigInt64Array(valBuf);
    this.u64 = new BigUint64Array(valBuf);
    this.v32 = new Int32Array(valBuf);
    if (from) {
      this.ts32.set(from.ts32);
      this.v32.set(from.v32);
      if (from.blobs) {
        this.blobs = from.blobs;
        this.blobs.length = points;
      }
    }
  }

  ensureBlobs(): Blob[] {
    return (this.blobs ??= new Array<Blob>(this.points));
  }
}

/** Empty full-size pages shared by the size classes of one store (their blob slots are all undefined). */
export class PagePool {
  private readonly pages: SlabPage[] = [];

  constructor(private readonly axis: TimeAxis) {}

  take(): SlabPage {
    return this.pages.pop() ?? new SlabPage(this.axis, PAGE_POINTS);
  }

  give(page: SlabPage): void {
    if (page.points === PAGE_POINTS && this.pages.length < POOL_PAGES) this.pages.push(page);
  }

  /** Lets every pooled page go (to the garbage collector). */
  clear(): void {
    this.pages.length = 0;
  }

  get bytes(): number {
    return this.pages.length * PAGE_POINTS * CELL * 2;
  }
}

export class SizeClass {
  /** Blocks in a full page. */
  readonly blocksPerPage: number;
  private readonly pagePoints: number;
  pages: (SlabPage | undefined)[] = [];
  live = 0;
  /** Per page: live blocks, blocks of it ever handed out (the rest are untouched), free list head (index + 1). */
  private pageLive = new Int32Array(4);
  private pageFresh = new Int32Array(4);
  private pageFree = new Int32Array(4);
  /** Pages with a free block (a stack; `openAt[p]` is p's position + 1, 0 when p is full or unused). */
  private open: number[] = [];
  private openAt = new Int32Array(4);
  /** Page numbers whose page went back to the pool, for reuse. */
  private unused: number[] = [];

  constructor(
    private readonly axis: TimeAxis,
    readonly blockPoints: number,
    private readonly pool: PagePool,
  ) {
    this.pagePoints = Math.max(PAGE_POINTS, blockPoints);
    this.blocksPerPage = Math.floor(this.pagePoints / blockPoints);
  }

  alloc(): number {
    const open = this.open;
    const p = open.length > 0 ? open[open.length - 1]! : this.addPage();
    const page = this.pages[p]!;
    let i = this.pageFree[p]! - 1;
    // a free block holds the next free index + 1 in its first timestamp cell
    if (i >= 0) this.pageFree[p] = page.ts32[2 * i * this.blockPoints]!;
    else i = this.pageFresh[p]++;
    this.live++;
    if (++this.pageLive[p] === this.capacityOf(page)) this.close(p);
    return (p << BLOCK_BITS) | i;
  }

  release(block: number): void {
    const p = block >>> BLOCK_BITS;
    const i = block & BLOCK_MASK;
    const page = this.pages[p]!;
    const at = i * this.blockPoints;
    if (page.blobs) page.blobs.fill(undefined as unknown as Blob, at, at + this.blockPoints);
    this.live--;
    if (--this.pageLive[p] === 0 && (page.points === this.pagePoints || this.live === 0)) {
      this.retire(p);
      return;
    }
    page.ts32[2 * at] = this.pageFree[p]!;
    this.pageFree[p] = i + 1;
    if (this.openAt[p] === 0) {
      this.open.push(p);
      this.openAt[p] = this.open.length;
    }
  }

  pageOf(block: number): SlabPage {
    return this.pages[block >>> BLOCK_BITS]!;
  }

  /** Index of the block's first point within its page. */
  offsetOf(block: number): number {
    return (block & BLOCK_MASK) * this.blockPoints;
  }

  get bytes(): number {
    let points = 0;
    for (const p of this.pages) if (p) points += p.points;
    return points * CELL * 2;
  }

  get liveBytes(): number {
    return this.live * this.blockPoints * CELL * 2;
  }

  private capacityOf(page: SlabPage): number {
    return page.points === this.pagePoints ? this.blocksPerPage : (page.points / this.blockPoints) | 0;
  }

  /** Takes p off the stack of pages with free blocks. */
  private close(p: number): void {
    const at = this.openAt[p]! - 1;
    if (at < 0) return;
    const last = this.open.pop()!;
    if (last !== p) {
      this.open[at] = last;
      this.openAt[last] = at + 1;
    }
    this.openAt[p] = 0;
  }

  /** An empty page leaves the class (to the pool when it is full-size). */
  private retire(p: number): void {
    this.close(p);
    this.pool.give(this.pages[p]!);
    this.pages[p] = undefined;
    this.pageFree[p] = 0;
    this.pageFresh[p] = 0;
    if (p === this.pages.length - 1) this.pages.length = p;
    else this.unused.push(p);
  }

  /**
   * Makes room for a block and returns the page that has it. A class starts with one small page that grows by
   * doubling (cheap while small); once it has reached full size, more pages come from the pool.
   */
  private addPage(): number {
    const first = this.pages[0];
    if (this.pages.length <= 1 && (first === undefined || first.points < this.pagePoints)) {
      const blocks = first === undefined ? FIRST_PAGE_BLOCKS : 2 * this.capacityOf(first);
      const points = Math.min(this.pagePoints, blocks * this.blockPoints);
      this.pages[0] = points === PAGE_POINTS ? this.poolPage(first) : new SlabPage(this.axis, points, first);
      this.unused = [];
      this.reopen(0);
      return 0;
    }
    const p = this.unused.pop() ?? this.pages.length;
    if (p >= this.pageLive.length) this.growPageTables(p + 1);
    this.pages[p] = this.pagePoints === PAGE_POINTS ? this.pool.take() : new SlabPage(this.axis, this.pagePoints);
    this.pageLive[p] = 0;
    this.pageFresh[p] = 0;
    this.pageFree[p] = 0;
    this.reopen(p);
    return p;
  }

  /** A full-size page from the pool holding the cells of `from` (the first page at its last doubling). */
  private poolPage(from: SlabPage | undefined): SlabPage {
    const page = this.pool.take();
    if (from) {
      page.ts32.set(from.ts32);
      page.v32.set(from.v32);
      if (from.blobs) {
        const blobs = page.ensureBlobs();
        for (let i = 0; i < from.points; i++) blobs[i] = from.blobs[i]!;
      }
    }
    return page;
  }

  private reopen(p: number): void {
    if (this.openAt[p] !== 0) return;
    this.open.push(p);
    this.openAt[p] = this.open.length;
  }

  private growPageTables(min: number): void {
    let size = this.pageLive.length * 2;
    while (size < min) size *= 2;
    for (const key of ["pageLive", "pageFresh", "pageFree", "openAt"] as const) {
      const next = new Int32Array(size);
      next.set(this[key]);
      this[key] = next;
    }
  }
}

/**
 * Size classes 8, 12, 16, 24, 32, 48, ... (each power of two and its 1.5x, so a head wastes at most a third
 * of its block), the last one clamped to exactly `maxPoints`; all take their pages from `pool`.
 */
export function makeSizeClasses(axis: TimeAxis, maxPoints: number, pool: PagePool): SizeClass[] {
  const sizes: number[] = [];
  for (let p = MIN_BLOCK_POINTS; sizes.length === 0 || sizes[sizes.length - 1]! < maxPoints; p *= 2) sizes.push(p, (p * 3) / 2);
  const cut = sizes.findIndex((s) => s >= maxPoints);
  return [...sizes.slice(0, cut), maxPoints].map((size) => new SizeClass(axis, size, pool));
}
