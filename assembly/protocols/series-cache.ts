// The series-cache machinery the protocol scans share (write_request.ts, influx_lines.ts): a persistent output region,
// growable arrays of fixed-size records, a bounded byte arena, and an open-addressing table of record + 1.
// Each scan keeps its own record layout, match test and probe loop (inline, over SlotTable's base and mask).

/** A scan's persistent output region, reallocated (contents dropped) when JS asks for more room. */
export class OutputRegion {
  base: usize = 0;
  cap: u32 = 0;
  /** Items (samples) the last successful scan wrote. */
  count: u32 = 0;

  /** Room for `cap` items of `bytesPer` bytes each; the region's address. */
  reserve(cap: u32, bytesPer: usize): usize {
    if (cap > this.cap) {
      if (this.base != 0) heap.free(this.base);
      this.base = heap.alloc(<usize>cap * bytesPer);
      this.cap = cap;
    }
    return this.base;
  }
}

/** Records of `stride` bytes, appended at the end and grown by doubling (from 1024); the caller owns their layout. */
export class Records {
  base: usize = 0;
  cap: u32 = 0;
  count: u32 = 0;

  constructor(readonly stride: usize) {}

  /** Appends a record of zero bytes (the caller writes the rest); its index. */
  add(): u32 {
    if (this.count == this.cap) {
      const cap = max<u32>(this.cap << 1, 1024);
      const grown = heap.alloc(<usize>cap * this.stride);
      if (this.count > 0) memory.copy(grown, this.base, <usize>this.count * this.stride);
      if (this.base != 0) heap.free(this.base);
      this.base = grown;
      this.cap = cap;
    }
    const r = this.count++;
    memory.fill(this.base + <usize>r * this.stride, 0, this.stride);
    return r;
  }
}

/** Bytes copied in one after another, grown by doubling (from 64 KiB) up to `limit` bytes. */
export class ByteArena {
  base: usize = 0;
  cap: usize = 0;
  used: usize = 0;

  constructor(readonly limit: usize) {}

  /** Copies the n bytes at p in; their offset, or -1 when that would pass the limit. */
  keep(p: usize, n: usize): i64 {
    const used = this.used;
    if (used + n > this.limit) return -1;
    if (used + n > this.cap) {
      const cap = max<usize>(max<usize>(this.cap << 1, 1 << 16), used + n);
      const grown = heap.alloc(cap);
      if (used > 0) memory.copy(grown, this.base, used);
      if (this.base != 0) heap.free(this.base);
      this.base = grown;
      this.cap = cap;
    }
    memory.copy(this.base + used, p, n);
    this.used = used + n;
    return <i64>used;
  }

  clear(): void {
    this.used = 0;
  }
}

/**
 * Open-addressing table of record + 1 (0 = empty), linear probing, power-of-two size (from 4096), at most half full.
 * Each record stores its u32 hash at `hashOffset`: the table grows by re-inserting records by it, and a probe
 * (first, then next) yields only records whose stored hash equals the one sought; the caller compares the bytes.
 */
export class SlotTable {
  base: usize = 0;
  mask: u32 = 0;
  private slot: u32 = 0;

  /** The first record stored under hash h, or -1; next() continues the same probe. */
  @inline first(h: u32, records: Records, hashOffset: usize): i32 {
    this.slot = h & this.mask;
    return this.next(h, records, hashOffset);
  }

  /** The next record stored under hash h in the probe first() started, or -1. */
  @inline next(h: u32, records: Records, hashOffset: usize): i32 {
    const base = this.base;
    if (base == 0) return -1;
    const mask = this.mask;
    const at = records.base + hashOffset;
    const stride = records.stride;
    let slot = this.slot;
    for (;;) {
      const v = load<u32>(base + (<usize>slot << 2));
      if (v == 0) break;
      slot = (slot + 1) & mask;
      if (load<u32>(at + <usize>(v - 1) * stride) == h) {
        this.slot = slot;
        return <i32>(v - 1);
      }
    }
    this.slot = slot;
    return -1;
  }

  /** Appends a record of zero bytes to `records` under hash h (stored at its hashOffset; the caller writes the
   * rest), growing the table first when it would pass half full; the record's index. No record may hold its bytes. */
  add(records: Records, hashOffset: usize, h: u32): u32 {
    if ((records.count + 1) << 1 > this.mask + 1) this.grow(records, hashOffset);
    const r = records.add();
    store<u32>(records.base + <usize>r * records.stride + hashOffset, h);
    this.insert(h, r);
    return r;
  }

  /** Empties the table (its size stays). */
  clear(): void {
    if (this.base != 0) memory.fill(this.base, 0, (<usize>this.mask + 1) << 2);
  }

  private grow(records: Records, hashOffset: usize): void {
    const size: u32 = this.mask == 0 ? 4096 : (this.mask + 1) << 1;
    if (this.base != 0) heap.free(this.base);
    this.base = heap.alloc(<usize>size << 2);
    memory.fill(this.base, 0, <usize>size << 2);
    this.mask = size - 1;
    const stride = records.stride;
    let at = records.base + hashOffset;
    for (let r: u32 = 0; r < records.count; r++, at += stride) this.insert(load<u32>(at), r);
  }

  @inline private insert(h: u32, r: u32): void {
    const base = this.base;
    const mask = this.mask;
    let slot = h & mask;
    while (load<u32>(base + (<usize>slot << 2)) != 0) slot = (slot + 1) & mask;
    store<u32>(base + (<usize>slot << 2), r + 1);
  }
}
