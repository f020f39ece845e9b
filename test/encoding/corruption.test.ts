// Corrupt, truncated, forged and wrong-version chunks: every reader throws ChunkCorruptionError with a clear message,
// never hangs, never reads out of bounds, never returns silently wrong data for a bad checksum.
import { test } from "uvu";
import * as assert from "uvu/assert";
import fc from "fast-check";
import {
  encodeChunk, decodeChunk, chunkInfo, decodeRangeInto, aggregateChunk, ChunkCorruptionError, type ValueKind,
} from "../../src/encoding/chunk.js";
import { chunkChecksum, forgeChecksum, xxh64 } from "./helpers.js";

const isCorruption = (pattern: RegExp) => (e: unknown) =>
  e instanceof ChunkCorruptionError && e.code === "DataCorruption" && pattern.test(e.message);

function readers(chunk: Uint8Array): Array<() => unknown> {
  return [
    () => decodeChunk(chunk),
    () => decodeChunk(chunk, "bigint"),
    () => decodeRangeInto(chunk, -Infinity, Infinity, new Float64Array(70000), new Float64Array(70000), 0),
    () => aggregateChunk(chunk, -Infinity, Infinity),
  ];
}

const gauge = () => {
  const ts = Float64Array.from({ length: 40 }, (_, i) => 1_700_000_000_000 + i * 15_000 + (i % 3));
  const values = Float64Array.from({ length: 40 }, (_, i) => Math.round(Math.sin(i) * 1000) / 100);
  return encodeChunk("f64", ts, values);
};

test("the chunk checksum is XXH64: standard test vectors (all tail lengths, 32-byte stripes)", () => {
  const text = (s: string) => new TextEncoder().encode(s);
  assert.is(xxh64(text("")), 0xef46db3751d8e999n);
  assert.is(xxh64(text("abc")), 0x44bc2cf5ad770999n);
  assert.is(xxh64(text("a")), 0xd24ec4f1a98c6e5bn);
  assert.is(xxh64(text("Nobody inspects the spammish repetition")), 0xfbcea83c8a378bf1n);
  assert.is(xxh64(text("The quick brown fox jumps over the lazy dog")), 0x0b242d361fda71bcn);
  assert.is(xxh64(text("The quick brown fox jumps over the lazy dog.")), 0x44ad33705751ad73n);
  assert.is(xxh64(Uint8Array.from({ length: 100 }, (_, i) => i)), 0x6ac1e58032166597n);
  assert.is(chunkChecksum(text("abc")), 0xad770999);
});

