// Series registry: interned strings, integer series ids, series definitions in struct-of-arrays form and the
// inverted index (metric -> postings, label name -> value -> postings) that matchers resolve against.
import { Postings, type PostingsEntry, entryAdd, entryRemove } from "./postings.js";
import type { Label } from "./types.js";
import { KIND_NONE } from "./value-kinds.js";
import { resized } from "../encoding/typed-arrays.js";

/**
 * Interned strings: id -> string, and string -> id through an open-addressing table in an Int32Array (load
 * <= 1/2), so interning a million distinct strings makes no Map entries (no per-entry heap objects, nothing for
 * the GC to trace, no rehash of a Map backing store).
 */
export class StringDictionary {
  readonly strings: string[] = [];
  /** (id + 1, hash) pairs, 0 = empty: a probe compares hashes without leaving the table's cache line. */
  private table = new Int32Array(2048);
  bytes = 0;

  intern(s: string): number {
    const h = hashString(s);
    const table = this.table;
    const mask = (table.length >> 1) - 1;
    let p = h & mask;
    for (;;) {
      const e = table[2 * p]!;
      if (e === 0) break;
      if (table[2 * p + 1] === h && this.strings[e - 1] === s) return e - 1;
      p = (p + 1) & mask;
    }
    const id = this.strings.length;
    this.strings.push(s);
    this.bytes += 32 + 2 * s.length;
    table[2 * p] = id + 1;
    table[2 * p + 1] = h;
    if ((id + 1) * 4 > table.length) this.table = rehashPairs(table, table.length * 2);
    return id;
  }

  find(s: string): number | undefined {
    const h = hashString(s);
    const table = this.table;
    const mask = (table.length >> 1) - 1;
    for (let p = h & mask; ; p = (p + 1) & mask) {
      const e = table[2 * p]!;
      if (e === 0) return undefined;
      if (table[2 * p + 1] === h && this.strings[e - 1] === s) return e - 1;
    }
  }

  /** Reads the table cells where strings with these hashes are probed first; returns their sum (see prefetch). */
  touch(hashes: Int32Array, n: number): number {
    const table = this.table;
    const mask = (table.length >> 1) - 1;
    let sum = 0;
    for (let i = 0; i < n; i++) sum += table[2 * (hashes[i]! & mask)]!;
    return sum;
  }

  /** Bytes of the lookup table (the strings themselves are counted in `bytes`). */
  get tableBytes(): number {
    return this.table.byteLength;
  }
}

/**
 * A linear-probing table of (entry, hash) pairs (entry 0 = empty) moved into a new one of `length` Int32 cells,
 * keeping entries for which `keep(entry)` holds. Walking the old table in slot order writes the new one almost
 * in order (an entry's new home is its old one or that plus the old size), not at random places.
 */
function rehashPairs(old: Int32Array, length: number, keep?: (entry: number) => boolean): Int32Array<ArrayBuffer> {
  const table = new Int32Array(length);
  const mask = (length >> 1) - 1;
  for (let q = 0; q < old.length; q += 2) {
    const e = old[q]!;
    if (e === 0 || (keep && !keep(e))) continue;
    const h = old[q + 1]!;
    let p = h & mask;
    while (table[2 * p] !== 0) p = (p + 1) & mask;
    table[2 * p] = e;
    table[2 * p + 1] = h;
  }
  return table;
}

/** FNV-1a over UTF-16 code units, finished with a mixer (the table uses the low bits). */
function hashString(s: string): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < s.length; i++) h = Math.imul(h ^ s.charCodeAt(i), 0x01000193);
  return fmix(h) | 0;
}

const compareStrings = (x: string, y: string): number => (x < y ? -1 : x > y ? 1 : 0);

/** Marks an entry of LabelValues.entries as an index into its `lists` (else it is the one series' id). */
const LIST = 0x80000000;

/**
 * value id -> (label name id + 1, slot) for the first label name whose LabelValues holds the value (0 = none):
 * shared by a registry's LabelValues. Most strings are the value of one label name only, so this direct array,
 * indexed by the dictionary id, finds a value's slot without a hash probe at a random place (a cache miss per
 * new series for a unique label such as `host`); a value held by a second name goes to that name's own table.
 */
export class ValueSlots {
  cells = new Int32Array(2048);

  /** Makes room for value id `valueId`. */
  reserve(valueId: number): void {
    if (2 * valueId + 1 < this.cells.length) return;
    let size = this.cells.length * 2;
    while (2 * valueId + 1 >= size) size *= 2;
    this.cells = resized(this.cells, size);
  }
}

/**
 * The values of one label name: value id -> postings, also kept as dense typed arrays so scans (regexes) are
 * fast, plus (built on the first prefix lookup, then kept up to date by merging) the slots in value order.
 */
