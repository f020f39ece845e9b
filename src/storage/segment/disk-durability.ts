// The durability layer behind `withDataPath`: ties the WAL, the segment store, tombstones and compaction to the
// engine (src/storage/durability.ts contract): logs batches and deletes, replays the WAL at open, flushes
// memory into L0 segments in the background, serves persisted chunks to reads, snapshots and restores.
import { cpSync, existsSync, readdirSync, renameSync, rmSync } from "node:fs";
import { copyFile, link, mkdir, readdir, rename, rm } from "node:fs/promises";
import { dirname, join } from "node:path";
import {
  registerDurabilityLayer,
  type DurabilityLayer,
  type EngineHandle,
  type TypedSeriesDefinition,
  type ValidatedBatch,
} from "../durability.js";
import { TsinkError } from "../errors.js";
import type { PointSink, RecordQueue } from "../column.js";
import type { Ts } from "../timestamps.js";
import type { WriteAcknowledgement } from "../types.js";
import { Compactor } from "../compaction/compactor.js";
import { filterChunk } from "../compaction/merge.js";
import { Tombstones } from "../compaction/tombstones.js";
import { invalidConfiguration } from "../wal/durability-errors.js";
import type { ScannedFrame } from "../wal/frame.js";
import {
  decodeCompactSamples,
  decodeDelete,
  decodeSamples,
  decodeSeriesDefs,
  encodeDelete,
  encodeSamplesRecord,
  encodeSeriesDefs,
  RecordType,
} from "../wal/records.js";
import { WriteAheadLog, type WalFrameInput, type WalReplayReport } from "../wal/wal.js";
import { fsyncDir, fsyncPath, fsyncTree, makeDirectories, writeFileDurableAsync } from "./durable-fs.js";
import type { SegmentDictionary, TimeCells } from "./format.js";
import { DataDirLock } from "./lock.js";
import { blockCache, type SegmentReader } from "./reader.js";
import { SegmentStore } from "./store.js";
import { stageSegment, type SegmentChunk } from "./writer.js";

/** Background tick: flush and compaction checks (the reference flushes every 250 ms). */
const TICK_MS = 250;
/** A flush starts when the WAL holds this much, or on memory pressure, close and snapshot. */
const FLUSH_WAL_BYTES = 32 * 1024 * 1024;
/** ...or when unflushed data is older than this. */
const FLUSH_MAX_AGE_MS = 60_000;
/** ...or after a burst: the WAL holds this much and no write came for IDLE_FLUSH_MS. The WAL costs ~21 bytes a
 * sample on disk against ~1 in segments; small steady writers (a scrape every few seconds) stay below the size and
 * keep their heads growing instead of flushing many tiny chunks. Such a flush is followed by the compactor's
 * settle pass (L0 merged into the L1 segments of the same series), so the burst's tail does not stay small chunks. */
const IDLE_FLUSH_WAL_BYTES = 4 * 1024 * 1024;
const IDLE_FLUSH_MS = 2_000;
/** Retention sweep interval (when retention is enforced). */
const RETENTION_SWEEP_MS = 5_000;
/** Compaction passes run at close (the reference runs up to 128). */
const CLOSE_COMPACTION_PASSES = 128;
const SNAPSHOT_MANIFEST = "snapshot.json";
const DEFINED_IN_SEGMENT = -1;
/** Series whose active heads a flush seals per event-loop turn. */
const SEAL_SLICE_SERIES = 4096;

export interface FlushCounters {
  runs: number;
  errors: number;
  chunks: number;
  points: number;
  lastDurationMs: number;
  /** Longest synchronous step of the last flush's capture (sealing a slice of series, collecting chunks). */
  lastCaptureMs: number;
}

