// Influx line-protocol scan over a request body in linear memory, plus the cache it consults: the bytes of every
// series key (measurement and tags as written) and of every field name seen before, kept in a persistent region.
// The scan writes sample columns and, per distinct field of the body, its cache id; JS maps ids to SeriesKeys.
// Only the common shape is handled here (no backslash, tab or quoted string; numbers and timestamps that the fast
// paths of src/protocols/influx-line.ts convert exactly); anything else, every bad line included, returns
// IL_FALLBACK and JS parses the body itself, which also names the line and what is wrong.
import { hashBytes, sameBytes } from "./bytes";
import { ByteArena, OutputRegion, Records, SlotTable } from "./series-cache";

/** Result codes (negative results of ilScan). */
const IL_FALLBACK: i32 = -1;
const IL_SPACE: i32 = -2;

/** Cache bounds (the JS parser's SERIES_CACHE_LIMIT and MAX_FIELDS_PER_SERIES); past them the cache is cleared. */
const MAX_KEYS: u32 = 200_000;
const MAX_FIELDS: u32 = 1 << 20;
const MAX_FIELDS_PER_KEY: u32 = 1024;
const MAX_ARENA_BYTES: usize = 64 << 20;
const MAX_SAFE: u64 = 9007199254740991;
const POW10: StaticArray<f64> = [1e0, 1e1, 1e2, 1e3, 1e4, 1e5, 1e6, 1e7, 1e8, 1e9, 1e10, 1e11, 1e12, 1e13, 1e14, 1e15, 1e16, 1e17, 1e18, 1e19, 1e20, 1e21, 1e22];

// ---------------------------------------------------------------- outputs (persistent, grown by JS on IL_SPACE)

const out = new OutputRegion();

/**
 * Room for `cap` samples: f64 timestamps at the base, f64 values at base + cap * 8, u32 series ordinals (index
 * into the body's distinct fields) at base + cap * 16, u32 field ids of the distinct fields at base + cap * 20.
 */
export function ilOutputs(cap: u32): usize {
  return out.reserve(cap, 24);
}

/** Samples written by the last successful ilScan. */
export function ilSampleCount(): u32 {
  return out.count;
}

// ---------------------------------------------------------------- the cache

// keys: 8 u32 each (bytes offset in the arena, length, context, hash, successor key + 1, first field + 1, fields)
// fields: 8 u32 each (name offset in the arena, length, key, next field of the key + 1, scan stamp, batch ordinal)
const keys = new Records(32);
const fields = new Records(32);
const table = new SlotTable();
const arena = new ByteArena(MAX_ARENA_BYTES);
let generation: u32 = 0;
let clearPending = false;
let stamp: u32 = 0;

/** Bumped whenever the cache is cleared: JS drops what it holds per key and field. */
export function ilCacheGeneration(): u32 {
  return generation;
}

/** Forgets every cached key and field (JS sees a new generation). */
export function ilCacheClear(): void {
  keys.count = 0;
  fields.count = 0;
  arena.clear();
  table.clear();
  generation++;
  clearPending = false;
}

/** Keys in the cache. */
export function ilKeyCount(): u32 {
  return keys.count;
}

@inline function keyAt(k: u32): usize {
  return keys.base + (<usize>k << 5);
}

@inline function fieldAt(f: u32): usize {
  return fields.base + (<usize>f << 5);
}

/** Arena address and length of key k's bytes (JS decodes a new key from them). */
export function ilKeyBytes(k: u32): usize {
  return arena.base + <usize>load<u32>(keyAt(k));
}
export function ilKeyLength(k: u32): u32 {
  return load<u32>(keyAt(k), 4);
}
/** Arena address and length of field f's name, and its key. */
export function ilFieldBytes(f: u32): usize {
  return arena.base + <usize>load<u32>(fieldAt(f));
}
export function ilFieldLength(f: u32): u32 {
  return load<u32>(fieldAt(f), 4);
}
export function ilFieldKey(f: u32): u32 {
  return load<u32>(fieldAt(f), 8);
}

@inline function keyMatches(k: u32, p: usize, n: usize, context: u32): bool {
  const at = keyAt(k);
  if (load<u32>(at, 4) != <u32>n || load<u32>(at, 8) != context) return false;
  return sameBytes(arena.base + <usize>load<u32>(at), p, n);
}

