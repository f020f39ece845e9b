// WAL: framing, rotation, replay of torn and corrupt files in Strict/Salvage, group commit, size limit, truncation.
import { test } from "uvu";
import * as assert from "uvu/assert";
import { mkdtempSync, readdirSync, readFileSync, rmSync, statSync, truncateSync, writeFileSync, existsSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { WriteAheadLog, type WalOptions } from "../../src/storage/wal/wal.js";
import { FRAME_HEADER_BYTES, scanFrames } from "../../src/storage/wal/frame.js";
import { RecordType } from "../../src/storage/wal/records.js";
import { TsinkError } from "../../src/storage/errors.js";

const dirs: string[] = [];
function tempDir(): string {
  const d = mkdtempSync(join(tmpdir(), "tsink-wal-"));
  dirs.push(d);
  return d;
}
test.after(() => dirs.forEach((d) => rmSync(d, { recursive: true, force: true })));

const strict: WalOptions = { syncMode: { kind: "perAppend" }, replayMode: "strict" };
const salvage: WalOptions = { syncMode: { kind: "perAppend" }, replayMode: "salvage" };

function payloadFor(i: number): Buffer {
  const b = Buffer.alloc(20 + (i % 37));
  b.writeUInt32LE(i, 0);
  for (let j = 4; j < b.length; j++) b[j] = (i * 31 + j) & 0xff;
  return b;
}

async function writeFrames(dir: string, n: number, options: WalOptions = strict): Promise<number[]> {
  const { wal } = WriteAheadLog.open(dir, options, () => {});
  const seqs: number[] = [];
  for (let i = 0; i < n; i++) seqs.push(wal.append([{ type: RecordType.Samples, payload: payloadFor(i) }]));
  await wal.close();
  return seqs;
}

function replayAll(dir: string, options: WalOptions) {
  const got: { seq: number; id: number; ok: boolean }[] = [];
  const { wal, report } = WriteAheadLog.open(dir, options, (f) => {
    const id = f.payload.readUInt32LE(0);
    got.push({ seq: f.seq, id, ok: payloadFor(id).equals(f.payload) });
  });
  return { wal, report, got };
}

const walFiles = (dir: string) => readdirSync(dir).filter((n) => n.endsWith(".log")).sort();

test("frames round-trip in order with increasing sequence numbers", async () => {
  const dir = tempDir();
  const seqs = await writeFrames(dir, 100);
  assert.equal(seqs, Array.from({ length: 100 }, (_, i) => i + 1));
  const { wal, got, report } = replayAll(dir, strict);
  assert.is(got.length, 100);
  assert.ok(got.every((g, i) => g.ok && g.id === i && g.seq === i + 1));
  assert.equal(report.tornTails, []);
  // New appends continue the sequence in a fresh segment.
  assert.is(wal.append([{ type: RecordType.Samples, payload: payloadFor(100) }]), 101);
  await wal.close();
});

test("segments rotate at the size limit and replay across files", async () => {
  const dir = tempDir();
  const { wal } = WriteAheadLog.open(dir, { ...strict, segmentBytes: 1024 }, () => {});
  for (let i = 0; i < 200; i++) wal.append([{ type: RecordType.Samples, payload: payloadFor(i) }]);
  await wal.close();
  const files = walFiles(dir);
  assert.ok(files.length > 5, `expected several segments, got ${files.length}`);
  for (const f of files) assert.ok(statSync(join(dir, f)).size <= 1024);
  const { wal: w2, got } = replayAll(dir, strict);
  assert.is(got.length, 200);
  assert.ok(got.every((g, i) => g.ok && g.id === i));
  await w2.close();
});

test("a torn last frame is recovered in both modes at every truncation offset", async () => {
  const base = tempDir();
  await writeFrames(base, 6);
  const file = walFiles(base)[0]!;
  const full = readFileSync(join(base, file));
  const frameEnds = scanFrames(full).frames.map((f) => f.offset + FRAME_HEADER_BYTES + f.payload.length);
  for (const mode of [strict, salvage]) {
    for (let cut = 1; cut < full.length; cut++) {
      const dir = tempDir();
      writeFileSync(join(dir, file), full.subarray(0, cut));
      const { wal, got, report } = replayAll(dir, mode);
      const intact = frameEnds.filter((e) => e <= cut).length;
      assert.is(got.length, intact, `cut at ${cut}`);
      assert.ok(got.every((g, i) => g.ok && g.id === i));
      assert.is(report.tornTails.length, frameEnds.includes(cut) ? 0 : 1);
      await wal.close();
      rmSync(dir, { recursive: true, force: true });
    }
  }
});

test("Strict fails naming file and offset; Salvage keeps every intact frame and quarantines", async () => {
  const base = tempDir();
  await writeFrames(base, 12);
  const file = walFiles(base)[0]!;
  const full = readFileSync(join(base, file));
  const frames = scanFrames(full).frames;
  // Flip one byte inside each frame except the last (damage followed by intact data is corruption).
  for (let victim = 0; victim < frames.length - 1; victim++) {
    const frame = frames[victim]!;
    for (const delta of [0, 5, 9, 17, 21, FRAME_HEADER_BYTES + 3]) {
      const damaged = Buffer.from(full);
      damaged[frame.offset + delta]! ^= 0x5a;
      const dir = tempDir();
      writeFileSync(join(dir, file), damaged);
      try {
        WriteAheadLog.open(dir, strict, () => {});
        assert.unreachable("strict replay must fail");
      } catch (err) {
        assert.instance(err, TsinkError);
        assert.is((err as TsinkError).code, "DataCorruption");
        assert.ok((err as Error).message.includes(join(dir, file)), (err as Error).message);
        assert.is((err as TsinkError).details.offset, frame.offset);
      }
      const { wal, got, report } = replayAll(dir, salvage);
      assert.equal(
        got.map((g) => g.id),
        frames.map((_, i) => i).filter((i) => i !== victim),
        `victim ${victim} delta ${delta}`,
      );
      assert.ok(got.every((g) => g.ok));
      assert.is(report.quarantined.length, 1);
      assert.ok(existsSync(report.quarantined[0]!));
      await wal.close();
      // The repaired file now replays cleanly in Strict mode and keeps the same frames.
      const again = replayAll(dir, strict);
      assert.is(again.got.length, frames.length - 1);
      await again.wal.close();
      rmSync(dir, { recursive: true, force: true });
    }
  }
});

test("damage in an older segment fails Strict; Salvage keeps later segments", async () => {
  const dir = tempDir();
  const { wal } = WriteAheadLog.open(dir, { ...strict, segmentBytes: 512 }, () => {});
  for (let i = 0; i < 60; i++) wal.append([{ type: RecordType.Samples, payload: payloadFor(i) }]);
  await wal.close();
  const files = walFiles(dir);
  const first = join(dir, files[0]!);
  truncateSync(first, statSync(first).size - 3); // torn tail in a non-last segment = lost acknowledged data
  assert.throws(() => WriteAheadLog.open(dir, strict, () => {}), (e: TsinkError) => e.code === "DataCorruption");
  const { wal: w2, got, report } = replayAll(dir, salvage);
  assert.is(got.length, 59);
  assert.ok(got.every((g) => g.ok));
  assert.is(report.salvaged.length, 1);
  await w2.close();
});

test("group commit: concurrent appends share fsyncs", async () => {
  const dir = tempDir();
  const { wal } = WriteAheadLog.open(dir, strict, () => {});
  const n = 500;
  const started = performance.now();
  await Promise.all(
    Array.from({ length: n }, (_, i) => wal.durable(wal.append([{ type: RecordType.Samples, payload: payloadFor(i) }]))),
  );
  const concurrentMs = performance.now() - started;
  assert.ok(wal.syncRounds <= 3, `expected <= 3 fsync rounds for ${n} concurrent appends, got ${wal.syncRounds}`);
  // Sequential appends each wait for their own fsync.
  const before = wal.syncRounds;
  for (let i = 0; i < 20; i++) await wal.durable(wal.append([{ type: RecordType.Samples, payload: payloadFor(i) }]));
  assert.is(wal.syncRounds - before, 20);
  console.log(`group commit: ${n} concurrent appends -> ${before} fsyncs in ${concurrentMs.toFixed(1)} ms`);
  await wal.close();
});

test("appends interleaved with awaits are grouped per fsync round", async () => {
  const dir = tempDir();
  const { wal } = WriteAheadLog.open(dir, strict, () => {});
  let next = 0;
  const writer = async () => {
    for (let i = 0; i < 50; i++) await wal.durable(wal.append([{ type: RecordType.Samples, payload: payloadFor(next++) }]));
  };
  await Promise.all(Array.from({ length: 16 }, writer));
  assert.ok(wal.syncRounds < 800 / 4, `16 writers x 50 appends took ${wal.syncRounds} fsyncs`);
  console.log(`group commit: 16 writers x 50 awaited appends -> ${wal.syncRounds} fsyncs`);
  await wal.close();
  const { wal: w2, got } = replayAll(dir, strict);
  assert.is(got.length, 800);
  await w2.close();
});

test("size limit: WalSizeLimitExceeded before anything is written", async () => {
  const dir = tempDir();
  const { wal } = WriteAheadLog.open(dir, { ...strict, sizeLimitBytes: 1000 }, () => {});
  let appended = 0;
  try {
    for (;;) {
      wal.append([{ type: RecordType.Samples, payload: Buffer.alloc(100) }]);
      appended++;
    }
  } catch (err) {
    assert.is((err as TsinkError).code, "WalSizeLimitExceeded");
    assert.is((err as TsinkError).details.limit, 1000);
  }
  assert.is(appended, Math.floor(1000 / (100 + FRAME_HEADER_BYTES)));
  assert.is(wal.sizeBytes, appended * (100 + FRAME_HEADER_BYTES));
  await wal.close();
});

test("markPersisted deletes covered segments and replay skips persisted frames", async () => {
  const dir = tempDir();
  const { wal } = WriteAheadLog.open(dir, { ...strict, segmentBytes: 600 }, () => {});
  let lastSeq = 0;
  for (let i = 0; i < 40; i++) lastSeq = wal.append([{ type: RecordType.Samples, payload: payloadFor(i) }]);
  await wal.sync();
  wal.rotate();
  const sizeBefore = wal.sizeBytes;
  await wal.markPersisted(25);
  assert.ok(wal.sizeBytes < sizeBefore);
  for (let i = 40; i < 45; i++) wal.append([{ type: RecordType.Samples, payload: payloadFor(i) }]);
  await wal.close();
  const { wal: w2, got, report } = replayAll(dir, strict);
  assert.equal(
    got.filter((g) => g.seq > 25).map((g) => g.id),
    Array.from({ length: 45 - 25 }, (_, i) => i + 25),
  );
  assert.ok(got.every((g) => g.seq > 25), "frames at or below the high-water mark are not replayed");
  // The segment holding seq 25 and 26 survives; its frames up to 25 are skipped, not replayed.
  assert.ok(report.skippedPersisted > 0 && report.skippedPersisted < 25, `skipped ${report.skippedPersisted}`);
  assert.is(lastSeq, 40);
  // Everything persisted: all but the active segment go away.
  w2.rotate();
  await w2.markPersisted(w2.lastSeq);
  assert.is(w2.sizeBytes, 0);
  await w2.close();
});

test("persistedSeqFloor protects against replaying data already in segments", async () => {
  const dir = tempDir();
  await writeFrames(dir, 10);
  const { wal, got } = (() => {
    const got: number[] = [];
    const r = WriteAheadLog.open(dir, { ...strict, persistedSeqFloor: 7 }, (f) => got.push(f.seq));
    return { wal: r.wal, got };
  })();
  assert.equal(got, [8, 9, 10]);
  assert.is(wal.append([{ type: 2, payload: payloadFor(1) }]), 11);
  await wal.close();
});

test("Periodic mode acknowledges at once and fsyncs in the background", async () => {
  const dir = tempDir();
  const { wal } = WriteAheadLog.open(dir, { syncMode: { kind: "periodic", intervalMs: 20 }, replayMode: "strict" }, () => {});
  for (let i = 0; i < 100; i++) wal.append([{ type: RecordType.Samples, payload: payloadFor(i) }]);
  assert.is(wal.syncRounds, 0);
  // A round every 20 ms at most: wait for the first (the thread pool may be slow on a loaded machine), bound the count.
  const started = performance.now();
  while (wal.syncRounds === 0 && performance.now() - started < 30_000) await new Promise((r) => setTimeout(r, 10));
  const elapsed = performance.now() - started;
  assert.ok(wal.syncRounds >= 1 && wal.syncRounds <= Math.ceil(elapsed / 20) + 1, `rounds ${wal.syncRounds} in ${elapsed.toFixed(0)} ms`);
  await wal.close();
});

test.run();
