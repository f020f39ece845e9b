// Timestamp section codecs over sorted int64 timestamps: fixed step, delta-of-delta, delta and step-residual packed
// sequences, and plain delta varints; the encoder keeps the smaller of varints and the best-estimated packed mode.
import { writeVarint, cursorStart, cursorPosition, cursorOk, readVarint } from "./varint";
import {
  encodeIntSeq, decodeIntSeq, bestIntSeqMode, AS_I64, MODE_DELTA, MODE_DELTA_OF_DELTA, MODE_STEP_RESIDUAL,
} from "./intpack";

export const TS_FIXED_STEP: i32 = 1;
export const TS_DELTA_OF_DELTA: i32 = 2;
export const TS_DELTA: i32 = 3;
export const TS_STEP_RESIDUAL: i32 = 4;
export const TS_DELTA_VARINT: i32 = 5;

let chosenCodec: i32 = 0;

/** The codec id the last encodeTimestamps call picked. */
export function timestampCodecChosen(): i32 {
  return chosenCodec;
}

@inline function at(ts: usize, i: i32): i64 {
  return load<i64>(ts + (<usize>i << 3));
}

/** Encodes n sorted timestamps; `work` needs candidateBytes + n*8 bytes. Returns end. */
export function encodeTimestamps(ts: usize, n: i32, p: usize, work: usize, candidateBytes: usize): usize {
  const step: i64 = n > 1 ? at(ts, 1) - at(ts, 0) : 0;
  let fixed = true;
  for (let i = 2; i < n; i++) {
    if (at(ts, i) - at(ts, i - 1) != step) {
      fixed = false;
      break;
    }
  }
  if (fixed) {
    chosenCodec = TS_FIXED_STEP;
    return writeVarint(p, <u64>step);
  }
  let end = p;
  for (let i = 1; i < n; i++) end = writeVarint(end, <u64>(at(ts, i) - at(ts, i - 1)));
  chosenCodec = TS_DELTA_VARINT;
  const mode = bestIntSeqMode(ts, n, true);
  const candidateEnd = encodeIntSeq(ts, n, mode, work, work + candidateBytes, false);
  if (candidateEnd - work >= end - p) return end;
  memory.copy(p, work, candidateEnd - work);
  chosenCodec = mode == MODE_DELTA ? TS_DELTA : mode == MODE_DELTA_OF_DELTA ? TS_DELTA_OF_DELTA : TS_STEP_RESIDUAL;
  return p + (candidateEnd - work);
}

/** Decodes n timestamps (first one `first`, from the header) into out; returns end or 0 if malformed. */
export function decodeTimestamps(p: usize, end: usize, codec: i32, n: i32, first: i64, out: usize): usize {
  if (codec == TS_FIXED_STEP || codec == TS_DELTA_VARINT) {
    cursorStart(p);
    let t = first;
    store<i64>(out, t);
    if (codec == TS_FIXED_STEP) {
      const step = <i64>readVarint(end);
      for (let i = 1; i < n; i++) {
        t += step;
        store<i64>(out + (<usize>i << 3), t);
      }
    } else {
      for (let i = 1; i < n; i++) {
        t += <i64>readVarint(end);
        store<i64>(out + (<usize>i << 3), t);
      }
    }
    return cursorOk() ? cursorPosition() : 0;
  }
  if (codec == TS_DELTA_OF_DELTA) return decodeIntSeq(p, end, n, MODE_DELTA_OF_DELTA, out, AS_I64, false, 0, n);
  if (codec == TS_DELTA) return decodeIntSeq(p, end, n, MODE_DELTA, out, AS_I64, false, 0, n);
  if (codec == TS_STEP_RESIDUAL) return decodeIntSeq(p, end, n, MODE_STEP_RESIDUAL, out, AS_I64, false, 0, n);
  return 0;
}

export function isTimestampCodec(codec: i32): bool {
  return codec >= TS_FIXED_STEP && codec <= TS_DELTA_VARINT;
}
