// Segment file layout: chunks.bin (checksummed, optionally compressed blocks of encoded chunks),
// index.bin (series dictionary, chunk index; compressed) and manifest.json.
import { brotliDecompressSync, constants as zc, crc32 } from "node:zlib";
import { dataCorruption } from "../wal/durability-errors.js";
import { ByteReader, ByteWriter } from "./bytes.js";
import type { Pause } from "./slices.js";
import { grownTo } from "../../encoding/typed-arrays.js";
import type { PersistedSeriesTable } from "../registry.js";

export const SEGMENT_FORMAT = "tsink-segment";
/** Version written (manifest, file headers). Still read: 3 (index with chunk lengths and postings), 2 (also whole
 * chunks in chunks.bin) and 1 (also u32 index columns). Version 3 stores chunk records without the fields the index
 * holds; version 4 drops from the index what follows from the rest (chunk lengths, postings; docs/format.md). */
export const SEGMENT_FORMAT_VERSION = 4;
/** Segment format versions whose chunks.bin holds chunk records (chunkFromRecord) rather than whole chunks. */
export const storesChunkRecords = (version: number) => version >= 3;
export const CHUNKS_FILE = "chunks.bin";
export const INDEX_FILE = "index.bin";
export const MANIFEST_FILE = "manifest.json";

/** Magic at the start of chunks.bin ("TSCK") and index.bin ("TSIX"). */
export const CHUNKS_MAGIC = 0x4b435354;
const INDEX_MAGIC = 0x58495354;
const FILE_HEADER_BYTES = 16;
export const BLOCK_HEADER_BYTES = 16;

export const enum Compression {
  None = 0,
  Brotli = 2,
}

/** Timestamp cell type of a segment: f64 for s/ms/us precision, i64 for ns. */
export type TimeCells = "f64" | "i64";

export interface SegmentManifest {
  format: typeof SEGMENT_FORMAT;
  version: number;
  id: number;
  level: number;
  timeCells: TimeCells;
  /** Inclusive time bounds, as decimal strings (exact for i64). */
  minTs: string;
  maxTs: string;
  seriesCount: number;
  chunkCount: number;
  pointCount: number;
  /** Highest WAL sequence whose data this segment (or one of its sources) holds. */
  walHighwater: number;
  createdMs: number;
  files: Record<string, { bytes: number; crc32: number }>;
  /** CRC-32 of this JSON without the checksum field. */
  checksum?: number;
}

function manifestChecksum(m: SegmentManifest): number {
  const { checksum: _ignored, ...rest } = m;
  return crc32(JSON.stringify(rest));
}

export function encodeManifest(m: SegmentManifest): Buffer {
  return Buffer.from(JSON.stringify({ ...m, checksum: manifestChecksum(m) }, null, 1));
}

export function decodeManifest(buf: Buffer, path: string): SegmentManifest {
  let m: SegmentManifest;
  try {
    m = JSON.parse(buf.toString("utf8")) as SegmentManifest;
  } catch {
    throw dataCorruption(path, 0, "manifest is not valid JSON");
  }
  if (m.format !== SEGMENT_FORMAT || !(Number.isInteger(m.version) && m.version >= 1 && m.version <= SEGMENT_FORMAT_VERSION)) {
    throw dataCorruption(path, 0, `unknown segment format ${String(m.format)} v${String(m.version)}`);
  }
  if (m.checksum !== manifestChecksum(m)) throw dataCorruption(path, 0, "manifest checksum mismatch");
  return m;
}

/**
 * Second-stage compression of chunk blocks and the index: brotli. Measured by bench/disk.ts on the peer workload's
 * chunk bytes (64 KiB blocks): deflate-9 89.6 % of raw, brotli-5 90.0 % at about the same speed, brotli-9 89.0 %
 * at 10-20x the CPU. Flush output (L0, short-lived) uses quality 5; compaction output (L1/L2) quality 9.
 * A block keeps its raw bytes when compression does not make it smaller.
 * Window 2^16: for windows above 2^16 brotli's quality 5-9 match finder is a hash table of 2^(quality + 14) u32
 * (32 MiB at quality 9) that every call allocates and touches; at 2^16 it uses a small forgetful chain. On the
 * peer workload's 64 KiB blocks the output is 0.01 % larger and quality 9 takes ~1/10 of the CPU.
 */
