// Shortest round-trip decimal text of doubles 1e-6 <= v < 8 (Schubfach, R. Giulietti; as in A. Bolz's C++ port), written
// as ASCII in Go's strconv.FormatFloat(v, 'f', -1, 64) form for the JSON number writer (json_points.ts).
//
// Hand-written because it is a hot path (a rate or ratio matrix writes one such value per point) and no library
// produces the digits into a buffer without first making a JS string (String(v) and a byte copy: ~120 ns and a heap
// string per value).
// The range keeps it small and exact: there the power of ten Schubfach multiplies by is 10^n with 16 <= n <= 22, and
// 5^n < 2^64, so the 128-bit constant of the general algorithm is 5^n in its top 64 bits and zeros below, and every
// product here is computed exactly (64 x 64 -> 128 bits from 32-bit halves).

/** The text of the last shortestFixed call: at most "0." + 5 zeros + 17 digits (8-byte aligned for word reads). */
const OUT = memory.data(32, 8);

/** Where shortestFixed writes. A static region: it never moves. */
export function shortestFixedOut(): usize {
  return OUT;
}

/** 5^16 .. 5^22, each shifted to put its top bit at bit 63 (the top half of Schubfach's g for 10^n), by n - 16. */
const G = memory.data<u64>([
  0x8e1bc9bf04000000, 0xb1a2bc2ec5000000, 0xde0b6b3a76400000, 0x8ac7230489e80000, 0xad78ebc5ac620000,
  0xd8d726b7177a8000, 0x878678326eac9000,
]);

/**
 * Writes the shortest decimal that parses back to v (the closest such one; on a tie the one with the even last
 * digit), as Go's 'f' form, at shortestFixedOut() and returns its length. Only for finite 1e-6 <= v < 8.
 */
export function shortestFixed(v: f64): i32 {
  const bits = reinterpret<u64>(v);
  const fraction = bits & 0xfffffffffffff;
  const biased = <i32>(bits >> 52);
  const c: u64 = fraction | 0x10000000000000;
  const q = biased - 1075; // v = c * 2^q, -72 <= q <= -50 in this range
  const even = (c & 1) == 0; // then decimals on the interval's ends parse to v too (ties round to even)
  const lowerCloser = fraction == 0; // at a power of two the next double down is half as far
  // k = floor(log10(2^q)), or of 3/4 2^q when the lower end is closer: the decimal exponent of the candidates
  const k = (q * 1262611 - (lowerCloser ? 524031 : 0)) >> 22;
  const n = -k; // 16 <= n <= 22
  const h = q + ((n * 1741647) >> 19) + 1; // 2^h aligns c * 2^q * 10^n with g's binary point: 1 <= h <= 4
  const g = load<u64>(G + ((<usize>(n - 16)) << 3));
  // v's rounding interval [4c - 2 (or - 1 at a power of two), 4c + 2] * 2^(q-2) times 10^n, as 128-bit products
  // P = g * (4c << h) and P -+ g * (2 << h) (or g * (1 << h)), all exact; then floor(x / 2^64) with the lowest bit
  // set when there is a remainder ("round to odd": the remainder survives the later divisions by 4 and 40, which
  // is what Schubfach's interval tests need)
  const cp = c << (h + 2);
  const g0 = g & 0xffffffff;
  const g1 = g >> 32;
  const c0 = cp & 0xffffffff;
  const c1 = cp >> 32;
  const p00 = g0 * c0;
  const p01 = g0 * c1;
  const p10 = g1 * c0;
  const mid = (p00 >> 32) + (p01 & 0xffffffff) + (p10 & 0xffffffff);
  const hi = g1 * c1 + (p01 >> 32) + (p10 >> 32) + (mid >> 32);
  const lo = (mid << 32) | (p00 & 0xffffffff);
  const dLo = g << (h + 1);
  const dHi = g >> (63 - h);
  const rLo = lo + dLo;
  const vbr = (hi + dHi + <u64>(rLo < lo)) | <u64>(rLo != 0);
  const eLo = lowerCloser ? g << h : dLo;
  const eHi = lowerCloser ? g >> (64 - h) : dHi;
  const lLo = lo - eLo;
  const vbl = (hi - eHi - <u64>(lo < eLo)) | <u64>(lLo != 0);
  const vb = hi | <u64>(lo != 0);
  const lower = vbl + <u64>!even;
  const upper = vbr - <u64>!even;
  // candidates: multiples of 10^(k+1) first (one digit fewer), then of 10^k; at most one of u, w is inside
  let s = vb >> 2;
  let e = k;
  let done = false;
  if (s >= 10) {
    const sp = s / 10;
    const upInside = lower <= 40 * sp;
    const wpInside = 40 * sp + 40 <= upper;
    if (upInside != wpInside) {
      s = sp + <u64>wpInside;
      e = k + 1;
      done = true;
    }
  }
  if (!done) {
    const uInside = lower <= 4 * s;
    const wInside = 4 * s + 4 <= upper;
    if (uInside != wInside) {
      s += <u64>wInside;
    } else {
      const mid = 4 * s + 2;
      s += <u64>(vb > mid || (vb == mid && (s & 1) != 0));
    }
  }
  // s * 10^e with s < 10^17, as two 32-bit halves of 9 and 8 digits; trailing zeros are dropped from the text
  const hiPart = <u32>(s / 100000000);
  const loPart = <u32>(s - <u64>hiPart * 100000000);
  const digits = hiPart != 0 ? decimalLength(hiPart) + 8 : decimalLength(loPart);
  const point = digits + e; // digits before the decimal point: at most 1 since v < 8
  let p = OUT;
  let end: usize;
  if (point <= 0) {
    store<u16>(p, 0x2e30); // "0."
    p += 2;
    for (let i = point; i < 0; i++) store<u8>(p++, 0x30);
    end = writeDigits(p, hiPart, loPart, digits);
  } else {
    // point == 1: the first digit, the point, the rest
    end = writeDigits(p + 1, hiPart, loPart, digits);
    store<u8>(p, load<u8>(p + 1));
    store<u8>(p + 1, 0x2e);
  }
  while (load<u8>(end - 1) == 0x30) end--;
  if (load<u8>(end - 1) == 0x2e) end--;
  return <i32>(end - OUT);
}

