// WAL sample records: a batch encodes to CompactSamples when its timestamps allow exact deltas, else to Samples,
// and either decodes to the same batch; corrupt compact payloads are refused as corruption; series definitions.
import { test } from "uvu";
import * as assert from "uvu/assert";
import fc from "fast-check";
import { RecordType, decodeCompactSamples, decodeSamples, decodeSeriesDefs, encodeSamplesRecord, encodeSeriesDefs } from "../../src/storage/wal/records.js";
import { TimeAxis } from "../../src/storage/timestamps.js";
import type { ValidatedBatch } from "../../src/storage/durability.js";
import { TsinkError } from "../../src/storage/errors.js";

const ms = new TimeAxis("ms");

function batchOf(rows: { id: number; ts: number; kind: number; bits: number }[]): ValidatedBatch {
  const values = new Float64Array(rows.map((r) => r.bits));
  return {
    count: rows.length,
    seriesIds: Uint32Array.from(rows.map((r) => r.id)),
    kinds: Uint8Array.from(rows.map((r) => r.kind)),
    timestamps: Float64Array.from(rows.map((r) => r.ts)),
    values,
    blobs: null,
    newSeries: [],
  };
}

const copy = (b: ValidatedBatch) => ({
  ids: [...b.seriesIds.subarray(0, b.count)],
  kinds: [...b.kinds.subarray(0, b.count)],
  ts: [...(b.timestamps as Float64Array).subarray(0, b.count)],
  values: Buffer.from(b.values.buffer, b.values.byteOffset, b.count * 8).toString("hex"),
});

test("sample batches round-trip through CompactSamples (or Samples beyond ±2^51) bit for bit", () => {
  const row = fc.record({
    id: fc.oneof(fc.integer({ min: 0, max: 20 }), fc.integer({ min: 0, max: 0xffffffff })),
    ts: fc.oneof(fc.integer({ min: 1.7e12, max: 1.8e12 }), fc.integer({ min: -(2 ** 53) + 1, max: 2 ** 53 - 1 })),
    kind: fc.constantFrom(1, 1, 1, 2, 3),
    bits: fc.double(),
  });
  fc.assert(
    fc.property(fc.array(row, { maxLength: 40 }), (rows) => {
      const batch = batchOf(rows);
      const expected = copy(batch);
      const rec = encodeSamplesRecord(batch);
      const compactable = rows.every((r) => Math.abs(r.ts) <= 2 ** 51);
      assert.is(rec.type, compactable ? RecordType.CompactSamples : RecordType.Samples);
      const back = (rec.type === RecordType.CompactSamples ? decodeCompactSamples : decodeSamples)(Buffer.from(rec.payload), ms, "wal");
      assert.equal(copy(back), expected);
    }),
    { numRuns: 500 },
  );
  // remote write's shape: consecutive series ids, one timestamp, 8-byte values: about 10 bytes per sample
  const rows = Array.from({ length: 5000 }, (_, i) => ({ id: 4 * i, ts: 1.75e12, kind: 1, bits: i * 0.5 }));
  assert.ok(encodeSamplesRecord(batchOf(rows)).payload.length < 10.1 * 5000);
});

test("a truncated or trailing-garbage compact record is corruption, not a wrong batch", () => {
  const rec = encodeSamplesRecord(batchOf([{ id: 3, ts: 1.7e12, kind: 1, bits: 1 }, { id: 9, ts: 1.7e12 + 15000, kind: 1, bits: 2 }]));
  const payload = Buffer.from(rec.payload);
  for (const bad of [payload.subarray(0, payload.length - 1), Buffer.concat([payload, Buffer.of(0)])]) {
    assert.throws(() => decodeCompactSamples(bad, ms, "wal"), (err: unknown) => err instanceof TsinkError && err.code === "DataCorruption");
  }
});

test("series definitions round-trip with ASCII, non-ASCII and long strings", () => {
  fc.assert(
    fc.property(fc.array(fc.record({ metric: fc.string({ maxLength: 80 }), name: fc.string({ unit: "binary", maxLength: 70 }), value: fc.string({ unit: "grapheme", maxLength: 100 }) }), { maxLength: 5 }), (list) => {
      const defs = list.map((d, i) => ({ id: i * 7, kind: 1, metric: d.metric, labels: [{ name: d.name, value: d.value }] }));
      assert.equal(decodeSeriesDefs(encodeSeriesDefs(defs), "wal"), defs);
    }),
    { numRuns: 300 },
  );
});

test.run();
