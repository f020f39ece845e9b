// Slab allocator for active (not yet sealed) points: blocks of 8, 16, 32, ... points carved out of a few large
// ArrayBuffers per size class, so a series' buffer costs no JS object and its points stay contiguous (a block
// is passed to the chunk encoder as a subarray without copying). Hand-written because no library does this.
import type { TimeAxis, TimestampArray } from "./timestamps.js";
import type { Blob } from "./value-kinds.js";

export const MIN_BLOCK_POINTS = 8;
const CELL = 8;

export class SizeClass {
  capacity = 0; // blocks
  live = 0;
  private highWater = 0;
  private free: number[] = [];
  ts!: TimestampArray;
  ts32!: Int32Array;
  f64!: Float64Array;
  i64!: BigInt64Array;
  u64!: BigUint64Array;
  v32!: Int32Array;
  blobs: Blob[] | null = null;

  constructor(
    private readonly axis: TimeAxis,
    readonly blockPoints: number,
  ) {
    this.resize(0);
  }

  alloc(): number {
    this.live++;
    const reused = this.free.pop();
    if (reused !== undefined) return reused;
    if (this.highWater === this.capacity) this.resize(Math.max(64, Math.ceil(this.capacity * 1.5)));
    return this.highWater++;
  }

  release(block: number): void {
    if (this.blobs) this.blobs.fill(undefined as unknown as Blob, block * this.blockPoints, (block + 1) * this.blockPoints);
    this.live--;
    if (this.live === 0) {
      // the whole class is free: give the memory back instead of keeping an empty slab
      this.free = [];
      this.highWater = 0;
      this.resize(0);
    } else this.free.push(block);
  }

  ensureBlobs(): Blob[] {
    return (this.blobs ??= new Array<Blob>(this.capacity * this.blockPoints));
  }

  get bytes(): number {
    return this.capacity * this.blockPoints * CELL * 2;
  }

  get liveBytes(): number {
    return this.live * this.blockPoints * CELL * 2;
  }

  private resize(blocks: number): void {
    const points = blocks * this.blockPoints;
    const tsBuf = new ArrayBuffer(points * CELL);
    const valBuf = new ArrayBuffer(points * CELL);
    const ts32 = new Int32Array(tsBuf);
    const v32 = new Int32Array(valBuf);
    if (this.capacity > 0 && blocks > 0) {
      ts32.set(this.ts32);
      v32.set(this.v32);
    }
    this.ts = this.axis.view(tsBuf);
    this.ts32 = ts32;
    this.v32 = v32;
    this.f64 = new Float64Array(valBuf);
    this.i64 = new BigInt64Array(valBuf);
    this.u64 = new BigUint64Array(valBuf);
    if (this.blobs) {
      if (blocks === 0) this.blobs = null;
      else this.blobs.length = points;
    }
    this.capacity = blocks;
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
