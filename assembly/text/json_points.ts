// The numbers of Prometheus JSON responses, written as ASCII into linear memory for the response writer
// (src/server/prometheus-json.ts): the points of one series of a matrix, `[<ts>,"<value>"]` comma-separated, in one
// call, and single values (instant vectors, scalars); so a query shape's first responses do not wait for V8 to collect
// type feedback and optimise a number writer in JS.
//
// Timestamps as Prometheus' MarshalTimestamp (Unix seconds, "." and three digits when the ms are not whole seconds);
// values as Go's strconv.FormatFloat(v, 'f', -1, 64), as Prometheus' MarshalFloat spells them where that is the
// shortest round-trip digits: NaN, +Inf, -Inf, 0 and -0; from 8 up to 2^53 the exact digit loop of the JS writer
// (writeFixed there, which documents why it is exact); from 1e-6 up to 8 the Schubfach of shortest_decimal.ts. The
// other values (exponent forms, integers from 2^53, the rare ties of the digit loop) are left to JS: the call stops
// before such a point and JS writes it with formatFloat.

import { shortestFixed, shortestFixedOut } from "./shortest_decimal";

const TWO_53: f64 = 9007199254740992.0;

/** Where jsonPoints leaves the index it stopped at (an i32; a static region that never moves). */
const STOP = memory.data(8, 8);

/** The address of jsonPoints' stop index. */
export function jsonPointsStopAt(): usize {
  return STOP;
}

/**
 * Writes points from..n-1 of the f64 arrays `ts` (ms) and `values` at `out` (room for 64 bytes per point: ",[", a
 * timestamp of at most 21, ',"', a value of at most 26, '"]'), each but point 0 after a comma, and returns the bytes
 * written. Leaves at jsonPointsStopAt() the index it stopped at: n, or the first point it leaves to JS (a value
 * outside the forms above, or a timestamp not below 2^53 ms), which it has not started.
 */
export function jsonPoints(ts: usize, values: usize, from: i32, n: i32, out: usize): i32 {
  let p = out;
  let i = from;
  for (; i < n; i++) {
    const ms = load<f64>(ts + (<usize>i << 3));
    if (!(Math.abs(ms) < TWO_53)) break;
    const start = p;
    if (i > 0) store<u8>(p++, 0x2c);
    store<u8>(p++, 0x5b);
    p = writeTimestamp(p, ms);
    store<u16>(p, 0x222c); // ,"
    p += 2;
    const end = writeValue(p, load<f64>(values + (<usize>i << 3)));
    if (end == 0) {
      p = start;
      break;
    }
    store<u16>(end, 0x5d22); // "]
    p = end + 2;
  }
  store<i32>(STOP, i);
  return <i32>(p - out);
}

/** Where jsonValue writes (8-byte aligned, room for the longest value and a word past it). */
const VALUE_OUT = memory.data(40, 8);

/** The address jsonValue writes at. */
export function jsonValueOut(): usize {
  return VALUE_OUT;
}

/** Writes v's text at jsonValueOut() and returns its length, or 0 for a value left to JS (see the top of this file). */
export function jsonValue(v: f64): i32 {
  const end = writeValue(VALUE_OUT, v);
  return end == 0 ? 0 : <i32>(end - VALUE_OUT);
}

/** MarshalTimestamp of ms (|ms| < 2^53): truncated to whole ms, seconds with ".ddd" when there is a fraction. */
function writeTimestamp(p: usize, ms: f64): usize {
  let t = <i64>ms;
  if (t < 0) {
    store<u8>(p++, 0x2d);
    t = -t;
  }
  const seconds = <u64>t / 1000;
  const fraction = <u32>(<u64>t - seconds * 1000);
  p = writeUint(p, seconds);
  if (fraction != 0) {
    store<u8>(p, 0x2e);
    store<u8>(p + 1, 0x30 + fraction / 100);
    store<u8>(p + 2, 0x30 + (fraction / 10) % 10);
    store<u8>(p + 3, 0x30 + fraction % 10);
    p += 4;
  }
  return p;
}

