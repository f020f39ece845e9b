// PromQL abstract syntax tree: the node types the parser produces and the evaluator consumes.
// Durations and timestamps are in milliseconds; positions are UTF-16 offsets into the query string.

export type ValueType = "scalar" | "vector" | "matrix" | "string";

export interface PositionRange {
  start: number;
  end: number;
}

export type MatchOp = "=" | "!=" | "=~" | "!~";

export interface LabelMatcher {
  name: string;
  op: MatchOp;
  value: string;
}

/** `@` modifier: a fixed Unix time in ms, or the query's start()/end(). */
export type AtModifier = { kind: "time"; timeMs: number } | { kind: "start" } | { kind: "end" };

export type BinaryOp =
  | "+" | "-" | "*" | "/" | "%" | "^" | "atan2"
  | "==" | "!=" | ">" | "<" | ">=" | "<="
  | "and" | "or" | "unless"
  /** Added: native-histogram trim operators `</` (trim upper) and `>/` (trim lower), precedence of `*`. */
  | "</" | ">/";

export type AggregateOp =
  | "sum" | "avg" | "min" | "max" | "count" | "group" | "stddev" | "stdvar"
  | "count_values" | "quantile" | "topk" | "bottomk" | "limitk" | "limit_ratio";

export interface VectorMatching {
  /** "one-to-one", "many-to-one" (group_left), "one-to-many" (group_right), "many-to-many" (set operators). */
  card: "one-to-one" | "many-to-one" | "one-to-many" | "many-to-many";
  /** true for on(...), false for ignoring(...) or no modifier. */
  on: boolean;
  labels: string[];
  /** Extra labels named in group_left(...)/group_right(...). */
  include: string[];
  /** Added: fill(v)/fill_left(v)/fill_right(v) modifiers: the value standing in for a missing left/right-hand sample. */
  fill?: { lhs?: number; rhs?: number };
}

/**
 * Added: a Prometheus 3 duration expression (`[5m+step()]`, `offset -(step()*2)`), kept only when it depends on the
 * query (step() or range()); constant ones are folded by the parser. Values are in seconds, as in Prometheus.
 * `resolveDurations` in src/promql/parser/durations.ts turns them into the *Ms fields for a given query.
 * DurationBinary.opPos is the operator's offset (where division by zero is reported).
 */
export type DurationExpr =
  | { type: "DurationNumber"; seconds: number; pos: PositionRange }
  | { type: "DurationCall"; func: "step" | "range" | "min_of" | "max_of"; args: DurationExpr[]; pos: PositionRange }
  | { type: "DurationUnary"; op: "+" | "-"; expr: DurationExpr; pos: PositionRange }
  | { type: "DurationBinary"; op: "+" | "-" | "*" | "/" | "%" | "^"; lhs: DurationExpr; rhs: DurationExpr; opPos: number; pos: PositionRange };

export interface NumberLiteral { type: "NumberLiteral"; value: number; pos: PositionRange }
/** Bytes of a Go-escaped string that are not valid UTF-8 (e.g. "\xc5") appear as lone surrogates U+DC80..U+DCFF. */
export interface StringLiteral { type: "StringLiteral"; value: string; pos: PositionRange }

export interface VectorSelector {
  type: "VectorSelector";
  /** Metric name if written before the braces (also present as a `__name__` matcher in `matchers`). */
  name?: string;
  matchers: LabelMatcher[];
  offsetMs: number;
  at?: AtModifier;
  /** Added: offset given as a query-dependent duration expression (offsetMs is 0 until resolved). */
  offsetExpr?: DurationExpr;
  /** Added: `anchored` modifier (experimental extended range selectors); on a matrix selector it sits on its vector. */
  anchored?: boolean;
  /** Added: `smoothed` modifier (experimental extended range selectors); on a matrix selector it sits on its vector. */
  smoothed?: boolean;
  pos: PositionRange;
}

export interface MatrixSelector {
  type: "MatrixSelector";
  vector: VectorSelector;
  rangeMs: number;
  /** Added: range given as a query-dependent duration expression (rangeMs is 0 until resolved). */
  rangeExpr?: DurationExpr;
  pos: PositionRange;
}

export interface SubqueryExpr {
  type: "SubqueryExpr";
  expr: Expr;
  rangeMs: number;
  /** Undefined when written as `[range:]` (the evaluator's default step applies). */
  stepMs?: number;
  offsetMs: number;
  at?: AtModifier;
  /** Added: query-dependent duration expressions for range, step and offset (the *Ms fields are 0 until resolved). */
  rangeExpr?: DurationExpr;
  stepExpr?: DurationExpr;
  offsetExpr?: DurationExpr;
  pos: PositionRange;
}

export interface AggregateExpr {
  type: "AggregateExpr";
  op: AggregateOp;
  expr: Expr;
  /** The parameter of count_values, quantile, topk, bottomk, limitk, limit_ratio. */
  param?: Expr;
  grouping: string[];
  without: boolean;
  pos: PositionRange;
}

export interface BinaryExpr {
  type: "BinaryExpr";
  op: BinaryOp;
  lhs: Expr;
  rhs: Expr;
  /** `bool` modifier on a comparison. */
  returnBool: boolean;
  matching?: VectorMatching;
  pos: PositionRange;
}

export interface UnaryExpr { type: "UnaryExpr"; op: "+" | "-"; expr: Expr; pos: PositionRange }
export interface ParenExpr { type: "ParenExpr"; expr: Expr; pos: PositionRange }

export interface Call {
  type: "Call";
  func: string;
  args: Expr[];
  pos: PositionRange;
}

export type Expr =
  | NumberLiteral
  | StringLiteral
  | VectorSelector
  | MatrixSelector
  | SubqueryExpr
  | AggregateExpr
  | BinaryExpr
  | UnaryExpr
  | ParenExpr
  | Call;
