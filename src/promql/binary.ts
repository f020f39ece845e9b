// Binary operators: arithmetic, comparisons (filtering or `bool`), atan2 and the set operators, with Prometheus'
// vector matching (on/ignoring, group_left/group_right, fill modifiers) evaluated per step over columnar series.

import type * as ast from "./ast.js";
import { PromqlError } from "./result.js";
import type { Label } from "./result.js";
import { dropMetadataLabels, formatLabels, getLabel, isMetadataLabel, keepLabels, labelsKey, LabelSetTable, METRIC_NAME, removeLabels, setLabel, signature } from "./labels.js";
import type { Evaluator } from "./evaluator.js";
import { hasAnyPoint, type EvalValue, type Grid, type StepSeries, type VectorColumns } from "./values.js";

const COMPARISONS = new Set<ast.BinaryOp>(["==", "!=", ">", "<", ">=", "<="]);
const SCHEMA_CHANGING = new Set<ast.BinaryOp>(["+", "-", "*", "/", "%", "^", "atan2"]);

/** Go's math.Pow special cases that differ from JavaScript's `**`. */
function goPow(x: number, y: number): number {
  if (y === 0 || x === 1) return 1;
  if (x === -1 && !Number.isFinite(y) && !Number.isNaN(y)) return 1;
  return x ** y;
}

/** out[i] = l[i] op r[i] at every step: one loop per operator, no function call (nor boxed double) per element. */
function arithmeticColumns(op: ast.BinaryOp, l: Float64Array, r: Float64Array, out: Float64Array): void {
  const n = out.length;
  switch (op) {
    case "+":
      for (let i = 0; i < n; i++) out[i] = l[i] + r[i];
      return;
    case "-":
      for (let i = 0; i < n; i++) out[i] = l[i] - r[i];
      return;
    case "*":
      for (let i = 0; i < n; i++) out[i] = l[i] * r[i];
      return;
    case "/":
      for (let i = 0; i < n; i++) out[i] = l[i] / r[i];
      return;
    case "%":
      for (let i = 0; i < n; i++) out[i] = l[i] % r[i];
      return;
    case "^":
      for (let i = 0; i < n; i++) out[i] = goPow(l[i], r[i]);
      return;
    case "atan2":
      for (let i = 0; i < n; i++) out[i] = Math.atan2(l[i], r[i]);
      return;
    default:
      throw new PromqlError("internal", `operator ${op} is not arithmetic`);
  }
}

/** out[i] = 1 where `l[i] op r[i]` holds, else 0, at every step. */
function comparisonColumns(op: ast.BinaryOp, l: Float64Array, r: Float64Array, out: Uint8Array): void {
  const n = out.length;
  switch (op) {
    case "==":
      for (let i = 0; i < n; i++) out[i] = l[i] === r[i] ? 1 : 0;
      return;
    case "!=":
      for (let i = 0; i < n; i++) out[i] = l[i] !== r[i] ? 1 : 0;
      return;
    case ">":
      for (let i = 0; i < n; i++) out[i] = l[i] > r[i] ? 1 : 0;
      return;
    case "<":
      for (let i = 0; i < n; i++) out[i] = l[i] < r[i] ? 1 : 0;
      return;
    case ">=":
      for (let i = 0; i < n; i++) out[i] = l[i] >= r[i] ? 1 : 0;
      return;
    case "<=":
      for (let i = 0; i < n; i++) out[i] = l[i] <= r[i] ? 1 : 0;
      return;
    default:
      throw new PromqlError("internal", `operator ${op} is not a comparison`);
  }
}

export function isComparison(op: ast.BinaryOp): boolean {
  return COMPARISONS.has(op);
}

/**
 * vectorScalar's comparison for series held as columns (an instant selector compared with a number literal), in
 * place: `present` keeps the steps where the comparison holds (with `bool`: every present step, values 0/1).
 */
export function compareColumns(op: ast.BinaryOp, cols: VectorColumns, scalar: number, scalarOnLeft: boolean, returnBool: boolean): void {
  const n = cols.values.length;
  const other = new Float64Array(n).fill(scalar);
  const keep = new Uint8Array(n);
  comparisonColumns(op, scalarOnLeft ? other : cols.values, scalarOnLeft ? cols.values : other, keep);
  const present = new Uint8Array(n);
  applyComparison(cols.present, cols.values, keep, returnBool, cols.values, present);
  cols.present = present;
  if (returnBool) cols.dropName = true;
}

