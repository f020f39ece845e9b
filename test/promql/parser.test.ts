// PromQL parser: valid queries -> AST shape (precedence, modifiers, selectors, literals, duration expressions),
// invalid queries -> Prometheus-style position and message, and hostile input bounded by the nesting limit (the deepest
// accepted queries are run through the real engine to show the limit keeps evaluation within the stack).
import { test } from "uvu";
import * as assert from "uvu/assert";
import type { Expr } from "../../src/promql/ast.js";
import { PromqlEngine, StorageBuilder } from "../../src/index.js";
import { formatDuration, formatExpr, FUNCTIONS, MAX_NESTING, parse, parseDuration, PromqlParseError, resolveDurations } from "../../src/promql/parser/index.js";

/** Compact rendering of an AST, so table tests state the expected shape in one line. */
/** CPU ms this process used since `started` (a time bound in wall ms would count other processes on a loaded machine). */
function cpuMsSince(started: NodeJS.CpuUsage): number {
  const used = process.cpuUsage(started);
  return (used.user + used.system) / 1000;
}

function show(e: Expr): string {
  switch (e.type) {
    case "NumberLiteral": return String(e.value);
    case "StringLiteral": return JSON.stringify(e.value);
    case "VectorSelector": {
      let s = (e.name ?? "") + "{" + e.matchers.map((m) => `${m.name}${m.op}${JSON.stringify(m.value)}`).join(",") + "}";
      if (e.offsetMs) s += ` offset ${e.offsetMs}`;
      if (e.offsetExpr) s += " offset <expr>";
      if (e.at) s += e.at.kind === "time" ? ` @${e.at.timeMs}` : ` @${e.at.kind}`;
      if (e.anchored) s += " anchored";
      if (e.smoothed) s += " smoothed";
      return s;
    }
    case "MatrixSelector": return `${show(e.vector)}[${e.rangeExpr ? "<expr>" : e.rangeMs}]`;
    case "SubqueryExpr": {
      let s = `sq(${show(e.expr)})[${e.rangeExpr ? "<expr>" : e.rangeMs}:${e.stepExpr ? "<expr>" : e.stepMs ?? ""}]`;
      if (e.offsetMs) s += ` offset ${e.offsetMs}`;
      if (e.at) s += e.at.kind === "time" ? ` @${e.at.timeMs}` : ` @${e.at.kind}`;
      return s;
    }
    case "AggregateExpr":
      return `${e.op} ${e.without ? "without" : "by"}(${e.grouping.join(",")})(${e.param ? show(e.param) + ", " : ""}${show(e.expr)})`;
    case "BinaryExpr": {
      let mod = e.returnBool ? " bool" : "";
      const m = e.matching;
      if (m && (m.on || m.labels.length > 0)) mod += ` ${m.on ? "on" : "ignoring"}(${m.labels.join(",")})`;
      if (m && m.card === "many-to-one") mod += ` group_left(${m.include.join(",")})`;
      if (m && m.card === "one-to-many") mod += ` group_right(${m.include.join(",")})`;
      if (m?.fill) mod += ` fill(${m.fill.lhs ?? "_"},${m.fill.rhs ?? "_"})`;
      return `(${show(e.lhs)} ${e.op}${mod} ${show(e.rhs)})`;
    }
    case "UnaryExpr": return `${e.op}(${show(e.expr)})`;
    case "ParenExpr": return `paren(${show(e.expr)})`;
    case "Call": return `${e.func}(${e.args.map(show).join(", ")})`;
  }
}

