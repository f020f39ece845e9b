// Segment file layout: chunks.bin (checksummed, optionally compressed blocks of encoded chunks),
// index.bin (series dictionary, chunk index, label postings; compressed) and manifest.json.
import { brotliDecompressSync, constants as zc, crc32 } from "node:zlib";
import { dataCorruption } from "../wal/durability-errors.js";
import { ByteReader, ByteWriter } from "./bytes.js";

export const SEGMENT_FORMAT = "tsink-segment";
export const SEGMENT_FORMAT_VERSION = 1;
export const CHUNKS_FILE = "chunks.bin";
export const INDEX_FILE = "index.bin";
export const MANIFEST_FILE = "manifest.json";

/** Magic at the start of chunks.bin ("TSCK") and index.bin ("TSIX"). */
export const CHUNKS_MAGIC = 0x4b435354;
export const INDEX_MAGIC = 0x58495354;
export const FILE_HEADER_BYTES = 16;
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

export function manifestChecksum(m: SegmentManifest): number {
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
  if (m.format !== SEGMENT_FORMAT || m.version !== SEGMENT_FORMAT_VERSION) {
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
 */
export function brotliOptions(sizeHint: number, level: number) {
  return {
    params: {
      [zc.BROTLI_PARAM_QUALITY]: level === 0 ? 5 : 9,
      [zc.BROTLI_PARAM_LGWIN]: 22,
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

/** In-memory form of index.bin. Chunk entries are columns sorted by (series id, min ts). */
export interface SegmentIndex {
  seriesIds: Uint32Array;
  /** Value kind code of each series (value-kinds.ts). */
  seriesKinds: Uint8Array;
  seriesMetric: string[];
  seriesLabels: { name: string; value: string }[][];
  chunkSeries: Uint32Array;
  /** 8-byte cells; view as Float64Array or BigInt64Array per the manifest's timeCells. */
  chunkMinTs: ArrayBuffer;
  chunkMaxTs: ArrayBuffer;
  chunkPoints: Uint32Array;
  chunkBlock: Uint32Array;
  chunkOffset: Uint32Array;
  chunkLength: Uint32Array;
  blockOffsets: Float64Array;
  /** Sorted series ids per label pair ("__name__" holds the metric); key is name + "\0" + value. */
  postings: Map<string, Uint32Array>;
}

/** Serialises the index; the caller compresses it into index.bin with `indexFile`. */
export function encodeIndexBody(index: SegmentIndex): Buffer {
  const strings = new Map<string, number>();
  const intern = (s: string) => {
    let id = strings.get(s);
    if (id === undefined) strings.set(s, (id = strings.size));
    return id;
  };
  const body = new ByteWriter();
  const n = index.seriesIds.length;
  body.u32(n);
  for (let i = 0; i < n; i++) {
    body.u32(index.seriesIds[i]!);
    body.u8(index.seriesKinds[i]!);
    body.u32(intern(index.seriesMetric[i]!));
    const labels = index.seriesLabels[i]!;
    body.u32(labels.length);
    for (const l of labels) {
      body.u32(intern(l.name));
      body.u32(intern(l.value));
    }
  }
  const c = index.chunkSeries.length;
  body.u32(c);
  body.cells(index.chunkSeries);
  body.bytes(new Uint8Array(index.chunkMinTs));
  body.bytes(new Uint8Array(index.chunkMaxTs));
  body.cells(index.chunkPoints);
  body.cells(index.chunkBlock);
  body.cells(index.chunkOffset);
  body.cells(index.chunkLength);
  body.u32(index.blockOffsets.length);
  body.cells(index.blockOffsets);
  body.u32(index.postings.size);
  for (const [key, ids] of index.postings) {
    const sep = key.indexOf("\0");
    body.u32(intern(key.slice(0, sep)));
    body.u32(intern(key.slice(sep + 1)));
    body.u32(ids.length);
    body.cells(ids);
  }
  const table = new ByteWriter();
  table.u32(strings.size);
  for (const s of strings.keys()) table.string(s);
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
  const raw = readBlockAt(file, FILE_HEADER_BYTES, path);
  const r = new ByteReader(raw, path);
  const strings: string[] = new Array(r.u32());
  for (let i = 0; i < strings.length; i++) strings[i] = r.string();
  const str = (id: number) => {
    const s = strings[id];
    if (s === undefined) throw dataCorruption(path, r.off, `string id ${id} out of range`);
    return s;
  };
  const n = r.u32();
  const seriesIds = new Uint32Array(n);
  const seriesKinds = new Uint8Array(n);
  const seriesMetric: string[] = new Array(n);
  const seriesLabels: { name: string; value: string }[][] = new Array(n);
  for (let i = 0; i < n; i++) {
    seriesIds[i] = r.u32();
    seriesKinds[i] = r.u8();
    seriesMetric[i] = str(r.u32());
    const labels = new Array(r.u32());
    for (let j = 0; j < labels.length; j++) labels[j] = { name: str(r.u32()), value: str(r.u32()) };
    seriesLabels[i] = labels;
  }
  const c = r.u32();
  const index: SegmentIndex = {
    seriesIds,
    seriesKinds,
    seriesMetric,
    seriesLabels,
    chunkSeries: r.u32Array(c),
    chunkMinTs: r.aligned(c * 8),
    chunkMaxTs: r.aligned(c * 8),
    chunkPoints: r.u32Array(c),
    chunkBlock: r.u32Array(c),
    chunkOffset: r.u32Array(c),
    chunkLength: r.u32Array(c),
    blockOffsets: new Float64Array(r.aligned(r.u32() * 8)),
    postings: new Map(),
  };
  const p = r.u32();
  for (let i = 0; i < p; i++) {
    const key = `${str(r.u32())}\0${str(r.u32())}`;
    index.postings.set(key, r.u32Array(r.u32()));
  }
  r.end();
  return index;
}

/** Verifies a block's stored bytes against its header and returns the raw bytes. */
export function openBlock(header: Buffer, data: Buffer, path: string, offset: number): Buffer {
  if (crc32(data) !== header.readUInt32LE(12)) throw dataCorruption(path, offset, "block CRC-32 mismatch");
  return decompressBlock(header.readUInt32LE(0), data, header.readUInt32LE(4), path, offset);
}

/** Reads and verifies the block whose header starts at `offset` of `file`. */
export function readBlockAt(file: Buffer, offset: number, path: string): Buffer {
  if (offset + BLOCK_HEADER_BYTES > file.length) throw dataCorruption(path, offset, "block header past end of file");
  const end = offset + BLOCK_HEADER_BYTES + file.readUInt32LE(offset + 8);
  if (end > file.length) throw dataCorruption(path, offset, "block runs past end of file");
  return openBlock(file.subarray(offset, offset + BLOCK_HEADER_BYTES), file.subarray(offset + BLOCK_HEADER_BYTES, end), path, offset);
}
