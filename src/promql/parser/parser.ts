// PromQL parser: recursive descent with precedence climbing over the lexer's tokens, producing the AST of
// src/promql/ast.ts with Prometheus 3.x grammar and error messages. Nesting is capped (MAX_NESTING) so hostile input
// gets a parse error instead of a stack overflow; type checking runs afterwards (check.ts), as in Prometheus.
import type { RE2JS } from "re2js";
import { anchoredRegex } from "../regex.js";
import type {
  AggregateExpr, AggregateOp, AtModifier, BinaryExpr, BinaryOp, Call, DurationExpr, Expr, LabelMatcher, MatchOp,
  MatrixSelector, NumberLiteral, PositionRange, SubqueryExpr, VectorMatching, VectorSelector,
} from "../ast.js";
import { typeCheck } from "./check.js";
import { dependsOnQuery, DurationExprError, durationSecondsToMs, evalDurationSeconds, parseDuration } from "./durations.js";
import { goQuote, PromqlParseError } from "./errors.js";
import { FUNCTIONS, KEYWORD_FUNCTIONS } from "./functions.js";
import { tokenize, type Token } from "./lexer.js";

/** Deepest expression nesting accepted (parentheses, operator chains, calls...). */
export const MAX_NESTING = 1000;

const AGGREGATORS: ReadonlySet<string> = new Set<AggregateOp>([
  "sum", "avg", "min", "max", "count", "group", "stddev", "stdvar",
  "count_values", "quantile", "topk", "bottomk", "limitk", "limit_ratio",
]);
/** Words Prometheus' lexer turns into keyword tokens, described as <word> in error messages. */
const KEYWORDS: ReadonlySet<string> = new Set([
  "by", "without", "on", "ignoring", "group_left", "group_right", "bool", "offset", "anchored", "smoothed",
]);
/** Words Prometheus' lexer turns into preprocessor tokens, described as "word" in error messages. */
const PREPROCESSORS: ReadonlySet<string> = new Set(["start", "end", "step"]);
const KEYWORD_OPS: ReadonlySet<string> = new Set(["and", "or", "unless", "atan2"]);
const NOT_METRIC_NAMES: ReadonlySet<string> = new Set(["on", "ignoring", "group_left", "group_right", "bool", "atan2"]);

const PRECEDENCE: Record<BinaryOp, number> = {
  or: 1, and: 2, unless: 2,
  "==": 3, "!=": 3, "<": 3, ">": 3, "<=": 3, ">=": 3,
  "+": 4, "-": 4,
  "*": 5, "/": 5, "%": 5, atan2: 5, "</": 5, ">/": 5,
  "^": 6,
};
const SYMBOL_OPS: ReadonlySet<string> = new Set(["+", "-", "*", "/", "%", "^", "==", "!=", "<", ">", "<=", ">=", "</", ">/"]);
const POW_PRECEDENCE = 6;
const DURATION_OPS: ReadonlySet<string> = new Set(["+", "-", "*", "/", "%", "^"]);
const DURATION_EXPECTED = "number, duration, step(), or range()";
/** Duration-expression functions; min and max are their names in earlier Prometheus 3 releases. */
const DURATION_FUNCTIONS: Record<string, "step" | "range" | "min_of" | "max_of"> = {
  step: "step", range: "range", min_of: "min_of", max_of: "max_of", min: "min_of", max: "max_of",
};

/** What the type checker needs to know beyond the AST. */
export interface ParseFacts {
  /** Compiled anchored regexes of =~ and !~ matchers. */
  regexes: Map<LabelMatcher, RE2JS>;
}

export function parseQuery(query: string): Expr {
  const parser = new Parser(query);
  const expr = parser.parseRoot();
  typeCheck(expr, query, parser.facts);
  return expr;
}

class Parser {
  private readonly tokens: Token[];
  private index = 0;
  private nesting = 0;
  /** End offset of the last token consumed (Prometheus' lastClosing). */
  private lastEnd = 0;
  private readonly depths = new WeakMap<object, number>();
  readonly facts: ParseFacts = { regexes: new Map() };

  constructor(private readonly query: string) {
    this.tokens = tokenize(query);
  }

  parseRoot(): Expr {
    if (this.peek().kind === "eof") this.fail({ start: 0, end: 0 }, "no expression found in input");
    const expr = this.parseExpr(0);
    const t = this.peek();
    if (t.kind !== "eof") this.unexpected(t);
    return expr;
  }

