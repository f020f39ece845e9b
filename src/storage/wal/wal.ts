// Write-ahead log: segmented files of framed records, group-committed fsync (PerAppend) or
// background fsync (Periodic), Strict/Salvage replay, size limit, truncation below a high-water mark.
import {
  closeSync,
  copyFileSync,
  existsSync,
  fsync,
  fsyncSync,
  ftruncateSync,
  mkdirSync,
  openSync,
  readdirSync,
  readFileSync,
  unlinkSync,
  writevSync,
} from "node:fs";
import { join } from "node:path";
import { crc32 } from "node:zlib";
import { fsyncDir, fsyncPath, writeFileAtomic, writeFileAtomicAsync, writeFileDurable } from "../segment/durable-fs.js";
import { dataCorruption, invalidConfiguration, walSizeLimitExceeded } from "./durability-errors.js";
import { encodeFrameHeader, FRAME_HEADER_BYTES, scanFrames, type ScannedFrame } from "./frame.js";

export type WalSyncMode = { kind: "perAppend" } | { kind: "periodic"; intervalMs: number };
export type WalReplayMode = "strict" | "salvage";

export interface WalOptions {
  syncMode: WalSyncMode;
  replayMode: WalReplayMode;
  /** A new WAL segment file is started when the current one would grow past this. Default 64 MiB. */
  segmentBytes?: number;
  /** Appends that would grow the WAL past this fail with WalSizeLimitExceeded. Default unlimited. */
  sizeLimitBytes?: number;
  /** Frames with seq <= this are already persisted elsewhere (max wal high-water of the segments). */
  persistedSeqFloor?: number;
}

export interface WalReplayReport {
  segments: number;
  frames: number;
  /** Frames skipped because their data is already persisted. */
  skippedPersisted: number;
  bytes: number;
  durationMs: number;
  tornTails: { file: string; offset: number }[];
  /** Damage skipped in Salvage mode. */
  salvaged: { file: string; offset: number; detail: string }[];
  /** Copies of damaged segment files, kept for inspection. */
  quarantined: string[];
}

export interface WalFrameInput {
  type: number;
  payload: Uint8Array;
}

interface WalSegment {
  id: number;
  path: string;
  bytes: number;
  /** Highest frame sequence in the file; 0 when it has none. */
  maxSeq: number;
}

const SEGMENT_PATTERN = /^wal-([0-9a-f]{16})\.log$/;
const HIGHWATER_FILE = "wal.published";
const HIGHWATER_MAGIC = 0x57485354; // "TSHW"
const DEFAULT_SEGMENT_BYTES = 64 * 1024 * 1024;

const segmentName = (id: number) => `wal-${id.toString(16).padStart(16, "0")}.log`;
const fsyncAsync = (fd: number) =>
  new Promise<void>((resolve, reject) => fsync(fd, (err) => (err ? reject(err) : resolve())));

function encodeHighwater(seq: number): Buffer {
  const buf = Buffer.alloc(20);
  buf.writeUInt32LE(HIGHWATER_MAGIC, 0);
  buf.writeUInt32LE(1, 4);
  buf.writeUInt32LE(seq % 0x1_0000_0000, 8);
  buf.writeUInt32LE(Math.floor(seq / 0x1_0000_0000), 12);
  buf.writeUInt32LE(crc32(buf.subarray(0, 16)), 16);
  return buf;
}

function readHighwater(path: string, mode: WalReplayMode): number {
  if (!existsSync(path)) return 0;
  const buf = readFileSync(path);
  const intact =
    buf.length === 20 && buf.readUInt32LE(0) === HIGHWATER_MAGIC && buf.readUInt32LE(16) === crc32(buf.subarray(0, 16));
  if (!intact) {
    if (mode === "strict") throw dataCorruption(path, 0, "WAL high-water mark file is damaged");
    return 0; // Salvage: fall back to the persisted floor given by the segments
  }
  return buf.readUInt32LE(8) + buf.readUInt32LE(12) * 0x1_0000_0000;
}

