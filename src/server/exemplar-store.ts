// The exemplar store (reference §7.3): exemplars from remote write, text import and OTLP, per series (metric + labels,
// tenant label included), bounded with synchronous eviction, queried by /api/v1/query_exemplars. Persisted as
// `server/exemplar-store.json` in the data path, replaced atomically through `exemplar-store.tmp` before a write that
// added exemplars is acknowledged (concurrent writes share one save), and copied into admin snapshots.
import { mkdir } from "node:fs/promises";
import { dirname, join } from "node:path";
import type { DecodedExemplar } from "../protocols/exemplars.js";
import { type Label, METRIC_NAME_LABEL, TENANT_LABEL } from "../protocols/series-validation.js";
import { predicateOf } from "../storage/matchers.js";
import { writeFileAtomicAsync } from "../storage/segment/durable-fs.js";
import type { SeriesMatcher } from "../storage/types.js";
import { readVersionedJsonFile } from "./data-files.js";
import { formatFloat } from "./prometheus-json.js";

/** Where the store lives, relative to a data path or a snapshot directory. */
export const EXEMPLAR_FILE = join("server", "exemplar-store.json");
const TMP_NAME = "exemplar-store.tmp";
export const EXEMPLAR_MAGIC = "tsink-exemplar-store";
export const EXEMPLAR_SCHEMA_VERSION = 1;
const FILE_HEAD = Buffer.from(`{"magic":"${EXEMPLAR_MAGIC}","schema_version":${EXEMPLAR_SCHEMA_VERSION},"entries":[`);
const FILE_TAIL = Buffer.from("]}");
const COMMA = Buffer.from(",");

export interface ExemplarLimits {
  maxTotal: number;
  maxPerSeries: number;
  maxPerRequest: number;
  maxQueryResults: number;
  maxQuerySelectors: number;
}

/** The reference's compiled-in limits. */
export const EXEMPLAR_LIMITS: ExemplarLimits = { maxTotal: 50_000, maxPerSeries: 128, maxPerRequest: 512, maxQueryResults: 1000, maxQuerySelectors: 32 };

type Timestamp = number | bigint;

interface Entry {
  readonly series: SeriesEntry;
  readonly timestamp: Timestamp;
  readonly value: number;
  readonly labels: readonly Label[];
  /** False once evicted or replaced (the eviction heap drops such entries lazily). */
  live: boolean;
}

interface SeriesEntry {
  /** Identity of the series (metric and sorted labels); also the tie-break of the global eviction order. */
  readonly key: string;
  readonly metric: string;
  /** Sorted, tenant label included. */
  readonly labels: readonly Label[];
  /** Sorted by timestamp, at most maxPerSeries. */
  readonly entries: Entry[];
  /** The entries' JSON bytes for the file, while unchanged (a change makes new bytes: a save in flight keeps its own). */
  bytes: Buffer | undefined;
}

export interface ExemplarOutcome {
  accepted: number;
  /** Evicted by the limits during this write (its own exemplars included). */
  dropped: number;
}

export interface ExemplarQueryResult {
  /** `[{seriesLabels, exemplars:[{labels, value, timestamp}]}]` as JSON. */
  json: string;
  series: number;
  exemplars: number;
}

/** Oldest first; ties broken by series identity. */
function older(a: Entry, b: Entry): boolean {
  return a.timestamp < b.timestamp || (a.timestamp === b.timestamp && a.series.key < b.series.key);
}

function seriesIdentity(metric: string, labels: readonly Label[]): string {
  let key = metric;
  for (const l of labels) key += `\u0000${l.name}\u0000${l.value}`;
  return key;
}

function jsonNumber(v: number): string {
  return Number.isFinite(v) ? String(v) : Number.isNaN(v) ? '"NaN"' : v > 0 ? '"+Inf"' : '"-Inf"';
}

function labelsArrayJson(labels: readonly Label[]): string {
  return `[${labels.map((l) => `{"name":${JSON.stringify(l.name)},"value":${JSON.stringify(l.value)}}`).join(",")}]`;
}

function labelsObjectJson(labels: readonly Label[]): string {
  return `{${labels.map((l) => `${JSON.stringify(l.name)}:${JSON.stringify(l.value)}`).join(",")}}`;
}

export class ExemplarStore {
  private readonly series = new Map<string, SeriesEntry>();
  /** Min-heap (oldest first) of entries, with dead ones removed lazily. */
  private heap: Entry[] = [];
  private total = 0;
  private acceptedTotal = 0;
  private droppedTotal = 0;
  /** The save in progress, and the one queued behind it (it will cover every change made before it starts). */
  private writing: Promise<void> | undefined;
  private queued: Promise<void> | undefined;

  constructor(
    private readonly filePath: string | undefined,
    readonly limits: ExemplarLimits = EXEMPLAR_LIMITS,
  ) {
    for (const [name, v] of Object.entries(limits)) if (!(Number.isInteger(v) && v > 0)) throw new Error(`exemplar limit ${name} must be > 0`);
  }