class DiskDurability implements DurabilityLayer {
  private wal: WriteAheadLog | undefined;
  private replay: WalReplayReport | undefined;
  private readonly compactor: Compactor;
  private readonly timeCells: TimeCells;
  private timer: NodeJS.Timeout | undefined;
  private lastRetentionSweep = 0;
  /** Writes and deletes wait on this while a flush captures memory. */
  private gate: Promise<void> | undefined;
  private inFlight = 0;
  private drainWaiters: (() => void)[] = [];
  private flushing: Promise<void> | undefined;
  /**
   * Where each series' definition is durable: DEFINED_IN_SEGMENT, the WAL sequence of its SeriesDef frame, or
   * 0 (nowhere: a batch writing it logs the definition again, e.g. a series deleted, purged and written anew).
   */
  private definedAt = new Float64Array(1024);
  /** Whether setDefined ran since refreshDefinitions last did, and the segment set and WAL mark that run saw. */
  private definitionsChanged = true;
  private readonly refreshedFor = { segmentChanges: -1, persisted: NaN };
  /** Segments being moved to quarantine after a failed read (awaited by close). */
  private readonly quarantining = new Set<Promise<unknown>>();
  private background: Promise<unknown> | undefined;
  private flushRequested = false;
  private unflushedSince = 0;
  /** Time of the last logged batch (idle flush after a burst). */
  private lastWriteMs = 0;
  private lastBackgroundError: string | undefined;
  private fenced: TsinkError | undefined;
  private closed = false;
  readonly flushCounters: FlushCounters = { runs: 0, errors: 0, chunks: 0, points: 0, lastDurationMs: 0, lastCaptureMs: 0 };

  private constructor(
    private readonly engine: EngineHandle,
    readonly dataPath: string,
    private readonly lock: DataDirLock,
    private readonly store: SegmentStore,
    private readonly tombstones: Tombstones,
  ) {
    this.timeCells = engine.axis.isBigInt ? "i64" : "f64";
    this.compactor = new Compactor(store, {
      chunkPoints: engine.options.chunkPoints,
      tombstones,
      retentionCutoff: () => this.retentionCutoff(),
    });
  }

  /** Opens `options.dataPath`: lock, segments, tombstones, series registry, WAL replay; then starts the workers. */
  static async open(engine: EngineHandle): Promise<DiskDurability> {
    const dataPath = engine.options.dataPath;
    if (dataPath === undefined) throw invalidConfiguration("the durability layer needs a data path");
    makeDirectories(dataPath);
    const lock = DataDirLock.acquire(dataPath);
    const timeCells: TimeCells = engine.axis.isBigInt ? "i64" : "f64";
    let store: SegmentStore | undefined;
    try {
      store = await SegmentStore.open(join(dataPath, "segments"), timeCells);
      const tombstones = Tombstones.open(join(dataPath, "tombstones.json"), timeCells);
      const layer = new DiskDurability(engine, dataPath, lock, store, tombstones);
      const hidden = layer.hydrateSeries();
      layer.refreshDefinitions();
      layer.openWal(hidden);
      if (!engine.options.walEnabled && layer.wal) {
        // A WAL left by an earlier run with the WAL on: its data is replayed, persisted, and the WAL retired.
        await layer.flush();
        await layer.wal.close();
        layer.wal = undefined;
      }
      layer.timer = setInterval(() => layer.tick(), TICK_MS);
      layer.timer.unref();
      return layer;
    } catch (err) {
      store?.close();
      lock.release();
      throw TsinkError.from(err);
    }
  }

  /** Whether `seg` holds chunks of series `id` that no tombstone deletes as a whole. */
  private liveIn(seg: SegmentReader, id: number): boolean {
    const [lo, hi] = seg.chunkRange(id);
    if (lo === hi) return false;
    let min = seg.minTs[lo]!;
    let max = seg.maxTs[lo]!;
    for (let c = lo + 1; c < hi; c++) {
      if (seg.minTs[c]! < min) min = seg.minTs[c]!;
      if (seg.maxTs[c]! > max) max = seg.maxTs[c]!;
    }
    return !this.tombstones.wholeSeriesDeleted(id, min, max, seg.id);
  }

  hasPersistedData(seriesId: number): boolean {
    return this.store.segments.some((seg) => this.liveIn(seg, seriesId));
  }