export async function evalBinary(ev: Evaluator, e: ast.BinaryExpr, grid: Grid): Promise<EvalValue> {
  const lhs = await ev.eval(e.lhs, grid);
  const rhs = await ev.eval(e.rhs, grid);
  const steps = grid.times.length;
  // Checked once per series in the loops below, so a timeout interrupts large operands too.
  const check = () => ev.checkDeadlineInLoop();
  if (lhs.kind === "scalar" && rhs.kind === "scalar") {
    const out = new Float64Array(steps);
    if (COMPARISONS.has(e.op)) {
      const keep = new Uint8Array(steps);
      comparisonColumns(e.op, lhs.values, rhs.values, keep);
      for (let i = 0; i < steps; i++) out[i] = keep[i];
    } else {
      arithmeticColumns(e.op, lhs.values, rhs.values, out);
    }
    return { kind: "scalar", values: out };
  }
  if (lhs.kind === "vector" && rhs.kind === "scalar") {
    return { kind: "vector", series: vectorScalar(e.op, lhs.series, rhs.values, false, e.returnBool, check) };
  }
  if (lhs.kind === "scalar" && rhs.kind === "vector") {
    return { kind: "vector", series: vectorScalar(e.op, rhs.series, lhs.values, true, e.returnBool, check) };
  }
  if (lhs.kind !== "vector" || rhs.kind !== "vector") {
    throw new PromqlError("bad_data", `binary expression must contain only scalar and instant vector types`);
  }
  const matching: ast.VectorMatching = e.matching ?? {
    card: e.op === "and" || e.op === "or" || e.op === "unless" ? "many-to-many" : "one-to-one",
    on: false,
    labels: [],
    include: [],
  };
  switch (e.op) {
    case "and":
    case "unless":
      return { kind: "vector", series: andUnless(e.op, lhs.series, rhs.series, matching, steps, check) };
    case "or":
      return { kind: "vector", series: or(lhs.series, rhs.series, matching, steps, check) };
    default:
      return { kind: "vector", series: vectorVector(lhs.series, rhs.series, { op: e.op, matching, returnBool: e.returnBool, steps, check }) };
  }
}

function vectorScalar(op: ast.BinaryOp, series: StepSeries[], scalar: Float64Array, scalarOnLeft: boolean, returnBool: boolean, check: () => void): StepSeries[] {
  const isComparison = COMPARISONS.has(op);
  const keep = isComparison ? new Uint8Array(scalar.length) : undefined;
  // The results' columns in one pair of buffers; a result without any point leaves its slot zeroed for the next.
  const steps = scalar.length;
  const valueBuffer = new Float64Array(series.length * steps);
  const presentBuffer = new Uint8Array(series.length * steps);
  const out: StepSeries[] = [];
  for (const s of series) {
    check();
    const at = out.length * steps;
    const values = valueBuffer.subarray(at, at + steps);
    const present = presentBuffer.subarray(at, at + steps);
    const l = scalarOnLeft ? scalar : s.values;
    const r = scalarOnLeft ? s.values : scalar;
    if (keep) comparisonColumns(op, l, r, keep);
    else arithmeticColumns(op, l, r, values);
    if (keep) applyComparison(s.present, s.values, keep, returnBool, values, present);
    else applyPresence(s.present, values, present);
    const result = { labels: s.labels, dropName: s.dropName || SCHEMA_CHANGING.has(op) || returnBool, values, present };
    if (hasAnyPoint(result)) out.push(result);
  }
  return out;
}

/** Arithmetic result `values` kept where the series is present (0 elsewhere). */
function applyPresence(sp: Uint8Array, values: Float64Array, present: Uint8Array): void {
  for (let i = 0; i < sp.length; i++) {
    if (sp[i]) present[i] = 1;
    else values[i] = 0;
  }
}