export function brotliOptions(sizeHint: number, level: number) {
  return {
    params: {
      [zc.BROTLI_PARAM_QUALITY]: level === 0 ? 5 : 9,
      [zc.BROTLI_PARAM_LGWIN]: 16,
      [zc.BROTLI_PARAM_SIZE_HINT]: sizeHint,
    },
  };
}

/** Block = header (u8 method, 3 reserved, u32 raw length, u32 stored length, u32 CRC-32 of stored bytes) + data. */
export function frameBlock(raw: Uint8Array, packed: Uint8Array): Buffer {
  const useRaw = packed.length >= raw.length;
  const data = useRaw ? raw : packed;
  const out = Buffer.allocUnsafe(BLOCK_HEADER_BYTES + data.length);
  out.writeUInt32LE(useRaw ? Compression.None : Compression.Brotli, 0);
  out.writeUInt32LE(raw.length, 4);
  out.writeUInt32LE(data.length, 8);
  out.writeUInt32LE(crc32(data), 12);
  out.set(data, BLOCK_HEADER_BYTES);
  return out;
}

function decompressBlock(method: number, data: Uint8Array, rawLength: number, where: string, offset: number): Buffer {
  let out: Buffer;
  try {
    if (method === Compression.None) out = Buffer.from(data.buffer, data.byteOffset, data.byteLength);
    else if (method === Compression.Brotli) out = brotliDecompressSync(data);
    else throw new Error(`unknown compression method ${method}`);
  } catch (err) {
    throw dataCorruption(where, offset, `cannot decompress block: ${(err as Error).message}`);
  }
  if (out.length !== rawLength) throw dataCorruption(where, offset, `block decompressed to ${out.length} bytes, expected ${rawLength}`);
  return out;
}

export function fileHeader(magic: number, segmentId: number): Buffer {
  const h = Buffer.alloc(FILE_HEADER_BYTES);
  h.writeUInt32LE(magic, 0);
  h.writeUInt32LE(SEGMENT_FORMAT_VERSION, 4);
  h.writeDoubleLE(segmentId, 8);
  return h;
}

/** A series as a segment's dictionary holds it. */
export interface SegmentSeries {
  id: number;
  /** Value kind code (value-kinds.ts). */
  kind: number;
  metric: string;
  labels: { name: string; value: string }[];
}

/** Chunk entries as columns sorted by (series id, min ts), pointing into the blocks of chunks.bin. */
export interface ChunkColumns {
  chunkSeries: Uint32Array;
  /** 8-byte cells; view as Float64Array or BigInt64Array per the manifest's timeCells. */
  chunkMinTs: ArrayBuffer;
  chunkMaxTs: ArrayBuffer;
  chunkPoints: Uint32Array;
  chunkBlock: Uint32Array;
  chunkOffset: Uint32Array;
  chunkLength: Uint32Array;
  blockOffsets: Float64Array;
}

/** What the writer puts into index.bin: the series (sorted by id) and the chunk columns. */
export interface IndexContent extends ChunkColumns {
  series: readonly SegmentSeries[];
}

/** In-memory form of index.bin. The columns are decoded at open; the dictionary only when asked for. */
export interface SegmentIndex extends ChunkColumns {
  seriesIds: Uint32Array;
  /** Value kind code of each series (value-kinds.ts). */
  seriesKinds: Uint8Array;
  /**
   * The series' metrics, labels and postings, decoded from the index file's bytes on each call: the engine holds
   * every series' definition itself, so a segment keeps only its compressed index, and a caller (open, compaction
   * merge) holds the dictionary for as long as it needs it.
   */
  dictionary(): SegmentDictionary;
}

export interface SegmentDictionary {
  /** Metric and labels of the series at position i of seriesIds. */
  seriesDef(i: number): SegmentSeries;
  /** The same definitions as columns over the index's string table (what a reopen registers). */
  series: PersistedSeriesTable;
  /** Sorted series ids per label pair ("__name__" holds the metric); key is name + "\0" + value. The engine keeps
   * its own postings in memory, so this is built only when asked for (tools, tests): from the series dictionary
   * (version 4), or decoded from the postings section (versions 1-3). */
  postings(): Map<string, Uint32Array>;
}

