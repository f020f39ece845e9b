// Aggregation operators (sum, avg, min, max, count, group, stddev, stdvar, quantile, count_values, topk, bottomk,
// limitk, limit_ratio): series are mapped to groups once, then each step aggregates the group members present there.

import type * as ast from "./ast.js";
import { PromqlError } from "./result.js";
import type { Label } from "./result.js";
import { dropMetadataLabels, formatFloatPlain, keepLabels, labelsHash, labelsKey, METRIC_NAME, removeLabels, setLabel, validLabelName } from "./labels.js";
import { warnCappedRatios, warnInvalidQuantiles } from "./annotations.js";
import { goQuote } from "./parser/errors.js";
import type { Evaluator } from "./evaluator.js";
import { unwrapParens } from "./evaluator.js";
import { releaseColumns } from "./range_kernels.js";
import { anyPresentIn, hasAnyPoint, type EvalValue, type Grid, type StepSeries, type VectorColumns } from "./values.js";

/** Compensation term left by the last kahanInc call (avoids allocating a pair per addition). */
let kahanComp = 0;

/** Kahan-Neumaier compensated increment: returns the new sum and leaves the new compensation in kahanComp. */
function kahanInc(inc: number, sum: number, c: number): number {
  const t = sum + inc;
  if (t === Infinity || t === -Infinity) c = 0;
  else if (Math.abs(sum) >= Math.abs(inc)) c += sum - t + inc;
  else c += inc - t + sum;
  kahanComp = c;
  return t;
}

/**
 * Prometheus' `quantile` of sorted[0..n): ascending with NaNs first, interpolated between the closest ranks.
 */
function quantile(q: number, sorted: Float64Array, n: number): number {
  if (n === 0 || Number.isNaN(q)) return NaN;
  if (q < 0) return -Infinity;
  if (q > 1) return Infinity;
  const rank = q * (n - 1);
  const lower = Math.max(0, Math.floor(rank));
  const upper = Math.min(n - 1, lower + 1);
  const weight = rank - Math.floor(rank);
  return sorted[lower]! * (1 - weight) + sorted[upper]! * weight;
}

/** A group's identity: equal keys exactly when the grouping labels are equal. */
type GroupKey = string | symbol | number;

type KeyNode = Map<string, KeyNode | number>;

/**
 * Dense ids of label sets restricted to `names` (include) or to all labels but them, without building a key string
 * per series: a trie of Maps keyed by the label names and values themselves, alternating name and value levels; a
 * set's id sits under "" at the name level after its last pair (label names are never empty).
 */
class LabelSetIds {
  private readonly root: KeyNode = new Map();
  private count = 0;

  constructor(
    private readonly names: Set<string>,
    private readonly include: boolean,
  ) {}

  id(labels: Label[]): number {
    let node = this.root;
    for (let i = 0; i < labels.length; i++) {
      const l = labels[i]!;
      if (this.names.has(l.name) !== this.include) continue;
      node = child(child(node, l.name), l.value);
    }
    let id = node.get("") as number | undefined;
    if (id === undefined) node.set("", (id = this.count++));
    return id;
  }
}

function child(node: KeyNode, key: string): KeyNode {
  let next = node.get(key) as KeyNode | undefined;
  if (next === undefined) node.set(key, (next = new Map()));
  return next;
}

/** Key of the group without the (single) grouping label. */
const NO_VALUE = Symbol("no value");

interface Grouping {
  key(labels: Label[]): GroupKey;
  labels(labels: Label[]): Label[];
}

function grouping(names: string[], without: boolean): Grouping {
  if (without) {
    const excluded = new Set([...names, METRIC_NAME]);
    const ids = new LabelSetIds(excluded, false);
    return { key: (l) => ids.id(l), labels: (l) => removeLabels(l, excluded) };
  }
  const kept = new Set(names);
  // one group (its labels built like any other group's: a literal [] has another elements kind, and the code that
  // writes label lists deoptimised on it, "wrong map")
  if (names.length === 0) return { key: () => "", labels: (l) => keepLabels(l, kept) };
  if (names.length === 1) {
    // `by (x)`: the value itself is the key (no key string built per series)
    const name = names[0];
    const key = (l: Label[]): GroupKey => {
      for (let i = 0; i < l.length; i++) if (l[i].name === name) return l[i].value;
      return NO_VALUE;
    };
    return { key, labels: (l) => keepLabels(l, kept) };
  }
  const ids = new LabelSetIds(kept, true);
  return { key: (l) => ids.id(l), labels: (l) => keepLabels(l, kept) };
}

