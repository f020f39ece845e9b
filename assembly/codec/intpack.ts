// Packed integer sequences: residuals (raw, delta, delta-of-delta or distance from a fixed step) stored in blocks of
// 256 with a per-block frame of reference and bit width plus patched exceptions (PFOR); used by timestamps, decimal
// mantissas and i64/u64 values. Hand-written because it is the hot loop of every decode.
import { zigzag, unzigzag, writeVarint, cursorStart, cursorPosition, cursorOk, readVarint, readByte } from "./varint";

export const MODE_RAW: i32 = 0;
export const MODE_DELTA: i32 = 1;
export const MODE_DELTA_OF_DELTA: i32 = 2;
export const MODE_STEP_RESIDUAL: i32 = 3;

const BLOCK: i32 = 256; // exception indexes and counts are single bytes
const WIDTH_HISTOGRAM = memory.data(65 * 4, 16);

@inline function bitWidth(u: u64): i32 {
  return 64 - <i32>clz<u64>(u);
}

/** Exception cost in bits for a value of bit width k stored with width w (index byte + varint of the high bits). */
@inline function exceptionBits(k: i32, w: i32): i64 {
  return 8 + 8 * <i64>((k - w + 6) / 7);
}

/** Width-byte flag of a truncated-binary block (k = width & 0x3f): for values 0..m-1 above the base, with
 * u = 2^(k+1) - m, a value v < u takes k bits and v >= u takes k+1 bits (w = v + u: its high k bits, which are >= u,
 * then its low bit), so a block costs ~log2(m) bits a value instead of ceil(log2(m)): uniform noise loses ~0.5 bit
 * less. With SPLIT (chunk version 3, the only layout written) every value's k-bit prefix lies at bit i*k and the low
 * bits of the long codes follow all prefixes, in order: prefixes are read independently of each other, and only a
 * one-bit cursor depends on the codes before. Without it (version 2) the codes are interleaved, each value's
 * position depending on the lengths of all before it. */
const TRUNCATED: i32 = 0x80;
const SPLIT: i32 = 0x40;
const TRUNCATED_MAX_BITS: i32 = 56; // k + 1 bits must fit one unaligned u64 load

/** Writes the block as split truncated binary when that is smaller than `forCost` bits (the best PFOR layout);
 * header [0x80 | 0x40 | k][0 exceptions][zigzag base][varint u][varint long count]. Returns the end, or 0 when PFOR
 * is smaller. */
function packTruncated(r: usize, len: i32, base: i64, forCost: i64, p: usize): usize {
  let high: u64 = 0;
  for (let i = 0; i < len; i++) {
    const v = <u64>(load<i64>(r + (<usize>i << 3)) - base);
    if (v > high) high = v;
  }
  const m = high + 1;
  const k = bitWidth(m) - 1;
  const u = (<u64>1 << <u64>(k + 1)) - m;
  if (u == 0) return 0; // m is a power of two: plain PFOR is as small
  let long: i64 = 0;
  for (let i = 0; i < len; i++) if (<u64>(load<i64>(r + (<usize>i << 3)) - base) >= u) long++;
  const headerBits = 8 * (<i64>(bitWidth(u) + 6) / 7 + (<i64>bitWidth(<u64>long) + 6) / 7 + 1);
  if (<i64>len * k + long + headerBits >= forCost) return 0;
  store<u8>(p, <u8>(TRUNCATED | SPLIT | k));
  store<u8>(p, 0, 1);
  p = writeVarint(writeVarint(writeVarint(p + 2, zigzag(base)), u), <u64>long);
  // prefixes first: k bits per value (the value itself, or the high k bits of v + u for a long code)
  let acc: u64 = 0;
  let bits = 0;
  for (let i = 0; i < len; i++) {
    const v = <u64>(load<i64>(r + (<usize>i << 3)) - base);
    const code = v >= u ? (v + u) >> 1 : v;
    acc |= code << <u64>bits;
    bits += k;
    if (bits >= 64) {
      store<u64>(p, acc);
      p += 8;
      bits -= 64;
      acc = bits > 0 ? code >>> <u64>(k - bits) : 0;
    }
  }
  // then the low bits of the long codes, continuing the same bit stream
  for (let i = 0; i < len; i++) {
    const v = <u64>(load<i64>(r + (<usize>i << 3)) - base);
    if (v < u) continue;
    acc |= ((v + u) & 1) << <u64>bits;
    if (++bits == 64) {
      store<u64>(p, acc);
      p += 8;
      bits = 0;
      acc = 0;
    }
  }
  if (bits > 0) {
    store<u64>(p, acc);
    p += <usize>((bits + 7) >> 3);
  }
  return p;
}