export class WriteAheadLog {
  private readonly segments: WalSegment[] = [];
  private readonly segmentBytes: number;
  private readonly sizeLimitBytes: number;
  private active!: WalSegment;
  private activeFd = -1;
  private retiredFds: number[] = [];
  private nextSeq = 1;
  private writtenSeq = 0;
  private syncedSeq = 0;
  private highwater = 0;
  private totalBytes = 0;
  private waiters: { seq: number; resolve: () => void; reject: (err: Error) => void }[] = [];
  private syncScheduled = false;
  private syncing = false;
  private failure: Error | null = null;
  private closed = false;
  private timer: NodeJS.Timeout | null = null;
  /** Number of fsync rounds done; each covers every append written before it started. */
  syncRounds = 0;

  private constructor(
    readonly dir: string,
    readonly options: WalOptions,
  ) {
    this.segmentBytes = options.segmentBytes ?? DEFAULT_SEGMENT_BYTES;
    this.sizeLimitBytes = options.sizeLimitBytes ?? Number.POSITIVE_INFINITY;
    if (!(this.segmentBytes > FRAME_HEADER_BYTES)) throw invalidConfiguration("WAL segment size is too small");
    if (options.syncMode.kind === "periodic" && !(options.syncMode.intervalMs > 0)) {
      throw invalidConfiguration("WAL periodic sync interval must be positive");
    }
  }

  /**
   * Opens the WAL in `dir`, replaying every intact frame above the persisted high-water mark through
   * `onFrame` in sequence order, then starts a fresh segment for new appends.
   */
  static open(
    dir: string,
    options: WalOptions,
    onFrame: (frame: ScannedFrame) => void,
  ): { wal: WriteAheadLog; report: WalReplayReport } {
    const wal = new WriteAheadLog(dir, options);
    mkdirSync(dir, { recursive: true });
    const report = wal.replay(onFrame);
    wal.startSegment();
    wal.truncatePersisted();
    if (options.syncMode.kind === "periodic") {
      wal.timer = setInterval(() => wal.scheduleSync(), options.syncMode.intervalMs);
      wal.timer.unref();
    }
    return { wal, report };
  }

  private replay(onFrame: (frame: ScannedFrame) => void): WalReplayReport {
    const started = performance.now();
    const mode = this.options.replayMode;
    this.highwater = Math.max(readHighwater(join(this.dir, HIGHWATER_FILE), mode), this.options.persistedSeqFloor ?? 0);
    const report: WalReplayReport = {
      segments: 0,
      frames: 0,
      skippedPersisted: 0,
      bytes: 0,
      durationMs: 0,
      tornTails: [],
      salvaged: [],
      quarantined: [],
    };
    const names = readdirSync(this.dir)
      .filter((n) => SEGMENT_PATTERN.test(n))
      .sort();
    let lastSeq = this.highwater;
    names.forEach((name, index) => {
      const path = join(this.dir, name);
      const id = parseInt(SEGMENT_PATTERN.exec(name)![1]!, 16);
      const buf = readFileSync(path);
      const { frames, problems, validEnd } = scanFrames(buf);
      const isLast = index === names.length - 1;
      const damage = problems.filter((p) => p.kind === "corrupt" || !isLast);
      if (damage.length > 0) {
        if (mode === "strict") throw dataCorruption(path, damage[0]!.offset, damage[0]!.detail);
        report.quarantined.push(this.quarantine(path, frames));
        for (const p of damage) report.salvaged.push({ file: path, offset: p.offset, detail: p.detail });
      } else if (problems.length > 0) {
        // A torn last frame of the newest segment: the crash interrupted an append never acknowledged.
        const torn = problems[0]!;
        report.tornTails.push({ file: path, offset: torn.offset });
        const fd = openSync(path, "r+");
        try {
          ftruncateSync(fd, validEnd);
          fsyncSync(fd);
        } finally {
          closeSync(fd);
        }
      }
      let maxSeq = 0;
      for (const frame of frames) {
        maxSeq = Math.max(maxSeq, frame.seq);
        if (frame.seq <= this.highwater) {
          report.skippedPersisted++;
          continue;
        }
        if (frame.seq <= lastSeq) {
          if (mode === "strict") throw dataCorruption(path, frame.offset, `frame sequence ${frame.seq} out of order`);
          report.salvaged.push({ file: path, offset: frame.offset, detail: `out-of-order sequence ${frame.seq} skipped` });
          continue;
        }
        lastSeq = frame.seq;
        onFrame(frame);
        report.frames++;
      }
      const bytes = damage.length > 0 ? frames.reduce((n, f) => n + FRAME_HEADER_BYTES + f.payload.length, 0) : validEnd;
      this.segments.push({ id, path, bytes, maxSeq });
      this.totalBytes += bytes;
      report.bytes += buf.length;
      report.segments++;
    });
    this.nextSeq = lastSeq + 1;
    this.writtenSeq = this.syncedSeq = lastSeq;
    report.durationMs = performance.now() - started;
    return report;
  }