export class LabelValues {
  /** The name's dictionary id + 1: how `direct` marks the values whose slot it holds for this name. */
  private readonly owner: number;
  /**
   * value id -> slot for the values `direct` does not hold for this name: open addressing over (slot + 1, value
   * id) pairs (0 = empty), load <= 1/2; the key sits next to the slot so a probe reads one cache line.
   */
  private slotTable = new Int32Array(16);
  private tableCount = 0;
  valueIds = new Uint32Array(4);
  /** Per slot: the id of the one series holding the value, or LIST | index into `lists` (4 B, not a JS slot). */
  private entries = new Uint32Array(4);
  private count = 0;
  private readonly lists: (Postings | undefined)[] = [];
  private readonly freeLists: number[] = [];
  /**
   * Value ids in value order (UTF-16 code units, as `<`), undefined until first needed. Value ids are stable, so
   * removals leave it sorted: removed values stay in it (`stale` of them) until a rebuild drops them.
   */
  private sorted: Uint32Array | undefined;
  /** Value ids added since `sorted` was last brought up to date. */
  private pending: number[] = [];
  private stale = 0;

  constructor(
    nameId: number,
    private readonly direct: ValueSlots,
  ) {
    this.owner = nameId + 1;
  }

  get size(): number {
    return this.count;
  }

  /** The postings of the value in `slot`: a series id when one series holds it. */
  entryAt(slot: number): PostingsEntry {
    const e = this.entries[slot]!;
    return e >= LIST ? this.lists[e - LIST]! : e;
  }

  get(valueId: number): PostingsEntry | undefined {
    const slot = this.slot(valueId);
    return slot < 0 ? undefined : this.entryAt(slot);
  }

  /** Whether `direct` holds the slot of `valueId` for this name. */
  private isDirect(valueId: number): boolean {
    const cells = this.direct.cells;
    return 2 * valueId < cells.length && cells[2 * valueId] === this.owner;
  }

  /** Position in slotTable of the value's entry, or of the empty position where it would go. */
  private position(valueId: number): number {
    const table = this.slotTable;
    const mask = (table.length >> 1) - 1;
    let p = fmix(valueId) & mask;
    for (;;) {
      const e = table[2 * p]!;
      if (e === 0 || table[2 * p + 1] === valueId) return p;
      p = (p + 1) & mask;
    }
  }

  add(valueId: number, sid: number): void {
    const slot = this.slot(valueId);
    if (slot >= 0) {
      const e = this.entries[slot]!;
      if (e >= LIST) this.lists[e - LIST]!.add(sid);
      else if (e !== sid) this.entries[slot] = LIST + this.newList(e < sid ? Postings.of(e, sid) : Postings.of(sid, e));
      return;
    }
    const at = this.count;
    if (at === this.valueIds.length) {
      const ids = new Uint32Array(at * 2);
      ids.set(this.valueIds);
      this.valueIds = ids;
      const entries = new Uint32Array(at * 2);
      entries.set(this.entries);
      this.entries = entries;
    }
    this.valueIds[at] = valueId;
    this.entries[at] = sid;
    this.count = at + 1;
    this.direct.reserve(valueId);
    const cells = this.direct.cells;
    if (cells[2 * valueId] === 0) {
      cells[2 * valueId] = this.owner;
      cells[2 * valueId + 1] = at;
    } else {
      // another name holds this string directly: this name keeps it in its own table
      const p = this.position(valueId);
      this.slotTable[2 * p] = at + 1;
      this.slotTable[2 * p + 1] = valueId;
      if (++this.tableCount * 4 > this.slotTable.length) this.rebuildTable(this.slotTable.length * 2);
    }
    if (this.sorted !== undefined) this.pending.push(valueId);
  }

  remove(valueId: number, sid: number): void {
    const slot = this.slot(valueId);
    if (slot < 0) return;
    const e = this.entries[slot]!;
    if (e >= LIST) {
      const list = this.lists[e - LIST]!;
      list.remove(sid);
      if (list.length >= 2) return;
      this.lists[e - LIST] = undefined;
      this.freeLists.push(e - LIST);
      if (list.length === 1) {
        this.entries[slot] = list.ids[0]!;
        return;
      }
    } else if (e !== sid) return;
    // the value is gone: drop it from `direct` or the table, then swap the last slot into the hole
    if (this.isDirect(valueId)) this.direct.cells[2 * valueId] = 0;
    else {
      this.deleteAt(this.position(valueId));
      this.tableCount--;
    }
    const last = this.count - 1;
    if (slot !== last) {
      const moved = this.valueIds[last]!;
      if (this.isDirect(moved)) this.direct.cells[2 * moved + 1] = slot;
      else this.slotTable[2 * this.position(moved)] = slot + 1;
      this.entries[slot] = this.entries[last]!;
      this.valueIds[slot] = this.valueIds[last]!;
    }
    this.count = last;
    if (this.sorted !== undefined) this.stale++;
  }

  /** Empties table position `p` (linear probing: later entries of the run shift back, no tombstones). */
  private deleteAt(p: number): void {
    const table = this.slotTable;
    const mask = (table.length >> 1) - 1;
    let hole = p;
    for (let j = (p + 1) & mask; table[2 * j] !== 0; j = (j + 1) & mask) {
      const home = fmix(table[2 * j + 1]!) & mask;
      // the entry at j may move to the hole unless its home lies cyclically in (hole, j]
      if (hole <= j ? hole < home && home <= j : hole < home || home <= j) continue;
      table[2 * hole] = table[2 * j]!;
      table[2 * hole + 1] = table[2 * j + 1]!;
      hole = j;
    }
    table[2 * hole] = 0;
  }