@inline function fieldMatches(f: u32, p: usize, n: usize): bool {
  const at = fieldAt(f);
  return load<u32>(at, 4) == <u32>n && sameBytes(arena.base + <usize>load<u32>(at), p, n);
}

/** Copies the n bytes at p into the arena for a new record of `records` (at most `limit` of them): their offset, or
 * -1 when the cache is full (it is cleared before the next scan). */
function keep(records: Records, limit: u32, p: usize, n: usize): i64 {
  const kept = records.count < limit ? arena.keep(p, n) : -1;
  if (kept < 0) clearPending = true;
  return kept;
}

/** The key of the n bytes at p in `context` (inserted if new), or -1 when the cache is full (cleared before the next scan). */
function lookupKey(p: usize, n: usize, context: u32): i32 {
  const h = hashBytes(p, n, context);
  for (let k = table.first(h, keys, 12); k >= 0; k = table.next(h, keys, 12)) {
    if (keyMatches(<u32>k, p, n, context)) return k;
  }
  const kept = keep(keys, MAX_KEYS, p, n);
  if (kept < 0) return -1;
  const k = table.add(keys, 12, h);
  const e = keyAt(k);
  store<u32>(e, <u32>kept);
  store<u32>(e, <u32>n, 4);
  store<u32>(e, context, 8);
  return <i32>k;
}

/** Field of key k named by the n bytes at p (appended to the key's fields if new), or -1 (cache full, or the key has too many fields). */
function lookupField(k: u32, p: usize, n: usize): i32 {
  const ka = keyAt(k);
  let last: i32 = -1;
  for (let f = <i32>load<u32>(ka, 20) - 1; f >= 0; f = <i32>load<u32>(fieldAt(<u32>f), 12) - 1) {
    if (fieldMatches(<u32>f, p, n)) return f;
    last = f;
  }
  if (load<u32>(ka, 24) >= MAX_FIELDS_PER_KEY) return -1;
  const kept = keep(fields, MAX_FIELDS, p, n);
  if (kept < 0) return -1;
  const f = fields.add();
  const e = fieldAt(f);
  store<u32>(e, <u32>kept);
  store<u32>(e, <u32>n, 4);
  store<u32>(e, k, 8);
  if (last >= 0) store<u32>(fieldAt(<u32>last), f + 1, 12);
  else store<u32>(ka, f + 1, 20);
  store<u32>(ka, load<u32>(ka, 24) + 1, 24);
  return <i32>f;
}

// ---------------------------------------------------------------- numbers (the JS parser's fast paths, exactly)

let numberOut: f64 = 0;

/** A byte that may follow a number token: JS ends the token there (or, for 13/11/12, at the trimmed line end). */
@inline function endsToken(c: u32): bool {
  return c == 44 || c == 32 || c == 10 || c == 13 || c == 11 || c == 12;
}

/**
 * A field value at p spelled as a plain number: a float of at most 2^53 in its digits and a power-of-ten exponent
 * within ±22 (one correctly rounded multiplication or division, Clinger's fast path), or an `i`/`u` integer of at
 * most 15 digits, into numberOut. Returns the position after it (the caller checks what follows), or 0: JS takes
 * the body (its general path also produces the errors). The same conversions as fastNumber in influx-line.ts.
 */
function scanNumber(from: usize, end: usize): usize {
  let p = from;
  let negative = false;
  let signed = false;
  if (p < end) {
    const c = load<u8>(p);
    if (c == 45 || c == 43) {
      negative = c == 45;
      signed = true;
      p++;
    }
  }
  let mantissa: u64 = 0;
  let digits: u32 = 0;
  let scale: i32 = 0;
  let plain = true;
  while (p < end) {
    const d = <u32>load<u8>(p) - 48;
    if (d > 9) break;
    if (digits < 19) mantissa = mantissa * 10 + <u64>d;
    digits++;
    p++;
  }
  if (p < end && load<u8>(p) == 46) {
    plain = false;
    p++;
    while (p < end) {
      const d = <u32>load<u8>(p) - 48;
      if (d > 9) break;
      if (digits < 19) mantissa = mantissa * 10 + <u64>d;
      digits++;
      scale--;
      p++;
    }
  }
  if (digits == 0 || digits > 19) return 0;
  const c: u32 = p < end ? load<u8>(p) : 10;
  if ((c == 105 || c == 117) && (p + 1 >= end || endsToken(load<u8>(p + 1)))) {
    if (!plain || digits > 15 || (c == 117 && signed) || (signed && !negative)) return 0;
    const v = <f64>mantissa;
    numberOut = negative ? -v : v;
    return p + 1;
  }
  if ((c | 32) == 101) {
    p++;
    let expNegative = false;
    if (p < end) {
      const s = load<u8>(p);
      if (s == 45 || s == 43) {
        expNegative = s == 45;
        p++;
      }
    }
    const expStart = p;
    let exp: i32 = 0;
    while (p < end && exp < 1000) {
      const d = <u32>load<u8>(p) - 48;
      if (d > 9) break;
      exp = exp * 10 + <i32>d;
      p++;
    }
    if (p == expStart) return 0;
    scale += expNegative ? -exp : exp;
  }
  if (mantissa > MAX_SAFE || scale < -22 || scale > 22) return 0;
  const m = <f64>mantissa;
  const v = scale >= 0 ? m * unchecked(POW10[scale]) : m / unchecked(POW10[-scale]);
  numberOut = negative ? -v : v;
  return p;
}

