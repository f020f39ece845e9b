// The shared cache of decompressed segment blocks (in WASM linear memory): repeated reads do not decompress again, the
// byte bound evicts least recently used blocks (not the ones pinned for a batch decode), and closing a segment
// releases its blocks.
import { test } from "uvu";
import * as assert from "uvu/assert";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { encodeChunk } from "../../src/encoding/chunk.js";
import { BlockCache, blockCache } from "../../src/storage/segment/reader.js";
import { memoryViews } from "../../src/wasm/loader.js";
import { SegmentStore } from "../../src/storage/segment/store.js";
import { stageSegment, type SegmentChunk } from "../../src/storage/segment/writer.js";

const root = mkdtempSync(join(tmpdir(), "tsink-blockcache-"));
test.after(() => rmSync(root, { recursive: true, force: true }));

const POINTS = 370;

/** A chunk of pseudo-random doubles (compresses poorly, ~3 KB), so the chunks fill several 64 KiB blocks. */
function chunkBytes(series: number, k: number): Uint8Array {
  let x = series * 7919 + k * 104729 + 1;
  const values = Float64Array.from({ length: POINTS }, () => (x = (Math.imul(x, 1103515245) + 12345) >>> 0) / 7);
  return encodeChunk("f64", Float64Array.from({ length: POINTS }, (_, i) => i), values);
}

test("a second pass over a segment's chunks is served from the cache; close releases the blocks", async () => {
  const store = await SegmentStore.open(root, "f64");
  const series = Array.from({ length: 100 }, (_, i) => ({ id: i, kind: 0, metric: "m", labels: [{ name: "i", value: String(i) }] }));
  const chunks: SegmentChunk[] = series.map((s) => ({ seriesId: s.id, minTs: 0, maxTs: POINTS - 1, count: POINTS, bytes: chunkBytes(s.id, 0) }));
  const seg = await store.add(await stageSegment(store.levelDir(0), { id: store.allocateId(), level: 0, timeCells: "f64", walHighwater: 1, series, chunks }));
  const bytesBefore = blockCache.bytes;
  const misses0 = blockCache.misses;
  for (let i = 0; i < chunks.length; i++) assert.ok(Buffer.from(chunks[i]!.bytes).equals(seg.readChunk(i)));
  const blocks = blockCache.misses - misses0;
  assert.ok(blocks >= 4, `300 KB of chunks span several blocks (${blocks})`);
  assert.ok(blockCache.bytes - bytesBefore >= 250_000, "the decompressed blocks are held");
  for (let i = chunks.length - 1; i >= 0; i--) assert.ok(Buffer.from(chunks[i]!.bytes).equals(seg.readChunk(i)));
  assert.is(blockCache.misses - misses0, blocks, "no block decompressed twice");
  store.close();
  assert.is(blockCache.bytes, bytesBefore, "closing the segment drops its blocks");
});

test("the cache stays within its byte bound, evicting the least recently used block", () => {
  const cache = new BlockCache(250);
  const block = (n: number) => Buffer.alloc(100, n);
  cache.set(1, block(1));
  cache.set(2, block(2));
  assert.ok(cache.get(1), "hit");
  cache.set(3, block(3)); // over 250 bytes: 2 is the least recently used
  assert.is(cache.bytes, 200);
  assert.is(cache.get(2), undefined);
  assert.is(memoryViews().u8[cache.get(1)!.ptr], 1);
  assert.is(memoryViews().u8[cache.get(3)!.ptr], 3);
});

test("a pinned block is not evicted until unpinned, then the bound holds again", () => {
  const cache = new BlockCache(250);
  const block = (n: number) => Buffer.alloc(100, n);
  cache.pin(cache.set(1, block(1)));
  cache.set(2, block(2));
  cache.set(3, block(3)); // over 250 bytes: 1 is pinned, so 2 goes
  assert.is(cache.get(2), undefined);
  cache.set(4, block(4)); // 1 pinned, 3 and 4: 3 goes
  assert.is(cache.get(3), undefined);
  assert.is(memoryViews().u8[cache.get(1)!.ptr], 1);
  assert.is(cache.pinnedBytes, 100);
  cache.pin(cache.get(4)!);
  cache.set(5, block(5)); // everything else pinned: over the bound until unpinned
  assert.is(cache.bytes, 300);
  cache.unpinAll();
  assert.is(cache.pinnedBytes, 0);
  assert.ok(cache.bytes <= 250);
});

test.run();
