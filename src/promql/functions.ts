// PromQL function calls: element-wise maths, time and date functions, label manipulation, sorting, absence,
// classic histogram functions, and the range-vector functions, which run as WASM kernels (range_kernels.ts).

import type { RE2JS } from "re2js";
import { anchoredRegex } from "./regex.js";
import type * as ast from "./ast.js";
import { PromqlError } from "./result.js";
import type { Label } from "./result.js";
import { compareLabels, formatFloatPlain, getLabel, METRIC_NAME, naturalLess, parseGoFloat, setLabel, signature, sortLabels, validLabelName } from "./labels.js";
import type { Evaluator } from "./evaluator.js";
import { mergeSameLabels, unwrapParens } from "./evaluator.js";
import { evalInfo } from "./info.js";
import { extendedRangeSelectorError } from "./parser/index.js";
import { bucketFraction, bucketQuantile, type Bucket } from "./histogram.js";
import { evalRangeKernel, RANGE_FUNCTION_IDS, type RangeFunctionName } from "./range_kernels.js";
import { anyPresentIn, countPresentIn, hasAnyPoint, seriesOfColumns, type EvalValue, type Grid, type StepSeries, type VectorColumns } from "./values.js";
import { annotationMessages, warnInvalidQuantiles, type Annotations } from "./annotations.js";

const MATH_FUNCTIONS: Record<string, (x: number) => number> = {
  abs: Math.abs,
  ceil: Math.ceil,
  floor: Math.floor,
  exp: Math.exp,
  sqrt: Math.sqrt,
  ln: Math.log,
  log2: Math.log2,
  log10: Math.log10,
  sin: Math.sin,
  cos: Math.cos,
  tan: Math.tan,
  asin: Math.asin,
  acos: Math.acos,
  atan: Math.atan,
  sinh: Math.sinh,
  cosh: Math.cosh,
  tanh: Math.tanh,
  asinh: Math.asinh,
  acosh: Math.acosh,
  atanh: Math.atanh,
  deg: (x) => (x * 180) / Math.PI,
  rad: (x) => (x * Math.PI) / 180,
  sgn: (x) => (x < 0 ? -1 : x > 0 ? 1 : x),
};

/** Date functions over Unix seconds, evaluated in UTC like Go's time.Unix(int64(v), 0).UTC(). */
const DATE_FUNCTIONS: Record<string, (d: Date) => number> = {
  minute: (d) => d.getUTCMinutes(),
  hour: (d) => d.getUTCHours(),
  day_of_week: (d) => d.getUTCDay(),
  day_of_month: (d) => d.getUTCDate(),
  day_of_year: (d) => Math.round((Date.UTC(d.getUTCFullYear(), d.getUTCMonth(), d.getUTCDate()) - Date.UTC(d.getUTCFullYear(), 0, 1)) / 86400000) + 1,
  days_in_month: (d) => new Date(Date.UTC(d.getUTCFullYear(), d.getUTCMonth() + 1, 0)).getUTCDate(),
  month: (d) => d.getUTCMonth() + 1,
  year: (d) => d.getUTCFullYear(),
};

/** Range functions that keep the metric name (they act like an offset). */
const NAME_KEEPING_RANGE_FUNCTIONS = new Set(["last_over_time", "first_over_time"]);

function mapSeries(ev: Evaluator, series: StepSeries[], f: (x: number, step: number) => number): StepSeries[] {
  return series.map((s) => {
    ev.checkDeadlineInLoop();
    const values = new Float64Array(s.values.length);
    for (let i = 0; i < values.length; i++) if (s.present[i]) values[i] = f(s.values[i], i);
    return { labels: s.labels, dropName: true, values, present: s.present };
  });
}

function stringArg(expr: ast.Expr): string {
  const e = unwrapParens(expr);
  if (e.type !== "StringLiteral") throw new PromqlError("bad_data", "expected string literal argument");
  return e.value;
}

function isRangeArgument(expr: ast.Expr): expr is ast.MatrixSelector | ast.SubqueryExpr {
  const e = unwrapParens(expr);
  return e.type === "MatrixSelector" || e.type === "SubqueryExpr";
}