  get size(): number {
    return this.total;
  }

  get seriesCount(): number {
    return this.series.size;
  }

  /** Reads the file; a missing file is an empty store, a wrong magic or schema version refuses to start. */
  async load(): Promise<void> {
    if (!this.filePath) return;
    const remedy = "restore it from a snapshot or remove it (its exemplars are then lost)";
    const file = await readVersionedJsonFile(this.filePath, EXEMPLAR_MAGIC, EXEMPLAR_SCHEMA_VERSION, remedy);
    if (file === undefined) return;
    const bad = (what: string): never => {
      throw new Error(`${this.filePath}: ${what}; ${remedy}`);
    };
    if (!Array.isArray(file.entries)) bad("entries is not an array");
    const labelsOf = (v: unknown, i: number, what: string): Label[] => {
      if (!Array.isArray(v) || !v.every((l) => typeof l?.name === "string" && typeof l?.value === "string")) bad(`entry ${i}: ${what} is not a list of {name, value}`);
      return (v as Label[]).map((l) => ({ name: l.name, value: l.value }));
    };
    (file.entries as unknown[]).forEach((raw, i) => {
      const e = raw as { metric?: unknown; series_labels?: unknown; exemplar_labels?: unknown; timestamp?: unknown; value?: unknown };
      if (typeof e !== "object" || e === null || typeof e.metric !== "string" || e.metric === "") bad(`entry ${i} has no metric`);
      const timestamp = typeof e.timestamp === "number" && Number.isSafeInteger(e.timestamp) ? e.timestamp : typeof e.timestamp === "string" && /^-?\d+$/.test(e.timestamp) ? BigInt(e.timestamp) : bad(`entry ${i}: invalid timestamp`);
      const value = typeof e.value === "number" ? e.value : e.value === "NaN" ? NaN : e.value === "+Inf" ? Infinity : e.value === "-Inf" ? -Infinity : bad(`entry ${i}: invalid value`);
      this.add(e.metric as string, labelsOf(e.series_labels, i, "series_labels"), labelsOf(e.exemplar_labels, i, "exemplar_labels"), timestamp, value);
    });
  }

  /** Stores a write's exemplars (already validated), evicting as the limits ask. */
  insert(exemplars: readonly DecodedExemplar[]): ExemplarOutcome {
    const droppedBefore = this.droppedTotal;
    for (const e of exemplars) this.add(e.series.metric, e.series.labels, e.labels, e.timestamp, e.value);
    this.acceptedTotal += exemplars.length;
    return { accepted: exemplars.length, dropped: this.droppedTotal - droppedBefore };
  }

  private add(metric: string, labels: readonly Label[], exemplarLabels: readonly Label[], timestamp: Timestamp, value: number): void {
    const key = seriesIdentity(metric, labels);
    let s = this.series.get(key);
    if (!s) this.series.set(key, (s = { key, metric, labels, entries: [], bytes: undefined }));
    s.bytes = undefined;
    const entries = s.entries;
    // the place of `timestamp` in the series (entries are few and mostly appended: search from the end)
    let at = entries.length;
    while (at > 0 && entries[at - 1]!.timestamp > timestamp) at--;
    const entry: Entry = { series: s, timestamp, value, labels: exemplarLabels, live: true };
    if (at > 0 && entries[at - 1]!.timestamp === timestamp) {
      entries[at - 1]!.live = false; // a timestamp is unique within a series: the new exemplar replaces the old one
      entries[at - 1] = entry;
    } else {
      entries.splice(at, 0, entry);
      this.total++;
    }
    this.push(entry);
    if (entries.length > this.limits.maxPerSeries) this.evict(entries[0]!);
    while (this.total > this.limits.maxTotal) this.evict(this.popOldest());
  }

  /** Removes an entry that is the oldest of its series. */
  private evict(entry: Entry): void {
    const s = entry.series;
    s.entries.shift();
    s.bytes = undefined;
    entry.live = false;
    this.total--;
    this.droppedTotal++;
    if (s.entries.length === 0) this.series.delete(s.key);
  }

  private push(entry: Entry): void {
    const heap = this.heap;
    if (heap.length > 2 * this.total + 1024) {
      this.heap = heap.filter((e) => e.live);
      this.heap.sort((a, b) => (older(a, b) ? -1 : older(b, a) ? 1 : 0)); // sorted is a valid heap
      this.push(entry);
      return;
    }
    let i = heap.length;
    heap.push(entry);
    while (i > 0) {
      const parent = (i - 1) >> 1;
      if (!older(entry, heap[parent]!)) break;
      heap[i] = heap[parent]!;
      i = parent;
    }
    heap[i] = entry;
  }

  private popOldest(): Entry {
    const heap = this.heap;
    for (;;) {
      const top = heap[0]!;
      const last = heap.pop()!;
      if (heap.length > 0) {
        let i = 0;
        for (;;) {
          const l = 2 * i + 1;
          if (l >= heap.length) break;
          const c = l + 1 < heap.length && older(heap[l + 1]!, heap[l]!) ? l + 1 : l;
          if (!older(heap[c]!, last)) break;
          heap[i] = heap[c]!;
          i = c;
        }
        heap[i] = last;
      }
      if (top.live) return top;
    }
  }

