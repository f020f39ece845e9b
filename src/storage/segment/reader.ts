// Reads one published segment: loads and verifies the manifest and index at open, reads chunk payloads
// on demand (one compressed block at a time, verified by CRC-32), keeping decompressed blocks in a cache in WASM
// linear memory shared by all open segments and bounded in bytes, so repeated queries do not decompress the same
// blocks again and the record decoders read them in place.
import { closeSync, fstatSync, openSync, readFileSync, readSync } from "node:fs";
import { join } from "node:path";
import { crc32 } from "node:zlib";
import { chunkFromRecord } from "../../encoding/chunk.js";
import { loadWasm, memoryViews } from "../../wasm/loader.js";
import { ChunkRecord, type PointSink, type RecordQueue } from "../column.js";
import type { TimestampArray, Ts } from "../timestamps.js";
import { dataCorruption } from "../wal/durability-errors.js";
import {
  BLOCK_HEADER_BYTES,
  CHUNKS_FILE,
  CHUNKS_MAGIC,
  decodeIndex,
  decodeManifest,
  INDEX_FILE,
  MANIFEST_FILE,
  openBlock,
  storesChunkRecords,
  type SegmentIndex,
  type SegmentManifest,
} from "./format.js";

/** Decompressed bytes kept for all open segments together (see BlockCache for which blocks go first). */
const BLOCK_CACHE_BYTES = 32 << 20;
/** Cache keys are segment serial * BLOCK_KEY_SPAN + block number. */
const BLOCK_KEY_SPAN = 2 ** 26;

interface CacheExports {
  cacheAlloc(bytes: number): number;
  cacheFree(ptr: number): void;
}

/** A decompressed block in linear memory: `length` bytes at `ptr`. */
export interface CachedBlock {
  readonly ptr: number;
  readonly length: number;
  /** Hit since the eviction hand last passed it. */
  used: boolean;
  /** Held for a batch decode (see pin): not evicted until unpinAll. */
  pinned: boolean;
}

/**
 * Decompressed blocks of every open segment, in WASM linear memory (one heap block each, freed on eviction), where the
 * record decoders read them in place; bounded by `capacity` bytes. Eviction is second-chance (CLOCK, an
 * approximation of least recently used): a hit only marks its block used, so a read of 100k chunks does not
 * reorder the map at every block change; eviction passes over the oldest blocks, re-queueing used ones once. A
 * batch decode pins the blocks its queued records lie in (pin) until it ran (unpinAll): eviction passes over them.
 */
export class BlockCache {
  private readonly blocks = new Map<number, CachedBlock>();
  bytes = 0;
  hits = 0;
  misses = 0;
  /** Bytes of the pinned blocks. */
  pinnedBytes = 0;
  private readonly pinned: CachedBlock[] = [];
  /** The most recently used block. */
  private lastKey = -1;
  private lastBlock: CachedBlock | undefined;
  private readonly wasm = loadWasm() as unknown as CacheExports;

  constructor(readonly capacity: number) {}

  get(key: number): CachedBlock | undefined {
    if (key === this.lastKey) {
      this.hits++;
      return this.lastBlock; // consecutive reads mostly hit one block
    }
    const hit = this.blocks.get(key);
    if (hit === undefined) {
      this.misses++;
      return undefined;
    }
    this.hits++;
    hit.used = true;
    this.lastKey = key;
    this.lastBlock = hit;
    return hit;
  }

  /** Copies `raw` into linear memory as block `key` and evicts what exceeds the capacity (never `key` or a pinned block). */
  set(key: number, raw: Uint8Array): CachedBlock {
    const ptr = this.wasm.cacheAlloc(raw.length);
    memoryViews().u8.set(raw, ptr);
    const block: CachedBlock = { ptr, length: raw.length, used: false, pinned: false };
    this.blocks.set(key, block);
    this.bytes += raw.length;
    this.lastKey = key;
    this.lastBlock = block;
    this.evict(key);
    return block;
  }

  /** Keeps `block` (a block of this cache) until unpinAll. */
  pin(block: CachedBlock): void {
    if (block.pinned) return;
    block.pinned = true;
    this.pinnedBytes += block.length;
    this.pinned.push(block);
  }

  unpinAll(): void {
    if (this.pinned.length === 0) return;
    for (const b of this.pinned) b.pinned = false;
    this.pinned.length = 0;
    this.pinnedBytes = 0;
    this.evict(-1);
  }

  private evict(keep: number): void {
    // each block is passed at most twice (a used one is re-queued once), so pinned blocks cannot keep this going
    let visits = 2 * this.blocks.size;
    for (const [k, e] of this.blocks) {
      if (this.bytes <= this.capacity || visits-- === 0) break;
      if (k === keep) continue;
      this.blocks.delete(k);
      if (e.used || e.pinned) {
        e.used = false; // second chance: to the back of the queue
        this.blocks.set(k, e);
      } else this.free(e);
    }
  }

  private free(e: CachedBlock): void {
    this.bytes -= e.length;
    this.wasm.cacheFree(e.ptr);
  }