/** Labels absent() and absent_over_time() return: the equality matchers of a plain selector argument. */
function absentLabels(expr: ast.Expr): Label[] {
  const e = unwrapParens(expr);
  const vs = e.type === "VectorSelector" ? e : e.type === "MatrixSelector" ? e.vector : undefined;
  if (!vs) return [];
  const labels = new Map<string, string>();
  const seen = new Set<string>();
  for (const m of vs.matchers) {
    if (m.name === METRIC_NAME) continue;
    if (m.op === "=" && !seen.has(m.name)) {
      labels.set(m.name, m.value);
      seen.add(m.name);
    } else {
      labels.delete(m.name);
    }
  }
  return sortLabels([...labels].map(([name, value]) => ({ name, value })));
}

/** Compiles a label_replace regex with Go's semantics (RE2, fully anchored, `.` matching newlines). */
function compileAnchored(regex: string): RE2JS {
  try {
    return anchoredRegex(regex);
  } catch {
    throw new PromqlError("execution", `invalid regular expression in label_replace(): ${regex}`);
  }
}

/** Go's Regexp.ExpandString: $1, ${1}, $name, ${name} (a bare name takes the longest [A-Za-z0-9_] run), $$. */
function expandTemplate(template: string, group: (ref: string) => string): string {
  let out = "";
  for (let i = 0; i < template.length; i++) {
    const c = template[i];
    if (c !== "$" || i + 1 >= template.length) {
      out += c;
      continue;
    }
    const next = template[i + 1];
    if (next === "$") {
      out += "$";
      i++;
      continue;
    }
    let name: string;
    let end: number;
    if (next === "{") {
      const close = template.indexOf("}", i + 2);
      name = close < 0 ? "" : template.slice(i + 2, close);
      if (close < 0 || !/^[A-Za-z0-9_]+$/.test(name)) {
        out += c;
        continue;
      }
      end = close;
    } else {
      const m = /^[A-Za-z0-9_]+/.exec(template.slice(i + 1));
      if (!m) {
        out += c;
        continue;
      }
      name = m[0];
      end = i + name.length;
    }
    out += group(name);
    i = end;
  }
  return out;
}

async function labelReplace(ev: Evaluator, call: ast.Call, grid: Grid): Promise<StepSeries[]> {
  const dst = stringArg(call.args[1]);
  const replacement = stringArg(call.args[2]);
  const src = stringArg(call.args[3]);
  const regexText = stringArg(call.args[4]);
  const regex = compileAnchored(regexText);
  if (!validLabelName(dst)) throw new PromqlError("execution", `invalid destination label name in label_replace(): ${dst}`);
  const named = regex.namedGroups();
  const series = await ev.evalVector(call.args[0], grid);
  const out = series.map((s) => {
    const m = regex.matcher(getLabel(s.labels, src));
    if (!m.matches()) return s;
    const value = expandTemplate(replacement, (ref) => {
      const index = /^\d+$/.test(ref) ? Number(ref) : named[ref];
      if (index === undefined || index > m.groupCount()) return "";
      return m.group(index) ?? "";
    });
    return { ...s, labels: setLabel(s.labels, dst, value), dropName: dst === METRIC_NAME ? false : s.dropName };
  });
  return mergeSameLabels(out);
}

async function labelJoin(ev: Evaluator, call: ast.Call, grid: Grid): Promise<StepSeries[]> {
  const dst = stringArg(call.args[1]);
  const separator = stringArg(call.args[2]);
  const sources = call.args.slice(3).map(stringArg);
  for (const src of sources) {
    if (!validLabelName(src)) throw new PromqlError("execution", `invalid source label name in label_join(): ${src}`);
  }
  if (!validLabelName(dst)) throw new PromqlError("execution", `invalid destination label name in label_join(): ${dst}`);
  const series = await ev.evalVector(call.args[0], grid);
  const out = series.map((s) => {
    const value = sources.map((src) => getLabel(s.labels, src)).join(separator);
    return { ...s, labels: setLabel(s.labels, dst, value), dropName: dst === METRIC_NAME ? false : s.dropName };
  });
  return mergeSameLabels(out);
}

/**
 * Groups classic-histogram bucket series (labels minus `le`) and evaluates `f` on each group's buckets per step.
 * Series without a parseable `le` are skipped with Prometheus' warning at `pos` (the bucket argument); `f` calls
 * its third argument when it had to force the buckets monotonic (an info annotation for the group's metric).
 */