/** limit_ratio's per-series position in [0, 1]: Prometheus' float64(labels.Hash()) / float64(MaxUint64). */
function ratioOffset(s: StepSeries): number {
  return Number(labelsHash(s.dropName ? dropMetadataLabels(s.labels) : s.labels)) / 2 ** 64;
}

export async function evalAggregate(ev: Evaluator, e: ast.AggregateExpr, grid: Grid): Promise<EvalValue> {
  const steps = grid.times.length;
  let param: Float64Array | undefined;
  let valueLabel = "";
  if (e.op === "count_values") {
    const p = e.param ? unwrapParens(e.param) : undefined;
    if (!p || p.type !== "StringLiteral") throw new PromqlError("bad_data", "count_values requires a string parameter");
    valueLabel = p.value;
    if (!validLabelName(valueLabel)) throw new PromqlError("execution", `invalid label name ${goQuote(valueLabel)}`);
  } else if (e.param) {
    param = await ev.evalScalar(e.param, grid);
    if (e.op === "quantile") warnInvalidQuantiles(ev.options.annotations, param, e.param.pos);
    if (e.op === "limit_ratio") warnCappedRatios(ev.options.annotations, param, e.param.pos);
  }
  const names = e.op === "count_values" && !e.without ? [...e.grouping, valueLabel] : e.grouping;
  const g = grouping(names, e.without);

  const op = e.op;
  const perStep = op === "quantile" || op === "stddev" || op === "stdvar";
  if (perStep || op === "sum" || op === "avg" || op === "count" || op === "group" || op === "min" || op === "max") {
    // An instant selector (or one compared with a literal) or a range function is aggregated from its columns: no
    // object per series. The columns are pooled: the aggregation copies what it needs, and they go back to the pool.
    const cols = await ev.evalColumns(e.expr, grid, true);
    if (cols) {
      try {
        const groups = groupSeries(cols.labels, cols, g);
        const fast = perStep ? undefined : accumulate(op, cols, groups.members, steps);
        // quantile, stddev, stdvar, and an avg that overflowed (Prometheus' incremental mean) step by step
        return { kind: "vector", series: fast ? accumulated(groups.labels, fast) : aggregateSteps(ev, e.op, param, cols, undefined, groups, steps) };
      } finally {
        releaseColumns(cols);
      }
    }
  }
  const input = await ev.evalVector(e.expr, grid);

  if (e.op === "count_values") return { kind: "vector", series: countValues(input, g, valueLabel, steps) };
  if (e.op === "topk" || e.op === "bottomk" || e.op === "limitk" || e.op === "limit_ratio") {
    return { kind: "vector", series: selectK(e.op, input, g, param!, steps) };
  }

  // the aggregation loops read columns: the series' arrays copied into one pair
  const groups = groupSeries(input.map((s) => s.labels), undefined, g);
  const values = new Float64Array(input.length * steps);
  const present = new Uint8Array(input.length * steps);
  const dropNames = new Uint8Array(input.length);
  for (let i = 0; i < input.length; i++) {
    values.set(input[i]!.values, i * steps);
    present.set(input[i]!.present, i * steps);
    dropNames[i] = input[i]!.dropName ? 1 : 0;
  }
  const cols: VectorColumns = { labels: input.map((s) => s.labels), dropName: false, values, present, steps };
  if (op === "sum" || op === "avg" || op === "count" || op === "group" || op === "min" || op === "max") {
    const fast = accumulate(op, cols, groups.members, steps);
    if (fast) {
      // a group drops the metric name when any member does
      fast.dropName = groups.members.map((memberList) => memberList.some((i) => dropNames[i] === 1));
      return { kind: "vector", series: accumulated(groups.labels, fast) };
    }
  }
  return { kind: "vector", series: aggregateSteps(ev, op, param, cols, dropNames, groups, steps) };
}