const valid: [string, string][] = [
  // Precedence and associativity.
  ["1 + 2 * 3", "(1 + (2 * 3))"],
  ["1 * 2 + 3", "((1 * 2) + 3)"],
  ["2 ^ 3 ^ 2", "(2 ^ (3 ^ 2))"],
  ["a - b - c", "((a{__name__=\"a\"} - b{__name__=\"b\"}) - c{__name__=\"c\"})"],
  ["-2 ^ 2", "-((2 ^ 2))"],
  ["-2 * 3", "(-2 * 3)"],
  ["2 ^ -1", "(2 ^ -1)"],
  ["1 - -1", "(1 - -1)"],
  ["---1", "-1"],
  ["+1", "1"],
  ["-10^3 * - SUM(x) BY (job) ^ -1", "(-((10 ^ 3)) * -((sum by(job)(x{__name__=\"x\"}) ^ -1)))"],
  ["a or b and c unless d", "(a{__name__=\"a\"} or ((b{__name__=\"b\"} and c{__name__=\"c\"}) unless d{__name__=\"d\"}))"],
  ["a + b > c", "((a{__name__=\"a\"} + b{__name__=\"b\"}) > c{__name__=\"c\"})"],
  ["a > b and c", "((a{__name__=\"a\"} > b{__name__=\"b\"}) and c{__name__=\"c\"})"],
  ["1 atan2 2 + 1", "((1 atan2 2) + 1)"],
  ["a AND b OR c", "((a{__name__=\"a\"} and b{__name__=\"b\"}) or c{__name__=\"c\"})"],
  ["x </ 2 + 1", "((x{__name__=\"x\"} </ 2) + 1)"],
  ["-foo offset 5m", "-(foo{__name__=\"foo\"} offset 300000)"],
  // Modifiers on binary operators.
  ["a == bool b", "(a{__name__=\"a\"} == bool b{__name__=\"b\"})"],
  ["1 > bool 2", "(1 > bool 2)"],
  ["a / on(x, y) b", "(a{__name__=\"a\"} / on(x,y) b{__name__=\"b\"})"],
  ["a / ignoring(x) group_left(y, z) b", "(a{__name__=\"a\"} / ignoring(x) group_left(y,z) b{__name__=\"b\"})"],
  ["a * on() group_right b", "(a{__name__=\"a\"} * on() group_right() b{__name__=\"b\"})"],
  ["a + on(x,) b", "(a{__name__=\"a\"} + on(x) b{__name__=\"b\"})"],
  ["a == bool on(x) group_left fill(0) b", "(a{__name__=\"a\"} == bool on(x) group_left() fill(0,0) b{__name__=\"b\"})"],
  ["a + fill_left(5) fill_right(-Inf) b", "(a{__name__=\"a\"} + fill(5,-Infinity) b{__name__=\"b\"})"],
  ["a + fill_right(NaN) b", "(a{__name__=\"a\"} + fill(_,NaN) b{__name__=\"b\"})"],
  ["fill + fill(0) fill", "(fill{__name__=\"fill\"} + fill(0,0) fill{__name__=\"fill\"})"],
  ["other + fill", "(other{__name__=\"other\"} + fill{__name__=\"fill\"})"],
  // Aggregations.
  ["sum(x)", "sum by()(x{__name__=\"x\"})"],
  ["sum by (a, b) (x)", "sum by(a,b)(x{__name__=\"x\"})"],
  ["sum(x) without (a,)", "sum without(a)(x{__name__=\"x\"})"],
  ["SUM(x) BY (job)", "sum by(job)(x{__name__=\"x\"})"],
  ["sum by () (x)", "sum by()(x{__name__=\"x\"})"],
  ["topk(3, x)", "topk by()(3, x{__name__=\"x\"})"],
  ["quantile without(a) (0.9, x)", "quantile without(a)(0.9, x{__name__=\"x\"})"],
  ["count_values(\"v\", x)", "count_values by()(\"v\", x{__name__=\"x\"})"],
  ["limit_ratio(0.5, x)", "limit_ratio by()(0.5, x{__name__=\"x\"})"],
  ["sum by (\"a.b\", on) (x)", "sum by(a.b,on)(x{__name__=\"x\"})"],
  // Selectors.
  ["foo{a=\"b\", c!=\"d\", e=~\"f.*\", g!~\"h\"}", "foo{a=\"b\",c!=\"d\",e=~\"f.*\",g!~\"h\",__name__=\"foo\"}"],
  ["{__name__=\"foo\"}", "{__name__=\"foo\"}"],
  ["{\"foo.bar\"}", "{__name__=\"foo.bar\"}"],
  ["{\"foo.bar\", \"a.b\"=\"c\",}", "{__name__=\"foo.bar\",a.b=\"c\"}"],
  ["foo{}", "foo{__name__=\"foo\"}"],
  ["foo:bar:baz", "foo:bar:baz{__name__=\"foo:bar:baz\"}"],
  ["{on=\"x\", by!=\"\"}", "{on=\"x\",by!=\"\"}"],
  ["by + offset", "(by{__name__=\"by\"} + offset{__name__=\"offset\"})"],
  ["{x=~\".+\"}", "{x=~\".+\"}"],
  // Offsets, @, ranges and subqueries.
  ["foo offset 5m", "foo{__name__=\"foo\"} offset 300000"],
  ["foo offset -1h30m", "foo{__name__=\"foo\"} offset -5400000"],
  ["foo OFFSET 10", "foo{__name__=\"foo\"} offset 10000"],
  ["foo @ 100", "foo{__name__=\"foo\"} @100000"],
  ["foo @ -1.5", "foo{__name__=\"foo\"} @-1500"],
  ["foo @ 1m40s", "foo{__name__=\"foo\"} @100000"],
  ["foo @ start()", "foo{__name__=\"foo\"} @start"],
  ["foo @ END()", "foo{__name__=\"foo\"} @end"],
  ["foo offset 5m @ 100", "foo{__name__=\"foo\"} offset 300000 @100000"],
  ["foo @ 100 offset 5m", "foo{__name__=\"foo\"} offset 300000 @100000"],
  ["foo[5m]", "foo{__name__=\"foo\"}[300000]"],
  ["foo[5m] offset 1m @ 10", "foo{__name__=\"foo\"} offset 60000 @10000[300000]"],
  ["foo[1h30m]", "foo{__name__=\"foo\"}[5400000]"],
  ["foo[90]", "foo{__name__=\"foo\"}[90000]"],
  ["foo[1.5]", "foo{__name__=\"foo\"}[1500]"],
  ["foo[5m:]", "sq(foo{__name__=\"foo\"})[300000:]"],
  ["foo[5m:30s]", "sq(foo{__name__=\"foo\"})[300000:30000]"],
  ["rate(foo[5m])[30m:1m] offset 1m @ start()", "sq(rate(foo{__name__=\"foo\"}[300000]))[1800000:60000] offset 60000 @start"],
  ["min_over_time((topk(1, foo))[1m:5m])", "min_over_time(sq(paren(topk by()(1, foo{__name__=\"foo\"})))[60000:300000])"],
  ["foo[5m] anchored", "foo{__name__=\"foo\"} anchored[300000]"],
  ["foo @ 100 smoothed", "foo{__name__=\"foo\"} @100000 smoothed"],
  ["foo offset -100 smoothed + 0", "(foo{__name__=\"foo\"} offset -100000 smoothed + 0)"],
  // Duration expressions.
  ["foo[26m+4m]", "foo{__name__=\"foo\"}[1800000]"],
  ["foo[2m*(10+5)]", "foo{__name__=\"foo\"}[1800000]"],
  ["foo[-5m+35m]", "foo{__name__=\"foo\"}[1800000]"],
  ["foo[30m1s-30m1s % 1m]", "foo{__name__=\"foo\"}[1800000]"],
  ["foo[29s+1s:((((8 - 2) / 3) * 7s) % 4) + 8000ms]", "sq(foo{__name__=\"foo\"})[30000:10000]"],
  ["foo offset (100 + 2)", "foo{__name__=\"foo\"} offset 102000"],
  ["foo offset 100 + 2", "(foo{__name__=\"foo\"} offset 100000 + 2)"],
  ["foo offset -2 ^ 2", "(foo{__name__=\"foo\"} offset -2000 ^ 2)"],
  ["foo offset (-2 ^ 2)", "foo{__name__=\"foo\"} offset -4000"],
  ["foo[step()]", "foo{__name__=\"foo\"}[<expr>]"],
  ["foo offset -step()*2", "(foo{__name__=\"foo\"} offset <expr> * 2)"],
  ["foo[5m:step()]", "sq(foo{__name__=\"foo\"})[300000:<expr>]"],
  ["foo[max_of(min_of(step()+1,1h),1ms)]", "foo{__name__=\"foo\"}[<expr>]"],
  ["foo[max(step(),5s)]", "foo{__name__=\"foo\"}[<expr>]"],
  ["foo[  -  step  (  )  ]", "foo{__name__=\"foo\"}[<expr>]"],
  ["foo offset 5s-8", "(foo{__name__=\"foo\"} offset 5000 - 8)"],
  ["foo offset -1^1", "(foo{__name__=\"foo\"} offset -1000 ^ 1)"],
  ["foo[4.018] @ 2.345", "foo{__name__=\"foo\"} @2345[4018]"],
  ["foo[1001ms]", "foo{__name__=\"foo\"}[1001]"],
  ["foo[2002ms] offset -1003ms", "foo{__name__=\"foo\"} offset -1003[2002]"],
  ["foo @ 3.3335", "foo{__name__=\"foo\"} @3334"],
  ["foo @ -3.3e1", "foo{__name__=\"foo\"} @-33000"],
  ["offset{step=\"1s\"}[5m]", "offset{step=\"1s\",__name__=\"offset\"}[300000]"],
  ["anchored{job=\"test\"} + smoothed", "(anchored{job=\"test\",__name__=\"anchored\"} + smoothed{__name__=\"smoothed\"})"],
  ["min", "min{__name__=\"min\"}"],
  ["sum(sum)", "sum by()(sum{__name__=\"sum\"})"],
  ["start{end=\"foo\"}", "start{end=\"foo\",__name__=\"start\"}"],
  ["{'foo\\'bar', 'a\\\\dos\\\\path'='boo\\\\urns'}", "{__name__=\"foo'bar\",a\\dos\\path=\"boo\\\\urns\"}"],
  ["0xdeadbeef", "3735928559"],
  ["a + fill(1m) b", "(a{__name__=\"a\"} + fill(60,60) b{__name__=\"b\"})"],
  ["0x_1F", "31"],
  // Calls.
  ["rate(foo[5m])", "rate(foo{__name__=\"foo\"}[300000])"],
  ["time()", "time()"],
  ["round(foo)", "round(foo{__name__=\"foo\"})"],
  ["round(foo, 5)", "round(foo{__name__=\"foo\"}, 5)"],
  ["label_join(foo, \"d\", \",\", \"a\", \"b\", \"c\")", "label_join(foo{__name__=\"foo\"}, \"d\", \",\", \"a\", \"b\", \"c\")"],
  ["STep() + Range()", "(step() + range())"],
  ["end() - start()", "(end() - start())"],
  ["min_of(1, 2)", "min_of(1, 2)"],
  ["info(foo, {k=~\".+\"})", "info(foo{__name__=\"foo\"}, {k=~\".+\"})"],
  ["info(foo, {})", "info(foo{__name__=\"foo\"}, {})"],
  ["sort_by_label(foo, \"a\", \"b\")", "sort_by_label(foo{__name__=\"foo\"}, \"a\", \"b\")"],
  // Numbers.
  ["0x1F", "31"],
  ["0X1f", "31"],
  ["0755", "493"],
  ["089", "89"],
  ["1_000_000", "1000000"],
  [".5", "0.5"],
  ["5.", "5"],
  ["1e3", "1000"],
  ["12.34E-6", "0.00001234"],
  ["Inf", "Infinity"],
  ["-inf", "-Infinity"],
  ["+InF", "Infinity"],
  ["NaN", "NaN"],
  ["1h", "3600"],
  ["100ms", "0.1"],
  ["1y", "31536000"],
  ["99999999999999999999", "100000000000000000000"],
  // Strings.
  ["\"a\\\"b\\\\c\\n\"", JSON.stringify("a\"b\\c\n")],
  ["'a\\'b\"'", JSON.stringify("a'b\"")],
  ["`a\\n\"b`", JSON.stringify("a\\n\"b")],
  ["\"\\x41\\101\\u00e9\\U0001F600\"", JSON.stringify("AA\u00e9\u{1F600}")],
  ["\"\\xc3\\xa9\"", JSON.stringify("\u00e9")],
  ["\"a\\xc5z\"", JSON.stringify("a\udcc5z")],
  ["\"\u00e9\u{1F600}\"", JSON.stringify("\u00e9\u{1F600}")],
  // Comments and whitespace.
  ["foo # comment\n + bar # another", "(foo{__name__=\"foo\"} + bar{__name__=\"bar\"})"],
  ["\n\tfoo\r\n", "foo{__name__=\"foo\"}"],
  ["(\"Foo\")", "paren(\"Foo\")"],
];

