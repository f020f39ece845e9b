// The registry's typed-array hash tables: the string dictionary (intern/find across growth) and a label's
// value -> postings table (LabelValues) under adds and removes in any order, checked against a Map model.
import { test } from "uvu";
import * as assert from "uvu/assert";
import fc from "fast-check";
import { LabelValues, StringDictionary } from "../../src/storage/registry.js";
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

test("LabelValues: get/slot agree with a model under random adds and removes (table growth, backward-shift deletes)", () => {
  fc.assert(
    fc.property(
      fc.array(fc.tuple(fc.boolean(), fc.integer({ min: 0, max: 60 }), fc.integer({ min: 0, max: 2 })), { maxLength: 600 }),
      (ops) => {
        const values = new LabelValues();
        const model = new Map<number, Set<number>>();
        for (const [add, valueId, sid] of ops) {
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
      },
    ),
    { numRuns: 200 },
  );
});

test.run();
