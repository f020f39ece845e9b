// Vector-vector matching: the one-to-one path over unique signatures (uniquePairs) agrees with the general per-step
// matching (matchPerStep) on random series sets and matching modifiers, and declines whenever it could differ.
import fc from "fast-check";
import { test } from "uvu";
import * as assert from "uvu/assert";
import type { BinaryOp, VectorMatching } from "../../src/promql/ast.js";
import { matchPerStep, uniquePairs } from "../../src/promql/binary.js";
import { labelsKey, sortLabels } from "../../src/promql/labels.js";
import type { Label } from "../../src/promql/result.js";
import type { StepSeries } from "../../src/promql/values.js";

const STEPS = 5;
const OPS: BinaryOp[] = ["+", "-", "*", "/", "%", "^", "atan2", "==", "!=", ">", "<", ">=", "<="];
const COMPARISONS = new Set<BinaryOp>(["==", "!=", ">", "<", ">=", "<="]);
const LABEL_NAMES = ["__name__", "__type__", "x", "y"];
const VALUES = [0, 1, 2, -1, 0.5, NaN, Infinity, -Infinity];

const labelSet = fc
  .record({
    name: fc.constantFrom("a", "b", "c"),
    type: fc.constantFrom("", "", "gauge"),
    x: fc.constantFrom("", "1", "2"),
    y: fc.constantFrom("", "1", "2"),
  })
  .map(({ name, type, x, y }) => {
    const labels: Label[] = [{ name: "__name__", value: name }];
    if (type) labels.push({ name: "__type__", value: type });
    if (x) labels.push({ name: "x", value: x });
    if (y) labels.push({ name: "y", value: y });
    return sortLabels(labels);
  });

const stepSeries = fc
  .record({
    labels: labelSet,
    values: fc.array(fc.constantFrom(...VALUES), { minLength: STEPS, maxLength: STEPS }),
    present: fc.array(fc.constantFrom(0, 1, 1, 1), { minLength: STEPS, maxLength: STEPS }),
  })
  .map(({ labels, values, present }): StepSeries => {
    const p = Uint8Array.from(present);
    // as the evaluator keeps them: 0 where a series has no point
    const v = Float64Array.from(values, (x, i) => (p[i] ? x : 0));
    return { labels, dropName: false, values: v, present: p };
  });

/** A vector: distinct label sets, as a selector or an operator's result holds them. */
const vector = fc.array(stepSeries, { maxLength: 5 }).map((ss) => {
  const seen = new Set<string>();
  return ss.filter((s) => !seen.has(labelsKey(s.labels)) && seen.add(labelsKey(s.labels)));
});

const matching = fc.record({
  on: fc.boolean(),
  labels: fc.subarray(LABEL_NAMES),
  fill: fc.constantFrom(undefined, undefined, undefined, undefined, { lhs: 7 }, { rhs: 9 }, { lhs: 7, rhs: 9 }),
}).map((m): VectorMatching => ({ card: "one-to-one", on: m.on, labels: m.labels, include: [], ...(m.fill ? { fill: m.fill } : {}) }));

function outcome(f: () => StepSeries[] | undefined): { ok: StepSeries[] | undefined } | { error: string } {
  try {
    return { ok: f() };
  } catch (e) {
    return { error: String(e) };
  }
}

function sameSeries(a: StepSeries[], b: StepSeries[], context: string): void {
  assert.is(a.length, b.length, `series count (${context})`);
  for (let i = 0; i < a.length; i++) {
    assert.is(labelsKey(a[i].labels), labelsKey(b[i].labels), `labels of series ${i} (${context})`);
    assert.is(a[i].dropName, b[i].dropName, `dropName of series ${i} (${context})`);
    assert.equal([...a[i].present], [...b[i].present], `present of series ${i} (${context})`);
    for (let k = 0; k < STEPS; k++) assert.ok(Object.is(a[i].values[k], b[i].values[k]), `value ${k} of series ${i}: ${a[i].values[k]} vs ${b[i].values[k]} (${context})`);
  }
}

test("uniquePairs equals matchPerStep wherever it applies, and applies to most unique-signature inputs", () => {
  let taken = 0;
  let runs = 0;
  fc.assert(
    fc.property(fc.constantFrom(...OPS), fc.boolean(), matching, vector, vector, (op, bool, m, lhs, rhs) => {
      runs++;
      const returnBool = bool && COMPARISONS.has(op);
      const context = `${op}${returnBool ? " bool" : ""} ${JSON.stringify(m)} lhs ${lhs.map((s) => labelsKey(s.labels)).join("|")} rhs ${rhs.map((s) => labelsKey(s.labels)).join("|")}`;
      const general = outcome(() => matchPerStep(lhs, rhs, { op, matching: m, returnBool, steps: STEPS, check: () => {} }));
      const fast = outcome(() => uniquePairs(lhs, rhs, { op, matching: m, returnBool, steps: STEPS, check: () => {} }));
      assert.ok("ok" in fast, `uniquePairs never throws (${context})`);
      if (!("ok" in fast) || fast.ok === undefined) return;
      taken++;
      assert.ok("ok" in general, `general path threw where uniquePairs answered: ${"error" in general ? general.error : ""} (${context})`);
      if ("ok" in general) sameSeries(fast.ok, general.ok!, context);
    }),
    { numRuns: 3000, seed: 5 },
  );
  assert.ok(taken > runs / 5, `the unique-pairs path ran in ${taken} of ${runs} cases`);
});

test("uniquePairs declines repeated signatures and fill, which the general path matches step by step", () => {
  const s = (name: string, present: number[]): StepSeries => ({
    labels: [{ name: "__name__", value: name }, { name: "x", value: "1" }],
    dropName: false,
    values: Float64Array.from(present, (p) => p * 2),
    present: Uint8Array.from(present),
  });
  const none: VectorMatching = { card: "one-to-one", on: false, labels: [], include: [] };
  // two right series with the same signature at disjoint steps: one-to-one for Prometheus, step by step
  const rhs = [s("b", [1, 1, 0, 0, 0]), s("c", [0, 0, 1, 1, 0])];
  const lhs = [s("a", [1, 1, 1, 1, 1])];
  assert.is(uniquePairs(lhs, rhs, { op: "/", matching: none, returnBool: false, steps: STEPS, check: () => {} }), undefined);
  const general = matchPerStep(lhs, rhs, { op: "/", matching: none, returnBool: false, steps: STEPS, check: () => {} });
  assert.equal([...general[0].present], [1, 1, 1, 1, 0]);
  assert.is(uniquePairs(lhs, [s("b", [1, 1, 1, 1, 1])], { op: "+", matching: { ...none, fill: { rhs: 0 } }, returnBool: false, steps: STEPS, check: () => {} }), undefined);
  assert.is(uniquePairs(lhs, [s("b", [1, 1, 1, 1, 1])], { op: "+", matching: { ...none, card: "many-to-one" }, returnBool: false, steps: STEPS, check: () => {} }), undefined);
  const pairs = uniquePairs(lhs, [s("b", [1, 0, 1, 0, 1])], { op: "+", matching: none, returnBool: false, steps: STEPS, check: () => {} });
  assert.equal(pairs?.map((p) => [...p.present]), [[1, 0, 1, 0, 1]]);
});

test.run();
