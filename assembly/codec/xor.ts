// Gorilla XOR codec for f64 bit patterns (LSB-first bit stream): the always-applicable float codec, lossless for every
// bit pattern (NaN payloads, -0, subnormals) because it only ever XORs raw 64-bit words.

let writeAt: usize = 0;
let writeAcc: u64 = 0;
let writeBits: i32 = 0;

/** Appends the low `count` bits (1..64) of v; v must have no bits above them. */
@inline function writeBitsOf(v: u64, count: i32): void {
  writeAcc |= v << <u64>writeBits;
  const total = writeBits + count;
  if (total >= 64) {
    store<u64>(writeAt, writeAcc);
    writeAt += 8;
    writeBits = total - 64;
    writeAcc = writeBits > 0 ? v >>> <u64>(count - writeBits) : 0;
  } else writeBits = total;
}

/** Upper bound of the bytes encodeXor writes for n values. */
export function xorMaxBytes(n: i32): usize {
  return <usize>n * 10 + 16;
}

/** A lower bound of encodeXor's output in bytes (every changed value costs at least 2 control bits plus its
 * significant bits), cheap enough to skip XOR when another codec is already smaller. */
export function xorMinBytes(values: usize, n: i32): usize {
  let bits: u64 = 64;
  let previous = load<u64>(values);
  for (let i = 1; i < n; i++) {
    const current = load<u64>(values + (<usize>i << 3));
    const x = current ^ previous;
    previous = current;
    bits += x == 0 ? 1 : 66 - clz<u64>(x) - ctz<u64>(x);
  }
  return <usize>((bits + 7) >> 3);
}

/** Encodes n f64 bit patterns at `values`; returns end. */
export function encodeXor(values: usize, n: i32, p: usize): usize {
  writeAt = p;
  writeAcc = 0;
  writeBits = 0;
  let previous = load<u64>(values);
  writeBitsOf(previous, 64);
  let windowLeading = -1;
  let windowTrailing = 0;
  for (let i = 1; i < n; i++) {
    const current = load<u64>(values + (<usize>i << 3));
    const x = current ^ previous;
    previous = current;
    if (x == 0) {
      writeBitsOf(0, 1);
      continue;
    }
    let leading = <i32>clz<u64>(x);
    const trailing = <i32>ctz<u64>(x);
    if (windowLeading >= 0 && leading >= windowLeading && trailing >= windowTrailing) {
      writeBitsOf(1, 2); // bits "1,0": reuse the previous window
      writeBitsOf(x >>> <u64>windowTrailing, 64 - windowLeading - windowTrailing);
    } else {
      if (leading > 31) leading = 31;
      const significant = 64 - leading - trailing;
      // bits "1,1", 5 bits leading zeros, 6 bits (significant - 1)
      writeBitsOf(3 | (<u64>leading << 2) | (<u64>(significant - 1) << 7), 13);
      writeBitsOf(x >>> <u64>trailing, significant);
      windowLeading = leading;
      windowTrailing = trailing;
    }
  }
  if (writeBits > 0) {
    store<u64>(writeAt, writeAcc);
    writeAt += <usize>((writeBits + 7) >> 3);
  }
  return writeAt;
}

/** Reads `count` (1..64) bits at bit offset `bit` from `base`. */
@inline function readBitsAt(base: usize, bit: usize, count: i32): u64 {
  const at = base + (bit >>> 3);
  const shift = <u64>(bit & 7);
  let v = load<u64>(at) >>> shift;
  if (count > 56 && shift != 0) v |= load<u64>(at + 8) << (64 - shift);
  return count == 64 ? v : v & ((<u64>1 << <u64>count) - 1);
}

/** Decodes n values into out (u64 bit patterns). Reads may run up to 16 bytes past `end` (callers keep slack);
 * returns the position after the stream, or 0 if it is malformed or runs past `end`. */
export function decodeXor(p: usize, end: usize, n: i32, out: usize): usize {
  if (end < p || end - p < 8) return 0;
  const limit: usize = (end - p) << 3;
  let bit: usize = 64;
  let previous = load<u64>(p);
  store<u64>(out, previous);
  let windowLeading = 0;
  let windowTrailing = 0;
  let windowSize = -1;
  for (let i = 1; i < n; i++) {
    if (bit >= limit) return 0;
    const control = readBitsAt(p, bit, 13);
    if ((control & 1) == 0) {
      bit += 1;
    } else if ((control & 2) == 0) {
      if (windowSize < 0) return 0;
      previous ^= readBitsAt(p, bit + 2, windowSize) << <u64>windowTrailing;
      bit += 2 + <usize>windowSize;
    } else {
      windowLeading = <i32>((control >>> 2) & 31);
      windowSize = <i32>((control >>> 7) & 63) + 1;
      windowTrailing = 64 - windowLeading - windowSize;
      if (windowTrailing < 0) return 0;
      previous ^= readBitsAt(p, bit + 13, windowSize) << <u64>windowTrailing;
      bit += 13 + <usize>windowSize;
    }
    store<u64>(out + (<usize>i << 3), previous);
  }
  if (bit > limit) return 0;
  return p + ((bit + 7) >>> 3);
}