  /**
   * Registers every series held in segments with the engine; returns those whose data is all deleted. A series is
   * defined by the first segment that holds it; each segment's series are registered from its index columns in one
   * call, then all are published in id order, so every postings list is built by appends.
   */
  private hydrateSeries(): Map<number, TypedSeriesDefinition> {
    const segs = this.store.segments;
    let end = 0;
    for (const seg of segs) {
      const ids = seg.index.seriesIds;
      if (ids.length > 0 && ids[ids.length - 1]! >= end) end = ids[ids.length - 1]! + 1;
    }
    const owner = new Int32Array(end).fill(-1); // position in segs of the segment that defines each id
    const alive = new Uint8Array(end);
    for (let s = 0; s < segs.length; s++) {
      const seg = segs[s]!;
      const ids = seg.index.seriesIds;
      for (let i = 0; i < ids.length; i++) {
        const id = ids[i]!;
        if (owner[id]! < 0) owner[id] = s;
        if (!alive[id] && this.liveIn(seg, id)) alive[id] = 1;
      }
    }
    const hidden = new Map<number, TypedSeriesDefinition>();
    const publish = new Uint8Array(end);
    for (let s = 0; s < segs.length; s++) {
      const ix = segs[s]!.index;
      const rows = new Uint32Array(ix.seriesIds.length);
      let n = 0;
      let dictionary: SegmentDictionary | undefined; // decoded once per segment that defines a series, then dropped
      for (let i = 0; i < ix.seriesIds.length; i++) {
        const id = ix.seriesIds[i]!;
        if (owner[id] !== s) continue;
        if (alive[id]) rows[n++] = i;
        else hidden.set(id, (dictionary ??= ix.dictionary()).seriesDef(i));
      }
      if (n === 0) continue;
      const got = new Uint32Array(n);
      this.engine.restoreSeries((dictionary ??= ix.dictionary()).series, rows.subarray(0, n), got);
      for (let i = 0; i < n; i++) publish[got[i]!] = 1;
    }
    let count = 0;
    for (let id = 0; id < end; id++) count += publish[id]!;
    const ids = new Uint32Array(count);
    for (let id = 0, k = 0; id < end; id++) if (publish[id]) ids[k++] = id;
    this.engine.publishSeries(ids);
    return hidden;
  }

  private openWal(hidden: Map<number, TypedSeriesDefinition>): void {
    const o = this.engine.options;
    const dir = join(this.dataPath, "wal");
    if (!o.walEnabled && !existsSync(dir)) return;
    let pendingDefs: TypedSeriesDefinition[] = [];
    const where = (f: ScannedFrame) => `${dir} frame ${f.seq}`;
    const { wal, report } = WriteAheadLog.open(
      dir,
      {
        syncMode: o.walSyncMode === "PerAppend" ? { kind: "perAppend" } : { kind: "periodic", intervalMs: o.walSyncMode.periodicMs },
        replayMode: o.walReplayMode === "Strict" ? "strict" : "salvage",
        sizeLimitBytes: o.walSizeLimitBytes,
        persistedSeqFloor: this.store.walHighwater,
      },
      (frame) => {
        if (frame.type === RecordType.SeriesDef) {
          const defs = decodeSeriesDefs(frame.payload, where(frame));
          for (const d of defs) this.setDefined(d.id, frame.seq);
          pendingDefs.push(...defs);
        }
        else if (frame.type === RecordType.Samples || frame.type === RecordType.CompactSamples) {
          const decode = frame.type === RecordType.Samples ? decodeSamples : decodeCompactSamples;
          const batch = decode(frame.payload, this.engine.axis, where(frame));
          for (const sid of batch.seriesIds) {
            const def = hidden.get(sid);
            if (def) {
              this.engine.defineSeries(def);
              hidden.delete(sid);
            }
          }
          this.engine.applyBatch({ ...batch, newSeries: pendingDefs });
          pendingDefs = [];
        } else if (frame.type === RecordType.Delete) {
          const rec = decodeDelete(frame.payload, this.engine.axis, where(frame));
          const [start, end] = rec.range ?? [this.engine.axis.min, this.engine.axis.max];
          this.tombstones.add(rec.seriesIds, start, end, rec.beforeSegment);
          this.engine.applyDelete(rec.seriesIds, rec.range?.[0], rec.range?.[1]);
        }
      },
    );
    this.wal = wal;
    this.replay = report;
    if (report.frames > 0) this.unflushedSince = Date.now();
  }

  // ------------------------------------------------------------------ write path

  private async enter(): Promise<void> {
    if (this.fenced) throw this.fenced;
    while (this.gate) await this.gate;
    this.inFlight++;
  }

