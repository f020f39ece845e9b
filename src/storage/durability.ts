// The contract between the in-memory engine and the durability layer (WAL, segments, compaction; built in
// src/storage/wal and src/storage/segment). The engine logs each validated batch and delete through the layer
// before applying it, reads persisted chunks through it, and exposes sealed chunks for flushing.
import type { PointSink, RecordQueue } from "./column.js";
import type { StorageOptions } from "./options.js";
import type { PersistedSeriesTable, SeriesDefinition } from "./registry.js";
import type { SealedChunk } from "./sealed-chunks.js";
import type { TimeAxis, TimestampArray, Ts } from "./timestamps.js";
import type { WriteAcknowledgement } from "./types.js";
import type { Blob } from "./value-kinds.js";

export interface TypedSeriesDefinition extends SeriesDefinition {
  /** Value kind code (see value-kinds.ts). */
  kind: number;
}

/**
 * A write batch after validation: columnar, one entry per row. Numeric values are raw 8-byte cells in `values`
 * (f64 bits, i64/u64 two's complement, bool as 0/1 f64); blob kinds use `blobs[i]`. `newSeries` lists the
 * series this batch creates (ids already assigned), so a WAL can log their definitions before the samples.
 */
export interface ValidatedBatch {
  readonly count: number;
  readonly seriesIds: Uint32Array;
  readonly kinds: Uint8Array;
  readonly timestamps: TimestampArray;
  readonly values: Float64Array;
  readonly blobs: Array<Blob | undefined> | null;
  readonly newSeries: TypedSeriesDefinition[];
}

/** What the durability layer may call on the engine. */
export interface EngineHandle {
  readonly options: Readonly<StorageOptions>;
  readonly axis: TimeAxis;
  /** Applies a batch (used by insert after logging, and by WAL replay). Series in `newSeries` are (re)defined. */
  applyBatch(batch: ValidatedBatch): void;
  /** Applies a delete (used by deleteSeries after logging, and by WAL replay); no range = whole series. */
  applyDelete(seriesIds: Uint32Array, start?: Ts, end?: Ts): void;
  /** Registers a series whose data lives in segments, making it visible to queries. */
  defineSeries(def: TypedSeriesDefinition): void;
  /**
   * Registers the series in rows `rows` of a persisted table (reopen), not yet visible to queries; writes the id
   * each row got into `ids` (its own, unless a series of the same key is registered already).
   */
  restoreSeries(table: PersistedSeriesTable, rows: Uint32Array, ids: Uint32Array): void;
  /** Makes restored series visible to queries; `ids` ascending, so every postings list is built by appends. */
  publishSeries(ids: Uint32Array): void;
  seriesDefinition(id: number): TypedSeriesDefinition | undefined;
  /** Seals every active head into chunks (before a flush or on close). */
  sealAll(): void;
  /** Seals the active heads of series ids in [from, to); returns the end of the id space (a flush seals in slices). */
  sealRange(from: number, to: number): number;
  seriesWithSealedChunks(): number[];
  sealedChunks(seriesId: number): readonly SealedChunk[];
  /** Drops sealed chunks with seq <= upToSeq from memory once they are persisted. */
  releaseSealedChunks(seriesId: number, upToSeq: number): void;
}

export interface DurabilityLayer {
  /** Logs a batch before the engine applies it; resolves once it is as durable as the sync mode promises. */
  logBatch(batch: ValidatedBatch): Promise<WriteAcknowledgement>;
  logDelete(seriesIds: Uint32Array, start: Ts | undefined, end: Ts | undefined): Promise<void>;
  /** Whether a series still has points on disk that no delete removed as a whole (after a range delete). */
  hasPersistedData(seriesId: number): boolean;
  /** Encoded chunks of a series held on disk that may overlap [start, end), appended to `out` (default: a new array). */
  persistedChunks(seriesId: number, start: Ts, end: Ts, out?: Uint8Array[]): Uint8Array[];
  /** The same chunks of an f64 series, appended to `sink` in that order (without rebuilding chunks that segments
   * store as records); false as soon as the sink refuses one because the runs overlap (the caller then merges). */
  appendPersisted(seriesId: number, start: Ts, end: Ts, sink: PointSink): boolean;
  /**
   * The same records of an f64 series queued for a batch decode (ArenaBatchBuilder.decodeQueued), their blocks kept
   * in memory until releaseQueued; false (with some records maybe queued: the caller drops them) when the series
   * needs appendPersisted: chunks not stored as records, a delete that affects them, or pinned blocks past half the
   * block cache (the caller then decodes what it queued and reads this series alone).
   */
  queuePersisted(seriesId: number, start: Ts, end: Ts, queue: RecordQueue): boolean;
  /** Ends a batch decode: the blocks queuePersisted kept may be evicted again. */
  releaseQueued(): void;
  /** Called when writers wait for memory: flush now so sealed chunks can be released. */
  relieveMemoryPressure(): void;
  /** Writes a consistent point-in-time copy of the data directory to `path` while writes continue. */
  snapshot(path: string): Promise<void>;
  observability(): Record<string, unknown>;
  close(): Promise<void>;
}

/** What the durability module registers: how to open the layer for a storage, and snapshot restore. */
export interface DurabilityModule {
  open(engine: EngineHandle): Promise<DurabilityLayer>;
  /** Restores a snapshot directory into `dataPath` (StorageBuilder.restoreFromSnapshot). */
  restoreFromSnapshot(snapshotPath: string, dataPath: string): Promise<void>;
}

let registered: DurabilityModule | undefined;

/** Called once by the durability module when it is loaded; `withDataPath` needs it. */
export function registerDurabilityLayer(module: DurabilityModule): void {
  registered = module;
}

/** The registered durability module (its `open` is the factory of the layer), or undefined when none is loaded. */
export function durabilityFactory(): DurabilityModule | undefined {
  return registered;
}