/** Sum (wrapping) of the values an unpack was asked to skip: unpackBlock and unpackTruncated with skip > 0 store
 * only values [skip, len) and leave base + v summed over [0, skip) here. */
let skippedSum: i64 = 0;

/** Reads a truncated-binary block whose header starts at p (width byte already known to carry TRUNCATED), either
 * layout, storing values [skip, len) at their indexes in out and summing the others into skippedSum. Returns the
 * position after it, or 0 if malformed; with out == 0 only steps over it. */
function unpackTruncated(p: usize, end: usize, len: i32, out: usize, skip: i32): usize {
  const split = (<i32>load<u8>(p) & SPLIT) != 0;
  const k = <i32>load<u8>(p) & 0x3f;
  if (k < 1 || k >= TRUNCATED_MAX_BITS || load<u8>(p, 1) != 0) return 0;
  cursorStart(p + 2);
  const base = unzigzag(readVarint(end));
  const u = readVarint(end);
  const long = readVarint(end);
  if (!cursorOk() || u == 0 || u >= (<u64>1 << <u64>k) || long > <u64>len) return 0;
  p = cursorPosition();
  const prefixBits = <usize>len * <usize>k;
  const totalBits = prefixBits + <usize>long;
  const bytes = (totalBits + 7) >> 3;
  if (bytes > end - p) return 0;
  if (out == 0) return p + bytes;
  const mask: u64 = (<u64>1 << <u64>k) - 1;
  if (split) {
    // Skipped values are only summed: v is the prefix, or for a long code 2 * prefix + low bit - u, so their sum
    // is the prefixes' plus (prefix - u) per long code plus the long codes' low bits (a popcount), with no bit
    // cursor to follow: the prefixes lie at fixed positions.
    let sum: u64 = 0;
    let longs: u64 = 0;
    for (let i = 0; i < skip; i++) {
      const bit = <usize>i * <usize>k;
      const short = (load<u64>(p + (bit >>> 3)) >>> <u64>(bit & 7)) & mask;
      const isLong = short >= u;
      sum += short + select<u64>(short - u, 0, isLong);
      longs += <u64>isLong;
    }
    let extra = prefixBits; // bit cursor of the next long code's low bit
    if (skip > 0) {
      sum += lowBitsSet(p, extra, <usize>longs);
      extra += <usize>longs;
      skippedSum = <i64>sum + base * <i64>skip;
    }
    for (let i = skip; i < len; i++) {
      const bit = <usize>i * <usize>k;
      const short = (load<u64>(p + (bit >>> 3)) >>> <u64>(bit & 7)) & mask;
      const isLong = short >= u;
      const low = (<u64>load<u8>(p + (extra >>> 3)) >>> <u64>(extra & 7)) & 1;
      const v = select<u64>(((short << 1) | low) - u, short, isLong);
      extra += <usize>isLong;
      store<i64>(out + (<usize>i << 3), base + <i64>v);
    }
    return extra == totalBits ? p + bytes : 0;
  }
  let bit: usize = 0;
  let sum: i64 = 0;
  for (let i = 0; i < len; i++) {
    // Branch-free: whether a code is long is data-dependent noise, which a branch would mispredict half the time.
    const word = load<u64>(p + (bit >>> 3)) >>> <u64>(bit & 7);
    const short = word & mask;
    const isLong = short >= u;
    const v = base + <i64>select<u64>(((short << 1) | ((word >>> <u64>k) & 1)) - u, short, isLong);
    bit += <usize>k + <usize>isLong;
    if (i < skip) sum += v;
    else store<i64>(out + (<usize>i << 3), v);
  }
  if (skip > 0) skippedSum = sum;
  return bit == totalBits ? p + bytes : 0;
}

