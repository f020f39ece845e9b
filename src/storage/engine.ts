// Storage: the embedded engine behind StorageBuilder. Owns the write path (validate -> log -> apply), every read
// method, deletes, limits (memory budget, cardinality, writer slots), retention and lifecycle.
import { availableParallelism } from "node:os";
import { grownTo } from "../encoding/typed-arrays.js";
import { customAggregate, downsample, pointsOf, reduce } from "./aggregate.js";
import { aggregateOnChunks, downsampleOnChunks, isKernelAggregation } from "./chunk-aggregate.js";
import { ArenaBatchBuilder, Column, ColumnBatchBuilder, mergeRuns, RecordQueue, type PointSink } from "./column.js";
import type { DurabilityLayer, EngineHandle, TypedSeriesDefinition, ValidatedBatch } from "./durability.js";
import { TsinkError, errors } from "./errors.js";
import { METRIC_LABEL, resolveSelection } from "./matchers.js";
import type { StorageOptions } from "./options.js";
import { type PersistedSeriesTable, SeriesRegistry, hashKey, hashLabels, hashMetric, hashSortedLabels } from "./registry.js";
import type { SealedChunk } from "./sealed-chunks.js";
import { SeriesStore, decodeChunkRange } from "./series-store.js";
import { TimeAxis, type TimestampArray, type Ts } from "./timestamps.js";
import {
  AGGREGATIONS,
  type Aggregation,
  type ColumnArenaBatch,
  type ColumnLabelOptions,
  type DeleteSeriesResult,
  type Label,
  type MetricSeries,
  type QueryOptions,
  type QueryRowsPage,
  type QueryRowsScanOptions,
  type SampleColumns,
  type Row,
  SeriesKey,
  type SeriesName,
  type SelectedColumns,
  type SeriesPoints,
  type SeriesSelection,
  type StoredPoint,
  type WriteResult,
} from "./types.js";
import { canonicalLabels, validateMetric } from "./validation.js";
import {
  KIND_BOOL, KIND_BYTES, KIND_F64, KIND_I64, KIND_NAMES, KIND_NONE, KIND_STRING, KIND_U64, type Blob, isBlobKind,
} from "./value-kinds.js";

const ADMISSION_POLL_MS = 10;
/** Expired sealed chunks are dropped at most this often (reads hide expired points in between). */
const RETENTION_SWEEP_MS = 1000;
const I64_MIN = -(2n ** 63n);
const I64_MAX = 2n ** 63n - 1n;

/** Result of the bulk read: series `ids[i]` holds `timestamps[i]`/`values[i]` (views into shared pages). */
interface ColumnBatch {
  ids: number[];
  timestamps: TimestampArray[];
  values: Float64Array[];
}
const U64_MAX = 2n ** 64n - 1n;
/** Series ids below this have their label lists kept by Storage.labelLists (~100 B each). */
const LABEL_LISTS_MAX = 1 << 18;
/** Placeholder of selectBatches' label lists not filled yet. */
const NO_LABELS: Label[] = [];

interface Counters {
  rowsInserted: number;
  insertBatches: number;
  insertErrors: number;
  selectCalls: number;
  selectErrors: number;
  pointsReturned: number;
  deletes: number;
  chunksSealed: number;
  retentionChunksDropped: number;
  admissionWaits: number;
}

const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));
/** Identity, for `Array.prototype.map` copies (see shapedLabels). */
const same = <T>(x: T): T => x;

/** A BatchArrays.hashes entry the prefetch pass did not compute. */
const NOT_HASHED = -2;

/** Batches up to this many samples reuse a BatchArrays; larger ones get arrays of their own (not kept). */
const REUSED_BATCH_MAX = 1 << 16;

/**
 * The columns a write batch is validated into, reused by the next batch (a batch holds one from prepare until
 * it is applied), so a batch allocates no ArrayBuffers: each would count as external memory, which makes V8
 * run full GCs over the whole heap.
 */
class BatchArrays {
  seriesIds = new Uint32Array(0);
  kinds = new Uint8Array(0);
  timestamps: TimestampArray;
  values = new Float64Array(0);
  i64 = new BigInt64Array(0);
  u64 = new BigUint64Array(0);
  /** Series ids of the keys of a columnar batch. */
  keyIds = new Uint32Array(0);
  /** Key hash per row (or per key of a columnar batch) from the prefetch pass; NOT_HASHED when it has none. */
  hashes = new Float64Array(0);
  /** Per row of prepareBatch: the series id the prefetch pass found by successor, or -1. */
  found = new Int32Array(0);
  /** KIND_F64 in every entry (the kinds of a columnar batch). */
  f64Kinds = new Uint8Array(0);

  constructor(private readonly axis: TimeAxis) {
    this.timestamps = axis.newArray(0);
  }

  /** Makes room for `n` rows; with `columns` only the per-sample series ids and f64 kinds are needed. */
  reserve(n: number, columns: boolean): void {
    const size = n <= REUSED_BATCH_MAX ? Math.max(1024, n) : n;
    if (this.seriesIds.length < n || n > REUSED_BATCH_MAX) this.seriesIds = new Uint32Array(size);
    if (columns) {
      if (this.f64Kinds.length < n) this.f64Kinds = new Uint8Array(size).fill(KIND_F64);
      return;
    }
    if (this.kinds.length < n || n > REUSED_BATCH_MAX) this.rowArrays(size);
  }

  private rowArrays(size: number): void {
    this.kinds = new Uint8Array(size);
    this.timestamps = this.axis.newArray(size);
    this.values = new Float64Array(size);
    this.i64 = new BigInt64Array(this.values.buffer);
    this.u64 = new BigUint64Array(this.values.buffer);
  }

  reserveKeys(m: number): Uint32Array {
    if (this.keyIds.length < m) this.keyIds = new Uint32Array(Math.max(1024, m));
    return this.keyIds;
  }

  reserveHashes(n: number): Float64Array {
    if (this.hashes.length < n) this.hashes = new Float64Array(Math.max(1024, n));
    return this.hashes;
  }

  reserveFound(n: number): Int32Array {
    if (this.found.length < n) this.found = new Int32Array(Math.max(1024, n));
    return this.found;
  }

  /** Drops arrays grown for a batch larger than REUSED_BATCH_MAX. */
  trim(): void {
    if (this.seriesIds.length > REUSED_BATCH_MAX) this.seriesIds = new Uint32Array(0);
    if (this.kinds.length > REUSED_BATCH_MAX) this.rowArrays(0);
    if (this.keyIds.length > REUSED_BATCH_MAX) this.keyIds = new Uint32Array(0);
    if (this.hashes.length > REUSED_BATCH_MAX) this.hashes = new Float64Array(0);
    if (this.found.length > REUSED_BATCH_MAX) this.found = new Int32Array(0);
    if (this.f64Kinds.length > REUSED_BATCH_MAX) this.f64Kinds = new Uint8Array(0);
  }
}

