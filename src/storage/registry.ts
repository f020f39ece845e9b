// Series registry: interned strings, integer series ids, series definitions in struct-of-arrays form and the
// inverted index (metric -> postings, label name -> value -> postings) that matchers resolve against.
import { Postings, type PostingsEntry, entryAdd, entryRemove } from "./postings.js";
import type { Label } from "./types.js";
import { KIND_NONE } from "./value-kinds.js";

export class StringDictionary {
  private readonly ids = new Map<string, number>();
  readonly strings: string[] = [];
  bytes = 0;

  intern(s: string): number {
    let id = this.ids.get(s);
    if (id === undefined) {
      id = this.strings.length;
      this.strings.push(s);
      this.ids.set(s, id);
      this.bytes += 48 + 2 * s.length;
    }
    return id;
  }

  find(s: string): number | undefined {
    return this.ids.get(s);
  }
}

export interface LabelNameIndex {
  /** Every visible series that has this label. */
  all: PostingsEntry | undefined;
  values: Map<number, PostingsEntry>;
}

export interface SeriesDefinition {
  id: number;
  metric: string;
  labels: Label[];
}

function fmix(h: number): number {
  h ^= h >>> 16;
  h = Math.imul(h, 0x85ebca6b);
  h ^= h >>> 13;
  h = Math.imul(h, 0xc2b2ae35);
  return (h ^ (h >>> 16)) >>> 0;
}

/** Hash of a series key given as interned ids: metric id and (name id, value id) pairs. */
export function hashKey(metricId: number, pairs: Uint32Array, pairLen: number): number {
  let h = Math.imul(metricId ^ 0x9e3779b9, 0x01000193);
  for (let i = 0; i < pairLen; i++) h = Math.imul(h ^ pairs[i]!, 0x01000193) + i;
  return fmix(h);
}

export class SeriesRegistry {
  readonly dict = new StringDictionary();
  count = 0;
  visibleCount = 0;
  metricOf = new Uint32Array(1024);
  labelStart = new Uint32Array(1024);
  labelPairs = new Uint16Array(1024); // number of (name, value) pairs
  hashOf = new Uint32Array(1024);
  kind = new Int8Array(1024).fill(KIND_NONE);
  visible = new Uint8Array(1024);
  /** 1 for ids that name a series (ids forced by WAL replay may leave gaps). */
  private defined = new Uint8Array(1024);
  private pool = new Uint32Array(4096);
  private poolLen = 0;
  private table = new Int32Array(2048); // open addressing: series id + 1, 0 = empty
  readonly universe = new Postings(1024);
  readonly metricPostings = new Map<number, PostingsEntry>();
  readonly labelIndex = new Map<number, LabelNameIndex>();

  /** Id of the series with this key, or -1. */
  find(metricId: number, pairs: Uint32Array, pairLen: number, hash: number): number {
    const mask = this.table.length - 1;
    for (let slot = hash & mask; ; slot = (slot + 1) & mask) {
      const e = this.table[slot]!;
      if (e === 0) return -1;
      const id = e - 1;
      if (this.hashOf[id] === hash && this.metricOf[id] === metricId && this.labelPairs[id] === pairLen >>> 1) {
        const start = this.labelStart[id]!;
        let same = true;
        for (let i = 0; i < pairLen; i++) {
          if (this.pool[start + i] !== pairs[i]) {
            same = false;
            break;
          }
        }
        if (same) return id;
      }
    }
  }

  /** Registers a new series (not yet visible to queries) and returns its id; `id` forces one (WAL replay). */
  create(metricId: number, pairs: Uint32Array, pairLen: number, hash: number, id = this.count): number {
    if (id >= this.metricOf.length) this.growSeries(id + 1);
    if (this.poolLen + pairLen > this.pool.length) {
      const next = new Uint32Array(Math.max(this.pool.length * 2, this.poolLen + pairLen));
      next.set(this.pool.subarray(0, this.poolLen));
      this.pool = next;
    }
    this.pool.set(pairs.subarray(0, pairLen), this.poolLen);
    this.metricOf[id] = metricId;
    this.labelStart[id] = this.poolLen;
    this.labelPairs[id] = pairLen >>> 1;
    this.hashOf[id] = hash;
    this.defined[id] = 1;
    this.poolLen += pairLen;
    this.count = Math.max(this.count, id + 1);
    if (this.count * 2 > this.table.length) this.rehash(this.table.length * 2);
    else this.insertSlot(id, hash);
    return id;
  }

  /** Forgets the series with ids >= `count` (rollback of a rejected batch; they were never visible). */
  truncate(count: number): void {
    if (count >= this.count) return;
    this.poolLen = this.labelStart[count]!;
    this.defined.fill(0, count, this.count);
    this.kind.fill(KIND_NONE, count, this.count);
    this.count = count;
    this.rehash(this.table.length);
  }

  /** Interns a canonical (sorted, validated) label set; fills `pairs` and returns the pair length. */
  internKey(labels: readonly Label[], pairs: Uint32Array): number {
    let n = 0;
    for (const l of labels) {
      pairs[n++] = this.dict.intern(l.name);
      pairs[n++] = this.dict.intern(l.value);
    }
    return n;
  }