  private leave(): void {
    if (--this.inFlight === 0 && this.drainWaiters.length > 0) {
      const waiters = this.drainWaiters;
      this.drainWaiters = [];
      // The engine applies a logged batch in the continuation of our promise; setImmediate runs after it.
      setImmediate(() => waiters.forEach((w) => w()));
    }
  }

  async logBatch(batch: ValidatedBatch): Promise<WriteAcknowledgement> {
    await this.enter();
    try {
      this.lastWriteMs = Date.now();
      if (this.unflushedSince === 0) this.unflushedSince = this.lastWriteMs;
      const wal = this.wal;
      if (!wal) return "Volatile";
      const defs = this.definitionsToLog(batch);
      const frames: WalFrameInput[] = [];
      if (defs.length > 0) frames.push({ type: RecordType.SeriesDef, payload: encodeSeriesDefs(defs) });
      frames.push(encodeSamplesRecord(batch)); // may be a shared buffer: append now
      let seq: number;
      try {
        seq = wal.append(frames);
      } catch (err) {
        for (const d of defs) this.setDefined(d.id, 0);
        throw err;
      }
      for (const d of defs) this.setDefined(d.id, seq - 1);
      if (wal.sizeBytes >= FLUSH_WAL_BYTES || wal.sizeBytes * 2 >= this.engine.options.walSizeLimitBytes) this.flushRequested = true;
      if (this.engine.options.walSyncMode !== "PerAppend") return "Appended";
      await wal.durable(seq);
      return "Durable";
    } finally {
      this.leave();
    }
  }

  /** New series of the batch plus any series it writes whose definition is durable nowhere any more. */
  private definitionsToLog(batch: ValidatedBatch): TypedSeriesDefinition[] {
    const defs = [...batch.newSeries];
    for (const d of defs) this.setDefined(d.id, Infinity); // being logged now
    for (let i = 0; i < batch.count; i++) {
      const sid = batch.seriesIds[i]!;
      if (sid < this.definedAt.length && this.definedAt[sid] !== 0) continue;
      const def = this.engine.seriesDefinition(sid);
      if (!def) continue;
      defs.push(def);
      this.setDefined(sid, Infinity);
    }
    return defs;
  }

  private setDefined(id: number, where: number): void {
    this.definitionsChanged = true;
    if (id >= this.definedAt.length) {
      const grown = new Float64Array(Math.max(id + 1, this.definedAt.length * 2));
      grown.set(this.definedAt);
      this.definedAt = grown;
    }
    this.definedAt[id] = where;
  }

  /**
   * Re-derives where definitions are durable after the segment set or the WAL high-water mark changed. Idempotent,
   * so it is skipped when neither changed and no definition was recorded since the last run (it runs after every
   * background tick, four times a second: a loop over all series, a heap number per entry while not yet optimised).
   */
  private refreshDefinitions(): void {
    const persisted = this.wal?.persistedSeq ?? Infinity;
    const seen = this.refreshedFor;
    if (!this.definitionsChanged && seen.segmentChanges === this.store.changes && seen.persisted === persisted) return;
    const d = this.definedAt;
    for (let i = 0; i < d.length; i++) if (d[i] === DEFINED_IN_SEGMENT || (d[i]! > 0 && d[i]! <= persisted)) d[i] = 0;
    for (const seg of this.store.segments) {
      const ids = seg.index.seriesIds;
      if (ids.length === 0) continue;
      this.setDefined(ids[ids.length - 1]!, DEFINED_IN_SEGMENT); // the largest id: grows the array at most once
      const at = this.definedAt;
      for (let i = 0; i < ids.length - 1; i++) at[ids[i]!] = DEFINED_IN_SEGMENT;
    }
    this.definitionsChanged = false;
    seen.segmentChanges = this.store.changes;
    seen.persisted = persisted;
  }