/** Series of one index body encoded per slice (between event-loop turns) by encodeIndexBody. */
const ENCODE_SLICE_SERIES = 1024;
/** Largest |delta| of f64 time cells the varint time columns carry exactly (zigzag doubles it below 2^53). */
const VARINT_TS_LIMIT = 2 ** 51;
const TS_CELLS = 0;
const TS_VARINTS = 1;

/** Whether the min/max time columns can be written as varint deltas (safe integers, small steps). */
function varintTimes(cells: Float64Array | BigInt64Array, maxCells: Float64Array | BigInt64Array): boolean {
  if (!(cells instanceof Float64Array) || !(maxCells instanceof Float64Array)) return false;
  let previous = 0;
  for (let i = 0; i < cells.length; i++) {
    const min = cells[i]!;
    const max = maxCells[i]!;
    if (!Number.isInteger(min) || !Number.isInteger(max) || !(Math.abs(min - previous) < VARINT_TS_LIMIT) || !(max - min < VARINT_TS_LIMIT) || max < min) return false;
    previous = min;
  }
  return true;
}

/**
 * Serialises the index (segment format version 4, docs/format.md): string table, then varint columns (ids and
 * offsets as deltas). Chunk lengths are not stored: the chunks of a block lie back to back, so each one ends where
 * the next one of its block starts, the last at the block's raw length (stored per block). Runs in slices with
 * `pause` points between them; the caller compresses the result into index.bin with `indexFile`.
 */
export async function encodeIndexBody(content: IndexContent, timeCells: TimeCells, pause: Pause): Promise<Buffer> {
  const strings = new Map<string, number>();
  const intern = (s: string) => {
    let id = strings.get(s);
    if (id === undefined) strings.set(s, (id = strings.size));
    return id;
  };
  const series = content.series;
  const n = series.length;
  const body = new ByteWriter(64 + n * 16);
  body.varint(n);
  for (let i = 0; i < n; i++) body.varint(series[i]!.id - (i > 0 ? series[i - 1]!.id : 0));
  for (let i = 0; i < n; i++) body.u8(series[i]!.kind);
  for (let i = 0; i < n; i++) body.varint(intern(series[i]!.metric));
  for (let i = 0; i < n; i++) body.varint(series[i]!.labels.length);
  for (let i = 0; i < n; i++) {
    const s = series[i]!;
    for (const l of s.labels) {
      body.varint(intern(l.name));
      body.varint(intern(l.value));
    }
    if (i % ENCODE_SLICE_SERIES === ENCODE_SLICE_SERIES - 1) await pause();
  }
  const c = content.chunkSeries.length;
  body.varint(c);
  let previous = 0;
  for (let i = 0; i < c; i++) {
    body.varint(content.chunkSeries[i]! - previous);
    previous = content.chunkSeries[i]!;
  }
  const big = timeCells === "i64";
  const minCells = big ? new BigInt64Array(content.chunkMinTs) : new Float64Array(content.chunkMinTs);
  const maxCells = big ? new BigInt64Array(content.chunkMaxTs) : new Float64Array(content.chunkMaxTs);
  if (varintTimes(minCells, maxCells)) {
    body.u8(TS_VARINTS);
    previous = 0;
    for (let i = 0; i < c; i++) {
      body.zigzag((minCells[i] as number) - previous);
      previous = minCells[i] as number;
    }
    for (let i = 0; i < c; i++) body.varint((maxCells[i] as number) - (minCells[i] as number));
  } else {
    body.u8(TS_CELLS);
    body.bytes(new Uint8Array(content.chunkMinTs));
    body.bytes(new Uint8Array(content.chunkMaxTs));
  }
  for (let i = 0; i < c; i++) body.varint(content.chunkPoints[i]!);
  previous = 0;
  for (let i = 0; i < c; i++) {
    body.zigzag(content.chunkBlock[i]! - previous);
    previous = content.chunkBlock[i]!;
  }
  for (let i = 0; i < c; i++) body.varint(content.chunkOffset[i]!);
  const blocks = content.blockOffsets.length;
  const blockRaw = new Float64Array(blocks);
  for (let i = 0; i < c; i++) {
    const b = content.chunkBlock[i]!;
    if (b >= blocks) throw new RangeError(`chunk ${i} names block ${b} of ${blocks}`);
    blockRaw[b] = Math.max(blockRaw[b]!, content.chunkOffset[i]! + content.chunkLength[i]!);
  }
  body.varint(blocks);
  previous = 0;
  for (const offset of content.blockOffsets) {
    body.varint(offset - previous);
    previous = offset;
  }
  for (let b = 0; b < blocks; b++) body.varint(blockRaw[b]!);
  await pause();
  const table = new ByteWriter(64 + strings.size * 12);
  table.varint(strings.size);
  let k = 0;
  for (const s of strings.keys()) {
    table.shortString(s);
    if (++k % ENCODE_SLICE_SERIES === 0) await pause();
  }
  return Buffer.concat([table.finish(), body.finish()]);
}