test("valid queries parse into the expected AST", () => {
  for (const [query, expected] of valid) {
    let got: string;
    try {
      got = show(parse(query));
    } catch (e) {
      throw new Error(`${JSON.stringify(query)} failed to parse: ${(e as Error).message}`);
    }
    assert.is(got, expected, `query ${JSON.stringify(query)}`);
  }
});

test("positions: every node carries its source range", () => {
  const query = "sum by (a) (rate(foo{x=\"y\"}[5m] offset 1m))";
  const e = parse(query);
  assert.equal(e.pos, { start: 0, end: query.length });
  assert.is(e.type, "AggregateExpr");
  if (e.type !== "AggregateExpr") return;
  const call = e.expr;
  assert.equal(call.pos, { start: 12, end: 42 });
  if (call.type !== "Call") return assert.unreachable();
  const ms = call.args[0]!;
  assert.equal(ms.pos, { start: 17, end: 41 });
  if (ms.type !== "MatrixSelector") return assert.unreachable();
  assert.equal(ms.vector.pos, { start: 17, end: 27 });
  const bin = parse("a + -1");
  assert.equal(bin.pos, { start: 0, end: 6 });
  if (bin.type !== "BinaryExpr") return assert.unreachable();
  assert.equal(bin.rhs.pos, { start: 4, end: 6 });
  assert.equal(parse("foo[5m:1m] @ 10").pos, { start: 0, end: 15 });
});