  /** Keeps the damaged file under quarantine/ and rewrites it with only its intact frames. */
  private quarantine(path: string, frames: ScannedFrame[]): string {
    const qdir = join(this.dir, "quarantine");
    mkdirSync(qdir, { recursive: true });
    const target = join(qdir, `${path.slice(path.lastIndexOf("/") + 1)}.${Date.now()}`);
    copyFileSync(path, target);
    const fd = openSync(target, "r+");
    try {
      fsyncSync(fd);
    } finally {
      closeSync(fd);
    }
    fsyncDir(qdir);
    const parts: Buffer[] = [];
    for (const f of frames) parts.push(encodeFrameHeader(f.type, f.seq, f.payload), f.payload);
    writeFileAtomic(path, Buffer.concat(parts));
    return target;
  }

  private startSegment(): void {
    const id = this.segments.length > 0 ? this.segments[this.segments.length - 1]!.id + 1 : 1;
    const path = join(this.dir, segmentName(id));
    writeFileDurable(path, new Uint8Array(0));
    fsyncDir(this.dir);
    this.activeFd = openSync(path, "a");
    this.active = { id, path, bytes: 0, maxSeq: 0 };
    this.segments.push(this.active);
  }

  /** Closes the current segment (its fsync is folded into the next sync round) and starts a new one. */
  rotate(): void {
    this.assertWritable();
    if (this.active.bytes === 0) return;
    this.retiredFds.push(this.activeFd);
    this.startSegment();
  }

  private assertWritable(): void {
    if (this.failure) throw this.failure;
    if (this.closed) throw new Error("WAL is closed");
  }

  /** Bytes of WAL on disk. */
  get sizeBytes(): number {
    return this.totalBytes;
  }

  get segmentCount(): number {
    return this.segments.length;
  }

  /** Sequence number of the last appended frame. */
  get lastSeq(): number {
    return this.writtenSeq;
  }

  /** Throws WalSizeLimitExceeded when `bytes` more WAL would exceed the limit. */
  ensureCapacity(bytes: number): void {
    if (this.totalBytes + bytes > this.sizeLimitBytes) {
      throw walSizeLimitExceeded(this.sizeLimitBytes, this.totalBytes + bytes);
    }
  }

  /**
   * Writes the frames to the OS in one call (all or nothing with respect to the size limit) and
   * returns the sequence number of the last one. Use `durable(seq)` to wait for the fsync.
   */
  append(frames: WalFrameInput[]): number {
    this.assertWritable();
    let bytes = 0;
    for (const f of frames) bytes += FRAME_HEADER_BYTES + f.payload.length;
    this.ensureCapacity(bytes);
    if (this.active.bytes > 0 && this.active.bytes + bytes > this.segmentBytes) this.rotate();
    const parts: Uint8Array[] = [];
    let seq = this.writtenSeq;
    for (const f of frames) {
      seq = this.nextSeq++;
      parts.push(encodeFrameHeader(f.type, seq, f.payload), f.payload);
    }
    let written = writevSync(this.activeFd, parts);
    if (written < bytes) {
      // Short write (disk full or similar): finish it byte-wise so the file stays framed.
      const all = Buffer.concat(parts);
      while (written < bytes) written += writevSync(this.activeFd, [all.subarray(written)]);
    }
    this.active.bytes += bytes;
    this.active.maxSeq = seq;
    this.totalBytes += bytes;
    this.writtenSeq = seq;
    return seq;
  }