/** A comparison's result where the series is present: 0/1 with `bool`, else the series' value where it holds. */
function applyComparison(sp: Uint8Array, sv: Float64Array, keep: Uint8Array, returnBool: boolean, values: Float64Array, present: Uint8Array): void {
  for (let i = 0; i < sp.length; i++) {
    if (!sp[i]) continue;
    if (returnBool) values[i] = keep[i]!;
    else if (keep[i]) values[i] = sv[i]!;
    else continue;
    present[i] = 1;
  }
}

/** The labels of a join signature: the `on` labels (include), or all but the `ignoring` ones and the metric name. */
function signatureLabels(matching: ast.VectorMatching): { names: Set<string>; include: boolean } {
  return matching.on ? { names: new Set(matching.labels), include: true } : { names: new Set([...matching.labels, METRIC_NAME]), include: false };
}

/** Join signature of a series as a key string. */
function signatureFn(matching: ast.VectorMatching): (labels: Label[]) => string {
  const { names, include } = signatureLabels(matching);
  return (labels) => signature(labels, names, include);
}

/** Per signature, which steps have at least one series of `series` present. */
function presenceBySignature(series: StepSeries[], sig: (labels: Label[]) => string, steps: number, check: () => void): Map<string, Uint8Array> {
  const out = new Map<string, Uint8Array>();
  for (const s of series) {
    check();
    const key = sig(s.labels);
    let p = out.get(key);
    if (!p) out.set(key, (p = new Uint8Array(steps)));
    for (let i = 0; i < steps; i++) p[i] |= s.present[i];
  }
  return out;
}

function andUnless(op: "and" | "unless", lhs: StepSeries[], rhs: StepSeries[], matching: ast.VectorMatching, steps: number, check: () => void): StepSeries[] {
  const sig = signatureFn(matching);
  const right = presenceBySignature(rhs, sig, steps, check);
  const out: StepSeries[] = [];
  for (const s of lhs) {
    check();
    const p = right.get(sig(s.labels));
    const present = new Uint8Array(steps);
    for (let i = 0; i < steps; i++) {
      const matched = p ? p[i] === 1 : false;
      present[i] = s.present[i] && (op === "and" ? matched : !matched) ? 1 : 0;
    }
    const result = { ...s, present };
    if (hasAnyPoint(result)) out.push(result);
  }
  return out;
}

function or(lhs: StepSeries[], rhs: StepSeries[], matching: ast.VectorMatching, steps: number, check: () => void): StepSeries[] {
  const sig = signatureFn(matching);
  const left = presenceBySignature(lhs, sig, steps, check);
  const out: StepSeries[] = [...lhs];
  for (const s of rhs) {
    check();
    const p = left.get(sig(s.labels));
    if (!p) {
      out.push(s);
      continue;
    }
    const present = new Uint8Array(steps);
    for (let i = 0; i < steps; i++) present[i] = s.present[i] && !p[i] ? 1 : 0;
    const result = { ...s, present };
    if (hasAnyPoint(result)) out.push(result);
  }
  return out;
}

/** The labels of the matching group, as Prometheus prints them in matching errors. */
function matchedLabels(labels: Label[], matching: ast.VectorMatching): Label[] {
  return matching.on ? keepLabels(labels, new Set(matching.labels)) : removeLabels(labels, new Set([...matching.labels, METRIC_NAME]));
}

function resultLabels(op: ast.BinaryOp, many: Label[], one: Label[], matching: ast.VectorMatching): Label[] {
  let labels = SCHEMA_CHANGING.has(op) ? dropMetadataLabels(many) : many;
  if (matching.card === "one-to-one") {
    if (matching.on) labels = keepLabels(labels, new Set(matching.labels));
    else if (matching.labels.length > 0) labels = removeLabels(labels, new Set(matching.labels));
  }
  for (const name of matching.include) labels = setLabel(labels, name, getLabel(one, name));
  return labels;
}

/** Where the results of one (many-side series, one-side series) pairing go; resolved once per pair. */
interface PairTarget {
  out: StepSeries;
  /** Steps at which this signature already produced this result label set (many-to-one uniqueness check). */
  groupSeen?: Uint8Array;
}

/** A vector-vector arithmetic or comparison operator as the matching functions apply it. */
export interface VectorOperation {
  op: ast.BinaryOp;
  matching: ast.VectorMatching;
  returnBool: boolean;
  steps: number;
  /** The query's deadline and abort check, called inside the per-series loops. */
  check: () => void;
}