/** Number of set bits among the `count` bits from bit `bit` of p onwards (LSB first). */
function lowBitsSet(p: usize, bit: usize, count: usize): u64 {
  let ones: u64 = 0;
  while (count >= 56) {
    ones += popcnt<u64>((load<u64>(p + (bit >>> 3)) >>> <u64>(bit & 7)) & ((<u64>1 << 56) - 1));
    bit += 56;
    count -= 56;
  }
  if (count > 0) ones += popcnt<u64>((load<u64>(p + (bit >>> 3)) >>> <u64>(bit & 7)) & ((<u64>1 << <u64>count) - 1));
  return ones;
}

/** Writes one block of `len` residuals at `r`: width, exception count, zigzag base, packed bits, exceptions (or a
 * truncated-binary block when smaller). */
function packBlock(r: usize, len: i32, p: usize): usize {
  let base = load<i64>(r);
  for (let i = 1; i < len; i++) {
    const v = load<i64>(r + (<usize>i << 3));
    if (v < base) base = v;
  }
  memory.fill(WIDTH_HISTOGRAM, 0, 65 * 4);
  let maxWidth = 0;
  for (let i = 0; i < len; i++) {
    const k = bitWidth(<u64>(load<i64>(r + (<usize>i << 3)) - base));
    const h = WIDTH_HISTOGRAM + (<usize>k << 2);
    store<u32>(h, load<u32>(h) + 1);
    if (k > maxWidth) maxWidth = k;
  }
  // The best width is 0 or one of the widths present; try each, pricing larger values as exceptions.
  let width = maxWidth;
  let bestCost: i64 = <i64>len * maxWidth;
  for (let w = maxWidth - 1; w >= 0; w--) {
    if (w != 0 && load<u32>(WIDTH_HISTOGRAM + (<usize>w << 2)) == 0) continue;
    let cost: i64 = <i64>len * w;
    let exceptions: u32 = 0;
    for (let k = w + 1; k <= maxWidth; k++) {
      const c = load<u32>(WIDTH_HISTOGRAM + (<usize>k << 2));
      exceptions += c;
      if (c != 0) cost += <i64>c * exceptionBits(k, w);
    }
    if (cost < bestCost && exceptions <= 255) {
      bestCost = cost;
      width = w;
    }
  }
  if (maxWidth >= 2 && maxWidth <= TRUNCATED_MAX_BITS) {
    const truncated = packTruncated(r, len, base, bestCost, p);
    if (truncated != 0) return truncated;
  }
  store<u8>(p, <u8>width);
  const exceptionCountAt = p + 1;
  p = writeVarint(p + 2, zigzag(base));
  if (width > 0) {
    const mask: u64 = width == 64 ? <u64>-1 : (<u64>1 << <u64>width) - 1;
    let acc: u64 = 0;
    let bits = 0;
    for (let i = 0; i < len; i++) {
      const v = <u64>(load<i64>(r + (<usize>i << 3)) - base) & mask;
      acc |= v << <u64>bits;
      bits += width;
      if (bits >= 64) {
        store<u64>(p, acc);
        p += 8;
        bits -= 64;
        acc = bits > 0 ? v >>> <u64>(width - bits) : 0;
      }
    }
    if (bits > 0) {
      store<u64>(p, acc);
      p += <usize>((bits + 7) >> 3);
    }
  }
  let exceptions = 0;
  if (width < maxWidth) {
    for (let i = 0; i < len; i++) {
      const high = <u64>(load<i64>(r + (<usize>i << 3)) - base) >>> <u64>width;
      if (high != 0) {
        store<u8>(p, <u8>i);
        p = writeVarint(p + 1, high);
        exceptions++;
      }
    }
  }
  store<u8>(exceptionCountAt, <u8>exceptions);
  return p;
}

