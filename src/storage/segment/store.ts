// The set of published segments under `<data>/segments/L{0,1,2}/`: opens them at startup (quarantining
// corrupt ones, removing unpublished temp dirs, finishing interrupted replacements), hands out segment ids,
// adds flushed segments and replaces compaction sources by outputs atomically (via a marker file).
import { existsSync, mkdirSync, readdirSync, readFileSync, renameSync, rmSync, unlinkSync } from "node:fs";
import { dirname, join } from "node:path";
import { dataCorruption } from "../wal/durability-errors.js";
import { fsyncDir, writeFileAtomic } from "./durable-fs.js";
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

export class SegmentStore {
  private readonly readers: SegmentReader[] = [];
  private nextSegmentId = 1;
  readonly quarantined: QuarantinedSegment[] = [];

  private constructor(
    readonly root: string,
    readonly timeCells: TimeCells,
  ) {}

  static open(root: string, timeCells: TimeCells): SegmentStore {
    const store = new SegmentStore(root, timeCells);
    for (let l = 0; l < LEVELS; l++) mkdirSync(store.levelDir(l), { recursive: true });
    store.finishReplacements();
    for (let l = 0; l < LEVELS; l++) {
      const dir = store.levelDir(l);
      for (const name of readdirSync(dir).sort()) {
        const path = join(dir, name);
        if (name.startsWith(".tmp-")) {
          rmSync(path, { recursive: true, force: true }); // never published: a flush or compaction died
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
          store.quarantine(path, (err as Error).message);
        }
      }
      fsyncDir(dir);
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

  /** Publishes a staged flush output and makes it visible. */
  add(staged: StagedSegment): SegmentReader {
    publishStaged(staged);
    const reader = SegmentReader.open(staged.finalDir);
    this.readers.push(reader);
    this.readers.sort((a, b) => a.id - b.id);
    return reader;
  }

  /**
   * Replaces `sources` by the staged `outputs` so that a crash at any point yields either the sources or
   * the outputs, never both and never neither: a marker naming both is written first and replayed at open.
   */
  replace(sources: readonly SegmentReader[], outputs: StagedSegment[]): SegmentReader[] {
    const markerDir = join(this.root, MARKER_DIR);
    mkdirSync(markerDir, { recursive: true });
    const marker: ReplacementMarker = {
      sources: sources.map((s) => s.dir),
      outputs: outputs.map((o) => ({ tmpDir: o.tmpDir, finalDir: o.finalDir })),
    };
    const markerPath = join(markerDir, `replace-${Date.now()}-${process.pid}-${this.nextSegmentId}.json`);
    writeFileAtomic(markerPath, Buffer.from(JSON.stringify(marker)));
    this.applyReplacement(marker);
    unlinkSync(markerPath);
    fsyncDir(markerDir);
    const opened = outputs.map((o) => SegmentReader.open(o.finalDir));
    const gone = new Set(sources);
    for (const s of sources) s.close();
    const keep = this.readers.filter((r) => !gone.has(r));
    this.readers.length = 0;
    this.readers.push(...keep, ...opened);
    this.readers.sort((a, b) => a.id - b.id);
    return opened;
  }

  /** Rolls an interrupted replacement forward: publish every staged output, then delete the sources. */
  private applyReplacement(marker: ReplacementMarker): void {
    for (const o of marker.outputs) {
      if (existsSync(o.tmpDir)) publishStaged(o);
      else if (!existsSync(o.finalDir)) throw dataCorruption(o.finalDir, 0, "compaction output missing while replaying a replacement marker");
    }
    const parents = new Set<string>();
    for (const s of marker.sources) {
      rmSync(s, { recursive: true, force: true });
      parents.add(dirname(s));
    }
    for (const p of parents) fsyncDir(p);
  }

  private finishReplacements(): void {
    const markerDir = join(this.root, MARKER_DIR);
    if (!existsSync(markerDir)) return;
    for (const name of readdirSync(markerDir).sort()) {
      const path = join(markerDir, name);
      if (!name.endsWith(".json")) {
        rmSync(path, { force: true }); // temp file of a marker write that never completed
        continue;
      }
      this.applyReplacement(JSON.parse(readFileSync(path, "utf8")) as ReplacementMarker);
      unlinkSync(path);
    }
    fsyncDir(markerDir);
  }

  /** Drops `sources` (retention): the segments are deleted, nothing replaces them. */
  drop(sources: readonly SegmentReader[]): void {
    this.replace(sources, []);
  }

  /** Moves a damaged segment aside so the rest of the data stays available. */
  quarantine(dir: string, reason: string): void {
    const qdir = join(this.root, QUARANTINE_DIR);
    mkdirSync(qdir, { recursive: true });
    const target = join(qdir, `${dir.slice(dir.lastIndexOf("/") + 1)}-${Date.now()}`);
    const live = this.readers.findIndex((r) => r.dir === dir);
    if (live >= 0) {
      this.readers[live]!.close();
      this.readers.splice(live, 1);
    }
    renameSync(dir, target);
    fsyncDir(qdir);
    fsyncDir(dirname(dir));
    this.quarantined.push({ dir: target, reason });
  }

  close(): void {
    for (const r of this.readers) r.close();
    this.readers.length = 0;
  }
}