test("vector matching: set operators many-to-many, scalars drop matching, default one-to-one", () => {
  const and = parse("a and on(x) b");
  if (and.type !== "BinaryExpr") return assert.unreachable();
  assert.equal(and.matching, { card: "many-to-many", on: true, labels: ["x"], include: [] });
  const plain = parse("a + b");
  if (plain.type !== "BinaryExpr") return assert.unreachable();
  assert.equal(plain.matching, { card: "one-to-one", on: false, labels: [], include: [] });
  const scalar = parse("a + 1");
  if (scalar.type !== "BinaryExpr") return assert.unreachable();
  assert.is(scalar.matching, undefined);
});

const invalid: [string, string][] = [
  ["", "1:1: parse error: no expression found in input"],
  ["# just a comment", "1:1: parse error: no expression found in input"],
  ["foo{", "1:5: parse error: unexpected end of input inside braces"],
  ["foo{a=1}", "1:7: parse error: unexpected character inside braces: '1'"],
  ["foo{a}", "1:6: parse error: unexpected \"}\" in label matching, expected label matching operator"],
  ["foo{a=\"b\" c=\"d\"}", "1:11: parse error: unexpected identifier \"c\" in label matching, expected \",\" or \"}\""],
  ["sum(foo", "1:8: parse error: unclosed left parenthesis"],
  ["foo)", "1:5: parse error: unexpected right parenthesis ')'"],
  ["foo[5m", "1:7: parse error: unclosed left bracket"],
  ["foo[]", "1:5: parse error: unexpected \"]\" in subquery or range selector, expected number, duration, step(), or range()"],
  ["foo[5m:1m:1m]", "1:10: parse error: unexpected colon ':'"],
  ["foo[step():step():]", "1:19: parse error: unexpected repeated colon in duration expression"],
  ["foo[", "1:5: parse error: unexpected end of input in duration expression"],
  ["foo[x]", "1:5: parse error: unexpected character in duration expression: 'x'"],
  ["foo[:5m]", "1:6: parse error: unexpected colon before duration in duration expression"],
  ["on", "1:1: parse error: unexpected <on>"],
  ["foo + bool", "1:11: parse error: unexpected end of input"],
  ["1 + atan2", "1:5: parse error: unexpected <op:atan2>"],
  ["foo[5mm]", "1:5: parse error: bad number or duration syntax: \"5mm\""],
  ["foo[1.5m]", "1:5: parse error: unknown unit \".\" in duration \"1.5m\""],
  ["foo[5m1h]", "1:5: parse error: not a valid duration string: \"5m1h\""],
  ["foo[0s]", "1:5: parse error: duration must be greater than 0"],
  ["foo[5m:0s]", "1:8: parse error: duration must be greater than 0"],
  ["foo[1h/0]", "1:7: parse error: division by zero"],
  ["1 +", "1:4: parse error: unexpected end of input"],
  ["*test", "1:1: parse error: unexpected <op:*>"],
  ["foo bar", "1:5: parse error: unexpected identifier \"bar\""],
  ["foo $", "1:5: parse error: unexpected character: '$'"],
  ["rate(foo[5m]) offset 1m", "1:1: parse error: offset modifier must be preceded by an instant vector selector or range vector selector or a subquery"],
  ["1 @ 10", "1:1: parse error: @ modifier must be preceded by an instant vector selector or range vector selector or a subquery"],
  ["(foo)[5m]", "1:6: parse error: ranges only allowed for vector selectors"],
  ["foo offset 5m[1m]", "1:14: parse error: no offset modifiers allowed before range"],
  ["foo @ 10 [1m]", "1:10: parse error: no @ modifiers allowed before range"],
  ["foo offset 1m offset 2m", "1:1: parse error: offset may not be set multiple times"],
  ["foo @ 1 @ 2", "1:1: parse error: @ <timestamp> may not be set multiple times"],
  ["foo @ Inf", "1:1: parse error: timestamp out of bounds for @ modifier: +Inf"],
  ["foo @ bar", "1:7: parse error: unexpected identifier \"bar\" in @, expected timestamp"],
  ["foo offset bar", "1:12: parse error: unexpected identifier \"bar\" in offset, expected number, duration, step(), or range()"],
  ["foo{__name__=\"bar\"}", "1:1: parse error: metric name must not be set twice: \"foo\" or \"bar\""],
  ["{}", "1:1: parse error: vector selector must contain at least one non-empty matcher"],
  ["{x=\"\"}", "1:1: parse error: vector selector must contain at least one non-empty matcher"],
  ["{x=~\".*\"}", "1:1: parse error: vector selector must contain at least one non-empty matcher"],
  ["{x!~\".+\"}", "1:1: parse error: vector selector must contain at least one non-empty matcher"],
  ["{x=~\"(\"}", "1:2: parse error: error parsing regexp: missing closing ): `^(?s:()$`"],
  ["foo and 1", "1:1: parse error: set operator \"and\" not allowed in binary scalar expression"],
  ["foo + on(a) group_left(a) bar", "1:5: parse error: label \"a\" must not occur in ON and GROUP clause at once"],
  ["foo and on(a) group_left bar", "1:1: parse error: no grouping allowed for \"and\" operation"],
  ["1 + on(a) foo", "1:1: parse error: vector matching only allowed between instant vectors"],
  ["foo + bool bar", "1:5: parse error: bool modifier can only be used on comparison operators"],
  ["1 == 1", "1:3: parse error: comparisons between scalars must use BOOL modifier"],
  ["sum(foo, bar)", "1:1: parse error: wrong number of arguments for aggregate expression provided, expected 1, got 2"],
  ["topk(foo)", "1:1: parse error: wrong number of arguments for aggregate expression provided, expected 2, got 1"],
  ["sum()", "1:1: parse error: no arguments for aggregate expression provided"],
  ["topk(\"a\", foo)", "1:6: parse error: expected type scalar in aggregation parameter, got string"],
  ["count_values(1, foo)", "1:14: parse error: expected type string in aggregation parameter, got scalar"],
  ["sum(rate(foo[5m])[5m])", "1:18: parse error: ranges only allowed for vector selectors"],
  ["sum(foo[5m])", "1:5: parse error: expected type instant vector in aggregation expression, got range vector"],
  ["rate(foo)", "1:6: parse error: expected type range vector in call to function \"rate\", got instant vector"],
  ["rate(foo[5m], 1)", "1:1: parse error: expected 1 argument(s) in call to \"rate\", got 2"],
  ["round()", "1:1: parse error: expected at least 1 argument(s) in call to \"round\", got 0"],
  ["round(foo, 1, 2)", "1:1: parse error: expected at most 2 argument(s) in call to \"round\", got 3"],
  ["label_join(foo, \"a\")", "1:1: parse error: expected at least 3 argument(s) in call to \"label_join\", got 2"],
  ["foo(1)", "1:1: parse error: unknown function with name \"foo\""],
  ["RATE(foo[5m])", "1:1: parse error: unknown function with name \"RATE\""],
  ["holt_winters_x(foo[5m])", "1:1: parse error: unknown function with name \"holt_winters_x\""],
  ["rate(foo[5m],)", "1:13: parse error: trailing commas not allowed in function call args"],
  ["sum by (foo:bar) (x)", "1:9: parse error: unexpected metric identifier \"foo:bar\" in grouping opts, expected label"],
  ["sum by (1) (x)", "1:9: parse error: unexpected number \"1\" in grouping opts, expected label"],
  ["sum by x (y)", "1:8: parse error: unexpected identifier \"x\" in grouping opts, expected \"(\""],
  ["sum by (a) by (b) (x)", "1:12: parse error: unexpected <by> in aggregation"],
  ["-\"a\"", "1:1: parse error: unary expression only allowed on expressions of type scalar or instant vector, got \"string\""],
  ["-foo[5m]", "1:1: parse error: unary expression only allowed on expressions of type scalar or instant vector, got \"range vector\""],
  ["foo[5m][10m:]", "1:1: parse error: subquery is only allowed on instant vector, got matrix instead"],
  ["\"a\" + 1", "1:1: parse error: binary expression must contain only scalar and instant vector types"],
  ["\"unterminated", "1:1: parse error: unterminated quoted string"],
  ["\"a\nb\"", "1:1: parse error: unterminated quoted string"],
  ["`raw", "1:1: parse error: unterminated raw string"],
  ["\"\\q\"", "1:1: parse error: unknown escape sequence U+0071 'q'"],
  ["\"\\xZZ\"", "1:1: parse error: illegal character U+005A 'Z' in escape sequence"],
  ["\"\\uD800\"", "1:1: parse error: escape sequence is an invalid Unicode code point"],
  ["'\\\"'", "1:1: parse error: unknown escape sequence U+0022 '\"'"],
  ["foo{a=\"\ud800\"}", "1:7: parse error: invalid UTF-8 rune"],
  ["foo smoothed anchored", "1:1: parse error: anchored and smoothed modifiers cannot be used together"],
  ["sum(x) anchored", "1:1: parse error: anchored modifier not implemented"],
  ["foo[5m:] smoothed", "1:1: parse error: smoothed modifier is not supported for subqueries"],
  ["foo smoothed [5m]", "1:14: parse error: no smoothed modifier allowed before range"],
  ["info(foo, bar)", "1:11: parse error: expected label selectors only, got vector selector instead"],
  ["a and fill(0) b", "1:1: parse error: filling in missing series not allowed for set operators"],
  ["1 + fill(0) b", "1:1: parse error: filling in missing series only allowed between instant vectors"],
  ["info(foo, rate(x[5m]))", "1:11: parse error: expected label selectors only"],
  ["a + fill(0) fill_left(1) b", "1:13: parse error: duplicate fill modifier for the left side"],
  ["x[1e999]", "1:3: parse error: error parsing number: strconv.ParseFloat: parsing \"1e999\": value out of range"],
  ["0xFFFFFFFFFFFFFFFFFF", "1:1: parse error: error parsing number: strconv.ParseFloat: parsing \"0xFFFFFFFFFFFFFFFFFF\": invalid syntax"],
  ["1e", "1:1: parse error: bad number or duration syntax: \"1e\""],
  ["foo\n  + bar baz", "2:9: parse error: unexpected identifier \"baz\""],
  ["{\"é😀\"} baz", "1:12: parse error: unexpected identifier \"baz\""],
  // Cases from Prometheus' own parser tests.
  [".", "1:1: parse error: unexpected character: '.'"],
  ["2.5.", "1:1: parse error: bad number or duration syntax: \"2.5.\""],
  ["100..4", "1:1: parse error: bad number or duration syntax: \"100..\""],
  ["0deadbeef", "1:1: parse error: bad number or duration syntax: \"0de\""],
  ["1__0", "1:1: parse error: bad number or duration syntax: \"1__\""],
  ["(1))", "1:5: parse error: unexpected right parenthesis ')'"],
  ["((1)", "1:5: parse error: unclosed left parenthesis"],
  ["1 !~ 1", "1:3: parse error: unexpected character after '!': '~'"],
  ["1 =~ 1", "1:3: parse error: unexpected character after '=': '~'"],
  ["@@", "1:1: parse error: unexpected <op:@>"],
  ["a - on(b) ignoring(c) d", "1:11: parse error: unexpected <ignoring>"],
  ["foo + group_left(baz) bar", "1:7: parse error: unexpected <group_left>"],
  ["foo and bool 10", "1:5: parse error: bool modifier can only be used on comparison operators"],
  ["1 or on(bar) foo", "1:1: parse error: vector matching only allowed between instant vectors"],
  ["}", "1:1: parse error: unexpected character: '}'"],
  ["some_metric{a=b}", "1:15: parse error: unexpected identifier \"b\" in label matching, expected string"],
  ["some_metric{a:b=\"b\"}", "1:14: parse error: unexpected character inside braces: ':'"],
  ["foo{a>=\"b\"}", "1:6: parse error: unexpected character inside braces: '>'"],
  ["foo{,}", "1:5: parse error: unexpected \",\" in label matching, expected identifier or \"}\""],
  ["foo{__name__ == \"bar\"}", "1:15: parse error: unexpected \"=\" in label matching, expected string"],
  ["foo{\"a\"=}", "1:9: parse error: unexpected \"}\" in label matching, expected string"],
  ["foo[5m1]", "1:5: parse error: bad number or duration syntax: \"5m1\""],
  ["foo[5y1hs]", "1:5: parse error: unknown unit \"hs\" in duration \"5y1hs\""],
  ["foo[\"5m\"]", "1:5: parse error: unexpected character in duration expression: '\"'"],
  ["foo[-1]", "1:5: parse error: duration must be greater than 0"],
  ["foo[step]", "1:9: parse error: unexpected \"]\" in subquery or range selector, expected number, duration, step(), or range()"],
  ["foo[5s/0d]", "1:7: parse error: division by zero"],
  ["foo offset (4d/0)", "1:15: parse error: division by zero"],
  ["foo[5s%0d]", "1:7: parse error: modulo by zero"],
  ["foo offset 9.5e10", "1:12: parse error: duration out of range"],
  ["foo[5s x 5s]", "1:8: parse error: unexpected character: 'x', expected ':'"],
  ["some_metric[5m] OFFSET", "1:23: parse error: unexpected end of input in offset, expected number, duration, step(), or range()"],
  ["some_metric[5m] @", "1:18: parse error: unexpected end of input in @, expected timestamp"],
  ["sum without(==)(some_metric)", "1:13: parse error: unexpected <op:==> in grouping opts, expected label"],
  ["sum without(foo,,)(some_metric)", "1:17: parse error: unexpected \",\" in grouping opts, expected label"],
  ["sum some_metric by (test)", "1:5: parse error: unexpected identifier \"some_metric\""],
  ["sum (some_metric) without (test) by (test)", "1:34: parse error: unexpected <by>"],
  ["topk(some_metric,)", "1:17: parse error: trailing commas not allowed in function call args"],
  ["\"\\", "1:1: parse error: escape sequence not terminated"],
  ["`\\``", "1:4: parse error: unterminated raw string"],
  ["-=", "1:2: parse error: unexpected \"=\""],
  ["++-++-+-+-<", "1:11: parse error: unexpected <op:<>"],
  ["a>b()", "1:3: parse error: unknown function with name \"b\""],
  ["sum(rate(", "1:10: parse error: unclosed left parenthesis"],
  ["foo:bar(1)", "1:8: parse error: unexpected \"(\""],
  ["foo 12345678901234", "1:5: parse error: unexpected number \"1234567890\"..."],
  ["foo \"a long string\"", "1:5: parse error: unexpected string \"\\\"a long st\"..."],
  ["foo start", "1:5: parse error: unexpected \"start\""],
  ["foo offset 1m smoothed smoothed x", "1:33: parse error: unexpected identifier \"x\""],
  ["foo{bar=\"baz\"}[", "1:16: parse error: unexpected end of input in duration expression"],
];

