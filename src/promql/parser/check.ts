// PromQL type checking after a successful parse, as Prometheus' checkAST: operand types of operators, functions and
// aggregations, vector matching rules, non-empty selectors.
import type { BinaryOp, Expr, LabelMatcher, PositionRange, ValueType, VectorSelector } from "../ast.js";
import { goQuote, PromqlParseError } from "./errors.js";
import { FUNCTIONS } from "./functions.js";
import type { ParseFacts } from "./parser.js";

const COMPARISONS: ReadonlySet<BinaryOp> = new Set<BinaryOp>(["==", "!=", "<", ">", "<=", ">="]);
const SET_OPS: ReadonlySet<BinaryOp> = new Set<BinaryOp>(["and", "or", "unless"]);

/** The value type an expression evaluates to. */
export function exprType(e: Expr): ValueType {
  switch (e.type) {
    case "NumberLiteral": return "scalar";
    case "StringLiteral": return "string";
    case "VectorSelector": return "vector";
    case "MatrixSelector": return "matrix";
    case "SubqueryExpr": return "matrix";
    case "AggregateExpr": return "vector";
    case "BinaryExpr": return exprType(e.lhs) === "scalar" && exprType(e.rhs) === "scalar" ? "scalar" : "vector";
    case "UnaryExpr":
    case "ParenExpr": return exprType(e.expr);
    case "Call": return FUNCTIONS.get(e.func)?.returnType ?? "vector";
  }
}

/** Prometheus' user-facing names of value types. */
export function documentedType(t: ValueType): string {
  return t === "vector" ? "instant vector" : t === "matrix" ? "range vector" : t;
}

