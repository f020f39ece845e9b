// How the server opens the embedded storage engine from its flags, and the engine figures it reports
// (/metrics, status). Snapshot and restore go through here too.
import { StorageBuilder, type Storage } from "../index.js";
import type { ServerConfig } from "./config.js";
import { HttpError } from "./http-error.js";

export type ServerStorage = Storage;

/** Periodic WAL sync interval of `--wal-sync-mode periodic` (reference: 1 s). */
const PERIODIC_SYNC_MS = 1000;

export interface StorageHooks {
  open(): Promise<ServerStorage>;
  snapshot(storage: ServerStorage, path: string): Promise<void>;
  restore(snapshotPath: string, dataPath: string): Promise<void>;
  stats(storage: ServerStorage): { memoryUsedBytes: number; memoryBudgetBytes: number; seriesCount: number };
  walStats(storage: ServerStorage): { enabled: boolean; sizeBytes?: number; segments?: number };
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
  if (config.maxWriters !== undefined) b.withMaxWriters(config.maxWriters);
  return b;
}

type SnapshotCapable = { snapshot(path: string): Promise<unknown> };
type RestoreCapable = { restoreFromSnapshot(snapshotPath: string, dataPath: string): Promise<unknown> };

export function storageHooks(config: ServerConfig): StorageHooks {
  return {
    open: () => storageBuilderFor(config).build(),
    async snapshot(storage, path) {
      const s = storage as unknown as Partial<SnapshotCapable>;
      if (typeof s.snapshot !== "function") throw new HttpError(501, "snapshots are not available in this build of the storage engine", { errorType: "unavailable", json: true });
      await s.snapshot(path);
    },
    async restore(snapshotPath, dataPath) {
      const b = StorageBuilder as unknown as Partial<RestoreCapable>;
      if (typeof b.restoreFromSnapshot !== "function") throw new HttpError(501, "restore is not available in this build of the storage engine", { errorType: "unavailable", json: true });
      await b.restoreFromSnapshot(snapshotPath, dataPath);
    },
    stats(storage) {
      return { memoryUsedBytes: storage.memoryUsed(), memoryBudgetBytes: storage.memoryBudget(), seriesCount: seriesTotal(storage) };
    },
    walStats(storage) {
      const wal = storage.observabilitySnapshot().wal as { segmentCount?: number; sizeBytes?: number } | undefined;
      if (!wal) return { enabled: false };
      return { enabled: true, ...(wal.sizeBytes !== undefined ? { sizeBytes: wal.sizeBytes } : {}), ...(wal.segmentCount !== undefined ? { segments: wal.segmentCount } : {}) };
    },
  };
}

function seriesTotal(storage: ServerStorage): number {
  const series = storage.observabilitySnapshot().series as { total?: number } | undefined;
  return series?.total ?? 0;
}