  /** Looks a series up without interning (reads must not grow the dictionary). Returns -1 when unknown. */
  lookup(metric: string, labels: readonly Label[]): number {
    const metricId = this.dict.find(metric);
    if (metricId === undefined) return -1;
    const pairs = new Uint32Array(labels.length * 2);
    for (let i = 0; i < labels.length; i++) {
      const n = this.dict.find(labels[i]!.name);
      const v = this.dict.find(labels[i]!.value);
      if (n === undefined || v === undefined) return -1;
      pairs[2 * i] = n;
      pairs[2 * i + 1] = v;
    }
    return this.find(metricId, pairs, pairs.length, hashKey(metricId, pairs, pairs.length));
  }

  metricName(id: number): string {
    return this.dict.strings[this.metricOf[id]!]!;
  }

  labelsOf(id: number): Label[] {
    const out: Label[] = [];
    const start = this.labelStart[id]!;
    const strings = this.dict.strings;
    for (let i = 0, n = this.labelPairs[id]!; i < n; i++) {
      out.push({ name: strings[this.pool[start + 2 * i]!]!, value: strings[this.pool[start + 2 * i + 1]!]! });
    }
    return out;
  }

  /** Value id of label `nameId` on series `id`, or -1 when the series lacks it. */
  labelValueId(id: number, nameId: number): number {
    const start = this.labelStart[id]!;
    for (let i = 0, n = this.labelPairs[id]!; i < n; i++) if (this.pool[start + 2 * i] === nameId) return this.pool[start + 2 * i + 1]!;
    return -1;
  }

  definition(id: number): SeriesDefinition {
    return { id, metric: this.metricName(id), labels: this.labelsOf(id) };
  }

  /** Publishes a series to the index (queries can see it from now on). */
  show(id: number): void {
    if (this.visible[id]) return;
    this.visible[id] = 1;
    this.visibleCount++;
    this.universe.add(id);
    const m = this.metricOf[id]!;
    this.metricPostings.set(m, entryAdd(this.metricPostings.get(m), id));
    const start = this.labelStart[id]!;
    for (let i = 0, n = this.labelPairs[id]!; i < n; i++) {
      const name = this.pool[start + 2 * i]!;
      const value = this.pool[start + 2 * i + 1]!;
      let idx = this.labelIndex.get(name);
      if (!idx) this.labelIndex.set(name, (idx = { all: undefined, values: new Map() }));
      idx.all = entryAdd(idx.all, id);
      idx.values.set(value, entryAdd(idx.values.get(value), id));
    }
  }

  /** Removes a series from the index (after a full delete); its id and definition stay for reuse. */
  hide(id: number): void {
    if (!this.visible[id]) return;
    this.visible[id] = 0;
    this.visibleCount--;
    this.kind[id] = KIND_NONE;
    this.universe.remove(id);
    const m = this.metricOf[id]!;
    const me = entryRemove(this.metricPostings.get(m), id);
    if (me === undefined) this.metricPostings.delete(m);
    else this.metricPostings.set(m, me);
    const start = this.labelStart[id]!;
    for (let i = 0, n = this.labelPairs[id]!; i < n; i++) {
      const name = this.pool[start + 2 * i]!;
      const value = this.pool[start + 2 * i + 1]!;
      const idx = this.labelIndex.get(name)!;
      idx.all = entryRemove(idx.all, id);
      const ve = entryRemove(idx.values.get(value), id);
      if (ve === undefined) idx.values.delete(value);
      else idx.values.set(value, ve);
      if (idx.all === undefined) this.labelIndex.delete(name);
    }
  }

  /** Approximate bytes held by the registry and index (outside the memory budget, like the reference). */
  get bytes(): number {
    let postings = this.universe.ids.byteLength;
    const entryBytes = (e: PostingsEntry | undefined) => (e === undefined ? 0 : typeof e === "number" ? 16 : 64 + e.ids.byteLength);
    for (const e of this.metricPostings.values()) postings += 24 + entryBytes(e);
    for (const idx of this.labelIndex.values()) {
      postings += 64 + entryBytes(idx.all);
      for (const e of idx.values.values()) postings += 24 + entryBytes(e);
    }
    return (
      this.dict.bytes + postings + this.pool.byteLength + this.table.byteLength +
      this.metricOf.length * (4 + 4 + 2 + 4 + 1 + 1 + 1)
    );
  }

  private insertSlot(id: number, hash: number): void {
    const mask = this.table.length - 1;
    let slot = hash & mask;
    while (this.table[slot] !== 0) slot = (slot + 1) & mask;
    this.table[slot] = id + 1;
  }

  private rehash(size: number): void {
    this.table = new Int32Array(size);
    for (let id = 0; id < this.count; id++) if (this.defined[id]) this.insertSlot(id, this.hashOf[id]!);
  }

  private growSeries(min: number): void {
    let size = this.metricOf.length * 2;
    while (size < min) size *= 2;
    const grow = <T extends Uint32Array | Uint16Array | Int8Array | Uint8Array>(a: T, make: (n: number) => T): T => {
      const b = make(size);
      b.set(a as never);
      return b;
    };
    this.metricOf = grow(this.metricOf, (n) => new Uint32Array(n));
    this.labelStart = grow(this.labelStart, (n) => new Uint32Array(n));
    this.labelPairs = grow(this.labelPairs, (n) => new Uint16Array(n));
    this.hashOf = grow(this.hashOf, (n) => new Uint32Array(n));
    this.kind = grow(this.kind, (n) => new Int8Array(n).fill(KIND_NONE));
    this.visible = grow(this.visible, (n) => new Uint8Array(n));
    this.defined = grow(this.defined, (n) => new Uint8Array(n));
  }
}