  // ---- token helpers ----

  private peek(ahead = 0): Token {
    const t = this.tokens[Math.min(this.index + ahead, this.tokens.length - 1)]!;
    if (t.kind === "error") this.fail(t, t.text);
    return t;
  }

  private next(): Token {
    const t = this.peek();
    if (t.kind !== "eof") this.index++;
    this.lastEnd = t.end;
    return t;
  }

  private isWord(t: Token, ...words: string[]): boolean {
    return t.kind === "ident" && words.includes(t.text.toLowerCase());
  }

  private expect(kind: Token["kind"], context: string, expected: string): Token {
    const t = this.peek();
    if (t.kind !== kind) this.unexpected(t, context, expected);
    return this.next();
  }

  fail(range: PositionRange, message: string): never {
    throw new PromqlParseError(this.query, range, message);
  }

  private unexpected(t: Token, context = "", expected = ""): never {
    let msg = `unexpected ${describe(t)}`;
    if (context) msg += ` in ${context}`;
    if (expected) msg += `, expected ${expected}`;
    this.fail(t, msg);
  }

  private enter(): void {
    if (++this.nesting > MAX_NESTING) {
      this.fail(this.peek(), `query is nested too deeply: more than ${MAX_NESTING} levels`);
    }
  }

  private leave(): void {
    this.nesting--;
  }

  private depth(e: object): number {
    return this.depths.get(e) ?? 1;
  }

  /** Records the nesting depth of a new node from its children and rejects too-deep trees. */
  private track<T extends object>(node: T, children: readonly object[]): T {
    let d = 0;
    for (const c of children) d = Math.max(d, this.depth(c));
    if (d + 1 > MAX_NESTING) {
      this.fail(this.peek(), `query is nested too deeply: more than ${MAX_NESTING} levels`);
    }
    this.depths.set(node, d + 1);
    return node;
  }

  // ---- expressions ----

  private binaryOpOf(t: Token): BinaryOp | undefined {
    if (t.kind === "op" && SYMBOL_OPS.has(t.text)) return t.text as BinaryOp;
    if (t.kind === "ident") {
      const w = t.text.toLowerCase();
      if (KEYWORD_OPS.has(w)) return w as BinaryOp;
    }
    return undefined;
  }

  private parseExpr(minPrecedence: number): Expr {
    this.enter();
    let lhs = this.parseUnary();
    while (true) {
      const op = this.binaryOpOf(this.peek());
      if (!op || PRECEDENCE[op] < minPrecedence) break;
      this.next();
      const modifiers = this.parseBinaryModifiers();
      const rhs = this.parseExpr(op === "^" ? PRECEDENCE[op] : PRECEDENCE[op] + 1);
      const bin: BinaryExpr = {
        type: "BinaryExpr", op, lhs, rhs, returnBool: modifiers.returnBool,
        pos: { start: lhs.pos.start, end: rhs.pos.end },
      };
      if (modifiers.matching) bin.matching = modifiers.matching;
      lhs = this.track(bin, [lhs, rhs]);
    }
    this.leave();
    return lhs;
  }

  private parseUnary(): Expr {
    const t = this.peek();
    if (t.kind === "op" && (t.text === "+" || t.text === "-")) {
      this.next();
      this.enter();
      // Unary operators bind like `*`: looser than `^` (-2^2 = -4), tighter than everything else.
      const operand = this.parseExpr(POW_PRECEDENCE);
      this.leave();
      if (operand.type === "NumberLiteral") {
        const folded: NumberLiteral = {
          type: "NumberLiteral", value: t.text === "-" ? -operand.value : operand.value,
          pos: { start: t.start, end: operand.pos.end },
        };
        return this.track(folded, [operand]);
      }
      return this.track({ type: "UnaryExpr", op: t.text, expr: operand, pos: { start: t.start, end: operand.pos.end } }, [operand]);
    }
    return this.parsePostfix(this.parsePrimary());
  }

