// StorageOptions: every setting of StorageBuilder (builder.ts) with the reference's defaults, and their validation
// (resolveOptions). Durations are milliseconds; sizes are bytes.
import { errors } from "./errors.js";
import type { TimestampPrecision } from "./types.js";

export type WalSyncMode = "PerAppend" | { periodicMs: number };
export type WalReplayMode = "Strict" | "Salvage";

export interface StorageOptions {
  /** Directory for persistent data; undefined means a purely in-memory store. */
  dataPath?: string;
  retentionMs: number;
  retentionEnforced: boolean;
  timestampPrecision: TimestampPrecision;
  chunkPoints: number;
  partitionDurationMs: number;
  maxActivePartitionHeadsPerSeries: number;
  memoryLimitBytes: number;
  cardinalityLimit: number;
  maxWriters: number;
  writeTimeoutMs: number;
  walEnabled: boolean;
  walSizeLimitBytes: number;
  /**
   * Accepted and validated for compatibility with the reference API, with no effect: the reference sizes the
   * buffered writer in front of its WAL file, which it flushes to the OS on every write (Periodic acknowledges
   * only what the OS has). Our WAL already hands each append's frames to the OS in one vectored write, so there is
   * no user-space buffer to size, and adding one would delay writes the Periodic contract says are flushed.
   */
  walBufferSize: number;
  walSyncMode: WalSyncMode;
  walReplayMode: WalReplayMode;
  backgroundFailFast: boolean;
}

const DEFAULT_OPTIONS: Readonly<StorageOptions> = Object.freeze({
  retentionMs: 14 * 24 * 3600 * 1000,
  retentionEnforced: false,
  timestampPrecision: "ns",
  chunkPoints: 2048,
  partitionDurationMs: 3600 * 1000,
  maxActivePartitionHeadsPerSeries: 8,
  memoryLimitBytes: Number.POSITIVE_INFINITY,
  cardinalityLimit: Number.POSITIVE_INFINITY,
  maxWriters: 0,
  writeTimeoutMs: 30_000,
  walEnabled: true,
  walSizeLimitBytes: Number.POSITIVE_INFINITY,
  walBufferSize: 4096,
  walSyncMode: "PerAppend",
  walReplayMode: "Strict",
  backgroundFailFast: true,
});

const PRECISIONS: readonly TimestampPrecision[] = ["s", "ms", "us", "ns"];

function positive(name: string, v: unknown, allowInfinity = false): number {
  if (typeof v !== "number" || Number.isNaN(v) || v <= 0 || (!allowInfinity && !Number.isFinite(v))) {
    throw errors.invalidConfiguration(`${name} must be a positive number, got ${String(v)}`, { [name]: v });
  }
  return v;
}

/** Checks and normalises a full options object (chunk points clamped to 1..65535, heads at least 1). */
export function resolveOptions(partial: Partial<StorageOptions>): StorageOptions {
  const o: StorageOptions = { ...DEFAULT_OPTIONS, ...partial };
  if (!PRECISIONS.includes(o.timestampPrecision)) {
    throw errors.invalidConfiguration(`timestamp precision must be one of s, ms, us, ns; got ${String(o.timestampPrecision)}`);
  }
  positive("retentionMs", o.retentionMs, true);
  positive("partitionDurationMs", o.partitionDurationMs);
  positive("memoryLimitBytes", o.memoryLimitBytes, true);
  positive("cardinalityLimit", o.cardinalityLimit, true);
  positive("writeTimeoutMs", o.writeTimeoutMs, true);
  positive("walSizeLimitBytes", o.walSizeLimitBytes, true);
  positive("walBufferSize", o.walBufferSize);
  if (typeof o.walSyncMode === "object") positive("walSyncMode.periodicMs", o.walSyncMode.periodicMs);
  else if (o.walSyncMode !== "PerAppend") throw errors.invalidConfiguration(`WAL sync mode must be "PerAppend" or { periodicMs }`);
  if (o.walReplayMode !== "Strict" && o.walReplayMode !== "Salvage") throw errors.invalidConfiguration(`WAL replay mode must be "Strict" or "Salvage"`);
  o.chunkPoints = Math.min(65535, Math.max(1, Math.floor(o.chunkPoints)));
  o.maxActivePartitionHeadsPerSeries = Math.min(255, Math.max(1, Math.floor(o.maxActivePartitionHeadsPerSeries)));
  if (!Number.isInteger(o.maxWriters) || o.maxWriters < 0) throw errors.invalidConfiguration("maxWriters must be 0 (default) or a positive integer");
  if (o.dataPath !== undefined && (typeof o.dataPath !== "string" || o.dataPath === "")) throw errors.invalidConfiguration("dataPath must be a non-empty string");
  return o;
}
