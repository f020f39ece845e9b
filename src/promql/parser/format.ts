// Prints an AST back as PromQL text in Prometheus' style (`sum by (job) (rate(foo[5m]))`); parsing the output
// gives the same tree again. Parentheses come only from ParenExpr nodes, as in Prometheus' printer.
import type { AtModifier, DurationExpr, Expr, LabelMatcher, VectorMatching, VectorSelector } from "../ast.js";
import { goQuote } from "./errors.js";

const LEGACY_LABEL = /^[a-zA-Z_][a-zA-Z0-9_]*$/;

export function formatExpr(e: Expr): string {
  switch (e.type) {
    case "NumberLiteral": return formatNumber(e.value);
    case "StringLiteral": return goQuote(e.value);
    case "VectorSelector": return formatSelector(e) + formatModifiers(e, e);
    case "MatrixSelector":
      return `${formatSelector(e.vector)}[${e.rangeExpr ? formatDurationExpr(e.rangeExpr) : formatDuration(e.rangeMs)}]` +
        formatModifiers(e.vector, e.vector);
    case "SubqueryExpr": {
      const range = e.rangeExpr ? formatDurationExpr(e.rangeExpr) : formatDuration(e.rangeMs);
      const step = e.stepExpr ? formatDurationExpr(e.stepExpr) : e.stepMs !== undefined ? formatDuration(e.stepMs) : "";
      return `${formatExpr(e.expr)}[${range}:${step}]` + formatModifiers(e, undefined);
    }
    case "AggregateExpr": {
      let s = e.op;
      if (e.without || e.grouping.length > 0) s += ` ${e.without ? "without" : "by"} (${e.grouping.map(formatLabel).join(", ")}) `;
      return `${s}(${e.param ? formatExpr(e.param) + ", " : ""}${formatExpr(e.expr)})`;
    }
    case "BinaryExpr":
      return `${formatExpr(e.lhs)} ${e.op}${e.returnBool ? " bool" : ""}${formatMatching(e.matching)} ${formatExpr(e.rhs)}`;
    case "UnaryExpr": return `${e.op}${formatExpr(e.expr)}`;
    case "ParenExpr": return `(${formatExpr(e.expr)})`;
    case "Call": return `${e.func}(${e.args.map(formatExpr).join(", ")})`;
  }
}

function formatNumber(v: number): string {
  if (Number.isNaN(v)) return "NaN";
  if (v === Infinity) return "+Inf";
  if (v === -Infinity) return "-Inf";
  return String(v);
}

function formatLabel(name: string): string {
  return LEGACY_LABEL.test(name) ? name : goQuote(name);
}

function formatSelector(vs: VectorSelector): string {
  const matchers: LabelMatcher[] = vs.name !== undefined ? vs.matchers.slice(0, -1) : vs.matchers;
  const parts = matchers.map((m) => `${formatLabel(m.name)}${m.op}${goQuote(m.value)}`);
  if (vs.name !== undefined) return parts.length > 0 ? `${vs.name}{${parts.join(", ")}}` : vs.name;
  return `{${parts.join(", ")}}`;
}

/** offset, @ and anchored/smoothed, from the node holding them (a matrix selector's live on its vector selector). */
function formatModifiers(m: { offsetMs: number; offsetExpr?: DurationExpr; at?: AtModifier }, vs: VectorSelector | undefined): string {
  let s = "";
  if (m.offsetExpr) s += ` offset ${formatOffsetExpr(m.offsetExpr)}`;
  else if (m.offsetMs !== 0) s += ` offset ${formatDuration(m.offsetMs)}`;
  if (m.at) s += m.at.kind === "time" ? ` @ ${(m.at.timeMs / 1000).toFixed(3)}` : ` @ ${m.at.kind}()`;
  if (vs?.anchored) s += " anchored";
  if (vs?.smoothed) s += " smoothed";
  return s;
}

function formatMatching(m: VectorMatching | undefined): string {
  if (!m) return "";
  let s = "";
  if (m.on) s += ` on (${m.labels.map(formatLabel).join(", ")})`;
  else if (m.labels.length > 0) s += ` ignoring (${m.labels.map(formatLabel).join(", ")})`;
  if (m.card === "many-to-one" || m.card === "one-to-many") {
    s += ` ${m.card === "many-to-one" ? "group_left" : "group_right"} (${m.include.map(formatLabel).join(", ")})`;
  }
  if (m.fill) {
    const { lhs, rhs } = m.fill;
    if (lhs !== undefined && rhs !== undefined && Object.is(lhs, rhs)) s += ` fill (${formatNumber(lhs)})`;
    else {
      if (lhs !== undefined) s += ` fill_left (${formatNumber(lhs)})`;
      if (rhs !== undefined) s += ` fill_right (${formatNumber(rhs)})`;
    }
  }
  return s;
}

/** A duration in ms as Prometheus prints it: 1h30m, 5m, 100ms, 0s; negative with a leading "-". */
export function formatDuration(ms: number): string {
  if (ms === 0) return "0s";
  if (ms < 0) return "-" + formatDuration(-ms);
  let rest = ms;
  let s = "";
  for (const [unit, size] of [["y", 31_536_000_000], ["w", 604_800_000], ["d", 86_400_000], ["h", 3_600_000], ["m", 60_000], ["s", 1000], ["ms", 1]] as const) {
    const n = Math.floor(rest / size);
    if (n > 0) {
      s += `${n}${unit}`;
      rest -= n * size;
    }
  }
  return s;
}

/** Duration expressions print fully parenthesized; their parentheses leave no trace in the tree. */
function formatDurationExpr(d: DurationExpr): string {
  switch (d.type) {
    case "DurationNumber": return formatNumber(d.seconds);
    case "DurationUnary": return `${d.op}(${formatDurationExpr(d.expr)})`;
    case "DurationBinary": return `(${formatDurationExpr(d.lhs)} ${d.op} ${formatDurationExpr(d.rhs)})`;
    case "DurationCall": return `${d.func}(${d.args.map(formatDurationExpr).join(", ")})`;
  }
}

/** After `offset` only a signed atom may follow without parentheses. */
function formatOffsetExpr(d: DurationExpr): string {
  if (d.type === "DurationBinary") return `(${formatDurationExpr(d)})`;
  if (d.type === "DurationUnary") return `${d.op}${d.expr.type === "DurationNumber" || d.expr.type === "DurationCall" ? formatDurationExpr(d.expr) : `(${formatDurationExpr(d.expr)})`}`;
  return formatDurationExpr(d);
}