  private parsePrimary(): Expr {
    const t = this.peek();
    switch (t.kind) {
      case "number":
        this.next();
        return { type: "NumberLiteral", value: this.numberValue(t), pos: range(t) };
      case "duration":
        this.next();
        return { type: "NumberLiteral", value: this.durationSeconds(t), pos: range(t) };
      case "string":
        this.next();
        return { type: "StringLiteral", value: t.value!, pos: range(t) };
      case "(": {
        this.next();
        const inner = this.parseExpr(0);
        const close = this.peek();
        if (close.kind !== ")") this.unexpected(close, "parenthesized expression", '")"');
        this.next();
        return this.track({ type: "ParenExpr", expr: inner, pos: { start: t.start, end: close.end } }, [inner]);
      }
      case "{":
        return this.parseVectorSelector(undefined);
      case "ident": {
        const word = t.text.toLowerCase();
        // Keywords that Prometheus' grammar does not accept as metric names.
        if (NOT_METRIC_NAMES.has(word)) this.unexpected(t);
        const after = this.peek(1);
        if (AGGREGATORS.has(word) && (after.kind === "(" || this.isWord(after, "by", "without"))) {
          return this.parseAggregation();
        }
        // A name with a colon is a metric name even before "(" (Prometheus then reports the parenthesis).
        if (after.kind === "(" && !word.includes(":")) return this.parseCall();
        return this.parseVectorSelector(t);
      }
      default:
        return this.unexpected(t);
    }
  }

  // ---- numbers and durations ----

  private numberValue(t: Token): number {
    try {
      return parseNumber(t.text);
    } catch (e) {
      return this.fail(t, (e as Error).message);
    }
  }

  private durationSeconds(t: Token): number {
    try {
      return parseDuration(t.text) / 1000;
    } catch (e) {
      return this.fail(t, (e as Error).message);
    }
  }

  // ---- selectors ----

  private parseVectorSelector(nameToken: Token | undefined): VectorSelector {
    const start = nameToken ? nameToken.start : this.peek().start;
    if (nameToken) this.next();
    const matchers: LabelMatcher[] = [];
    let end = nameToken ? nameToken.end : start;
    if (this.peek().kind === "{") {
      this.next();
      this.parseLabelMatchers(matchers);
      end = this.lastEnd;
    }
    const vs: VectorSelector = { type: "VectorSelector", matchers, offsetMs: 0, pos: { start, end } };
    if (nameToken) {
      vs.name = nameToken.text;
      matchers.push({ name: "__name__", op: "=", value: nameToken.text });
    }
    return vs;
  }

  /** Parses the matchers after `{` up to and including `}`. */
  private parseLabelMatchers(out: LabelMatcher[]): void {
    while (true) {
      let t = this.peek();
      if (t.kind === "}") {
        this.next();
        return;
      }
      let name: string;
      const nameStart = t.start;
      if (t.kind === "ident") {
        name = t.text;
        this.next();
      } else if (t.kind === "string") {
        this.next();
        const after = this.peek();
        if (after.kind === "," || after.kind === "}") {
          // {"metric.name"}: a quoted metric name (Prometheus 3).
          out.push({ name: "__name__", op: "=", value: t.value! });
          this.afterMatcher();
          continue;
        }
        name = t.value!;
      } else {
        return this.unexpected(t, "label matching", 'identifier or "}"');
      }
      t = this.peek();
      if (t.kind !== "op" || !["=", "!=", "=~", "!~"].includes(t.text)) {
        this.unexpected(t, "label matching", "label matching operator");
      }
      const op = t.text as MatchOp;
      this.next();
      const v = this.peek();
      if (v.kind !== "string") this.unexpected(v, "label matching", "string");
      this.next();
      out.push(this.newMatcher(name, op, v.value!, { start: nameStart, end: v.end }));
      this.afterMatcher();
    }
  }

  private afterMatcher(): void {
    const t = this.peek();
    if (t.kind === ",") this.next();
    else if (t.kind !== "}") this.unexpected(t, "label matching", '"," or "}"');
  }

  private newMatcher(name: string, op: MatchOp, value: string, pos: PositionRange): LabelMatcher {
    const m: LabelMatcher = { name, op, value };
    if (op === "=~" || op === "!~") {
      try {
        this.facts.regexes.set(m, anchoredRegex(value));
      } catch (e) {
        this.fail(pos, (e as Error).message);
      }
    }
    return m;
  }

  // ---- postfix modifiers: [range], [range:step], offset, @, anchored, smoothed ----

  private parsePostfix(expr: Expr): Expr {
    while (true) {
      const t = this.peek();
      if (t.kind === "[") expr = this.parseRangeOrSubquery(expr);
      else if (this.isWord(t, "offset")) this.parseOffset(expr);
      else if (t.kind === "@") this.parseAt(expr);
      else if (this.isWord(t, "anchored", "smoothed")) this.parseExtendedModifier(expr);
      else return expr;
    }
  }

