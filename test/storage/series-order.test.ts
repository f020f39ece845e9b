// Series order of the registry (metric, then label pairs): the ranked fast path gives exactly the order of
// compareSeries for large and small selections, after series are added, rolled back and redefined.
import { test } from "uvu";
import * as assert from "uvu/assert";
import fc from "fast-check";
import { SeriesRegistry, hashKey } from "../../src/storage/registry.js";
import type { Label } from "../../src/storage/types.js";

function define(reg: SeriesRegistry, metric: string, labels: Label[], id?: number): number {
  const sid = reg.create(metric, labels, hashKey(metric, labels), id);
  reg.show(sid);
  return sid;
}

const reference = (reg: SeriesRegistry, ids: number[]) => ids.slice().sort((a, b) => reg.compareSeries(a, b));

const seriesArb = fc.record({
  metric: fc.constantFrom("a", "b", "up", "node_cpu"),
  labels: fc.uniqueArray(fc.record({ name: fc.constantFrom("job", "host", "mode", "Z"), value: fc.constantFrom("", "1", "10", "2", "x") }), {
    selector: (l) => l.name,
    maxLength: 4,
  }),
});

test("sortSeries equals the compareSeries order for any selection, across registry growth", () => {
  fc.assert(
    fc.property(fc.array(seriesArb, { minLength: 1, maxLength: 300 }), fc.array(seriesArb, { maxLength: 100 }), fc.integer({ min: 1, max: 8 }), (first, later, stride) => {
      const reg = new SeriesRegistry();
      const add = (list: typeof first) => {
        for (const s of list) {
          const labels = s.labels.slice().sort((x, y) => (x.name < y.name ? -1 : 1));
          if (reg.lookup(s.metric, labels) < 0) define(reg, s.metric, labels);
        }
      };
      add(first);
      const all = () => Array.from({ length: reg.count }, (_, i) => i);
      const check = () => {
        assert.equal(Array.from(reg.sortSeries(all())), reference(reg, all()), "all series");
        const some = all().filter((id) => id % stride === 0);
        assert.equal(Array.from(reg.sortSeries(some)), reference(reg, some), "a subset");
        const few = all().slice(-3);
        assert.equal(Array.from(reg.sortSeries(few)), reference(reg, few), "the newest few");
      };
      check();
      add(later); // unranked series: merged into the ranking, or sorted directly when the selection is small
      check();
      reg.truncate(Math.max(0, reg.count - 2));
      check();
    }),
    { numRuns: 60 },
  );
});

test("a redefined id (WAL replay forcing an id) takes its new place in the order", () => {
  const reg = new SeriesRegistry();
  const ids = ["m", "c", "x", "a"].map((metric) => define(reg, metric, []));
  assert.equal(Array.from(reg.sortSeries(ids)), [3, 1, 0, 2]);
  reg.create("z", [], hashKey("z", []), 3); // id 3 now names z
  assert.equal(Array.from(reg.sortSeries(ids)), [1, 0, 2, 3]);
});

test.run();