export class Storage implements EngineHandle {
  readonly axis: TimeAxis;
  private readonly registry = new SeriesRegistry();
  private readonly store: SeriesStore;
  private durability: DurabilityLayer | undefined;
  private state: "open" | "closing" | "closed" = "open";
  private readonly retentionUnits: Ts;
  private maxObservedTs: Ts;
  private readonly maxWriters: number;
  private busyWriters = 0;
  private lastRetentionSweep = 0;
  private readonly writerQueue: Array<() => void> = [];
  /** Idle BatchArrays (one per concurrent writer at most). */
  private readonly batchArrays: BatchArrays[] = [];
  /** Reused by the bulk read for each series' chunk list. */
  private readonly chunkScratch: Uint8Array[] = [];
  /** Segment records queued for one batch decode into the read arena (readInto); empty between reads. */
  private readonly recordQueue = new RecordQueue();
  /** Series ids a selectBatches batch kept, in order (filled and read synchronously, batch by batch). */
  private batchIds = new Int32Array(1024);
  /**
   * Shaped label lists (labelsWith) by series id for one shape (`labelListsShape`): a series' labels never change
   * (a deleted id is only reused for the same series), so the lists of repeated reads are built once and stay in
   * the old generation instead of being garbage per query. Indexed by series id (a dense array: a read of 100k
   * series looks up 100k lists), ids up to LABEL_LISTS_MAX.
   */
  private labelLists: (Label[] | undefined)[] = [];
  private labelListsShape = -1;
  /** The series id insertRows expects first in its next batch (see prefetchRows). */
  private nextSeries = 0;
  private readonly counters: Counters = {
    rowsInserted: 0, insertBatches: 0, insertErrors: 0, selectCalls: 0, selectErrors: 0, pointsReturned: 0,
    deletes: 0, chunksSealed: 0, retentionChunksDropped: 0, admissionWaits: 0,
  };

  constructor(readonly options: Readonly<StorageOptions>) {
    this.axis = new TimeAxis(options.timestampPrecision);
    this.store = new SeriesStore(this.axis, {
      chunkPoints: options.chunkPoints,
      partitionUnits: this.axis.fromMillis(options.partitionDurationMs),
      maxHeadsPerSeries: options.maxActivePartitionHeadsPerSeries,
    });
    this.retentionUnits = Number.isFinite(options.retentionMs) ? this.axis.fromMillis(options.retentionMs) : this.axis.max;
    this.maxObservedTs = this.axis.min;
    this.maxWriters = options.maxWriters > 0 ? options.maxWriters : availableParallelism();
  }

  /** Attaches the durability layer (done once by StorageBuilder.build before the storage is handed out). */
  attachDurability(layer: DurabilityLayer): void {
    this.durability = layer;
  }

  // ------------------------------------------------------------------ writes

  async insertRows(rows: readonly Row[]): Promise<void> {
    await this.insertRowsWithResult(rows);
  }

  async insertRowsWithResult(rows: readonly Row[]): Promise<WriteResult> {
    this.ensureOpen();
    if (!Array.isArray(rows)) throw errors.invalidValue(rows, "insertRows takes an array of rows");
    return this.write(rows.length, (arrays) => this.prepareBatch(rows, arrays));
  }

  /**
   * Inserts f64 samples given in columns (see SampleColumns), all or nothing, like insertRowsWithResult. The fast
   * path of the ingest protocols: a series whose SeriesKey this storage resolved before costs one id lookup.
   */
  async insertColumns(batch: SampleColumns): Promise<WriteResult> {
    this.ensureOpen();
    if (batch === null || typeof batch !== "object") throw errors.invalidValue(batch, "insertColumns takes { series, seriesIndex, timestamps, values, count }");
    return this.write(batch.count, (arrays) => this.prepareColumns(batch, arrays));
  }

  private async write(count: number, prepare: (arrays: BatchArrays) => ValidatedBatch): Promise<WriteResult> {
    if (count === 0) return { acknowledgement: this.emptyBatchAcknowledgement() };
    await this.acquireWriter();
    const arrays = this.batchArrays.pop() ?? new BatchArrays(this.axis);
    try {
      await this.admitMemory(count * 16);
      this.ensureOpen();
      const batch = prepare(arrays);
      const acknowledgement = this.durability ? await this.logBatch(batch) : "Volatile";
      this.applyBatch(batch);
      this.counters.insertBatches++;
      return { acknowledgement };
    } catch (err) {
      this.counters.insertErrors++;
      throw TsinkError.from(err);
    } finally {
      arrays.trim();
      this.batchArrays.push(arrays);
      this.releaseWriter();
    }
  }

  /** What an empty batch is acknowledged as: what a logged batch would get under the configured WAL. */
  private emptyBatchAcknowledgement(): WriteResult["acknowledgement"] {
    if (!this.durability || !this.options.walEnabled) return "Volatile";
    return this.options.walSyncMode === "PerAppend" ? "Durable" : "Appended";
  }

  /**
   * Validates a whole batch and resolves its series (creating new ones, not yet visible). Nothing is applied:
   * on any error the series created here are rolled back and the batch is rejected as a whole.
   */
  private prepareBatch(rows: readonly Row[], arrays: BatchArrays): ValidatedBatch {
    const n = rows.length;
    const reg = this.registry;
    const axis = this.axis;
    arrays.reserve(n, false);
    const { seriesIds, kinds, timestamps, values, i64, u64 } = arrays;
    const found = arrays.reserveFound(n);
    const hashes = this.prefetchRows(rows, arrays.reserveHashes(n), found);
    let blobs: Array<Blob | undefined> | null = null;
    // definitions of the new series, for the durability layer to log (without one, nothing needs them)
    const newSeries: TypedSeriesDefinition[] = [];
    const logged = this.durability !== undefined;
    const firstNewId = reg.count;
    const kindsAssigned: number[] = [];
    const futureLimit = axis.futureLimit();
    let batchMax: Ts = axis.min;
    let lastMetric: unknown;
    let metricHash = 0;
    let metricId = -1;
    let lastRawLabels: unknown;
    let lastSidMetric: unknown;
    let lastSid = -1;
    try {
      for (let i = 0; i < n; i++) {
        const row = rows[i]!;
        if (row === null || typeof row !== "object") throw errors.invalidValue(row, "each row is { metric, labels, dataPoint }");
        let metric = row.metric;
        if (metric !== lastMetric || typeof metric !== "string") {
          lastMetric = metric = validateMetric(metric);
          metricHash = hashMetric(metric);
          metricId = reg.dict.find(metric) ?? -1;
        }
        // rows of one series often share one labels array (e.g. a parsed remote-write series): reuse its id
        const rawLabels = row.labels;
        let sid: number;
        let labels: readonly Label[] = [];
        let hash = 0;
        if (rawLabels === lastRawLabels && metric === lastSidMetric) sid = lastSid;
        else if (found[i]! >= 0) sid = found[i]!;
        else {
          // fast path: labels already sorted and found as given (then they are valid: they equal stored ones)
          hash = hashes[i]!;
          if (hash === NOT_HASHED) hash = hashSortedLabels(metricHash, rawLabels);
          sid = hash < 0 ? -1 : reg.find(metricId, (rawLabels ?? []) as Label[], hash);
          if (sid < 0) {
            labels = canonicalLabels(rawLabels);
            // (labels given sorted and well-formed were looked up as they are just above)
            if (labels !== rawLabels || hash < 0) {
              hash = hashLabels(metricHash, labels);
              sid = reg.find(metricId, labels, hash);
            }
          }
        }
        const dp = row.dataPoint;
        if (dp === null || typeof dp !== "object") throw errors.invalidValue(dp, "dataPoint must be { timestamp, value }");
        const value = dp.value;
        let kind: number;
        if (sid < 0) {
          if (reg.visibleCount + (reg.count - firstNewId) + 1 > this.options.cardinalityLimit) throw errors.cardinality(this.options.cardinalityLimit);
          kind = kindOfValue(value, KIND_NONE);
          sid = reg.create(metric as string, labels, hash);
          metricId = reg.metricIdOf(sid);
          reg.kind[sid] = kind;
          if (logged) newSeries.push({ id: sid, metric: metric as string, labels: reg.labelsWith(sid, false, -1), kind });
        } else {
          const existing = reg.kind[sid]!;
          kind = kindOfValue(value, existing);
          if (existing === KIND_NONE) {
            if (!reg.visible[sid] && reg.visibleCount + 1 > this.options.cardinalityLimit) throw errors.cardinality(this.options.cardinalityLimit);
            reg.kind[sid] = kind;
            kindsAssigned.push(sid);
          } else if (existing !== kind) throw errors.typeMismatch(KIND_NAMES[existing]!, KIND_NAMES[kind]!, metric as string);
        }
        lastRawLabels = rawLabels;
        lastSidMetric = metric;
        lastSid = sid;
        const ts = axis.normalize(dp.timestamp);
        if (ts > futureLimit) throw errors.futureSkew(ts, futureLimit);
        if (ts > batchMax) batchMax = ts;
        seriesIds[i] = sid;
        kinds[i] = kind;
        timestamps[i] = ts as never;
        switch (kind) {
          case KIND_F64:
            values[i] = value as number;
            break;
          case KIND_I64: {
            const v = value as bigint;
            if (v < I64_MIN || v > I64_MAX) throw errors.invalidValue(v, "an i64 value must fit in 64 signed bits");
            i64[i] = v;
            break;
          }
          case KIND_U64: {
            const v = typeof value === "bigint" ? value : (value as { u64: bigint }).u64;
            if (typeof v !== "bigint" || v < 0n || v > U64_MAX) throw errors.invalidValue(v, "a u64 value must be a bigint in 0..2^64-1");
            u64[i] = v;
            break;
          }
          case KIND_BOOL:
            values[i] = value ? 1 : 0;
            break;
          default:
            values[i] = 0;
            (blobs ??= new Array<Blob | undefined>(n))[i] = value as Blob;
        }
      }
      if (this.options.retentionEnforced) this.checkRetention(timestamps, n, batchMax, futureLimit);
      this.nextSeries = lastSid + 1;
    } catch (err) {
      for (const sid of kindsAssigned) reg.kind[sid] = KIND_NONE;
      reg.truncate(firstNewId);
      throw err;
    }
    return { count: n, seriesIds, kinds, timestamps, values, blobs, newSeries };
  }

