// Chunk kernels exported to JS: header + timestamp section + value section + checksum trailer (docs/format.md).
// Encode, validate, decode, decode a time range, and aggregate a time range, all over scratch memory.
import { checksum } from "./checksum";
import { cursorStart, cursorPosition, cursorOk, readVarint } from "./varint";
import { encodeTimestamps, decodeTimestamps, timestampCodecChosen, isTimestampCodec, TS_FIXED_STEP } from "./timestamps";
import {
  encodeValues, decodeValues, valueCodecChosen, valueCodecFits, valueAsF64, KIND_F64, KIND_BYTES, KIND_STRING,
} from "./values";

/** Version written; readers accept 1 and 2 as well (version 2 added scaled packed sequences and truncated-binary
 * blocks, version 3 writes those blocks in the split layout; see intpack). */
export const CHUNK_VERSION: i32 = 3;
const OLDEST_CHUNK_VERSION: i32 = 1;
export const HEADER_BYTES: i32 = 32;
export const TRAILER_BYTES: i32 = 4;
export const MAX_CHUNK_POINTS: i32 = 65535;

export const ERR_TRUNCATED: i32 = -1;
export const ERR_VERSION: i32 = -2;
export const ERR_KIND: i32 = -3;
export const ERR_COUNT: i32 = -4;
export const ERR_TIMESTAMP_CODEC: i32 = -5;
export const ERR_VALUE_CODEC: i32 = -6;
export const ERR_LENGTH: i32 = -7;
export const ERR_CHECKSUM: i32 = -8;
export const ERR_TIMESTAMP_SECTION: i32 = -9;
export const ERR_VALUE_SECTION: i32 = -10;
export const ERR_TIMESTAMP_ORDER: i32 = -11;
export const ERR_HEADER_RANGE: i32 = -12;
export const ERR_UNSORTED_INPUT: i32 = -20;

let unsortedIndex: i32 = -1;

/** Index of the first out-of-order timestamp seen by the last encodeChunk that returned ERR_UNSORTED_INPUT. */
export function unsortedInputIndex(): i32 {
  return unsortedIndex;
}

/** Upper bound of one encoded section (timestamps or numeric values) for n points. */
function sectionMaxBytes(n: i32): usize {
  return <usize>n * 12 + 96;
}

/** Bytes encodeChunk may write at `out` for n points plus an external value section of extraBytes. */
export function encodeOutputBytes(n: i32, extraBytes: i32): usize {
  return <usize>HEADER_BYTES + <usize>TRAILER_BYTES + (sectionMaxBytes(n) << 1) + <usize>extraBytes;
}

/** Bytes of `work` encodeChunk needs for n points. */
export function encodeWorkBytes(n: i32): usize {
  return (sectionMaxBytes(n) << 1) + (<usize>n << 4) + 64;
}

/** Encodes n points: timestamps (sorted i64) at ts; numeric values at `values` (8 bytes each, bools 1 byte), or for
 * bytes/string kinds an already encoded value section of `externalLength` bytes with codec `externalCodec`.
 * Returns the chunk length at `out`, or ERR_COUNT / ERR_KIND / ERR_UNSORTED_INPUT. */
