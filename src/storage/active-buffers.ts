// Slab allocator for active (not yet sealed) points: blocks of 8, 12, 16, 24, ... points carved out of fixed-size
// pages per size class, so a series' buffer costs no JS object, its points stay contiguous (a block is handed to
// the chunk encoder as a subarray without copying), and growth never copies a full slab. Hand-written because
// no library does this.
import type { TimeAxis, TimestampArray } from "./timestamps.js";
import type { Blob } from "./value-kinds.js";

const MIN_BLOCK_POINTS = 8;
const PAGE_POINTS = 32768; // 512 KiB of timestamp + value cells per full page
const FIRST_PAGE_BLOCKS = 64;
const CELL = 8;

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

export class SizeClass {
  readonly blocksPerPage: number;
  private readonly pageShift: number;
  pages: SlabPage[] = [];
  live = 0;
  private highWater = 0;
  private capacity = 0; // blocks
  private free: number[] = [];

  constructor(
    private readonly axis: TimeAxis,
    readonly blockPoints: number,
  ) {
    // a power of two, so locating a block is a shift and a mask
    this.pageShift = Math.max(0, Math.floor(Math.log2(PAGE_POINTS / blockPoints)));
    this.blocksPerPage = 1 << this.pageShift;
  }

  alloc(): number {
    this.live++;
    const reused = this.free.pop();
    if (reused !== undefined) return reused;
    if (this.highWater === this.capacity) this.addCapacity();
    return this.highWater++;
  }

  release(block: number): void {
    const page = this.pageOf(block);
    if (page.blobs) {
      const at = this.offsetOf(block);
      page.blobs.fill(undefined as unknown as Blob, at, at + this.blockPoints);
    }
    this.live--;
    if (this.live === 0) {
      // the whole class is free: give the memory back instead of keeping empty pages
      this.free = [];
      this.highWater = 0;
      this.capacity = 0;
      this.pages = [];
    } else this.free.push(block);
  }

  pageOf(block: number): SlabPage {
    return this.pages[block >>> this.pageShift]!;
  }

  /** Index of the block's first point within its page. */
  offsetOf(block: number): number {
    return (block & (this.blocksPerPage - 1)) * this.blockPoints;
  }

  get bytes(): number {
    let points = 0;
    for (const p of this.pages) points += p.points;
    return points * CELL * 2;
  }

  get liveBytes(): number {
    return this.live * this.blockPoints * CELL * 2;
  }

  /** The first page grows by doubling (cheap while small); later pages are allocated whole. */
  private addCapacity(): void {
    const first = this.pages[0];
    if (first === undefined || this.capacity < this.blocksPerPage) {
      const blocks = Math.min(this.blocksPerPage, Math.max(FIRST_PAGE_BLOCKS, this.capacity * 2));
      this.pages[0] = new SlabPage(this.axis, blocks * this.blockPoints, first);
      this.capacity = blocks;
    } else {
      this.pages.push(new SlabPage(this.axis, this.blocksPerPage * this.blockPoints));
      this.capacity += this.blocksPerPage;
    }
  }
}

/**
 * Size classes 8, 12, 16, 24, 32, 48, ... (each power of two and its 1.5x, so a head wastes at most a third
 * of its block), the last one clamped to exactly `maxPoints`.
 */
export function makeSizeClasses(axis: TimeAxis, maxPoints: number): SizeClass[] {
  const sizes: number[] = [];
  for (let p = MIN_BLOCK_POINTS; sizes.length === 0 || sizes[sizes.length - 1]! < maxPoints; p *= 2) sizes.push(p, (p * 3) / 2);
  const cut = sizes.findIndex((s) => s >= maxPoints);
  return [...sizes.slice(0, cut), maxPoints].map((size) => new SizeClass(axis, size));
}
