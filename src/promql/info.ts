// The experimental info() function: enriches series with the data labels of info metrics (target_info by default)
// that share their identifying labels (instance, job), picking the newest info sample at each step.

import { anchoredRegex } from "./regex.js";
import type * as ast from "./ast.js";
import { PromqlError } from "./result.js";
import type { Label } from "./result.js";
import { formatLabels, getLabel, labelsKey, METRIC_NAME, sortLabels } from "./labels.js";
import type { Evaluator } from "./evaluator.js";
import { mergeSameLabels, unwrapParens } from "./evaluator.js";
import { hasAnyPoint, type Grid, type StepSeries } from "./values.js";

const TARGET_INFO = "target_info";
const IDENTIFYING_LABELS = ["instance", "job"];

function matches(m: ast.LabelMatcher, value: string): boolean {
  switch (m.op) {
    case "=":
      return value === m.value;
    case "!=":
      return value !== m.value;
    default: {
      const full = anchoredRegex(m.value).matcher(value).matches();
      return m.op === "=~" ? full : !full;
    }
  }
}

function quoteMeta(s: string): string {
  return s.replace(/[\\.+*?()|[\]{}^$]/g, "\\$&");
}

/**
 * Per-step time at which the first selector of `expr` reads data, following the @ modifiers and offsets of the
 * selector and of any subqueries around it: info series are matched as of that time.
 */
function readTimes(ev: Evaluator, expr: ast.Expr, at: (t: number) => number): ((t: number) => number) | undefined {
  const e = unwrapParens(expr);
  switch (e.type) {
    case "VectorSelector": {
      const fixed = ev.atTime(e.at);
      return (t) => (fixed ?? at(t)) - e.offsetMs;
    }
    case "MatrixSelector":
      return readTimes(ev, e.vector, at);
    case "SubqueryExpr": {
      const fixed = ev.atTime(e.at);
      return readTimes(ev, e.expr, (t) => (fixed ?? at(t)) - e.offsetMs);
    }
    case "UnaryExpr":
      return readTimes(ev, e.expr, at);
    case "AggregateExpr":
      return (e.param && readTimes(ev, e.param, at)) ?? readTimes(ev, e.expr, at);
    case "BinaryExpr":
      return readTimes(ev, e.lhs, at) ?? readTimes(ev, e.rhs, at);
    case "Call":
      for (const a of e.args) {
        const f = readTimes(ev, a, at);
        if (f) return f;
      }
      return undefined;
    default:
      return undefined;
  }
}