/** index.bin = file header + one block holding the (compressed) index body. */
export function indexFile(segmentId: number, body: Buffer, packed: Uint8Array): Buffer {
  return Buffer.concat([fileHeader(INDEX_MAGIC, segmentId), frameBlock(body, packed)]);
}

export function decodeIndex(file: Buffer, path: string): SegmentIndex {
  if (file.length < FILE_HEADER_BYTES + BLOCK_HEADER_BYTES || file.readUInt32LE(0) !== INDEX_MAGIC) {
    throw dataCorruption(path, 0, "bad index header");
  }
  const version = file.readUInt32LE(4);
  const raw = readBlockAt(file, FILE_HEADER_BYTES, path);
  if (version === 1) return decodeIndexV1(new ByteReader(raw, path), path);
  if (version >= 2 && version <= SEGMENT_FORMAT_VERSION) return decodeIndexV2(new ByteReader(raw, path), path, version, file);
  throw dataCorruption(path, 4, `unsupported index version ${version} (this build reads 1-${SEGMENT_FORMAT_VERSION})`);
}

/** Strings of the table, UTF-8-decoded on first use. */
class StringTable {
  private readonly decoded: (string | undefined)[];
  constructor(
    private readonly r: ByteReader,
    private readonly starts: Uint32Array,
    private readonly lengths: Uint32Array,
  ) {
    this.decoded = new Array(starts.length);
  }
  get size(): number {
    return this.starts.length;
  }
  get(id: number): string {
    let s = this.decoded[id];
    if (s === undefined) {
      this.r.off = this.starts[id]!;
      s = this.decoded[id] = this.r.utf8(this.lengths[id]!);
    }
    return s;
  }
}

/**
 * Reads (and checks) the dictionary part of a version 2-4 index body: string table, series ids and kinds, metric and
 * label string ids. With `keep` it keeps the string table and the string ids; without, it only skips over them.
 */
function readDictionaryV2(r: ByteReader, path: string, keep: boolean) {
  const stringCount = r.varint();
  if (stringCount > r.buf.length) throw dataCorruption(path, r.off, `string count ${stringCount} exceeds the index size`);
  const starts = keep ? new Uint32Array(stringCount) : undefined;
  const lengths = keep ? new Uint32Array(stringCount) : undefined;
  for (let i = 0; i < stringCount; i++) {
    const length = r.varint();
    if (starts) {
      starts[i] = r.off;
      lengths![i] = length;
    }
    r.skip(length);
  }
  const sid = () => {
    const id = r.varint();
    if (id >= stringCount) throw dataCorruption(path, r.off, `string id ${id} out of range`);
    return id;
  };
  const count = (what: string) => {
    const v = r.varint();
    if (v > r.buf.length - r.off) throw dataCorruption(path, r.off, `${what} count ${v} exceeds the index size`);
    return v;
  };
  const n = count("series");
  const seriesIds = new Uint32Array(n);
  for (let i = 0, id = 0; i < n; i++) {
    id += r.varint();
    if (id > 0xffffffff || (i > 0 && id === seriesIds[i - 1])) throw dataCorruption(path, r.off, "series ids not ascending");
    seriesIds[i] = id;
  }
  const seriesKinds = new Uint8Array(r.bytes(n));
  const metricSids = keep ? new Uint32Array(n) : undefined;
  for (let i = 0; i < n; i++) {
    const id = sid();
    if (metricSids) metricSids[i] = id;
  }
  const labelStart = keep ? new Uint32Array(n + 1) : undefined;
  let labels = 0;
  for (let i = 0; i < n; i++) {
    labels += count("label");
    if (labelStart) labelStart[i + 1] = labels;
  }
  const labelSids = keep ? new Uint32Array(labels * 2) : undefined;
  for (let j = 0; j < labels * 2; j++) {
    const id = sid();
    if (labelSids) labelSids[j] = id;
  }
  const strings = keep ? new StringTable(r, starts!, lengths!) : undefined;
  return { n, stringCount, count, seriesIds, seriesKinds, strings, metricSids, labelStart, labelSids };
}