@inline function decimalLength(x: u32): i32 {
  if (x < 100000) return x < 100 ? (x < 10 ? 1 : 2) : x < 1000 ? 3 : x < 10000 ? 4 : 5;
  return x < 10000000 ? (x < 1000000 ? 6 : 7) : x < 100000000 ? 8 : 9;
}

/** "00" "01" .. "99": two digits per table load. */
const PAIRS = memory.data<u8>([
  48, 48, 48, 49, 48, 50, 48, 51, 48, 52, 48, 53, 48, 54, 48, 55, 48, 56, 48, 57,
  49, 48, 49, 49, 49, 50, 49, 51, 49, 52, 49, 53, 49, 54, 49, 55, 49, 56, 49, 57,
  50, 48, 50, 49, 50, 50, 50, 51, 50, 52, 50, 53, 50, 54, 50, 55, 50, 56, 50, 57,
  51, 48, 51, 49, 51, 50, 51, 51, 51, 52, 51, 53, 51, 54, 51, 55, 51, 56, 51, 57,
  52, 48, 52, 49, 52, 50, 52, 51, 52, 52, 52, 53, 52, 54, 52, 55, 52, 56, 52, 57,
  53, 48, 53, 49, 53, 50, 53, 51, 53, 52, 53, 53, 53, 54, 53, 55, 53, 56, 53, 57,
  54, 48, 54, 49, 54, 50, 54, 51, 54, 52, 54, 53, 54, 54, 54, 55, 54, 56, 54, 57,
  55, 48, 55, 49, 55, 50, 55, 51, 55, 52, 55, 53, 55, 54, 55, 55, 55, 56, 55, 57,
  56, 48, 56, 49, 56, 50, 56, 51, 56, 52, 56, 53, 56, 54, 56, 55, 56, 56, 56, 57,
  57, 48, 57, 49, 57, 50, 57, 51, 57, 52, 57, 53, 57, 54, 57, 55, 57, 56, 57, 57
]);

/**
 * The `digits` decimal digits of hi * 10^8 + lo at p (lo < 10^8 takes 8 digits when hi is not zero); returns the end.
 * Divisions by 100 as multiply-shifts (exact for x < 2^32).
 */
@inline function writeDigits(p: usize, hi: u32, lo: u32, digits: i32): usize {
  const end = p + <usize>digits;
  let q = end;
  let x = lo;
  if (hi != 0) {
    for (let i = 0; i < 4; i++) {
      const d = <u32>((<u64>x * 1374389535) >> 37);
      q -= 2;
      store<u16>(q, load<u16>(PAIRS + ((<usize>(x - d * 100)) << 1)));
      x = d;
    }
    x = hi;
  }
  while (q - p >= 2) {
    const d = <u32>((<u64>x * 1374389535) >> 37);
    q -= 2;
    store<u16>(q, load<u16>(PAIRS + ((<usize>(x - d * 100)) << 1)));
    x = d;
  }
  if (q > p) store<u8>(p, 0x30 + x);
  return end;
}