  async logDelete(seriesIds: Uint32Array, start: Ts | undefined, end: Ts | undefined): Promise<void> {
    while (this.flushing) await this.flushing; // a flush in progress must not see memory change under it
    await this.enter();
    try {
      const rec = { seriesIds, range: start !== undefined && end !== undefined ? ([start, end] as [Ts, Ts]) : undefined, beforeSegment: this.store.nextId };
      if (this.wal) await this.wal.durable(this.wal.append([{ type: RecordType.Delete, payload: encodeDelete(rec, this.engine.axis) }]));
      this.tombstones.add(seriesIds, rec.range?.[0] ?? this.engine.axis.min, rec.range?.[1] ?? this.engine.axis.max, rec.beforeSegment);
      if (this.unflushedSince === 0) this.unflushedSince = Date.now();
    } finally {
      this.leave();
    }
  }

  // ------------------------------------------------------------------ read path

  persistedChunks(seriesId: number, start: Ts, end: Ts, out: Uint8Array[] = []): Uint8Array[] {
    this.eachPersisted(seriesId, start, end, DiskDurability.collectEntry, out);
    return out;
  }

  appendPersisted(seriesId: number, start: Ts, end: Ts, sink: PointSink): boolean {
    return this.eachPersisted(seriesId, start, end, DiskDurability.appendEntry, sink);
  }

  // eachPersisted's visitors: static functions with their argument passed along, not closures (one per series read)
  private static collectEntry(d: DiskDurability, seg: SegmentReader, e: number, filter: boolean, seriesId: number, _s: Ts, _e: Ts, out: Uint8Array[]): boolean {
    const bytes = seg.readChunk(e);
    const kept = filter ? filterChunk(bytes, seriesId, seg.id, d.tombstones, d.timeCells) : bytes;
    if (kept) out.push(kept);
    return true;
  }

  private static appendEntry(d: DiskDurability, seg: SegmentReader, e: number, filter: boolean, seriesId: number, start: Ts, end: Ts, sink: PointSink): boolean {
    if (!filter) return seg.appendTo(e, sink, start, end);
    const kept = filterChunk(seg.readChunk(e), seriesId, seg.id, d.tombstones, d.timeCells);
    return kept === null || sink.appendChunk(kept, start, end);
  }

  queuePersisted(seriesId: number, start: Ts, end: Ts, queue: RecordQueue): boolean {
    if (this.timeCells !== "f64") return false; // (number timestamps in the descriptors)
    const dir = this.store.directory();
    if (seriesId + 1 >= dir.start.length) return true;
    const places = dir.places;
    for (let p = 3 * dir.start[seriesId]!, to = 3 * dir.start[seriesId + 1]!; p < to; p += 3) {
      const seg = dir.segments[places[p]!]!;
      if (!seg.records || this.tombstones.affects(seriesId, seg.id)) return false;
      try {
        if (!seg.queueRecords(places[p + 1]!, places[p + 1]! + places[p + 2]!, start as number, end as number, queue)) return false;
      } catch (err) {
        this.segmentFailed(seg, err);
      }
    }
    return true;
  }

  releaseQueued(): void {
    blockCache.unpinAll();
  }

  /**
   * Calls `visit` for each chunk entry of `seriesId` that may overlap [start, end), segment by segment (with whether
   * tombstones of the series affect that segment, and `arg`) until it returns false; returns false then, else true.
   * The segments come from the store's SeriesDirectory (one lookup, not one per segment). A segment that turns out
   * damaged is quarantined and the read fails.
   */
  private eachPersisted<A>(
    seriesId: number, start: Ts, end: Ts,
    visit: (d: DiskDurability, seg: SegmentReader, entry: number, filter: boolean, seriesId: number, start: Ts, end: Ts, arg: A) => boolean, arg: A,
  ): boolean {
    const dir = this.store.directory(); // a failing segment leaves the store below, and then the loop ends with the throw
    if (seriesId + 1 >= dir.start.length) return true;
    const places = dir.places;
    for (let p = 3 * dir.start[seriesId]!, to = 3 * dir.start[seriesId + 1]!; p < to; p += 3) {
      const seg = dir.segments[places[p]!]!;
      try {
        const filter = this.tombstones.affects(seriesId, seg.id);
        for (let e = places[p + 1]!, last = e + places[p + 2]!; e < last; e++) {
          if (seg.overlaps(e, start, end) && !visit(this, seg, e, filter, seriesId, start, end, arg)) return false;
        }
      } catch (err) {
        this.segmentFailed(seg, err);
      }
    }
    return true;
  }

