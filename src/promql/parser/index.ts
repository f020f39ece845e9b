// Public face of the PromQL parser: parse(query) -> AST, formatExpr(AST) -> query, durations, the function table
// and the parse error type.
// Hand-written, not @prometheus-io/lezer-promql: the contract wants Prometheus' own parse errors and positions, which
// that (editor-oriented, error-recovering) grammar does not produce, and the evaluator wants this AST.
import type { Expr } from "../ast.js";
import { parseQuery } from "./parser.js";

export { PromqlParseError } from "./errors.js";
export { parseDuration, resolveDurations, type DurationContext } from "./durations.js";
export { FUNCTIONS, extendedRangeSelectorError, type FunctionSignature } from "./functions.js";
export { exprType, documentedType } from "./check.js";
export { MAX_NESTING } from "./parser.js";
export { formatExpr, formatDuration } from "./format.js";

/** Parses and type-checks a PromQL expression; throws PromqlParseError with position and Prometheus' message. */
export function parse(query: string): Expr {
  return parseQuery(query);
}
