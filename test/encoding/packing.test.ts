// Packed-sequence refinements of chunk versions 2 and 3: scaled sequences (values sharing a common step, e.g. byte
// counters in 512s, memory in 4096-byte pages) and truncated-binary blocks (uniform noise at ~log2(m) bits, not
// ceil(log2 m); version 3 splits each block into fixed-position prefixes and the long codes' low bits).
// Asserts sizes near the information content and exact round-trips, full and by range, including int64 wrap-around.
import { test } from "uvu";
import * as assert from "uvu/assert";
import fc from "fast-check";
import {
  encodeChunk, decodeChunk, decodeRangeInto, chunkInfo, chunkToRecord, chunkFromRecord, decodeRecordRangeToMemory,
  decodeSeriesRecordsToMemory, ChunkCorruptionError, RECORD_DESC_I32, SERIES_ORDER,
} from "../../src/encoding/chunk.js";
import { loadWasm, memoryViews } from "../../src/wasm/loader.js";

/** Heap blocks of linear memory, as the segment block cache takes them. */
const cache = loadWasm() as unknown as { cacheAlloc(bytes: number): number; cacheFree(ptr: number): void };
const inLinearMemory = (bytes: Uint8Array): number => {
  const ptr = cache.cacheAlloc(bytes.length);
  memoryViews().u8.set(bytes, ptr);
  return ptr;
};

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
  assert.is(encodeChunk("f64", d.timestamps, d.values)[0], 3);
});

test("version 2 chunks (interleaved truncated-binary blocks) still decode, fully and by range; version 3 is as small", () => {
  // 300 points at 15 s, a random walk in 0.01 steps of -0.18..0.18: two value blocks, both truncated binary (k = 5)
  let s = 7;
  const rnd = () => ((s = (Math.imul(s, 1103515245) + 12345) >>> 0) / 4294967296);
  let level = 1000;
  const values = Float64Array.from({ length: 300 }, () => (level += Math.floor(rnd() * 37) - 18) / 100);
  const v2 = Uint8Array.from(Buffer.from(V2_TRUNCATED_CHUNK_HEX, "hex"));
  assert.is(v2[0], 2);
  const d = decodeChunk(v2);
  assert.equal(Array.from(d.values as Float64Array), Array.from(values));
  assert.equal(Array.from(d.timestamps as Float64Array), Array.from({ length: 300 }, (_, i) => 1_700_000_000_000 + i * 15_000));
  const ts = new Float64Array(300);
  const got = new Float64Array(300);
  const n = decodeRangeInto(v2, 1_700_000_000_000 + 250 * 15_000, 1_700_000_000_000 + 290 * 15_000, ts, got, 0);
  assert.equal(Array.from(got.subarray(0, n)), Array.from(values.subarray(250, 290)));
  const v3 = encodeChunk("f64", d.timestamps, values);
  assert.is(v3[0], 3);
  assert.is(v3.length, v2.length, "the split layout takes the same bits");
  assert.equal(Array.from(decodeChunk(v3).values as Float64Array), Array.from(values));
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
  // Wrong index fields give a chunk that the decoders reject, never wrong data.
  assert.throws(() => decodeChunk(chunkFromRecord(record, 300, ts[0]!, ts[299]! + 1n)), (e: unknown) => e instanceof ChunkCorruptionError);
  assert.throws(() => decodeChunk(chunkFromRecord(record, 299, ts[0]!, ts[299]!)), (e: unknown) => e instanceof ChunkCorruptionError);
  assert.throws(() => chunkFromRecord(record.subarray(0, 5), 300, ts[0]!, ts[299]!), (e: unknown) => e instanceof ChunkCorruptionError);
});