  private rebuildTable(size: number): void {
    const table = new Int32Array(size);
    const mask = (size >> 1) - 1;
    for (let slot = 0; slot < this.count; slot++) {
      const valueId = this.valueIds[slot]!;
      if (this.isDirect(valueId)) continue;
      let p = fmix(valueId) & mask;
      while (table[2 * p] !== 0) p = (p + 1) & mask;
      table[2 * p] = slot + 1;
      table[2 * p + 1] = valueId;
    }
    this.slotTable = table;
  }

  private newList(list: Postings): number {
    const at = this.freeLists.pop() ?? this.lists.length;
    this.lists[at] = list;
    return at;
  }

  /** Approximate bytes held (typed arrays incl. the value table, postings lists). */
  get bytes(): number {
    let bytes = 64 + this.valueIds.byteLength + this.entries.byteLength + (this.sorted?.byteLength ?? 0) + this.slotTable.byteLength;
    for (const l of this.lists) if (l) bytes += 64 + l.ids.byteLength;
    return bytes;
  }

  /** Whether the value order exists (valueOrder has been called). */
  get hasOrder(): boolean {
    return this.sorted !== undefined;
  }

  /** Slot of `valueId`, or -1 (the value is not, or no longer, held by any series). */
  slot(valueId: number): number {
    const cells = this.direct.cells;
    if (2 * valueId < cells.length && cells[2 * valueId] === this.owner) return cells[2 * valueId + 1]!;
    return this.tableCount === 0 ? -1 : this.slotTable[2 * this.position(valueId)]! - 1;
  }

  /** The values held by at least one series, in value order (builds or updates the order). */
  sortedValues(strings: readonly string[]): string[] {
    const order = this.valueOrder(strings);
    const out: string[] = [];
    for (let k = 0; k < order.length; k++) {
      const id = order[k]!;
      if (this.stale === 0 || this.slot(id) >= 0) out.push(strings[id]!);
    }
    return out;
  }

  /**
   * Value ids in value order, possibly including removed ones (slot() is -1 for them). The first call sorts every
   * value; later calls sort only the values added since and merge them in (binary search for each one's place,
   * block copies in between); once removed values make up half of it, it is rebuilt from the live values.
   */
  valueOrder(strings: readonly string[]): Uint32Array {
    const byValue = (a: number, b: number) => compareStrings(strings[a]!, strings[b]!);
    if (this.sorted === undefined || this.stale * 2 > this.sorted.length) {
      this.sorted = this.valueIds.slice(0, this.count).sort(byValue);
      this.pending = [];
      this.stale = 0;
      return this.sorted;
    }
    if (this.pending.length === 0) return this.sorted;
    // a value removed and added again is pending twice, or already in the order: add each live one once
    const fresh = Uint32Array.from(this.pending.filter((id) => this.slot(id) >= 0)).sort(byValue);
    this.pending = [];
    const old = this.sorted;
    const merged = new Uint32Array(old.length + fresh.length);
    let i = 0; // next unread position in old
    let at = 0;
    for (let j = 0; j < fresh.length; j++) {
      const id = fresh[j]!;
      if (j > 0 && fresh[j - 1] === id) continue;
      const v = strings[id]!;
      let lo = i;
      let hi = old.length;
      while (lo < hi) {
        const mid = (lo + hi) >>> 1;
        if (strings[old[mid]!]! < v) lo = mid + 1;
        else hi = mid;
      }
      merged.set(old.subarray(i, lo), at);
      at += lo - i;
      i = lo;
      if (old[lo] !== id) merged[at++] = id;
    }
    merged.set(old.subarray(i), at);
    at += old.length - i;
    this.sorted = at === merged.length ? merged : merged.slice(0, at);
    return this.sorted;
  }
}

/**
 * Series definitions as columns over a string table (a segment index's), so a reopen registers a hundred thousand
 * series without a Label object or a string hash per series.
 */
export interface PersistedSeriesTable {
  /** Series ids, ascending. */
  readonly ids: Uint32Array;
  /** Value kind code per series. */
  readonly kinds: Uint8Array;
  /** String id of each series' metric name. */
  readonly metricSids: Uint32Array;
  /** Series i's labels are pairs labelStart[i] .. labelStart[i + 1] - 1 of labelSids (length n + 1). */
  readonly labelStart: Uint32Array;
  /** (name, value) string ids per label pair, sorted by name within a series. */
  readonly labelSids: Uint32Array;
  readonly stringCount: number;
  string(sid: number): string;
}

export interface SeriesDefinition {
  id: number;
  metric: string;
  labels: Label[];
}

/** Words before the label pairs in a series record (metric id, pair count). */
const HEADER = 2;

/** The metric name as a label (PromQL's view); stored labels never use this name. */
const METRIC_NAME_LABEL = "__name__";

/** Bound of the shared Label objects handed out by labelsWith. */
const SHARED_LABELS_MAX = 1 << 16;

function fmix(h: number): number {
  h ^= h >>> 16;
  h = Math.imul(h, 0x85ebca6b);
  h ^= h >>> 13;
  h = Math.imul(h, 0xc2b2ae35);
  return (h ^ (h >>> 16)) >>> 0;
}

/**
 * Hash of a series key computed from the strings themselves (FNV-1a over UTF-16 code units with separators),
 * so an existing series is found without interning or hashing each string through a Map. Split in two so a
 * batch hashes a repeated metric name once: hashKey = hashLabels(hashMetric(metric), labels).
 */