/**
 * Index body of segment versions 2-4. Version 4 stores no chunk lengths (derived from the offsets and the blocks'
 * raw lengths: a block's chunks lie back to back) and no postings (built from the dictionary on request).
 */
function decodeIndexV2(r: ByteReader, path: string, version: number, file: Buffer): SegmentIndex {
  const { count, seriesIds, seriesKinds } = readDictionaryV2(r, path, false);
  const c = count("chunk");
  const chunkSeries = new Uint32Array(c);
  for (let i = 0, id = 0; i < c; i++) chunkSeries[i] = id += r.varint();
  const chunkMinTs = new ArrayBuffer(c * 8);
  const chunkMaxTs = new ArrayBuffer(c * 8);
  const mode = r.u8();
  if (mode === TS_VARINTS) {
    const min = new Float64Array(chunkMinTs);
    const max = new Float64Array(chunkMaxTs);
    for (let i = 0, t = 0; i < c; i++) min[i] = t += r.zigzag();
    for (let i = 0; i < c; i++) max[i] = min[i]! + r.varint();
  } else if (mode === TS_CELLS) {
    new Uint8Array(chunkMinTs).set(r.bytes(c * 8));
    new Uint8Array(chunkMaxTs).set(r.bytes(c * 8));
  } else throw dataCorruption(path, r.off, `unknown time column mode ${mode}`);
  const column = () => {
    const out = new Uint32Array(c);
    for (let i = 0; i < c; i++) out[i] = r.varint();
    return out;
  };
  const chunkPoints = column();
  const chunkBlock = new Uint32Array(c);
  for (let i = 0, b = 0; i < c; i++) chunkBlock[i] = b += r.zigzag();
  const chunkOffset = column();
  const derivedLengths = version >= 4;
  const chunkLength = derivedLengths ? new Uint32Array(c) : column();
  const blockOffsets = new Float64Array(count("block"));
  for (let i = 0, at = 0; i < blockOffsets.length; i++) blockOffsets[i] = at += r.varint();
  if (derivedLengths) deriveChunkLengths(r, path, chunkBlock, chunkOffset, chunkLength, blockOffsets.length);
  const postingsBytes = derivedLengths ? 0 : r.varint();
  const postingsAt = r.off;
  r.bytes(postingsBytes);
  r.end();
  return {
    seriesIds,
    seriesKinds,
    // the file's bytes (its block already checked against the manifest and its CRC-32) are all the segment keeps
    dictionary: () => {
      const raw = new ByteReader(readBlockAt(file, FILE_HEADER_BYTES, path), path);
      return decodeDictionaryV2(raw, path, derivedLengths ? undefined : { at: postingsAt, bytes: postingsBytes });
    },
    chunkSeries,
    chunkMinTs,
    chunkMaxTs,
    chunkPoints,
    chunkBlock,
    chunkOffset,
    chunkLength,
    blockOffsets,
  };
}