export function encodeChunk(
  kind: i32, n: i32, ts: usize, values: usize, externalLength: i32, externalCodec: i32, out: usize, work: usize,
): i32 {
  if (n < 1 || n > MAX_CHUNK_POINTS) return ERR_COUNT;
  if (kind < 0 || kind > KIND_STRING) return ERR_KIND;
  for (let i = 1; i < n; i++) {
    if (load<i64>(ts + (<usize>i << 3)) < load<i64>(ts + (<usize>(i - 1) << 3))) {
      unsortedIndex = i;
      return ERR_UNSORTED_INPUT;
    }
  }
  const candidateBytes = sectionMaxBytes(n);
  const tsStart = out + <usize>HEADER_BYTES;
  const tsEnd = encodeTimestamps(ts, n, tsStart, work, candidateBytes);
  let valuesEnd: usize;
  let valueCodec: i32;
  if (kind >= KIND_BYTES) {
    memory.copy(tsEnd, values, <usize>externalLength);
    valuesEnd = tsEnd + <usize>externalLength;
    valueCodec = externalCodec;
  } else {
    valuesEnd = encodeValues(kind, values, n, tsEnd, work, candidateBytes);
    valueCodec = valueCodecChosen();
  }
  store<u8>(out, <u8>CHUNK_VERSION);
  store<u8>(out, <u8>kind, 1);
  store<u8>(out, <u8>timestampCodecChosen(), 2);
  store<u8>(out, <u8>valueCodec, 3);
  store<u32>(out, <u32>n, 4);
  store<i64>(out, load<i64>(ts), 8);
  store<i64>(out, load<i64>(ts + (<usize>(n - 1) << 3)), 16);
  store<u32>(out, <u32>(tsEnd - tsStart), 24);
  store<u32>(out, <u32>(valuesEnd - tsEnd), 28);
  store<u32>(valuesEnd, checksum(out, valuesEnd - out));
  return <i32>(valuesEnd + <usize>TRAILER_BYTES - out);
}

/** Validates the header of a `len`-byte chunk at p (not the checksum). Returns 0 or an ERR_* code. */
export function checkHeader(p: usize, len: usize): i32 {
  if (len < 1) return ERR_TRUNCATED;
  const version = <i32>load<u8>(p);
  if (version < OLDEST_CHUNK_VERSION || version > CHUNK_VERSION) return ERR_VERSION;
  if (len < <usize>(HEADER_BYTES + TRAILER_BYTES)) return ERR_TRUNCATED;
  const kind = <i32>load<u8>(p, 1);
  if (kind > KIND_STRING) return ERR_KIND;
  if (!isTimestampCodec(<i32>load<u8>(p, 2))) return ERR_TIMESTAMP_CODEC;
  if (!valueCodecFits(kind, <i32>load<u8>(p, 3))) return ERR_VALUE_CODEC;
  const n = load<u32>(p, 4);
  if (n < 1 || n > <u32>MAX_CHUNK_POINTS) return ERR_COUNT;
  if (load<i64>(p, 8) > load<i64>(p, 16)) return ERR_HEADER_RANGE;
  const sections = <u64>load<u32>(p, 24) + <u64>load<u32>(p, 28);
  if (sections + <u64>(HEADER_BYTES + TRAILER_BYTES) != <u64>len) return ERR_LENGTH;
  return 0;
}

/** Validates the header and the checksum of the chunk at p. Returns 0 or ERR_*. */
function checkChunk(p: usize, len: usize): i32 {
  const header = checkHeader(p, len);
  if (header < 0) return header;
  const end = p + len - <usize>TRAILER_BYTES;
  return checksum(p, end - p) == load<u32>(end) ? 0 : ERR_CHECKSUM;
}

/** The step of a checked fixed-step chunk whose timestamps minTs + i*step provably stay sorted and end at maxTs
 * (maxTs - minTs == (n-1)*step, unsigned, so no overflow), or -1. */
function provenFixedStep(p: usize): i64 {
  if (<i32>load<u8>(p, 2) != TS_FIXED_STEP) return -1;
  const n = <u64>load<u32>(p, 4);
  const span = <u64>(load<i64>(p, 16) - load<i64>(p, 8));
  const tsStart = p + <usize>HEADER_BYTES;
  const tsEnd = tsStart + <usize>load<u32>(p, 24);
  cursorStart(tsStart);
  const step = <i64>readVarint(tsEnd);
  if (!cursorOk() || cursorPosition() != tsEnd || step < 0) return -1;
  if (n == 1) return span == 0 ? step : -1;
  return span % (n - 1) == 0 && span / (n - 1) == <u64>step ? step : -1;
}

/** First index i < n with minTs + i*step >= key (n if none), for a proven fixed step. */
function fixedStepLowerBound(minTs: i64, step: i64, n: i32, key: i64): i32 {
  if (key <= minTs) return 0;
  if (step == 0) return n;
  const distance = <u64>(key - minTs);
  const index = distance / <u64>step + (distance % <u64>step != 0 ? 1 : 0);
  return index >= <u64>n ? n : <i32>index;
}

