// The sealed-chunk arena against a model (random adds, releases, rewrites, drops big enough to span and
// compact pages), and the engine-side hooks the durability layer uses (seal, list, release, replay).
import fc from "fast-check";
import { test } from "uvu";
import * as assert from "uvu/assert";
import { SealedChunks } from "../../src/storage/sealed-chunks.js";
import { TimeAxis } from "../../src/storage/timestamps.js";
import { StorageBuilder } from "../../src/index.js";
import { L, row } from "./helpers.js";

type ModelChunk = { bytes: Uint8Array; minTs: number; maxTs: number; count: number; seq: number };

const bytesOf = (seed: number, size: number) => {
  const b = new Uint8Array(size);
  for (let i = 0; i < size; i++) b[i] = (seed * 31 + i * 7) & 255;
  return b;
};

test("arena keeps every chunk intact through adds, releases, rewrites and compaction", () => {
  const op = fc.oneof(
    { arbitrary: fc.record({ k: fc.constant("add" as const), sid: fc.integer({ min: 0, max: 5 }), size: fc.integer({ min: 1, max: 400_000 }), ts: fc.integer({ min: 0, max: 1000 }) }), weight: 5 },
    { arbitrary: fc.record({ k: fc.constant("release" as const), sid: fc.integer({ min: 0, max: 5 }), frac: fc.double({ min: 0, max: 1, noNaN: true }) }), weight: 2 },
    { arbitrary: fc.record({ k: fc.constant("rewrite" as const), sid: fc.integer({ min: 0, max: 5 }), start: fc.integer({ min: 0, max: 1000 }), drop: fc.boolean() }), weight: 2 },
    { arbitrary: fc.record({ k: fc.constant("dropBefore" as const), cutoff: fc.integer({ min: 0, max: 600 }) }), weight: 1 },
  );
  fc.assert(
    fc.property(fc.array(op, { minLength: 1, maxLength: 60 }), (ops) => {
      const arena = new SealedChunks(new TimeAxis("ms"));
      const model = new Map<number, ModelChunk[]>();
      const handedOut: Array<{ view: Uint8Array; copy: Uint8Array }> = [];
      let seq = 0;
      for (const o of ops) {
        if (o.k === "add") {
          const c = { bytes: bytesOf(seq, o.size), minTs: o.ts, maxTs: o.ts + 10, count: 5, seq: ++seq };
          arena.add(o.sid, c.bytes, c.minTs, c.maxTs, c.count, c.seq);
          model.set(o.sid, [...(model.get(o.sid) ?? []), c]);
        } else if (o.k === "release") {
          const list = model.get(o.sid) ?? [];
          const upTo = list.length ? list[Math.floor(o.frac * (list.length - 1))]!.seq : 0;
          arena.removeWhere(o.sid, (_a, _b, s) => s <= upTo);
          model.set(o.sid, list.filter((c) => c.seq > upTo));
        } else if (o.k === "rewrite") {
          const end = o.start + 50;
          arena.rewriteOverlapping(o.sid, o.start, end, (b) => (o.drop ? null : { bytes: b.subarray(0, Math.max(1, b.length >> 1)).slice(), minTs: 1, maxTs: 2, count: 1 }));
          model.set(
            o.sid,
            (model.get(o.sid) ?? []).flatMap((c) => {
              if (!(c.maxTs >= o.start && c.minTs < end)) return [c];
              return o.drop ? [] : [{ bytes: c.bytes.slice(0, Math.max(1, c.bytes.length >> 1)), minTs: 1, maxTs: 2, count: 1, seq: c.seq }];
            }),
          );
        } else {
          for (const sid of arena.seriesIds()) arena.removeWhere(sid, (_a, max) => max < o.cutoff);
          for (const [sid, list] of model) model.set(sid, list.filter((c) => c.maxTs >= o.cutoff));
        }
        for (const sid of arena.seriesIds().slice(0, 1)) {
          const [first] = arena.list(sid);
          if (first) handedOut.push({ view: first.bytes, copy: first.bytes.slice() });
        }
      }
      let count = 0;
      let bytes = 0;
      for (let sid = 0; sid <= 5; sid++) {
        const expected = model.get(sid) ?? [];
        const got = arena.list(sid);
        assert.is(got.length, expected.length, `series ${sid}`);
        got.forEach((c, i) => {
          const e = expected[i]!;
          assert.equal([c.minTs, c.maxTs, c.count, c.seq], [e.minTs, e.maxTs, e.count, e.seq]);
          assert.ok(Buffer.from(c.bytes).equals(Buffer.from(e.bytes)), `bytes of chunk ${e.seq}`);
        });
        assert.is(arena.has(sid), expected.length > 0);
        count += expected.length;
        for (const e of expected) bytes += e.bytes.length;
      }
      assert.is(arena.count, count);
      assert.ok(arena.bytes >= bytes);
      for (const h of handedOut) assert.ok(Buffer.from(h.view).equals(Buffer.from(h.copy)), "a view handed out never changes");
      assert.ok(arena.arenaBytes < bytes * 2 + 6 * (1 << 20) + 4096, "arena stays within twice the live bytes plus a few pages");
    }),
    { numRuns: 60 },
  );
});

