// Remote-write WriteRequest scan over the decompressed body in linear memory, plus the series cache it consults:
// the label bytes of every TimeSeries seen before, kept in a persistent region and found again by comparing bytes.
// The scan writes sample columns and one cache entry per series; JS maps entries to its validated SeriesKeys.
// Only the common shape is handled here (TimeSeries of contiguous labels, samples and exemplars, timestamps within
// ±2^53; exemplars are only located, JS decodes the few there are); anything else returns WR_FALLBACK and JS
// decodes the request itself (src/protocols/write-request-decoder.ts).

import { hashBytes, sameBytes } from "./bytes";
import { ByteArena, OutputRegion, Records, SlotTable } from "./series-cache";

/** Result codes (negative results of wrScan). */
const WR_FALLBACK: i32 = -1;
const WR_SPACE: i32 = -2;

/** Label runs longer than this are not cached (JS validates them every time). */
const MAX_RUN_BYTES: u32 = 1024;
const MAX_ENTRIES: u32 = 1 << 18;
const MAX_ARENA_BYTES: usize = 32 << 20;
const MAX_SAFE: i64 = 9007199254740991;

// ---------------------------------------------------------------- outputs (persistent, grown by JS on WR_SPACE)

const out = new OutputRegion();

/**
 * Room for `cap` samples and `cap` series: f64 timestamps at the base, f64 values at base + cap * 8, u32 series
 * ordinals at base + cap * 16, then three i32 per series (cache entry or -1, label run start and end as offsets
 * into the body) at base + cap * 20.
 */
export function wrOutputs(cap: u32): usize {
  return out.reserve(cap, 32);
}

/** Samples written by the last successful wrScan. */
export function wrSampleCount(): u32 {
  return out.count;
}

// Exemplar fields located by the last scan: three u32 each (series ordinal, body offsets of the Exemplar message's
// start and end). A request with more than EX_MAX of them falls back to JS (which refuses more than 512 anyway).
const EX_MAX: u32 = 1024;
const exRecords = memory.data(<i32>(EX_MAX * 12), 4);
let exCount: u32 = 0;

/** Exemplars located by the last successful wrScan (their records at wrExemplars()). */
export function wrExemplarCount(): u32 {
  return exCount;
}

export function wrExemplars(): usize {
  return exRecords;
}

// ---------------------------------------------------------------- the series cache

// entries: 5 u32 each (label bytes offset in the arena, length, successor entry + 1, tenant, hash)
const entries = new Records(20);
const table = new SlotTable();
const arena = new ByteArena(MAX_ARENA_BYTES);
let generation: u32 = 0;
let clearPending = false;

/** Bumped whenever the cache is cleared: JS drops the keys it holds per entry. */
export function wrCacheGeneration(): u32 {
  return generation;
}

/** Forgets every cached series (JS sees a new generation). */
export function wrCacheClear(): void {
  entries.count = 0;
  arena.clear();
  table.clear();
  generation++;
  clearPending = false;
}

@inline function entryAt(e: u32): usize {
  return entries.base + <usize>e * 20;
}

/** True when entry e holds the n label bytes at p for this tenant. */
@inline function entryMatches(e: u32, p: usize, n: usize, tenant: u32): bool {
  const at = entryAt(e);
  if (load<u32>(at, 4) != <u32>n || load<u32>(at, 12) != tenant) return false;
  return sameBytes(arena.base + <usize>load<u32>(at), p, n);
}

/** The entry of the n label bytes at p (inserted if new), or -1 when the cache is full (cleared before the next scan). */
function lookup(p: usize, n: usize, tenant: u32): i32 {
  const h = hashBytes(p, n, tenant);
  for (let e = table.first(h, entries, 16); e >= 0; e = table.next(h, entries, 16)) {
    if (entryMatches(<u32>e, p, n, tenant)) return e;
  }
  const kept = entries.count < MAX_ENTRIES ? arena.keep(p, n) : -1;
  if (kept < 0) {
    clearPending = true;
    return -1;
  }
  const e = table.add(entries, 16, h);
  const at = entryAt(e);
  store<u32>(at, <u32>kept);
  store<u32>(at, <u32>n, 4);
  store<u32>(at, tenant, 12);
  return <i32>e;
}

// ---------------------------------------------------------------- the scan

let pos: usize = 0;
let failed = false;

/** Varint of at most 32 bits and 5 bytes before `end`; sets `failed` otherwise. */
@inline function varint32(end: usize): u32 {
  if (pos < end) {
    const b = load<u8>(pos);
    if (b < 0x80) {
      pos++;
      return <u32>b;
    }
  }
  let result: u64 = 0;
  for (let shift: u64 = 0; shift < 35; shift += 7) {
    if (pos >= end) break;
    const b = <u64>load<u8>(pos++);
    result |= (b & 0x7f) << shift;
    if (b < 0x80) {
      if (result > 0xffffffff) break;
      return <u32>result;
    }
  }
  failed = true;
  return 0;
}

/** int64 varint (two's complement, up to 10 bytes) before `end`; sets `failed` when malformed. */
@inline function varint64(end: usize): i64 {
  let result: u64 = 0;
  for (let shift: u64 = 0; shift < 70; shift += 7) {
    if (pos >= end) break;
    const b = <u64>load<u8>(pos++);
    result |= (b & 0x7f) << shift;
    if (b < 0x80) return <i64>result;
  }
  failed = true;
  return 0;
}