function vectorVector(lhs: StepSeries[], rhs: StepSeries[], operation: VectorOperation): StepSeries[] {
  return uniquePairs(lhs, rhs, operation) ?? matchPerStep(lhs, rhs, operation);
}

/**
 * vectorVector's path for one-to-one matching without fill when every signature occurs at most once on each side
 * (the common case: label sets that differ only in the metric name): each left series has at most one partner for
 * the whole range, so the pairs are found once and the operator runs over their whole columns, with no per-step
 * partner index, pairing map or result-label key. Undefined when it does not apply (a signature repeats on a side,
 * fill, group_left/right, or result label sets that could repeat): matchPerStep then decides, with its per-step
 * errors. Exported for the property test that compares the two.
 */
export function uniquePairs(lhs: StepSeries[], rhs: StepSeries[], operation: VectorOperation): StepSeries[] | undefined {
  const { op, matching, returnBool, steps, check } = operation;
  if (matching.card !== "one-to-one" || matching.fill?.lhs !== undefined || matching.fill?.rhs !== undefined) return undefined;
  const schemaChanging = SCHEMA_CHANGING.has(op);
  // A result label set keeps every signature label (so distinct signatures give distinct results) unless the
  // operator drops metadata labels that the signature holds: `on(__type__)`, or `__type__`/`__unit__` not ignored.
  if (schemaChanging && matching.on && matching.labels.some(isMetadataLabel)) return undefined;
  const metadataMatters = schemaChanging && !matching.on;
  const { names, include } = signatureLabels(matching);
  const right = new LabelSetTable(names, include); // (entry j: rhs[j])
  for (let j = 0; j < rhs.length; j++) {
    check();
    if (right.add(rhs[j].labels) >= 0) return undefined;
  }
  const paired = new Uint8Array(rhs.length);
  const keep = COMPARISONS.has(op) ? new Uint8Array(steps) : undefined;
  const both = new Uint8Array(steps);
  // The results' columns, one pair of buffers for all of them (at most one result per right-hand series).
  const capacity = Math.min(lhs.length, rhs.length) * steps;
  const valueBuffer = new Float64Array(capacity);
  const presentBuffer = new Uint8Array(capacity);
  const out: StepSeries[] = [];
  for (const s of lhs) {
    check();
    if (metadataMatters && s.labels.some(isTypeOrUnit)) return undefined;
    const j = right.find(s.labels);
    if (j < 0) continue; // a repeated signature without a partner pairs nothing either way
    if (paired[j]) return undefined;
    paired[j] = 1;
    const r = rhs[j];
    if (!intersect(s.present, r.present, both)) continue;
    const at = out.length * steps;
    const values = valueBuffer.subarray(at, at + steps);
    const present = presentBuffer.subarray(at, at + steps);
    if (keep) {
      comparisonColumns(op, s.values, r.values, keep);
      applyComparison(both, s.values, keep, returnBool, values, present);
    } else {
      arithmeticColumns(op, s.values, r.values, values);
      applyPresence(both, values, present);
    }
    const result = { labels: resultLabels(op, s.labels, r.labels, matching), dropName: returnBool, values, present };
    if (hasAnyPoint(result)) out.push(result);
  }
  return out;
}

function isTypeOrUnit(l: Label): boolean {
  return l.name !== METRIC_NAME && isMetadataLabel(l.name);
}

/** both[i] = a[i] && b[i]; whether any step is set. */
function intersect(a: Uint8Array, b: Uint8Array, both: Uint8Array): boolean {
  let any = 0;
  for (let i = 0; i < both.length; i++) any |= both[i] = a[i]! & b[i]!;
  return any !== 0;
}

/**
 * vectorVector in general: for each signature of the "one" side, which series holds the value at each step; each
 * "many" series pairs step by step, with Prometheus' errors for duplicate matches and result label sets. Exported
 * for the property test.
 */
