// LabelSetTable (promql/labels.ts) finds equal label sets, or equal join signatures, exactly as key strings do.
import fc from "fast-check";
import { test } from "uvu";
import * as assert from "uvu/assert";
import { LabelSetTable, labelsKey, signature, sortLabels } from "../../src/promql/labels.js";
import type { Label } from "../../src/promql/result.js";

const labelList = fc
  .uniqueArray(fc.record({ name: fc.constantFrom("__name__", "a", "b", "job", "x\u00ff"), value: fc.constantFrom("", "1", "2", "ab", "a\u00ffb", "\ufffe") }), {
    selector: (l) => l.name,
    maxLength: 4,
  })
  .map((ls) => sortLabels(ls.map((l) => ({ ...l }))));

test("add and find agree with a Map of labelsKey / signature strings, through many rehashes", () => {
  fc.assert(
    fc.property(fc.array(labelList, { maxLength: 300 }), fc.option(fc.subarray(["__name__", "a", "job"])), fc.boolean(), (lists, names, include) => {
      const nameSet = names === null ? undefined : new Set(names);
      const key = (l: Label[]) => (nameSet === undefined ? labelsKey(l) : signature(l, nameSet, include));
      const table = new LabelSetTable(nameSet, include);
      const byKey = new Map<string, number>();
      for (const l of lists) {
        const expected = byKey.get(key(l));
        assert.is(table.find(l), expected ?? -1);
        assert.is(table.add(l), expected ?? -1);
        if (expected === undefined) byKey.set(key(l), byKey.size);
        assert.is(table.size, byKey.size);
      }
    }),
    { numRuns: 300 },
  );
});

test("5,000 distinct sets (shared bucket indexes, growth) stay apart; the empty set is one too", () => {
  const table = new LabelSetTable();
  for (let i = 0; i < 5000; i++) assert.is(table.add([{ name: "i", value: String(i) }]), -1);
  for (let i = 0; i < 5000; i++) assert.is(table.find([{ name: "i", value: String(i) }]), i);
  assert.is(table.find([{ name: "i", value: "5000" }]), -1);
  assert.is(table.find([]), -1);
  assert.is(table.add([]), -1);
  assert.is(table.find([]), 5000);
});

test.run();