/** Reads one block of `len` values into `out` (i64), all of them, or with skip > 0 only values [skip, len) (at their
 * indexes) while the others are summed into skippedSum. Returns the position after it, or 0 if malformed. */
function unpackBlock(p: usize, end: usize, len: i32, out: usize, skip: i32): usize {
  if (p + 2 > end) return 0;
  if ((<i32>load<u8>(p) & TRUNCATED) != 0) return unpackTruncated(p, end, len, out, skip);
  const width = <i32>load<u8>(p);
  const exceptions = <i32>load<u8>(p, 1);
  if (width > 64 || exceptions > len || (exceptions > 0 && width == 64)) return 0;
  cursorStart(p + 2);
  const base = unzigzag(readVarint(end));
  if (!cursorOk()) return 0;
  p = cursorPosition();
  const bytes = (<usize>len * <usize>width + 7) >> 3;
  if (bytes > end - p) return 0;
  if (width == 0) {
    for (let i = 0; i < len; i++) store<i64>(out + (<usize>i << 3), base);
  } else if (width <= 56) {
    const mask: u64 = (<u64>1 << <u64>width) - 1;
    let bit: usize = 0;
    for (let i = 0; i < len; i++) {
      const v = (load<u64>(p + (bit >>> 3)) >>> <u64>(bit & 7)) & mask;
      store<i64>(out + (<usize>i << 3), base + <i64>v);
      bit += <usize>width;
    }
  } else {
    const mask: u64 = width == 64 ? <u64>-1 : (<u64>1 << <u64>width) - 1;
    let bit: usize = 0;
    for (let i = 0; i < len; i++) {
      const at = p + (bit >>> 3);
      const shift = <u64>(bit & 7);
      let v = load<u64>(at) >>> shift;
      if (shift != 0) v |= load<u64>(at + 8) << (64 - shift);
      store<i64>(out + (<usize>i << 3), base + <i64>(v & mask));
      bit += <usize>width;
    }
  }
  p += bytes;
  let sum: i64 = 0;
  for (let i = 0; i < skip; i++) sum += load<i64>(out + (<usize>i << 3)); // (fixed-width unpacking is cheap)
  if (exceptions > 0) {
    cursorStart(p);
    for (let e = 0; e < exceptions; e++) {
      const index = readByte(end);
      const high = readVarint(end);
      if (!cursorOk() || index >= <u32>len || high == 0) return 0;
      const at = out + (<usize>index << 3);
      if (index < <u32>skip) sum += <i64>(high << <u64>width);
      else store<i64>(at, load<i64>(at) + <i64>(high << <u64>width));
    }
    p = cursorPosition();
  }
  if (skip > 0) skippedSum = sum;
  return p;
}

/** The average step (x[n-1] - x[0]) / (n - 1) rounded to nearest, so jitter at the ends does not tilt the
 * step-residual mode's residuals. */
function roundedStep(x: usize, n: i32): i64 {
  if (n < 2) return 0;
  const span = load<i64>(x + (<usize>(n - 1) << 3)) - load<i64>(x);
  const intervals = <i64>(n - 1);
  let step = span / intervals;
  const remainder = span - step * intervals;
  if (remainder * 2 >= intervals) step++;
  else if (remainder * 2 <= -intervals) step--;
  return step;
}

