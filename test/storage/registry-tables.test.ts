// The registry's typed-array hash tables: the string dictionary (intern/find across growth) and a label's
// value -> postings table (LabelValues, with the shared direct ValueSlots) under adds and removes in any order,
// checked against a Map model.
import { test } from "uvu";
import * as assert from "uvu/assert";
import fc from "fast-check";
import { LabelValues, SeriesRegistry, StringDictionary, ValueSlots, hashKey } from "../../src/storage/registry.js";
import { entryIds } from "../../src/storage/postings.js";

test("StringDictionary: ids are stable and found again across table growth", () => {
  const dict = new StringDictionary();
  const n = 5000;
  for (let i = 0; i < n; i++) assert.is(dict.intern(`v-${i}`), i);
  assert.is(dict.intern(""), n);
  for (let i = 0; i < n; i += 7) {
    assert.is(dict.find(`v-${i}`), i);
    assert.is(dict.intern(`v-${i}`), i);
  }
  assert.is(dict.find(""), n);
  assert.is(dict.find("v-5000"), undefined);
  assert.is(dict.strings.length, n + 1);
});

test("LabelValues: get/slot agree with a model under random adds and removes (direct slots, table growth, backward-shift deletes)", () => {
  // two names share one ValueSlots: a value added to both is held directly by whichever took it first and in the
  // other's own table, and moves between the two placements as values come and go
  fc.assert(
    fc.property(
      fc.array(fc.tuple(fc.boolean(), fc.integer({ min: 0, max: 1 }), fc.integer({ min: 0, max: 60 }), fc.integer({ min: 0, max: 2 })), { maxLength: 600 }),
      (ops) => {
        const slots = new ValueSlots();
        const names = [new LabelValues(0, slots), new LabelValues(1, slots)];
        const models = [new Map<number, Set<number>>(), new Map<number, Set<number>>()];
        for (const [add, name, valueId, sid] of ops) {
          const values = names[name]!;
          const model = models[name]!;
          if (add) {
            values.add(valueId, sid);
            if (!model.has(valueId)) model.set(valueId, new Set());
            model.get(valueId)!.add(sid);
          } else {
            values.remove(valueId, sid);
            model.get(valueId)?.delete(sid);
            if (model.get(valueId)?.size === 0) model.delete(valueId);
          }
        }
        for (let n = 0; n < 2; n++) {
          const values = names[n]!;
          const model = models[n]!;
          assert.is(values.size, model.size);
          for (let v = 0; v <= 60; v++) {
            const want = model.get(v);
            if (want === undefined) {
              assert.is(values.get(v), undefined);
              assert.is(values.slot(v), -1);
            } else {
              assert.equal(Array.from(entryIds(values.get(v))), [...want].sort((a, b) => a - b));
              assert.is(values.valueIds[values.slot(v)], v);
            }
          }
        }
      },
    ),
    { numRuns: 300 },
  );
});

test("SeriesRegistry: series are found by key across growth, rollback (truncate) and ids redefined by replay", () => {
  const reg = new SeriesRegistry();
  const key = (i: number) => [{ name: "host", value: `h-${i}` }, { name: "job", value: `j-${i % 3}` }];
  const create = (i: number, id?: number) => reg.create("m", key(i), hashKey("m", key(i)), id);
  const lookup = (i: number) => reg.lookup("m", key(i));
  for (let i = 0; i < 3000; i++) assert.is(create(i), i);
  for (let i = 0; i < 3000; i += 13) assert.is(lookup(i), i);
  assert.is(lookup(3000), -1);
  // a rejected batch created 3000..3099: rolled back, the ids are reused by other series
  for (let i = 3000; i < 3100; i++) create(i);
  reg.truncate(3000);
  assert.is(lookup(3050), -1);
  for (let i = 5000; i < 5100; i++) assert.is(create(i), i - 2000);
  assert.is(lookup(5050), 3050);
  assert.is(lookup(3050), -1);
  // replay forces id 7 onto another series: the old key no longer finds it, before and after the table grows
  create(9000, 7);
  assert.is(lookup(7), -1);
  assert.is(lookup(9000), 7);
  assert.equal(reg.labelsOf(7), key(9000));
  assert.is(reg.metricName(7), "m");
  for (let i = 10_000; i < 20_000; i++) create(i);
  assert.is(lookup(7), -1);
  assert.is(lookup(9000), 7);
  assert.is(lookup(19_999), 3100 + 9999);
  assert.is(lookup(8), 8);
});

test.run();