  private parseRangeOrSubquery(expr: Expr): Expr {
    const open = this.next();
    const rangeDur = this.parseDurationExpr(0, "subquery or range selector", DURATION_EXPECTED);
    const t = this.peek();
    if (t.kind === "]") {
      this.next();
      const bracket = { start: open.start, end: t.end };
      if (expr.type !== "VectorSelector") this.fail(bracket, "ranges only allowed for vector selectors");
      if (expr.offsetMs !== 0 || expr.offsetExpr) this.fail(bracket, "no offset modifiers allowed before range");
      if (expr.at) this.fail(bracket, "no @ modifiers allowed before range");
      if (expr.anchored || expr.smoothed) {
        this.fail(bracket, `no ${expr.anchored ? "anchored" : "smoothed"} modifier allowed before range`);
      }
      const ms: MatrixSelector = { type: "MatrixSelector", vector: expr, rangeMs: 0, pos: { start: expr.pos.start, end: t.end } };
      this.setDuration(rangeDur, false, (v) => (ms.rangeMs = v), (d) => (ms.rangeExpr = d));
      return this.track(ms, [expr]);
    }
    if (t.kind !== ":") this.unexpected(t, "subquery or range", '":" or "]"');
    this.next();
    const sq: SubqueryExpr = { type: "SubqueryExpr", expr, rangeMs: 0, offsetMs: 0, pos: { start: expr.pos.start, end: 0 } };
    this.setDuration(rangeDur, false, (v) => (sq.rangeMs = v), (d) => (sq.rangeExpr = d));
    if (this.peek().kind !== "]") {
      const stepDur = this.parseDurationExpr(0, "subquery selector", DURATION_EXPECTED);
      this.setDuration(stepDur, false, (v) => (sq.stepMs = v), (d) => (sq.stepExpr = d));
    }
    const close = this.expect("]", "subquery selector", '"]"');
    sq.pos.end = close.end;
    return this.track(sq, [expr]);
  }

  /** Folds a constant duration expression into ms, or keeps a query-dependent one for the evaluator. */
  private setDuration(d: DurationExpr, allowNegative: boolean, setMs: (ms: number) => void, setExpr: (d: DurationExpr) => void): void {
    if (dependsOnQuery(d)) {
      setExpr(d);
      return;
    }
    try {
      setMs(durationSecondsToMs(evalDurationSeconds(d, undefined), allowNegative, d));
    } catch (e) {
      if (e instanceof DurationExprError) this.fail(e.pos, e.message);
      throw e;
    }
  }

  private parseOffset(expr: Expr): void {
    this.next();
    const d = this.parseOffsetDuration();
    const target = this.modifierTarget(expr, "offset");
    if (target.offsetMs !== 0 || target.offsetExpr) this.fail(expr.pos, "offset may not be set multiple times");
    this.setDuration(d, true, (v) => (target.offsetMs = v), (e) => (target.offsetExpr = e));
    expr.pos.end = this.lastEnd;
  }

  /** The offset operand: an optionally signed literal, a parenthesized duration expression, or step()/range()/min_of/max_of. */
  private parseOffsetDuration(): DurationExpr {
    const t = this.peek();
    if (t.kind === "op" && (t.text === "+" || t.text === "-")) {
      this.next();
      const inner = this.parseDurationAtom("offset", DURATION_EXPECTED, false);
      return { type: "DurationUnary", op: t.text, expr: inner, pos: { start: t.start, end: inner.pos.end } };
    }
    return this.parseDurationAtom("offset", DURATION_EXPECTED, false);
  }

  private parseDurationExpr(minPrecedence: number, context: string, expected: string): DurationExpr {
    this.enter();
    let lhs = this.parseDurationAtom(context, expected, true);
    while (true) {
      const t = this.peek();
      if (t.kind !== "op" || !DURATION_OPS.has(t.text)) break;
      const op = t.text as "+" | "-" | "*" | "/" | "%" | "^";
      const prec = PRECEDENCE[op];
      if (prec < minPrecedence) break;
      this.next();
      const rhs = this.parseDurationExpr(op === "^" ? prec : prec + 1, context, expected);
      const bin: DurationExpr = { type: "DurationBinary", op, lhs, rhs, opPos: t.start, pos: { start: lhs.pos.start, end: rhs.pos.end } };
      lhs = this.track(bin, [lhs, rhs]);
    }
    this.leave();
    return lhs;
  }

