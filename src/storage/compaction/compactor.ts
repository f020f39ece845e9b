// Leveled compaction (L0 -> L1 -> L2) and retention over a SegmentStore: picks segments to merge, merges
// them in the background (cooperatively yielding), and swaps sources for outputs atomically. One job at a
// time: `exclusive` also serialises snapshots with compaction.
import type { SegmentReader } from "../segment/reader.js";
import { LEVELS, type SegmentStore } from "../segment/store.js";
import type { Ts } from "../timestamps.js";
import { mergeSegments, type MergeStats } from "./merge.js";
import type { Tombstones } from "./tombstones.js";

/** A level is compacted when it holds this many segments, or any two of its segments overlap in time. */
const LEVEL_TRIGGER = 4;
/** Most segments merged in one pass. */
const MAX_PASS_SEGMENTS = 8;
/**
 * While writes keep arriving (a burst), L0 is merged only once it holds this many segments: the settle pass after
 * the burst merges its flushes with L1 in one go, instead of merging them among themselves first and then again.
 */
export const DEFERRED_L0_TRIGGER = MAX_PASS_SEGMENTS;
/** The settle pass writes at most this many output segments' worth of points. */
const SETTLE_OUTPUT_SEGMENTS = 8;
/** Output segments are cut after chunkPoints x this many points. */
const CHUNKS_PER_OUTPUT_SEGMENT = 512;

export interface CompactorSettings {
  chunkPoints: number;
  tombstones?: Tombstones;
  /** Current retention cutoff (points older are dropped while merging), or undefined for none. */
  retentionCutoff?: () => Ts | undefined;
}

export interface CompactionCounters {
  runs: number;
  success: number;
  noop: number;
  errors: number;
  sourceSegments: number;
  outputSegments: number;
  sourceChunks: number;
  outputChunks: number;
  pointsIn: number;
  pointsOut: number;
  durationMs: number;
}

export interface CompactionPlan {
  level: number;
  sources: SegmentReader[];
}

const bound = (v: string): bigint => BigInt(v);
const firstSeries = (s: SegmentReader) => s.index.seriesIds[0] ?? 0;
const lastSeries = (s: SegmentReader) => s.index.seriesIds[s.index.seriesIds.length - 1] ?? 0;

/** Two segments overlap when their series-id ranges intersect and (unless `anyTime`) their time ranges do. */
function overlaps(a: SegmentReader, b: SegmentReader, anyTime: boolean): boolean {
  return (
    (anyTime || (bound(a.manifest.minTs) <= bound(b.manifest.maxTs) && bound(b.manifest.minTs) <= bound(a.manifest.maxTs))) &&
    firstSeries(a) <= lastSeries(b) &&
    firstSeries(b) <= lastSeries(a)
  );
}

/**
 * Picks the next merge: L0 before L1; the smallest overlapping cluster first, else the oldest segments once a
 * level holds LEVEL_TRIGGER. With `tidy` (at close) L0 segments holding common series are merged whatever their
 * time ranges: short runs leave several small flushes of the same series. Above L0 the count trigger skips big
 * segments that share no series with another of their level (nothing to gain from rewriting them). With `deferL0`
 * (writes are arriving) L0 waits for DEFERRED_L0_TRIGGER segments.
 * L2 is merged into itself only where LEVEL_TRIGGER or more segments overlap and together fit one output segment
 * (`maxMergePoints`), so many small flushes cannot pile up there.
 */