/** Decodes and validates the timestamps of a chunk that passed checkChunk into ts (n i64). Returns n or ERR_*. */
function decodeCheckedTimestamps(p: usize, ts: usize): i32 {
  const n = <i32>load<u32>(p, 4);
  const tsStart = p + <usize>HEADER_BYTES;
  const tsEnd = tsStart + <usize>load<u32>(p, 24);
  if (decodeTimestamps(tsStart, tsEnd, <i32>load<u8>(p, 2), n, load<i64>(p, 8), ts) != tsEnd) return ERR_TIMESTAMP_SECTION;
  if (load<i64>(ts) != load<i64>(p, 8) || load<i64>(ts + (<usize>(n - 1) << 3)) != load<i64>(p, 16)) return ERR_TIMESTAMP_ORDER;
  if (provenFixedStep(p) < 0) {
    for (let i = 1; i < n; i++) {
      if (load<i64>(ts + (<usize>i << 3)) < load<i64>(ts + (<usize>(i - 1) << 3))) return ERR_TIMESTAMP_ORDER;
    }
  }
  return n;
}

/** Decodes the numeric values of a chunk that passed checkChunk: all of them (the section must be consumed
 * exactly) or at least [from, to). Returns 0 or ERR_VALUE_SECTION. Bytes/string kinds are decoded in JS. */
function decodeCheckedValues(p: usize, len: usize, values: usize, from: i32, to: i32): i32 {
  const kind = <i32>load<u8>(p, 1);
  if (kind >= KIND_BYTES) return 0;
  const n = <i32>load<u32>(p, 4);
  const start = p + <usize>HEADER_BYTES + <usize>load<u32>(p, 24);
  const end = p + len - <usize>TRAILER_BYTES;
  const read = decodeValues(kind, <i32>load<u8>(p, 3), start, end, n, values, from, to);
  return read == 0 || (from == 0 && to == n && read != end) ? ERR_VALUE_SECTION : 0;
}

function timestampsToF64(ts: usize, from: i32, to: i32): void {
  for (let i = from; i < to; i++) {
    const at = ts + (<usize>i << 3);
    store<f64>(at, <f64>load<i64>(at));
  }
}

/** Decodes a whole chunk: timestamps into ts (as f64 when timestampsAsF64 != 0, else i64) and numeric values into
 * `values` (8 bytes each, bools 1 byte). Returns the point count or ERR_*. */
export function decodeChunk(p: usize, len: usize, ts: usize, values: usize, timestampsAsF64: i32): i32 {
  const valid = checkChunk(p, len);
  if (valid < 0) return valid;
  const n = decodeCheckedTimestamps(p, ts);
  if (n < 0) return n;
  const decoded = decodeCheckedValues(p, len, values, 0, n);
  if (decoded < 0) return decoded;
  if (timestampsAsF64 != 0) timestampsToF64(ts, 0, n);
  return n;
}

/** First index whose timestamp is >= key. */
function lowerBound(ts: usize, n: i32, key: i64): i32 {
  let lo = 0;
  let hi = n;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if (load<i64>(ts + (<usize>mid << 3)) < key) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}

const TWO_POW_63: f64 = 9223372036854775808.0;

/** Turns bounds given as f64 ceil(start), ceil(end) (JS numbers) into the inclusive i64 pair, in place. */
function boundsFromF64(bounds: usize): void {
  const first = load<f64>(bounds);
  const stop = load<f64>(bounds, 8);
  store<i64>(bounds, first < -TWO_POW_63 ? i64.MIN_VALUE : <i64>first);
  store<i64>(bounds, stop >= TWO_POW_63 ? i64.MAX_VALUE : <i64>stop - 1, 8);
}

const TIMESTAMPS_I64: i32 = 0;
const TIMESTAMPS_F64: i32 = 1;
const TIMESTAMPS_ENDS_I64: i32 = 2; // only ts[from] and ts[to - 1] are needed (aggregation)