export function matchPerStep(lhs: StepSeries[], rhs: StepSeries[], operation: VectorOperation): StepSeries[] {
  const { op, matching, returnBool, steps, check } = operation;
  const fill = matching.fill ?? {};
  if ((lhs.length === 0 || rhs.length === 0) && fill.lhs === undefined && fill.rhs === undefined) return [];
  const swapped = matching.card === "one-to-many";
  const many = swapped ? rhs : lhs;
  const one = swapped ? lhs : rhs;
  // As in Prometheus, fill_left supplies the missing "many"-side sample and fill_right the missing "one"-side
  // sample, whichever operand group_right makes the "many" side.
  const fillMany = fill.lhs;
  const fillOne = fill.rhs;
  const sig = signatureFn(matching);
  const isComparison = COMPARISONS.has(op);
  const oneToOne = matching.card === "one-to-one";

  // For every signature of the "one" side: which of its series holds the value at each step (-1: none).
  const oneBySig = new Map<string, Int32Array>();
  for (let j = 0; j < one.length; j++) {
    check();
    const key = sig(one[j].labels);
    let idx = oneBySig.get(key);
    if (!idx) oneBySig.set(key, (idx = new Int32Array(steps).fill(-1)));
    const clash = claimSteps(one[j].present, idx, j);
    if (clash >= 0) {
      const [a, b] = [one[idx[clash]].labels, one[j].labels].sort((x, y) => (labelsKey(x) < labelsKey(y) ? -1 : 1));
      throw new PromqlError(
        "execution",
        `found duplicate series for the match group ${formatLabels(matchedLabels(one[j].labels, matching))} on the ${swapped ? "left" : "right"} hand-side of the operation: [${formatLabels(a)}, ${formatLabels(b)}];many-to-many matching not allowed: matching labels must be unique on one side`,
      );
    }
  }

  // Output series by label set: unique by construction, so no merge pass is needed at the end.
  const outputs = new Map<string, StepSeries>();
  const order: StepSeries[] = [];
  const groupSeen = new Map<string, Uint8Array>();
  /** Steps at which a signature was matched (one-to-one: at most once; fill_left: which "one" samples were used). */
  const matchedBySig = new Map<string, Uint8Array>();
  const matchedFor = (sigKey: string) => {
    let m = matchedBySig.get(sigKey);
    if (!m) matchedBySig.set(sigKey, (m = new Uint8Array(steps)));
    return m;
  };

  const target = (manyLabels: Label[], oneLabels: Label[], sigKey: string): PairTarget => {
    const labels = resultLabels(op, manyLabels, oneLabels, matching);
    const key = labelsKey(labels);
    let out = outputs.get(key);
    if (!out) {
      out = { labels, dropName: returnBool, values: new Float64Array(steps), present: new Uint8Array(steps) };
      outputs.set(key, out);
      order.push(out);
    }
    if (oneToOne) return { out };
    const seenKey = sigKey + "\x00" + key;
    let seen = groupSeen.get(seenKey);
    if (!seen) groupSeen.set(seenKey, (seen = new Uint8Array(steps)));
    return { out, groupSeen: seen };
  };

  // One pairing of a "many" row with the "one" values matched at each step: the operator runs over whole columns
  // (manyCol/oneCol -> valueCol, keepCol), then `emitRun` places each matched step's result.
  const oneCol = new Float64Array(steps);
  const valueCol = new Float64Array(steps);
  const keepCol = new Uint8Array(steps).fill(1);
  const combine = (manyCol: Float64Array) => {
    const l = swapped ? oneCol : manyCol;
    const r = swapped ? manyCol : oneCol;
    if (isComparison) {
      comparisonColumns(op, l, r, keepCol);
      valueCol.set(l);
    } else {
      arithmeticColumns(op, l, r, valueCol);
    }
  };
  for (const s of many) {
    check();
    const key = sig(s.labels);
    const idx = oneBySig.get(key);
    if (!idx && fillOne === undefined) continue;
    const matched = matchedFor(key);
    if (idx) gatherOne(idx, one, fillOne ?? 0, oneCol);
    else oneCol.fill(fillOne ?? 0);
    combine(s.values);
    // one run of steps per "one" series j it pairs with (-1: filled); nearly always a single run
    const filled = fillOne !== undefined;
    const targets = new Map<number, PairTarget>();
    let i = nextPaired(s.present, idx, filled, 0);
    while (i < steps) {
      const j = idx ? idx[i]! : -1;
      let t = targets.get(j);
      if (!t) targets.set(j, (t = target(s.labels, j >= 0 ? one[j].labels : matchedLabels(s.labels, matching), key)));
      i = emitRun(s.present, idx, filled, i, j, t, matched, keepCol, valueCol, returnBool, oneToOne);
    }
  }
  if (fillMany !== undefined) {
    const manyCol = new Float64Array(steps).fill(fillMany);
    for (const [key, idx] of oneBySig) {
      const matched = matchedBySig.get(key);
      const targets = new Map<number, PairTarget>();
      const used = new Uint8Array(steps);
      for (let i = 0; i < steps; i++) oneCol[i] = idx[i] >= 0 ? one[idx[i]].values[i] : 0;
      combine(manyCol);
      for (let i = 0; i < steps; i++) {
        const j = idx[i];
        if (j < 0 || (matched && matched[i])) continue;
        let t = targets.get(j);
        if (!t) targets.set(j, (t = target(matchedLabels(one[j].labels, matching), one[j].labels, key)));
        emitStep(t, used, i, keepCol, valueCol, returnBool, oneToOne);
      }
    }
  }
  return order.filter(hasAnyPoint);
}