/** Length of a length-delimited field that must end by `end`. */
@inline function fieldLength(end: usize): usize {
  const n = <usize>varint32(end);
  if (n > end - pos) failed = true;
  return n;
}

/**
 * Scans the WriteRequest at [body, body + len) for `tenant` (a small integer JS assigns to each extra label).
 * Returns the number of TimeSeries (outputs as wrOutputs describes, samples counted by wrSampleCount), WR_SPACE
 * when the outputs are too small (call wrOutputs with more and scan again), or WR_FALLBACK for anything outside
 * the common shape: malformed bytes, metadata, histograms, more than EX_MAX exemplars, unknown fields, labels split
 * by samples or exemplars, timestamps beyond ±2^53.
 */
export function wrScan(body: usize, len: usize, tenant: u32): i32 {
  if (clearPending) wrCacheClear();
  const end = body + len;
  const outBase = out.base;
  const outCap = out.cap;
  const tsOut = outBase;
  const valOut = outBase + (<usize>outCap << 3);
  const idxOut = outBase + (<usize>outCap << 4);
  const serOut = outBase + (<usize>outCap * 20);
  let series: u32 = 0;
  let samples: u32 = 0;
  let prev: i32 = -1;
  failed = false;
  exCount = 0;
  pos = body;
  while (pos < end) {
    if (varint32(end) != 0x0a || failed) return WR_FALLBACK;
    const n = fieldLength(end);
    if (failed) return WR_FALLBACK;
    const seriesEnd = pos + n;
    const bodyStart = pos;
    if (series >= outCap) return WR_SPACE;
    // the series that followed the previous one last time: its label bytes, if here, need no scan
    let entry: i32 = -1;
    if (prev >= 0) {
      const next = <i32>load<u32>(entryAt(<u32>prev), 8) - 1;
      if (next >= 0) {
        const runLen = <usize>load<u32>(entryAt(<u32>next), 4);
        if (runLen <= n && entryMatches(<u32>next, pos, runLen, tenant)) {
          entry = next;
          pos += runLen;
        }
      }
    }
    let labelStart: usize = entry >= 0 ? bodyStart : 0;
    let labelEnd: usize = pos;
    let sawLabels = entry >= 0;
    const firstSample = samples;
    while (pos < seriesEnd) {
      const tagAt = pos;
      const tag = varint32(seriesEnd);
      if (failed) return WR_FALLBACK;
      if (tag == 0x0a) {
        const labelLen = fieldLength(seriesEnd);
        if (failed) return WR_FALLBACK;
        if (entry >= 0) {
          // more labels than the predicted run: scan this series' labels from the start
          entry = -1;
          sawLabels = false;
          samples = firstSample;
          pos = bodyStart;
          continue;
        }
        if (!sawLabels) {
          sawLabels = true;
          labelStart = tagAt;
        } else if (labelEnd != tagAt) return WR_FALLBACK;
        pos += labelLen;
        labelEnd = pos;
      } else if (tag == 0x12) {
        const sampleLen = fieldLength(seriesEnd);
        if (failed) return WR_FALLBACK;
        const sampleEnd = pos + sampleLen;
        let value: f64 = 0;
        let ts: i64 = 0;
        while (pos < sampleEnd) {
          const t = varint32(sampleEnd);
          if (failed) return WR_FALLBACK;
          if (t == 0x09) {
            if (sampleEnd - pos < 8) return WR_FALLBACK;
            value = load<f64>(pos);
            pos += 8;
          } else if (t == 0x10) {
            ts = varint64(sampleEnd);
            if (failed) return WR_FALLBACK;
          } else return WR_FALLBACK;
        }
        if (ts > MAX_SAFE || ts < -MAX_SAFE) return WR_FALLBACK;
        if (samples >= outCap) return WR_SPACE;
        store<f64>(tsOut + (<usize>samples << 3), <f64>ts);
        store<f64>(valOut + (<usize>samples << 3), value);
        store<u32>(idxOut + (<usize>samples << 2), series);
        samples++;
      } else if (tag == 0x1a) {
        const exLen = fieldLength(seriesEnd);
        if (failed || exCount >= EX_MAX) return WR_FALLBACK;
        const at = exRecords + (<usize>exCount * 12);
        store<u32>(at, series);
        store<u32>(at, <u32>(pos - body), 4);
        store<u32>(at, <u32>(pos + exLen - body), 8);
        exCount++;
        pos += exLen;
      } else return WR_FALLBACK;
    }
    if (!sawLabels) labelStart = labelEnd = seriesEnd;
    if (entry < 0 && labelEnd - labelStart <= MAX_RUN_BYTES) entry = lookup(labelStart, labelEnd - labelStart, tenant);
    if (prev >= 0 && entry >= 0) store<u32>(entryAt(<u32>prev), <u32>(entry + 1), 8);
    prev = entry;
    const at = serOut + <usize>series * 12;
    store<i32>(at, entry);
    store<i32>(at, <i32>(labelStart - body), 4);
    store<i32>(at, <i32>(labelEnd - body), 8);
    series++;
  }
  out.count = samples;
  return <i32>series;
}