/**
 * The aggregations that look at all members of a group at once (quantile, stddev, stdvar) and avg's incremental
 * mean after an overflow, step by step over columns (series i at [i * steps, (i + 1) * steps)); a group's result
 * drops the metric name when a member present at some step does (per series in `dropNames`, else cols.dropName).
 */
function aggregateSteps(
  ev: Evaluator, op: ast.AggregateOp, param: Float64Array | undefined, cols: VectorColumns, dropNames: Uint8Array | undefined,
  groups: { labels: Label[][]; members: Int32Array[] }, steps: number,
): StepSeries[] {
  const out: StepSeries[] = [];
  for (let gi = 0; gi < groups.labels.length; gi++) {
    ev.checkDeadline();
    const values = new Float64Array(steps);
    const present = new Uint8Array(steps);
    const memberList = groups.members[gi]!;
    const dropName = op === "quantile"
      ? quantileSteps(cols.values, cols.present, memberList, steps, param!, values, present)
      : spreadSteps(op, cols.values, cols.present, memberList, steps, values, present);
    const series = { labels: groups.labels[gi]!, dropName: dropName && droppedBy(cols, dropNames, memberList), values, present };
    if (hasAnyPoint(series)) out.push(series);
  }
  return out;
}

/** Whether a member of the group (each present at some step) has its metric name dropped. */
function droppedBy(cols: VectorColumns, dropNames: Uint8Array | undefined, memberList: Int32Array): boolean {
  if (!dropNames) return cols.dropName;
  for (let m = 0; m < memberList.length; m++) {
    const i = memberList[m]!;
    if (dropNames[i] && anyPresentIn(cols.present, i * cols.steps, (i + 1) * cols.steps)) return true;
  }
  return false;
}

/**
 * One group's quantile per step over its present members; returns whether any step had one. Each step's values are
 * sorted as a stable sort with NaN first would order them in member order: NaNs moved to the front, the rest by the
 * typed array's numeric sort, then any run of zeros put back in member order (that sort puts -0 before 0).
 */
function quantileSteps(
  sv: Float64Array, sp: Uint8Array, memberList: Int32Array, steps: number, param: Float64Array, values: Float64Array, present: Uint8Array,
): boolean {
  const buffer = new Float64Array(memberList.length);
  let any = false;
  for (let t = 0; t < steps; t++) {
    let nans = 0;
    let n = 0;
    let negativeZeros = 0;
    for (let m = 0; m < memberList.length; m++) {
      const at = memberList[m]! * steps + t;
      if (!sp[at]) continue;
      const f = sv[at]!;
      if (f !== f) {
        buffer[n++] = buffer[nans]!;
        buffer[nans++] = f;
      } else {
        buffer[n++] = f;
        if (f === 0 && 1 / f < 0) negativeZeros++;
      }
    }
    if (n === 0) continue;
    buffer.subarray(nans, n).sort();
    if (negativeZeros > 0) zerosInMemberOrder(sv, sp, memberList, steps, t, buffer, nans, n);
    values[t] = quantile(param[t]!, buffer, n);
    present[t] = 1;
    any = true;
  }
  return any;
}

/** Rewrites the run of zeros in sorted[from..n) with the members' zeros at step t in member order. */
function zerosInMemberOrder(sv: Float64Array, sp: Uint8Array, memberList: Int32Array, steps: number, t: number, sorted: Float64Array, from: number, n: number): void {
  let k = from;
  while (k < n && sorted[k]! < 0) k++;
  for (let m = 0; m < memberList.length; m++) {
    const at = memberList[m]! * steps + t;
    if (sp[at] && sv[at] === 0) sorted[k++] = sv[at]!;
  }
}

/**
 * One group's stddev, stdvar (Welford's running mean and squared deviations, as Prometheus) or avg (Kahan sum, then
 * the incremental mean from the first overflow on) per step; returns whether any step had a member.
 */
