// Round-trip property tests: every kind and codec, edge values bit-exact, 1-point and 65535-point chunks.
import { test } from "uvu";
import * as assert from "uvu/assert";
import fc from "fast-check";
import {
  encodeChunk, decodeChunk, chunkInfo, MAX_CHUNK_POINTS, type ValueKind, type ValueArray, type TimestampArray,
} from "../../src/encoding/chunk.js";
import { timestampsArb, valuesArb, bitsOf, f64ArrayFromBits, EDGE_F64_BITS, STALE_NAN_BITS, INT64_MIN, INT64_MAX, UINT64_MAX } from "./helpers.js";

const KINDS: ValueKind[] = ["f64", "i64", "u64", "bool", "bytes", "string"];

function toValueArray(kind: ValueKind, values: unknown[]): ValueArray {
  switch (kind) {
    case "f64":
      return f64ArrayFromBits(values as bigint[]);
    case "i64":
      return BigInt64Array.from(values as bigint[]);
    case "u64":
      return BigUint64Array.from(values as bigint[]);
    case "bool":
      return Uint8Array.from(values as number[]);
    default:
      return values as Uint8Array[] | string[];
  }
}

function assertSameValues(kind: ValueKind, actual: ValueArray, expected: ValueArray, n: number): void {
  assert.is(actual.length, n);
  if (kind === "f64") {
    assert.equal(Array.from(bitsOf(actual as Float64Array)), Array.from(bitsOf((expected as Float64Array).subarray(0, n))));
  } else if (kind === "bytes") {
    for (let i = 0; i < n; i++) assert.equal(Array.from((actual as Uint8Array[])[i]!), Array.from((expected as Uint8Array[])[i]!));
  } else {
    assert.equal(Array.from(actual as ArrayLike<unknown>), Array.from(expected as ArrayLike<unknown>).slice(0, n));
  }
}

function roundTrip(kind: ValueKind, ts: bigint[], rawValues: unknown[], useNumberTs: boolean): void {
  const n = ts.length;
  const timestamps: TimestampArray = useNumberTs ? Float64Array.from(ts, Number) : BigInt64Array.from(ts);
  const values = toValueArray(kind, rawValues);
  const chunk = encodeChunk(kind, timestamps, values);
  const info = chunkInfo(chunk, "bigint");
  assert.is(info.kind, kind);
  assert.is(info.count, n);
  assert.is(info.minTs, ts[0]);
  assert.is(info.maxTs, ts[n - 1]);
  assert.is(info.byteLength, chunk.length);
  const asBigint = decodeChunk(chunk, "bigint");
  assert.equal(Array.from(asBigint.timestamps as BigInt64Array), ts);
  assertSameValues(kind, asBigint.values, values, n);
  if (useNumberTs) {
    const asNumber = decodeChunk(chunk);
    assert.instance(asNumber.timestamps, Float64Array);
    assert.equal(Array.from(asNumber.timestamps as Float64Array), ts.map(Number));
  }
}

for (const kind of KINDS) {
  test(`round trip ${kind}: random sizes, timestamp shapes and values`, () => {
    const arb = fc.integer({ min: 1, max: 400 }).chain((n) =>
      fc.tuple(fc.boolean().chain((safe) => fc.tuple(fc.constant(safe), timestampsArb(n, safe))), valuesArb(kind, n)),
    );
    fc.assert(fc.property(arb, ([[safe, ts], values]) => roundTrip(kind, ts, values, safe)), { numRuns: 150 });
  });
}

test("edge f64 values come back bit-exact, including the staleness marker NaN", () => {
  const n = EDGE_F64_BITS.length * 3;
  const values = f64ArrayFromBits(Array.from({ length: n }, (_, i) => EDGE_F64_BITS[i % EDGE_F64_BITS.length]!));
  const ts = Float64Array.from({ length: n }, (_, i) => 1000 * i);
  const decoded = decodeChunk(encodeChunk("f64", ts, values));
  assert.equal(Array.from(bitsOf(decoded.values as Float64Array)), Array.from(bitsOf(values)));
  assert.is(bitsOf(decoded.values as Float64Array)[0], STALE_NAN_BITS);
});

test("a staleness marker inside an otherwise decimal series stays bit-exact", () => {
  const values = Float64Array.from({ length: 100 }, (_, i) => i / 4);
  bitsOf(values)[50] = STALE_NAN_BITS;
  const decoded = decodeChunk(encodeChunk("f64", Float64Array.from({ length: 100 }, (_, i) => i), values));
  assert.equal(Array.from(bitsOf(decoded.values as Float64Array)), Array.from(bitsOf(values)));
});