test("invalid queries fail with Prometheus' position and message", () => {
  for (const [query, message] of invalid) {
    try {
      parse(query);
    } catch (e) {
      assert.instance(e, PromqlParseError, `query ${JSON.stringify(query)}`);
      assert.is((e as Error).message, message, `query ${JSON.stringify(query)}`);
      continue;
    }
    assert.unreachable(`expected ${JSON.stringify(query)} to be rejected`);
  }
});

test("errors carry offset, line and column", () => {
  try {
    parse("sum(foo)\n  + bar baz");
    assert.unreachable("should fail");
  } catch (e) {
    assert.instance(e, PromqlParseError);
    const err = e as PromqlParseError;
    assert.is(err.position, 17);
    assert.is(err.line, 2);
    assert.is(err.column, 9);
    assert.equal(err.positionRange, { start: 17, end: 20 });
  }
});

test("deep nesting is a parse error, never a stack overflow", () => {
  const cases = [
    "(".repeat(10_000) + "1" + ")".repeat(10_000),
    "-".repeat(10_000) + "1",
    Array(5_000).fill("2").join(" ^ "),
    Array(5_000).fill("a").join(" + "),
    "sum(".repeat(5_000) + "x" + ")".repeat(5_000),
    "x[" + "(".repeat(5_000) + "1" + ")".repeat(5_000) + "]",
  ];
  for (const q of cases) {
    const started = process.cpuUsage();
    try {
      parse(q);
      assert.unreachable("should fail");
    } catch (e) {
      assert.instance(e, PromqlParseError);
      assert.match((e as Error).message, `query is nested too deeply: more than ${MAX_NESTING} levels`);
    }
    assert.ok(cpuMsSince(started) < 1000, "deep input is rejected quickly");
  }
  // Very long argument and matcher lists are not nesting and parse.
  const manyArgs = parse(`label_join(x, "dst", ","${', "src"'.repeat(200_000)})`);
  assert.is(manyArgs.type === "Call" && manyArgs.args.length, 200_003);
  const manyMatchers = parse(`foo{${'a="b",'.repeat(100_000)}}`);
  assert.is(manyMatchers.type === "VectorSelector" && manyMatchers.matchers.length, 100_001);
  // Just below the limit still parses.
  const ok = "(".repeat(300) + "1" + ")".repeat(300);
  assert.is(parse(ok).type, "ParenExpr");
});

