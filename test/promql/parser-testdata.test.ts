// Parser over Prometheus' own promqltest files: every `eval` query must parse and print back
// through formatExpr into the same tree. (None of the files' `expect fail` cases fails in Prometheus' parser: their
// messages carry no "parse error" position, so they must parse here too and fail later, in the engine.)
import { readdirSync, readFileSync } from "node:fs";
import { resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { test } from "uvu";
import * as assert from "uvu/assert";
import type { Expr } from "../../src/promql/ast.js";
import { extendedRangeSelectorError, formatExpr, parse } from "../../src/promql/parser/index.js";
import { astShape } from "./ast-shape.js";
import { parseScript } from "./promqltest.js";

const repoRoot = resolve(fileURLToPath(new URL("../..", import.meta.url)));
const testDir = process.env.TSINK_PROMQLTEST_DIR ?? resolve(repoRoot, "..", "shared", "promqltest");

interface EvalCase { file: string; line: number; query: string; fail: boolean; failMessage?: string }

const cases: EvalCase[] = [];
for (const file of readdirSync(testDir).filter((f) => f.endsWith(".test")).sort()) {
  for (const cmd of parseScript(readFileSync(resolve(testDir, file), "utf8"))) {
    if (cmd.kind !== "eval") continue;
    const c: EvalCase = { file, line: cmd.line, query: cmd.query, fail: cmd.fail };
    if (cmd.failMessage !== undefined) c.failMessage = cmd.failMessage;
    cases.push(c);
  }
}

test("the promqltest files hold eval cases", () => {
  assert.ok(cases.length > 2000, `found ${cases.length} eval cases in ${testDir}`);
});

test("every eval query parses, expect-fail ones included", () => {
  assert.ok(cases.some((c) => c.fail), "the files hold expect-fail cases");
  const failures: string[] = [];
  for (const c of cases) {
    try {
      parse(c.query);
    } catch (e) {
      failures.push(`${c.file}:${c.line}: ${c.query}\n    ${(e as Error).message}`);
    }
  }
  assert.is(failures.length, 0, `queries that do not parse:\n${failures.join("\n")}`);
});

test("every parsed eval query prints back into the same tree", () => {
  const failures: string[] = [];
  for (const c of cases) {
    let expr: Expr;
    try {
      expr = parse(c.query);
    } catch {
      continue;
    }
    const printed = formatExpr(expr);
    try {
      if (astShape(parse(printed)) !== astShape(expr)) failures.push(`${c.file}:${c.line}: ${c.query}\n    printed as ${printed}`);
    } catch (e) {
      failures.push(`${c.file}:${c.line}: ${c.query}\n    printed as ${printed}: ${(e as Error).message}`);
    }
  }
  assert.is(failures.length, 0, failures.join("\n"));
});

// `expect fail` cases with the anchored/smoothed restriction: Prometheus reports them from its engine (no position in
// the message), so they parse, and extendedRangeSelectorError gives exactly the expected message.
const extendedSelectorFailures = cases.filter((c) => c.fail && /modifier can only be used with/.test(c.failMessage ?? ""));

test("anchored/smoothed misuse parses and extendedRangeSelectorError gives Prometheus' message", () => {
  assert.ok(extendedSelectorFailures.length >= 8, `found ${extendedSelectorFailures.length} cases`);
  for (const c of extendedSelectorFailures) {
    const expr = parse(c.query);
    assert.is(expr.type, "Call", `${c.file}:${c.line}`);
    if (expr.type !== "Call") continue;
    assert.is(extendedRangeSelectorError(expr), c.failMessage!.trim(), `${c.file}:${c.line}`);
  }
  // The allowed combinations from the same file report nothing.
  for (const q of ["rate(foo[3m] smoothed)", "resets(foo[3m] anchored)", "increase(foo[1m] anchored)", "delta(foo[1m] smoothed)"]) {
    const expr = parse(q);
    assert.is(expr.type === "Call" ? extendedRangeSelectorError(expr) : "not a call", undefined, q);
  }
});

test("compliance query list parses (except the one Prometheus also rejects)", () => {
  const queries = readFileSync(resolve(testDir, "compliance-queries.txt"), "utf8")
    .split("\n")
    .filter((l) => l.trim() !== "" && !l.startsWith("#"));
  assert.ok(queries.length > 100);
  const rejected = queries.filter((q) => {
    try {
      parse(q);
      return false;
    } catch {
      return true;
    }
  });
  assert.equal(rejected, ['{__name__=~".*"}']);
});

test.run();