  /**
   * The prefetch pass of prepareBatch. Rows mostly arrive in the order their series were created (a scrape or a
   * client emits its series in a stable order), so each row is first compared with the series expected next, the
   * successor of the last one found (the previous batch's last series for the first row). A row equal to it gets
   * its id in `found` (else -1) and needs neither hash nor table probe. When the order breaks right after a found
   * row (or at the first row), that row is looked up at once to follow the order from its series; otherwise a
   * row is hashed (as hashSortedLabels) into `hashes`, and the registry then touches the cells the lookups of
   * those rows will read (SeriesRegistry.prefetch). Rows found, or that cannot be hashed (malformed, or sharing the
   * previous row's labels array), get NOT_HASHED. In rows without any order, each costs one failed comparison.
   */
  private prefetchRows(rows: readonly Row[], hashes: Float64Array, found: Int32Array): Float64Array {
    const reg = this.registry;
    let next = this.nextSeries;
    let following = true;
    let lastMetric: unknown;
    let lastLabels: unknown;
    let metricHash = 0;
    let metricId = -2; // -2: not looked up yet for lastMetric
    for (let i = 0; i < rows.length; i++) {
      hashes[i] = NOT_HASHED;
      found[i] = -1;
      const row = rows[i];
      if (row === null || typeof row !== "object") continue;
      const metric = row.metric;
      const labels = row.labels;
      if (typeof metric !== "string" || (labels === lastLabels && metric === lastMetric)) continue;
      if (metric !== lastMetric) {
        metricHash = hashMetric(metric);
        metricId = -2;
      }
      lastMetric = metric;
      lastLabels = labels;
      if (reg.hasKey(next, metric, labels)) {
        found[i] = next++;
        following = true;
        continue;
      }
      const hash = hashSortedLabels(metricHash, labels);
      if (following && hash >= 0) {
        following = false;
        if (metricId === -2) metricId = reg.dict.find(metric) ?? -1;
        const sid = reg.find(metricId, labels as Label[], hash);
        if (sid >= 0) {
          found[i] = sid;
          next = sid + 1;
          continue;
        }
      }
      hashes[i] = hash;
    }
    this.registry.prefetch(hashes, rows.length, (i) => rows[i]!.labels);
    return hashes;
  }

  /** The prefetch pass of prepareColumns (see prefetchRows), over the keys this storage has not resolved. */
  private prefetchKeys(series: readonly SeriesName[], m: number, hashes: Float64Array): Float64Array {
    const reg = this.registry;
    let lastMetric: unknown;
    let metricHash = 0;
    for (let k = 0; k < m; k++) {
      hashes[k] = NOT_HASHED;
      const key = series[k];
      if (key === null || typeof key !== "object") continue;
      if (key instanceof SeriesKey && key.resolvedBy === reg && key.resolvedGeneration === reg.generation) continue;
      const metric = key.metric;
      if (typeof metric !== "string") continue;
      if (metric !== lastMetric) metricHash = hashMetric(metric);
      lastMetric = metric;
      hashes[k] = hashSortedLabels(metricHash, key.labels);
    }
    reg.prefetch(hashes, m, (k) => series[k]!.labels);
    return hashes;
  }

  /** prepareBatch for SampleColumns: each distinct SeriesKey is resolved once, then the columns are checked. */
  private prepareColumns(b: SampleColumns, arrays: BatchArrays): ValidatedBatch {
    const n = b.count;
    const axis = this.axis;
    const { series, seriesIndex, timestamps, values } = b;
    if (!Number.isSafeInteger(n) || n < 0) throw errors.invalidValue(n, "count must be a non-negative integer");
    if (!Array.isArray(series)) throw errors.invalidValue(typeof series, "series must be an array of SeriesKey or { metric, labels }");
    const kindOf = (x: unknown) => Object.prototype.toString.call(x).slice(8, -1);
    if (!(seriesIndex instanceof Uint32Array) || seriesIndex.length < n) throw errors.invalidValue(kindOf(seriesIndex), `seriesIndex must be a Uint32Array of at least ${n} entries`);
    if (!(values instanceof Float64Array) || values.length < n) throw errors.invalidValue(kindOf(values), `values must be a Float64Array of at least ${n} entries`);
    if (!(axis.isBigInt ? timestamps instanceof BigInt64Array : timestamps instanceof Float64Array) || timestamps.length < n) {
      throw errors.invalidTimestamp(kindOf(timestamps), `${axis.precision} precision takes timestamps as a ${axis.isBigInt ? "BigInt64Array" : "Float64Array"} of at least ${n} entries`);
    }
    const reg = this.registry;
    const m = series.length;
    const ids = arrays.reserveKeys(m);
    const hashes = this.prefetchKeys(series, m, arrays.reserveHashes(m));
    const newSeries: TypedSeriesDefinition[] | null = this.durability ? [] : null;
    const firstNewId = reg.count;
    const kindsAssigned: number[] = [];
    const futureLimit = axis.futureLimit();
    let batchMax: Ts = axis.min;
    try {
      for (let k = 0; k < m; k++) {
        const key = series[k]!;
        let sid: number;
        if (key instanceof SeriesKey && key.resolvedBy === reg && key.resolvedGeneration === reg.generation) sid = key.resolvedId;
        else sid = this.resolveKey(key, newSeries, reg.count - firstNewId, hashes[k]!);
        const kind = reg.kind[sid]!;
        if (kind === KIND_NONE) {
          if (!reg.visible[sid] && reg.visibleCount + 1 > this.options.cardinalityLimit) throw errors.cardinality(this.options.cardinalityLimit);
          reg.kind[sid] = KIND_F64;
          kindsAssigned.push(sid);
        } else if (kind !== KIND_F64) throw errors.typeMismatch(KIND_NAMES[kind]!, KIND_NAMES[KIND_F64]!, key.metric);
        ids[k] = sid;
      }
      arrays.reserve(n, true);
      const seriesIds = arrays.seriesIds;
      for (let i = 0; i < n; i++) {
        const k = seriesIndex[i]!;
        if (k >= m) throw errors.invalidValue(k, `seriesIndex[${i}] is past the end of series (${m} keys)`);
        seriesIds[i] = ids[k]!;
      }
      if (axis.isBigInt) {
        const ts = timestamps as BigInt64Array;
        for (let i = 0; i < n; i++) if (ts[i]! > batchMax) batchMax = ts[i]!;
      } else {
        const ts = timestamps as Float64Array;
        let max = -Infinity;
        for (let i = 0; i < n; i++) {
          const t = ts[i]!;
          if (!Number.isSafeInteger(t)) throw errors.invalidTimestamp(t, `${axis.precision} precision needs an integer number within ±2^53`);
          if (t > max) max = t;
        }
        batchMax = max;
      }
      if (batchMax > futureLimit) throw errors.futureSkew(batchMax, futureLimit);
      if (this.options.retentionEnforced) this.checkRetention(timestamps, n, batchMax, futureLimit);
      return { count: n, seriesIds, kinds: arrays.f64Kinds, timestamps, values, blobs: null, newSeries: newSeries ?? [] };
    } catch (err) {
      for (const sid of kindsAssigned) reg.kind[sid] = KIND_NONE;
      reg.truncate(firstNewId);
      throw err;
    }
  }