export function planCompaction(segments: readonly SegmentReader[], maxMergePoints: number, tidy = false, deferL0 = false): CompactionPlan | null {
  for (let level = 0; level < LEVELS; level++) {
    const last = level === LEVELS - 1;
    const here = segments.filter((s) => s.level === level);
    if (here.length < (last ? LEVEL_TRIGGER : 2)) continue;
    if (level === 0 && deferL0 && here.length < DEFERRED_L0_TRIGGER) continue;
    const anyTime = tidy && level === 0;
    // Connected components of the overlap graph (a handful of segments per level: quadratic is fine).
    const clusterOf = here.map((_, i) => i);
    const find = (i: number): number => (clusterOf[i] === i ? i : (clusterOf[i] = find(clusterOf[i]!)));
    for (let i = 0; i < here.length; i++) {
      for (let j = i + 1; j < here.length; j++) if (overlaps(here[i]!, here[j]!, anyTime)) clusterOf[find(i)] = find(j);
    }
    const groups = new Map<number, SegmentReader[]>();
    here.forEach((s, i) => groups.set(find(i), [...(groups.get(find(i)) ?? []), s]));
    let clusters = [...groups.values()].filter((g) => g.length > 1);
    if (last) {
      const small = here.filter((s) => s.manifest.pointCount * 2 <= maxMergePoints).sort((a, b) => a.id - b.id);
      clusters = clusters.map((g) => g.filter((s) => small.includes(s))).filter((g) => g.length >= LEVEL_TRIGGER);
      for (const g of clusters) {
        g.sort((a, b) => a.id - b.id);
        let points = 0;
        const fit = g.findIndex((s) => (points += s.manifest.pointCount) > maxMergePoints);
        if (fit >= 0) g.length = fit;
      }
      clusters = clusters.filter((g) => g.length >= 2);
      if (clusters.length === 0) continue;
    }
    if (clusters.length > 0) {
      clusters.sort((a, b) => a.length - b.length);
      const pick = clusters[0]!.sort((a, b) => a.id - b.id).slice(0, MAX_PASS_SEGMENTS);
      return { level, sources: pick };
    }
    // Above L0, segments that share no series with any other of their level and are not small (the outputs of one
    // merge, split by series) would only be rewritten as they are: the count trigger leaves them where they are.
    const candidates = level === 0 ? here : here.filter((s) => s.manifest.pointCount * 2 <= maxMergePoints || here.some((o) => o !== s && overlaps(s, o, true)));
    if (!last && candidates.length >= LEVEL_TRIGGER) {
      return { level, sources: [...candidates].sort((a, b) => a.id - b.id).slice(0, MAX_PASS_SEGMENTS) };
    }
  }
  return null;
}

/**
 * After a burst of writes (an idle flush): every L0 segment, a lone one too, together with the L1 segments holding
 * any of the same series (unless `withL1` is false), whatever their time ranges, merged into L1, so the burst's
 * flushes do not linger as segments of small, partition-split chunks at the flush's brotli quality until more
 * flushes arrive. Bounded to MAX_PASS_SEGMENTS sources and SETTLE_OUTPUT_SEGMENTS output segments of points; null
 * when L0 is empty.
 */
export function planSettle(segments: readonly SegmentReader[], maxMergePoints: number, withL1 = true): CompactionPlan | null {
  const l0 = segments.filter((s) => s.level === 0);
  if (l0.length === 0) return null;
  const l1 = withL1 ? segments.filter((s) => s.level === 1 && l0.some((z) => overlaps(z, s, true))) : [];
  const sources: SegmentReader[] = [];
  let points = 0;
  for (const s of [...l0, ...l1.sort((a, b) => a.id - b.id)]) {
    if (sources.length === MAX_PASS_SEGMENTS || (sources.length >= 1 && points + s.manifest.pointCount > SETTLE_OUTPUT_SEGMENTS * maxMergePoints)) break;
    sources.push(s);
    points += s.manifest.pointCount;
  }
  return { level: 0, sources: sources.sort((a, b) => a.id - b.id) };
}

export class Compactor {
  readonly counters: CompactionCounters = {
    runs: 0,
    success: 0,
    noop: 0,
    errors: 0,
    sourceSegments: 0,
    outputSegments: 0,
    sourceChunks: 0,
    outputChunks: 0,
    pointsIn: 0,
    pointsOut: 0,
    durationMs: 0,
  };
  private tail: Promise<unknown> = Promise.resolve();