// vectorVector's per-step loops live in these small functions: V8 optimises them once for every query shape, where
// the loops inside vectorVector had it compile the whole function through on-stack replacement on its first long
// run, deoptimise it on the next new branch and compile it again (~25 ms of CPU each time).

/** idx[i] = j wherever `present`; stops at and returns the first step another series already holds (-1: none). */
function claimSteps(present: Uint8Array, idx: Int32Array, j: number): number {
  for (let i = 0; i < present.length; i++) {
    if (!present[i]) continue;
    if (idx[i]! >= 0) return i;
    idx[i] = j;
  }
  return -1;
}

/** out[i] = the value of the "one" series idx[i] at step i, or `fill` where none matched (idx[i] < 0). */
function gatherOne(idx: Int32Array, one: StepSeries[], fill: number, out: Float64Array): void {
  for (let i = 0; i < out.length; i++) {
    const j = idx[i]!;
    out[i] = j >= 0 ? one[j]!.values[i]! : fill;
  }
}

/** The first step from `from` on where the "many" series is present and has a partner (or present.length). */
function nextPaired(present: Uint8Array, idx: Int32Array | undefined, filled: boolean, from: number): number {
  for (let i = from; i < present.length; i++) if (present[i] && (filled || (idx !== undefined && idx[i]! >= 0))) return i;
  return present.length;
}

/**
 * Places the results of one "many" series at its paired steps from `from` on while the partner stays "one" series j
 * (-1: the fill value), into target t; returns the first paired step with another partner (or present.length).
 * Finding that partner's target is left to the caller, so nothing here calls out of these small functions.
 */
function emitRun(
  present: Uint8Array,
  idx: Int32Array | undefined,
  filled: boolean,
  from: number,
  j: number,
  t: PairTarget,
  matched: Uint8Array,
  keepCol: Uint8Array,
  valueCol: Float64Array,
  returnBool: boolean,
  oneToOne: boolean,
): number {
  for (let i = from; i < present.length; i++) {
    if (!present[i]) continue;
    const partner = idx ? idx[i]! : -1;
    if (partner < 0 && !filled) continue;
    if (partner !== j) return i;
    emitStep(t, matched, i, keepCol, valueCol, returnBool, oneToOne);
  }
  return present.length;
}

/** One matched step of a pairing: the uniqueness checks, then the result (or nothing where a filter comparison fails). */
function emitStep(t: PairTarget, matched: Uint8Array, step: number, keepCol: Uint8Array, valueCol: Float64Array, returnBool: boolean, oneToOne: boolean): void {
  if (oneToOne) {
    if (matched[step]) throw new PromqlError("execution", "multiple matches for labels: many-to-one matching must be explicit (group_left/group_right)");
  } else {
    if (t.groupSeen![step]) throw new PromqlError("execution", "multiple matches for labels: grouping labels must ensure unique matches");
    t.groupSeen![step] = 1;
  }
  matched[step] = 1;
  const keep = keepCol[step]!;
  if (!keep && !returnBool) return;
  if (t.out.present[step]) throw new PromqlError("execution", "vector cannot contain metrics with the same labelset");
  t.out.present[step] = 1;
  t.out.values[step] = returnBool ? keep : valueCol[step]!;
}