/** Validates the chunk (its checksum too unless verifyChecksum is false), then (unless the header shows no overlap) locates the points with first <= ts <= last
 * (bounds at `bounds`, see below) and decodes their values (packed value sequences skip blocks outside the range). Writes the first index as i32 at bounds + 16 and returns the
 * number of points in range, or ERR_*. Timestamps of the range are written at ts (as i64, or f64 for
 * TIMESTAMPS_F64). A proven fixed-step chunk is located arithmetically without materialising its timestamps. */
function locateRange(
  p: usize, len: usize, bounds: usize, boundsAsF64: i32, ts: usize, values: usize, mode: i32, verifyChecksum: bool = true,
): i32 {
  const valid = verifyChecksum ? checkChunk(p, len) : checkHeader(p, len);
  if (valid < 0) return valid;
  if (boundsAsF64 != 0) boundsFromF64(bounds);
  const first = load<i64>(bounds);
  const last = load<i64>(bounds, 8);
  store<i32>(bounds, 0, 16);
  const minTs = load<i64>(p, 8);
  if (last < first || last < minTs || first > load<i64>(p, 16)) return 0;
  const step = provenFixedStep(p);
  let n: i32;
  let from: i32;
  let to: i32;
  if (step >= 0) {
    n = <i32>load<u32>(p, 4);
    from = fixedStepLowerBound(minTs, step, n, first);
    to = last == i64.MAX_VALUE ? n : fixedStepLowerBound(minTs, step, n, last + 1);
    if (to > from) {
      if (mode == TIMESTAMPS_ENDS_I64) {
        store<i64>(ts + (<usize>from << 3), minTs + <i64>from * step);
        store<i64>(ts + (<usize>(to - 1) << 3), minTs + <i64>(to - 1) * step);
      } else if (mode == TIMESTAMPS_F64) {
        let t = minTs + <i64>from * step;
        for (let i = from; i < to; i++) {
          store<f64>(ts + (<usize>i << 3), <f64>t);
          t += step;
        }
      } else {
        let t = minTs + <i64>from * step;
        for (let i = from; i < to; i++) {
          store<i64>(ts + (<usize>i << 3), t);
          t += step;
        }
      }
    }
  } else {
    n = decodeCheckedTimestamps(p, ts);
    if (n < 0) return n;
    from = lowerBound(ts, n, first);
    to = last == i64.MAX_VALUE ? n : lowerBound(ts, n, last + 1);
  }
  store<i32>(bounds, from, 16);
  if (to <= from) return 0;
  const decoded = decodeCheckedValues(p, len, values, from, to);
  if (decoded < 0) return decoded;
  if (mode == TIMESTAMPS_F64 && step < 0) timestampsToF64(ts, from, to); // (a fixed step wrote f64 already)
  return to - from;
}

/** Decodes the points with first <= ts <= last: bounds is an inclusive i64 pair, or with boundsAsF64 != 0 the f64
 * values ceil(start), ceil(end) of a half-open JS-number range (clamped to int64 here). Writes the first index as i32
 * at bounds + 16, the range's timestamps (as f64 when timestampsAsF64 != 0, else i64) and values at their indexes in
 * ts / values. Returns the number of points in range or ERR_*. */
export function decodeRange(
  p: usize, len: usize, bounds: usize, boundsAsF64: i32, ts: usize, values: usize, timestampsAsF64: i32,
): i32 {
  return locateRange(p, len, bounds, boundsAsF64, ts, values, timestampsAsF64 != 0 ? TIMESTAMPS_F64 : TIMESTAMPS_I64);
}

/** Bytes of a segment record before its varint timestamp-section length: version, kind, timestamp and value codec. */
const RECORD_FIXED_BYTES: i32 = 4;
const TWO_POW_53: f64 = 9007199254740992.0;