  private parseDurationAtom(context: string, expected: string, allowUnary: boolean): DurationExpr {
    const t = this.peek();
    if (allowUnary && t.kind === "op" && (t.text === "+" || t.text === "-")) {
      this.next();
      const inner = this.parseDurationExpr(POW_PRECEDENCE, context, expected);
      return this.track({ type: "DurationUnary", op: t.text, expr: inner, pos: { start: t.start, end: inner.pos.end } }, [inner]);
    }
    if (t.kind === "number") {
      this.next();
      return { type: "DurationNumber", seconds: this.numberValue(t), pos: range(t) };
    }
    if (t.kind === "duration") {
      this.next();
      return { type: "DurationNumber", seconds: this.durationSeconds(t), pos: range(t) };
    }
    if (t.kind === "(") {
      this.next();
      const inner = this.parseDurationExpr(0, context, expected);
      this.expect(")", context, '")"');
      return inner;
    }
    const func = t.kind === "ident" ? DURATION_FUNCTIONS[t.text.toLowerCase()] : undefined;
    if (func) {
      this.next();
      this.expect("(", context, expected);
      const args: DurationExpr[] = [];
      if (func === "min_of" || func === "max_of") {
        args.push(this.parseDurationExpr(0, context, expected));
        this.expect(",", `${func}()`, '","');
        args.push(this.parseDurationExpr(0, context, expected));
      }
      const close = this.expect(")", `${func}()`, '")"');
      return this.track({ type: "DurationCall", func, args, pos: { start: t.start, end: close.end } }, args);
    }
    return this.unexpected(t, context, expected);
  }

  private parseAt(expr: Expr): void {
    this.next();
    const t = this.peek();
    let at: AtModifier;
    if (this.isWord(t, "start", "end")) {
      this.next();
      this.expect("(", "@", '"("');
      this.expect(")", "@", '")"');
      at = { kind: t.text.toLowerCase() as "start" | "end" };
    } else {
      let sign = 1;
      let v = t;
      if (t.kind === "op" && (t.text === "+" || t.text === "-")) {
        sign = t.text === "-" ? -1 : 1;
        this.next();
        v = this.peek();
      }
      let seconds: number;
      if (v.kind === "number") seconds = this.numberValue(v);
      else if (v.kind === "duration") seconds = this.durationSeconds(v);
      else return this.unexpected(v, "@", "timestamp");
      this.next();
      seconds *= sign;
      if (!Number.isFinite(seconds) || Math.abs(seconds) >= 9.223372036854776e18) {
        this.fail(expr.pos, `timestamp out of bounds for @ modifier: ${formatGoFloat(seconds)}`);
      }
      // timestamp.FromFloatSeconds: round half away from zero.
      at = { kind: "time", timeMs: Math.sign(seconds) * Math.round(Math.abs(seconds) * 1000) + 0 };
    }
    const target = this.modifierTarget(expr, "@");
    if (target.at) this.fail(expr.pos, "@ <timestamp> may not be set multiple times");
    target.at = at;
    expr.pos.end = this.lastEnd;
  }

  private parseExtendedModifier(expr: Expr): void {
    const t = this.next();
    const word = t.text.toLowerCase() as "anchored" | "smoothed";
    if (expr.type === "SubqueryExpr") this.fail(expr.pos, `${word} modifier is not supported for subqueries`);
    if (expr.type !== "VectorSelector" && expr.type !== "MatrixSelector") this.fail(expr.pos, `${word} modifier not implemented`);
    const vs = expr.type === "VectorSelector" ? expr : expr.vector;
    vs[word] = true;
    if (vs.anchored && vs.smoothed) this.fail(expr.pos, "anchored and smoothed modifiers cannot be used together");
    expr.pos.end = this.lastEnd;
  }

  /** The node an offset or @ modifier belongs to (a matrix selector's modifiers live on its vector selector). */
  private modifierTarget(expr: Expr, what: "offset" | "@"): VectorSelector | SubqueryExpr {
    if (expr.type === "VectorSelector" || expr.type === "SubqueryExpr") return expr;
    if (expr.type === "MatrixSelector") return expr.vector;
    return this.fail(expr.pos, `${what} modifier must be preceded by an instant vector selector or range vector selector or a subquery`);
  }