  /** Rethrows `err`; a DataCorruption of a read from `seg` first quarantines the segment. */
  private segmentFailed(seg: SegmentReader, err: unknown): never {
    if (!(err instanceof TsinkError && err.code === "DataCorruption")) throw err;
    // A damaged segment leaves the live set at once and is moved aside in the background; this read fails
    // with a clear error (no silent partial answer) and the data of every other segment stays readable.
    this.lastBackgroundError = err.message;
    const moving = this.store
      .quarantine(seg.dir, err.message)
      .catch((e: unknown) => (this.lastBackgroundError = (e as Error).message))
      .finally(() => this.quarantining.delete(moving));
    this.quarantining.add(moving);
    throw new TsinkError("DataCorruption", `${err.message}; segment ${seg.dir} was quarantined, the rest of the data stays readable`, err.details, { cause: err });
  }

  // ------------------------------------------------------------------ flush

  relieveMemoryPressure(): void {
    this.flushRequested = true;
    this.tick();
  }

  /** Persists everything in memory as one L0 segment and truncates the WAL up to it. */
  flush(): Promise<void> {
    this.flushing ??= this.runFlush().finally(() => (this.flushing = undefined));
    return this.flushing;
  }

  private async runFlush(): Promise<void> {
    const started = performance.now();
    this.flushRequested = false;
    let release!: () => void;
    this.gate = new Promise<void>((r) => (release = r));
    let chunks: SegmentChunk[] = [];
    const sealedUpTo = new Map<number, number>();
    let walSeq = 0;
    let segmentId = 0;
    try {
      if (this.inFlight > 0) await new Promise<void>((r) => this.drainWaiters.push(r));
      // Capture. Writers and deletes wait at the gate, so memory holds exactly the data of WAL frames <= walSeq;
      // active heads are sealed in slices with event-loop turns between them (reads go on meanwhile).
      let sliceStarted = performance.now();
      let longestSlice = 0;
      const turn = async () => {
        longestSlice = Math.max(longestSlice, performance.now() - sliceStarted);
        await new Promise((r) => setImmediate(r));
        sliceStarted = performance.now();
      };
      for (let from = 0, end = SEAL_SLICE_SERIES; from < end; from += SEAL_SLICE_SERIES) {
        end = this.engine.sealRange(from, from + SEAL_SLICE_SERIES);
        if (from + SEAL_SLICE_SERIES < end) await turn();
      }
      const withSealed = this.engine.seriesWithSealedChunks();
      for (let k = 0; k < withSealed.length; k++) {
        const id = withSealed[k]!;
        let maxSeq = -1;
        for (const c of this.engine.sealedChunks(id)) {
          chunks.push({ seriesId: id, minTs: c.minTs, maxTs: c.maxTs, count: c.count, bytes: c.bytes });
          if (c.seq > maxSeq) maxSeq = c.seq;
        }
        sealedUpTo.set(id, maxSeq);
        if (k % SEAL_SLICE_SERIES === SEAL_SLICE_SERIES - 1) await turn();
      }
      walSeq = this.wal?.lastSeq ?? 0;
      this.wal?.rotate();
      segmentId = this.store.allocateId();
      this.unflushedSince = 0;
      this.flushCounters.lastCaptureMs = Math.max(longestSlice, performance.now() - sliceStarted);
    } finally {
      this.gate = undefined;
      release();
    }
    try {
      if (chunks.length > 0) {
        const series = [...sealedUpTo.keys()].map((id) => this.engine.seriesDefinition(id)!);
        const staged = await stageSegment(this.store.levelDir(0), {
          id: segmentId,
          level: 0,
          timeCells: this.timeCells,
          walHighwater: walSeq,
          series,
          chunks,
        });
        // Publish and release in one synchronous step: readers see each chunk exactly once.
        await this.store.add(staged, () => {
          for (const [id, seq] of sealedUpTo) this.engine.releaseSealedChunks(id, seq);
        });
        this.flushCounters.chunks += chunks.length;
        for (const c of chunks) this.flushCounters.points += c.count;
        chunks = [];
      }
      if (this.wal) {
        await this.wal.sync();
        await this.wal.markPersisted(walSeq);
      }
      this.refreshDefinitions();
      this.flushCounters.runs++;
      this.flushCounters.lastDurationMs = performance.now() - started;
    } catch (err) {
      this.flushCounters.errors++;
      if (this.unflushedSince === 0) this.unflushedSince = Date.now();
      throw err;
    }
  }

