// Parser property tests: hostile input (random strings, token soups, mutated queries) only ever yields an AST or a
// PromqlParseError, quickly; generated well-typed queries always parse, with the type they were built to have.
import fc from "fast-check";
import { test } from "uvu";
import * as assert from "uvu/assert";
import type { Expr } from "../../src/promql/ast.js";
import { exprType, formatExpr, parse, parseDuration, PromqlParseError } from "../../src/promql/parser/index.js";
import { astShape } from "./ast-shape.js";

const LIMIT_MS = 100;

/** CPU ms (this process) of one parse: wall time would count the other processes on a loaded machine. */
function timedParse(query: string): number {
  const started = process.cpuUsage();
  try {
    parse(query);
  } catch (e) {
    if (!(e instanceof PromqlParseError)) throw new Error(`non-parse error for ${JSON.stringify(query)}: ${String(e)}`);
    assert.ok(e.position >= 0 && e.position <= query.length, "error position lies inside the query");
  }
  const used = process.cpuUsage(started);
  return (used.user + used.system) / 1000;
}

function parsesOrRejects(query: string): void {
  // A single slow run may be a GC pause; a slow input is slow on the second run too.
  let took = timedParse(query);
  if (took >= LIMIT_MS) took = timedParse(query);
  assert.ok(took < LIMIT_MS, `parse of ${JSON.stringify(query).slice(0, 200)} took ${took.toFixed(1)} ms`);
}

const TOKENS = [
  "sum", "avg", "topk", "count_values", "by", "without", "on", "ignoring", "group_left", "group_right", "bool",
  "offset", "@", "start()", "end()", "step()", "range()", "min_of", "anchored", "smoothed", "fill", "fill_left(", "and",
  "or", "unless", "atan2", "rate", "foo", "bar:baz", "__name__", "(", ")", "{", "}", "[", "]", ":", ",", "+", "-", "*",
  "/", "%", "^", "==", "!=", "<", ">", "<=", ">=", "</", ">/", "=", "=~", "!~", "!", "5m", "1h30m", "0x1F", "1e3", ".5",
  "Inf", "NaN", "1_0", "'a'", "\"b\\n\"", "`c`", "\"\\x", "#", "\n", " ", "\ud800", "é", "label_replace", "info", "\"",
];

test("random strings never crash the parser", () => {
  fc.assert(fc.property(fc.string({ unit: "binary", maxLength: 80 }), parsesOrRejects), { numRuns: 2000 });
  fc.assert(fc.property(fc.string({ unit: "grapheme-ascii", maxLength: 80 }), parsesOrRejects), { numRuns: 2000 });
});

test("token soups never crash the parser", () => {
  const soup = fc.tuple(fc.array(fc.constantFrom(...TOKENS), { maxLength: 40 }), fc.constantFrom("", " "))
    .map(([tokens, sep]) => tokens.join(sep));
  fc.assert(fc.property(soup, parsesOrRejects), { numRuns: 3000 });
});

// ---- generator of well-typed queries ----

const metricName = fc.constantFrom("foo", "http_requests_total", "job:rate5m", "by", "offset", "fill", "start");
const matcher = fc.constantFrom('a="b"', 'job=~"api.+"', 'c!="d"', 'e!~"x|y"', '"f.g"="h"', "on='x'", "code=`5..`");
const matchers = fc.array(matcher, { minLength: 0, maxLength: 3 }).map((ms) => (ms.length ? `{${ms.join(", ")}}` : ""));
const offset = fc.constantFrom("", " offset 5m", " offset -1h30m", " offset 10", " offset (1m + step())");
const at = fc.constantFrom("", " @ 100", " @ start()", " @ end()", " @ 1m40s");
const selector = fc.tuple(metricName, matchers).map(([n, m]) => n + m);
const rangeDur = fc.constantFrom("5m", "1h", "90", "2m*3", "step()+1m", "1h30m");
const label = fc.constantFrom("a", "job", "instance", '"x.y"', "le");
const grouping = fc.array(label, { maxLength: 3 }).map((ls) => `(${ls.join(", ")})`);