function spreadSteps(op: ast.AggregateOp, sv: Float64Array, sp: Uint8Array, memberList: Int32Array, steps: number, values: Float64Array, present: Uint8Array): boolean {
  const variance = op === "stddev" || op === "stdvar";
  let any = false;
  for (let t = 0; t < steps; t++) {
    let count = 0;
    let value = 0;
    let mean = 0;
    let c = 0;
    let incremental = false;
    for (let m = 0; m < memberList.length; m++) {
      const at = memberList[m]! * steps + t;
      if (!sp[at]) continue;
      const f = sv[at]!;
      count++;
      if (count === 1) {
        value = variance ? (Number.isFinite(f) ? 0 : NaN) : f;
        mean = f;
      } else if (variance) {
        const delta = f - mean;
        mean += delta / count;
        value += delta * (f - mean);
      } else {
        if (!incremental) {
          const nv = kahanInc(f, value, c);
          if (nv !== Infinity && nv !== -Infinity) {
            value = nv;
            c = kahanComp;
            continue;
          }
          incremental = true;
          mean = value / (count - 1);
          c /= count - 1;
        }
        const q = (count - 1) / count;
        mean = kahanInc(f / count, q * mean, q * c);
        c = kahanComp;
      }
    }
    if (count === 0) continue;
    if (op === "stdvar") value /= count;
    else if (op === "stddev") value = Math.sqrt(value / count);
    else value = incremental ? mean + c : value / count + c / count;
    values[t] = value;
    present[t] = 1;
    any = true;
  }
  return any;
}

/**
 * The groups of series 0..labels.length-1 in order of first appearance: their labels and member indexes (ascending;
 * views into one Int32Array, not a growing array per group). With `cols`, series without any point are left out (an
 * instant selector's columns hold them).
 */
function groupSeries(labels: Label[][], cols: VectorColumns | undefined, g: Grouping): { labels: Label[][]; members: Int32Array[] } {
  const groupIndex = new Map<GroupKey, number>();
  const groupLabels: Label[][] = [];
  const n = labels.length;
  if (groupScratch.length < 4 * n + 2) groupScratch = new Int32Array(4 * n + 2);
  const groupOf = groupScratch.subarray(0, n);
  const sizes = groupScratch.subarray(n, 2 * n).fill(0); // (at most one group per series: no growth branch in the loop)
  for (let i = 0; i < labels.length; i++) {
    if (cols && !anyPresentIn(cols.present, i * cols.steps, (i + 1) * cols.steps)) {
      groupOf[i] = -1;
      continue;
    }
    const key = g.key(labels[i]!);
    let gi = groupIndex.get(key);
    if (gi === undefined) {
      gi = groupLabels.length;
      groupIndex.set(key, gi);
      groupLabels.push(g.labels(labels[i]!));
    }
    groupOf[i] = gi;
    sizes[gi]++;
  }
  return { labels: groupLabels, members: membersOf(groupOf, sizes, groupLabels.length) };
}

/**
 * groupSeries' scratch, reused by every call (it runs synchronously): for n series, the group of each series, the
 * group sizes, then membersOf's group starts and fill counts (at most n groups), 4n + 2 ints.
 */
let groupScratch = new Int32Array(1024);

/** Series indexes per group (groupOf[i] = -1: in none), as views of one array. */
function membersOf(groupOf: Int32Array, sizes: Int32Array, groups: number): Int32Array[] {
  const n = groupOf.length;
  const starts = groupScratch.subarray(2 * n, 2 * n + groups + 1);
  starts[0] = 0;
  for (let gi = 0; gi < groups; gi++) starts[gi + 1] = starts[gi]! + sizes[gi]!;
  const all = new Int32Array(starts[groups]!);
  const filled = groupScratch.subarray(3 * n + 1, 3 * n + 1 + groups).fill(0);
  for (let i = 0; i < groupOf.length; i++) {
    const gi = groupOf[i]!;
    if (gi >= 0) all[starts[gi]! + filled[gi]!++] = i;
  }
  return Array.from({ length: groups }, (_, gi) => all.subarray(starts[gi]!, starts[gi + 1]!)); // (packed, exact size)
}

interface Accumulated {
  values: Float64Array[];
  present: Uint8Array[];
  dropName: boolean[];
}