function classicHistogram(
  annotations: Annotations,
  pos: ast.PositionRange,
  series: StepSeries[],
  steps: number,
  f: (buckets: Bucket[], step: number, forcedMonotonic: () => void) => number,
): StepSeries[] {
  interface Group { labels: Label[]; metricName: string; members: { s: StepSeries; upper: number }[] }
  const groups = new Map<string, Group>();
  const order: Group[] = [];
  const le = new Set(["le"]);
  for (const s of series) {
    const metricName = s.dropName ? "" : getLabel(s.labels, METRIC_NAME);
    const leValue = getLabel(s.labels, "le");
    const upper = parseGoFloat(leValue);
    if (upper === undefined) {
      annotations.warn(annotationMessages.badBucketLabel(metricName, leValue), pos);
      continue;
    }
    const key = signature(s.labels, le, false);
    let g = groups.get(key);
    if (!g) {
      g = { labels: s.labels.filter((l) => l.name !== "le" && l.name !== METRIC_NAME), metricName, members: [] };
      groups.set(key, g);
      order.push(g);
    }
    g.members.push({ s, upper });
  }
  const out: StepSeries[] = [];
  for (const g of order) {
    const values = new Float64Array(steps);
    const present = new Uint8Array(steps);
    const forced = () => annotations.info(annotationMessages.forcedMonotonicity(g.metricName), pos);
    for (let t = 0; t < steps; t++) {
      const buckets: Bucket[] = [];
      for (const m of g.members) if (m.s.present[t]) buckets.push({ upperBound: m.upper, count: m.s.values[t] });
      if (buckets.length === 0) continue;
      values[t] = f(buckets, t, forced);
      present[t] = 1;
    }
    out.push({ labels: g.labels, dropName: true, values, present });
  }
  return mergeSameLabels(out.filter(hasAnyPoint));
}

/** OpenMetrics float text (labels.FormatOpenMetricsFloat): integral values keep a ".0". */
function openMetricsFloat(f: number): string {
  if (Number.isNaN(f)) return "NaN";
  if (f === Infinity) return "+Inf";
  if (f === -Infinity) return "-Inf";
  const text = formatFloatPlain(f);
  return /^-?\d+$/.test(text) ? text + ".0" : text;
}

function sortForInstant(series: StepSeries[], steps: number, compare: (a: StepSeries, b: StepSeries) => number): StepSeries[] {
  return steps === 1 ? series.slice().sort(compare) : series;
}

/** Ascending (or descending) by value with NaN last, as Prometheus' sort()/sort_desc(). */
function byValue(descending: boolean): (a: StepSeries, b: StepSeries) => number {
  return (a, b) => {
    const x = a.values[0];
    const y = b.values[0];
    if (Number.isNaN(x)) return Number.isNaN(y) ? 0 : 1;
    if (Number.isNaN(y)) return -1;
    return descending ? y - x : x - y;
  };
}

function byLabels(names: string[], descending: boolean): (a: StepSeries, b: StepSeries) => number {
  return (a, b) => {
    let r = 0;
    for (const name of names) {
      const x = getLabel(a.labels, name);
      const y = getLabel(b.labels, name);
      if (x === y) continue;
      r = naturalLess(x, y) ? -1 : 1;
      break;
    }
    if (r === 0) r = compareLabels(a.labels, b.labels);
    return descending ? -r : r;
  };
}

/**
 * A range function call (`rate(x[5m])`, `quantile_over_time(0.9, x[10m])`, ...) as columns: series i (labels[i]) at
 * [i * steps, (i + 1) * steps) of the kernel's output, series without a point among them (aggregations read them so,
 * with no object per series); undefined when `call` is not a range function (then nothing was evaluated). `pooled`:
 * see Evaluator.evalColumns.
 */