  // ------------------------------------------------------------------ background work

  private tick(): void {
    if (this.background || this.closed) return;
    const wal = this.wal;
    const afterBurst = this.burstPending() && Date.now() - this.lastWriteMs >= IDLE_FLUSH_MS;
    const due =
      this.flushRequested ||
      afterBurst ||
      (wal !== undefined && wal.sizeBytes >= FLUSH_WAL_BYTES) ||
      (this.unflushedSince > 0 && Date.now() - this.unflushedSince >= FLUSH_MAX_AGE_MS);
    const sweep = this.engine.options.retentionEnforced && Date.now() - this.lastRetentionSweep >= RETENTION_SWEEP_MS;
    this.background = (async () => {
      if (due) await this.flush();
      if (afterBurst && !this.closed) await this.compactor.settle();
      if (sweep) {
        this.lastRetentionSweep = Date.now();
        const cutoff = this.retentionCutoff();
        if (cutoff !== undefined) await this.compactor.applyRetention(cutoff);
      }
      // While writes arrive, or an idle flush with its settle pass is still to come, L0 waits (DEFERRED_L0_TRIGGER):
      // the settle pass merges the burst's flushes with L1 once, instead of L0 being merged first and then again.
      const deferL0 = () =>
        Date.now() - this.lastWriteMs < IDLE_FLUSH_MS || this.burstPending();
      while (!this.closed && (await this.compactor.runOnce(false, deferL0())));
      this.refreshDefinitions();
      this.pruneTombstones();
    })()
      .catch((err: unknown) => this.backgroundFailed(err))
      .finally(() => (this.background = undefined));
  }

  /** Unflushed data of a burst (the WAL holds >= IDLE_FLUSH_WAL_BYTES): flushed once idle, then settled. */
  private burstPending(): boolean {
    return this.wal !== undefined && this.unflushedSince > 0 && this.wal.sizeBytes >= IDLE_FLUSH_WAL_BYTES;
  }

  private backgroundFailed(err: unknown): void {
    const e = TsinkError.from(err);
    this.lastBackgroundError = e.message;
    if (this.engine.options.backgroundFailFast) {
      this.fenced = new TsinkError("Other", `writes are fenced after a background failure: ${e.message}`, {}, { cause: e });
    }
  }

  private pruneTombstones(): void {
    const segs = this.store.segments;
    this.tombstones.prune(segs.length > 0 ? Math.min(...segs.map((s) => s.id)) : this.store.nextId);
  }

  private retentionCutoff(): Ts | undefined {
    const o = this.engine.options;
    if (!o.retentionEnforced || !Number.isFinite(o.retentionMs)) return undefined;
    const axis = this.engine.axis;
    return axis.sub(axis.now(), axis.fromMillis(o.retentionMs));
  }

  // ------------------------------------------------------------------ snapshot and restore

  /**
   * Writes a consistent point-in-time copy to `path` (which must not exist): flushes memory, then hard-links the
   * immutable segment files (copying where links are not possible) under the compaction lock.
   */
  async snapshot(path: string): Promise<void> {
    if (existsSync(path)) throw invalidConfiguration(`snapshot target ${path} already exists`, { path });
    await this.flush();
    // Hard links (or copies) of the immutable segment files; all disk work is async so writers and queries go on.
    await this.compactor.exclusive(async () => {
      const tmp = `${path}.tmp-${process.pid}`;
      await rm(tmp, { recursive: true, force: true });
      const created = new Set<string>();
      for (const seg of this.store.segments) {
        const target = join(tmp, "segments", `L${seg.level}`, seg.dir.slice(seg.dir.lastIndexOf("/") + 1));
        await mkdir(target, { recursive: true });
        for (const file of await readdir(seg.dir)) {
          try {
            await link(join(seg.dir, file), join(target, file));
          } catch {
            await copyFile(join(seg.dir, file), join(target, file));
            await fsyncPath(join(target, file));
          }
        }
        await fsyncPath(target);
        created.add(dirname(target));
      }
      await mkdir(tmp, { recursive: true });
      for (const dir of created) await fsyncPath(dir);
      if (created.size > 0) await fsyncPath(join(tmp, "segments"));
      const tomb = join(this.dataPath, "tombstones.json");
      if (existsSync(tomb)) {
        await copyFile(tomb, join(tmp, "tombstones.json"));
        await fsyncPath(join(tmp, "tombstones.json"));
      }
      await writeFileDurableAsync(
        join(tmp, SNAPSHOT_MANIFEST),
        Buffer.from(JSON.stringify({ format: "tsink-snapshot", version: 1, createdMs: Date.now(), timeCells: this.timeCells, segments: this.store.segments.length })),
      );
      await fsyncPath(tmp);
      await rename(tmp, path);
      await fsyncPath(dirname(path));
    });
  }

