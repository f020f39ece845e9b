// Property test: random interleavings of inserts and deletes against a simple in-test model give the same
// select / selectColumns / aggregate results.
import fc from "fast-check";
import { test } from "uvu";
import * as assert from "uvu/assert";
import { StorageBuilder } from "../../src/index.js";
import { L, row } from "./helpers.js";

const HOSTS = ["a", "b", "c"];

type Op =
  | { kind: "insert"; rows: Array<{ h: number; ts: number; v: number }> }
  | { kind: "delete"; h: number | null; range: [number, number] | null };

const insertOp = fc.record({
  kind: fc.constant("insert" as const),
  rows: fc.array(fc.record({ h: fc.integer({ min: 0, max: 2 }), ts: fc.integer({ min: 0, max: 120 }), v: fc.integer({ min: -5, max: 5 }) }), { minLength: 1, maxLength: 12 }),
});
const deleteOp = fc.record({
  kind: fc.constant("delete" as const),
  h: fc.option(fc.integer({ min: 0, max: 2 }), { nil: null }),
  range: fc.option(fc.tuple(fc.integer({ min: 0, max: 120 }), fc.integer({ min: 1, max: 60 })).map(([s, w]) => [s, s + w] as [number, number]), { nil: null }),
});
const opsArb = fc.array(fc.oneof({ arbitrary: insertOp, weight: 4 }, { arbitrary: deleteOp, weight: 1 }), { minLength: 1, maxLength: 25 });
const configArb = fc.record({
  chunkPoints: fc.integer({ min: 1, max: 6 }),
  partitionMs: fc.integer({ min: 5, max: 60 }),
  heads: fc.integer({ min: 1, max: 3 }),
});

test("inserts and deletes match the model", async () => {
  await fc.assert(
    fc.asyncProperty(configArb, opsArb, fc.tuple(fc.integer({ min: 0, max: 120 }), fc.integer({ min: 1, max: 130 })), async (cfg, ops, [qs, qw]) => {
      const s = await new StorageBuilder()
        .withTimestampPrecision("ms")
        .withChunkPoints(cfg.chunkPoints)
        .withPartitionDuration(cfg.partitionMs)
        .withMaxActivePartitionHeadsPerSeries(cfg.heads)
        .build();
      const model: Array<Array<{ ts: number; v: number; seq: number }>> = HOSTS.map(() => []);
      let seq = 0;
      for (const op of ops as Op[]) {
        if (op.kind === "insert") {
          await s.insertRows(op.rows.map((r) => row("p", L("h", HOSTS[r.h]!), r.ts, r.v)));
          for (const r of op.rows) model[r.h]!.push({ ts: r.ts, v: r.v, seq: seq++ });
        } else {
          const matchers = op.h === null ? [] : [{ name: "h", op: "=" as const, value: HOSTS[op.h]! }];
          await s.deleteSeries(op.range ? { metric: "p", matchers, start: op.range[0], end: op.range[1] } : { metric: "p", matchers });
          for (let h = 0; h < HOSTS.length; h++) {
            if (op.h !== null && op.h !== h) continue;
            model[h] = op.range ? model[h]!.filter((p) => p.ts < op.range![0] || p.ts >= op.range![1]) : [];
          }
        }
      }
      const qe = qs + qw;
      for (let h = 0; h < HOSTS.length; h++) {
        const expected = model[h]!.filter((p) => p.ts >= qs && p.ts < qe).sort((a, b) => a.ts - b.ts || a.seq - b.seq);
        const got = await s.select("p", L("h", HOSTS[h]!), qs, qe);
        assert.equal(got, expected.map((p) => ({ timestamp: p.ts, value: p.v })), `host ${HOSTS[h]}`);
        const count = await s.selectWithOptions("p", { start: qs, end: qe, labels: L("h", HOSTS[h]!), aggregation: "Count" });
        assert.equal(count.map((p) => p.value), expected.length ? [BigInt(expected.length)] : []);
        const sum = await s.selectWithOptions("p", { start: qs, end: qe, labels: L("h", HOSTS[h]!), aggregation: "Sum" });
        assert.equal(sum.map((p) => p.value), expected.length ? [expected.reduce((a, p) => a + p.v, 0)] : []);
      }
      const cols = await s.selectColumns({ metric: "p" }, qs, qe);
      const expectedSeries = HOSTS.filter((_, h) => model[h]!.some((p) => p.ts >= qs && p.ts < qe));
      assert.equal(cols.map((c) => c.labels[0]!.value), expectedSeries);
    }),
    { numRuns: 300 },
  );
});