/** accumulate's groups as series, those with a point. */
function accumulated(groupLabels: Label[][], acc: Accumulated): StepSeries[] {
  const out: StepSeries[] = [];
  for (let gi = 0; gi < groupLabels.length; gi++) {
    const series = { labels: groupLabels[gi]!, dropName: acc.dropName[gi]!, values: acc.values[gi]!, present: acc.present[gi]! };
    if (hasAnyPoint(series)) out.push(series);
  }
  return out;
}

/**
 * Series-major evaluation of sum, avg, count, group, min and max: one pass over each group's member series (series i
 * of the columns at [i * steps, (i + 1) * steps)) into per-group accumulators. Additions happen in the same order as
 * in the per-step path, so results are identical. Returns undefined when an avg overflows, which needs Prometheus'
 * incremental-mean fallback (the per-step path). count and group read no values. Every group has cols.dropName.
 */
function accumulate(op: "sum" | "avg" | "count" | "group" | "min" | "max", cols: VectorColumns, members: Int32Array[], steps: number): Accumulated | undefined {
  const values: Float64Array[] = [];
  const present: Uint8Array[] = [];
  const dropName: boolean[] = [];
  const sv = cols.values;
  const sp = cols.present;
  // acc and seen become the group's result (views of one pair of arrays for all groups); the compensation and count
  // columns are scratch, reused group by group
  const allAcc = new Float64Array(members.length * steps);
  const allSeen = new Uint8Array(members.length * steps);
  const comp = new Float64Array(steps);
  const count = new Float64Array(steps);
  for (let gi = 0; gi < members.length; gi++) {
    const memberList = members[gi]!;
    const acc = allAcc.subarray(gi * steps, (gi + 1) * steps);
    const seen = allSeen.subarray(gi * steps, (gi + 1) * steps);
    comp.fill(0);
    count.fill(0);
    // (the operator is picked here, once per group: the loops below take no branch on it, so V8 compiles each once
    // and never deoptimises it on an operator the first queries did not use)
    if (op === "sum" || op === "avg") sumInto(sv, sp, memberList, acc, comp, count, seen, steps);
    else if (op === "max") maxInto(sv, sp, memberList, acc, seen, steps);
    else if (op === "min") minInto(sv, sp, memberList, acc, seen, steps);
    else countInto(sp, memberList, acc, count, seen, steps);
    if (op === "sum") addCompensation(acc, comp, seen, steps);
    else if (op === "count") acc.set(count);
    else if (op === "avg" && !finishMean(acc, comp, count, seen, steps)) return undefined;
    values.push(acc);
    present.push(seen);
    dropName.push(cols.dropName);
  }
  return { values, present, dropName };
}

// accumulate's loops, one small function per operator over typed arrays only: V8 optimises each after a few member
// series and reuses it for every query shape, where one big function would be compiled through on-stack
// replacement on its first long run, deoptimised on its first new branch and compiled again (~20-50 ms each time).

/**
 * Kahan-compensated running sum of the member series (steps [i * steps, (i + 1) * steps) of sv/sp for each i in
 * memberList, in order) into acc/comp (count: members seen per step).
 */
function sumInto(sv: Float64Array, sp: Uint8Array, memberList: Int32Array, acc: Float64Array, comp: Float64Array, count: Float64Array, seen: Uint8Array, steps: number): void {
  for (let m = 0; m < memberList.length; m++) {
    const at = memberList[m]! * steps;
    for (let t = 0; t < steps; t++) {
      if (!sp[at + t]) continue;
      const f = sv[at + t]!;
      if (!seen[t]) {
        seen[t] = 1;
        acc[t] = f;
        count[t] = 1;
        continue;
      }
      count[t]++;
      const a = acc[t]!;
      const sum = a + f;
      if (sum === Infinity || sum === -Infinity) comp[t] = 0;
      else if (Math.abs(a) >= Math.abs(f)) comp[t] += a - sum + f;
      else comp[t] += f - sum + a;
      acc[t] = sum;
    }
  }
}

/** Prometheus' max: a NaN accumulator is replaced by any later value. */
function maxInto(sv: Float64Array, sp: Uint8Array, memberList: Int32Array, acc: Float64Array, seen: Uint8Array, steps: number): void {
  for (let m = 0; m < memberList.length; m++) {
    const at = memberList[m]! * steps;
    for (let t = 0; t < steps; t++) {
      if (!sp[at + t]) continue;
      const f = sv[at + t]!;
      if (!seen[t]) {
        seen[t] = 1;
        acc[t] = f;
      } else if (acc[t]! < f || acc[t] !== acc[t]) acc[t] = f;
    }
  }
}