type Arb = fc.Arbitrary<string>;
// Binary operands are parenthesized so the intended types survive operator precedence.
const typed = fc.letrec<{ scalar: string; vector: string; matrix: string }>((tie) => {
  const scalar = tie("scalar") as Arb;
  const vector = tie("vector") as Arb;
  const matrix = tie("matrix") as Arb;
  return {
    scalar: fc.oneof(
      { depthSize: "small", withCrossShrink: true },
      fc.constantFrom("1", "-2.5", "0x1F", "1e3", ".5", "Inf", "-NaN", "1_000", "5m", "0755"),
      fc.constantFrom("time()", "pi()", "step()"),
      vector.map((v) => `scalar(${v})`),
      fc.tuple(scalar, fc.constantFrom("+", "-", "*", "/", "%", "^", "atan2", "== bool", "> bool"), scalar).map(([a, op, b]) => `(${a}) ${op} (${b})`),
      scalar.map((s) => `(${s})`),
      scalar.map((s) => `-${s}`),
      fc.tuple(scalar, scalar).map(([a, b]) => `min_of(${a}, ${b})`),
    ),
    vector: fc.oneof(
      { depthSize: "small", withCrossShrink: true },
      fc.tuple(selector, offset, at).map(([s, o, a]) => s + o + a),
      matrix.map((m) => `rate(${m})`),
      fc.tuple(fc.constantFrom("rate", "increase", "delta"), selector, rangeDur, fc.constantFrom("anchored", "smoothed"))
        .map(([f, s, r, x]) => `${f}(${s}[${r}] ${x})`),
      fc.tuple(scalar, matrix).map(([s, m]) => `quantile_over_time(${s}, ${m})`),
      fc.tuple(fc.constantFrom("sum", "avg", "max", "group"), fc.constantFrom("by", "without"), grouping, vector)
        .map(([op, mod, g, v]) => `${op} ${mod} ${g} (${v})`),
      fc.tuple(fc.constantFrom("sum", "count", "stddev"), vector, fc.constantFrom("by", "WITHOUT"), grouping)
        .map(([op, v, mod, g]) => `${op}(${v}) ${mod} ${g}`),
      fc.tuple(fc.constantFrom("topk", "bottomk", "quantile", "limitk", "limit_ratio"), scalar, vector).map(([op, s, v]) => `${op}(${s}, ${v})`),
      fc.tuple(vector, fc.constantFrom("+", "-", "*", "/", "^", "==", "!= bool", ">", "and", "or", "unless", "atan2", "</"), vector)
        .map(([a, op, b]) => `(${a}) ${op} (${b})`),
      fc.tuple(vector, fc.constantFrom("+ on(a)", "* ignoring(b) group_left(c)", "/ on() group_right()", "- fill(0)", "> bool on(a) fill_left(1) fill_right(2)"), vector)
        .map(([a, op, b]) => `(${a}) ${op} (${b})`),
      fc.tuple(vector, fc.constantFrom("+", "*", "<", "== bool"), scalar).map(([a, op, b]) => `(${a}) ${op} (${b})`),
      fc.tuple(scalar, fc.constantFrom("-", "/", ">="), vector).map(([a, op, b]) => `(${a}) ${op} (${b})`),
      vector.map((v) => `(${v})`),
      vector.map((v) => `-${v}`),
      vector.map((v) => `abs(${v})`),
      vector.map((v) => `label_replace(${v}, "dst", "$1", "src", "(.*)")`),
      fc.tuple(scalar, vector).map(([s, v]) => `histogram_quantile(${s}, ${v})`),
      scalar.map((s) => `vector(${s})`),
      matrix.map((m) => `max_over_time(${m})`),
    ),
    matrix: fc.oneof(
      { depthSize: "small", withCrossShrink: true },
      fc.tuple(selector, rangeDur, offset, at).map(([s, r, o, a]) => `${s}[${r}]${o}${a}`),
      fc.tuple(vector, rangeDur, fc.constantFrom("", "1m", "30s+30s")).map(([v, r, st]) => `(${v})[${r}:${st}]`),
    ),
  };
});

test("generated well-typed queries parse with the intended type", () => {
  const cases = fc.oneof(
    typed.scalar.map((q) => [q, "scalar"] as const),
    typed.vector.map((q) => [q, "vector"] as const),
    typed.matrix.map((q) => [q, "matrix"] as const),
  );
  fc.assert(
    fc.property(cases, ([query, type]) => {
      let expr;
      try {
        expr = parse(query);
      } catch (e) {
        throw new Error(`${JSON.stringify(query)}: ${(e as Error).message}`);
      }
      assert.is(exprType(expr), type, query);
      assert.ok(expr.pos.start >= 0 && expr.pos.end <= query.length);
    }),
    { numRuns: 1000 },
  );
});

test("formatExpr output parses back into the same tree", () => {
  fc.assert(
    fc.property(fc.oneof(typed.scalar, typed.vector, typed.matrix), (query) => {
      const expr = parse(query);
      const printed = formatExpr(expr);
      let again: Expr;
      try {
        again = parse(printed);
      } catch (e) {
        throw new Error(`${JSON.stringify(query)} printed as ${JSON.stringify(printed)}: ${(e as Error).message}`);
      }
      assert.is(astShape(again), astShape(expr), `${query}\n  printed as ${printed}`);
    }),
    { numRuns: 1000 },
  );
});

test("duration literals in ranges and offsets keep their exact ms value", () => {
  const units = ["y", "w", "d", "h", "m", "s", "ms"] as const;
  const duration = fc.array(fc.nat({ max: 150 }), { minLength: units.length, maxLength: units.length })
    .chain((counts) => fc.subarray([...units.keys()], { minLength: 1 }).map((used) => used.map((i) => `${counts[i]}${units[i]}`).join("")))
    .filter((d) => parseDuration(d) > 0);
  fc.assert(
    fc.property(duration, (d) => {
      const ms = parseDuration(d);
      const expr = parse(`sum_over_time(x[${d}] offset -${d})`);
      if (expr.type !== "Call" || expr.args[0]!.type !== "MatrixSelector") throw new Error("unexpected tree");
      assert.is(expr.args[0]!.rangeMs, ms, d);
      assert.is(expr.args[0]!.vector.offsetMs, -ms, d);
    }),
    { numRuns: 1000 },
  );
});

test("mutated valid queries never crash the parser", () => {
  const mutated = fc.tuple(typed.vector, fc.nat(), fc.nat({ max: 5 }), fc.constantFrom(...TOKENS))
    .map(([q, at, del, ins]) => {
      const i = at % (q.length + 1);
      return q.slice(0, i) + ins + q.slice(i + del);
    });
  fc.assert(fc.property(mutated, parsesOrRejects), { numRuns: 2000 });
});

test.run();