/**
 * A timestamp at i of plain digits converted to the server precision by dropping `drop` digits (truncation toward
 * zero), at most 15 digits kept, into numberOut: the position after it, or 0.
 */
function scanTimestamp(i: usize, end: usize, drop: i32): usize {
  const negative = load<u8>(i) == 45;
  const first = negative ? i + 1 : i;
  let n = first;
  while (n < end && <u32>load<u8>(n) - 48 <= 9) n++;
  const digits = <i32>(n - first);
  const keepDigits = digits - drop;
  if (digits == 0 || keepDigits > 15 || digits > 19 || (digits == 19 && load<u8>(first) >= 57)) return 0;
  let v: u64 = 0;
  for (let k = first; k < first + <usize>max<i32>(keepDigits, 0); k++) v = v * 10 + <u64>(load<u8>(k) - 48);
  const f = <f64>v;
  numberOut = negative && v != 0 ? -f : f;
  return n;
}

// ---------------------------------------------------------------- the scan

/** Whitespace the JS parser trims at line ends, except tab (any tab sends the body to JS). */
@inline function isTrimmed(c: u32): bool {
  return c == 32 || c == 13 || c == 11 || c == 12;
}

/** The end of the line at p (its newline, or the body end) when only trimmed whitespace comes before it, else 0. */
function blankToLineEnd(p: usize, end: usize): usize {
  for (; p < end; p++) {
    const c = load<u8>(p);
    if (c == 10) return p;
    if (!isTrimmed(c)) return 0;
  }
  return end;
}

/** First byte at or after p that is a space, backslash, tab or newline (or end); 16 bytes at a time. */
@inline function keyEnd(p: usize, end: usize): usize {
  const space = i8x16.splat(32);
  const backslash = i8x16.splat(92);
  const tab = i8x16.splat(9);
  const newline = i8x16.splat(10);
  while (p + 16 <= end) {
    const v = v128.load(p);
    const hit = v128.or(v128.or(i8x16.eq(v, space), i8x16.eq(v, backslash)), v128.or(i8x16.eq(v, tab), i8x16.eq(v, newline)));
    const mask = i8x16.bitmask(hit);
    if (mask != 0) return p + <usize>ctz(mask);
    p += 16;
  }
  while (p < end) {
    const c = load<u8>(p);
    if (c == 32 || c == 92 || c == 9 || c == 10) return p;
    p++;
  }
  return end;
}

/**
 * Scans the body at [body, body + len) for `context` (a small integer JS assigns per tenant and extra labels):
 * at most `maxLines` non-empty lines, timestamps converted by dropping `drop` digits (-1: a line with a timestamp
 * falls back), lines without one at `now`. Returns the number of distinct fields (outputs as ilOutputs describes,
 * samples counted by ilSampleCount), IL_SPACE when the outputs are too small (call ilOutputs with more and scan
 * again), or IL_FALLBACK for anything outside the common shape. Lines are read forward once: a key or field name
 * that matches the one predicted (the key that followed the previous line's key last time; the field after the
 * previous field of the line) is compared in place and not scanned.
 */
