// insertRows finds a row's series first as the successor of the previous row's (rows mostly arrive in the order
// their series were created): whatever the order, labels order, rejected batches or deletes, every row must land in
// the series of its key, checked against a model.
import { test } from "uvu";
import * as assert from "uvu/assert";
import fc from "fast-check";
import type { Label, Row } from "../../src/storage/types.js";
import { L, NOW, msStorage, rejects, row } from "./helpers.js";

const key = (metric: string, labels: readonly Label[]) =>
  `${metric}{${[...labels].sort((a, b) => (a.name < b.name ? -1 : 1)).map((l) => `${l.name}=${l.value}`).join(",")}}`;

test("rows in creation order, out of order, with reversed labels or other metrics land in their own series", async () => {
  // series s: metric m{s % 2}, labels a=s >> 1, b=s % 3 (series 2k and 2k+1 differ only in the metric)
  const labelsOf = (s: number, reversed: boolean) => (reversed ? L("b", `${(s >> 1) % 3}`, "a", `${s >> 1}`) : L("a", `${s >> 1}`, "b", `${(s >> 1) % 3}`));
  await fc.assert(
    fc.asyncProperty(
      fc.array(
        fc.record({
          // a batch walks the series from `start` in order, skipping some, or jumps around
          start: fc.integer({ min: 0, max: 40 }),
          steps: fc.array(fc.tuple(fc.integer({ min: -3, max: 3 }), fc.boolean(), fc.boolean()), { minLength: 1, maxLength: 30 }),
          bad: fc.boolean(),
          del: fc.option(fc.integer({ min: 0, max: 40 })),
        }),
        { minLength: 1, maxLength: 12 },
      ),
      async (batches) => {
        const storage = await msStorage();
        const model = new Map<string, number[]>();
        let t = NOW - 1_000_000;
        for (const b of batches) {
          const rows: Row[] = [];
          let s = b.start;
          for (const [step, reversed, sameArray] of b.steps) {
            s = Math.max(0, s + (step === 0 ? 1 : step));
            const labels = sameArray && rows.length > 0 && rows[rows.length - 1]!.metric === `m${s % 2}` ? rows[rows.length - 1]!.labels : labelsOf(s, reversed);
            rows.push(row(`m${s % 2}`, labels as Label[], ++t, s));
          }
          if (b.bad) {
            // a later row of the batch has a bad value: nothing of the batch is stored, its new series roll back
            rows.push(row("m0", L("a", "bad"), ++t, "x" as never));
            rows.push(row("m0", L("a", "bad"), ++t, 1));
            await rejects(storage.insertRows(rows), "ValueTypeMismatch");
          } else {
            await storage.insertRows(rows);
            for (const r of rows) {
              const k = key(r.metric, r.labels ?? []);
              if (!model.has(k)) model.set(k, []);
              model.get(k)!.push(r.dataPoint.timestamp as number);
            }
          }
          if (b.del !== null) {
            const labels = labelsOf(b.del, false);
            await storage.deleteSeries({ metric: `m${b.del % 2}`, matchers: labels.map((l) => ({ name: l.name, op: "=" as const, value: l.value })) });
            model.delete(key(`m${b.del % 2}`, labels));
          }
        }
        const stored = new Map<string, number[]>();
        for (const metric of ["m0", "m1"]) {
          for (const { labels, points } of await storage.selectAll(metric, 0, NOW + 1)) {
            if (points.length > 0) stored.set(key(metric, labels), points.map((p) => p.timestamp as number));
          }
        }
        assert.equal([...stored.keys()].sort(), [...model.keys()].sort());
        for (const [k, ts] of model) assert.equal(stored.get(k), ts, k);
        await storage.close();
      },
    ),
    { numRuns: 60 },
  );
});

test("a row equal to the expected next series but malformed or of another type is still rejected", async () => {
  const storage = await msStorage();
  await storage.insertRows([row("m", L("a", "1"), NOW, 1), row("m", L("a", "2"), NOW, 2)]);
  // the next batch starts at series 0 again: row 2 is the successor of row 1's series
  await rejects(storage.insertRows([row("m", L("a", "1"), NOW + 1, 1), row("m", L("a", "2"), NOW + 1, 5n)]), "ValueTypeMismatch");
  await rejects(storage.insertRows([row("m", L("a", "1"), NOW + 1, 1), row("m", [{ name: "a", value: 2 as never }], NOW + 1, 2)]), "InvalidLabel");
  await storage.insertRows([row("m", L("a", "1"), NOW + 1, 1), row("m", L("a", "2"), NOW + 1, 2)]);
  assert.equal((await storage.select("m", L("a", "2"), 0, NOW + 2)).map((p) => p.value), [2, 2]);
  await storage.close();
});

test.run();