export function hashMetric(metric: string): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < metric.length; i++) h = Math.imul(h ^ metric.charCodeAt(i), 0x01000193);
  return h;
}

export function hashLabels(metricHash: number, labels: readonly Label[]): number {
  let h = metricHash;
  for (let k = 0; k < labels.length; k++) {
    const { name, value } = labels[k]!;
    // label names come from a small vocabulary: their length and first character are enough for the hash
    // (find() compares the full strings)
    h = Math.imul(h ^ (0x10000 | (name.length << 8) ^ name.charCodeAt(0)), 0x01000193);
    for (let i = 0; i < value.length; i++) h = Math.imul(h ^ value.charCodeAt(i), 0x01000193);
  }
  return fmix(h);
}

/**
 * hashLabels over labels exactly as the caller gave them, when they are well-formed and already sorted by
 * name; -1 otherwise. A series found with this hash needs no validation: its strings equal stored ones.
 */
export function hashSortedLabels(metricHash: number, labels: unknown): number {
  if (!Array.isArray(labels)) return labels === undefined ? fmix(metricHash) : -1;
  let h = metricHash;
  let previous = "";
  for (let k = 0; k < labels.length; k++) {
    const l = labels[k] as Label | null;
    if (l === null || typeof l !== "object") return -1;
    const name = l.name;
    const value = l.value;
    if (typeof name !== "string" || typeof value !== "string" || name.length === 0 || (k > 0 && !(previous < name))) return -1;
    previous = name;
    h = Math.imul(h ^ (0x10000 | (name.length << 8) ^ name.charCodeAt(0)), 0x01000193);
    for (let i = 0; i < value.length; i++) h = Math.imul(h ^ value.charCodeAt(i), 0x01000193);
  }
  return fmix(h);
}

export const hashKey = (metric: string, labels: readonly Label[]): number => hashLabels(hashMetric(metric), labels);

export class SeriesRegistry {
  readonly dict = new StringDictionary();
  count = 0;
  visibleCount = 0;
  /** Bumped whenever an id may come to name a different series (rollback, forced ids): invalidates SeriesKey caches. */
  generation = 0;
  /**
   * Series definitions as records in `pool`, appended in creation order: [metric id, label pairs n, then n
   * (name id, value id) pairs]; `recordAt[id]` is where series id's record starts (a series defined again by
   * WAL replay gets a new record).
   */
  private recordAt = new Uint32Array(1024);
  kind = new Int8Array(1024).fill(KIND_NONE);
  visible = new Uint8Array(1024);
  /** 1 for ids that name a series (ids forced by WAL replay may leave gaps). */
  private defined = new Uint8Array(1024);
  private pool = new Uint32Array(8192);
  private poolLen = 0;
  /** The series created last (its metric and label names are likely those of the next one). */
  private lastCreated = 0;
  /**
   * Open addressing over (series id + 1, key hash) pairs, 0 = empty; load <= 1/2. An id defined again by WAL
   * replay keeps its old entry too (it no longer matches the old key: the record is compared).
   */
  private table = new Int32Array(4096);
  private tableEntries = 0;
  /** Scratch of prefetch: dictionary hashes of new series' label values, and the sum of the cells it read. */
  private valueHashes = new Int32Array(1024);
  touched = 0;
  readonly universe = new Postings(1024);
  private readonly valueSlots = new ValueSlots();
  readonly metricPostings = new Map<number, PostingsEntry>();
  readonly labelIndex = new Map<number, LabelValues>();
  /** Defined ids below rankedCount in series order (rankedSeries of them), and each one's position there. */
  private order = new Uint32Array(0);
  private rankOf = new Uint32Array(0);
  private rankedSeries = 0;
  private rankedCount = 0;
  /** sortByMarks' marks by series id, all 0 between calls (one byte per ranked series, kept). */
  private marks = new Uint8Array(0);
  private readonly sharedLabels = new Map<number, Label>();

  /**
   * Id of the series with this (canonical) key and `hash = hashKey(metric, labels)`, or -1. `metricId` is the
   * metric's dictionary id (-1 when the metric was never seen: then no such series exists).
   */
  find(metricId: number, labels: readonly Label[], hash: number): number {
    if (metricId < 0) return -1;
    const table = this.table;
    const mask = (table.length >> 1) - 1;
    const h = hash | 0;
    const strings = this.dict.strings;
    const pool = this.pool;
    for (let p = h & mask; ; p = (p + 1) & mask) {
      const e = table[2 * p]!;
      if (e === 0) return -1;
      if (table[2 * p + 1] !== h) continue;
      const r = this.recordAt[e - 1]!;
      if (pool[r + 1] !== labels.length || pool[r] !== metricId) continue;
      let at = r + HEADER;
      let same = true;
      for (let k = 0; k < labels.length; k++, at += 2) {
        const l = labels[k]!;
        if (strings[pool[at]!] !== l.name || strings[pool[at + 1]!] !== l.value) {
          same = false;
          break;
        }
      }
      if (same) return e - 1;
    }
  }