  /** Resolves once the frame with sequence `seq` is fsynced (group commit: one fsync serves all waiters). */
  durable(seq: number): Promise<void> {
    if (seq <= this.syncedSeq) return Promise.resolve();
    if (this.failure) return Promise.reject(this.failure);
    return new Promise((resolve, reject) => {
      this.waiters.push({ seq, resolve, reject });
      this.scheduleSync();
    });
  }

  /** Fsyncs everything appended so far. */
  sync(): Promise<void> {
    return this.durable(this.writtenSeq);
  }

  private scheduleSync(): void {
    if (this.syncScheduled || this.syncing || this.writtenSeq <= this.syncedSeq) return;
    this.syncScheduled = true;
    // Deferred one turn so appends made in the same tick share the first fsync too.
    setImmediate(() => {
      this.syncScheduled = false;
      void this.runSync();
    });
  }

  private async runSync(): Promise<void> {
    if (this.syncing) return;
    this.syncing = true;
    try {
      while (this.writtenSeq > this.syncedSeq && !this.failure) {
        const target = this.writtenSeq;
        const retired = this.retiredFds;
        this.retiredFds = [];
        await Promise.all([...retired, this.activeFd].map(fsyncAsync));
        for (const fd of retired) closeSync(fd);
        this.syncedSeq = target;
        this.syncRounds++;
        const ready = this.waiters.filter((w) => w.seq <= target);
        this.waiters = this.waiters.filter((w) => w.seq > target);
        for (const w of ready) w.resolve();
      }
    } catch (err) {
      // An fsync failure leaves the page cache state unknown: fence the WAL instead of retrying.
      this.failure = new Error(`WAL fsync failed in ${this.dir}: ${(err as Error).message}`);
      for (const w of this.waiters) w.reject(this.failure);
      this.waiters = [];
    } finally {
      this.syncing = false;
    }
  }

  /**
   * Records that every frame with seq <= `seq` is persisted in segments: writes the high-water mark
   * atomically and deletes WAL segments that hold nothing newer. Call `rotate()` first to make the
   * current segment eligible.
   */
  async markPersisted(seq: number): Promise<void> {
    if (seq <= this.highwater) return;
    // Async file work: a flush ends here, and synchronous fsyncs would stall every writer and query meanwhile.
    await writeFileAtomicAsync(join(this.dir, HIGHWATER_FILE), encodeHighwater(seq));
    this.highwater = Math.max(this.highwater, seq);
    if (this.deletePersisted()) await fsyncPath(this.dir);
  }

  get persistedSeq(): number {
    return this.highwater;
  }

  private truncatePersisted(): void {
    if (this.deletePersisted()) fsyncDir(this.dir);
  }

  /** Deletes the files whose frames are all persisted in segments; returns whether any was (fsync the dir then). */
  private deletePersisted(): boolean {
    let removed = false;
    for (let i = 0; i < this.segments.length; i++) {
      const seg = this.segments[i]!;
      if (seg === this.active || seg.maxSeq > this.highwater) continue;
      if (seg.maxSeq > this.syncedSeq) continue; // retired fd still awaiting its fsync round
      unlinkSync(seg.path);
      this.totalBytes -= seg.bytes;
      this.segments.splice(i--, 1);
      removed = true;
    }
    return removed;
  }

  /** Fsyncs and closes the log; later appends throw. */
  async close(): Promise<void> {
    if (this.closed) return;
    if (this.timer) clearInterval(this.timer);
    if (!this.failure) await this.sync();
    while (this.syncing) await new Promise((r) => setImmediate(r));
    this.closed = true;
    for (const fd of [...this.retiredFds, this.activeFd]) closeSync(fd);
    this.retiredFds = [];
  }
}