/** maxInto's mirror: two loops, not one taking a comparator, so each stays a call-free loop V8 optimises once. */
function minInto(sv: Float64Array, sp: Uint8Array, memberList: Int32Array, acc: Float64Array, seen: Uint8Array, steps: number): void {
  for (let m = 0; m < memberList.length; m++) {
    const at = memberList[m]! * steps;
    for (let t = 0; t < steps; t++) {
      if (!sp[at + t]) continue;
      const f = sv[at + t]!;
      if (!seen[t]) {
        seen[t] = 1;
        acc[t] = f;
      } else if (acc[t]! > f || acc[t] !== acc[t]) acc[t] = f;
    }
  }
}

/** count and group: acc is 1 wherever a member is present. */
function countInto(sp: Uint8Array, memberList: Int32Array, acc: Float64Array, count: Float64Array, seen: Uint8Array, steps: number): void {
  for (let m = 0; m < memberList.length; m++) {
    const at = memberList[m]! * steps;
    for (let t = 0; t < steps; t++) {
      if (!sp[at + t]) continue;
      seen[t] = 1;
      count[t]++;
      acc[t] = 1;
    }
  }
}

function addCompensation(acc: Float64Array, comp: Float64Array, seen: Uint8Array, steps: number): void {
  for (let t = 0; t < steps; t++) if (seen[t]) acc[t] += comp[t]!;
}

/** acc becomes the mean; false when a sum overflowed (the caller falls back to the incremental mean). */
function finishMean(acc: Float64Array, comp: Float64Array, count: Float64Array, seen: Uint8Array, steps: number): boolean {
  for (let t = 0; t < steps; t++) {
    if (!seen[t]) continue;
    if (acc[t] === Infinity || acc[t] === -Infinity) return false;
    acc[t] = acc[t]! / count[t]! + comp[t]! / count[t]!;
  }
  return true;
}

function countValues(input: StepSeries[], g: Grouping, valueLabel: string, steps: number): StepSeries[] {
  const outputs = new Map<string, StepSeries>();
  for (let t = 0; t < steps; t++) {
    for (const s of input) {
      if (!s.present[t]) continue;
      const labels = g.labels(setLabel(s.labels, valueLabel, formatFloatPlain(s.values[t])));
      const key = labelsKey(labels);
      let out = outputs.get(key);
      if (!out) outputs.set(key, (out = { labels, dropName: false, values: new Float64Array(steps), present: new Uint8Array(steps) }));
      out.present[t] = 1;
      out.values[t] += 1;
    }
  }
  return [...outputs.values()];
}

/** Go's %v for a float64 (%g with Go's exponent spelling, e.g. 1e+300, +Inf). */
function goFloat(f: number): string {
  if (f === Infinity) return "+Inf";
  if (f === -Infinity) return "-Inf";
  return String(f);
}

/** topk/bottomk up to this k keep their best k by insertion (no sort, no array per step); larger k sort. */
const TOP_K_BY_INSERTION = 64;

/**
 * The best k of members[0..n) into top (best first; returns how many): what a stable sort by compareAt and the first
 * k give. An element goes after the last kept one it is not strictly better than, so equal ones keep their order.
 * (compareAt is called directly, not passed: a closure per query would deoptimise this on "wrong call target".)
 */
function bestK(members: Int32Array, n: number, top: Int32Array, k: number, input: StepSeries[], t: number, sign: number): number {
  let nt = 0;
  for (let j = 0; j < n; j++) {
    const i = members[j]!;
    let at = nt;
    while (at > 0 && compareAt(input, i, top[at - 1]!, t, sign) < 0) at--;
    if (at >= k) continue;
    for (let q = Math.min(nt, k - 1); q > at; q--) top[q] = top[q - 1]!;
    top[at] = i;
    if (nt < k) nt++;
  }
  return nt;
}

/**
 * topk (sign -1) / bottomk (sign 1) order of series a and b at step t: NaN last; -1/0/1, not a difference (a double
 * result is a heap number per comparison); NaN differences (Inf - Inf) compare equal.
 */
