// Decimal codec (VictoriaMetrics style, but lossless): f64 values that are decimals in disguise become integer
// mantissas with one shared power-of-ten exponent (value == mantissa / 10^e, checked bit-exactly per value), stored
// as a packed sequence; the few values that are not (staleness-marker NaN, ±Inf, -0, too many digits) are kept
// verbatim as exceptions, so one stale marker does not push a whole chunk to XOR.
import { encodeIntSeqBest, decodeIntSeqBest, pow10, MAX_EXPONENT } from "./intpack";
import { writeVarint, cursorStart, cursorPosition, cursorOk, readVarint, readBytes } from "./varint";

const MANTISSA_LIMIT: f64 = 9007199254740992.0; // 2^53: every mantissa must be an exact f64 integer
const NEGATIVE_ZERO: u64 = 0x8000000000000000;

/** Smallest exponent e >= from with v == nearest(v * 10^e) / 10^e (the decoder's own operation, compared
 * bit-exactly) and |v * 10^e| < 2^53, or -1. */
function exponentFor(v: f64, from: i32): i32 {
  if (!isFinite(v) || reinterpret<u64>(v) == NEGATIVE_ZERO) return -1;
  for (let e = from; e <= MAX_EXPONENT; e++) {
    const scaled = v * pow10(e);
    if (!(abs(scaled) < MANTISSA_LIMIT)) return -1;
    if (nearest(scaled) / pow10(e) == v) return e;
  }
  return -1;
}

/** Encodes n f64 at `values` as [exponent byte][exception count varint][(index gap varint, 8 raw bytes)...]
 * [packed mantissas]; returns end, or 0 when more than n/8 values are not decimals. `work` needs n*24 bytes.
 * One pass: when a value needs a larger exponent, earlier mantissas are multiplied by the power of ten (the same
 * rational number, so the correctly rounded quotient, i.e. the value, is unchanged) unless that would reach 2^53,
 * in which case the value becomes an exception. Exceptions repeat the previous mantissa to keep deltas small. */
export function encodeDecimal(values: usize, n: i32, p: usize, work: usize): usize {
  const mantissas = work;
  const residualWork = work + (<usize>n << 3);
  const exceptionIndexes = work + (<usize>n << 4);
  let exceptions = 0;
  let exponent = 0;
  let largest: f64 = 0;
  let previous: i64 = 0;
  for (let i = 0; i < n; i++) {
    const v = load<f64>(values + (<usize>i << 3));
    let e = exponentFor(v, exponent);
    if (e > exponent) {
      const factor = pow10(e - exponent);
      if (largest * factor < MANTISSA_LIMIT) {
        const multiplier = <i64>factor;
        for (let j = 0; j < i; j++) {
          const at = mantissas + (<usize>j << 3);
          store<i64>(at, load<i64>(at) * multiplier);
        }
        largest *= factor;
        previous *= multiplier;
        exponent = e;
      } else e = -1;
    }
    if (e < 0) {
      // Beyond an eighth of the values XOR is the better codec anyway; the cap also bounds the output size.
      if (exceptions >= n >> 3) return 0;
      store<i32>(exceptionIndexes + (<usize>exceptions << 2), i);
      exceptions++;
      store<i64>(mantissas + (<usize>i << 3), previous);
      continue;
    }
    const m = nearest(v * pow10(exponent));
    store<i64>(mantissas + (<usize>i << 3), <i64>m);
    previous = <i64>m;
    if (abs(m) > largest) largest = abs(m);
  }
  store<u8>(p, <u8>exponent);
  p = writeVarint(p + 1, <u64>exceptions);
  let last = 0;
  for (let k = 0; k < exceptions; k++) {
    const index = load<i32>(exceptionIndexes + (<usize>k << 2));
    p = writeVarint(p, <u64>(index - last));
    store<u64>(p, load<u64>(values + (<usize>index << 3)));
    p += 8;
    last = index;
  }
  return encodeIntSeqBest(mantissas, n, p, residualWork);
}

/** Walks the exception list at the cursor; when `out` is nonzero, stores each raw value at its index. Returns false
 * if an index is out of order or out of range or the list runs past `end`. */
function walkExceptions(count: u64, n: i32, end: usize, out: usize): bool {
  let index: u64 = 0;
  for (let k: u64 = 0; k < count; k++) {
    const gap = readVarint(end);
    const raw = readBytes(8, end);
    if (!cursorOk() || (k > 0 && gap == 0)) return false;
    index += gap;
    if (index >= <u64>n) return false;
    if (out != 0) store<u64>(out + (<usize>index << 3), load<u64>(raw));
  }
  return true;
}

/** Decodes into out (f64), at least the values [from, to) (see decodeIntSeq). Returns end or 0 if malformed. */
export function decodeDecimal(p: usize, end: usize, n: i32, out: usize, from: i32, to: i32): usize {
  if (p >= end) return 0;
  const exponent = <i32>load<u8>(p);
  if (exponent > MAX_EXPONENT) return 0;
  cursorStart(p + 1);
  const count = readVarint(end);
  if (!cursorOk() || count > <u64>n) return 0;
  const exceptionsStart = cursorPosition();
  if (!walkExceptions(count, n, end, 0)) return 0;
  const after = decodeIntSeqBest(cursorPosition(), end, n, out, exponent, from, to);
  if (after == 0 || count == 0) return after;
  cursorStart(exceptionsStart);
  walkExceptions(count, n, end, out);
  return after;
}