test("the deepest queries the parser accepts evaluate without exhausting the stack", async () => {
  const storage = await new StorageBuilder().withTimestampPrecision("ms").build();
  await storage.insertRows([{ metric: "up", labels: [{ name: "job", value: "a" }], dataPoint: { timestamp: 0, value: 2 } }]);
  const engine = new PromqlEngine(storage);
  const n = MAX_NESTING - 10;
  const deepest: [string, number][] = [
    ["abs(".repeat(n) + "up" + ")".repeat(n), 2],
    ["(".repeat(n) + "up" + ")".repeat(n), 2],
    [Array(n).fill("up").join(" * "), 2 ** n],
    ["sum(".repeat(n) + "up" + ")".repeat(n), 2],
    ["-".repeat(2 * Math.floor(n / 4)) + "up", 2], // an even number of minus signs; each takes two levels
  ];
  for (const [q, value] of deepest) {
    parse(q);
    const result = await engine.rangeQuery(q, 0, 60_000, 15_000);
    assert.is(result.resultType, "matrix", q.slice(0, 20));
    if (result.resultType !== "matrix") continue;
    assert.equal([...result.result[0]!.values], [value, value, value, value, value], q.slice(0, 20));
  }
});

test("pathological regexes are rejected (or accepted) quickly, with RE2's messages", () => {
  const cases: [string, RegExp | null][] = [
    ["(".repeat(50_000) + "a" + ")".repeat(50_000), /expression nests too deeply/],
    ["(a{1000}){1000}", /invalid repeat count/],
    ["(a{999}b{999}){999}", /expression too large/],
    ["((((((((((x{2}){2}){2}){2}){2}){2}){2}){2}){2}){2})", /invalid repeat count/],
    ["(a)\\\\1", /invalid escape sequence/],
    ["(?=a)", /invalid or unsupported Perl syntax/],
    ["x**", /invalid nested repetition operator/],
    ["(?i)foo(?-i)bar|\\\\p{Greek}+", null],
    ["[a-z]{1000}", null],
  ];
  for (const [re, error] of cases) {
    const started = process.cpuUsage();
    const query = `{a=~"${re}"}`;
    if (error) {
      assert.throws(() => parse(query), (e: unknown) => e instanceof PromqlParseError && error.test((e as Error).message), re.slice(0, 40));
    } else {
      assert.is(parse(query).type, "VectorSelector");
    }
    assert.ok(cpuMsSince(started) < 2000, `regex ${re.slice(0, 40)} took too long`);
  }
});