  /**
   * Validates a series name not yet resolved by this storage (a SeriesKey seen first, or a plain { metric, labels }),
   * finds or creates its series and, for a SeriesKey, caches the id in it. A new series' definition goes to
   * `newSeries` (null: no durability layer to log it); `created` series were created by this batch so far.
   * `sortedHash` is hashSortedLabels of the key as given (NOT_HASHED or -1: none).
   */
  private resolveKey(key: SeriesName, newSeries: TypedSeriesDefinition[] | null, created: number, sortedHash: number): number {
    if (key === null || typeof key !== "object") throw errors.invalidValue(key, "series entries are SeriesKey or { metric, labels } objects");
    const reg = this.registry;
    const metric = validateMetric(key.metric);
    const labels = canonicalLabels(key.labels);
    const hash = sortedHash >= 0 && labels === key.labels ? sortedHash : hashKey(metric, labels);
    let sid = reg.find(reg.dict.find(metric) ?? -1, labels, hash);
    if (sid < 0) {
      if (reg.visibleCount + created + 1 > this.options.cardinalityLimit) throw errors.cardinality(this.options.cardinalityLimit);
      sid = reg.create(metric, labels, hash);
      reg.kind[sid] = KIND_F64;
      newSeries?.push({ id: sid, metric, labels: labels as Label[], kind: KIND_F64 });
    }
    if (key instanceof SeriesKey) {
      key.resolvedBy = reg;
      key.resolvedGeneration = reg.generation;
      key.resolvedId = sid;
    }
    return sid;
  }

  /** Logs through the durability layer; if that fails, the series the batch created stay untyped and hidden. */
  private async logBatch(batch: ValidatedBatch): Promise<WriteResult["acknowledgement"]> {
    try {
      return await this.durability!.logBatch(batch);
    } catch (err) {
      for (const def of batch.newSeries) if (!this.registry.visible[def.id]) this.registry.kind[def.id] = KIND_NONE;
      throw err;
    }
  }

  private retentionCutoff(reference: Ts): Ts {
    let ref = this.axis.now();
    if (this.maxObservedTs > ref) ref = this.maxObservedTs;
    if (reference > ref) ref = reference;
    return this.axis.sub(ref, this.retentionUnits);
  }

  private checkRetention(timestamps: ArrayLike<Ts>, n: number, batchMax: Ts, futureLimit: Ts): void {
    const cutoff = this.retentionCutoff(batchMax <= futureLimit ? batchMax : this.axis.min);
    for (let i = 0; i < n; i++) if (timestamps[i]! < cutoff) throw errors.outOfRetention(timestamps[i]!, cutoff);
  }

  applyBatch(batch: ValidatedBatch): void {
    const reg = this.registry;
    for (const def of batch.newSeries) this.ensureSeries(def);
    const v32 = new Int32Array(batch.values.buffer, batch.values.byteOffset, batch.count * 2);
    const ts = batch.timestamps;
    let max = this.maxObservedTs;
    for (let i = 0; i < batch.count; i++) {
      const sid = batch.seriesIds[i]!;
      const kind = batch.kinds[i]!;
      if (reg.kind[sid] === KIND_NONE) reg.kind[sid] = kind;
      const t = ts[i]!;
      if (t > max) max = t;
      if (this.store.append(sid, kind, ts, i, v32, batch.blobs?.[i])) this.counters.chunksSealed++;
      if (!reg.visible[sid]) reg.show(sid);
    }
    this.maxObservedTs = max;
    this.counters.rowsInserted += batch.count;
    if (this.options.retentionEnforced && this.store.sealedChunkCount > 0 && Date.now() - this.lastRetentionSweep >= RETENTION_SWEEP_MS) {
      this.lastRetentionSweep = Date.now();
      this.counters.retentionChunksDropped += this.store.dropSealedBefore(this.retentionCutoff(this.axis.min));
    }
  }

  private ensureSeries(def: TypedSeriesDefinition): number {
    const reg = this.registry;
    if (reg.isDefined(def.id) && reg.metricName(def.id) === def.metric) return def.id;
    const labels = canonicalLabels(def.labels);
    const hash = hashKey(def.metric, labels);
    const found = reg.find(reg.dict.find(def.metric) ?? -1, labels, hash);
    if (found >= 0) return found;
    const id = reg.create(def.metric, labels, hash, def.id);
    reg.kind[id] = def.kind;
    return id;
  }

  defineSeries(def: TypedSeriesDefinition): void {
    const id = this.ensureSeries(def);
    if (this.registry.kind[id] === KIND_NONE) this.registry.kind[id] = def.kind;
    this.registry.show(id);
  }

  restoreSeries(table: PersistedSeriesTable, rows: Uint32Array, ids: Uint32Array): void {
    const reg = this.registry;
    const dictIds = new Int32Array(table.stringCount);
    let pairs = 0;
    let maxId = 0;
    for (let i = 0; i < rows.length; i++) {
      pairs += table.labelStart[rows[i]! + 1]! - table.labelStart[rows[i]!]!;
      maxId = Math.max(maxId, table.ids[rows[i]!]!);
    }
    reg.reserve(rows.length, pairs, maxId);
    for (let i = 0; i < rows.length; i++) {
      const id = (ids[i] = reg.restore(table, rows[i]!, dictIds));
      if (reg.kind[id] === KIND_NONE) reg.kind[id] = table.kinds[rows[i]!]!;
    }
  }

  publishSeries(ids: Uint32Array): void {
    for (let i = 0; i < ids.length; i++) this.registry.show(ids[i]!);
  }