  observability(): Record<string, unknown> {
    const segs = this.store.segments;
    return {
      wal: this.wal
        ? {
            enabled: true,
            segmentCount: this.wal.segmentCount,
            sizeBytes: this.wal.sizeBytes,
            lastSeq: this.wal.lastSeq,
            persistedSeq: this.wal.persistedSeq,
            fsyncRounds: this.wal.syncRounds,
            replay: this.replay,
          }
        : { enabled: false },
      flush: { ...this.flushCounters },
      segments: {
        count: segs.length,
        byLevel: [0, 1, 2].map((l) => segs.filter((s) => s.level === l).length),
        sizeBytes: this.store.sizeBytes,
        quarantined: this.store.quarantined.map((q) => q.dir),
      },
      compaction: { ...this.compactor.counters },
      background: { degraded: this.lastBackgroundError !== undefined, lastError: this.lastBackgroundError, failFastTriggered: this.fenced !== undefined },
    };
  }

  /** Flushes memory, compacts, syncs and closes the WAL, releases the lock. */
  async close(): Promise<void> {
    if (this.closed) return;
    clearInterval(this.timer);
    while (this.background) await this.background;
    await Promise.all(this.quarantining);
    try {
      // A burst the idle flush has not persisted yet is settled as the idle pass would have, but only among its own
      // L0 segments (no L1 segments pulled in: close costs about twice the flush, not a rewrite of older data).
      const settle = this.burstPending();
      await this.flush();
      this.closed = true;
      const cutoff = this.retentionCutoff();
      if (cutoff !== undefined) await this.compactor.applyRetention(cutoff);
      if (settle) await this.compactor.settle(false);
      await this.compactor.compactAll(CLOSE_COMPACTION_PASSES, true);
      this.pruneTombstones();
    } finally {
      this.closed = true;
      try {
        await this.wal?.close();
      } finally {
        this.store.close();
        this.lock.release();
      }
    }
  }
}

/**
 * Restores a snapshot made by `snapshot()` into `dataPath`, which must not exist or be empty. The copy is made
 * under a temp name and renamed into place, so a crash leaves no half-restored data dir.
 */
export function restoreFromSnapshot(snapshotPath: string, dataPath: string): void {
  if (!existsSync(join(snapshotPath, SNAPSHOT_MANIFEST))) {
    throw invalidConfiguration(`${snapshotPath} is not a tsink snapshot (no ${SNAPSHOT_MANIFEST})`, { snapshotPath });
  }
  if (existsSync(dataPath) && readdirSync(dataPath).length > 0) {
    throw invalidConfiguration(`restore target ${dataPath} is not empty`, { dataPath });
  }
  const tmp = `${dataPath}.restore-${process.pid}`;
  rmSync(tmp, { recursive: true, force: true });
  cpSync(snapshotPath, tmp, { recursive: true });
  rmSync(join(tmp, SNAPSHOT_MANIFEST));
  fsyncTree(tmp);
  rmSync(dataPath, { recursive: true, force: true });
  renameSync(tmp, dataPath);
  fsyncDir(dirname(dataPath));
}

registerDurabilityLayer({
  open: (engine) => DiskDurability.open(engine),
  restoreFromSnapshot: async (snapshotPath, dataPath) => restoreFromSnapshot(snapshotPath, dataPath),
});