test("aggregations and downsampling (WASM chunk path and column path) match a direct computation", async () => {
  const aggs = ["Sum", "Count", "Avg", "Min", "Max", "Median", "Range", "First", "Last"] as const;
  const pointArb = fc.record({ ts: fc.integer({ min: 0, max: 400 }), v: fc.oneof({ arbitrary: fc.integer({ min: -50, max: 50 }), weight: 9 }, { arbitrary: fc.constant(NaN), weight: 1 }) });
  await fc.assert(
    fc.asyncProperty(
      fc.array(pointArb, { minLength: 1, maxLength: 120 }),
      fc.integer({ min: 1, max: 40 }),
      fc.constantFrom(...aggs),
      fc.integer({ min: 1, max: 80 }),
      fc.integer({ min: 0, max: 100 }),
      async (points, chunkPoints, agg, interval, start) => {
        const s = await new StorageBuilder().withTimestampPrecision("ms").withChunkPoints(chunkPoints).build();
        await s.insertRows(points.map((p) => row("a", [], p.ts, p.v)));
        const end = 450;
        const inRange = points.map((p, seq) => ({ ...p, seq })).filter((p) => p.ts >= start && p.ts < end).sort((x, y) => x.ts - y.ts || x.seq - y.seq);
        const expect = (pts: typeof inRange, stamp: number | undefined): Array<{ timestamp: number; value: number | bigint }> => {
          if (pts.length === 0) return [];
          const vals = pts.map((p) => p.v).filter((v) => !Number.isNaN(v));
          const last = pts[pts.length - 1]!;
          const ts = stamp ?? last.ts;
          switch (agg) {
            case "First":
              return [{ timestamp: stamp ?? pts[0]!.ts, value: pts[0]!.v }];
            case "Last":
              return [{ timestamp: ts, value: last.v }];
            case "Count":
              return [{ timestamp: ts, value: BigInt(vals.length) }];
          }
          if (vals.length === 0) return [];
          const sorted = [...vals].sort((x, y) => x - y);
          const sum = vals.reduce((x, y) => x + y, 0);
          switch (agg) {
            case "Sum":
              return [{ timestamp: ts, value: sum }];
            case "Avg":
              return [{ timestamp: ts, value: sum / vals.length }];
            case "Range":
              return [{ timestamp: ts, value: sorted[sorted.length - 1]! - sorted[0]! }];
            case "Median": {
              const m = sorted.length >> 1;
              return [{ timestamp: ts, value: sorted.length % 2 ? sorted[m]! : (sorted[m - 1]! + sorted[m]!) / 2 }];
            }
            default: {
              const target = agg === "Min" ? sorted[0]! : sorted[sorted.length - 1]!;
              const p = pts.find((q) => q.v === target)!;
              return [{ timestamp: stamp ?? p.ts, value: target }];
            }
          }
        };
        const whole = await s.selectWithOptions("a", { start, end, aggregation: agg });
        assert.equal(whole, expect(inRange, undefined), `${agg} over [${start}, ${end})`);
        const buckets = new Map<number, typeof inRange>();
        for (const p of inRange) {
          const b = start + Math.floor((p.ts - start) / interval) * interval;
          buckets.set(b, [...(buckets.get(b) ?? []), p]);
        }
        const expected = [...buckets.keys()].sort((x, y) => x - y).flatMap((b) => expect(buckets.get(b)!, b));
        const down = await s.selectWithOptions("a", { start, end, downsample: { interval, aggregation: agg } });
        assert.equal(down, expected, `${agg} per ${interval}`);
      },
    ),
    { numRuns: 300 },
  );
});

test.run();