test("truncation at every length is reported, by chunkInfo and by every decoder", () => {
  const chunk = gauge();
  for (let len = 0; len < chunk.length; len++) {
    const cut = chunk.slice(0, len);
    const pattern = len === 0 ? /shorter than/ : len < 36 ? /shorter than/ : /header describes \d+ bytes \(truncated/;
    assert.throws(() => chunkInfo(cut), isCorruption(pattern), `chunkInfo, length ${len}`);
    for (const read of readers(cut)) assert.throws(read, isCorruption(pattern), `decoder, length ${len}`);
  }
  const longer = new Uint8Array(chunk.length + 1);
  longer.set(chunk);
  assert.throws(() => decodeChunk(longer), isCorruption(/trailing bytes/));
});

test("every single bit flip is detected (header checks or checksum)", () => {
  for (const kind of ["f64", "string"] as ValueKind[]) {
    const chunk = kind === "f64" ? gauge() : encodeChunk("string", Float64Array.from([1, 2, 3]), ["a", "bb", "ccc"]);
    for (let bit = 0; bit < chunk.length * 8; bit++) {
      const bad = chunk.slice();
      bad[bit >> 3]! ^= 1 << (bit & 7);
      assert.throws(() => decodeChunk(bad), (e: unknown) => e instanceof ChunkCorruptionError, `${kind} bit ${bit}`);
    }
  }
});

test("a payload bit flip names the checksum", () => {
  const bad = gauge();
  bad[40]! ^= 0x10;
  assert.throws(() => decodeChunk(bad), isCorruption(/checksum mismatch/));
  assert.throws(() => aggregateChunk(bad, 0, Infinity), isCorruption(/checksum mismatch/));
});

test("wrong version, unknown kind/codec, bad count, inverted min/max are named", () => {
  const chunk = gauge();
  const edit = (at: number, value: number) => {
    const bad = chunk.slice();
    bad[at] = value;
    return forgeChecksum(bad);
  };
  assert.throws(() => chunkInfo(edit(0, 4)), isCorruption(/unsupported chunk version 4 \(this build reads versions 1-3\)/));
  assert.throws(() => decodeChunk(edit(0, 0)), isCorruption(/unsupported chunk version 0/));
  assert.throws(() => decodeChunk(edit(1, 9)), isCorruption(/unknown value kind id 9/));
  assert.throws(() => decodeChunk(edit(2, 77)), isCorruption(/unknown timestamp codec id 77/));
  assert.throws(() => decodeChunk(edit(3, 20)), isCorruption(/value codec id 20 is not valid for value kind f64/));
  assert.throws(() => decodeChunk(edit(4, 0)), isCorruption(/invalid point count/));
  assert.throws(() => decodeChunk(edit(23, 0x80)), isCorruption(/minTs greater than maxTs/));
  assert.throws(() => decodeChunk(edit(16, chunk[16]! ^ 1)), isCorruption(/out of order or disagree/));
});

test("forged checksums over random garbage: throw ChunkCorruptionError or decode, never crash or hang", () => {
  const kinds: ValueKind[] = ["f64", "i64", "u64", "bool", "bytes", "string"];
  const bases = kinds.map((kind) => {
    const ts = Float64Array.from({ length: 300 }, (_, i) => i * 1000 + (i % 5) * 7);
    const values =
      kind === "f64" ? Float64Array.from({ length: 300 }, (_, i) => (i % 17) / 4 + (i === 100 ? Math.PI : 0))
      : kind === "i64" ? BigInt64Array.from({ length: 300 }, (_, i) => BigInt(i * i))
      : kind === "u64" ? BigUint64Array.from({ length: 300 }, (_, i) => BigInt(i))
      : kind === "bool" ? Uint8Array.from({ length: 300 }, (_, i) => i % 3 & 1)
      : kind === "bytes" ? Array.from({ length: 300 }, (_, i) => Uint8Array.of(i & 255))
      : Array.from({ length: 300 }, (_, i) => `v${i % 4}`);
    return encodeChunk(kind, ts, values);
  });
  let decodedAnyway = 0;
  fc.assert(
    fc.property(fc.nat({ max: bases.length - 1 }), fc.array(fc.tuple(fc.nat(), fc.nat({ max: 255 })), { minLength: 1, maxLength: 6 }), (which, edits) => {
      const bad = bases[which]!.slice();
      for (const [at, value] of edits) bad[32 + (at % (bad.length - 36))] = value;
      const forged = forgeChecksum(bad);
      const numeric = kinds[which] !== "bytes" && kinds[which] !== "string";
      for (const read of [() => decodeChunk(forged), () => (numeric ? aggregateChunk(forged, -Infinity, Infinity) : decodeChunk(forged, "bigint"))]) {
        try {
          read();
          decodedAnyway++;
        } catch (e) {
          if (!(e instanceof ChunkCorruptionError)) throw e;
        }
      }
    }),
    { numRuns: 1500 },
  );
  // Forged garbage is sometimes still well-formed (e.g. a changed value byte); that is fine, crashing is not.
  assert.ok(decodedAnyway < 1500 * 2);
});

test("a corrupt chunk never poisons the next decode", () => {
  const good = gauge();
  const bad = good.slice();
  bad[50]! ^= 0xff;
  assert.throws(() => decodeChunk(bad), (e: unknown) => e instanceof ChunkCorruptionError);
  assert.is(decodeChunk(good).count, 40);
});

test.run();