export async function rangeFunctionColumns(ev: Evaluator, call: ast.Call, grid: Grid, pooled = false): Promise<VectorColumns | undefined> {
  const name = call.func === "holt_winters" ? "double_exponential_smoothing" : call.func;
  if (!(name in RANGE_FUNCTION_IDS)) return undefined;
  const matrixIndex = call.args.findIndex(isRangeArgument);
  if (matrixIndex < 0) throw new PromqlError("bad_data", `expected range vector argument to ${name}()`);
  const scalars: Float64Array[] = [];
  for (let i = 0; i < call.args.length; i++) {
    if (i !== matrixIndex) scalars.push(await ev.evalScalar(call.args[i], grid));
  }
  const matrixArg = unwrapParens(call.args[matrixIndex]) as ast.MatrixSelector | ast.SubqueryExpr;
  const extension = matrixArg.type === "MatrixSelector" ? ev.windowExtension(matrixArg.vector) : undefined;
  const misuse = extension ? extendedRangeSelectorError(call) : undefined;
  if (misuse) throw new PromqlError("execution", misuse);
  let p0: Float64Array | undefined = scalars[0];
  let p1: Float64Array | undefined = scalars[1];
  if (name === "predict_linear") p1 = grid.times;
  const { labels, values, present } = await ev.evalRangeFunction(name as RangeFunctionName, matrixArg, grid, p0, p1, extension, pooled);
  if (name === "double_exponential_smoothing" && labels.length > 0) {
    for (let i = 0; i < grid.times.length; i++) {
      if (!(p0![i] > 0 && p0![i] < 1)) throw new PromqlError("execution", `invalid smoothing factor. Expected: 0 < sf < 1, got: ${p0![i].toFixed(6)}`);
      if (!(p1![i] > 0 && p1![i] < 1)) throw new PromqlError("execution", `invalid trend factor. Expected: 0 < tf < 1, got: ${p1![i].toFixed(6)}`);
    }
  }
  const steps = grid.times.length;
  // (the loops over series are functions of their own: this one then has none, so V8 never compiles it through
  // on-stack replacement and never deoptimises it on a branch the first queries did not take)
  ev.checkDeadline();
  if (name === "quantile_over_time") {
    warnInvalidQuantiles(ev.options.annotations, p0!, unwrapParens(call.args[0]).pos, presentAtSomeSeries(present, steps));
  }
  if (name === "rate" || name === "increase") checkCounters(ev, labels, present, steps, matrixArg.pos);
  ev.countSamples(countPresentIn(present, 0, labels.length * steps));
  return { labels, dropName: !NAME_KEEPING_RANGE_FUNCTIONS.has(name), values, present, steps };
}

/** Per step, whether some series (series i at [i * steps, (i + 1) * steps) of `present`) has a point there. */
function presentAtSomeSeries(present: Uint8Array, steps: number): Uint8Array {
  const any = new Uint8Array(steps);
  for (let i = 0; i < present.length; i++) any[i % steps] |= present[i]!;
  return any;
}

/** rate()'s and increase()'s info for a metric whose name does not look like a counter's, checked once per run of series of one metric. */
function checkCounters(ev: Evaluator, labels: Label[][], present: Uint8Array, steps: number, pos: ast.PositionRange): void {
  let checkedMetric: string | undefined;
  for (let i = 0; i < labels.length; i++) {
    ev.checkDeadlineInLoop();
    if (!anyPresentIn(present, i * steps, (i + 1) * steps)) continue;
    // annotations are deduplicated: a run of series of one metric needs one check
    const metric = getLabel(labels[i]!, METRIC_NAME);
    if (metric !== checkedMetric) noteNonCounter(ev.options.annotations, (checkedMetric = metric), pos);
  }
}

/** Prometheus' info for rate()/increase() over a metric whose name does not look like a counter's. */
function noteNonCounter(annotations: Annotations, name: string, pos: ast.PositionRange): void {
  if (name === "" || /_(total|sum|count|bucket)$/.test(name)) return;
  annotations.info(annotationMessages.possibleNonCounter(name), pos);
}

async function absentOverTime(ev: Evaluator, call: ast.Call, grid: Grid): Promise<StepSeries[]> {
  const arg = await ev.evalRangeArgument(unwrapParens(call.args[0]) as ast.MatrixSelector | ast.SubqueryExpr, grid);
  const counts = evalRangeKernel("count_over_time", arg.series, { windowEnds: arg.windowEnds, rangeMs: arg.rangeMs });
  const steps = grid.times.length;
  const values = new Float64Array(steps).fill(1);
  const present = new Uint8Array(steps).fill(1);
  for (const c of counts) for (let i = 0; i < steps; i++) if (c.present[i]) present[i] = 0;
  const s = { labels: absentLabels(call.args[0]), dropName: true, values, present };
  return hasAnyPoint(s) ? [s] : [];
}

