// Shared generators and bit-exact comparisons for the chunk codec tests.
import fc from "fast-check";
import type { ValueKind } from "../../src/encoding/chunk.js";
import { loadWasm, memoryViews, scratch } from "../../src/wasm/loader.js";

export const STALE_NAN_BITS = 0x7ff0000000000002n;

function bitsFromF64(v: number): bigint {
  const view = new DataView(new ArrayBuffer(8));
  view.setFloat64(0, v);
  return view.getBigUint64(0);
}

/** A Float64Array holding exactly these bit patterns (JS numbers may canonicalise NaN payloads, typed arrays do not). */
export function f64ArrayFromBits(bits: readonly bigint[]): Float64Array {
  return new Float64Array(BigUint64Array.from(bits).buffer);
}

export function bitsOf(values: Float64Array): BigUint64Array {
  return new BigUint64Array(values.buffer, values.byteOffset, values.length);
}

/** Edge f64 bit patterns: staleness marker and other NaN payloads, ±0, ±Inf, subnormals, extremes. */
export const EDGE_F64_BITS: readonly bigint[] = [
  STALE_NAN_BITS,
  0x7ff8000000000001n,
  0xfff0000000000001n,
  0x7fffffffffffffffn,
  ...[
  NaN,
  -0,
  0,
  Infinity,
  -Infinity,
  Number.MIN_VALUE,
  -Number.MIN_VALUE,
  2.2250738585072014e-308,
  Number.MAX_VALUE,
  -Number.MAX_VALUE,
  Number.MAX_SAFE_INTEGER,
  0.1,
  12.34,
  ].map(bitsFromF64),
];

export const INT64_MIN = -(2n ** 63n);
export const INT64_MAX = 2n ** 63n - 1n;
export const UINT64_MAX = 2n ** 64n - 1n;

/** Sorted timestamp deltas: regular, jittered, duplicated, irregular. */
const deltas = fc.oneof(
  fc.constant("regular" as const),
  fc.constant("jitter" as const),
  fc.constant("duplicates" as const),
  fc.constant("irregular" as const),
);

/** Sorted bigint timestamps, n points, starting anywhere such that they stay inside int64 (or 2^53 when safe). */
export function timestampsArb(n: number, safe: boolean): fc.Arbitrary<bigint[]> {
  const limit = safe ? 2n ** 52n : 2n ** 62n;
  return fc.tuple(deltas, fc.bigInt({ min: -limit, max: limit }), fc.integer({ min: 1, max: 60_000 }), fc.integer({ min: 0, max: 2 ** 31 - 1 }))
    .map(([shape, start, step, seed]) => {
      const out: bigint[] = [];
      let t = start;
      let s = seed >>> 0;
      const random = () => ((s = (Math.imul(s ^ (s >>> 15), 0x2c1b3c6d) + 0x9e3779b9) >>> 0) / 4294967296);
      for (let i = 0; i < n; i++) {
        out.push(shape === "jitter" ? t + BigInt(Math.round((random() - 0.5) * Math.min(step, 100))) : t);
        const d = shape === "regular" ? step
          : shape === "jitter" ? step
          : shape === "duplicates" ? (random() < 0.5 ? 0 : step)
          : Math.floor(random() ** 4 * 1e9);
        t += BigInt(d);
      }
      out.sort((a, b) => (a < b ? -1 : a > b ? 1 : 0));
      return out;
    });
}

/** Values of a kind as a plain array (f64 as bigint bit patterns, bigint for i64/u64, 0/1 for bool). */
export function valuesArb(kind: ValueKind, n: number): fc.Arbitrary<unknown[]> {
  const pick = <T>(arb: fc.Arbitrary<T>) => fc.array(arb, { minLength: n, maxLength: n });
  switch (kind) {
    case "f64": {
      const asBits = (arb: fc.Arbitrary<number>) => arb.map(bitsFromF64);
      const edge = fc.constantFrom(...EDGE_F64_BITS);
      return fc.oneof(
        pick(asBits(fc.integer({ min: -1_000_000, max: 1_000_000 }).map((m) => m / 100))),
        pick(asBits(fc.double())),
        pick(fc.bigInt({ min: 0n, max: UINT64_MAX })),
        pick(edge),
        asBits(fc.double()).map((v) => new Array(n).fill(v)),
        pick(fc.oneof(asBits(fc.integer({ min: 0, max: 300 }).map((m) => m / 10)), edge)),
      );
    }
    case "i64":
      return fc.oneof(
        pick(fc.bigInt({ min: INT64_MIN, max: INT64_MAX })),
        pick(fc.constantFrom(INT64_MIN, INT64_MAX, 0n, -1n, 1n)),
        pick(fc.bigInt({ min: -1000n, max: 1000n })),
      );
    case "u64":
      return fc.oneof(pick(fc.bigInt({ min: 0n, max: UINT64_MAX })), pick(fc.constantFrom(0n, UINT64_MAX, 1n)));
    case "bool":
      return fc.oneof(pick(fc.constantFrom(0, 1)), fc.constantFrom(0, 1).map((b) => new Array(n).fill(b)));
    case "bytes":
      return fc.oneof(pick(fc.uint8Array({ maxLength: 20 })), fc.uint8Array({ maxLength: 5 }).map((b) => new Array(n).fill(b)));
    case "string":
      return fc.oneof(
        pick(fc.string({ unit: "grapheme", maxLength: 12 })),
        fc.string({ unit: "grapheme", maxLength: 4 }).map((s) => new Array(n).fill(s)),
      );
  }
}

/** The chunk checksum (low 32 bits of XXH64) computed by the WASM kernel; its test vectors are in corruption.test.ts. */
export function chunkChecksum(bytes: Uint8Array): number {
  const at = scratch(bytes.length + 16);
  memoryViews().u8.set(bytes, at);
  return (loadWasm() as unknown as { checksum(p: number, n: number): number }).checksum(at, bytes.length) >>> 0;
}

/** XXH64 (seed 0) of bytes as a bigint, via the WASM kernel. */
export function xxh64(bytes: Uint8Array): bigint {
  const at = scratch(bytes.length + 32);
  const out = at + ((bytes.length + 15) & ~7);
  memoryViews().u8.set(bytes, at);
  (loadWasm() as unknown as { xxh64Into(p: number, n: number, out: number): void }).xxh64Into(at, bytes.length, out);
  return memoryViews().u64[out / 8]!;
}

/** Rewrites the checksum trailer so the chunk passes the checksum. */
export function forgeChecksum(chunk: Uint8Array): Uint8Array {
  const copy = chunk.slice();
  new DataView(copy.buffer).setUint32(copy.length - 4, chunkChecksum(copy.subarray(0, copy.length - 4)), true);
  return copy;
}
