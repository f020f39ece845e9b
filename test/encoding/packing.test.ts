// Packed-sequence refinements of chunk version 2: scaled sequences (values sharing a common step, e.g. byte counters
// in 512s, memory in 4096-byte pages) and truncated-binary blocks (uniform noise at ~log2(m) bits, not ceil(log2 m)).
// Asserts sizes near the information content and exact round-trips, full and by range, including int64 wrap-around.
import { test } from "uvu";
import * as assert from "uvu/assert";
import fc from "fast-check";
import {
  encodeChunk, decodeChunk, decodeRangeInto, chunkInfo, chunkToRecord, chunkFromRecord, chunkBytesOfRecord, ChunkCorruptionError,
} from "../../src/encoding/chunk.js";

const N = 240;
const regular = Float64Array.from({ length: N }, (_, i) => 1_700_000_000_000 + i * 15_000);
let seed = 11;
const random = () => ((seed = (Math.imul(seed, 1103515245) + 12345) >>> 0) / 4294967296);
/** Value-section bits per point: the chunk minus header/trailer (36 B) and the fixed-step timestamp varint (3 B). */
const valueBits = (chunk: Uint8Array) => ((chunk.length - 39) * 8) / N;

test("a counter in 512-byte steps costs the bits of its increments in steps, not in bytes", () => {
  let v = 1e12;
  // increments uniform over 1000 steps of 512: log2(1000) = 9.97 bits of information each
  const counter = Float64Array.from({ length: N }, () => (v += 512 * (5000 + Math.floor(random() * 1000))));
  const chunk = encodeChunk("f64", regular, counter);
  assert.is(chunkInfo(chunk).valueCodec, "decimal");
  assert.ok(valueBits(chunk) < 10.6, `512-step counter: ${valueBits(chunk)} bits/pt`);
  assert.equal(Array.from(decodeChunk(chunk).values as Float64Array), Array.from(counter));
});

test("a gauge in 4096-byte pages is scaled too, and so are i64 values with a common step", () => {
  let level = 6e9;
  const pages = Float64Array.from({ length: N }, () => Math.round((level += (random() - 0.5) * 4e7) / 4096) * 4096);
  const chunk = encodeChunk("f64", regular, pages);
  // steps of up to 4e7/4096 = 9766 pages: ~14 bits, where unscaled mantissas would need 26
  assert.ok(valueBits(chunk) < 15.5, `page gauge: ${valueBits(chunk)} bits/pt`);
  assert.equal(Array.from(decodeChunk(chunk).values as Float64Array), Array.from(pages));
  const ints = BigInt64Array.from({ length: N }, (_, i) => -7n + 1000n * BigInt(Math.floor(random() * 50) - i));
  const packed = encodeChunk("i64", regular, ints);
  assert.ok(valueBits(packed) < 8, `i64 in steps of 1000 (unscaled: ~17): ${valueBits(packed)} bits/pt`);
  assert.equal(Array.from(decodeChunk(packed, "bigint").values as BigInt64Array), Array.from(ints));
});

test("uniform noise over a non-power-of-two range costs ~log2(m) bits (truncated binary), not ceil(log2 m)", () => {
  for (const m of [3, 5, 100, 600, 1500, 3000, 1_000_000]) {
    let v = 1e6;
    const counter = Float64Array.from({ length: N }, () => (v += Math.floor(random() * m)));
    const chunk = encodeChunk("f64", regular, counter);
    const bits = valueBits(chunk);
    assert.ok(bits < Math.log2(m) + 0.45, `m=${m}: ${bits.toFixed(2)} bits/pt vs log2 ${Math.log2(m).toFixed(2)}`);
    assert.equal(Array.from(decodeChunk(chunk).values as Float64Array), Array.from(counter), `m=${m}`);
  }
});