export async function evalCall(ev: Evaluator, call: ast.Call, grid: Grid): Promise<EvalValue> {
  const name = call.func === "holt_winters" ? "double_exponential_smoothing" : call.func;
  const steps = grid.times.length;
  const vector = (series: StepSeries[]): EvalValue => ({ kind: "vector", series });

  const ranged = await rangeFunctionColumns(ev, call, grid);
  if (ranged) return vector(seriesOfColumns(ranged));
  const math = MATH_FUNCTIONS[name];
  if (math) return vector(mapSeries(ev, await ev.evalVector(call.args[0], grid), math));
  const date = DATE_FUNCTIONS[name];
  if (date) {
    const toDate = (seconds: number) => new Date(Math.trunc(seconds) * 1000);
    if (call.args.length === 0) {
      const values = Float64Array.from(grid.times, (t) => date(toDate(Math.floor(t / 1000))));
      return vector([{ labels: [], dropName: false, values, present: new Uint8Array(steps).fill(1) }]);
    }
    return vector(mapSeries(ev, await ev.evalVector(call.args[0], grid), (x) => date(toDate(x))));
  }

  switch (name) {
    case "time":
      return { kind: "scalar", values: grid.times.map((t) => t / 1000) };
    case "step":
      return { kind: "scalar", values: new Float64Array(steps).fill(grid.step / 1000) };
    case "range":
      return { kind: "scalar", values: new Float64Array(steps).fill((grid.end - grid.start) / 1000) };
    case "start":
      return { kind: "scalar", values: new Float64Array(steps).fill(ev.options.queryStart / 1000) };
    case "end":
      return { kind: "scalar", values: new Float64Array(steps).fill(ev.options.queryEnd / 1000) };
    case "min_of":
    case "max_of": {
      const a = await ev.evalScalar(call.args[0], grid);
      const b = await ev.evalScalar(call.args[1], grid);
      return { kind: "scalar", values: a.map((x, i) => (name === "min_of" ? Math.min(x, b[i]) : Math.max(x, b[i]))) };
    }
    case "count_scalar": {
      const series = await ev.evalVector(call.args[0], grid);
      const values = new Float64Array(steps);
      for (const s of series) for (let i = 0; i < steps; i++) values[i] += s.present[i];
      return { kind: "scalar", values };
    }
    case "drop_common_labels": {
      const series = await ev.evalVector(call.args[0], grid);
      if (series.length < 2) return vector(series);
      const common = series[0].labels.filter((l) => series.every((s) => getLabel(s.labels, l.name) === l.value));
      const names = new Set(common.map((l) => l.name));
      return vector(mergeSameLabels(series.map((s) => ({ ...s, labels: s.labels.filter((l) => !names.has(l.name)) }))));
    }
    case "pi":
      return { kind: "scalar", values: new Float64Array(steps).fill(Math.PI) };
    case "vector": {
      const values = await ev.evalScalar(call.args[0], grid);
      return vector([{ labels: [], dropName: false, values, present: new Uint8Array(steps).fill(1) }]);
    }
    case "scalar": {
      const series = await ev.evalVector(call.args[0], grid);
      const values = new Float64Array(steps).fill(NaN);
      for (let i = 0; i < steps; i++) {
        let found = 0;
        for (const s of series) {
          if (!s.present[i]) continue;
          found++;
          values[i] = found === 1 ? s.values[i] : NaN;
        }
      }
      return { kind: "scalar", values };
    }
    case "round": {
      const series = await ev.evalVector(call.args[0], grid);
      const toNearest = call.args.length > 1 ? await ev.evalScalar(call.args[1], grid) : new Float64Array(steps).fill(1);
      return vector(mapSeries(ev, series, (x, i) => {
        const inverse = 1 / toNearest[i];
        return Math.floor(x * inverse + 0.5) / inverse;
      }));
    }
    case "clamp":
    case "clamp_min":
    case "clamp_max": {
      const series = await ev.evalVector(call.args[0], grid);
      const a = await ev.evalScalar(call.args[1], grid);
      const b = name === "clamp" ? await ev.evalScalar(call.args[2], grid) : undefined;
      const lo = name === "clamp" ? a : name === "clamp_min" ? a : new Float64Array(steps).fill(-Infinity);
      const hi = name === "clamp" ? b! : name === "clamp_max" ? a : new Float64Array(steps).fill(Infinity);
      return vector(
        mapSeries(ev, series, (x, i) => Math.max(lo[i], Math.min(hi[i], x)))
          .map((s) => ({ ...s, present: s.present.map((p, i) => (p && !(hi[i] < lo[i]) ? 1 : 0)) }))
          .filter(hasAnyPoint),
      );
    }
    case "timestamp": {
      const arg = unwrapParens(call.args[0]);
      if (arg.type === "VectorSelector") {
        const series = await ev.evalVectorSelector(arg, grid, true);
        return vector(series.map((s) => ({ ...s, dropName: true })));
      }
      return vector(mapSeries(ev, await ev.evalVector(arg, grid), (_, i) => grid.times[i] / 1000));
    }
    case "absent": {
      const series = await ev.evalVector(call.args[0], grid);
      const present = new Uint8Array(steps).fill(1);
      for (const s of series) for (let i = 0; i < steps; i++) if (s.present[i]) present[i] = 0;
      const s = { labels: absentLabels(call.args[0]), dropName: false, values: new Float64Array(steps).fill(1), present };
      return vector(hasAnyPoint(s) ? [s] : []);
    }
    case "absent_over_time":
      return vector(await absentOverTime(ev, call, grid));
    case "sort":
    case "sort_desc":
    case "sort_by_label":
    case "sort_by_label_desc": {
      if (grid.start !== grid.end) ev.options.annotations.warn(annotationMessages.sortInRangeQuery(), call.pos);
      const order = name === "sort" || name === "sort_desc"
        ? byValue(name === "sort_desc")
        : byLabels(call.args.slice(1).map(stringArg), name === "sort_by_label_desc");
      return vector(sortForInstant(await ev.evalVector(call.args[0], grid), steps, order));
    }
    case "label_replace":
      return vector(await labelReplace(ev, call, grid));
    case "label_join":
      return vector(await labelJoin(ev, call, grid));
    case "info":
      return vector(await evalInfo(ev, call, grid));
    case "histogram_quantile": {
      const q = await ev.evalScalar(call.args[0], grid);
      warnInvalidQuantiles(ev.options.annotations, q, unwrapParens(call.args[0]).pos);
      const series = await ev.evalVector(call.args[1], grid);
      const pos = unwrapParens(call.args[1]).pos;
      return vector(classicHistogram(ev.options.annotations, pos, series, steps, (buckets, t, forced) => bucketQuantile(q[t], buckets, forced)));
    }
    case "histogram_quantiles": {
      const series = await ev.evalVector(call.args[0], grid);
      const pos = unwrapParens(call.args[0]).pos;
      const label = stringArg(call.args[1]);
      const out: StepSeries[] = [];
      for (const arg of call.args.slice(2)) {
        const q = await ev.evalScalar(arg, grid);
        warnInvalidQuantiles(ev.options.annotations, q, unwrapParens(arg).pos);
        const text = openMetricsFloat(q[0]);
        for (const s of classicHistogram(ev.options.annotations, pos, series, steps, (buckets, t, forced) => bucketQuantile(q[t], buckets, forced))) {
          out.push({ ...s, labels: setLabel(s.labels, label, text) });
        }
      }
      return vector(mergeSameLabels(out));
    }
    case "histogram_fraction": {
      const lower = await ev.evalScalar(call.args[0], grid);
      const upper = await ev.evalScalar(call.args[1], grid);
      const series = await ev.evalVector(call.args[2], grid);
      const pos = unwrapParens(call.args[2]).pos;
      return vector(classicHistogram(ev.options.annotations, pos, series, steps, (buckets, t) => bucketFraction(lower[t], upper[t], buckets)));
    }
    case "histogram_count":
    case "histogram_sum":
    case "histogram_avg":
    case "histogram_stddev":
    case "histogram_stdvar":
      // Native-histogram functions: float samples are ignored, and tsink stores no native histograms.
      await ev.evalVector(call.args[0], grid);
      return vector([]);
    default:
      throw new PromqlError("bad_data", `unknown function with name "${call.func}"`);
  }
}