  seriesDefinition(id: number): TypedSeriesDefinition | undefined {
    if (id < 0 || id >= this.registry.count) return undefined;
    const reg = this.registry;
    return { id, metric: reg.metricName(id), labels: reg.labelsWith(id, false, -1), kind: reg.kind[id]! };
  }

  sealAll(): void {
    this.store.sealAll((sid) => this.registry.kind[sid]!);
  }

  sealRange(from: number, to: number): number {
    return this.store.sealRange(from, to, (sid) => this.registry.kind[sid]!);
  }

  seriesWithSealedChunks(): number[] {
    return this.store.seriesWithSealed();
  }

  sealedChunks(seriesId: number): readonly SealedChunk[] {
    return this.store.sealedOf(seriesId);
  }

  releaseSealedChunks(seriesId: number, upToSeq: number): void {
    this.store.releaseSealed(seriesId, upToSeq);
  }

  // ------------------------------------------------------------------ limits

  private async acquireWriter(): Promise<void> {
    if (this.busyWriters < this.maxWriters) {
      this.busyWriters++;
      return;
    }
    await new Promise<void>((resolve, reject) => {
      const grant = () => {
        clearTimeout(timer);
        this.busyWriters++;
        resolve();
      };
      const timer = setTimeout(() => {
        const at = this.writerQueue.indexOf(grant);
        if (at >= 0) this.writerQueue.splice(at, 1);
        reject(errors.writeTimeout(this.options.writeTimeoutMs, this.busyWriters));
      }, this.options.writeTimeoutMs);
      this.writerQueue.push(grant);
    });
  }

  private releaseWriter(): void {
    this.busyWriters--;
    this.writerQueue.shift()?.();
  }

  /** Waits (polling every 10 ms, asking for a flush) until `growth` more bytes fit the budget, or times out. */
  private async admitMemory(growth: number): Promise<void> {
    const budget = this.options.memoryLimitBytes;
    if (!Number.isFinite(budget)) return;
    const deadline = Date.now() + this.options.writeTimeoutMs;
    let relief = false;
    while (this.memoryUsed() + growth > budget) {
      if (Date.now() >= deadline) throw errors.memoryBudget(budget, this.memoryUsed() + growth);
      if (!relief) {
        this.counters.admissionWaits++;
        this.durability?.relieveMemoryPressure();
        relief = true;
      }
      await sleep(Math.min(ADMISSION_POLL_MS, Math.max(1, deadline - Date.now())));
      this.ensureOpen();
    }
  }

  memoryUsed(): number {
    return this.store.activeBytes + this.store.sealedBytes;
  }

  memoryBudget(): number {
    return this.options.memoryLimitBytes;
  }

  // ------------------------------------------------------------------ reads

  async select(metric: string, labels: readonly Label[], start: Ts, end: Ts): Promise<StoredPoint[]> {
    return this.query(() => {
      validateMetric(metric);
      const canon = canonicalLabels(labels);
      const [s, e] = this.range(start, end);
      const sid = this.registry.lookup(metric, canon);
      if (sid < 0 || !this.registry.visible[sid]) return [];
      return pointsOf(this.collect(sid, s, e), this.registry.kind[sid]!);
    });
  }

  async selectAll(metric: string, start: Ts, end: Ts): Promise<Array<{ labels: Label[]; points: StoredPoint[] }>> {
    return this.query(() => {
      validateMetric(metric);
      const [s, e] = this.range(start, end);
      const out: Array<{ labels: Label[]; points: StoredPoint[] }> = [];
      for (const sid of this.sortedIds(resolveSelection(this.registry, { metric }))) {
        const col = this.collect(sid, s, e);
        if (col.length > 0) out.push({ labels: this.registry.labelsOf(sid), points: pointsOf(col, this.registry.kind[sid]!) });
      }
      return out;
    });
  }

  async selectMany(series: readonly MetricSeries[], start: Ts, end: Ts): Promise<SeriesPoints[]> {
    return this.query(() => {
      const [s, e] = this.range(start, end);
      const resolved = series.map((m) => {
        validateMetric(m?.name);
        return { series: { name: m.name, labels: canonicalLabels(m.labels).slice() }, sid: this.registry.lookup(m.name, canonicalLabels(m.labels)) };
      });
      return resolved.map(({ series: ms, sid }) => ({
        series: ms,
        points: sid >= 0 && this.registry.visible[sid] ? pointsOf(this.collect(sid, s, e), this.registry.kind[sid]!) : [],
      }));
    });
  }

  async selectWithOptions(metric: string, opts: QueryOptions): Promise<StoredPoint[]> {
    return this.query(() => {
      validateMetric(metric);
      if (opts === null || typeof opts !== "object") throw errors.invalidConfiguration("selectWithOptions needs QueryOptions { start, end, ... }");
      const canon = canonicalLabels(opts.labels);
      const [s, e] = this.range(opts.start, opts.end);
      let agg: Aggregation = opts.aggregation ?? "None";
      if (!AGGREGATIONS.includes(agg)) throw errors.unsupportedAggregation(String(agg), "any");
      let interval: Ts | undefined;
      if (opts.downsample) {
        interval = this.axis.normalize(opts.downsample.interval);
        if (interval <= 0) throw errors.invalidConfiguration("downsample interval must be positive", { interval });
        agg = opts.downsample.aggregation ?? agg;
        if (!AGGREGATIONS.includes(agg)) throw errors.unsupportedAggregation(String(agg), "any");
        if (agg === "None") agg = "Last";
      }
      const offset = opts.offset ?? 0;
      const limit = opts.limit;
      if (!Number.isInteger(offset) || offset < 0) throw errors.invalidConfiguration("offset must be a non-negative integer", { offset });
      if (limit !== undefined && (!Number.isInteger(limit) || limit < 0)) throw errors.invalidConfiguration("limit must be a non-negative integer", { limit });
      if (limit === 0) return [];
      const sid = this.registry.lookup(metric, canon);
      if (sid < 0 || !this.registry.visible[sid]) return [];
      const kind = this.registry.kind[sid]!;
      const page = (from: number, total: number) => [from, limit === undefined ? total : Math.min(total, from + limit)] as const;
      if (!opts.customAggregation && kind === KIND_F64 && isKernelAggregation(agg, interval !== undefined)) {
        const { chunks, heads } = this.sources(sid, s, e);
        if (interval === undefined) {
          const p = aggregateOnChunks(chunks, heads, s, e, agg);
          if (p !== null) return p === undefined || offset > 0 ? [] : [p];
        } else {
          const pts = downsampleOnChunks(this.axis, chunks, heads, s, e, interval, agg);
          if (pts !== null) {
            const [a, b] = page(offset, pts.length);
            return pts.slice(a, b);
          }
        }
      }
      const col = this.collect(sid, s, e);
      if (opts.customAggregation) {
        const pts = customAggregate(this.axis, col, kind, opts.customAggregation, s, interval);
        const [a, b] = page(offset, pts.length);
        return pts.slice(a, b);
      }
      if (interval === undefined && agg === "None") {
        const [a, b] = page(Math.min(offset, col.length), col.length);
        return pointsOf(col, kind, a, b);
      }
      const pts = interval !== undefined ? downsample(this.axis, col, kind, agg, s, interval) : [reduce(col, kind, agg, 0, col.length)].filter((p): p is StoredPoint => p !== undefined);
      const [a, b] = page(offset, pts.length);
      return pts.slice(a, b);
    });
  }

  async scanMetricRows(metric: string, start: Ts, end: Ts, opts: QueryRowsScanOptions = {}): Promise<QueryRowsPage> {
    return this.query(() => {
      validateMetric(metric);
      const [s, e] = this.range(start, end);
      return this.scanRows(this.sortedIds(resolveSelection(this.registry, { metric })), s, e, opts);
    });
  }