  // ---- binary operator modifiers ----

  private parseBinaryModifiers(): { returnBool: boolean; matching?: VectorMatching } {
    let returnBool = false;
    let matching: VectorMatching | undefined;
    if (this.isWord(this.peek(), "bool")) {
      this.next();
      returnBool = true;
    }
    const t = this.peek();
    if (this.isWord(t, "on", "ignoring")) {
      this.next();
      matching = { card: "one-to-one", on: t.text.toLowerCase() === "on", labels: this.parseGroupingLabels(), include: [] };
      const g = this.peek();
      if (this.isWord(g, "group_left", "group_right")) {
        this.next();
        matching.card = g.text.toLowerCase() === "group_left" ? "many-to-one" : "one-to-many";
        if (this.peek().kind === "(") matching.include = this.parseGroupingLabels();
      }
    }
    while (this.isWord(this.peek(), "fill", "fill_left", "fill_right") && this.peek(1).kind === "(") {
      const kw = this.next();
      const which = kw.text.toLowerCase();
      this.next();
      const value = this.parseSignedNumber(which);
      this.expect(")", which, '")"');
      matching ??= { card: "one-to-one", on: false, labels: [], include: [] };
      const fill = (matching.fill ??= {});
      const sides = which === "fill" ? ["lhs", "rhs"] as const : which === "fill_left" ? ["lhs"] as const : ["rhs"] as const;
      for (const side of sides) {
        if (fill[side] !== undefined) this.fail(kw, `duplicate fill modifier for the ${side === "lhs" ? "left" : "right"} side`);
        fill[side] = value;
      }
    }
    return matching ? { returnBool, matching } : { returnBool };
  }

  private parseSignedNumber(context: string): number {
    let t = this.peek();
    let sign = 1;
    if (t.kind === "op" && (t.text === "+" || t.text === "-")) {
      sign = t.text === "-" ? -1 : 1;
      this.next();
      t = this.peek();
    }
    if (t.kind !== "number" && t.kind !== "duration") this.unexpected(t, context, "number");
    this.next();
    return sign * (t.kind === "number" ? this.numberValue(t) : this.durationSeconds(t));
  }

  /** `(label, ...)` after by/without/on/ignoring/group_left/group_right; a trailing comma is allowed. */
  private parseGroupingLabels(): string[] {
    this.expect("(", "grouping opts", '"("');
    const labels: string[] = [];
    while (true) {
      const t = this.peek();
      if (t.kind === ")") {
        this.next();
        return labels;
      }
      if (t.kind === "ident" && !t.text.includes(":")) labels.push(t.text);
      else if (t.kind === "string") {
        if (t.value === "" || !isWellFormed(t.value!)) this.fail(t, `invalid label name ${goQuote(t.value!)}`);
        labels.push(t.value!);
      } else this.unexpected(t, "grouping opts", "label");
      this.next();
      const sep = this.peek();
      if (sep.kind === ",") this.next();
      else if (sep.kind !== ")") this.unexpected(sep, "grouping opts", '"," or ")"');
    }
  }

  // ---- aggregations and calls ----

  private parseAggregation(): AggregateExpr {
    const opTok = this.next();
    const op = opTok.text.toLowerCase() as AggregateOp;
    let grouping: string[] = [];
    let without = false;
    let modified = false;
    const parseModifier = () => {
      const kw = this.next();
      without = kw.text.toLowerCase() === "without";
      grouping = this.parseGroupingLabels();
      modified = true;
    };
    if (this.isWord(this.peek(), "by", "without")) parseModifier();
    if (this.peek().kind !== "(") this.unexpected(this.peek(), "aggregation");
    const args = this.parseCallArgs();
    if (!modified && this.isWord(this.peek(), "by", "without")) parseModifier();
    const pos = { start: opTok.start, end: this.lastEnd };
    if (args.length === 0) this.fail(pos, "no arguments for aggregate expression provided");
    const withParam = op === "count_values" || op === "quantile" || op === "topk" || op === "bottomk" || op === "limitk" || op === "limit_ratio";
    const desired = withParam ? 2 : 1;
    if (args.length !== desired) {
      this.fail(pos, `wrong number of arguments for aggregate expression provided, expected ${desired}, got ${args.length}`);
    }
    const agg: AggregateExpr = { type: "AggregateExpr", op, expr: args[desired - 1]!, grouping, without, pos };
    if (withParam) agg.param = args[0]!;
    return this.track(agg, args);
  }