test("a record decodes by range into linear memory without being rebuilt: same points, bit for bit", () => {
  const arena = loadWasm() as unknown as { readArena(points: number, keep: number): number; readArenaPoints(): number };
  fc.assert(
    fc.property(
      fc.integer({ min: 1, max: 700 }),
      fc.boolean(),
      fc.integer({ min: 0, max: 3 }),
      fc.double({ min: -0.1, max: 1.1, noNaN: true }),
      fc.double({ min: -0.1, max: 1.1, noNaN: true }),
      fc.integer({ min: 0, max: 5 }),
      (n, jitter, shape, a, b, at) => {
        const ts = Float64Array.from({ length: n }, (_, i) => 1_700_000_000_000 + i * 15_000 + (jitter ? (i * 7919) % 13 : 0));
        const stale = new Float64Array(new BigUint64Array([0x7ff0000000000002n]).buffer)[0]!;
        const values = Float64Array.from({ length: n }, (_, i) =>
          i === 3 ? stale : shape === 0 ? Math.round(random() * 1e6) / 100 : shape === 1 ? 512 * i * (3 + (i % 5)) : shape === 2 ? 42 : random(),
        );
        const chunk = encodeChunk("f64", ts, values);
        const record = chunkToRecord(chunk);
        const span = ts[n - 1]! - ts[0]!;
        const [lo, hi] = [Math.min(a, b), Math.max(a, b)];
        const [start, end] = [ts[0]! + Math.floor(lo * span), ts[0]! + Math.ceil(hi * span) + 1];
        const wantTs = new Float64Array(n);
        const wantValues = new Float64Array(n);
        const want = decodeRangeInto(chunk, start, end, wantTs, wantValues, 0);
        const tsPtr = arena.readArena(n + at, 0);
        const vsPtr = tsPtr + arena.readArenaPoints() * 8;
        // the record as a reader hands it: inside a larger block in linear memory, by address and length
        const block = new Uint8Array(record.length + 2 * n + 5).fill(0xa5);
        block.set(record, n + 3);
        const blockPtr = inLinearMemory(block);
        const ref = { addr: blockPtr + n + 3, length: record.length, count: n, minTs: ts[0]!, maxTs: ts[n - 1]! };
        const got = decodeRecordRangeToMemory(ref, start, end, tsPtr, vsPtr, at);
        cache.cacheFree(blockPtr);
        assert.is(got, want);
        const mem = memoryViews();
        assert.equal(Array.from(mem.f64.subarray(tsPtr / 8 + at, tsPtr / 8 + at + got)), Array.from(wantTs.subarray(0, want)));
        const bits = (x: Float64Array) => Array.from(new BigUint64Array(x.slice().buffer));
        assert.equal(bits(mem.f64.subarray(vsPtr / 8 + at, vsPtr / 8 + at + got)), bits(wantValues.subarray(0, want)));
      },
    ),
    { numRuns: 300 },
  );
  // Wrong index fields are rejected, never turned into other data.
  const ts = Float64Array.from({ length: 300 }, (_, i) => 1_700_000_000_000 + i * 15_000 + (i % 7));
  const record = chunkToRecord(encodeChunk("f64", ts, Float64Array.from(ts, (t) => (t % 1000) / 10)));
  const tsPtr = arena.readArena(300, 0);
  const vsPtr = tsPtr + arena.readArenaPoints() * 8;
  const recordPtr = inLinearMemory(record);
  const decode = (count: number, minTs: number, maxTs: number, length = record.length) => () =>
    decodeRecordRangeToMemory({ addr: recordPtr, length, count, minTs, maxTs }, ts[0]!, ts[299]! + 1, tsPtr, vsPtr, 0);
  assert.is(decode(300, ts[0]!, ts[299]!)(), 300);
  for (const bad of [decode(299, ts[0]!, ts[299]!), decode(300, ts[0]!, ts[299]! + 1), decode(300, ts[0]! - 1, ts[299]!)]) {
    assert.throws(bad, (e: unknown) => e instanceof ChunkCorruptionError);
  }
  assert.throws(decode(300, ts[0]!, ts[299]!, record.length - 9), (e: unknown) => e instanceof ChunkCorruptionError);
  assert.throws(decode(300, ts[0]!, ts[299]!, 5), (e: unknown) => e instanceof ChunkCorruptionError);
  cache.cacheFree(recordPtr);
});

/** Records of 10 to 400 points back to back in one block in linear memory, as the segment block cache holds them. */
function recordBlock() {
  const parts = Array.from({ length: 12 }, (_, k) => {
    const n = 10 + ((k * 97) % 390);
    const ts = Float64Array.from({ length: n }, (_, i) => 1_700_000_000_000 + k * 7 + i * 15_000);
    const values = Float64Array.from({ length: n }, (_, i) => (k % 2 ? Math.sin(i + k) * 1e3 : i * (k + 1)));
    return { ts, values, record: chunkToRecord(encodeChunk("f64", ts, values)), at: 0 };
  });
  const block = new Uint8Array(parts.reduce((a, p) => a + p.record.length, 0));
  for (let at = 0, k = 0; k < parts.length; at += parts[k]!.record.length, k++) {
    parts[k]!.at = at;
    block.set(parts[k]!.record, at);
  }
  return { parts, ptr: inLinearMemory(block) };
}