  async scanSeriesRows(series: readonly MetricSeries[], start: Ts, end: Ts, opts: QueryRowsScanOptions = {}): Promise<QueryRowsPage> {
    return this.query(() => {
      const [s, e] = this.range(start, end);
      const ids: number[] = [];
      for (const m of series) {
        validateMetric(m?.name);
        const sid = this.registry.lookup(m.name, canonicalLabels(m.labels));
        if (sid >= 0 && this.registry.visible[sid]) ids.push(sid);
      }
      return this.scanRows(ids, s, e, opts);
    });
  }

  /** Rows of `ids` (in that order, each series by time), skipping `rowOffset` rows and returning at most `maxRows`. */
  private scanRows(ids: ArrayLike<number> & Iterable<number>, s: Ts, e: Ts, opts: QueryRowsScanOptions): QueryRowsPage {
    const offset = opts.rowOffset ?? 0;
    const max = opts.maxRows ?? Number.POSITIVE_INFINITY;
    if (!Number.isInteger(offset) || offset < 0) throw errors.invalidConfiguration("rowOffset must be a non-negative integer", { rowOffset: offset });
    if (max !== Number.POSITIVE_INFINITY && (!Number.isInteger(max) || max < 1)) throw errors.invalidConfiguration("maxRows must be a positive integer", { maxRows: max });
    const rows: QueryRowsPage["rows"] = [];
    let seen = 0;
    for (const sid of ids) {
      const col = this.collect(sid, s, e);
      if (seen + col.length <= offset) {
        seen += col.length;
        continue;
      }
      const from = Math.max(0, offset - seen);
      const metric = this.registry.metricName(sid);
      const labels = this.registry.labelsOf(sid);
      const kind = this.registry.kind[sid]!;
      for (let i = from; i < col.length; i++) {
        if (rows.length === max) {
          return { rowsScanned: offset + rows.length, truncated: true, nextRowOffset: offset + rows.length, rows };
        }
        rows.push({ metric, labels, dataPoint: pointsOf(col, kind, i, i + 1)[0]! });
      }
      seen += col.length;
    }
    return { rowsScanned: offset + rows.length, truncated: false, rows };
  }

  async listMetrics(): Promise<MetricSeries[]> {
    return this.query(() => Array.from(this.sortedIds(this.registry.universe.view()), (sid) => this.metricSeries(sid)));
  }

  async selectSeries(selection: SeriesSelection): Promise<MetricSeries[]> {
    return this.query(() => Array.from(this.selectIds(selection), (sid) => this.metricSeries(sid)));
  }

  /**
   * Columnar read of every numeric series matching `selection` over [start, end): timestamps ascending, values
   * projected to f64 (NaN payloads kept bit-exact), series ordered by metric and labels. Blob series are
   * skipped. Used by the PromQL engine. `labelOptions` shapes the label lists (the server asks for `__name__`
   * included and its tenant label left out, so each series' labels are built once).
   */
  async selectColumns(selection: SeriesSelection, start: Ts, end: Ts, labelOptions: ColumnLabelOptions = {}): Promise<SelectedColumns[]> {
    return this.query(() => {
      const [s, e] = this.range(start, end);
      const batch = this.readColumns(this.sortedIds(resolveSelection(this.registry, this.checkedSelection(selection))), s, e);
      const reg = this.registry;
      const metricLabel = labelOptions.metricLabel === true;
      const omit = labelOptions.omitLabel === undefined ? -1 : (reg.dict.find(labelOptions.omitLabel) ?? -1);
      const out: SelectedColumns[] = new Array(batch.ids.length);
      for (let i = 0; i < batch.ids.length; i++) {
        const sid = batch.ids[i]!;
        const labels = metricLabel || omit >= 0 ? this.shapedLabels(sid, metricLabel, omit) : reg.labelsOf(sid);
        out[i] = { metric: reg.metricName(sid), labels, timestamps: batch.timestamps[i]!, values: batch.values[i]! };
      }
      return out;
    });
  }

  /**
   * The same read as selectColumns, delivered in batches in WASM linear memory for kernels that read the points in
   * place. Each batch holds whole series, about `maxPoints` points in all (one series may exceed it), written back
   * to back into the read arena: series i is points [offsets[i], offsets[i + 1]) of the f64 timestamps at `tsPtr`
   * and f64 values at `vsPtr`, its labels labels[first + i]. The batch's offsets and points are valid only during
   * `onBatch`, which runs synchronously; `labels` is one array for the whole read, made at the selection's size and
   * cut to the series read once the last batch was handed (the caller may keep it; entries past the batch's series
   * are placeholders until then);
   * it may call WASM kernels but must not start another read. When `onBatch` returns a promise, the read waits for
   * it before decoding the next batch (the caller may yield to the event loop there, e.g. to notice a cancelled
   * request; other reads may run meanwhile, and each series is read whole within one batch). Labels include
   * `__name__` unless `labelOptions` say otherwise. Millisecond precision only: resolves to false (reading nothing)
   * for other precisions.
   */
  async selectBatches(
    selection: SeriesSelection, start: Ts, end: Ts, maxPoints: number, onBatch: (batch: ColumnArenaBatch) => void | Promise<void>,
    labelOptions: ColumnLabelOptions = { metricLabel: true },
  ): Promise<boolean> {
    if (this.axis.isBigInt || this.options.timestampPrecision !== "ms") return false;
    this.ensureOpen();
    this.counters.selectCalls++;
    try {
      const [s, e] = this.range(start, end);
      const ids = this.sortedIds(resolveSelection(this.registry, this.checkedSelection(selection)));
      const reg = this.registry;
      const metricLabel = labelOptions.metricLabel === true;
      const omit = labelOptions.omitLabel === undefined ? -1 : (reg.dict.find(labelOptions.omitLabel) ?? -1);
      const out = new ArenaBatchBuilder(maxPoints + this.options.chunkPoints);
      const keep = (sid: number) => {
        if (out.count > this.batchIds.length) this.batchIds = grownTo(this.batchIds, out.count);
        this.batchIds[out.count - 1] = sid; // (endSeries counted it already)
      };
      // one list for the whole read, at the selection's size (no growth, no join of per-batch lists), cut to the
      // series read at the end; Array.from over a length gives a packed array (new Array(n) would be holey: see
      // shapedLabels)
      const labels: Label[][] = Array.from({ length: ids.length }, () => NO_LABELS);
      let first = 0;
      for (let next = 0; next < ids.length; ) {
        if (next > 0) this.ensureOpen(); // the storage may have closed while the caller yielded
        next = this.readInto(ids, s, e, out, keep, next, maxPoints);
        if (out.count === 0) continue;
        const kept = this.batchIds;
        for (let i = 0; i < out.count; i++) {
          labels[first + i] = metricLabel || omit >= 0 ? this.shapedLabels(kept[i]!, metricLabel, omit) : reg.labelsOf(kept[i]!);
        }
        const pending = onBatch({ labels, first, offsets: out.offsets(), tsPtr: out.tsPtr, vsPtr: out.vsPtr });
        first += out.count;
        out.clear();
        if (pending) await pending;
      }
      labels.length = first;
      return true;
    } catch (err) {
      this.counters.selectErrors++;
      throw TsinkError.from(err);
    }
  }