  private parseCall(): Call {
    const nameTok = this.next();
    const args = this.parseCallArgs();
    const lower = nameTok.text.toLowerCase();
    const func = KEYWORD_FUNCTIONS.has(lower) ? lower : nameTok.text;
    if (!FUNCTIONS.has(func)) this.fail(nameTok, `unknown function with name ${goQuote(nameTok.text)}`);
    const call: Call = { type: "Call", func, args, pos: { start: nameTok.start, end: this.lastEnd } };
    return this.track(call, args);
  }

  /** `( expr, ... )`, consuming both parentheses. */
  private parseCallArgs(): Expr[] {
    this.next(); // (
    const args: Expr[] = [];
    if (this.peek().kind === ")") {
      this.next();
      return args;
    }
    while (true) {
      args.push(this.parseExpr(0));
      const t = this.peek();
      if (t.kind === ")") {
        this.next();
        return args;
      }
      if (t.kind !== ",") this.unexpected(t, "function call arguments", '"," or ")"');
      this.next();
      if (this.peek().kind === ")") this.fail(t, "trailing commas not allowed in function call args");
    }
  }
}

function range(t: Token): PositionRange {
  return { start: t.start, end: t.end };
}

/** Prometheus' description of a token in "unexpected ..." messages. */
function describe(t: Token): string {
  switch (t.kind) {
    case "eof": return "end of input";
    case "ident": {
      const w = t.text.toLowerCase();
      if (AGGREGATORS.has(w)) return `<aggr:${t.text}>`;
      if (KEYWORD_OPS.has(w)) return `<op:${t.text}>`;
      if (KEYWORDS.has(w)) return `<${t.text}>`;
      if (PREPROCESSORS.has(w)) return goQuote(t.text);
      return `${t.text.includes(":") ? "metric identifier" : "identifier"} ${goQuote(t.text)}`;
    }
    case "number": return `number ${quoteTruncated(t.text)}`;
    case "duration": return `duration ${quoteTruncated(t.text)}`;
    case "string": return `string ${quoteTruncated(t.text)}`;
    case "op": return t.text === "=" ? '"="' : `<op:${t.text}>`;
    case "@": return "<op:@>";
    default: return goQuote(t.text);
  }
}

/** Go's %.10q... for token texts longer than 10 characters, %q otherwise. */
function quoteTruncated(text: string): string {
  return text.length > 10 ? goQuote(text.slice(0, 10)) + "..." : goQuote(text);
}

/** Parses a PromQL number literal like Go's strconv.ParseInt(s, 0, 64) falling back to ParseFloat, as Prometheus does. */
function parseNumber(text: string): number {
  const lower = text.toLowerCase();
  if (lower === "inf") return Infinity;
  if (lower === "nan") return NaN;
  const s = text.replace(/_/g, "");
  const maxInt = 9223372036854775807n;
  if (/^0[xX][0-9a-fA-F]+$/.test(s)) {
    const big = BigInt(s);
    if (big <= maxInt) return Number(big);
    throw new Error(`error parsing number: strconv.ParseFloat: parsing ${goQuote(text)}: invalid syntax`);
  }
  if (/^0[0-7]+$/.test(s)) {
    const big = BigInt("0o" + s.slice(1));
    return big <= maxInt ? Number(big) : Number(s);
  }
  if (!/^(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?$/.test(s)) {
    throw new Error(`error parsing number: strconv.ParseFloat: parsing ${goQuote(text)}: invalid syntax`);
  }
  const v = Number(s);
  if (!Number.isFinite(v)) {
    throw new Error(`error parsing number: strconv.ParseFloat: parsing ${goQuote(text)}: value out of range`);
  }
  return v;
}

/** Go's %f formatting of a float64. */
function formatGoFloat(v: number): string {
  if (Number.isNaN(v)) return "NaN";
  if (v === Infinity) return "+Inf";
  if (v === -Infinity) return "-Inf";
  return v.toFixed(6);
}

/** True when the string has no lone surrogates (i.e. it came from valid UTF-8). */
function isWellFormed(s: string): boolean {
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (c >= 0xd800 && c <= 0xdbff) {
      const d = s.charCodeAt(i + 1);
      if (d >= 0xdc00 && d <= 0xdfff) i++;
      else return false;
    } else if (c >= 0xdc00 && c <= 0xdfff) return false;
  }
  return true;
}