  /** Drops the blocks of one segment (it was closed). */
  dropSegment(serial: number): void {
    this.lastKey = -1;
    this.lastBlock = undefined;
    for (const [k, e] of this.blocks) {
      if (Math.floor(k / BLOCK_KEY_SPAN) !== serial) continue;
      this.blocks.delete(k);
      this.free(e);
    }
  }
}

export const blockCache = new BlockCache(BLOCK_CACHE_BYTES);
let nextSerial = 1;

export class SegmentReader {
  readonly minTs: TimestampArray;
  readonly maxTs: TimestampArray;
  /** Filled for each record appendTo hands to a sink. */
  private readonly record = new ChunkRecord();
  private fd = -1;
  /** Identifies this open reader's blocks in the shared cache. */
  private readonly serial = nextSerial++;
  private readonly chunksPath: string;
  /** chunks.bin holds records to rebuild chunks from (format version 3), not whole chunks. */
  readonly records: boolean;
  /** firstChunk by series id - firstSeries (built on first use when the id range is dense enough). */
  private firstBySeries: Uint32Array | undefined;
  private readonly firstSeries: number;

  private constructor(
    readonly dir: string,
    readonly manifest: SegmentManifest,
    readonly index: SegmentIndex,
  ) {
    const big = manifest.timeCells === "i64";
    this.minTs = big ? new BigInt64Array(index.chunkMinTs) : new Float64Array(index.chunkMinTs);
    this.maxTs = big ? new BigInt64Array(index.chunkMaxTs) : new Float64Array(index.chunkMaxTs);
    this.chunksPath = join(dir, CHUNKS_FILE);
    this.records = storesChunkRecords(manifest.version);
    this.firstSeries = index.chunkSeries.length > 0 ? index.chunkSeries[0]! : 0;
  }

  /** Opens and verifies a segment; throws DataCorruption (file + offset) if anything does not check out. */
  static open(dir: string): SegmentReader {
    const manifestPath = join(dir, MANIFEST_FILE);
    const manifest = decodeManifest(readFileSync(manifestPath), manifestPath);
    const indexPath = join(dir, INDEX_FILE);
    const indexBytes = readFileSync(indexPath);
    const expected = manifest.files[INDEX_FILE];
    if (!expected || indexBytes.length !== expected.bytes || crc32(indexBytes) !== expected.crc32) {
      throw dataCorruption(indexPath, 0, "index size or checksum differs from the manifest");
    }
    const index = decodeIndex(indexBytes, indexPath);
    if (index.chunkSeries.length !== manifest.chunkCount) throw dataCorruption(indexPath, 0, "chunk count differs from manifest");
    const reader = new SegmentReader(dir, manifest, index);
    reader.fd = openSync(reader.chunksPath, "r");
    const size = fstatSync(reader.fd).size;
    const head = Buffer.alloc(4);
    readSync(reader.fd, head, 0, 4, 0);
    if (size !== manifest.files[CHUNKS_FILE]?.bytes || head.readUInt32LE(0) !== CHUNKS_MAGIC) {
      reader.close();
      throw dataCorruption(reader.chunksPath, 0, `chunk file size ${size} or magic differs from the manifest`);
    }
    return reader;
  }

  get id(): number {
    return this.manifest.id;
  }

  get level(): number {
    return this.manifest.level;
  }