  /**
   * The tenant's exemplars with timestamps in [start, end) on series any selector matches (a selector: the matchers
   * of one vector selector, `__name__` included), series sorted by labels, exemplars by time; at most `limit`
   * exemplars (the first in that order). `timestampJson` renders a timestamp (Prometheus: float seconds).
   */
  query(
    tenant: string,
    selectors: readonly SeriesMatcher[][],
    start: Timestamp,
    end: Timestamp,
    limit: number,
    timestampJson: (ts: Timestamp) => string,
  ): ExemplarQueryResult {
    const compiled = selectors.map((sel) => sel.map((m) => ({ name: m.name, test: predicateOf(m) })));
    const found: { labels: Label[]; entries: Entry[]; sortKey: string }[] = [];
    for (const s of this.series.values()) {
      const labelValue = (name: string) => (name === METRIC_NAME_LABEL ? s.metric : (s.labels.find((l) => l.name === name)?.value ?? ""));
      const owner = labelValue(TENANT_LABEL);
      if (owner !== tenant && !(owner === "" && tenant === "default")) continue;
      if (!compiled.some((sel) => sel.every((m) => m.test(labelValue(m.name))))) continue;
      const entries = s.entries.filter((e) => e.timestamp >= start && e.timestamp < end);
      if (entries.length === 0) continue;
      const labels = [{ name: METRIC_NAME_LABEL, value: s.metric }, ...s.labels.filter((l) => l.name !== TENANT_LABEL)];
      found.push({ labels, entries, sortKey: labelsObjectJson(labels) });
    }
    found.sort((a, b) => (a.sortKey < b.sortKey ? -1 : a.sortKey > b.sortKey ? 1 : 0));
    const groups: string[] = [];
    let exemplars = 0;
    for (const f of found) {
      if (exemplars >= limit) break;
      const taken = f.entries.slice(0, limit - exemplars);
      exemplars += taken.length;
      const items = taken.map((e) => `{"labels":${labelsObjectJson(e.labels)},"value":"${formatFloat(e.value)}","timestamp":${timestampJson(e.timestamp)}}`);
      groups.push(`{"seriesLabels":${f.sortKey},"exemplars":[${items.join(",")}]}`);
    }
    return { json: `[${groups.join(",")}]`, series: groups.length, exemplars };
  }

  /** Resolves once every change made before the call is on disk (a no-op without a data path). */
  persisted(): Promise<void> {
    const path = this.filePath;
    if (!path) return Promise.resolve();
    if (this.queued) return this.queued;
    const start = (): Promise<void> => {
      this.queued = undefined;
      const saving = this.writeTo(path);
      this.writing = saving;
      void saving.then(
        () => this.writing === saving && (this.writing = undefined),
        () => this.writing === saving && (this.writing = undefined),
      );
      return saving;
    };
    if (!this.writing) return start();
    this.queued = this.writing.then(start, start);
    return this.queued;
  }

  /** Writes the current exemplars into a snapshot directory. */
  async writeSnapshot(snapshotDir: string): Promise<void> {
    await this.writeTo(join(snapshotDir, EXEMPLAR_FILE));
  }

  stats(): Record<string, number> {
    return {
      ...this.limits,
      storedExemplars: this.total,
      storedSeries: this.series.size,
      acceptedTotal: this.acceptedTotal,
      droppedTotal: this.droppedTotal,
    };
  }

  /**
   * The file's pieces for the current state, taken synchronously (so a save covers every change made before it);
   * only the series changed since the last save are serialized again.
   */
  private serialize(): Buffer[] {
    const parts: Buffer[] = [FILE_HEAD];
    for (const s of this.series.values()) {
      if (s.bytes === undefined) {
        const head = `{"metric":${JSON.stringify(s.metric)},"series_labels":${labelsArrayJson(s.labels)},`;
        const json = s.entries
          .map((e) => {
            const ts = typeof e.timestamp === "bigint" || !Number.isSafeInteger(e.timestamp) ? `"${e.timestamp}"` : String(e.timestamp);
            return `${head}"exemplar_labels":${labelsArrayJson(e.labels)},"timestamp":${ts},"value":${jsonNumber(e.value)}}`;
          })
          .join(",");
        s.bytes = Buffer.from(json);
      }
      if (parts.length > 1) parts.push(COMMA);
      parts.push(s.bytes);
    }
    parts.push(FILE_TAIL);
    return parts;
  }

  /** Temp file `exemplar-store.tmp` beside the target, fsync, rename, fsync of the directory. */
  private async writeTo(path: string): Promise<void> {
    const bytes = this.serialize();
    const dir = dirname(path);
    await mkdir(dir, { recursive: true });
    await writeFileAtomicAsync(path, bytes, join(dir, TMP_NAME));
  }
}
