// How the server opens the embedded storage engine from its flags, snapshots it and restores snapshots.
import { StorageBuilder, type Storage } from "../index.js";
import type { ServerConfig } from "./config.js";

export type ServerStorage = Storage;

/** Periodic WAL sync interval of `--wal-sync-mode periodic` (reference: 1 s). */
const PERIODIC_SYNC_MS = 1000;

export interface StorageHooks {
  open(): Promise<ServerStorage>;
  snapshot(storage: ServerStorage, path: string): Promise<void>;
  restore(snapshotPath: string, dataPath: string): Promise<void>;
}

export function storageBuilderFor(config: ServerConfig): StorageBuilder {
  const b = new StorageBuilder()
    .withTimestampPrecision(config.timestampPrecision)
    .withRetention(config.retentionMs)
    .withWalEnabled(config.walEnabled)
    .withWalSyncMode(config.walSyncMode === "periodic" ? { periodicMs: PERIODIC_SYNC_MS } : "PerAppend");
  if (config.dataPath !== undefined) b.withDataPath(config.dataPath);
  if (config.memoryLimitBytes !== undefined) b.withMemoryLimit(config.memoryLimitBytes);
  if (config.cardinalityLimit !== undefined) b.withCardinalityLimit(config.cardinalityLimit);
  if (config.chunkPoints !== undefined) b.withChunkPoints(config.chunkPoints);
  // A storage writer slot is held while its batch waits for the WAL fsync. The CPU-count default of the embedded
  // engine would let only that many requests share one fsync (group commit) and queue the rest behind it; the
  // server already bounds concurrent writes by admission (TSINK_SERVER_WRITE_MAX_INFLIGHT_REQUESTS), so by
  // default every admitted request may be in the storage at once.
  b.withMaxWriters(config.maxWriters ?? config.limits.writeMaxInflightRequests);
  return b;
}

export function storageHooks(config: ServerConfig): StorageHooks {
  return {
    open: () => storageBuilderFor(config).build(),
    snapshot: (storage, path) => storage.snapshot(path),
    restore: (snapshotPath, dataPath) => StorageBuilder.restoreFromSnapshot(snapshotPath, dataPath),
  };
}