/**
 * Decodes the points with ceil(start) <= ts < ceil(end) of a chunk that a segment stores as a record (docs/format.md,
 * "Segments": [version, kind, ts codec, value codec][varint T][sections]), `len` bytes at `record`, given its index
 * entry's point count and min/max ts (f64 holding integers): the chunk header is rebuilt at `work` in front of a copy
 * of the sections (work needs len + 112 bytes), no checksum is checked (the record has none; the segment block's
 * CRC-32 covered its bytes). The points in range are written from index 0 of ts (f64) and values, which need room
 * for `count` points. Returns how many, or ERR_*.
 */
export function decodeRecordRange(
  record: usize, len: usize, count: i32, minTs: f64, maxTs: f64, start: f64, end: f64, work: usize, ts: usize, values: usize,
): i32 {
  cursorStart(record + <usize>RECORD_FIXED_BYTES);
  const timestampBytes = readVarint(record + len);
  if (len < <usize>RECORD_FIXED_BYTES || !cursorOk()) return ERR_TRUNCATED;
  const sectionsStart = cursorPosition();
  const sections = <u64>(record + len - sectionsStart);
  if (timestampBytes > sections) return ERR_TIMESTAMP_SECTION;
  if (!(Math.abs(minTs) < TWO_POW_53 && Math.abs(maxTs) < TWO_POW_53 && Math.trunc(minTs) == minTs && Math.trunc(maxTs) == maxTs)) return ERR_HEADER_RANGE;
  store<u32>(work, load<u32>(record));
  store<u32>(work, <u32>count, 4);
  store<i64>(work, <i64>minTs, 8);
  store<i64>(work, <i64>maxTs, 16);
  store<u32>(work, <u32>timestampBytes, 24);
  store<u32>(work, <u32>(sections - timestampBytes), 28);
  memory.copy(work + <usize>HEADER_BYTES, sectionsStart, <usize>sections);
  const chunkLen = <usize>HEADER_BYTES + <usize>sections + <usize>TRAILER_BYTES;
  const bounds = (work + chunkLen + 32 + 15) & ~(<usize>15); // past the read slack
  const first = Math.ceil(start);
  const stop = Math.ceil(end);
  if (!(first < stop) || first >= TWO_POW_63 || stop <= -TWO_POW_63) return 0;
  store<f64>(bounds, first);
  store<f64>(bounds, stop, 8);
  const n = locateRange(work, chunkLen, bounds, 1, ts, values, TIMESTAMPS_F64, false);
  const from = load<i32>(bounds, 16);
  if (n > 0 && from > 0) {
    memory.copy(ts, ts + (<usize>from << 3), <usize>n << 3);
    memory.copy(values, values + (<usize>from << 3), <usize>n << 3);
  }
  return n;
}

/** Bytes of one record descriptor of decodeSeriesRecords: u32 address, u32 length, u32 point count, u32 unused, f64 minTs, f64 maxTs. */
const RECORD_DESC_BYTES: usize = 32;
/** decodeSeriesRecords' status for a series whose records overlap in time (the caller merges it by timestamp). */
export const ERR_SERIES_ORDER: i32 = -30;

/**
 * decodeRecordRange for the records of many series in one call, each series' points in range written right after the
 * previous series' from index 0 of ts and values (f64). Record r is the descriptor at descs + (r - firstRecord) * 32
 * (see RECORD_DESC_BYTES; records live in place, e.g. in the blocks of the segment block cache); series s owns records
 * [its predecessor's end (firstRecord for s = 0), ends[s]) of the i32 array `ends`. Writes each series' point count
 * as i32 at out + 4 * s. Stops before a series whose records overlap in time (a record starting before the series'
 * last point) or fail to decode, without keeping its points: writes the status (ERR_SERIES_ORDER or the decoder's
 * ERR_*) and the failing record's index as i32 at out + 4 * nSeries and returns how many series were done (nSeries
 * when all were; the status is 0 then). ts and values need room for the sum of the records' counts, work for the
 * longest record + 112 bytes.
 */