function compareAt(input: StepSeries[], a: number, b: number, t: number, sign: number): number {
  const va = input[a]!.values[t]!;
  const vb = input[b]!.values[t]!;
  if (Number.isNaN(va)) return Number.isNaN(vb) ? 0 : 1;
  if (Number.isNaN(vb)) return -1;
  const d = va - vb;
  return d > 0 ? sign : d < 0 ? -sign : 0;
}

function selectK(op: "topk" | "bottomk" | "limitk" | "limit_ratio", input: StepSeries[], g: Grouping, param: Float64Array, steps: number): StepSeries[] {
  let max = -Infinity;
  let min = Infinity;
  let anyNaN = false;
  for (const p of param) {
    if (Number.isNaN(p)) anyNaN = true;
    if (p > max) max = p;
    if (p < min) min = p;
  }
  if (anyNaN) max = NaN;
  if (op === "limit_ratio") {
    if (max === 0 && min === 0) return [];
    if (anyNaN) throw new PromqlError("execution", "Ratio value is NaN");
  } else {
    if (max < 1) return [];
    if (anyNaN) throw new PromqlError("execution", "Parameter value is NaN");
    // Prometheus converts k to an int64 and refuses values that do not fit.
    if (min <= -9223372036854775808) throw new PromqlError("execution", `Scalar value ${goFloat(min)} underflows int64`);
    if (max >= 9223372036854774784) throw new PromqlError("execution", `Scalar value ${goFloat(max)} overflows int64`);
  }
  const groups = new Map<GroupKey, number[]>();
  for (let i = 0; i < input.length; i++) {
    const key = g.key(input[i].labels);
    let m = groups.get(key);
    if (!m) groups.set(key, (m = []));
    m.push(i);
  }
  // the selected steps of every series (series i at [i * steps, (i + 1) * steps)); views only for the series kept
  const outPresent = new Uint8Array(input.length * steps);
  const offsets = op === "limit_ratio" ? input.map(ratioOffset) : undefined;
  // Order of the selected series at the (single) step of an instant query: per group, best first.
  const instantOrder: number[] = [];
  const choose = (i: number, t: number) => {
    outPresent[i * steps + t] = 1;
    if (steps === 1) instantOrder.push(i);
  };
  // the members of a group present at a step, and the best k of them so far (small k): reused step after step
  const members = new Int32Array(input.length);
  const top = new Int32Array(TOP_K_BY_INSERTION);
  const sign = op === "topk" ? -1 : 1;
  for (let t = 0; t < steps; t++) {
    const p = param[t];
    for (const memberList of groups.values()) {
      let np = 0;
      for (let m = 0; m < memberList.length; m++) if (input[memberList[m]!].present[t]) members[np++] = memberList[m]!;
      if (np === 0) continue;
      if (op === "limit_ratio") {
        const r = Math.max(-1, Math.min(1, p));
        if (r === 0) continue;
        for (let j = 0; j < np; j++) {
          const i = members[j]!;
          if (r >= 0 ? offsets![i] < r : offsets![i] >= 1 + r) choose(i, t);
        }
        continue;
      }
      const k = Math.min(Math.trunc(p), input.length);
      if (k < 1) continue;
      if (op === "limitk") {
        for (let j = 0; j < Math.min(k, np); j++) choose(members[j]!, t);
      } else if (k <= TOP_K_BY_INSERTION) {
        const nt = bestK(members, np, top, k, input, t, sign);
        for (let j = 0; j < nt; j++) choose(top[j]!, t);
      } else {
        const sorted = Array.from(members.subarray(0, np)).sort((a, b) => compareAt(input, a, b, t, sign));
        for (let j = 0; j < Math.min(k, np); j++) choose(sorted[j]!, t);
      }
    }
  }
  const order = steps === 1 ? instantOrder : input.map((_, i) => i);
  const out: StepSeries[] = [];
  for (const i of order) {
    if (anyPresentIn(outPresent, i * steps, (i + 1) * steps)) out.push({ ...input[i], present: outPresent.subarray(i * steps, (i + 1) * steps) });
  }
  return out;
}