test("engine hooks for the durability layer: sealAll, list, release, replay of batches and deletes", async () => {
  const s = await new StorageBuilder().withTimestampPrecision("ms").withChunkPoints(4).build();
  const now = Date.now() - 60_000;
  await s.insertRows(Array.from({ length: 10 }, (_, i) => row("h", L("k", "v"), now + i, i)));
  assert.equal(s.seriesWithSealedChunks(), [0]);
  assert.is(s.sealedChunks(0).length, 2);
  s.sealAll();
  const chunks = s.sealedChunks(0);
  assert.equal(chunks.map((c) => c.count), [4, 4, 2]);
  assert.ok(chunks[0]!.seq < chunks[1]!.seq && chunks[1]!.seq < chunks[2]!.seq);
  s.releaseSealedChunks(0, chunks[1]!.seq);
  assert.equal(s.sealedChunks(0).map((c) => c.count), [2]);
  assert.equal((await s.select("h", L("k", "v"), 0, now + 100)).map((p) => p.value), [8, 9], "released chunks are the durability layer's to serve");
  assert.equal(s.seriesDefinition(0), { id: 0, metric: "h", labels: L("k", "v"), kind: 0 });

  // replay into a fresh engine: series definitions with fixed ids, samples, then a delete
  const r = await new StorageBuilder().withTimestampPrecision("ms").build();
  const values = new Float64Array([1.5, 2.5, 3.5]);
  r.applyBatch({
    count: 3,
    seriesIds: new Uint32Array([7, 7, 3]),
    kinds: new Uint8Array([0, 0, 0]),
    timestamps: new Float64Array([now, now + 1, now]),
    values,
    blobs: null,
    newSeries: [
      { id: 7, metric: "replayed", labels: L("a", "1"), kind: 0 },
      { id: 3, metric: "replayed", labels: L("a", "2"), kind: 0 },
    ],
  });
  assert.equal((await r.select("replayed", L("a", "1"), 0, now + 10)).map((p) => p.value), [1.5, 2.5]);
  assert.equal(r.seriesDefinition(3)?.labels, L("a", "2"));
  r.applyDelete(new Uint32Array([7]), now, now + 1);
  assert.equal((await r.select("replayed", L("a", "1"), 0, now + 10)).map((p) => p.value), [2.5]);
  r.applyDelete(new Uint32Array([3]));
  assert.equal((await r.listMetrics()).map((m) => m.labels[0]!.value), ["1"]);
  // a series known from segments only
  r.defineSeries({ id: 9, metric: "on_disk", labels: [], kind: 1 });
  assert.equal((await r.selectSeries({ metric: "on_disk" })).length, 1);
  await r.insertRows([row("on_disk", [], now, 5n)]);
  assert.equal(await r.select("on_disk", [], 0, now + 1), [{ timestamp: now, value: 5n }]);
});

test.run();
