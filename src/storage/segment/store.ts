// The set of published segments under `<data>/segments/L{0,1,2}/`: opens them at startup (quarantining
// corrupt ones, removing unpublished temp dirs, finishing interrupted replacements), hands out segment ids,
// adds flushed segments and replaces compaction sources by outputs atomically (via a marker file).
// Disk work after startup is asynchronous so that flush and compaction never stall the event loop on fsync.
import { mkdirSync, readdirSync } from "node:fs";
import { access, mkdir, readdir, readFile, rename, rm, unlink } from "node:fs/promises";
import { dirname, join } from "node:path";
import { dataCorruption } from "../wal/durability-errors.js";
import { fsyncPath, writeFileAtomicAsync } from "./durable-fs.js";
import type { TimeCells } from "./format.js";
import { SegmentReader } from "./reader.js";
import { publishStaged, type StagedSegment } from "./writer.js";

export const LEVELS = 3;
const SEGMENT_DIR = /^seg-([0-9a-f]{16})$/;
const MARKER_DIR = ".replacements";
const QUARANTINE_DIR = "quarantine";

interface ReplacementMarker {
  sources: string[];
  outputs: { tmpDir: string; finalDir: string }[];
}

export interface QuarantinedSegment {
  dir: string;
  reason: string;
}

const exists = (path: string) => access(path).then(() => true, () => false);

/**
 * Which segments hold each series: for series id `s`, places [start[s], start[s + 1]), oldest segment first;
 * place p is `places[3p .. 3p + 2]` = index into `segments`, the series' first chunk entry there, its number of
 * chunk entries there (one array: one cache line per place). Built for the segment set of one moment; a read of
 * 100k series looks each up here instead of asking every segment.
 */
export interface SeriesDirectory {
  segments: readonly SegmentReader[];
  start: Uint32Array;
  places: Uint32Array;
}

export class SegmentStore {
  private readonly readers: SegmentReader[] = [];
  /** The directory of the current segment set (dropped on every change, rebuilt on the next read). */
  private seriesDirectory: SeriesDirectory | undefined;
  private changeCount = 0;
  private nextSegmentId = 1;
  readonly quarantined: QuarantinedSegment[] = [];

  private constructor(
    readonly root: string,
    readonly timeCells: TimeCells,
  ) {}

  static async open(root: string, timeCells: TimeCells): Promise<SegmentStore> {
    const store = new SegmentStore(root, timeCells);
    for (let l = 0; l < LEVELS; l++) mkdirSync(store.levelDir(l), { recursive: true });
    await store.finishReplacements();
    for (let l = 0; l < LEVELS; l++) {
      const dir = store.levelDir(l);
      for (const name of readdirSync(dir).sort()) {
        const path = join(dir, name);
        if (name.startsWith(".tmp-")) {
          await rm(path, { recursive: true, force: true }); // never published: a flush or compaction died
          continue;
        }
        const m = SEGMENT_DIR.exec(name);
        if (!m) continue;
        store.nextSegmentId = Math.max(store.nextSegmentId, parseInt(m[1]!, 16) + 1);
        try {
          const reader = SegmentReader.open(path);
          if (reader.manifest.timeCells !== timeCells) {
            reader.close();
            throw dataCorruption(path, 0, `segment holds ${reader.manifest.timeCells} timestamps, storage uses ${timeCells} (timestamp precision changed?)`);
          }
          store.readers.push(reader);
        } catch (err) {
          await store.quarantine(path, (err as Error).message);
        }
      }
      await fsyncPath(dir);
    }
    store.readers.sort((a, b) => a.id - b.id);
    return store;
  }

  levelDir(level: number): string {
    return join(this.root, `L${level}`);
  }

  /** All live segments, ascending id (older data first). */
  get segments(): readonly SegmentReader[] {
    return this.readers;
  }

  /** The SeriesDirectory of the current segments. */
  directory(): SeriesDirectory {
    return (this.seriesDirectory ??= buildDirectory(this.readers.slice()));
  }

  /** How many times the segment set changed (a segment added, replaced, quarantined, or all closed). */
  get changes(): number {
    return this.changeCount;
  }

  private segmentsChanged(): void {
    this.seriesDirectory = undefined;
    this.changeCount++;
  }

  allocateId(): number {
    return this.nextSegmentId++;
  }

  /** The id the next allocateId() will return (segments created from now on have ids >= this). */
  get nextId(): number {
    return this.nextSegmentId;
  }

  /** Highest WAL sequence persisted in any segment. */
  get walHighwater(): number {
    let hw = 0;
    for (const r of this.readers) hw = Math.max(hw, r.manifest.walHighwater);
    return hw;
  }

  get sizeBytes(): number {
    return this.readers.reduce((n, r) => n + r.sizeBytes, 0);
  }

  /**
   * Publishes a staged flush output. `onVisible` runs in the same synchronous step in which readers start to
   * see the segment (the flush releases the chunks it persisted from memory there, so no read sees both).
   */
  async add(staged: StagedSegment, onVisible?: () => void): Promise<SegmentReader> {
    await publishStaged(staged);
    const reader = SegmentReader.open(staged.finalDir);
    this.readers.push(reader);
    this.readers.sort((a, b) => a.id - b.id);
    this.segmentsChanged();
    onVisible?.();
    return reader;
  }