export function decodeSeriesRecords(
  descs: usize, firstRecord: i32, ends: usize, nSeries: i32, start: f64, end: f64, work: usize, ts: usize, values: usize, out: usize,
): i32 {
  const status = out + (<usize>nSeries << 2);
  store<i32>(status, 0);
  let r = firstRecord;
  let at: usize = 0;
  for (let s = 0; s < nSeries; s++) {
    const seriesAt = at;
    for (const stop = load<i32>(ends + (<usize>s << 2)); r < stop; r++) {
      const d = descs + <usize>(r - firstRecord) * RECORD_DESC_BYTES;
      const t = ts + (at << 3);
      const n = decodeRecordRange(load<u32>(d), load<u32>(d, 4), load<i32>(d, 8), load<f64>(d, 16), load<f64>(d, 24), start, end, work, t, values + (at << 3));
      if (n > 0 && at > seriesAt && load<f64>(t - 8) > load<f64>(t)) store<i32>(status, ERR_SERIES_ORDER);
      else if (n < 0) store<i32>(status, n);
      if (load<i32>(status) != 0) {
        store<i32>(status, r, 4);
        return s;
      }
      at += <usize>n;
    }
    store<i32>(out + (<usize>s << 2), <i32>(at - seriesAt));
  }
  return nSeries;
}

/** Aggregates the points with bounds[0] <= ts <= bounds[1] without leaving WASM. Writes f64 count, sum, min, max,
 * first, last, then i64 firstTs, lastTs, then the same two as f64 at `result` (min/max ignore NaN unless every value is NaN, like Prometheus).
 * Returns the count or ERR_*. */
export function aggregateChunk(
  p: usize, len: usize, bounds: usize, boundsAsF64: i32, ts: usize, values: usize, result: usize,
): i32 {
  const count = locateRange(p, len, bounds, boundsAsF64, ts, values, TIMESTAMPS_ENDS_I64);
  if (count < 0) return count;
  const kind = <i32>load<u8>(p, 1);
  const from = load<i32>(bounds, 16);
  const to = from + count;
  if (kind != KIND_F64) {
    // Project to f64 in place, backwards so 1-byte bools are read before their slots are overwritten.
    for (let i = to - 1; i >= from; i--) store<f64>(values + (<usize>i << 3), valueAsF64(kind, values, i));
  }
  let sum: f64 = 0;
  let lowest: f64 = NaN;
  let highest: f64 = NaN;
  let i = from;
  // NaN never wins a comparison, so after the first non-NaN value plain selects skip NaNs.
  for (; i < to; i++) {
    const v = load<f64>(values + (<usize>i << 3));
    sum += v;
    if (!isNaN(v)) {
      lowest = v;
      highest = v;
      i++;
      break;
    }
  }
  for (; i < to; i++) {
    const v = load<f64>(values + (<usize>i << 3));
    sum += v;
    lowest = v < lowest ? v : lowest;
    highest = v > highest ? v : highest;
  }
  store<f64>(result, <f64>count);
  store<f64>(result, count > 0 ? sum : NaN, 8);
  store<f64>(result, lowest, 16);
  store<f64>(result, highest, 24);
  store<f64>(result, count > 0 ? load<f64>(values + (<usize>from << 3)) : NaN, 32);
  store<f64>(result, count > 0 ? load<f64>(values + (<usize>(to - 1) << 3)) : NaN, 40);
  const firstTs = count > 0 ? load<i64>(ts + (<usize>from << 3)) : 0;
  const lastTs = count > 0 ? load<i64>(ts + (<usize>(to - 1) << 3)) : 0;
  store<i64>(result, firstTs, 48);
  store<i64>(result, lastTs, 56);
  store<f64>(result, count > 0 ? <f64>firstTs : NaN, 64);
  store<f64>(result, count > 0 ? <f64>lastTs : NaN, 72);
  return count;
}

/** Converts n f64 timestamps at ts to i64 in place. Returns -1, or the index of the first value that is not an
 * integer in the int64 range. */
export function timestampsFromF64(ts: usize, n: i32): i32 {
  for (let i = 0; i < n; i++) {
    const at = ts + (<usize>i << 3);
    const v = load<f64>(at);
    if (!(v == Math.trunc(v) && v >= -TWO_POW_63 && v < TWO_POW_63)) return i;
    store<i64>(at, <i64>v);
  }
  return -1;
}