/** The dictionary of a version 2-4 index body; `section`: where its postings are stored (versions 2-3). */
function decodeDictionaryV2(r: ByteReader, path: string, section: { at: number; bytes: number } | undefined): SegmentDictionary {
  const { n, stringCount, seriesIds, seriesKinds, strings, metricSids, labelStart, labelSids } = readDictionaryV2(r, path, true);
  const series = seriesTable(seriesIds, seriesKinds, metricSids!, labelStart!, labelSids!, stringCount, (id) => strings!.get(id));
  let postings: Map<string, Uint32Array> | undefined;
  const dictionary: SegmentDictionary = {
    seriesDef: (i) => seriesDefOf(series, i),
    series,
    postings(): Map<string, Uint32Array> {
      if (postings) return postings;
      if (!section) return (postings = postingsOf(n, dictionary.seriesDef));
      const p = new ByteReader(r.buf.subarray(0, section.at + section.bytes), path);
      p.off = section.at;
      const lists = new Map<string, Uint32Array>();
      const sidAt = () => {
        const id = p.varint();
        if (id >= stringCount) throw dataCorruption(path, p.off, `string id ${id} out of range`);
        return strings!.get(id);
      };
      for (let k = p.varint(); k > 0; k--) {
        const key = `${sidAt()}\0${sidAt()}`;
        const ids = new Uint32Array(p.varint());
        for (let j = 0, id = 0; j < ids.length; j++) ids[j] = id += p.varint();
        lists.set(key, ids);
      }
      p.end();
      return (postings = lists);
    },
  };
  return dictionary;
}

/**
 * Reads the blocks' raw lengths (varints) and sets each chunk's length: up to the next chunk of its block by
 * offset, the last one up to the block's raw length. Sorts the offsets of each block as packed numbers (offset x
 * 2^24 + position in the block's list), no comparator.
 */
function deriveChunkLengths(r: ByteReader, path: string, chunkBlock: Uint32Array, chunkOffset: Uint32Array, chunkLength: Uint32Array, blocks: number): void {
  const c = chunkBlock.length;
  const raw = new Float64Array(blocks);
  for (let b = 0; b < blocks; b++) if ((raw[b] = r.varint()) >= 2 ** 28) throw dataCorruption(path, r.off, `block ${b} raw length ${raw[b]}`);
  // Chunks grouped by block (counting sort), then ordered by offset inside each block.
  const start = new Uint32Array(blocks + 1);
  for (let i = 0; i < c; i++) {
    const b = chunkBlock[i]!;
    if (b >= blocks) throw dataCorruption(path, r.off, `chunk ${i} names block ${b} of ${blocks}`);
    start[b + 1]!++;
  }
  for (let b = 0; b < blocks; b++) start[b + 1]! += start[b]!;
  const fill = start.slice(0, blocks);
  const members = new Uint32Array(c);
  for (let i = 0; i < c; i++) members[fill[chunkBlock[i]!]!++] = i;
  const keys = new Float64Array(c);
  for (let b = 0; b < blocks; b++) {
    const from = start[b]!;
    const to = start[b + 1]!;
    if (to - from >= 1 << 24) throw dataCorruption(path, r.off, `block ${b} holds ${to - from} chunks`);
    for (let j = from; j < to; j++) {
      const offset = chunkOffset[members[j]!]!;
      if (offset >= raw[b]!) throw dataCorruption(path, r.off, `chunk offset ${offset} beyond block ${b} (${raw[b]} bytes)`);
      keys[j] = offset * 2 ** 24 + (j - from);
    }
    const sorted = keys.subarray(from, to).sort();
    for (let j = 0; j < sorted.length; j++) {
      const i = members[from + (sorted[j]! % 2 ** 24)]!;
      const end = j + 1 < sorted.length ? Math.floor(sorted[j + 1]! / 2 ** 24) : raw[b]!;
      if (end <= chunkOffset[i]!) throw dataCorruption(path, r.off, `chunk ${i} has no bytes in block ${b}`);
      chunkLength[i] = end - chunkOffset[i]!;
    }
  }
}

/** Postings built from a segment's series dictionary (series in id order, so each list comes out ascending). */
function postingsOf(n: number, def: (i: number) => SegmentSeries): Map<string, Uint32Array> {
  const lists = new Map<string, number[]>();
  const add = (key: string, id: number) => {
    const list = lists.get(key);
    if (list) list.push(id);
    else lists.set(key, [id]);
  };
  for (let i = 0; i < n; i++) {
    const s = def(i);
    add(`__name__\0${s.metric}`, s.id);
    for (const l of s.labels) add(`${l.name}\0${l.value}`, s.id);
  }
  return new Map([...lists].map(([key, ids]) => [key, Uint32Array.from(ids)]));
}