  constructor(
    private readonly store: SegmentStore,
    private readonly settings: CompactorSettings,
  ) {}

  private get maxOutputPoints(): number {
    return this.settings.chunkPoints * CHUNKS_PER_OUTPUT_SEGMENT;
  }

  /** Runs `job` after every job queued before it (compaction passes, retention sweeps, snapshots). */
  exclusive<T>(job: () => Promise<T> | T): Promise<T> {
    const run = this.tail.then(job, job);
    this.tail = run.catch(() => undefined);
    return run;
  }

  /** One compaction pass; resolves to whether anything was merged. `tidy`, `deferL0`: see planCompaction. */
  runOnce(tidy = false, deferL0 = false): Promise<boolean> {
    return this.exclusive(async () => {
      this.counters.runs++;
      const plan = planCompaction(this.store.segments, this.maxOutputPoints, tidy, deferL0);
      if (!plan) {
        this.counters.noop++;
        return false;
      }
      return this.countedRewrite(plan.sources, Math.min(plan.level + 1, LEVELS - 1));
    });
  }

  /** The planSettle merge (after an idle flush, and at close); resolves to whether anything was merged. */
  settle(withL1 = true): Promise<boolean> {
    return this.exclusive(async () => {
      const plan = planSettle(this.store.segments, this.maxOutputPoints, withL1);
      if (!plan) return false;
      this.counters.runs++;
      return this.countedRewrite(plan.sources, 1);
    });
  }

  /** Passes until nothing is left to do (bounded, like the reference's close()). */
  async compactAll(maxPasses = 128, tidy = false): Promise<number> {
    let passes = 0;
    while (passes < maxPasses && (await this.runOnce(tidy))) passes++;
    return passes;
  }

  /** Retention sweep: deletes segments wholly older than `cutoff`, rewrites those straddling it. */
  applyRetention(cutoff: Ts): Promise<{ dropped: number; rewritten: number }> {
    return this.exclusive(async () => {
      const limit = BigInt(cutoff);
      const expired = this.store.segments.filter((s) => bound(s.manifest.maxTs) < limit);
      const straddling = this.store.segments.filter((s) => bound(s.manifest.minTs) < limit && bound(s.manifest.maxTs) >= limit);
      if (expired.length > 0) await this.store.drop(expired);
      for (const s of straddling) await this.rewrite([s], s.level, cutoff);
      return { dropped: expired.length, rewritten: straddling.length };
    });
  }

  /** rewrite() for a compaction or settle pass, counted as a success or an error; resolves to true. */
  private async countedRewrite(sources: SegmentReader[], level: number): Promise<boolean> {
    try {
      await this.rewrite(sources, level);
      this.counters.success++;
      return true;
    } catch (err) {
      this.counters.errors++;
      throw err;
    }
  }

  private async rewrite(sources: SegmentReader[], level: number, cutoff = this.settings.retentionCutoff?.()): Promise<MergeStats> {
    const started = performance.now();
    const { staged, stats } = await mergeSegments(
      sources,
      { level, levelDir: this.store.levelDir(level), allocateId: () => this.store.allocateId() },
      {
        chunkPoints: this.settings.chunkPoints,
        timeCells: this.store.timeCells,
        maxPointsPerSegment: this.maxOutputPoints,
        tombstones: this.settings.tombstones,
        retentionCutoff: cutoff,
      },
    );
    await this.store.replace(sources, staged);
    const c = this.counters;
    c.sourceSegments += stats.sourceSegments;
    c.outputSegments += staged.length;
    c.sourceChunks += stats.sourceChunks;
    c.outputChunks += stats.outputChunks;
    c.pointsIn += stats.pointsIn;
    c.pointsOut += stats.pointsOut;
    c.durationMs += performance.now() - started;
    return stats;
  }
}