test("parseDuration: Prometheus duration strings in ms", () => {
  assert.is(parseDuration("1h30m"), 5_400_000);
  assert.is(parseDuration("5m"), 300_000);
  assert.is(parseDuration("1d"), 86_400_000);
  assert.is(parseDuration("1w"), 604_800_000);
  assert.is(parseDuration("1y"), 31_536_000_000);
  assert.is(parseDuration("100ms"), 100);
  assert.is(parseDuration("1m30s500ms"), 90_500);
  assert.is(parseDuration("0"), 0);
  assert.throws(() => parseDuration(""), /empty duration string/);
  assert.throws(() => parseDuration("5"), /not a valid duration string/);
  assert.throws(() => parseDuration("1s1m"), /not a valid duration string/);
  assert.throws(() => parseDuration("1x"), /unknown unit "x"/);
  assert.throws(() => parseDuration("300y"), /duration out of range/);
});

test("resolveDurations fills step()/range() expressions for a query", () => {
  const expr = parse("count_over_time(foo[step() + 1ms] offset -step()) + sum_over_time(foo[1m:range()])");
  const resolved = resolveDurations(expr, { stepMs: 10_000, rangeMs: 60_000 });
  assert.is(show(resolved), "(count_over_time(foo{__name__=\"foo\"} offset -10000[10001]) + sum_over_time(sq(foo{__name__=\"foo\"})[60000:60000]))");
  // The parsed tree is left as it was.
  assert.match(show(expr), "<expr>");
  const unchanged = parse("rate(foo[5m])");
  assert.is(resolveDurations(unchanged, { stepMs: 1, rangeMs: 0 }), unchanged);
  assert.throws(() => resolveDurations(parse("foo[range()]"), { stepMs: 0, rangeMs: 0 }), /duration must be greater than 0/);
  assert.throws(() => resolveDurations(parse("foo[1h / (step() - 10)]"), { stepMs: 10_000, rangeMs: 0 }), /division by zero/);
  assert.is(show(resolveDurations(parse("foo offset min_of(step(), 1s) + 1"), { stepMs: 5000, rangeMs: 0 })), "(foo{__name__=\"foo\"} offset 1000 + 1)");
});