  /**
   * Whether series `id` has this key exactly as given: `metric`, and `labels` (undefined: none) equal to its
   * record pair by pair. Labels equal to a stored set are canonical (sorted, well-formed), so the caller needs
   * no validation. Costs no hashing: a guess that fails (wrong id, other order, malformed labels) returns false.
   */
  hasKey(id: number, metric: string, labels: unknown): boolean {
    if (id >= this.count || this.defined[id] !== 1) return false;
    const pool = this.pool;
    const r = this.recordAt[id]!;
    const n = pool[r + 1]!;
    if (labels === undefined) return n === 0 && this.dict.strings[pool[r]!] === metric;
    if (!Array.isArray(labels) || labels.length !== n) return false;
    const strings = this.dict.strings;
    if (strings[pool[r]!] !== metric) return false;
    for (let k = 0, at = r + HEADER; k < n; k++, at += 2) {
      const l = labels[k] as Label | null;
      if (l === null || typeof l !== "object" || strings[pool[at]!] !== l.name || strings[pool[at + 1]!] !== l.value) return false;
    }
    return true;
  }

  /**
   * Before a batch's lookups: reads the table cell where each key is probed first (`hashes[i]`, key hashes of the
   * batch; negative: none) and the record found there, then, for keys whose first cell is empty (certainly new
   * series), the dictionary cells create() will probe for their label values (`labelsAt(i)`: the sorted labels
   * hashed into hashes[i]). Tight
   * loops of independent loads let the cache misses of a whole batch overlap, instead of each row stalling on
   * its own; the lookups then find the cells in cache. The sum is kept so the loads are not optimized away.
   */
  prefetch(hashes: Float64Array, n: number, labelsAt: (i: number) => readonly Label[] | undefined): void {
    const table = this.table;
    const mask = (table.length >> 1) - 1;
    let sum = 0;
    for (let i = 0; i < n; i++) {
      const h = hashes[i]!;
      if (h >= 0) sum += table[2 * (h & mask)]!;
    }
    // then the records the first cells point at (where the hashes match), a level per loop
    for (let i = 0; i < n; i++) {
      const h = hashes[i]!;
      const p = 2 * (h & mask);
      if (h >= 0 && table[p] !== 0 && table[p + 1] === (h | 0)) sum += this.recordAt[table[p]! - 1]!;
    }
    for (let i = 0; i < n; i++) {
      const h = hashes[i]!;
      const p = 2 * (h & mask);
      if (h >= 0 && table[p] !== 0 && table[p + 1] === (h | 0)) sum += this.pool[this.recordAt[table[p]! - 1]! + HEADER + 1]!;
    }
    let values = 0;
    for (let i = 0; i < n; i++) {
      const h = hashes[i]!;
      if (h < 0 || table[2 * (h & mask)] !== 0) continue;
      const labels = labelsAt(i) ?? [];
      if (values + labels.length > this.valueHashes.length) this.valueHashes = resized(this.valueHashes, 2 * (values + labels.length));
      for (let k = 0; k < labels.length; k++) this.valueHashes[values++] = hashString(labels[k]!.value);
    }
    this.touched = sum + this.dict.touch(this.valueHashes, values);
  }

  /** Registers a new series (not yet visible to queries) and returns its id; `id` forces one (WAL replay). */
  create(metric: string, labels: readonly Label[], hash: number, id = this.count): number {
    if (id !== this.count) this.generation++;
    if (id < this.rankedCount) this.rankedCount = this.rankedSeries = 0; // an id redefined (WAL replay): rank anew
    if (id >= this.recordAt.length) this.growSeries(id + 1);
    const len = HEADER + labels.length * 2;
    if (this.poolLen + len > this.pool.length) this.pool = resized(this.pool, Math.max(this.pool.length * 2, this.poolLen + len));
    // series created one after another mostly share the metric and label names: take their ids from the
    // previously created series when the strings match, and intern only the rest
    const pool = this.pool;
    const strings = this.dict.strings;
    const prev = this.defined[this.lastCreated] ? this.recordAt[this.lastCreated]! : -1;
    const prevPairs = prev >= 0 ? pool[prev + 1]! : 0;
    const r = this.poolLen;
    let at = r + HEADER;
    for (let k = 0; k < labels.length; k++) {
      const l = labels[k]!;
      const prevName = k < prevPairs ? pool[prev + HEADER + 2 * k]! : -1;
      pool[at++] = prevName >= 0 && strings[prevName] === l.name ? prevName : this.dict.intern(l.name);
      pool[at++] = this.dict.intern(l.value);
    }
    pool[r] = prev >= 0 && strings[pool[prev]!] === metric ? pool[prev]! : this.dict.intern(metric);
    pool[r + 1] = labels.length;
    this.commitRecord(id, r, hash);
    return id;
  }

  /** Makes the record written at pool offset `r` (the pool's end) series `id`'s, findable by its key hash. */
  private commitRecord(id: number, r: number, hash: number): void {
    this.lastCreated = id;
    this.recordAt[id] = r;
    this.defined[id] = 1;
    this.poolLen = r + HEADER + 2 * this.pool[r + 1]!;
    this.count = Math.max(this.count, id + 1);
    this.insertSlot(id, hash);
    // growth keeps every entry (only truncate drops some): no filter, and the count stays
    if (this.tableEntries * 4 > this.table.length) this.table = rehashPairs(this.table, this.table.length * 2);
  }