/** Steps over one block of `len` values without unpacking it. Returns the position after it, or 0 if malformed. */
function skipBlock(p: usize, end: usize, len: i32): usize {
  if (p + 2 > end) return 0;
  if ((<i32>load<u8>(p) & TRUNCATED) != 0) return unpackTruncated(p, end, len, 0, 0);
  const width = <i32>load<u8>(p);
  const exceptions = <i32>load<u8>(p, 1);
  if (width > 64 || exceptions > len) return 0;
  cursorStart(p + 2);
  readVarint(end);
  if (!cursorOk()) return 0;
  const packed = cursorPosition();
  const bytes = (<usize>len * <usize>width + 7) >> 3;
  if (bytes > end - packed) return 0;
  cursorStart(packed + bytes);
  for (let e = 0; e < exceptions; e++) {
    readByte(end);
    readVarint(end);
  }
  return cursorOk() ? cursorPosition() : 0;
}

/** Encodes n i64 values at x with the given residual mode; `residuals` is n*8 bytes of work space. With
 * `checkpoints`, delta and delta-of-delta blocks after the first start with the running state (zigzag varints of
 * x[b-1] - x0, and for delta-of-delta x[b-1] - x[b-2]) so a range decode can skip whole blocks. Returns end. */
export function encodeIntSeq(x: usize, n: i32, mode: i32, p: usize, residuals: usize, checkpoints: bool): usize {
  let r = residuals;
  let count = n;
  if (mode == MODE_RAW) {
    r = x;
  } else {
    const x0 = load<i64>(x);
    p = writeVarint(p, zigzag(x0));
    if (mode == MODE_DELTA) {
      for (let i = 1; i < n; i++) {
        const at = x + (<usize>i << 3);
        store<i64>(r + (<usize>(i - 1) << 3), load<i64>(at) - load<i64>(at - 8));
      }
      count = n - 1;
    } else if (mode == MODE_DELTA_OF_DELTA) {
      if (n >= 2) {
        let previousDelta = load<i64>(x + 8) - x0;
        p = writeVarint(p, zigzag(previousDelta));
        for (let i = 2; i < n; i++) {
          const at = x + (<usize>i << 3);
          const delta = load<i64>(at) - load<i64>(at - 8);
          store<i64>(r + (<usize>(i - 2) << 3), delta - previousDelta);
          previousDelta = delta;
        }
        count = n - 2;
      } else count = 0;
    } else {
      const step = roundedStep(x, n);
      p = writeVarint(p, zigzag(step));
      let expected = x0;
      for (let i = 1; i < n; i++) {
        expected += step;
        store<i64>(r + (<usize>(i - 1) << 3), load<i64>(x + (<usize>i << 3)) - expected);
      }
      count = n - 1;
    }
  }
  const first = n - count; // value index of the first residual
  const withCheckpoints = checkpoints && (mode == MODE_DELTA || mode == MODE_DELTA_OF_DELTA);
  for (let b = 0; b < count; b += BLOCK) {
    if (withCheckpoints && b > 0) {
      const before = x + (<usize>(b + first - 1) << 3);
      p = writeVarint(p, zigzag(load<i64>(before) - load<i64>(x)));
      if (mode == MODE_DELTA_OF_DELTA) p = writeVarint(p, zigzag(load<i64>(before) - load<i64>(before - 8)));
    }
    p = packBlock(r + (<usize>b << 3), min<i32>(BLOCK, count - b), p);
  }
  return p;
}

/** Output of decodeIntSeq: AS_I64 keeps integers; an exponent e >= 0 stores f64(value) / 10^e (decimal codec). */
export const AS_I64: i32 = -1;
const BLOCK_VALUES = memory.data(BLOCK * 8 + 16, 16);
const POW10 = memory.data<f64>([
  1e0, 1e1, 1e2, 1e3, 1e4, 1e5, 1e6, 1e7, 1e8, 1e9, 1e10, 1e11, 1e12, 1e13, 1e14, 1e15, 1e16, 1e17, 1e18,
]);
export const MAX_EXPONENT: i32 = 18;

