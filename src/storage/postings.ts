// Sorted series-id postings lists (Uint32Array) and the set operations the matcher planner needs.
// A label value held by a single series is stored as a bare number to keep the index small.
// Hand-written, not roaring (a native addon): sorted id arrays, as Prometheus' index keeps them, need a few loops.

export type PostingsEntry = number | Postings;

export class Postings {
  ids: Uint32Array;
  length = 0;

  constructor(capacity = 4) {
    this.ids = new Uint32Array(capacity);
  }

  static of(a: number, b: number): Postings {
    const p = new Postings(4);
    p.add(a);
    p.add(b);
    return p;
  }

  add(id: number): void {
    if (this.length === this.ids.length) {
      const next = new Uint32Array(this.ids.length * 2);
      next.set(this.ids);
      this.ids = next;
    }
    const n = this.length;
    if (n === 0 || this.ids[n - 1]! < id) {
      this.ids[n] = id;
      this.length = n + 1;
      return;
    }
    const at = lowerBound(this.ids, n, id);
    if (this.ids[at] === id) return;
    this.ids.copyWithin(at + 1, at, n);
    this.ids[at] = id;
    this.length = n + 1;
  }

  remove(id: number): void {
    const at = lowerBound(this.ids, this.length, id);
    if (at >= this.length || this.ids[at] !== id) return;
    this.ids.copyWithin(at, at + 1, this.length);
    this.length--;
  }

  view(): Uint32Array {
    return this.ids.subarray(0, this.length);
  }
}

function lowerBound(ids: Uint32Array, n: number, id: number): number {
  let lo = 0;
  let hi = n;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if (ids[mid]! < id) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}

export function entryAdd(entry: PostingsEntry | undefined, id: number): PostingsEntry {
  if (entry === undefined) return id;
  if (typeof entry === "number") return entry === id ? entry : entry < id ? Postings.of(entry, id) : Postings.of(id, entry);
  entry.add(id);
  return entry;
}

/** Returns the entry without `id`, or undefined when it becomes empty. */
export function entryRemove(entry: PostingsEntry | undefined, id: number): PostingsEntry | undefined {
  if (entry === undefined) return undefined;
  if (typeof entry === "number") return entry === id ? undefined : entry;
  entry.remove(id);
  return entry.length === 0 ? undefined : entry.length === 1 ? entry.ids[0]! : entry;
}

export function entryIds(entry: PostingsEntry | undefined): Uint32Array {
  if (entry === undefined) return EMPTY;
  return typeof entry === "number" ? Uint32Array.of(entry) : entry.view();
}

export const EMPTY = new Uint32Array(0);

export function intersect(a: Uint32Array, b: Uint32Array): Uint32Array {
  if (a.length > b.length) [a, b] = [b, a];
  // (two functions: V8 optimises each with the feedback of its own loop, instead of one function that deoptimises
  // the first time a query takes the branch its earlier queries never took)
  return a.length * 16 < b.length ? intersectBySearch(a, b) : intersectByMerge(a, b);
}

/** Small against large (a much shorter than b): binary search the large list. */
function intersectBySearch(a: Uint32Array, b: Uint32Array): Uint32Array {
  const out = new Uint32Array(a.length);
  let n = 0;
  let lo = 0;
  for (let i = 0; i < a.length; i++) {
    const v = a[i]!;
    let hi = b.length;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      if (b[mid]! < v) lo = mid + 1;
      else hi = mid;
    }
    if (lo < b.length && b[lo] === v) out[n++] = v;
  }
  return out.subarray(0, n);
}

function intersectByMerge(a: Uint32Array, b: Uint32Array): Uint32Array {
  const out = new Uint32Array(a.length);
  let n = 0;
  let i = 0;
  let j = 0;
  while (i < a.length && j < b.length) {
    const x = a[i]!;
    const y = b[j]!;
    if (x === y) {
      out[n++] = x;
      i++;
      j++;
    } else if (x < y) i++;
    else j++;
  }
  return out.subarray(0, n);
}

export function difference(a: Uint32Array, b: Uint32Array): Uint32Array {
  const out = new Uint32Array(a.length);
  let n = 0;
  let j = 0;
  for (let i = 0; i < a.length; i++) {
    const x = a[i]!;
    while (j < b.length && b[j]! < x) j++;
    if (j < b.length && b[j] === x) continue;
    out[n++] = x;
  }
  return out.subarray(0, n);
}

/** Union of many sorted lists: concatenate, sort natively, drop duplicates. */
export function unionAll(lists: Uint32Array[]): Uint32Array {
  if (lists.length === 0) return EMPTY;
  if (lists.length === 1) return lists[0]!;
  let total = 0;
  for (const l of lists) total += l.length;
  const all = new Uint32Array(total);
  let off = 0;
  for (const l of lists) {
    all.set(l, off);
    off += l.length;
  }
  all.sort();
  let n = 0;
  for (let i = 0; i < total; i++) if (i === 0 || all[i] !== all[n - 1]) all[n++] = all[i]!;
  return all.subarray(0, n);
}