test("scaled and truncated sequences round-trip by range (block skipping) and at int64 extremes", () => {
  const INT64_MIN = -(2n ** 63n);
  const INT64_MAX = 2n ** 63n - 1n;
  fc.assert(
    fc.property(
      fc.integer({ min: 1, max: 3000 }),
      fc.constantFrom(1n, 2n, 3n, 512n, 4096n, 10n ** 9n, 2n ** 40n),
      fc.integer({ min: 1, max: 5000 }),
      fc.bigInt({ min: INT64_MIN, max: INT64_MAX }),
      fc.nat(),
      fc.nat(),
      (n, step, spread, start, a, b) => {
        const ts = BigInt64Array.from({ length: n }, (_, i) => BigInt(i * 1000));
        // values wrap around int64 like the codec's arithmetic; steps are multiples of `step`
        const values = new BigInt64Array(n);
        let x = start;
        for (let i = 0; i < n; i++) {
          values[i] = x;
          x = BigInt.asIntN(64, x + step * BigInt(Math.floor(random() * spread)));
        }
        const chunk = encodeChunk("i64", ts, values);
        assert.equal(Array.from(decodeChunk(chunk, "bigint").values as BigInt64Array), Array.from(values));
        const from = a % n;
        const to = from + (b % (n - from + 1));
        const tsOut = new BigInt64Array(n);
        const out = new BigInt64Array(n);
        const count = decodeRangeInto(chunk, BigInt(from * 1000), BigInt(to * 1000), tsOut, out, 0);
        assert.is(count, to - from);
        assert.equal(Array.from(out.subarray(0, count)), Array.from(values.subarray(from, to)));
      },
    ),
    { numRuns: 150 },
  );
  const extremes = BigInt64Array.from([INT64_MAX, INT64_MIN, INT64_MAX - 4n, INT64_MIN + 4n, 0n, -4n]);
  const decoded = decodeChunk(encodeChunk("i64", BigInt64Array.from({ length: 6 }, (_, i) => BigInt(i)), extremes), "bigint");
  assert.equal(Array.from(decoded.values as BigInt64Array), Array.from(extremes));
});

test("version 1 chunks (written before scaling and truncated blocks) still decode", () => {
  // A version-1 decimal chunk of 3 points at 15 s: values 1.5, 2.25, 3 (exponent 2, delta mode), from the old writer.
  const v1 = Uint8Array.from(Buffer.from(V1_CHUNK_HEX, "hex"));
  assert.is(v1[0], 1);
  const d = decodeChunk(v1);
  assert.equal(Array.from(d.timestamps as Float64Array), [1_700_000_000_000, 1_700_000_015_000, 1_700_000_030_000]);
  assert.equal(Array.from(d.values as Float64Array), [1.5, 2.25, 3]);
  assert.is(encodeChunk("f64", d.timestamps, d.values)[0], 2);
});

test("segment chunk records drop what the index holds and rebuild the exact chunk, checksum included", () => {
  const ts = BigInt64Array.from({ length: 300 }, (_, i) => 1_700_000_000_000n + BigInt(i) * 15_000n + BigInt(i % 7));
  const values = Float64Array.from({ length: 300 }, (_, i) => Math.round(Math.cos(i) * 1e4) / 100);
  const chunk = encodeChunk("f64", ts, values);
  const record = chunkToRecord(chunk);
  assert.ok(record.length <= chunk.length - 30, `record ${record.length} B for a ${chunk.length} B chunk`);
  const rebuilt = chunkFromRecord(record, 300, ts[0]!, ts[299]!);
  assert.ok(Buffer.from(rebuilt).equals(Buffer.from(chunk)));
  assert.ok(Buffer.from(chunkFromRecord(record, 300, Number(ts[0]), Number(ts[299]))).equals(Buffer.from(chunk)));
  // Into a caller's buffer (a segment block rebuilt whole): at the given offset, nothing written around it.
  assert.is(chunkBytesOfRecord(record), chunk.length);
  const block = new Uint8Array(chunk.length + 20);
  const view = chunkFromRecord(record, 300, ts[0]!, ts[299]!, block, 10);
  assert.ok(view.buffer === block.buffer && view.byteOffset === 10 && Buffer.from(view).equals(Buffer.from(chunk)));
  assert.ok(block.subarray(0, 10).every((b) => b === 0) && block.subarray(10 + chunk.length).every((b) => b === 0));
  // Wrong index fields give a chunk that the decoders reject, never wrong data.
  assert.throws(() => decodeChunk(chunkFromRecord(record, 300, ts[0]!, ts[299]! + 1n)), (e: unknown) => e instanceof ChunkCorruptionError);
  assert.throws(() => decodeChunk(chunkFromRecord(record, 299, ts[0]!, ts[299]!)), (e: unknown) => e instanceof ChunkCorruptionError);
  assert.throws(() => chunkFromRecord(record.subarray(0, 5), 300, ts[0]!, ts[299]!), (e: unknown) => e instanceof ChunkCorruptionError);
});

const V1_CHUNK_HEX = "01000111030000000068e5cf8b01000030dde5cf8b01000002000000090000009875020001ac0200009601baf242b9";

test.run();