export function typeCheck(root: Expr, query: string, facts: ParseFacts): void {
  const bypassEmptyCheck = new Set<VectorSelector>();
  const fail = (pos: PositionRange, msg: string): never => {
    throw new PromqlParseError(query, pos, msg);
  };
  const expectType = (e: Expr, want: ValueType, context: string) => {
    const t = check(e);
    if (t !== want) fail(e.pos, `expected type ${documentedType(want)} in ${context}, got ${documentedType(t)}`);
  };
  const matchesEmpty = (m: LabelMatcher): boolean => {
    switch (m.op) {
      case "=": return m.value === "";
      case "!=": return m.value !== "";
      case "=~": return facts.regexes.get(m)!.matches("");
      case "!~": return !facts.regexes.get(m)!.matches("");
    }
  };

  function operatorRange(lhs: Expr, rhs: Expr): PositionRange {
    let start = lhs.pos.end;
    let end = rhs.pos.start - 1;
    const isSpace = (i: number) => " \t\n\r".includes(query[i]!);
    while (start < end && isSpace(start)) start++;
    while (end > start && isSpace(end)) end--;
    return { start, end };
  }

  function check(e: Expr): ValueType {
    let type: ValueType;
    switch (e.type) {
      case "AggregateExpr":
        type = "vector";
        expectType(e.expr, "vector", "aggregation expression");
        if (e.op === "topk" || e.op === "bottomk" || e.op === "quantile" || e.op === "limitk" || e.op === "limit_ratio") {
          expectType(e.param!, "scalar", "aggregation parameter");
        }
        if (e.op === "count_values") expectType(e.param!, "string", "aggregation parameter");
        break;
      case "BinaryExpr": {
        const lt = check(e.lhs);
        const rt = check(e.rhs);
        type = lt === "scalar" && rt === "scalar" ? "scalar" : "vector";
        if (e.returnBool && !COMPARISONS.has(e.op)) {
          fail(operatorRange(e.lhs, e.rhs), "bool modifier can only be used on comparison operators");
        }
        if (COMPARISONS.has(e.op) && !e.returnBool && lt === "scalar" && rt === "scalar") {
          fail(operatorRange(e.lhs, e.rhs), "comparisons between scalars must use BOOL modifier");
        }
        const m = e.matching;
        if (m && SET_OPS.has(e.op) && m.card === "one-to-one") m.card = "many-to-many";
        if (m && m.on) {
          for (const l of m.labels) {
            if (m.include.includes(l)) fail(operatorRange(e.lhs, e.rhs), `label ${goQuote(l)} must not occur in ON and GROUP clause at once`);
          }
        }
        if (lt !== "scalar" && lt !== "vector") fail(e.lhs.pos, "binary expression must contain only scalar and instant vector types");
        if (rt !== "scalar" && rt !== "vector") fail(e.rhs.pos, "binary expression must contain only scalar and instant vector types");
        if (lt !== "vector" || rt !== "vector") {
          if (m) {
            if (m.labels.length > 0) fail(e.pos, "vector matching only allowed between instant vectors");
            if (m.fill) fail(e.pos, "filling in missing series only allowed between instant vectors");
            delete e.matching;
          }
        } else if (SET_OPS.has(e.op)) {
          if (!m) e.matching = { card: "many-to-many", on: false, labels: [], include: [] };
          else {
            if (m.card === "one-to-many" || m.card === "many-to-one") fail(e.pos, `no grouping allowed for "${e.op}" operation`);
            if (m.fill) fail(e.pos, "filling in missing series not allowed for set operators");
          }
        } else if (!m) {
          e.matching = { card: "one-to-one", on: false, labels: [], include: [] };
        }
        if ((lt === "scalar" || rt === "scalar") && SET_OPS.has(e.op)) {
          fail(e.pos, `set operator "${e.op}" not allowed in binary scalar expression`);
        }
        break;
      }
      case "Call": {
        const sig = FUNCTIONS.get(e.func)!;
        type = sig.returnType;
        const n = e.args.length;
        if (sig.variadic === 0) {
          if (n !== sig.argTypes.length) fail(e.pos, `expected ${sig.argTypes.length} argument(s) in call to ${goQuote(e.func)}, got ${n}`);
        } else if (n < sig.minArgs) {
          fail(e.pos, `expected at least ${sig.minArgs} argument(s) in call to ${goQuote(e.func)}, got ${n}`);
        } else if (n > sig.maxArgs) {
          fail(e.pos, `expected at most ${sig.maxArgs} argument(s) in call to ${goQuote(e.func)}, got ${n}`);
        }
        if (e.func === "info" && n > 1) {
          const sel = e.args[1]!;
          if (exprType(sel) !== "vector") fail(e.pos, `expected type instant vector in call to function "info", got ${documentedType(exprType(sel))}`);
          if (sel.type !== "VectorSelector") return fail(sel.pos, "expected label selectors only");
          if (sel.name !== undefined) fail(sel.pos, "expected label selectors only, got vector selector instead");
          bypassEmptyCheck.add(sel);
        }
        e.args.forEach((arg, i) => {
          const t = sig.argTypes[Math.min(i, sig.argTypes.length - 1)]!;
          expectType(arg, t, `call to function ${goQuote(e.func)}`);
        });
        break;
      }
      case "ParenExpr":
        type = check(e.expr);
        break;
      case "UnaryExpr": {
        const t = check(e.expr);
        type = t;
        if (t !== "scalar" && t !== "vector") {
          fail(e.pos, `unary expression only allowed on expressions of type scalar or instant vector, got ${goQuote(documentedType(t))}`);
        }
        break;
      }
      case "SubqueryExpr": {
        type = "matrix";
        const t = check(e.expr);
        if (t !== "vector") fail(e.pos, `subquery is only allowed on instant vector, got ${t} instead`);
        break;
      }
      case "MatrixSelector":
        type = "matrix";
        check(e.vector);
        break;
      case "VectorSelector":
        type = "vector";
        if (e.name !== undefined) {
          for (let i = 0; i < e.matchers.length - 1; i++) {
            const m = e.matchers[i]!;
            if (m.name === "__name__") fail(e.pos, `metric name must not be set twice: ${goQuote(e.name)} or ${goQuote(m.value)}`);
          }
        } else if (!bypassEmptyCheck.has(e) && e.matchers.every(matchesEmpty)) {
          fail(e.pos, "vector selector must contain at least one non-empty matcher");
        }
        break;
      case "NumberLiteral":
        type = "scalar";
        break;
      case "StringLiteral":
        type = "string";
        break;
    }
    return type;
  }

  check(root);
}