  /**
   * Replaces `sources` by the staged `outputs` so that a crash at any point yields either the sources or
   * the outputs, never both and never neither: a marker naming both is written first and replayed at open.
   * Readers keep using the sources (their files stay readable through open descriptors) until the swap.
   */
  async replace(sources: readonly SegmentReader[], outputs: StagedSegment[]): Promise<SegmentReader[]> {
    const markerDir = join(this.root, MARKER_DIR);
    await mkdir(markerDir, { recursive: true });
    const marker: ReplacementMarker = {
      sources: sources.map((s) => s.dir),
      outputs: outputs.map((o) => ({ tmpDir: o.tmpDir, finalDir: o.finalDir })),
    };
    const markerPath = join(markerDir, `replace-${Date.now()}-${process.pid}-${this.nextSegmentId}.json`);
    await writeFileAtomicAsync(markerPath, Buffer.from(JSON.stringify(marker)));
    await this.applyReplacement(marker);
    await unlink(markerPath);
    await fsyncPath(markerDir);
    const opened = outputs.map((o) => SegmentReader.open(o.finalDir));
    const gone = new Set(sources);
    for (const s of sources) s.close();
    const keep = this.readers.filter((r) => !gone.has(r));
    this.readers.length = 0;
    this.readers.push(...keep, ...opened);
    this.readers.sort((a, b) => a.id - b.id);
    this.segmentsChanged();
    return opened;
  }

  /** Rolls a replacement forward: publish every staged output, then delete the sources. Idempotent. */
  private async applyReplacement(marker: ReplacementMarker): Promise<void> {
    for (const o of marker.outputs) {
      if (await exists(o.tmpDir)) await publishStaged(o);
      else if (!(await exists(o.finalDir))) throw dataCorruption(o.finalDir, 0, "compaction output missing while replaying a replacement marker");
    }
    const parents = new Set<string>();
    for (const s of marker.sources) {
      await rm(s, { recursive: true, force: true });
      parents.add(dirname(s));
    }
    for (const p of parents) await fsyncPath(p);
  }

  private async finishReplacements(): Promise<void> {
    const markerDir = join(this.root, MARKER_DIR);
    if (!(await exists(markerDir))) return;
    for (const name of (await readdir(markerDir)).sort()) {
      const path = join(markerDir, name);
      if (!name.endsWith(".json")) {
        await rm(path, { force: true }); // temp file of a marker write that never completed
        continue;
      }
      await this.applyReplacement(JSON.parse(await readFile(path, "utf8")) as ReplacementMarker);
      await unlink(path);
    }
    await fsyncPath(markerDir);
  }

  /** Drops `sources` (retention): the segments are deleted, nothing replaces them. */
  async drop(sources: readonly SegmentReader[]): Promise<void> {
    await this.replace(sources, []);
  }

  /** Moves a damaged segment aside so the rest of the data stays available (it leaves the live set at once). */
  async quarantine(dir: string, reason: string): Promise<void> {
    const live = this.readers.findIndex((r) => r.dir === dir);
    if (live >= 0) {
      this.readers[live]!.close();
      this.readers.splice(live, 1);
      this.segmentsChanged();
    }
    const qdir = join(this.root, QUARANTINE_DIR);
    await mkdir(qdir, { recursive: true });
    const target = join(qdir, `${dir.slice(dir.lastIndexOf("/") + 1)}-${Date.now()}`);
    await rename(dir, target);
    await fsyncPath(qdir);
    await fsyncPath(dirname(dir));
    this.quarantined.push({ dir: target, reason });
  }

  close(): void {
    for (const r of this.readers) r.close();
    this.readers.length = 0;
    this.segmentsChanged();
  }
}

function buildDirectory(segments: SegmentReader[]): SeriesDirectory {
  let maxId = -1;
  for (const seg of segments) {
    const s = seg.index.chunkSeries;
    if (s.length > 0) maxId = Math.max(maxId, s[s.length - 1]!);
  }
  const start = new Uint32Array(maxId + 2);
  for (const seg of segments) {
    const s = seg.index.chunkSeries;
    for (let i = 0; i < s.length; i++) if (i === 0 || s[i] !== s[i - 1]) start[s[i]! + 1]!++;
  }
  for (let id = 0; id <= maxId; id++) start[id + 1]! += start[id]!;
  const places = new Uint32Array(3 * start[maxId + 1]!);
  const next = start.slice(0, maxId + 1);
  for (let k = 0; k < segments.length; k++) {
    const s = segments[k]!.index.chunkSeries;
    for (let i = 0; i < s.length; ) {
      const id = s[i]!;
      let end = i + 1;
      while (end < s.length && s[end] === id) end++;
      const at = 3 * next[id]!++;
      places[at] = k;
      places[at + 1] = i;
      places[at + 2] = end - i;
      i = end;
    }
  }
  return { segments, start, places };
}