/** Version 1 index body (u32 fields, eager dictionary): still read, no longer written. */
function decodeIndexV1(r: ByteReader, path: string): SegmentIndex {
  const strings: string[] = new Array(r.u32());
  for (let i = 0; i < strings.length; i++) strings[i] = r.string();
  const str = (id: number) => {
    const s = strings[id];
    if (s === undefined) throw dataCorruption(path, r.off, `string id ${id} out of range`);
    return s;
  };
  const sid = () => {
    const id = r.u32();
    str(id);
    return id;
  };
  const n = r.u32();
  const seriesIds = new Uint32Array(n);
  const seriesKinds = new Uint8Array(n);
  const metricSids = new Uint32Array(n);
  const labelStart = new Uint32Array(n + 1);
  let labelSids = new Uint32Array(2 * n);
  for (let i = 0; i < n; i++) {
    seriesIds[i] = r.u32();
    seriesKinds[i] = r.u8();
    metricSids[i] = sid();
    const pairs = r.u32();
    labelStart[i + 1] = labelStart[i]! + pairs;
    labelSids = grownTo(labelSids, labelStart[i + 1]! * 2);
    for (let at = labelStart[i]! * 2; at < labelStart[i + 1]! * 2; at++) labelSids[at] = sid();
  }
  const series = seriesTable(seriesIds, seriesKinds, metricSids, labelStart, labelSids, strings.length, (id) => strings[id]!);
  const c = r.u32();
  const columns: ChunkColumns = {
    chunkSeries: r.u32Array(c),
    chunkMinTs: r.aligned(c * 8),
    chunkMaxTs: r.aligned(c * 8),
    chunkPoints: r.u32Array(c),
    chunkBlock: r.u32Array(c),
    chunkOffset: r.u32Array(c),
    chunkLength: r.u32Array(c),
    blockOffsets: new Float64Array(r.aligned(r.u32() * 8)),
  };
  const postings = new Map<string, Uint32Array>();
  const p = r.u32();
  for (let i = 0; i < p; i++) {
    const key = `${str(r.u32())}\0${str(r.u32())}`;
    postings.set(key, r.u32Array(r.u32()));
  }
  r.end();
  const dictionary: SegmentDictionary = { seriesDef: (i) => seriesDefOf(series, i), series, postings: () => postings };
  return { seriesIds, seriesKinds, dictionary: () => dictionary, ...columns };
}

function seriesTable(
  ids: Uint32Array, kinds: Uint8Array, metricSids: Uint32Array, labelStart: Uint32Array, labelSids: Uint32Array, stringCount: number,
  string: (sid: number) => string,
): PersistedSeriesTable {
  return { ids, kinds, metricSids, labelStart, labelSids, stringCount, string };
}

/** Row i of a series table as a definition object (one Label object per pair). */
function seriesDefOf(t: PersistedSeriesTable, i: number): SegmentSeries {
  const labels = new Array<{ name: string; value: string }>(t.labelStart[i + 1]! - t.labelStart[i]!);
  for (let j = 0, at = t.labelStart[i]! * 2; j < labels.length; j++, at += 2) {
    labels[j] = { name: t.string(t.labelSids[at]!), value: t.string(t.labelSids[at + 1]!) };
  }
  return { id: t.ids[i]!, kind: t.kinds[i]!, metric: t.string(t.metricSids[i]!), labels };
}

/** Verifies a block's stored bytes against its header and returns the raw bytes. */
export function openBlock(header: Buffer, data: Buffer, path: string, offset: number): Buffer {
  if (crc32(data) !== header.readUInt32LE(12)) throw dataCorruption(path, offset, "block CRC-32 mismatch");
  return decompressBlock(header.readUInt32LE(0), data, header.readUInt32LE(4), path, offset);
}

/** Reads and verifies the block whose header starts at `offset` of `file`. */
function readBlockAt(file: Buffer, offset: number, path: string): Buffer {
  if (offset + BLOCK_HEADER_BYTES > file.length) throw dataCorruption(path, offset, "block header past end of file");
  const end = offset + BLOCK_HEADER_BYTES + file.readUInt32LE(offset + 8);
  if (end > file.length) throw dataCorruption(path, offset, "block runs past end of file");
  return openBlock(file.subarray(offset, offset + BLOCK_HEADER_BYTES), file.subarray(offset + BLOCK_HEADER_BYTES, end), path, offset);
}