export function ilScan(body: usize, len: usize, context: u32, maxLines: u32, drop: i32, now: f64): i32 {
  if (clearPending) ilCacheClear();
  const scan = ++stamp;
  const end = body + len;
  const outBase = out.base;
  const outCap = out.cap;
  const tsOut = outBase;
  const valOut = outBase + (<usize>outCap << 3);
  const idxOut = outBase + (<usize>outCap << 4);
  const fieldOut = outBase + (<usize>outCap * 20);
  let samples: u32 = 0;
  let distinct: u32 = 0;
  let lines: u32 = 0;
  let prev: i32 = -1;
  let pos = body;
  while (pos < end) {
    let s = pos;
    while (s < end && isTrimmed(load<u8>(s))) s++;
    if (s >= end) break;
    const first = load<u8>(s);
    if (first == 10) {
      pos = s + 1;
      continue;
    }
    if (++lines > maxLines) return IL_FALLBACK;
    if (first == 35) {
      // # comment: to the end of the line
      pos = s + 1;
      while (pos < end && load<u8>(pos) != 10) pos++;
      pos++;
      continue;
    }
    // series key: up to the first space; the predicted key is compared in place
    let key: i32 = -1;
    let i: usize = 0;
    if (prev >= 0) {
      const next = <i32>load<u32>(keyAt(<u32>prev), 16) - 1;
      if (next >= 0) {
        const n = <usize>load<u32>(keyAt(<u32>next), 4);
        if (s + n < end && load<u8>(s + n) == 32 && keyMatches(<u32>next, s, n, context)) {
          key = next;
          i = s + n;
        }
      }
    }
    if (key < 0) {
      i = keyEnd(s, end);
      if (i >= end || load<u8>(i) != 32) return IL_FALLBACK;
      key = lookupKey(s, i - s, context);
      if (key < 0) return IL_FALLBACK;
      if (prev >= 0) store<u32>(keyAt(<u32>prev), <u32>(key + 1), 16);
    }
    prev = key;
    while (i < end && load<u8>(i) == 32) i++;
    // fields: name=value pairs separated by commas
    const lineFirst = samples;
    let field: i32 = -1;
    let lineEnd: usize = 0;
    for (;;) {
      // the field after the previous one (or the key's first), compared in place; else scan the name
      const guess = field < 0 ? <i32>load<u32>(keyAt(<u32>key), 20) - 1 : <i32>load<u32>(fieldAt(<u32>field), 12) - 1;
      let n: usize = guess >= 0 ? <usize>load<u32>(fieldAt(<u32>guess), 4) : 0;
      if (guess >= 0 && i + n < end && load<u8>(i + n) == 61 && fieldMatches(<u32>guess, i, n)) field = guess;
      else {
        let e = i;
        for (; e < end; e++) {
          const c = load<u8>(e);
          if (c == 61 || c == 32 || c == 44) break;
          if (c == 92 || c == 9 || c == 10) return IL_FALLBACK;
        }
        n = e - i;
        if (e >= end || load<u8>(e) != 61 || n == 0) return IL_FALLBACK;
        field = lookupField(<u32>key, i, n);
        if (field < 0) return IL_FALLBACK;
      }
      i = scanNumber(i + n + 1, end);
      if (i == 0) return IL_FALLBACK;
      if (samples >= outCap) return IL_SPACE;
      const fa = fieldAt(<u32>field);
      if (load<u32>(fa, 16) != scan) {
        store<u32>(fa, scan, 16);
        store<u32>(fa, distinct, 20);
        store<u32>(fieldOut + (<usize>distinct << 2), <u32>field);
        distinct++;
      }
      store<u32>(idxOut + (<usize>samples << 2), load<u32>(fa, 20));
      store<f64>(valOut + (<usize>samples << 3), numberOut);
      samples++;
      const c: u32 = i < end ? load<u8>(i) : 10;
      if (c == 44) {
        i++;
        continue;
      }
      if (c == 32) {
        while (i < end && load<u8>(i) == 32) i++;
        const t: u32 = i < end ? load<u8>(i) : 10;
        if (t == 45 || t - 48 <= 9) break; // a timestamp
      }
      lineEnd = blankToLineEnd(i, end);
      if (lineEnd == 0) return IL_FALLBACK;
      break;
    }
    let t = now;
    if (lineEnd == 0) {
      if (drop < 0) return IL_FALLBACK;
      i = scanTimestamp(i, end, drop);
      if (i == 0) return IL_FALLBACK;
      t = numberOut;
      lineEnd = blankToLineEnd(i, end);
      if (lineEnd == 0) return IL_FALLBACK;
    }
    for (let r = lineFirst; r < samples; r++) store<f64>(tsOut + (<usize>r << 3), t);
    pos = lineEnd + 1;
  }
  out.count = samples;
  return <i32>distinct;
}
