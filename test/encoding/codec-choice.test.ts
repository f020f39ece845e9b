// The encoder picks the codec that fits the data: asserts the chosen codec ids and sizes for typical series.
import { test } from "uvu";
import * as assert from "uvu/assert";
import { encodeChunk, chunkInfo, decodeChunk, type ValueKind, type ValueArray, type TimestampArray } from "../../src/encoding/chunk.js";

const N = 2048;
const regular = Float64Array.from({ length: N }, (_, i) => 1_700_000_000_000 + i * 15_000);
let seed = 7;
const random = () => ((seed = (Math.imul(seed, 1103515245) + 12345) >>> 0) / 4294967296);

function chosen(kind: ValueKind, ts: TimestampArray, values: ValueArray) {
  const chunk = encodeChunk(kind, ts, values);
  const info = chunkInfo(chunk);
  assert.is(decodeChunk(chunk).count, ts.length); // decodes back
  return { ...info, bytesPerPoint: chunk.length / ts.length };
}

test("regular scrapes use fixed-step timestamps (almost free)", () => {
  const c = chosen("f64", regular, new Float64Array(N).fill(1));
  assert.is(c.timestampCodec, "fixed-step");
  assert.is(c.valueCodec, "runs");
  assert.ok(c.bytesPerPoint < 0.05, `constant: ${c.bytesPerPoint} B/pt`);
});

test("jittered scrapes use a packed timestamp codec; irregular ones still round-trip compactly", () => {
  const jittered = regular.map((t, i) => (i === 0 ? t : t + Math.round((random() - 0.5) * 100)));
  const c = chosen("f64", jittered, new Float64Array(N).fill(1));
  assert.is(c.timestampCodec, "step-residual");
  assert.ok(c.bytesPerPoint < 0.95, `jitter timestamps: ${c.bytesPerPoint} B/pt`);
  const dod = Float64Array.from({ length: N }, (_, i) => 1000 * i + (i * i) / 4 - ((i * i) % 4) / 4);
  assert.is(chosen("f64", dod, new Float64Array(N)).timestampCodec, "delta-of-delta");
  let t = 0;
  const bursty = Float64Array.from({ length: N }, (_, i) => (t += i % 64 === 0 ? 1e12 : 1 + (i % 3)));
  assert.is(chosen("f64", bursty, new Float64Array(N)).timestampCodec, "delta");
  // Short irregular chunks: plain varints beat a packed sequence's own header.
  assert.is(chosen("f64", Float64Array.from([0, 7, 9, 3000, 3001]), new Float64Array(5)).timestampCodec, "delta-varint");
});

test("decimal gauges and integer counters use the decimal codec; arbitrary floats use XOR", () => {
  let level = 100;
  const gauge = Float64Array.from({ length: N }, () => Math.round((level += (random() - 0.5) * 1.7) * 100) / 100);
  const g = chosen("f64", regular, gauge);
  assert.is(g.valueCodec, "decimal");
  assert.ok(g.bytesPerPoint < 1.3, `gauge: ${g.bytesPerPoint} B/pt`);
  let total = 0;
  const counter = Float64Array.from({ length: N }, () => (total += Math.floor(random() * 101)));
  assert.is(chosen("f64", regular, counter).valueCodec, "decimal");
  const steady = Float64Array.from({ length: N }, (_, i) => 5e9 + i * 37);
  const s = chosen("f64", regular, steady);
  assert.is(s.valueCodec, "decimal");
  assert.ok(s.bytesPerPoint < 0.3, `steady counter: ${s.bytesPerPoint} B/pt`);
  assert.is(chosen("f64", regular, Float64Array.from({ length: N }, () => random())).valueCodec, "xor");
  // A few values that are no decimals (staleness marker, -0, Infinity, pi) stay exceptions inside the decimal codec.
  const withOddities = gauge.slice();
  new BigUint64Array(withOddities.buffer)[7] = 0x7ff0000000000002n;
  withOddities[9] = -0;
  withOddities[1000] = Infinity;
  withOddities[2047] = Math.PI;
  const o = chosen("f64", regular, withOddities);
  assert.is(o.valueCodec, "decimal");
  assert.ok(o.bytesPerPoint < g.bytesPerPoint + 0.03, `gauge with oddities: ${o.bytesPerPoint} B/pt`);
  const decoded = decodeChunk(encodeChunk("f64", regular, withOddities)).values as Float64Array;
  assert.equal(Array.from(new BigUint64Array(decoded.buffer, decoded.byteOffset, N)), Array.from(new BigUint64Array(withOddities.buffer)));
  // Past one value in eight that is no decimal, XOR takes over.
  const mostlyNaN = gauge.map((v, i) => (i % 4 === 0 ? NaN : v));
  assert.is(chosen("f64", regular, mostlyNaN).valueCodec, "xor");
});

test("integers use int-pack, bools use a bitmap, repeated values use runs", () => {
  let total = 0n;
  assert.is(chosen("i64", regular, BigInt64Array.from({ length: N }, () => (total += BigInt(Math.floor(random() * 100))))).valueCodec, "int-pack");
  assert.is(chosen("u64", regular, BigUint64Array.from({ length: N }, (_, i) => 2n ** 63n + BigInt(i))).valueCodec, "int-pack");
  assert.is(chosen("i64", regular, new BigInt64Array(N).fill(-3n)).valueCodec, "runs");
  const flips = chosen("bool", regular, Uint8Array.from({ length: N }, () => (random() < 0.5 ? 1 : 0)));
  assert.is(flips.valueCodec, "bitmap");
  assert.ok(flips.bytesPerPoint < 0.16);
  assert.is(chosen("bool", regular, new Uint8Array(N).fill(1)).valueCodec, "runs");
  assert.is(chosen("string", regular, new Array<string>(N).fill("up")).valueCodec, "bytes-runs");
  assert.is(chosen("string", regular, Array.from({ length: N }, (_, i) => `host-${i}`)).valueCodec, "bytes-block");
  assert.is(chosen("bytes", regular, Array.from({ length: N }, (_, i) => Uint8Array.of(i & 255, 1))).valueCodec, "bytes-block");
});

test.run();