test("records of one block decoded in place in any order give each record's own points", () => {
  const arena = loadWasm() as unknown as { readArena(points: number, keep: number): number; readArenaPoints(): number };
  const { parts, ptr } = recordBlock();
  fc.assert(
    fc.property(fc.array(fc.integer({ min: 0, max: parts.length - 1 }), { minLength: 1, maxLength: 30 }), (order) => {
      for (const k of order) {
        const { ts, values, record, at } = parts[k]!;
        const n = ts.length;
        const tsPtr = arena.readArena(n, 0);
        const vsPtr = tsPtr + arena.readArenaPoints() * 8;
        const ref = { addr: ptr + at, length: record.length, count: n, minTs: ts[0]!, maxTs: ts[n - 1]! };
        assert.is(decodeRecordRangeToMemory(ref, ts[0]!, ts[n - 1]! + 1, tsPtr, vsPtr, 0), n);
        const mem = memoryViews();
        assert.equal(Array.from(mem.f64.subarray(tsPtr / 8, tsPtr / 8 + n)), Array.from(ts));
        assert.equal(Array.from(mem.f64.subarray(vsPtr / 8, vsPtr / 8 + n)), Array.from(values));
      }
    }),
    { numRuns: 100 },
  );
  cache.cacheFree(ptr);
});

test("many series' records decoded by one call: each series' points in range back to back; overlapping or bad records stop before their series", () => {
  const arena = loadWasm() as unknown as { readArena(points: number, keep: number): number; readArenaPoints(): number };
  const { parts, ptr } = recordBlock();
  fc.assert(
    fc.property(
      // series as lists of records (one record may serve several series), a time range, and where the output starts
      fc.array(fc.array(fc.integer({ min: 0, max: parts.length - 1 }), { maxLength: 3 }), { minLength: 1, maxLength: 8 }),
      fc.double({ min: 0, max: 1, noNaN: true }),
      fc.double({ min: 0, max: 1, noNaN: true }),
      fc.integer({ min: 0, max: 7 }),
      (series, a, b, at) => {
        const t0 = 1_700_000_000_000;
        const span = 400 * 15_000;
        const [start, end] = [t0 + Math.floor(Math.min(a, b) * span), t0 + Math.ceil(Math.max(a, b) * span)];
        const descs = new Int32Array(RECORD_DESC_I32 * 30);
        const f64 = new Float64Array(descs.buffer);
        const ends = new Int32Array(series.length);
        let r = 0;
        series.forEach((records, s) => {
          for (const k of records) {
            const p = parts[k]!;
            descs.set([ptr + p.at, p.record.length, p.ts.length], r * RECORD_DESC_I32);
            f64[r * 4 + 2] = p.ts[0]!;
            f64[r * 4 + 3] = p.ts[p.ts.length - 1]!;
            r++;
          }
          ends[s] = r;
        });
        // expected: per series the in-range points of its records in order, unless a record starts before the last point
        const want: { ts: number[]; values: number[] }[] = [];
        let stop = series.length;
        for (let s = 0; s < series.length && stop === series.length; s++) {
          const out = { ts: [] as number[], values: [] as number[] };
          for (const k of series[s]!) {
            const { ts, values } = parts[k]!;
            const i0 = ts.findIndex((t) => t >= start);
            if (i0 < 0 || ts[i0]! >= end) continue;
            if (out.ts.length > 0 && out.ts[out.ts.length - 1]! > ts[i0]!) stop = s;
            for (let i = i0; i < ts.length && ts[i]! < end; i++) {
              out.ts.push(ts[i]!);
              out.values.push(values[i]!);
            }
          }
          if (stop === series.length) want.push(out);
        }
        const total = series.flat().reduce((n, k) => n + parts[k]!.ts.length, 0);
        const tsPtr = arena.readArena(total + at, 0);
        const vsPtr = tsPtr + arena.readArenaPoints() * 8;
        const counts = new Int32Array(series.length + 1);
        const maxLength = Math.max(0, ...parts.map((p) => p.record.length));
        const done = decodeSeriesRecordsToMemory(descs, ends, 0, series.length, maxLength, start, end, tsPtr, vsPtr, at, counts);
        assert.is(done, stop);
        assert.is(counts[series.length], done < series.length ? SERIES_ORDER : 0);
        const mem = memoryViews();
        let p = tsPtr / 8 + at;
        for (let s = 0; s < done; s++) {
          const n = counts[s]!;
          assert.equal(Array.from(mem.f64.subarray(p, p + n)), want[s]!.ts);
          assert.equal(Array.from(mem.f64.subarray(p - tsPtr / 8 + vsPtr / 8, p - tsPtr / 8 + vsPtr / 8 + n)), want[s]!.values);
          p += n;
        }
        // the series after a refused one: decoded by a second call from there
        if (done + 1 < series.length) {
          assert.is(decodeSeriesRecordsToMemory(descs, ends, done + 1, series.length, maxLength, start, end, tsPtr, vsPtr, 0, counts) >= 0, true);
        }
      },
    ),
    { numRuns: 300 },
  );
  // a record whose index fields are wrong: the call stops before its series with the decoder's error
  const { ts, record, at } = parts[3]!;
  const descs = new Int32Array(RECORD_DESC_I32 * 2);
  const f64 = new Float64Array(descs.buffer);
  for (const r of [0, 1]) {
    descs.set([ptr + at, record.length, ts.length - r], r * RECORD_DESC_I32); // record 1 claims one point less
    f64[r * 4 + 2] = ts[0]!;
    f64[r * 4 + 3] = ts[ts.length - 1]!;
  }
  const tsPtr = arena.readArena(2 * ts.length, 0);
  const counts = new Int32Array(3);
  assert.is(decodeSeriesRecordsToMemory(descs, Int32Array.of(1, 2), 0, 2, record.length, ts[0]!, ts[ts.length - 1]! + 1, tsPtr, tsPtr + arena.readArenaPoints() * 8, 0, counts), 1);
  assert.is(counts[0], ts.length);
  assert.ok(counts[2]! < 0 && counts[2] !== SERIES_ORDER, `decoder error ${counts[2]}`);
  cache.cacheFree(ptr);
});

