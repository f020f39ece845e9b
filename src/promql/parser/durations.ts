// Durations: Prometheus duration strings (1h30m, 5m, 100ms) and Prometheus 3 duration expressions
// (`[5m+step()]`, `offset -(step()*2)`): evaluation in seconds, and resolution of query-dependent ones
// (step(), range()) into the AST's *Ms fields once the query's step and range are known.
import type { DurationExpr, Expr, PositionRange } from "../ast.js";
import { PromqlError } from "../result.js";

const UNIT_MS: Record<string, { ms: number; order: number }> = {
  y: { ms: 365 * 24 * 3600_000, order: 1 },
  w: { ms: 7 * 24 * 3600_000, order: 2 },
  d: { ms: 24 * 3600_000, order: 3 },
  h: { ms: 3600_000, order: 4 },
  m: { ms: 60_000, order: 5 },
  s: { ms: 1000, order: 6 },
  ms: { ms: 1, order: 7 },
};

/** Largest duration Go's time.Duration (int64 nanoseconds) holds, in ms. */
const MAX_DURATION_MS = 9_223_372_036_854;

/** Parses a Prometheus duration string into milliseconds; throws Error with Prometheus' message on bad input. */
export function parseDuration(s: string): number {
  if (s === "0") return 0;
  if (s === "") throw new Error("empty duration string");
  let rest = s;
  let total = 0;
  let lastOrder = 0;
  while (rest !== "") {
    const m = /^([0-9]+)([^0-9]*)/.exec(rest);
    if (!m || m[2] === "") throw new Error(`not a valid duration string: "${s}"`);
    const unit = UNIT_MS[m[2]!];
    if (!unit) throw new Error(`unknown unit "${m[2]}" in duration "${s}"`);
    if (unit.order <= lastOrder) throw new Error(`not a valid duration string: "${s}"`);
    lastOrder = unit.order;
    total += Number(m[1]) * unit.ms;
    if (total > MAX_DURATION_MS) throw new Error("duration out of range");
    rest = rest.slice(m[0].length);
  }
  return total;
}

/** Query facts duration expressions may refer to: step() and range() (end - start; 0 for instant queries). */
export interface DurationContext {
  stepMs: number;
  rangeMs: number;
}

/** Evaluates a duration expression to seconds. Without a context, step()/range() are an error. */
export function evalDurationSeconds(d: DurationExpr, ctx: DurationContext | undefined): number {
  switch (d.type) {
    case "DurationNumber":
      return d.seconds;
    case "DurationUnary": {
      const v = evalDurationSeconds(d.expr, ctx);
      return d.op === "-" ? -v : v;
    }
    case "DurationCall": {
      if (d.func === "step" || d.func === "range") {
        if (!ctx) throw new DurationExprError(`${d.func}() needs the query's step and range`, d);
        return (d.func === "step" ? ctx.stepMs : ctx.rangeMs) / 1000;
      }
      const a = evalDurationSeconds(d.args[0]!, ctx);
      const b = evalDurationSeconds(d.args[1]!, ctx);
      return d.func === "min_of" ? Math.min(a, b) : Math.max(a, b);
    }
    case "DurationBinary": {
      const a = evalDurationSeconds(d.lhs, ctx);
      const b = evalDurationSeconds(d.rhs, ctx);
      switch (d.op) {
        case "+": return a + b;
        case "-": return a - b;
        case "*": return a * b;
        case "/":
          if (b === 0) throw new DurationExprError("division by zero", d);
          return a / b;
        case "%":
          if (b === 0) throw new DurationExprError("modulo by zero", d);
          return a % b;
        case "^": return Math.pow(a, b);
      }
    }
  }
}

/** A duration expression that cannot be evaluated; `pos` is where Prometheus reports it (the operator for x/0). */
export class DurationExprError extends Error {
  readonly pos: PositionRange;
  constructor(message: string, expr: DurationExpr) {
    super(message);
    this.pos = expr.type === "DurationBinary" ? { start: expr.opPos, end: expr.opPos + 1 } : expr.pos;
  }
}

/** True when the expression refers to step() or range() and so can only be evaluated per query. */
export function dependsOnQuery(d: DurationExpr): boolean {
  switch (d.type) {
    case "DurationNumber": return false;
    case "DurationUnary": return dependsOnQuery(d.expr);
    case "DurationBinary": return dependsOnQuery(d.lhs) || dependsOnQuery(d.rhs);
    case "DurationCall": return d.func === "step" || d.func === "range" || d.args.some(dependsOnQuery);
  }
}