/** The value's text at p, returning its end, or 0 for a value left to JS. */
function writeValue(p: usize, v: f64): usize {
  if (v != v) {
    store<u32>(p, 0x4e614e, 0); // NaN (and one byte past it, inside the point's room)
    return p + 3;
  }
  const negative = (reinterpret<u64>(v) >> 63) != 0;
  const a = Math.abs(v);
  if (a == Infinity) {
    store<u32>(p, negative ? 0x666e492d : 0x666e492b); // -Inf / +Inf
    return p + 4;
  }
  if (a == 0) {
    if (negative) store<u8>(p++, 0x2d);
    store<u8>(p, 0x30);
    return p + 1;
  }
  if (a >= 8 && a < TWO_53) {
    if (negative) store<u8>(p++, 0x2d);
    return writeFixed(p, a);
  }
  if (a >= 1e-6 && a < 8) {
    if (negative) store<u8>(p++, 0x2d);
    const n = shortestFixed(a);
    memory.copy(p, shortestFixedOut(), <usize>n);
    return p + <usize>n;
  }
  return 0;
}

/**
 * The shortest round-trip spelling of 8 <= a < 2^53 at `p`, or 0 where it leaves it to JS (two closest candidates
 * equally far from a). All arithmetic here is exact: a = w + f with f a multiple of a's ulp 2^E (E = e - 52 >= -49),
 * so f * 10 stays below 2^53 ulps and each fraction digit and the rest g_k of f * 10^k after it come out exact;
 * h_k = ulp / 2 * 10^k is 5^k * 2^(E-1+k), exact for k <= 22. A decimal parses back to a when it lies within half an
 * ulp of it, so with k fraction digits the truncation w.d1..dk qualifies when g_k < h_k and the next decimal up when
 * 1 - g_k < h_k, both distances scaled by 10^k. (A decimal exactly half an ulp away would parse to a only if a's
 * significand were even, but it has 1 - E fraction digits, more than this loop reaches.) The first k where one
 * qualifies gives the fewest digits; where both do, the closer one (as JS and Go pick). That k's last digit is never
 * a 9 when the one up is taken, nor a 0 when the truncation is: that decimal would have qualified one digit earlier,
 * so rounding up carries nothing. One always qualifies once h_k > 1/2, i.e. once 10^k > 2^-E, so w's digits and the
 * k fraction digits are at most 17 together (the loop's cap only bounds it should that reasoning be wrong: then JS
 * spells the value).
 */
function writeFixed(p: usize, a: f64): usize {
  const w = Math.floor(a);
  p = writeUint(p, <u64>w);
  let g = a - w;
  if (g == 0) return p;
  const e = <i32>((reinterpret<u64>(a) >> 52) & 0x7ff) - 1023; // 3 <= e <= 52
  let h = reinterpret<f64>(<u64>(e - 53 + 1023) << 52); // half an ulp of a: 2^(e-53)
  store<u8>(p++, 0x2e);
  for (let k = 0; k < 20; k++) {
    const t = g * 10;
    const d = Math.floor(t);
    g = t - d;
    h *= 10;
    store<u8>(p++, 0x30 + <u32>d);
    const up = 1 - g;
    const lowIn = g < h;
    const highIn = up < h;
    if (highIn && (!lowIn || g > up)) {
      store<u8>(p - 1, 0x31 + <u32>d);
      return p;
    }
    if (lowIn) return g == up ? 0 : p;
  }
  return 0;
}

/** The decimal digits of x. */
function writeUint(p: usize, x: u64): usize {
  let digits: usize = 1;
  for (let y = x; y >= 10; y /= 10) digits++;
  const end = p + digits;
  let q = end;
  do {
    const d = x / 10;
    store<u8>(--q, 0x30 + <u32>(x - d * 10));
    x = d;
  } while (x != 0);
  return end;
}