test("formatExpr prints Prometheus-style PromQL", () => {
  const cases: [string, string][] = [
    ["SUM BY (job) (rate(foo{a='b'}[1h30m] offset -5m))", 'sum by (job) (rate(foo{a="b"}[1h30m] offset -5m))'],
    ["topk(3, x) WITHOUT (a)", "topk without (a) (3, x)"],
    ["a / ON(x) GROUP_LEFT(y) fill_left(0) b", "a / on (x) group_left (y) fill_left (0) b"],
    ["a > bool fill(NaN) b", "a > bool fill (NaN) b"],
    ["-2 ^ -(3)", "-2 ^ -(3)"],
    ["{\"foo.bar\", \"a b\"=~\"x\"}", '{__name__="foo.bar", "a b"=~"x"}'],
    ["x[5m:] @ start()", "x[5m:] @ start()"],
    ["x @ 1603774568.5 offset 1m", "x offset 1m @ 1603774568.500"],
    ["foo[2m*step()] anchored", "foo[(120 * step())] anchored"],
    ["foo offset -step()", "foo offset -step()"],
    ["\"a\\xc5\\n\"", '"a\\xc5\\n"'],
    ["1e3 + Inf", "1000 + +Inf"],
  ];
  for (const [query, printed] of cases) assert.is(formatExpr(parse(query)), printed, query);
  assert.is(formatDuration(5_400_000), "1h30m");
  assert.is(formatDuration(90_061_001), "1d1h1m1s1ms");
  assert.is(formatDuration(0), "0s");
});

test("function table: signatures as in Prometheus", () => {
  const rate = FUNCTIONS.get("rate")!;
  assert.equal([rate.argTypes, rate.returnType, rate.minArgs, rate.maxArgs], [["matrix"], "vector", 1, 1]);
  const round = FUNCTIONS.get("round")!;
  assert.equal([round.minArgs, round.maxArgs], [1, 2]);
  const labelJoin = FUNCTIONS.get("label_join")!;
  assert.equal([labelJoin.minArgs, labelJoin.maxArgs], [3, Infinity]);
  assert.is(FUNCTIONS.get("time")!.returnType, "scalar");
  assert.is(FUNCTIONS.get("info")!.experimental, true);
  // Every function of the reference behaviour (section 3).
  const reference = [
    "rate", "irate", "increase", "delta", "idelta", "changes", "resets",
    "avg_over_time", "sum_over_time", "min_over_time", "max_over_time", "count_over_time", "last_over_time",
    "present_over_time", "stddev_over_time", "stdvar_over_time", "mad_over_time", "quantile_over_time",
    "histogram_quantile", "histogram_avg", "histogram_count", "histogram_sum", "histogram_stddev", "histogram_stdvar",
    "histogram_fraction", "deriv", "predict_linear", "double_exponential_smoothing", "holt_winters",
    "abs", "ceil", "floor", "round", "sqrt", "exp", "ln", "log2", "log10", "sgn", "clamp", "clamp_min", "clamp_max", "pi",
    "sin", "cos", "tan", "asin", "acos", "atan", "sinh", "cosh", "tanh", "asinh", "acosh", "atanh", "deg", "rad",
    "time", "timestamp", "minute", "hour", "day_of_week", "day_of_month", "day_of_year", "days_in_month", "month", "year",
    "label_replace", "label_join", "drop_common_labels", "scalar", "vector", "sort", "sort_desc", "sort_by_label",
    "sort_by_label_desc", "absent", "absent_over_time", "count_scalar", "info",
  ];
  assert.equal(reference.filter((name) => !FUNCTIONS.has(name)), []);
});

test.run();
