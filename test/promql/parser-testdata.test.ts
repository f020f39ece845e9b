// Parser over Prometheus' own promqltest files: every `eval` query not marked `expect fail` must parse (and print back
// through formatExpr into the same tree), and every query that fails for parse reasons in Prometheus must be rejected
// here (with Prometheus' message where given).
import { readdirSync, readFileSync } from "node:fs";
import { resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { test } from "uvu";
import * as assert from "uvu/assert";
import type { Expr } from "../../src/promql/ast.js";
import { formatExpr, parse, PromqlParseError } from "../../src/promql/parser/index.js";
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

test("every eval query not expected to fail parses", () => {
  const failures: string[] = [];
  for (const c of cases.filter((x) => !x.fail)) {
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

// `expect fail` cases whose failure Prometheus reports from its parser (the rest fail at evaluation time).
const parseFailures = cases.filter((c) => c.fail && /modifier can only be used with/.test(c.failMessage ?? ""));

test("expect-fail cases that Prometheus rejects while parsing are rejected with its message", () => {
  assert.ok(parseFailures.length >= 8, `found ${parseFailures.length} parse-failure cases`);
  for (const c of parseFailures) {
    try {
      parse(c.query);
    } catch (e) {
      assert.instance(e, PromqlParseError);
      assert.match((e as Error).message, c.failMessage!.trim(), `${c.file}:${c.line}`);
      continue;
    }
    assert.unreachable(`${c.file}:${c.line}: ${c.query} should not parse`);
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