  /** registry.labelsWith, cached (see labelLists); the list and its Label objects are shared: read-only. */
  private shapedLabels(sid: number, metricLabel: boolean, omit: number): Label[] {
    const shape = (omit + 1) * 2 + (metricLabel ? 1 : 0);
    const lists = shape === this.labelListsShape ? this.labelLists : (this.labelLists = []);
    this.labelListsShape = shape;
    let labels = lists[sid];
    if (labels === undefined) {
      // labelsWith sizes its array up front, which V8 marks as holey; label lists built by push, filter or literals
      // (PromQL's derived labels) are packed. Code optimised on one kind deoptimises on the other ("wrong map") and
      // is compiled again in the middle of a query, so the read path hands out packed copies (map keeps the size).
      labels = this.registry.labelsWith(sid, metricLabel, omit).map(same);
      if (sid < LABEL_LISTS_MAX) {
        while (lists.length <= sid) lists.push(undefined); // grown in order: the array keeps fast elements
        lists[sid] = labels;
      }
    }
    return labels;
  }

  /** Label names (including `__name__`) of the series matching `selection` (all series when omitted), sorted. */
  async labelNames(selection?: SeriesSelection): Promise<string[]> {
    return this.query(() => {
      const reg = this.registry;
      const strings = reg.dict.strings;
      if (!selection) {
        const names = [...reg.labelIndex.keys()].map((id) => strings[id]!);
        if (reg.visibleCount > 0) names.push(METRIC_LABEL);
        return names.sort();
      }
      const names = new Set<string>();
      for (const sid of this.selectIds(selection)) {
        names.add(METRIC_LABEL);
        for (const l of reg.labelsOf(sid)) names.add(l.name);
      }
      return [...names].sort();
    });
  }

  /** Distinct values of label `name` (`__name__` gives metric names) among matching series, sorted. */
  async labelValues(name: string, selection?: SeriesSelection): Promise<string[]> {
    return this.query(() => {
      const reg = this.registry;
      const strings = reg.dict.strings;
      if (!selection) {
        if (name === METRIC_LABEL) return [...reg.metricPostings.keys()].map((id) => strings[id]!).sort();
        const nameId = reg.dict.find(name);
        const idx = nameId === undefined ? undefined : reg.labelIndex.get(nameId);
        return idx ? idx.sortedValues(strings).filter((v) => v !== "") : [];
      }
      const values = new Set<string>();
      const nameId = reg.dict.find(name);
      for (const sid of this.selectIds(selection)) {
        if (name === METRIC_LABEL) values.add(reg.metricName(sid));
        else if (nameId !== undefined) {
          const v = reg.labelValueId(sid, nameId);
          if (v >= 0 && strings[v] !== "") values.add(strings[v]!);
        }
      }
      return [...values].sort();
    });
  }

  // ------------------------------------------------------------------ deletes

  async deleteSeries(selection: SeriesSelection): Promise<DeleteSeriesResult> {
    this.ensureOpen();
    const sel = this.checkedSelection(selection);
    let start: Ts | undefined;
    let end: Ts | undefined;
    if (sel.start !== undefined || sel.end !== undefined) [start, end] = this.range(sel.start ?? this.axis.min, sel.end ?? this.axis.max);
    const ids = resolveSelection(this.registry, { metric: sel.metric, matchers: sel.matchers });
    if (ids.length === 0) return { matchedSeries: 0, tombstonesApplied: 0 };
    if (this.durability) await this.durability.logDelete(ids, start, end);
    this.applyDelete(ids, start, end);
    if (start !== undefined && end !== undefined) {
      // A range that removed every point leaves nothing to list: hide the series as a whole-series delete does.
      for (const sid of ids) {
        if (!this.store.hasDataIn(sid, this.axis.min, this.axis.max) && !this.durability?.hasPersistedData(sid)) this.registry.hide(sid);
      }
    }
    this.counters.deletes++;
    return { matchedSeries: ids.length, tombstonesApplied: ids.length };
  }

  applyDelete(seriesIds: Uint32Array, start?: Ts, end?: Ts): void {
    for (const sid of seriesIds) {
      if (start === undefined || end === undefined) {
        this.store.dropSeries(sid);
        this.registry.hide(sid);
      } else this.store.deleteRange(sid, this.registry.kind[sid]!, start, end);
    }
  }

  // ------------------------------------------------------------------ lifecycle and observability

  observabilitySnapshot(): Record<string, unknown> {
    const c = this.counters;
    return {
      memory: {
        activeAndSealedBytes: this.memoryUsed(),
        activeBytes: this.store.activeBytes,
        sealedBytes: this.store.sealedBytes,
        budgetedBytes: this.options.memoryLimitBytes,
        registryBytes: this.registry.bytes,
        allocatedBufferBytes: this.store.allocatedBytes,
      },
      series: { total: this.registry.visibleCount, activeHeads: this.store.activeHeads, sealedChunks: this.store.sealedChunkCount },
      ingest: { rowsTotal: c.rowsInserted, batchesTotal: c.insertBatches, errorsTotal: c.insertErrors, admissionWaitsTotal: c.admissionWaits, chunksSealedTotal: c.chunksSealed },
      query: { selectCallsTotal: c.selectCalls, selectErrorsTotal: c.selectErrors, pointsReturnedTotal: c.pointsReturned },
      retention: { enforced: this.options.retentionEnforced, retentionMs: this.options.retentionMs, chunksDroppedTotal: c.retentionChunksDropped },
      deletes: { callsTotal: c.deletes },
      health: { state: this.state },
      ...(this.durability?.observability() ?? {}),
    };
  }

  /** Consistent point-in-time copy of the data directory (needs withDataPath); writes may continue meanwhile. */
  async snapshot(path: string): Promise<void> {
    this.ensureOpen();
    if (!this.durability) throw errors.invalidConfiguration("snapshot needs a storage opened withDataPath", { path });
    try {
      await this.durability.snapshot(path);
    } catch (err) {
      throw TsinkError.from(err);
    }
  }

  async close(): Promise<void> {
    this.ensureOpen();
    this.state = "closing";
    while (this.busyWriters > 0) await sleep(ADMISSION_POLL_MS);
    try {
      await this.durability?.close();
    } finally {
      this.state = "closed";
    }
  }

  // ------------------------------------------------------------------ helpers

  private ensureOpen(): void {
    if (this.state === "closed") throw errors.closed();
    if (this.state === "closing") throw new TsinkError("StorageShuttingDown", "storage is shutting down: no new calls are accepted");
  }

  private query<T>(fn: () => T): Promise<T> {
    this.ensureOpen();
    this.counters.selectCalls++;
    try {
      const r = fn();
      if (Array.isArray(r)) this.counters.pointsReturned += r.length;
      return Promise.resolve(r);
    } catch (err) {
      this.counters.selectErrors++;
      return Promise.reject(TsinkError.from(err));
    }
  }

  private range(start: unknown, end: unknown): [Ts, Ts] {
    const s = this.axis.bound(start);
    const e = this.axis.bound(end);
    if (s >= e) throw errors.invalidTimeRange(s, e);
    return [s, e];
  }

  private checkedSelection(selection: SeriesSelection): SeriesSelection {
    if (selection === null || typeof selection !== "object") throw errors.invalidConfiguration("a SeriesSelection is an object { metric?, matchers?, start?, end? }");
    if (selection.metric !== undefined) validateMetric(selection.metric);
    if (selection.matchers !== undefined && !Array.isArray(selection.matchers)) throw errors.invalidLabel(selection.matchers, "matchers must be an array");
    return selection;
  }