  /** First chunk entry of `seriesId` (entries are sorted by series id, then min ts; the series' run ends where chunkSeries changes). */
  firstChunk(seriesId: number): number {
    const s = this.index.chunkSeries;
    // segments often cover a range of series ids (compaction splits by series): most lookups end here
    if (s.length === 0 || seriesId < s[0]! || seriesId > s[s.length - 1]!) return s.length;
    const table = this.firstBySeries ?? this.buildFirstBySeries();
    if (table.length > 0) return table[seriesId - this.firstSeries]!;
    let lo = 0;
    let hi = s.length;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      if (s[mid]! < seriesId) lo = mid + 1;
      else hi = mid;
    }
    return lo;
  }

  /**
   * firstChunk of each series id in the segment's range (where an id has no chunks: the entry where it would be),
   * so that compaction, which asks every source segment for every series, finds each in O(1); empty (binary
   * search) when the ids are too sparse for a table of 4 bytes per id.
   */
  private buildFirstBySeries(): Uint32Array {
    const s = this.index.chunkSeries;
    const span = s[s.length - 1]! - this.firstSeries + 1;
    if (span > 4 * s.length + 1024) return (this.firstBySeries = new Uint32Array(0));
    const table = new Uint32Array(span);
    for (let i = s.length - 1, k = span - 1; i >= 0; i--) {
      const at = s[i]! - this.firstSeries;
      while (k > at) table[k--] = i + 1; // ids between this series and the next one hold nothing
      table[at] = i;
      k = at - 1;
    }
    return (this.firstBySeries = table);
  }

  /** [lo, hi) range of chunk entries of `seriesId`. */
  chunkRange(seriesId: number): [number, number] {
    const s = this.index.chunkSeries;
    const lo = this.firstChunk(seriesId);
    let end = lo;
    while (end < s.length && s[end] === seriesId) end++;
    return [lo, end];
  }

  /** Whether chunk entry `i` may hold points in [start, end). */
  overlaps(i: number, start: Ts, end: Ts): boolean {
    return this.maxTs[i]! >= start && this.minTs[i]! < end;
  }

  /** Encoded bytes of chunk entry `i` (a copy). */
  readChunk(i: number): Uint8Array {
    const stored = this.stored(i);
    return this.records ? chunkFromRecord(stored, this.index.chunkPoints[i]!, this.minTs[i]!, this.maxTs[i]!) : stored;
  }

  /**
   * Appends the points in [start, end) of chunk entry `i` (an f64 series) to `sink`, as readChunk + appendChunk would;
   * a record (format version 3) is decoded in place in its cached block, with its index entry's fields.
   */
  appendTo(i: number, sink: PointSink, start: Ts, end: Ts): boolean {
    if (!this.records) return sink.appendChunk(this.stored(i), start, end);
    const r = this.record;
    r.addr = this.storedBlock(i).ptr + this.index.chunkOffset[i]!;
    r.length = this.index.chunkLength[i]!;
    r.count = this.index.chunkPoints[i]!;
    r.minTs = this.minTs[i]!;
    r.maxTs = this.maxTs[i]!;
    return sink.appendRecord(r, start, end);
  }

  /**
   * Queues the records of chunk entries [first, last) that may overlap [start, end) for a batch decode (format
   * version 3, number timestamps), their blocks pinned in the cache until the caller's decode ran
   * (blockCache.unpinAll). One call per series and segment: the block is looked up only when it changes. Stops and
   * returns false once the pinned blocks exceed half the cache (the caller then decodes what it queued first).
   */
  queueRecords(first: number, last: number, start: number, end: number, queue: RecordQueue): boolean {
    const { chunkBlock, chunkOffset, chunkLength, chunkPoints } = this.index;
    const minTs = this.minTs as Float64Array;
    const maxTs = this.maxTs as Float64Array;
    let b = -1;
    let ptr = 0;
    let blockLength = 0;
    for (let i = first; i < last; i++) {
      if (!(maxTs[i]! >= start && minTs[i]! < end)) continue;
      if (chunkBlock[i] !== b) {
        b = chunkBlock[i]!;
        if (blockCache.pinnedBytes > blockCache.capacity / 2) return false;
        const block = this.readBlock(b);
        blockCache.pin(block);
        ptr = block.ptr;
        blockLength = block.length;
      }
      const offset = chunkOffset[i]!;
      const length = chunkLength[i]!;
      if (offset + length > blockLength) throw dataCorruption(this.chunksPath, this.index.blockOffsets[b]!, "chunk entry outside its block");
      queue.add(ptr + offset, length, chunkPoints[i]!, minTs, maxTs, i);
    }
    return true;
  }

  /** The bytes chunks.bin stores for entry `i` (a whole chunk or a record), copied out of its cached block. */
  private stored(i: number): Uint8Array {
    const at = this.storedBlock(i).ptr + this.index.chunkOffset[i]!;
    return memoryViews().u8.slice(at, at + this.index.chunkLength[i]!);
  }

  /** The cached block that holds entry `i`, checked to contain it. */
  private storedBlock(i: number): CachedBlock {
    const block = this.readBlock(this.index.chunkBlock[i]!);
    if (this.index.chunkOffset[i]! + this.index.chunkLength[i]! > block.length) {
      throw dataCorruption(this.chunksPath, this.index.blockOffsets[this.index.chunkBlock[i]!]!, "chunk entry outside its block");
    }
    return block;
  }

  private readBlock(b: number): CachedBlock {
    const key = this.serial * BLOCK_KEY_SPAN + b;
    const hit = blockCache.get(key);
    if (hit) return hit;
    if (this.fd < 0) throw new Error(`segment ${this.dir} is closed`);
    const offset = this.index.blockOffsets[b];
    if (offset === undefined || b >= BLOCK_KEY_SPAN) throw dataCorruption(this.chunksPath, 0, `block ${b} not in index`);
    const header = Buffer.alloc(BLOCK_HEADER_BYTES);
    if (readSync(this.fd, header, 0, BLOCK_HEADER_BYTES, offset) !== BLOCK_HEADER_BYTES) {
      throw dataCorruption(this.chunksPath, offset, "block header past end of file");
    }
    const stored = header.readUInt32LE(8);
    const data = Buffer.allocUnsafe(stored);
    if (readSync(this.fd, data, 0, stored, offset + BLOCK_HEADER_BYTES) !== stored) {
      throw dataCorruption(this.chunksPath, offset, "block runs past end of file");
    }
    return blockCache.set(key, openBlock(header, data, this.chunksPath, offset));
  }

  /** Bytes of all files of the segment. */
  get sizeBytes(): number {
    return Object.values(this.manifest.files).reduce((n, f) => n + f.bytes, 0);
  }

  close(): void {
    if (this.fd >= 0) closeSync(this.fd);
    this.fd = -1;
    blockCache.dropSegment(this.serial);
  }
}
