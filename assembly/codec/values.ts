// Value section codecs per kind and the encoder's choice among them (smallest wins): XOR / decimal / runs for f64,
// packed integer sequences / runs for i64 and u64, bitmap / runs for bool. Bytes and strings are encoded in TypeScript.
import { encodeXor, decodeXor, xorMinBytes } from "./xor";
import { encodeDecimal, decodeDecimal } from "./decimal";
import { encodeIntSeqBest, decodeIntSeqBest, AS_I64 } from "./intpack";
import { countRuns, encodeRuns, decodeRuns, encodeBitmap, decodeBitmap } from "./runs";

export const KIND_F64: i32 = 0;
export const KIND_I64: i32 = 1;
export const KIND_U64: i32 = 2;
export const KIND_BOOL: i32 = 3;
export const KIND_BYTES: i32 = 4;
export const KIND_STRING: i32 = 5;

export const VALUE_XOR: i32 = 16;
export const VALUE_DECIMAL: i32 = 17;
export const VALUE_INT_PACK: i32 = 18;
export const VALUE_RUNS: i32 = 19;
export const VALUE_BITMAP: i32 = 20;
export const VALUE_BYTES_BLOCK: i32 = 32;
export const VALUE_BYTES_RUNS: i32 = 33;

const RUN_MIN_BYTES: i32 = 9; // smallest encoded run of an 8-byte value

let chosenCodec: i32 = 0;

export function valueCodecChosen(): i32 {
  return chosenCodec;
}

/** Whether `codec` may appear in a chunk of `kind`. */
export function valueCodecFits(kind: i32, codec: i32): bool {
  if (kind == KIND_F64) return codec == VALUE_XOR || codec == VALUE_DECIMAL || codec == VALUE_RUNS;
  if (kind == KIND_I64 || kind == KIND_U64) return codec == VALUE_INT_PACK || codec == VALUE_RUNS;
  if (kind == KIND_BOOL) return codec == VALUE_BITMAP || codec == VALUE_RUNS;
  if (kind == KIND_BYTES || kind == KIND_STRING) return codec == VALUE_BYTES_BLOCK || codec == VALUE_BYTES_RUNS;
  return false;
}

/** Keeps the candidate [candidate, candidateEnd) at p when it is smaller than [p, end). */
function keepSmaller(codec: i32, p: usize, end: usize, candidate: usize, candidateEnd: usize): usize {
  if (candidateEnd == 0 || candidateEnd - candidate >= end - p) return end;
  memory.copy(p, candidate, candidateEnd - candidate);
  chosenCodec = codec;
  return p + (candidateEnd - candidate);
}

/** Encodes n numeric values of `kind` at p; `work` = candidate area (candidateBytes) followed by the inner work area
 * (n*16 + candidateBytes). Returns end. */
export function encodeValues(kind: i32, values: usize, n: i32, p: usize, work: usize, candidateBytes: usize): usize {
  const candidate = work;
  const inner = work + candidateBytes;
  let end: usize;
  if (kind == KIND_BOOL) {
    for (let i = 0; i < n; i++) if (load<u8>(values + <usize>i) != 0) store<u8>(values + <usize>i, 1);
    end = encodeBitmap(values, n, p);
    chosenCodec = VALUE_BITMAP;
    if (countRuns(values, n, 1) * 2 < <i32>(end - p)) {
      end = keepSmaller(VALUE_RUNS, p, end, candidate, encodeRuns(values, n, 1, candidate));
    }
    return end;
  }
  if (kind == KIND_F64) {
    end = encodeDecimal(values, n, p, inner);
    chosenCodec = VALUE_DECIMAL;
    if (end == 0) {
      end = encodeXor(values, n, p);
      chosenCodec = VALUE_XOR;
    } else if (xorMinBytes(values, n) < end - p) {
      end = keepSmaller(VALUE_XOR, p, end, candidate, encodeXor(values, n, candidate));
    }
  } else {
    end = encodeIntSeqBest(values, n, p, inner);
    chosenCodec = VALUE_INT_PACK;
  }
  if (countRuns(values, n, 8) * RUN_MIN_BYTES < <i32>(end - p)) {
    end = keepSmaller(VALUE_RUNS, p, end, candidate, encodeRuns(values, n, 8, candidate));
  }
  return end;
}

/** Decodes a numeric value section into out (8-byte values, or 1-byte bools), at least the values [from, to):
 * packed sequences skip blocks outside it. Returns the end of what was read, or 0 if malformed. */
export function decodeValues(kind: i32, codec: i32, p: usize, end: usize, n: i32, out: usize, from: i32, to: i32): usize {
  if (codec == VALUE_RUNS) return decodeRuns(p, end, n, kind == KIND_BOOL ? 1 : 8, out);
  if (codec == VALUE_XOR) return decodeXor(p, end, n, out);
  if (codec == VALUE_DECIMAL) return decodeDecimal(p, end, n, out, from, to);
  if (codec == VALUE_INT_PACK) return decodeIntSeqBest(p, end, n, out, AS_I64, from, to);
  if (codec == VALUE_BITMAP) return decodeBitmap(p, end, n, out);
  return 0;
}

/** Value i of a decoded section projected to f64 (for aggregation). */
@inline export function valueAsF64(kind: i32, values: usize, i: i32): f64 {
  if (kind == KIND_F64) return load<f64>(values + (<usize>i << 3));
  if (kind == KIND_I64) return <f64>load<i64>(values + (<usize>i << 3));
  if (kind == KIND_U64) return <f64>load<u64>(values + (<usize>i << 3));
  return <f64>load<u8>(values + <usize>i);
}
