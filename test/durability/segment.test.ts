// Segments: write/read round trip, atomic publish, corrupt segments quarantined without taking the rest down,
// interrupted replacements (real SIGKILLed child) finished at open.
import { test } from "uvu";
import * as assert from "uvu/assert";
import { spawnSync } from "node:child_process";
import { cpSync, existsSync, mkdirSync, readdirSync, readFileSync, rmSync, truncateSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { SegmentStore } from "../../src/storage/segment/store.js";
import { stageSegment, type SegmentChunk, type SegmentContent } from "../../src/storage/segment/writer.js";
import { DataDirLock } from "../../src/storage/segment/lock.js";
import { TsinkError } from "../../src/storage/errors.js";
import { decodeChunk, encodeChunk } from "../../src/encoding/chunk.js";
import { StorageBuilder } from "../../src/index.js";
import { memoryViews } from "../../src/wasm/loader.js";
import { tempDirs } from "./temp-dirs.js";

const tempDir = tempDirs("tsink-seg-");

/** A real chunk of `count` points from minTs to maxTs (segments store chunks as records rebuilt from the index). */
function chunkBytes(series: number, k: number, minTs: number | bigint = 0, maxTs: number | bigint = 1000, count = 2): Uint8Array {
  const lo = BigInt(minTs);
  const span = BigInt(maxTs) - lo;
  const ts = BigInt64Array.from({ length: count }, (_, i) => (count === 1 ? lo : lo + (span * BigInt(i)) / BigInt(count - 1)));
  const values = Float64Array.from({ length: count }, (_, i) => Math.sin(series * 31 + k * 17 + i) * 1e6);
  return encodeChunk("f64", ts, values);
}

function content(id: number, seriesCount: number, chunksPerSeries: number, level = 0): SegmentContent {
  const series = Array.from({ length: seriesCount }, (_, i) => ({
    id: i * 3 + 1,
    kind: i % 6,
    metric: `metric_${i % 7}`,
    labels: [
      { name: "host", value: `h${i % 11}` },
      { name: "job", value: i % 2 ? "api" : "node" },
    ],
  }));
  const chunks: SegmentChunk[] = [];
  for (const s of series) {
    for (let k = chunksPerSeries - 1; k >= 0; k--) {
      chunks.push({ seriesId: s.id, minTs: k * 1000 + id, maxTs: k * 1000 + 999, count: 10 + k, bytes: chunkBytes(s.id, k, k * 1000 + id, k * 1000 + 999, 10 + k) });
    }
  }
  return { id, level, timeCells: "f64", walHighwater: id * 100, series, chunks };
}

test("index: series definitions and i64 time columns round-trip; version 1 and 3 segments still open", async () => {
  const root = tempDir();
  const store = await SegmentStore.open(root, "i64");
  const big = 2n ** 62n;
  const series = [
    { id: 9, kind: 1, metric: "ünïcode_metric", labels: [{ name: "k", value: "v \u0000 \u{1F600}" }] },
    { id: 70_000, kind: 0, metric: "m", labels: [] },
  ];
  const chunks = [
    { seriesId: 9, minTs: -big, maxTs: big, count: 2, bytes: chunkBytes(9, 0, -big, big, 2) },
    { seriesId: 70_000, minTs: 5n, maxTs: 5n, count: 1, bytes: chunkBytes(70_000, 0, 5n, 5n, 1) },
  ];
  await store.add(await stageSegment(store.levelDir(0), { id: store.allocateId(), level: 0, timeCells: "i64", walHighwater: 3, series, chunks }));
  store.close();
  const again = await SegmentStore.open(root, "i64");
  const seg = again.segments[0]!;
  assert.is(seg.manifest.version, 4);
  assert.equal([seg.index.dictionary().seriesDef(0), seg.index.dictionary().seriesDef(1)], series);
  assert.equal(Array.from(seg.minTs as BigInt64Array), [-big, 5n]);
  assert.equal(Array.from(seg.maxTs as BigInt64Array), [big, 5n]);
  assert.equal(Array.from(seg.index.dictionary().postings().get("k\0v \u0000 \u{1F600}")!), [9]);
  again.close();

  // A segment written by the version-1 writer (u32 index columns), copied from the fixture.
  const old = tempDir();
  cpSync(join(import.meta.dirname, "fixtures", "segment-v1"), old, { recursive: true });
  const v1 = await SegmentStore.open(old, "f64");
  assert.is(v1.quarantined.length, 0);
  const s1 = v1.segments[0]!;
  assert.is(s1.manifest.version, 1);
  assert.equal(s1.index.dictionary().seriesDef(1), { id: 5, kind: 0, metric: "temp_celsius", labels: [{ name: "job", value: "node" }, { name: "room", value: "kitchen" }] });
  assert.equal(Array.from(s1.index.dictionary().postings().get("job\0node")!), [2, 5]);
  assert.equal(Array.from(decodeChunk(s1.readChunk(s1.chunkRange(5)[0])).values as Float64Array), [20.5, 20.75, 21, 21.25, 21.5]);
  v1.close();

  // A segment written by the version-3 writer (chunk lengths and postings stored in the index), from the fixture.
  const v3dir = tempDir();
  cpSync(join(import.meta.dirname, "fixtures", "segment-v3"), v3dir, { recursive: true });
  const v3 = await SegmentStore.open(v3dir, "f64");
  assert.is(v3.quarantined.length, 0);
  const s3 = v3.segments[0]!;
  assert.is(s3.manifest.version, 3);
  assert.equal(s3.index.dictionary().seriesDef(2), { id: 5, kind: 0, metric: "v3_metric_0", labels: [{ name: "job", value: "api" }, { name: "i", value: "2" }] });
  assert.equal(Array.from(s3.index.dictionary().postings().get("job\0node")!), [1, 7]);
  for (const id of [1, 3, 5, 7, 9, 11]) {
    const [lo, hi] = s3.chunkRange(id);
    const values = Array.from({ length: hi - lo }, (_, k) => Array.from(decodeChunk(s3.readChunk(lo + k)).values as Float64Array)).flat();
    assert.equal(values, Array.from({ length: 20 }, (_, j) => id * 100 + j * 0.25), `series ${id}`);
  }
  v3.close();
});

test("a data directory written with chunk version 2 (interleaved truncated-binary blocks) reads the same values", async () => {
  // fixtures/chunks-v2: 3 series x 300 points written by the build before chunk version 3 (decimal gauges and a
  // 512-step counter, noisy enough for truncated-binary blocks), as that build's flush left it at close.
  const dir = tempDir();
  cpSync(join(import.meta.dirname, "fixtures", "chunks-v2"), dir, { recursive: true });
  let seed = 5;
  const rnd = () => ((seed = (Math.imul(seed, 1103515245) + 12345) >>> 0) / 4294967296);
  const expected: number[][] = [];
  for (let k = 0; k < 3; k++) {
    let v = 1000 * (k + 1);
    expected.push(Array.from({ length: 300 }, () => {
      v += k === 2 ? 512 * Math.floor(rnd() * 37) : Math.floor(rnd() * 37) - 18;
      return k === 2 ? v : v / 100;
    }));
  }
  const store = await SegmentStore.open(join(dir, "segments"), "f64");
  const seg = store.segments[0]!;
  for (let i = 0; i < seg.index.chunkSeries.length; i++) assert.is(seg.readChunk(i)[0], 2, "the fixture holds version-2 chunks");
  store.close();
  const storage = await new StorageBuilder().withTimestampPrecision("ms").withDataPath(dir).build();
  const t0 = 1_700_000_000_000;
  for (const [start, from] of [[t0, 0], [t0 + 250 * 15_000, 250]] as const) {
    const cols = await storage.selectColumns({ metric: "fixture_gauge" }, start, t0 + 300 * 15_000);
    assert.equal(cols.map((c) => Array.from(c.values)), expected.map((e) => e.slice(from)));
    const batches: number[][] = [];
    await storage.selectBatches({ metric: "fixture_gauge" }, start, t0 + 300 * 15_000, 1 << 20, (b) => {
      const f64 = memoryViews().f64;
      for (let i = 0; i + 1 < b.offsets.length; i++) batches.push(Array.from(f64.subarray(b.vsPtr / 8 + b.offsets[i]!, b.vsPtr / 8 + b.offsets[i + 1]!)));
    });
    assert.equal(batches, expected.map((e) => e.slice(from)), `read arena from index ${from}`);
  }
  await storage.close();
});

test("selectBatches over segments (whole series decoded per kernel call) gives selectColumns' points: series in memory, deleted ranges, overlaps, any batch size", async () => {
  const dir = tempDir();
  const t0 = 1_700_000_000_000;
  const open = () => new StorageBuilder().withTimestampPrecision("ms").withDataPath(dir).build();
  const labels = (i: number) => [{ name: "i", value: String(i).padStart(2, "0") }];
  const rows = (from: number, to: number, series: (i: number) => boolean, value: (i: number, k: number) => number) =>
    Array.from({ length: 40 }, (_, i) => i).filter(series).flatMap((i) =>
      Array.from({ length: to - from }, (_, k) => ({ metric: "m", labels: labels(i), dataPoint: { timestamp: t0 + (from + k) * 15_000, value: value(i, from + k) } })),
    );
  let storage = await open();
  await storage.insertRows(rows(0, 300, () => true, (i, k) => i * 1000 + k / 4));
  await storage.close(); // into segments
  storage = await open();
  await storage.insertRows(rows(300, 320, (i) => i % 4 === 1, (i, k) => -i - k)); // newer points in memory
  await storage.insertRows(rows(100, 110, (i) => i % 4 === 2, (_, k) => k * 3)); // overlapping points in memory
  await storage.deleteSeries({ metric: "m", matchers: [{ name: "i", op: "=~", value: "0[5-7]" }], start: t0 + 50 * 15_000, end: t0 + 60 * 15_000 });
  await storage.insertRows(rows(0, 1, (i) => i === 39, () => NaN)); // an older duplicate in memory
  for (const [start, end] of [[t0, t0 + 400 * 15_000], [t0 + 200 * 15_000 + 7, t0 + 310 * 15_000], [t0 + 299 * 15_000, t0 + 299 * 15_000 + 1]]) {
    const cols = await storage.selectColumns({ metric: "m" }, start, end);
    const want = cols.map((c) => ({ labels: c.labels, ts: Array.from(c.timestamps as Float64Array), values: Array.from(c.values) }));
    assert.ok(want.length > 30);
    for (const maxPoints of [1, 500, 1 << 20]) {
      const got: typeof want = [];
      await storage.selectBatches({ metric: "m" }, start, end, maxPoints, (b) => {
        const f64 = memoryViews().f64;
        b.labels.slice(b.first, b.first + b.offsets.length - 1).forEach((l, i) => {
          const [from, to] = [b.offsets[i]!, b.offsets[i + 1]!];
          got.push({ labels: l.filter((x) => x.name !== "__name__"), ts: Array.from(f64.subarray(b.tsPtr / 8 + from, b.tsPtr / 8 + to)), values: Array.from(f64.subarray(b.vsPtr / 8 + from, b.vsPtr / 8 + to)) });
        });
      });
      assert.equal(got, want, `[${start - t0}, ${end - t0}) in batches of ${maxPoints} points`);
    }
  }
  await storage.close();
});

/**
 * Two segments written directly (a storage's close would merge them): 9 series over points 0-299 in an L1 segment,
 * the odd ones also over points 100-139 shifted by 7 ms in an L2 segment. Returns the directory, the L2 segment's
 * directory and each series' points in time order.
 */
async function overlappingSegments() {
  const dir = tempDir();
  const store = await SegmentStore.open(join(dir, "segments"), "f64");
  const series = Array.from({ length: 9 }, (_, i) => ({ id: i, kind: 0, metric: "m", labels: [{ name: "i", value: String(i) }] }));
  const points = (id: number, from: number, to: number, shift: number) =>
    Array.from({ length: to - from }, (_, k) => [T0 + (from + k) * 15_000 + shift, id * 1000 + from + k + shift / 10] as const);
  const chunk = (id: number, pts: (readonly [number, number])[]) => ({
    seriesId: id, minTs: pts[0]![0], maxTs: pts[pts.length - 1]![0], count: pts.length,
    bytes: encodeChunk("f64", Float64Array.from(pts, (p) => p[0]), Float64Array.from(pts, (p) => p[1])),
  });
  let upper = "";
  for (const level of [1, 2]) {
    const ids = series.filter((s) => level === 1 || s.id % 2 === 1).map((s) => s.id);
    const chunks = ids.map((id) => chunk(id, level === 1 ? points(id, 0, 300, 0) : points(id, 100, 140, 7)));
    upper = (await store.add(await stageSegment(store.levelDir(level), { id: store.allocateId(), level, timeCells: "f64", walHighwater: 1, series, chunks }))).dir;
  }
  store.close();
  const want = (withUpper: boolean) => series.map((s) => {
    const all = [...points(s.id, 0, 300, 0), ...(withUpper && s.id % 2 === 1 ? points(s.id, 100, 140, 7) : [])].sort((a, b) => a[0] - b[0]);
    return { ts: all.map((p) => p[0]), values: all.map((p) => p[1]) };
  });
  return { dir, upper, want };
}
const T0 = 1_700_000_000_000;

/** Every series selectBatches reads for metric m over the points of overlappingSegments, in batches of maxPoints. */
async function readBatches(storage: Awaited<ReturnType<StorageBuilder["build"]>>, maxPoints: number) {
  const got: { ts: number[]; values: number[] }[] = [];
  await storage.selectBatches({ metric: "m" }, T0, T0 + 400 * 15_000, maxPoints, (b) => {
    const f64 = memoryViews().f64;
    for (let i = 0; i + 1 < b.offsets.length; i++) {
      const [from, to] = [b.offsets[i]!, b.offsets[i + 1]!];
      got.push({ ts: Array.from(f64.subarray(b.tsPtr / 8 + from, b.tsPtr / 8 + to)), values: Array.from(f64.subarray(b.vsPtr / 8 + from, b.vsPtr / 8 + to)) });
    }
  });
  return got;
}

test("selectBatches: series whose segment records overlap in time are merged by timestamp, the series around them decoded together", async () => {
  const { dir, want } = await overlappingSegments();
  const storage = await new StorageBuilder().withTimestampPrecision("ms").withDataPath(dir).build();
  for (const maxPoints of [1, 700, 1 << 20]) assert.equal(await readBatches(storage, maxPoints), want(true), `batches of ${maxPoints} points`);
  await storage.close();
});

test("selectBatches: a block that fails its CRC quarantines its segment and fails the read; the other segments stay readable", async () => {
  const { dir, upper, want } = await overlappingSegments();
  const storage = await new StorageBuilder().withTimestampPrecision("ms").withDataPath(dir).build();
  const path = join(upper, "chunks.bin");
  const bytes = readFileSync(path);
  bytes[bytes.length - 9]! ^= 0x55; // inside the last block's compressed bytes
  writeFileSync(path, bytes);
  const failure = await readBatches(storage, 1 << 20).then(() => undefined, (e: unknown) => e);
  assert.ok(failure instanceof TsinkError && failure.code === "DataCorruption" && /quarantined/.test(failure.message), String(failure));
  assert.equal(await readBatches(storage, 1 << 20), want(false), "the L1 segment alone");
  await storage.close();
});

test("segment round trip: index, postings, chunk payloads on demand", async () => {
  const root = tempDir();
  const store = await SegmentStore.open(root, "f64");
  const c = content(store.allocateId(), 300, 5);
  await store.add(await stageSegment(store.levelDir(0), c));
  store.close();
  const again = await SegmentStore.open(root, "f64");
  assert.is(again.segments.length, 1);
  const seg = again.segments[0]!;
  assert.is(seg.manifest.chunkCount, 1500);
  assert.ok(seg.index.blockOffsets.length > 2, "chunks span several blocks (lengths derived per block, version 4)");
  assert.is(seg.manifest.seriesCount, 300);
  assert.is(seg.manifest.walHighwater, 100);
  assert.is(seg.manifest.minTs, "1");
  assert.is(seg.manifest.maxTs, "4999");
  for (const s of c.series) {
    const [lo, hi] = seg.chunkRange(s.id);
    assert.is(hi - lo, 5);
    for (let i = lo; i < hi; i++) {
      const k = i - lo; // sorted by min ts
      assert.is(seg.minTs[i], k * 1000 + 1);
      assert.ok(Buffer.from(chunkBytes(s.id, k, k * 1000 + 1, k * 1000 + 999, 10 + k)).equals(seg.readChunk(i)), `chunk ${i}`);
    }
    const overlapping = Array.from({ length: hi - lo }, (_, k) => lo + k).filter((i) => seg.overlaps(i, 1500, 3000));
    assert.equal(overlapping, [lo + 1, lo + 2]);
  }
  assert.equal(Array.from(seg.index.seriesKinds.subarray(0, 7)), [0, 1, 2, 3, 4, 5, 0]);
  assert.equal(seg.chunkRange(2), [seg.chunkRange(4)[0], seg.chunkRange(4)[0]], "absent series has an empty range");
  const hostH3 = Array.from(seg.index.dictionary().postings().get("host\0h3")!);
  assert.equal(hostH3, c.series.filter((s) => s.labels[0]!.value === "h3").map((s) => s.id));
  assert.equal(Array.from(seg.index.dictionary().postings().get("__name__\0metric_0")!), c.series.filter((s) => s.metric === "metric_0").map((s) => s.id));
  // The compressed chunk file is smaller than the raw chunks.
  const raw = c.chunks.reduce((n, ch) => n + ch.bytes.length, 0);
  assert.ok(seg.manifest.files["chunks.bin"]!.bytes < raw, `${seg.manifest.files["chunks.bin"]!.bytes} vs raw ${raw}`);
  again.close();
});

test("i64 time cells keep exact nanosecond bounds", async () => {
  const root = tempDir();
  const store = await SegmentStore.open(root, "i64");
  const big = 1_700_000_000_123_456_789n;
  await store.add(await stageSegment(store.levelDir(0), {
    id: store.allocateId(),
    level: 0,
    timeCells: "i64",
    walHighwater: 5,
    series: [{ id: 9, kind: 1, metric: "m", labels: [] }],
    chunks: [{ seriesId: 9, minTs: big, maxTs: big + 1n, count: 2, bytes: chunkBytes(9, 0, big, big + 1n, 2) }],
  }));
  store.close();
  const again = await SegmentStore.open(root, "i64");
  const seg = again.segments[0]!;
  assert.is(seg.minTs[0], big);
  assert.is(seg.manifest.maxTs, String(big + 1n));
  assert.equal(seg.chunkRange(9), [0, 1]);
  assert.ok(seg.overlaps(0, big + 1n, big + 2n));
  assert.not.ok(seg.overlaps(0, big + 3n, big + 4n));
  again.close();
  // A store opened with the other precision quarantines instead of misreading.
  const wrong = await SegmentStore.open(root, "f64");
  assert.is(wrong.segments.length, 0);
  assert.match(wrong.quarantined[0]!.reason, /precision/);
  wrong.close();
});

async function threeSegments(root: string): Promise<string[]> {
  const store = await SegmentStore.open(root, "f64");
  const out: string[] = [];
  for (let i = 0; i < 3; i++) out.push((await store.add(await stageSegment(store.levelDir(0), content(store.allocateId(), 20, 2)))).dir);
  store.close();
  return out;
}

test("corrupt segments are quarantined at open; the others stay readable", async () => {
  const damages: [string, (dir: string) => void][] = [
    ["flipped index byte", (d) => flip(join(d, "index.bin"), 40)],
    ["truncated chunk file", (d) => truncateSync(join(d, "chunks.bin"), 100)],
    ["missing manifest", (d) => rmSync(join(d, "manifest.json"))],
    ["edited manifest", (d) => writeFileSync(join(d, "manifest.json"), readFileSync(join(d, "manifest.json"), "utf8").replace('"walHighwater": 200', '"walHighwater": 201'))],
  ];
  for (const [what, damage] of damages) {
    const root = tempDir();
    const segs = await threeSegments(root);
    damage(segs[1]!);
    const store = await SegmentStore.open(root, "f64");
    assert.equal(store.segments.map((s) => s.id), [1, 3], what);
    assert.is(store.quarantined.length, 1, what);
    assert.ok(existsSync(store.quarantined[0]!.dir));
    for (const seg of store.segments) for (let i = 0; i < seg.manifest.chunkCount; i++) seg.readChunk(i);
    // Ids are never reused, even when the newest segment is quarantined.
    assert.is(store.allocateId(), 4);
    store.close();
  }
});

function flip(path: string, offset: number): void {
  const b = readFileSync(path);
  b[offset]! ^= 0xff;
  writeFileSync(path, b);
}

test("a damaged chunk block fails the read with DataCorruption naming file and offset", async () => {
  const root = tempDir();
  const segs = await threeSegments(root);
  flip(join(segs[0]!, "chunks.bin"), 40);
  const store = await SegmentStore.open(root, "f64");
  assert.is(store.segments.length, 3, "payloads are verified on read, not at open");
  try {
    store.segments[0]!.readChunk(0);
    assert.unreachable();
  } catch (err) {
    assert.is((err as TsinkError).code, "DataCorruption");
    assert.match((err as Error).message, /chunks\.bin at offset 16/);
  }
  store.close();
});

test("unpublished temp segments are removed at open", async () => {
  const root = tempDir();
  const store = await SegmentStore.open(root, "f64");
  const staged = await stageSegment(store.levelDir(0), content(store.allocateId(), 5, 1));
  store.close();
  assert.ok(existsSync(staged.tmpDir));
  const again = await SegmentStore.open(root, "f64");
  assert.is(again.segments.length, 0);
  assert.not.ok(existsSync(staged.tmpDir));
  again.close();
});


test("a crash at any step of a replacement yields the sources or the outputs, never both", async () => {
  const outcomes = new Set<string>();
  // Every call of rename/rm/unlink in a replacement, every other open (each fsync opens the path), and one
  // past the last call (no crash).
  const steps = { rename: [1, 2, 3], rm: [1, 2, 3], unlink: [1, 2], open: [1, 3, 5, 7, 9, 10] } as const;
  for (const [fn, nths] of Object.entries(steps)) {
    for (const nth of nths) {
      const root = tempDir();
      await threeSegments(root);
      const script = join(import.meta.dirname, "fixtures", "replace-child.ts");
      const r = spawnSync(process.execPath, ["--import", "tsx", script, root, fn, String(nth)], { encoding: "utf8" });
      const killed = r.signal === "SIGKILL";
      assert.ok(killed || r.stdout === "done", `${fn}#${nth}: ${r.stderr}`);
      const store = await SegmentStore.open(root, "f64");
      const ids = store.segments.map((s) => s.id);
      const state = ids.join(",");
      assert.ok(state === "1,2,3" || state === "3,4", `${fn}#${nth} (killed=${killed}) left segments ${state}`);
      if (!killed) assert.is(state, "3,4");
      outcomes.add(state);
      assert.equal(readdirSync(join(root, ".replacements")).length, 0, "markers are consumed at open");
      store.close();
    }
  }
  assert.equal([...outcomes].sort(), ["1,2,3", "3,4"], "both outcomes were exercised");
});

test("one process per data dir: a second opener gets a clear error; a dead holder's lock is taken over", () => {
  const dir = tempDir();
  mkdirSync(dir, { recursive: true });
  const lock = DataDirLock.acquire(dir);
  assert.throws(() => DataDirLock.acquire(dir), /already open in this process/);
  const other = spawnSync(
    process.execPath,
    ["--import", "tsx", "-e", `import("${join(process.cwd(), "src/storage/segment/lock.ts")}").then(m => { try { m.DataDirLock.acquire(${JSON.stringify(dir)}); console.log("acquired"); } catch (e) { console.log(e.code + ": " + e.message); } })`],
    { encoding: "utf8" },
  );
  assert.match(other.stdout, /InvalidConfiguration: data directory .* is locked by process \d+/);
  lock.release();
  // A lock left by a killed process (pid that no longer exists) does not block the next opener.
  writeFileSync(join(dir, ".tsink.lock"), "999999999 123\n");
  DataDirLock.acquire(dir).release();
  assert.not.ok(existsSync(join(dir, ".tsink.lock")));
});

test.run();