export async function evalInfo(ev: Evaluator, call: ast.Call, grid: Grid): Promise<StepSeries[]> {
  const base = await ev.evalVector(call.args[0], grid);
  const steps = grid.times.length;
  const selector = call.args.length > 1 ? unwrapParens(call.args[1]) : undefined;
  if (selector && selector.type !== "VectorSelector") throw new PromqlError("bad_data", "info() expects a label selector as second argument");
  const nameMatchers = selector ? selector.matchers.filter((m) => m.name === METRIC_NAME) : [{ name: METRIC_NAME, op: "=" as const, value: TARGET_INFO }];
  const dataMatchers = selector ? selector.matchers.filter((m) => m.name !== METRIC_NAME) : [];
  const dataLabelNames = new Set(dataMatchers.map((m) => m.name));

  // Info series themselves are not enriched: base series selected by the positive name matchers (and not
  // excluded by the negative ones).
  const positive = nameMatchers.some((m) => m.op === "=" || m.op === "=~");
  const ignored = base.map((s) => positive && nameMatchers.every((m) => matches(m, getLabel(s.labels, METRIC_NAME))));

  const idValues = new Map<string, Set<string>>();
  base.forEach((s, i) => {
    if (ignored[i]) return;
    for (const l of IDENTIFYING_LABELS) {
      const v = getLabel(s.labels, l);
      if (v === "") continue;
      let set = idValues.get(l);
      if (!set) idValues.set(l, (set = new Set()));
      set.add(v);
    }
  });

  let info: StepSeries[] = [];
  if (idValues.size > 0) {
    const matchers: ast.LabelMatcher[] = [...idValues].map(([name, values]) => ({ name, op: "=~", value: [...values].map(quoteMeta).join("|") }));
    matchers.push(...(selector ? selector.matchers : []));
    // Without a name matcher the info metric is target_info; with only negative ones, any *_info metric.
    if (!matchers.some((m) => m.name === METRIC_NAME)) matchers.unshift({ name: METRIC_NAME, op: "=", value: TARGET_INFO });
    else if (!positive) matchers.unshift({ name: METRIC_NAME, op: "=~", value: ".+_info" });
    const toReadTime = readTimes(ev, call.args[0], (t) => t) ?? ((t: number) => t);
    const infoGrid: Grid = { ...grid, times: grid.times.map(toReadTime) };
    const infoSelector: ast.VectorSelector = { type: "VectorSelector", matchers, offsetMs: 0, pos: call.pos };
    // Values are the info samples' own timestamps: the newest info series wins a signature.
    info = await ev.evalVectorSelector(infoSelector, infoGrid, true);
  }

  const signatureOf = (name: string, labels: Label[]) => name + "\x00" + IDENTIFYING_LABELS.map((l) => l + "=" + getLabel(labels, l)).join("\x00");
  const infoNames = [...new Set(info.map((s) => getLabel(s.labels, METRIC_NAME)))];
  const infoSig = info.map((s) => signatureOf(getLabel(s.labels, METRIC_NAME), s.labels));
  const allDataMatchersMatchEmpty = dataMatchers.every((m) => matches(m, ""));

  const outputs = new Map<string, StepSeries>();
  const order: StepSeries[] = [];
  const emit = (labels: Label[], step: number, value: number, dropName: boolean) => {
    const key = labelsKey(labels);
    let out = outputs.get(key);
    if (!out) {
      out = { labels, dropName, values: new Float64Array(steps), present: new Uint8Array(steps) };
      outputs.set(key, out);
      order.push(out);
    }
    if (out.present[step]) throw new PromqlError("execution", "vector cannot contain metrics with the same labelset");
    out.present[step] = 1;
    out.values[step] = value;
  };

  for (let t = 0; t < steps; t++) {
    ev.checkDeadline();
    const newest = new Map<string, number>();
    for (let j = 0; j < info.length; j++) {
      if (!info[j].present[t]) continue;
      const existing = newest.get(infoSig[j]);
      if (existing === undefined || info[existing].values[t] < info[j].values[t]) {
        newest.set(infoSig[j], j);
      } else if (info[existing].values[t] === info[j].values[t]) {
        throw new PromqlError(
          "execution",
          `found duplicate series for info metric: existing ${formatLabels(info[existing].labels)} @ ${info[existing].values[t] * 1000}, new ${formatLabels(info[j].labels)} @ ${info[j].values[t] * 1000}`,
        );
      }
    }
    base.forEach((s, i) => {
      if (!s.present[t]) return;
      if (ignored[i]) {
        emit(s.labels, t, s.values[t], s.dropName);
        return;
      }
      const added = new Map<string, string>();
      let seen = 0;
      for (const name of infoNames) {
        const j = newest.get(signatureOf(name, s.labels));
        if (j === undefined) continue;
        seen++;
        for (const l of info[j].labels) {
          if (l.name === METRIC_NAME) continue;
          if (dataLabelNames.size > 0 && !dataLabelNames.has(l.name)) continue;
          const current = added.get(l.name);
          if (current !== undefined && current !== l.value) throw new PromqlError("execution", `conflicting label: ${l.name}`);
          if (s.labels.some((b) => b.name === l.name)) continue;
          added.set(l.name, l.value);
        }
      }
      if (seen === 0 && !allDataMatchersMatchEmpty) return;
      const labels = sortLabels([...s.labels, ...[...added].map(([name, value]) => ({ name, value }))]);
      emit(labels, t, s.values[t], s.dropName);
    });
  }
  return mergeSameLabels(order.filter(hasAnyPoint));
}