@inline export function pow10(e: i32): f64 {
  return load<f64>(POW10 + (<usize>e << 3));
}

/** Stores len integers from `from` (first mapped y -> offset + y*scale, wrapping, for a scaled sequence) at `to` as
 * i64, or as f64 divided by 10^exponent (two SIMD divisions at a time; each is correctly rounded, so the result is
 * bit-identical to scalar division). */
function emit(from: usize, len: i32, to: usize, exponent: i32, scale: i64, offset: i64): void {
  if (scale != 1) {
    for (let i = 0; i < len; i++) {
      const at = from + (<usize>i << 3);
      store<i64>(at, offset + load<i64>(at) * scale);
    }
  }
  if (exponent < 0) {
    memory.copy(to, from, <usize>len << 3);
  } else if (exponent == 0) {
    for (let i = 0; i < len; i++) store<f64>(to + (<usize>i << 3), <f64>load<i64>(from + (<usize>i << 3)));
  } else {
    const scale = pow10(exponent);
    const scales = f64x2.splat(scale);
    const pairs = len & ~1;
    for (let i = 0; i < pairs; i += 2) {
      const at = <usize>i << 3;
      v128.store(to + at, f64x2.div(f64x2(<f64>load<i64>(from + at), <f64>load<i64>(from + at, 8)), scales));
    }
    if (pairs < len) {
      const at = <usize>pairs << 3;
      store<f64>(to + at, <f64>load<i64>(from + at) / scale);
    }
  }
}

/** Decodes values written by encodeIntSeq into out (see AS_I64 / exponent). Each block is unpacked and integrated
 * in a small L1-resident buffer, then its values in [from, to) are written to out; only those are written (with
 * checkpoints, or in raw/step-residual mode, earlier blocks are skipped; decoding stops after `to`).
 * Returns the position after the last block read (the section end for a full decode), or 0 if malformed. */
export function decodeIntSeq(
  p: usize, end: usize, n: i32, mode: i32, out: usize, exponent: i32, checkpoints: bool, from: i32, to: i32,
  scale: i64 = 1, offset: i64 = 0,
): usize {
  let previous: i64 = 0;
  let param: i64 = 0;
  let first = 0;
  if (mode != MODE_RAW) {
    cursorStart(p);
    previous = unzigzag(readVarint(end));
    store<i64>(BLOCK_VALUES, previous);
    first = 1;
    if (mode == MODE_DELTA_OF_DELTA) {
      if (n >= 2) {
        param = unzigzag(readVarint(end));
        store<i64>(BLOCK_VALUES + 8, previous + param);
        first = 2;
      }
    } else if (mode == MODE_STEP_RESIDUAL) {
      param = unzigzag(readVarint(end));
    } else if (mode != MODE_DELTA) return 0;
    if (!cursorOk()) return 0;
    p = cursorPosition();
    if (first > n) first = n;
    emitRange(BLOCK_VALUES, 0, first, from, to, out, exponent, scale, offset);
  }
  const x0 = previous;
  if (mode == MODE_DELTA_OF_DELTA) previous += param;
  const withCheckpoints = checkpoints && (mode == MODE_DELTA || mode == MODE_DELTA_OF_DELTA);
  const canSkip = withCheckpoints || mode == MODE_RAW || mode == MODE_STEP_RESIDUAL;
  let stateKnown = true;
  for (let b = first; b < n; b += BLOCK) {
    if (b >= to) return p;
    const len = min<i32>(BLOCK, n - b);
    if (withCheckpoints && b > first) {
      cursorStart(p);
      const checkpoint = x0 + unzigzag(readVarint(end));
      const checkpointDelta = mode == MODE_DELTA_OF_DELTA ? unzigzag(readVarint(end)) : 0;
      if (!cursorOk()) return 0;
      if (stateKnown && (checkpoint != previous || (mode == MODE_DELTA_OF_DELTA && checkpointDelta != param))) return 0;
      p = cursorPosition();
      previous = checkpoint;
      if (mode == MODE_DELTA_OF_DELTA) param = checkpointDelta;
      stateKnown = true;
    }
    if (canSkip && b + len <= from) {
      p = skipBlock(p, end, len);
      if (p == 0) return 0;
      stateKnown = false;
      continue;
    }
    // In delta mode a block that starts before the range only needs the sum of the residuals before it.
    const skip = mode == MODE_DELTA && from > b ? min<i32>(from - b, len) : 0;
    p = unpackBlock(p, end, len, BLOCK_VALUES, skip);
    if (p == 0) return 0;
    if (mode == MODE_DELTA) {
      if (skip > 0) previous += skippedSum;
      for (let i = skip; i < len; i++) {
        const at = BLOCK_VALUES + (<usize>i << 3);
        previous += load<i64>(at);
        store<i64>(at, previous);
      }
    } else if (mode == MODE_DELTA_OF_DELTA) {
      for (let i = 0; i < len; i++) {
        const at = BLOCK_VALUES + (<usize>i << 3);
        param += load<i64>(at);
        previous += param;
        store<i64>(at, previous);
      }
    } else if (mode == MODE_STEP_RESIDUAL) {
      let expected = x0 + <i64>(b - 1) * param;
      for (let i = 0; i < len; i++) {
        const at = BLOCK_VALUES + (<usize>i << 3);
        expected += param;
        store<i64>(at, expected + load<i64>(at));
      }
    }
    emitRange(BLOCK_VALUES, b, len, from, to, out, exponent, scale, offset);
  }
  return p;
}