/**
 * Converts a duration in seconds into ms: sub-ms parts are truncated as Prometheus does, but a value that is a whole
 * number of ms up to float rounding stays exact (1001ms is 1.000999… s as a float and must stay 1001, also for
 * 137y68ms). Ranges and steps must be positive, offsets may be negative. Throws DurationExprError.
 */
export function durationSecondsToMs(seconds: number, allowNegative: boolean, d: DurationExpr): number {
  if (!allowNegative && !(seconds > 0)) throw new DurationExprError("duration must be greater than 0", d);
  if (Number.isNaN(seconds)) throw new DurationExprError("duration out of range", d);
  const exact = seconds * 1000;
  const nearest = Math.round(exact);
  const ms = Math.abs(exact - nearest) <= Math.abs(exact) * 1e-12 ? nearest : Math.trunc(exact);
  if (Math.abs(ms) > MAX_DURATION_MS) throw new DurationExprError("duration out of range", d);
  return ms === 0 ? 0 : ms;
}

function resolveOne(d: DurationExpr, allowNegative: boolean, ctx: DurationContext): number {
  try {
    return durationSecondsToMs(evalDurationSeconds(d, ctx), allowNegative, d);
  } catch (e) {
    if (e instanceof DurationExprError) {
      throw new PromqlError("bad_data", `${e.pos.start}:${e.pos.end}: ${e.message}`);
    }
    throw e;
  }
}

/**
 * Returns `expr` with every query-dependent duration expression replaced by its value for this query
 * (rangeMs/stepMs/offsetMs set, *Expr fields removed). Subtrees without such expressions are shared, not copied.
 * Throws PromqlError("bad_data") for a non-positive range or step, division by zero and the like.
 */
export function resolveDurations(expr: Expr, ctx: DurationContext): Expr {
  switch (expr.type) {
    case "NumberLiteral":
    case "StringLiteral":
      return expr;
    case "VectorSelector": {
      if (!expr.offsetExpr) return expr;
      const { offsetExpr, ...rest } = expr;
      return { ...rest, offsetMs: resolveOne(offsetExpr, true, ctx) };
    }
    case "MatrixSelector": {
      const vector = resolveDurations(expr.vector, ctx) as typeof expr.vector;
      if (!expr.rangeExpr && vector === expr.vector) return expr;
      const { rangeExpr, ...rest } = expr;
      return { ...rest, vector, rangeMs: rangeExpr ? resolveOne(rangeExpr, false, ctx) : expr.rangeMs };
    }
    case "SubqueryExpr": {
      const inner = resolveDurations(expr.expr, ctx);
      if (!expr.rangeExpr && !expr.stepExpr && !expr.offsetExpr && inner === expr.expr) return expr;
      const { rangeExpr, stepExpr, offsetExpr, ...rest } = expr;
      const out = { ...rest, expr: inner };
      if (rangeExpr) out.rangeMs = resolveOne(rangeExpr, false, ctx);
      if (stepExpr) out.stepMs = resolveOne(stepExpr, false, ctx);
      if (offsetExpr) out.offsetMs = resolveOne(offsetExpr, true, ctx);
      return out;
    }
    case "AggregateExpr": {
      const inner = resolveDurations(expr.expr, ctx);
      const param = expr.param && resolveDurations(expr.param, ctx);
      if (inner === expr.expr && param === expr.param) return expr;
      const out = { ...expr, expr: inner };
      if (param) out.param = param;
      return out;
    }
    case "BinaryExpr": {
      const lhs = resolveDurations(expr.lhs, ctx);
      const rhs = resolveDurations(expr.rhs, ctx);
      return lhs === expr.lhs && rhs === expr.rhs ? expr : { ...expr, lhs, rhs };
    }
    case "UnaryExpr":
    case "ParenExpr": {
      const inner = resolveDurations(expr.expr, ctx);
      return inner === expr.expr ? expr : { ...expr, expr: inner };
    }
    case "Call": {
      const args = expr.args.map((a) => resolveDurations(a, ctx));
      return args.every((a, i) => a === expr.args[i]) ? expr : { ...expr, args };
    }
  }
}
