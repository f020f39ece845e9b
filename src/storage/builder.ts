// StorageBuilder: fluent configuration (camelCase of the reference's builder) and build(), which opens the
// engine and, with a data path, the durability layer registered by the WAL/segment module.
import { durabilityFactory } from "./durability.js";
import { Storage } from "./engine.js";
import { errors } from "./errors.js";
import { type StorageOptions, type WalReplayMode, type WalSyncMode, resolveOptions } from "./options.js";
import type { TimestampPrecision } from "./types.js";

export class StorageBuilder {
  private readonly options: Partial<StorageOptions> = {};

  /** Persist under this directory (needs the durability layer); omit for a purely in-memory store. */
  withDataPath(path: string): this {
    this.options.dataPath = path;
    return this;
  }
  /** Retention in ms (default 14 days). Like the reference, setting it also turns enforcement on. */
  withRetention(ms: number): this {
    this.options.retentionMs = ms;
    this.options.retentionEnforced = true;
    return this;
  }
  withRetentionEnforced(enforced: boolean): this {
    this.options.retentionEnforced = enforced;
    return this;
  }
  /** "s" | "ms" | "us" | "ns" (default "ns": timestamps are bigint, numbers are accepted when safe). */
  withTimestampPrecision(precision: TimestampPrecision): this {
    this.options.timestampPrecision = precision;
    return this;
  }
  /** Points per sealed chunk (default 2048, clamped to 1..65535). */
  withChunkPoints(points: number): this {
    this.options.chunkPoints = points;
    return this;
  }
  /** Partition duration in ms (default 1 h). */
  withPartitionDuration(ms: number): this {
    this.options.partitionDurationMs = ms;
    return this;
  }
  /** Open partition heads per series for out-of-order writes (default 8); the oldest is sealed past it. */
  withMaxActivePartitionHeadsPerSeries(heads: number): this {
    this.options.maxActivePartitionHeadsPerSeries = heads;
    return this;
  }
  /** Memory budget in bytes for active and sealed data (default unlimited). */
  withMemoryLimit(bytes: number): this {
    this.options.memoryLimitBytes = bytes;
    return this;
  }
  withCardinalityLimit(series: number): this {
    this.options.cardinalityLimit = series;
    return this;
  }
  /** Concurrent insert batches in flight (default: CPU count; 0 = default). */
  withMaxWriters(writers: number): this {
    this.options.maxWriters = writers;
    return this;
  }
  /** How long a writer waits for a writer slot or memory budget, in ms (default 30 s). */
  withWriteTimeout(ms: number): this {
    this.options.writeTimeoutMs = ms;
    return this;
  }
  withWalEnabled(enabled: boolean): this {
    this.options.walEnabled = enabled;
    return this;
  }
  withWalSizeLimit(bytes: number): this {
    this.options.walSizeLimitBytes = bytes;
    return this;
  }
  withWalBufferSize(bytes: number): this {
    this.options.walBufferSize = bytes;
    return this;
  }
  /** "PerAppend" (default: fsync before acknowledging) or { periodicMs }. */
  withWalSyncMode(mode: WalSyncMode): this {
    this.options.walSyncMode = mode;
    return this;
  }
  withWalReplayMode(mode: WalReplayMode): this {
    this.options.walReplayMode = mode;
    return this;
  }
  withBackgroundFailFast(failFast: boolean): this {
    this.options.backgroundFailFast = failFast;
    return this;
  }

  /** The options build() would use (defaults filled in, validated). */
  resolvedOptions(): StorageOptions {
    return resolveOptions(this.options);
  }

  async build(): Promise<Storage> {
    const options = resolveOptions(this.options);
    const storage = new Storage(Object.freeze(options));
    if (options.dataPath !== undefined) storage.attachDurability(await requireDurability(options.dataPath).open(storage));
    return storage;
  }

  /** Restores a snapshot made by `storage.snapshot(path)` into `dataPath` (which must not be in use). */
  static async restoreFromSnapshot(snapshotPath: string, dataPath: string): Promise<void> {
    await requireDurability(dataPath).restoreFromSnapshot(snapshotPath, dataPath);
  }
}

function requireDurability(dataPath: string) {
  const module = durabilityFactory();
  if (!module) {
    throw errors.invalidConfiguration(
      "a data path needs the durability layer, which is not loaded in this build; omit withDataPath for an in-memory store",
      { dataPath },
    );
  }
  return module;
}