/** emit() of the values with indexes in [from, to) among the `len` values of index `b` onwards at `block`. */
@inline function emitRange(
  block: usize, b: i32, len: i32, from: i32, to: i32, out: usize, exponent: i32, scale: i64, offset: i64,
): void {
  const lo = max<i32>(b, from);
  const hi = min<i32>(b + len, to);
  if (hi > lo) emit(block + (<usize>(lo - b) << 3), hi - lo, out + (<usize>lo << 3), exponent, scale, offset);
}

/** Picks the mode whose residuals need the fewest bits under per-block frame of reference, estimated in one pass
 * without exceptions: delta, delta-of-delta and raw (or step-residual instead of raw when `stepResidual`); ties
 * prefer the earlier one. Encoding every mode to compare exact sizes cost twice the whole encode. */
export function bestIntSeqMode(x: usize, n: i32, stepResidual: bool): i32 {
  if (n < 3) return MODE_DELTA;
  const step = stepResidual ? roundedStep(x, n) : 0;
  const x0 = load<i64>(x);
  let otherBits: u64 = 0; // raw or step-residual
  let deltaBits: u64 = 0;
  let dodBits: u64 = 0;
  let previous = load<i64>(x + 8);
  let previousDelta = previous - x0;
  let expected = x0 + step;
  for (let b = 2; b < n; b += BLOCK) {
    const stop = min<i32>(n, b + BLOCK);
    let otherLow = previous - expected;
    let otherHigh = otherLow;
    let deltaLow = previousDelta;
    let deltaHigh = previousDelta;
    let dodLow: i64 = i64.MAX_VALUE;
    let dodHigh: i64 = i64.MIN_VALUE;
    for (let i = b; i < stop; i++) {
      const v = load<i64>(x + (<usize>i << 3));
      const delta = v - previous;
      const dod = delta - previousDelta;
      expected += step;
      const other = v - expected;
      previous = v;
      previousDelta = delta;
      otherLow = other < otherLow ? other : otherLow;
      otherHigh = other > otherHigh ? other : otherHigh;
      deltaLow = delta < deltaLow ? delta : deltaLow;
      deltaHigh = delta > deltaHigh ? delta : deltaHigh;
      dodLow = dod < dodLow ? dod : dodLow;
      dodHigh = dod > dodHigh ? dod : dodHigh;
    }
    const len = <u64>(stop - b);
    otherBits += len * <u64>bitWidth(<u64>(otherHigh - otherLow));
    deltaBits += len * <u64>bitWidth(<u64>(deltaHigh - deltaLow));
    dodBits += len * <u64>bitWidth(<u64>(dodHigh - dodLow));
  }
  if (deltaBits <= dodBits && deltaBits <= otherBits) return MODE_DELTA;
  if (dodBits <= otherBits) return MODE_DELTA_OF_DELTA;
  return stepResidual ? MODE_STEP_RESIDUAL : MODE_RAW;
}