  /**
   * Registers series `table.ids[row]` of a persisted table (reopen) without Label objects: its strings are interned
   * once per table (`dictIds`: table string id -> dictionary id + 1, 0 until interned), its record is written from
   * the ids and its key hash computed from the dictionary's strings. Returns the id of the series with that key
   * (the row's own id, unless one was registered already). Not yet visible.
   */
  restore(table: PersistedSeriesTable, row: number, dictIds: Int32Array): number {
    const id = table.ids[row]!;
    const from = table.labelStart[row]!;
    const pairs = table.labelStart[row + 1]! - from;
    const len = HEADER + pairs * 2;
    if (this.poolLen + len > this.pool.length) this.pool = resized(this.pool, Math.max(this.pool.length * 2, this.poolLen + len));
    const pool = this.pool;
    const r = this.poolLen;
    pool[r] = this.internedFrom(table, table.metricSids[row]!, dictIds);
    pool[r + 1] = pairs;
    for (let k = 0; k < 2 * pairs; k++) pool[r + HEADER + k] = this.internedFrom(table, table.labelSids[2 * from + k]!, dictIds);
    // the key hash as hashKey computes it from the strings
    const strings = this.dict.strings;
    let h = hashMetric(strings[pool[r]!]!);
    for (let at = r + HEADER; at < r + len; at += 2) {
      const name = strings[pool[at]!]!;
      const value = strings[pool[at + 1]!]!;
      h = Math.imul(h ^ (0x10000 | (name.length << 8) ^ name.charCodeAt(0)), 0x01000193);
      for (let i = 0; i < value.length; i++) h = Math.imul(h ^ value.charCodeAt(i), 0x01000193);
    }
    const hash = fmix(h) | 0;
    const found = this.findRecord(r, hash);
    if (found >= 0) return found;
    if (id !== this.count) this.generation++;
    if (id < this.rankedCount) this.rankedCount = this.rankedSeries = 0;
    if (id >= this.recordAt.length) this.growSeries(id + 1);
    this.kind[id] = table.kinds[row]!;
    this.commitRecord(id, r, hash);
    return id;
  }

  /**
   * Makes room for `series` more series with ids up to `maxId` and `pairs` label pairs among them, so registering
   * them (restore) grows the key table, the record pool and the per-id arrays at most once each.
   */
  reserve(series: number, pairs: number, maxId: number): void {
    if (maxId >= this.recordAt.length) this.growSeries(maxId + 1);
    const words = this.poolLen + series * HEADER + pairs * 2;
    if (words > this.pool.length) this.pool = resized(this.pool, words);
    let length = this.table.length;
    while ((this.tableEntries + series) * 4 > length) length *= 2;
    if (length > this.table.length) this.table = rehashPairs(this.table, length); // growth keeps every entry
  }

  /** Dictionary id of string `sid` of a persisted table (interned on first use, remembered in `dictIds`). */
  private internedFrom(table: PersistedSeriesTable, sid: number, dictIds: Int32Array): number {
    const d = dictIds[sid]!;
    if (d > 0) return d - 1;
    const id = this.dict.intern(table.string(sid));
    dictIds[sid] = id + 1;
    return id;
  }

  /** Id of a series whose record equals the one at pool offset `r` (key hash `hash`), or -1. */
  private findRecord(r: number, hash: number): number {
    const table = this.table;
    const mask = (table.length >> 1) - 1;
    const pool = this.pool;
    const len = HEADER + 2 * pool[r + 1]!;
    for (let p = hash & mask; ; p = (p + 1) & mask) {
      const e = table[2 * p]!;
      if (e === 0) return -1;
      if (table[2 * p + 1] !== hash) continue;
      const o = this.recordAt[e - 1]!;
      let k = 0;
      while (k < len && pool[o + k] === pool[r + k]) k++;
      if (k === len) return e - 1;
    }
  }

  /** Dictionary id of series `id`'s metric name. */
  metricIdOf(id: number): number {
    return this.pool[this.recordAt[id]!]!;
  }

  /** Forgets the series with ids >= `count` (rollback of a rejected batch; they were never visible). */
  truncate(count: number): void {
    if (count >= this.count) return;
    this.generation++;
    if (count < this.rankedCount) this.rankedCount = this.rankedSeries = 0;
    this.poolLen = this.recordAt[count]!;
    this.defined.fill(0, count, this.count);
    this.kind.fill(KIND_NONE, count, this.count);
    this.count = count;
    this.rehash(this.table.length);
  }

  /** Looks a series up by its canonical key (reads never grow the dictionary). Returns -1 when unknown. */
  lookup(metric: string, labels: readonly Label[]): number {
    return this.find(this.dict.find(metric) ?? -1, labels, hashKey(metric, labels));
  }

  isDefined(id: number): boolean {
    return id >= 0 && id < this.count && this.defined[id] === 1;
  }

  metricName(id: number): string {
    return this.dict.strings[this.metricIdOf(id)]!;
  }

  labelsOf(id: number): Label[] {
    const out: Label[] = [];
    const start = this.recordAt[id]! + HEADER;
    const strings = this.dict.strings;
    for (let i = 0, n = this.pool[start - 1]!; i < n; i++) {
      out.push({ name: strings[this.pool[start + 2 * i]!]!, value: strings[this.pool[start + 2 * i + 1]!]! });
    }
    return out;
  }