test("i64/u64 extremes and int64 timestamp extremes round-trip", () => {
  const ts = BigInt64Array.from([INT64_MIN, INT64_MIN, -1n, 0n, INT64_MAX - 1n, INT64_MAX]);
  const i64 = BigInt64Array.from([INT64_MAX, INT64_MIN, INT64_MAX, 0n, INT64_MIN, -1n]);
  const u64 = BigUint64Array.from([UINT64_MAX, 0n, UINT64_MAX, 1n, 2n ** 63n, 0n]);
  const a = decodeChunk(encodeChunk("i64", ts, i64), "bigint");
  assert.equal(Array.from(a.timestamps as BigInt64Array), Array.from(ts));
  assert.equal(Array.from(a.values as BigInt64Array), Array.from(i64));
  const b = decodeChunk(encodeChunk("u64", ts, u64), "bigint");
  assert.equal(Array.from(b.values as BigUint64Array), Array.from(u64));
});

test("1-point chunks of every kind", () => {
  const samples: Record<ValueKind, ValueArray> = {
    f64: Float64Array.of(-0),
    i64: BigInt64Array.of(INT64_MIN),
    u64: BigUint64Array.of(UINT64_MAX),
    bool: Uint8Array.of(1),
    bytes: [Uint8Array.of(0, 255)],
    string: ["π"],
  };
  for (const kind of KINDS) {
    const chunk = encodeChunk(kind, Float64Array.of(1_700_000_000_123), samples[kind]);
    const decoded = decodeChunk(chunk);
    assert.equal(Array.from(decoded.timestamps as Float64Array), [1_700_000_000_123]);
    assertSameValues(kind, decoded.values, samples[kind], 1);
  }
});

test("the largest chunk (65535 points) round-trips; one more point is refused", () => {
  const n = MAX_CHUNK_POINTS;
  const ts = Float64Array.from({ length: n }, (_, i) => 1_700_000_000_000 + i * 15_000 + (i % 7));
  const values = Float64Array.from({ length: n }, (_, i) => Math.sin(i) * 1e6);
  const decoded = decodeChunk(encodeChunk("f64", ts, values));
  assert.equal(decoded.count, n);
  assert.ok((decoded.timestamps as Float64Array).every((t, i) => t === ts[i]));
  assert.ok(bitsOf(decoded.values as Float64Array).every((b, i) => b === bitsOf(values)[i]));
  const gauge = Float64Array.from({ length: n }, (_, i) => Math.round(Math.sin(i / 50) * 1e4) / 100);
  const gaugeChunk = encodeChunk("f64", ts, gauge);
  assert.is(chunkInfo(gaugeChunk).valueCodec, "decimal");
  assert.ok(bitsOf(decodeChunk(gaugeChunk).values as Float64Array).every((b, i) => b === bitsOf(gauge)[i]));
  const counters = BigInt64Array.from({ length: n }, (_, i) => BigInt(i) * 1_000_003n - 2n ** 62n);
  const counterChunk = encodeChunk("i64", BigInt64Array.from(ts, BigInt), counters);
  assert.equal(Array.from(decodeChunk(counterChunk, "bigint").values as BigInt64Array), Array.from(counters));
  const tooMany = new Float64Array(n + 1);
  assert.throws(() => encodeChunk("f64", tooMany, tooMany), (e: Error) => e instanceof RangeError && /1\.\.65535/.test(e.message));
});

test("count encodes a prefix of longer arrays", () => {
  const ts = Float64Array.from([1, 2, 3, 4, 5]);
  const decoded = decodeChunk(encodeChunk("f64", ts, Float64Array.from([10, 20, 30, 40, 50]), 3));
  assert.equal(Array.from(decoded.values as Float64Array), [10, 20, 30]);
});

test("bad input is refused with clear errors", () => {
  const ts = Float64Array.from([1, 2, 3]);
  const vs = Float64Array.from([1, 2, 3]);
  assert.throws(() => encodeChunk("f64", Float64Array.from([1, 3, 2]), vs), (e: Error) => e instanceof RangeError && /sorted ascending: index 2/.test(e.message));
  assert.throws(() => encodeChunk("f64", Float64Array.from([1, 2.5, 3]), vs), (e: Error) => e instanceof RangeError && /index 1 is not an integer/.test(e.message));
  assert.throws(() => encodeChunk("f64", Float64Array.from([1, NaN, 3]), vs), /not an integer/);
  assert.throws(() => encodeChunk("f64", new Float64Array(0), new Float64Array(0)), RangeError);
  assert.throws(() => encodeChunk("f64", ts, BigInt64Array.from([1n, 2n, 3n])), TypeError);
  assert.throws(() => encodeChunk("i64", ts, vs), TypeError);
  assert.throws(() => encodeChunk("f64", ts, vs, 4), RangeError);
  assert.throws(() => encodeChunk("string", ts, ["a", "\ud800", "b"]), /lone surrogate/);
  assert.throws(() => encodeChunk("bytes", ts, ["a", "b", "c"] as unknown as Uint8Array[]), TypeError);
});

test.run();