/** Mode-byte flag of a scaled sequence: varint g (>= 2) and zigzag varint x0 follow, and the sequence holds
 * y[i] = (x[i] - x0) / g (exact). Quantised data (byte counters in 512s, memory in pages) loses log2(g) bits a value. */
const SCALED: i32 = 0x80;
const MAX_SCALE: u64 = <u64>1 << 62;

function gcd(a: u64, b: u64): u64 {
  while (b != 0) {
    const t = a % b;
    a = b;
    b = t;
  }
  return a;
}

/** Greatest common divisor of every x[i] - x[0] (wrapping, by magnitude); 0 when all are equal, 1 when none. */
function commonStep(x: usize, n: i32): u64 {
  const x0 = load<i64>(x);
  let g: u64 = 0;
  for (let i = 1; i < n; i++) {
    const d = load<i64>(x + (<usize>i << 3)) - x0;
    if (d == 0) continue;
    const magnitude: u64 = d < 0 ? <u64>0 - <u64>d : <u64>d;
    g = g == 0 ? magnitude : gcd(magnitude % g, g);
    if (g == 1) return 1;
  }
  return g;
}

/** Writes [mode byte (| SCALED: varint g, zigzag varint x0)][sequence with checkpoints] in the mode bestIntSeqMode
 * picks, scaled down by the common step of the values when they share one. `work` needs n*16 bytes. Returns end. */
export function encodeIntSeqBest(x: usize, n: i32, p: usize, work: usize): usize {
  const g = commonStep(x, n);
  let seq = x;
  let flags = 0;
  const modeAt = p;
  p++;
  if (g >= 2 && g < MAX_SCALE) {
    const x0 = load<i64>(x);
    seq = work + (<usize>n << 3);
    for (let i = 0; i < n; i++) store<i64>(seq + (<usize>i << 3), (load<i64>(x + (<usize>i << 3)) - x0) / <i64>g);
    flags = SCALED;
    p = writeVarint(writeVarint(p, g), zigzag(x0));
  }
  const mode = bestIntSeqMode(seq, n, false);
  store<u8>(modeAt, <u8>(mode | flags));
  return encodeIntSeq(seq, n, mode, p, work, true);
}

/** Decodes what encodeIntSeqBest wrote (output and range as in decodeIntSeq). Returns end or 0. */
export function decodeIntSeqBest(p: usize, end: usize, n: i32, out: usize, exponent: i32, from: i32, to: i32): usize {
  if (p >= end) return 0;
  const mode = <i32>load<u8>(p) & ~SCALED;
  if (mode > MODE_DELTA_OF_DELTA) return 0;
  let scale: i64 = 1;
  let offset: i64 = 0;
  p++;
  if ((<i32>load<u8>(p - 1) & SCALED) != 0) {
    cursorStart(p);
    const g = readVarint(end);
    offset = unzigzag(readVarint(end));
    if (!cursorOk() || g < 2 || g >= MAX_SCALE) return 0;
    scale = <i64>g;
    p = cursorPosition();
  }
  return decodeIntSeq(p, end, n, mode, out, exponent, true, from, to, scale, offset);
}