  private selectIds(selection: SeriesSelection): Uint32Array {
    const sel = this.checkedSelection(selection);
    let ids: ArrayLike<number> = resolveSelection(this.registry, sel);
    if (sel.start !== undefined || sel.end !== undefined) {
      const [s, e] = this.range(sel.start ?? this.axis.min, sel.end ?? this.axis.max);
      ids = Array.from(ids).filter((sid) => this.store.hasDataIn(sid, s, e) || this.persistedOverlap(sid, s, e));
    }
    return this.sortedIds(ids);
  }

  private persistedOverlap(sid: number, s: Ts, e: Ts): boolean {
    return (this.durability?.persistedChunks(sid, s, e).length ?? 0) > 0;
  }

  /** Ids ordered by metric name, then label set. */
  private sortedIds(ids: ArrayLike<number>): Uint32Array {
    return this.registry.sortSeries(ids);
  }

  private metricSeries(sid: number): MetricSeries {
    return { name: this.registry.metricName(sid), labels: this.registry.labelsOf(sid) };
  }

  /** Where the points of a series in [s, e) live: encoded chunks (disk, then memory) and active head runs. */
  private sources(sid: number, s: Ts, e: Ts): { chunks: Uint8Array[]; heads: Column[] } {
    const kind = this.registry.kind[sid]!;
    if (this.options.retentionEnforced) {
      const cutoff = this.retentionCutoff(this.axis.min);
      if (cutoff > s) s = cutoff;
      if (s >= e) return { chunks: [], heads: [] };
    }
    const chunks = [...(this.durability?.persistedChunks(sid, s, e) ?? []), ...this.store.sealedIn(sid, s, e)];
    return { chunks, heads: this.store.readHeads(sid, kind, s, e) };
  }

  /**
   * Bulk columnar read: the points in [s, e) of the numeric series among `ids` (in that order), values projected to
   * f64, decoded back to back into shared pages (ColumnBatchBuilder). Series without points in range are left out.
   * In-order f64 data is decoded straight into the pages; series whose runs overlap (out-of-order writes) or that
   * hold integers go through `collect`.
   */
  private readColumns(ids: Uint32Array, s: Ts, e: Ts): ColumnBatch {
    const out = new ColumnBatchBuilder(this.axis);
    const kept: number[] = [];
    this.readInto(ids, s, e, out, (sid) => kept.push(sid));
    return { ids: kept, timestamps: out.seriesTimestamps, values: out.seriesValues };
  }

  /**
   * Writes the points of each numeric series of `ids` in [s, e) to `out`, from `ids[first]` on, until `out` holds
   * `maxPoints` or more; `kept` is called for each series with points. Returns the index of the next id to read.
   * Into the read arena, the f64 series whose points in range all lie in segment records (nothing in memory) are
   * queued and decoded by one kernel call per batch (ArenaBatchBuilder.decodeQueued); every other series is read
   * alone (readSeries), after what is queued before it.
   */
  private readInto(ids: Uint32Array, s: Ts, e: Ts, out: PointSink, kept: (sid: number) => void, first = 0, maxPoints = Infinity): number {
    const reg = this.registry;
    let from = s;
    if (this.options.retentionEnforced) {
      const cutoff = this.retentionCutoff(this.axis.min);
      if (cutoff > from) from = cutoff;
    }
    const durability = this.durability;
    const queue = durability !== undefined && out instanceof ArenaBatchBuilder ? this.recordQueue : undefined;
    try {
      for (let i = first; i < ids.length; i++) {
        const sid = ids[i]!;
        const kind = reg.kind[sid]!;
        if (isBlobKind(kind) || from >= e) continue;
        if (queue !== undefined && kind === KIND_F64 && !this.store.inMemory(sid, from, e)) {
          if (durability!.queuePersisted(sid, from, e, queue)) {
            queue.endSeries(sid);
            if (out.length + queue.points < maxPoints) continue;
            this.decodeQueued(out as ArenaBatchBuilder, queue, s, from, e, kept);
            if (out.length >= maxPoints) return i + 1;
            continue;
          }
          queue.dropSeries();
          if (queue.series === 0) durability!.releaseQueued(); // (its blocks stay pinned otherwise)
        }
        if (queue !== undefined && queue.series > 0) this.decodeQueued(out as ArenaBatchBuilder, queue, s, from, e, kept);
        this.readSeries(sid, kind, s, from, e, out, kept);
        if (out.length >= maxPoints) return i + 1;
      }
      if (queue !== undefined && queue.series > 0) this.decodeQueued(out as ArenaBatchBuilder, queue, s, from, e, kept);
    } finally {
      if (queue !== undefined) {
        queue.clear(); // (left filled by a read that threw)
        durability!.releaseQueued();
      }
    }
    return ids.length;
  }

  /** Decodes the queued series into `out` (readInto); a series the kernel refuses is read alone. */
  private decodeQueued(out: ArenaBatchBuilder, queue: RecordQueue, s: Ts, from: Ts, e: Ts, kept: (sid: number) => void): void {
    out.decodeQueued(queue, from as number, e as number, kept, (sid) => this.readSeries(sid, KIND_F64, s, from, e, out, kept));
    this.durability!.releaseQueued();
  }

  /** Appends the points of one numeric series in [from, e) to `out` (merged by timestamp when needed) and closes it. */
  private readSeries(sid: number, kind: number, s: Ts, from: Ts, e: Ts, out: PointSink, kept: (sid: number) => void): void {
    if (kind !== KIND_F64 || !this.appendF64(sid, from, e, out)) {
      out.discardSeries();
      out.appendColumn(this.collect(sid, s, e), kind);
    }
    if (out.endSeries()) kept(sid);
  }

  /** Appends the f64 points of `sid` in [s, e) to `out`; false when its runs overlap (then the caller merges). */
  private appendF64(sid: number, s: Ts, e: Ts, out: PointSink): boolean {
    if (this.durability && !this.durability.appendPersisted(sid, s, e, out)) return false;
    const chunks = this.chunkScratch;
    if (chunks.length !== 0) chunks.length = 0; // left over by a read that threw
    this.store.sealedIn(sid, s, e, chunks);
    let ok = true;
    for (let i = 0; i < chunks.length && ok; i++) ok = out.appendChunk(chunks[i]!, s, e);
    ok = ok && this.store.appendHeads(sid, s, e, out);
    // do not keep block views alive (only when there are any: setting an array's length is a runtime call, and
    // most series of a read from segments have no sealed chunk in memory)
    if (chunks.length !== 0) chunks.length = 0;
    return ok;
  }

  /** All points of a series in [s, e), from memory and from the durability layer, merged by timestamp. */
  private collect(sid: number, s: Ts, e: Ts): Column {
    const kind = this.registry.kind[sid]!;
    const { chunks, heads } = this.sources(sid, s, e);
    const runs = chunks.map((bytes) => decodeChunkRange(this.axis, bytes, kind, s, e));
    runs.push(...heads);
    return mergeRuns(this.axis, runs, isBlobKind(kind));
  }
}

/** Value kind of a JS value; a bigint goes to u64 when the series already holds u64. */
function kindOfValue(value: unknown, seriesKind: number): number {
  switch (typeof value) {
    case "number":
      return KIND_F64;
    case "bigint":
      return seriesKind === KIND_U64 ? KIND_U64 : KIND_I64;
    case "boolean":
      return KIND_BOOL;
    case "string":
      return KIND_STRING;
    case "object":
      if (value instanceof Uint8Array) return KIND_BYTES;
      if (value !== null && typeof (value as { u64?: unknown }).u64 === "bigint") return KIND_U64;
  }
  throw errors.invalidValue(value, "a value is a number, bigint, u64(bigint), boolean, Uint8Array or string");
}

