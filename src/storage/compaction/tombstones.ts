// Persisted tombstones: per series, half-open time ranges [start, end) whose points are deleted from the
// segments that existed when the delete happened (ids below `beforeSegment`; later segments were flushed
// from memory the engine had already cleaned). Stored in `<data>/tombstones.json`, replaced atomically on
// every change; reads of persisted chunks filter by them, compaction purges the points for good.
import { existsSync, readFileSync } from "node:fs";
import { writeFileAtomic } from "../segment/durable-fs.js";
import type { TimeCells } from "../segment/format.js";
import type { Ts } from "../timestamps.js";
import { dataCorruption } from "../wal/durability-errors.js";

export interface Tombstone {
  start: Ts;
  end: Ts;
  beforeSegment: number;
}

interface TombstoneFile {
  version: 1;
  timeCells: TimeCells;
  series: Record<string, [start: string, end: string, beforeSegment: number][]>;
}

export class Tombstones {
  private readonly ranges = new Map<number, Tombstone[]>();

  private constructor(
    readonly path: string,
    readonly timeCells: TimeCells,
  ) {}

  static open(path: string, timeCells: TimeCells): Tombstones {
    const t = new Tombstones(path, timeCells);
    if (!existsSync(path)) return t;
    let file: TombstoneFile;
    try {
      file = JSON.parse(readFileSync(path, "utf8")) as TombstoneFile;
    } catch {
      throw dataCorruption(path, 0, "tombstone file is not valid JSON");
    }
    if (file.version !== 1 || file.timeCells !== timeCells) throw dataCorruption(path, 0, "tombstone file version or timestamp type differs");
    const parse = (s: string): Ts => (timeCells === "i64" ? BigInt(s) : Number(s));
    for (const [id, list] of Object.entries(file.series)) {
      t.ranges.set(Number(id), list.map(([a, b, before]) => ({ start: parse(a), end: parse(b), beforeSegment: before })));
    }
    return t;
  }

  /** Tombstones of a series, or undefined when nothing of it is deleted. */
  of(seriesId: number): readonly Tombstone[] | undefined {
    return this.ranges.get(seriesId);
  }

  /** Whether `ts` of `seriesId`, stored in segment `segmentId`, is deleted. */
  covers(seriesId: number, ts: Ts, segmentId: number): boolean {
    const list = this.ranges.get(seriesId);
    if (!list) return false;
    for (const t of list) if (segmentId < t.beforeSegment && ts >= t.start && ts < t.end) return true;
    return false;
  }

  /** Whether any tombstone of `seriesId` applies to segment `segmentId`. */
  affects(seriesId: number, segmentId: number): boolean {
    if (this.ranges.size === 0) return false; // the common case, asked once per series and segment by every read
    const list = this.ranges.get(seriesId);
    return list !== undefined && list.some((t) => segmentId < t.beforeSegment);
  }

  /** Whether the whole series is deleted from every segment below `beforeSegment`. */
  wholeSeriesDeleted(seriesId: number, min: Ts, max: Ts, segmentId: number): boolean {
    return this.ranges.get(seriesId)?.some((t) => segmentId < t.beforeSegment && t.start <= min && t.end > max) ?? false;
  }

  /** Records a delete for several series and persists it before returning. Idempotent (WAL replay). */
  add(seriesIds: Iterable<number>, start: Ts, end: Ts, beforeSegment: number): void {
    let changed = false;
    for (const id of seriesIds) {
      const list = this.ranges.get(id) ?? [];
      if (list.some((t) => t.start === start && t.end === end && t.beforeSegment === beforeSegment)) continue;
      list.push({ start, end, beforeSegment });
      this.ranges.set(id, list);
      changed = true;
    }
    if (changed) this.persist();
  }

  /** Drops tombstones no segment needs any more (every segment they applied to is gone). */
  prune(oldestSegmentId: number): void {
    let changed = false;
    for (const [id, list] of this.ranges) {
      const keep = list.filter((t) => t.beforeSegment > oldestSegmentId);
      if (keep.length === list.length) continue;
      changed = true;
      if (keep.length > 0) this.ranges.set(id, keep);
      else this.ranges.delete(id);
    }
    if (changed) this.persist();
  }

  private persist(): void {
    const file: TombstoneFile = { version: 1, timeCells: this.timeCells, series: {} };
    for (const [id, list] of this.ranges) file.series[id] = list.map((t) => [String(t.start), String(t.end), t.beforeSegment]);
    writeFileAtomic(this.path, Buffer.from(JSON.stringify(file)));
  }
}