  /**
   * Labels of series `id` with the metric name as `__name__` in sorted position when `metricLabel`, without the
   * label whose name has dictionary id `omitNameId` (-1: none). The Label objects are shared (read-only).
   */
  labelsWith(id: number, metricLabel: boolean, omitNameId: number): Label[] {
    const start = this.recordAt[id]! + HEADER;
    const pairs = this.pool[start - 1]!;
    const metricId = this.pool[start - 2]!;
    const strings = this.dict.strings;
    let size = metricLabel ? pairs + 1 : pairs;
    if (omitNameId >= 0) for (let i = 0; i < pairs; i++) if (this.pool[start + 2 * i] === omitNameId) size--;
    const out = new Array<Label>(size); // exact size: no backing-store growth
    let n = 0;
    let nameDue = metricLabel;
    for (let i = 0; i < pairs; i++) {
      const nameId = this.pool[start + 2 * i]!;
      if (nameId === omitNameId) continue;
      if (nameDue && strings[nameId]! > METRIC_NAME_LABEL) {
        out[n++] = this.sharedLabel(-1, metricId);
        nameDue = false;
      }
      out[n++] = this.sharedLabel(nameId, this.pool[start + 2 * i + 1]!);
    }
    if (nameDue) out[n++] = this.sharedLabel(-1, metricId);
    return out;
  }

  /**
   * One shared, read-only Label object per (name, value) pair (nameId -1: the metric name), so reads of many
   * series do not allocate (and the young-generation GC does not copy) an object per label. Bounded: cleared when
   * it reaches SHARED_LABELS_MAX entries.
   */
  private sharedLabel(nameId: number, valueId: number): Label {
    const strings = this.dict.strings;
    // the key is exact (and unique per pair) only while both ids stay below 2^26
    const name = nameId < 0 ? METRIC_NAME_LABEL : strings[nameId]!;
    if (valueId >= 2 ** 26 || nameId >= 2 ** 26) return { name, value: strings[valueId]! };
    const key = (nameId + 1) * 2 ** 26 + valueId;
    let l = this.sharedLabels.get(key);
    if (l === undefined) {
      l = { name, value: strings[valueId]! };
      if (this.sharedLabels.size >= SHARED_LABELS_MAX) this.sharedLabels.clear();
      this.sharedLabels.set(key, l);
    }
    return l;
  }

  /** Value id of label `nameId` on series `id`, or -1 when the series lacks it. */
  labelValueId(id: number, nameId: number): number {
    const start = this.recordAt[id]! + HEADER;
    for (let i = 0, n = this.pool[start - 1]!; i < n; i++) if (this.pool[start + 2 * i] === nameId) return this.pool[start + 2 * i + 1]!;
    return -1;
  }

  /** Orders series by metric name, then label pairs (name, then value), fewer labels first on a tie. */
  compareSeries(a: number, b: number): number {
    const strings = this.dict.strings;
    const ra = this.recordAt[a]!;
    const rb = this.recordAt[b]!;
    const ma = this.pool[ra]!;
    const mb = this.pool[rb]!;
    if (ma !== mb) return compareStrings(strings[ma]!, strings[mb]!);
    const na = this.pool[ra + 1]!;
    const nb = this.pool[rb + 1]!;
    let pa = ra + HEADER;
    let pb = rb + HEADER;
    for (let k = 0, n = Math.min(na, nb) * 2; k < n; k++, pa++, pb++) {
      if (this.pool[pa] !== this.pool[pb]) return compareStrings(strings[this.pool[pa]!]!, strings[this.pool[pb]!]!);
    }
    return na - nb;
  }

  /**
   * `ids` ordered as compareSeries orders them. Uses a precomputed rank of every series (extended lazily with the
   * series created since, by sorting only those and merging), so a large selection sorts by integer rank instead
   * of comparing strings; a small one that includes unranked series is sorted by compareSeries directly.
   * `ids` are distinct ids of defined series. Each way of sorting is a function of its own and this one has no loop:
   * optimised code compiled (or entered on a loop, OSR) while one way ran deoptimised on reaching another way's
   * first allocation, again at every call (q01's large selection, then q02/q03's small ones on a fresh server).
   */
  sortSeries(ids: ArrayLike<number>): Uint32Array {
    const m = ids.length;
    if (this.hasUnranked(ids)) {
      if (m * Math.log2(m + 1) * 4 < this.count - this.rankedCount || m < 64) return Uint32Array.from(ids).sort((a, b) => this.compareSeries(a, b));
      this.extendRanking();
    }
    return m * 8 >= this.rankedCount ? this.sortByMarks(ids) : this.sortByRanks(ids);
  }

  private hasUnranked(ids: ArrayLike<number>): boolean {
    for (let i = 0; i < ids.length; i++) if (ids[i]! >= this.rankedCount) return true;
    return false;
  }

