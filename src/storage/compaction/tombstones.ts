// Persisted tombstones: per series, half-open time ranges [start, end) whose points are deleted. Stored in
// `<data>/tombstones.json` (replaced atomically on every change); reads filter by them, compaction purges.
import { existsSync, readFileSync } from "node:fs";
import { writeFileAtomic } from "../segment/durable-fs.js";
import type { TimeCells } from "../segment/format.js";
import type { Ts } from "../timestamps.js";
import { dataCorruption } from "../wal/durability-errors.js";

export type TombstoneRange = readonly [start: Ts, end: Ts];

interface TombstoneFile {
  version: 1;
  timeCells: TimeCells;
  series: Record<string, [string, string][]>;
}

export class Tombstones {
  private readonly ranges = new Map<number, TombstoneRange[]>();

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
      t.ranges.set(Number(id), list.map(([a, b]) => [parse(a), parse(b)] as const));
    }
    return t;
  }

  /** Ranges of a series, or undefined when nothing of it is deleted. */
  of(seriesId: number): readonly TombstoneRange[] | undefined {
    return this.ranges.get(seriesId);
  }

  get size(): number {
    return this.ranges.size;
  }

  /** Whether `ts` of `seriesId` is deleted. */
  covers(seriesId: number, ts: Ts): boolean {
    const list = this.ranges.get(seriesId);
    if (!list) return false;
    for (const [s, e] of list) if (ts >= s && ts < e) return true;
    return false;
  }

  /** Records deletions for several series and persists them before returning. */
  add(seriesIds: Iterable<number>, start: Ts, end: Ts): number {
    let added = 0;
    for (const id of seriesIds) {
      const list = this.ranges.get(id) ?? [];
      list.push([start, end]);
      this.ranges.set(id, mergeRanges(list));
      added++;
    }
    if (added > 0) this.persist();
    return added;
  }

  /** Forgets series entirely (e.g. when no data of them is left anywhere). */
  forget(seriesIds: Iterable<number>): void {
    let changed = false;
    for (const id of seriesIds) changed = this.ranges.delete(id) || changed;
    if (changed) this.persist();
  }

  private persist(): void {
    const file: TombstoneFile = { version: 1, timeCells: this.timeCells, series: {} };
    for (const [id, list] of this.ranges) file.series[id] = list.map(([a, b]) => [String(a), String(b)]);
    writeFileAtomic(this.path, Buffer.from(JSON.stringify(file)));
  }
}

function mergeRanges(list: TombstoneRange[]): TombstoneRange[] {
  const sorted = [...list].sort((a, b) => (a[0] < b[0] ? -1 : a[0] > b[0] ? 1 : 0));
  const out: [Ts, Ts][] = [];
  for (const [s, e] of sorted) {
    const last = out[out.length - 1];
    if (last && s <= last[1]) {
      if (e > last[1]) last[1] = e;
    } else out.push([s, e]);
  }
  return out;
}
