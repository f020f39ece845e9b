// Decimal codec (VictoriaMetrics style): f64 values that are decimals in disguise become integer mantissas with one
// shared power-of-ten exponent (value == mantissa / 10^e, checked bit-exactly per value), stored as a packed sequence.
import { encodeIntSeqBest, decodeIntSeqBest, pow10, MAX_EXPONENT } from "./intpack";

const MANTISSA_LIMIT: f64 = 9007199254740992.0; // 2^53: every mantissa must be an exact f64 integer
const NEGATIVE_ZERO: u64 = 0x8000000000000000;

/** Encodes n f64 at `values` as [exponent byte][packed mantissas], or returns 0 when some value is not an exact
 * decimal (NaN, ±Inf, -0, too many digits). `work` needs n*8 bytes for mantissas plus encodeIntSeqBest's work.
 * One pass: each value is checked bit-exactly (value == f64(m) / 10^e, the decoder's own operation) at the current
 * exponent; when a value needs a larger one, earlier mantissas are scaled by 10 (the same rational number, so the
 * correctly rounded quotient, i.e. the value, is unchanged). */
export function encodeDecimal(values: usize, n: i32, p: usize, work: usize): usize {
  const mantissas = work;
  let exponent = 0;
  let scale: f64 = 1;
  for (let i = 0; i < n; i++) {
    const v = load<f64>(values + (<usize>i << 3));
    if (!isFinite(v) || reinterpret<u64>(v) == NEGATIVE_ZERO) return 0;
    let scaled = v * scale;
    while (!(nearest(scaled) / scale == v)) {
      exponent++;
      if (exponent > MAX_EXPONENT || !(abs(scaled) < MANTISSA_LIMIT)) return 0;
      for (let j = 0; j < i; j++) {
        const at = mantissas + (<usize>j << 3);
        const m = load<i64>(at) * 10;
        if (m >= <i64>MANTISSA_LIMIT || m <= -<i64>MANTISSA_LIMIT) return 0;
        store<i64>(at, m);
      }
      scale = pow10(exponent);
      scaled = v * scale;
    }
    if (!(abs(scaled) < MANTISSA_LIMIT)) return 0;
    store<i64>(mantissas + (<usize>i << 3), <i64>nearest(scaled));
  }
  store<u8>(p, <u8>exponent);
  return encodeIntSeqBest(mantissas, n, p + 1, work + (<usize>n << 3));
}

/** Decodes into out (f64). Returns end or 0 if malformed. */
export function decodeDecimal(p: usize, end: usize, n: i32, out: usize): usize {
  if (p >= end) return 0;
  const exponent = <i32>load<u8>(p);
  if (exponent > MAX_EXPONENT) return 0;
  return decodeIntSeqBest(p + 1, end, n, out, exponent);
}