  /** sortSeries of a large share of all series: one pass over the global order (marks in a reused array, cleared after). */
  private sortByMarks(ids: ArrayLike<number>): Uint32Array {
    const m = ids.length;
    const out = new Uint32Array(m);
    if (this.marks.length < this.rankedCount) this.marks = new Uint8Array(this.rankedCount);
    const mark = this.marks;
    for (let i = 0; i < m; i++) mark[ids[i]!] = 1;
    let n = 0;
    for (let r = 0; r < this.rankedSeries && n < m; r++) if (mark[this.order[r]!]) out[n++] = this.order[r]!;
    for (let i = 0; i < m; i++) mark[ids[i]!] = 0;
    return out;
  }

  /** sortSeries of a small share of all series: their ranks sorted, then replaced by the series at those ranks. */
  private sortByRanks(ids: ArrayLike<number>): Uint32Array {
    const m = ids.length;
    const out = new Uint32Array(m);
    for (let i = 0; i < m; i++) out[i] = this.rankOf[ids[i]!]!;
    out.sort();
    for (let i = 0; i < m; i++) out[i] = this.order[out[i]!]!;
    return out;
  }

  /** Ranks the series created since the last ranking: sorts them and merges them into the global order. */
  private extendRanking(): void {
    const fresh: number[] = [];
    for (let id = this.rankedCount; id < this.count; id++) if (this.defined[id]) fresh.push(id);
    fresh.sort((a, b) => this.compareSeries(a, b));
    const old = this.order.subarray(0, this.rankedSeries);
    const order = new Uint32Array(old.length + fresh.length);
    let i = 0;
    let j = 0;
    let n = 0;
    while (i < old.length && j < fresh.length) order[n++] = this.compareSeries(fresh[j]!, old[i]!) < 0 ? fresh[j++]! : old[i++]!;
    while (i < old.length) order[n++] = old[i++]!;
    while (j < fresh.length) order[n++] = fresh[j++]!;
    const rankOf = new Uint32Array(this.count);
    for (let r = 0; r < n; r++) rankOf[order[r]!] = r;
    this.order = order;
    this.rankOf = rankOf;
    this.rankedSeries = n;
    this.rankedCount = this.count;
  }

  /** Publishes a series to the index (queries can see it from now on). */
  show(id: number): void {
    if (this.visible[id]) return;
    this.visible[id] = 1;
    this.visibleCount++;
    this.universe.add(id);
    const start = this.recordAt[id]! + HEADER;
    const m = this.pool[start - 2]!;
    this.metricPostings.set(m, entryAdd(this.metricPostings.get(m), id));
    for (let i = 0, n = this.pool[start - 1]!; i < n; i++) {
      const name = this.pool[start + 2 * i]!;
      const value = this.pool[start + 2 * i + 1]!;
      let idx = this.labelIndex.get(name);
      if (!idx) this.labelIndex.set(name, (idx = new LabelValues(name, this.valueSlots)));
      idx.add(value, id);
    }
  }

  /** Removes a series from the index (after a full delete); its id and definition stay for reuse. */
  hide(id: number): void {
    if (!this.visible[id]) return;
    this.visible[id] = 0;
    this.visibleCount--;
    this.kind[id] = KIND_NONE;
    this.universe.remove(id);
    const start = this.recordAt[id]! + HEADER;
    const m = this.pool[start - 2]!;
    const me = entryRemove(this.metricPostings.get(m), id);
    if (me === undefined) this.metricPostings.delete(m);
    else this.metricPostings.set(m, me);
    for (let i = 0, n = this.pool[start - 1]!; i < n; i++) {
      const name = this.pool[start + 2 * i]!;
      const value = this.pool[start + 2 * i + 1]!;
      const idx = this.labelIndex.get(name)!;
      idx.remove(value, id);
      if (idx.size === 0) this.labelIndex.delete(name);
    }
  }

  /** Approximate bytes held by the registry and index (outside the memory budget, like the reference). */
  get bytes(): number {
    let postings = this.universe.ids.byteLength;
    const entryBytes = (e: PostingsEntry | undefined) => (e === undefined ? 0 : typeof e === "number" ? 16 : 64 + e.ids.byteLength);
    for (const e of this.metricPostings.values()) postings += 24 + entryBytes(e);
    for (const idx of this.labelIndex.values()) postings += idx.bytes;
    return (
      this.dict.bytes + this.dict.tableBytes + postings + this.pool.byteLength + this.table.byteLength +
      this.valueSlots.cells.byteLength + this.recordAt.length * (4 + 1 + 1 + 1)
    );
  }

  private insertSlot(id: number, hash: number): void {
    const table = this.table;
    const mask = (table.length >> 1) - 1;
    let p = hash & mask;
    while (table[2 * p] !== 0) p = (p + 1) & mask;
    table[2 * p] = id + 1;
    table[2 * p + 1] = hash;
    this.tableEntries++;
  }

  /** Rebuilds the table at `length` cells with the entries of ids below `count`. */
  private rehash(length: number): void {
    const count = this.count;
    this.table = rehashPairs(this.table, length, (e) => e <= count);
    this.tableEntries = 0;
    for (let q = 0; q < this.table.length; q += 2) if (this.table[q] !== 0) this.tableEntries++;
  }

  private growSeries(min: number): void {
    let size = this.recordAt.length * 2;
    while (size < min) size *= 2;
    this.recordAt = resized(this.recordAt, size);
    this.kind = resized(this.kind, size, KIND_NONE);
    this.visible = resized(this.visible, size);
    this.defined = resized(this.defined, size);
  }
}