test("a range starting inside a delta block only sums the residuals before it: same values as the full decode", () => {
  // residual shapes: uniform noise (truncated-binary blocks), noise with rare outliers (PFOR exceptions), wide
  // steps around int64 wrap-around (i64), decimal gauges (f64)
  const shapes = fc.constantFrom("noise", "outliers", "wrap", "gauge");
  fc.assert(
    fc.property(fc.integer({ min: 2, max: 700 }), shapes, fc.nat(), fc.nat(), fc.nat(), (n, shape, a, b, seedIn) => {
      let s = seedIn | 1;
      const rnd = () => ((s = (Math.imul(s, 1103515245) + 12345) >>> 0) / 4294967296);
      const ts = Float64Array.from({ length: n }, (_, i) => 1_700_000_000_000 + i * 15_000);
      let x = 2n ** 62n;
      let g = 500;
      const ints = BigInt64Array.from({ length: n }, () => {
        const step = shape === "outliers" && rnd() < 0.02 ? BigInt(Math.floor(rnd() * 1e12)) : BigInt(Math.floor(rnd() * 1000) - 300);
        x = BigInt.asIntN(64, x + (shape === "wrap" ? step * 2n ** 40n : step));
        return x;
      });
      const kind = shape === "gauge" ? "f64" : "i64";
      const chunk = kind === "f64" ? encodeChunk("f64", ts, Float64Array.from({ length: n }, () => (g += Math.floor(rnd() * 41) - 20) / 100)) : encodeChunk("i64", ts, ints);
      const full = decodeChunk(chunk, "number");
      const from = a % n;
      const to = from + 1 + (b % (n - from));
      const tsOut = new Float64Array(n);
      const out = kind === "f64" ? new Float64Array(n) : new BigInt64Array(n);
      const count = decodeRangeInto(chunk, ts[from]!, ts[to - 1]! + 1, tsOut, out, 0);
      assert.is(count, to - from);
      assert.equal(Array.from(out.subarray(0, count) as Float64Array), Array.from((full.values as Float64Array).subarray(from, to)));
    }),
    { numRuns: 400 },
  );
});

const V2_TRUNCATED_CHUNK_HEX =
  "020001112c0100000068e5cf8b01000088d729d08b01000002000000d40000009875020001e60f8500231b38c530496524d8f4d0930035ce4a25" +
  "3e85e2ee6dfabcfa7a9ee28fd3d2af48934aefb36af9cb8054fe8d2db4e7266e73724fb7c187c95c7f84387b2ee0313d99775edc4812e34da5" +
  "acd04ff4bffdbedaa70d2bcdb49e3de2a5f0932d2a62274e434f56f10e2b47f5fd6239dcc2d4f987aecd02ac8691feaadbde8452aa2eee1948" +
  "3ee68744894f3ab8c3d1d9e99621b3ffff28abc429d5703072b6f932d1f34dc677608793ab3e3bf3018500231d07ced001344e5d3055d53971" +
  "668117fa63c47acc3d79d674dee1d3fc1edf42ad05";
const V1_CHUNK_HEX = "01000111030000000068e5cf8b01000030dde5cf8b01000002000000090000009875020001ac0200009601baf242b9";

test.run();
