// The one table of PromQL function signatures (Prometheus 3.x, experimental functions included, plus tsink's
// documented extras), used by the parser for arity and type checks and by the evaluator for its function list.
import type { Call, ValueType } from "../ast.js";

export interface FunctionSignature {
  name: string;
  /** Argument types in order; with `variadic` != 0 the last entry also types the repeated/optional arguments. */
  argTypes: ValueType[];
  /**
   * Prometheus' Variadic: 0 = exactly argTypes.length arguments; n > 0 = the last argument is optional and may
   * repeat up to n times; -1 = the last argument is optional and may repeat without limit.
   */
  variadic: number;
  returnType: ValueType;
  /** Behind Prometheus' --enable-feature=promql-experimental-functions (tsink enables them). */
  experimental: boolean;
  minArgs: number;
  maxArgs: number;
}

function fn(name: string, argTypes: ValueType[], returnType: ValueType, variadic = 0, experimental = false): FunctionSignature {
  const minArgs = variadic === 0 ? argTypes.length : argTypes.length - 1;
  const maxArgs = variadic === 0 ? argTypes.length : variadic < 0 ? Infinity : argTypes.length - 1 + variadic;
  return { name, argTypes, variadic, returnType, experimental, minArgs, maxArgs };
}

const V: ValueType = "vector";
const M: ValueType = "matrix";
const S: ValueType = "scalar";
const STR: ValueType = "string";

const SIGNATURES: FunctionSignature[] = [
  // Math on instant vectors.
  ...["abs", "ceil", "floor", "exp", "sqrt", "ln", "log2", "log10", "sgn",
    "sin", "cos", "tan", "asin", "acos", "atan", "sinh", "cosh", "tanh", "asinh", "acosh", "atanh", "deg", "rad",
  ].map((name) => fn(name, [V], V)),
  fn("round", [V, S], V, 1),
  fn("clamp", [V, S, S], V),
  fn("clamp_min", [V, S], V),
  fn("clamp_max", [V, S], V),
  fn("pi", [], S),
  // Counter and gauge range functions.
  ...["rate", "irate", "increase", "delta", "idelta", "deriv", "changes", "resets"].map((name) => fn(name, [M], V)),
  fn("predict_linear", [M, S], V),
  fn("double_exponential_smoothing", [M, S, S], V, 0, true),
  // *_over_time.
  ...["avg_over_time", "sum_over_time", "min_over_time", "max_over_time", "count_over_time", "last_over_time",
    "present_over_time", "stddev_over_time", "stdvar_over_time", "absent_over_time",
  ].map((name) => fn(name, [M], V)),
  ...["mad_over_time", "first_over_time", "ts_of_first_over_time", "ts_of_last_over_time", "ts_of_min_over_time",
    "ts_of_max_over_time",
  ].map((name) => fn(name, [M], V, 0, true)),
  fn("quantile_over_time", [S, M], V),
  // Histograms.
  fn("histogram_quantile", [S, V], V),
  fn("histogram_quantiles", [V, STR, S], V, -1, true),
  fn("histogram_fraction", [S, S, V], V),
  ...["histogram_avg", "histogram_count", "histogram_sum", "histogram_stddev", "histogram_stdvar"].map((name) => fn(name, [V], V)),
  // Time.
  fn("time", [], S),
  fn("timestamp", [V], V),
  ...["minute", "hour", "day_of_week", "day_of_month", "day_of_year", "days_in_month", "month", "year"].map((name) => fn(name, [V], V, 1)),
  // Labels.
  fn("label_replace", [V, STR, STR, STR, STR], V),
  fn("label_join", [V, STR, STR, STR], V, -1),
  fn("info", [V, V], V, 1, true),
  // Types and sorting.
  fn("scalar", [V], S),
  fn("vector", [S], V),
  fn("absent", [V], V),
  fn("sort", [V], V),
  fn("sort_desc", [V], V),
  fn("sort_by_label", [V, STR], V, -1, true),
  fn("sort_by_label_desc", [V, STR], V, -1, true),
  fn("start_timestamp", [V], V, 0, true),
  // Query facts and scalar min/max (Prometheus 3 duration expressions, also usable as plain expressions).
  // Their names are keywords, so the parser matches them case-insensitively.
  ...["step", "range", "start", "end"].map((name) => fn(name, [], S, 0, true)),
  fn("min_of", [S, S], S, 0, true),
  fn("max_of", [S, S], S, 0, true),
  // tsink extras documented in the reference behaviour (not in Prometheus 3): kept for tsink compatibility.
  fn("holt_winters", [M, S, S], V),
  fn("count_scalar", [V], S),
  fn("drop_common_labels", [V], V),
];

export const FUNCTIONS: ReadonlyMap<string, FunctionSignature> = new Map(SIGNATURES.map((s) => [s.name, s]));

/** Function names that are also keywords and therefore case-insensitive. */
export const KEYWORD_FUNCTIONS: ReadonlySet<string> = new Set(["step", "range", "start", "end", "min_of", "max_of"]);

/** Functions whose range-vector argument may carry the `anchored` modifier. */
const ANCHORED_FUNCTIONS: readonly string[] = ["changes", "delta", "increase", "rate", "resets"];
/** Functions whose range-vector argument may carry the `smoothed` modifier. */
const SMOOTHED_FUNCTIONS: readonly string[] = ["delta", "increase", "rate"];

/**
 * The error Prometheus' engine (not its parser: the message has no position) gives when a function gets an
 * anchored/smoothed range selector it cannot use, e.g. deriv(foo[3m] smoothed); undefined when the call is fine.
 */
export function extendedRangeSelectorError(call: Call): string | undefined {
  for (const arg of call.args) {
    if (arg.type !== "MatrixSelector") continue;
    if (arg.vector.anchored && !ANCHORED_FUNCTIONS.includes(call.func)) {
      return `anchored modifier can only be used with: ${ANCHORED_FUNCTIONS.join(", ")} - not with ${call.func}`;
    }
    if (arg.vector.smoothed && !SMOOTHED_FUNCTIONS.includes(call.func)) {
      return `smoothed modifier can only be used with: ${SMOOTHED_FUNCTIONS.join(", ")} - not with ${call.func}`;
    }
  }
  return undefined;
}
