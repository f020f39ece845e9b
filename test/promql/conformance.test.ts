// PromQL conformance: runs every Prometheus promqltest file (../shared/promqltest, or $TSINK_PROMQLTEST_DIR) against
// PromqlEngine over a real in-memory tsink storage. One uvu test per eval case (instant cases also checked in range
// mode and with @-pinned selectors at other times, as promqltest does). Cases needing native histograms or start
// timestamps are skipped, decided statically from the test text (see skipReason); the counts are printed per reason.
import { test } from "uvu";
import { existsSync, readdirSync, readFileSync } from "node:fs";
import { basename, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { StorageBuilder, type Row } from "../../src/index.js";
import type { Storage } from "../../src/storage/engine.js";
import { PromqlEngine } from "../../src/promql/engine.js";
import { formatExpr, parse } from "../../src/promql/parser/index.js";
import type { Expr, LabelMatcher, VectorSelector } from "../../src/promql/ast.js";
import type { QueryData, QueryResult } from "../../src/promql/result.js";
import {
  almostEqual,
  checkAnnotations,
  parseScript,
  STALE_NAN,
  type Command,
  type EvalCommand,
  type ExpectedSeries,
  type Label,
  type LoadCommand,
} from "./promqltest.js";

const repoRoot = resolve(fileURLToPath(new URL("../..", import.meta.url)));
const testDir = process.env.TSINK_PROMQLTEST_DIR ?? resolve(repoRoot, "..", "shared", "promqltest");
/** tsink's own cases in the same format (pinned Prometheus 3 behaviour, annotations), reported as "tsink/<file>". */
const ownTestDir = resolve(repoRoot, "test", "promql", "testdata");
const testFiles = (dir: string) => readdirSync(dir).filter((f) => f.endsWith(".test")).sort().map((f) => join(dir, f));

const labelsKey = (labels: Label[]) =>
  labels
    .slice()
    .sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0))
    .map((l) => `${l.name}=${JSON.stringify(l.value)}`)
    .join(",");
const fmt = (labels: Label[]) => `{${labels.map((l) => `${l.name}=${JSON.stringify(l.value)}`).join(", ")}}`;

async function openStorage(): Promise<Storage> {
  return new StorageBuilder().withTimestampPrecision("ms").build();
}

async function load(storage: Storage, cmd: LoadCommand): Promise<void> {
  const rows: Row[] = [];
  for (const s of cmd.series) {
    const metric = s.labels.find((l) => l.name === "__name__")?.value;
    if (metric === undefined) throw new Error(`line ${cmd.line}: series without a metric name`);
    const labels = s.labels.filter((l) => l.name !== "__name__");
    s.values.forEach((v, i) => {
      if (v.kind === "value" || v.kind === "stale") {
        rows.push({ metric, labels, dataPoint: { timestamp: i * cmd.intervalMs, value: v.kind === "stale" ? STALE_NAN : v.value } });
      }
    });
  }
  if (rows.length > 0) await storage.insertRows(rows);
}

/** Checks a query result against the case's expectation; returns an error message or undefined. */
function compare(cmd: EvalCommand, result: QueryData): string | undefined {
  if (cmd.expectedString !== undefined) {
    if (result.resultType !== "string") return `expected string, got ${result.resultType}`;
    return result.value[1] === cmd.expectedString ? undefined : `expected string ${JSON.stringify(cmd.expectedString)}, got ${JSON.stringify(result.value[1])}`;
  }
  if (cmd.expectedScalar !== undefined) {
    if (result.resultType !== "scalar") return `expected scalar ${cmd.expectedScalar}, got ${result.resultType}`;
    return almostEqual(cmd.expectedScalar, result.value[1]) ? undefined : `expected scalar ${cmd.expectedScalar} but got ${result.value[1]}`;
  }
  const expected = new Map<string, ExpectedSeries & { pos: number }>();
  cmd.expected.forEach((e, pos) => expected.set(labelsKey(e.labels), { ...e, pos }));
  const seen = new Set<string>();
  if (result.resultType === "vector") {
    if (!cmd.instant) return "range query returned a vector";
    for (let pos = 0; pos < result.result.length; pos++) {
      const s = result.result[pos];
      const key = labelsKey(s.labels);
      const exp = expected.get(key);
      if (!exp) return `unexpected metric ${fmt(s.labels)} in result, has value ${s.value}`;
      if (seen.has(key)) return `duplicate metric ${fmt(s.labels)} in result`;
      seen.add(key);
      if (cmd.ordered && exp.pos !== pos) return `expected metric ${fmt(s.labels)} at position ${exp.pos + 1} but was at ${pos + 1}`;
      const v = exp.values[0];
      if (!v || v.kind !== "value") return `expected ${JSON.stringify(v)} for ${fmt(s.labels)} but got ${s.value}`;
      if (!almostEqual(v.value, s.value)) return `expected ${v.value} for ${fmt(s.labels)} but got ${s.value}`;
    }
  } else if (result.resultType === "matrix") {
    if (cmd.ordered) return "expected ordered result, but query returned a matrix";
    const grid = cmd.instant ? cmd.rangeVector : { start: cmd.start, end: cmd.end, step: cmd.step };
    if (!grid) return `instant query returned a range vector (${result.result.length} series) without an 'expect range vector' line`;
    for (const s of result.result) {
      const key = labelsKey(s.labels);
      const exp = expected.get(key);
      if (!exp) return `unexpected metric ${fmt(s.labels)} in result, has ${Array.from(s.values).join(" ")}`;
      seen.add(key);
      const points: { t: number; v: number }[] = [];
      exp.values.forEach((v, i) => {
        if (v.kind === "value") points.push({ t: grid.start + i * grid.step, v: v.value });
      });
      const got = Array.from(s.timestamps, (t, i) => `${s.values[i]}@${t}`).join(" ");
      if (points.length !== s.values.length) return `expected ${points.length} points for ${fmt(s.labels)}, got ${got}`;
      for (let i = 0; i < points.length; i++) {
        if (points[i].t !== s.timestamps[i]) return `expected point ${i} of ${fmt(s.labels)} at t=${points[i].t}, got ${got}`;
        if (!almostEqual(points[i].v, s.values[i])) return `expected ${points[i].v} at t=${points[i].t} for ${fmt(s.labels)}, got ${got}`;
      }
    }
  } else {
    return `expected a vector or matrix, got ${result.resultType} ${JSON.stringify(result.value)}`;
  }
  for (const [key, e] of expected) if (!seen.has(key)) return `expected metric ${fmt(e.labels)} not found`;
  return undefined;
}

async function runCase(engine: PromqlEngine, cmd: EvalCommand): Promise<string | undefined> {
  let result: QueryResult;
  try {
    result = cmd.instant ? await engine.instantQuery(cmd.query, cmd.start) : await engine.rangeQuery(cmd.query, cmd.start, cmd.end, cmd.step);
  } catch (error) {
    const message = (error as Error).message;
    if (!cmd.fail) return `unexpected error: ${message}`;
    if (cmd.failMessage !== undefined && cmd.failMessage !== message) return `expected error ${JSON.stringify(cmd.failMessage)}, got ${JSON.stringify(message)}`;
    if (cmd.failRegex && !cmd.failRegex.test(message)) return `expected error matching ${cmd.failRegex}, got ${JSON.stringify(message)}`;
    return undefined;
  }
  if (cmd.fail) return `expected error, got ${result.resultType} result`;
  const failure = compare(cmd, result) ?? checkAnnotations(cmd.annotations, result.warnings, result.infos);
  if (failure !== undefined || !cmd.instant) return failure;
  const atFailure = await compareAtModifierVariants(engine, cmd);
  if (atFailure !== undefined) return atFailure;
  // Like promqltest: no range-mode check for ordered or non-vector expectations, nor for start()/end()/range()/step().
  if (cmd.ordered || cmd.rangeVector || cmd.expectedString !== undefined || /(start|end|range|step)\(\)/.test(cmd.query)) return undefined;
  return compareInRangeMode(engine, cmd);
}

/**
 * Functions whose result depends on the evaluation time (or on the query's start/end) even when every selector is
 * pinned with @.
 */
const AT_UNSAFE_FUNCTIONS = new Set([
  "days_in_month", "day_of_month", "day_of_week", "day_of_year", "hour", "minute", "month", "year", "predict_linear", "time",
  "timestamp", "start", "end", "range", "step",
]);

/**
 * promqltest's @-modifier variants: every selector (and subquery) without @ gets `@ <eval time>` and the query
 * must give the same result when evaluated at other times. Returns undefined when the query has no such variant.
 */
function atModifierVariant(query: string, t: number): string | undefined {
  const expr = parse(query);
  let unsafe = false;
  const pin = (e: Expr): void => {
    switch (e.type) {
      case "VectorSelector":
        e.at ??= { kind: "time", timeMs: t };
        return;
      case "MatrixSelector":
        e.vector.at ??= { kind: "time", timeMs: t };
        return;
      case "SubqueryExpr":
        // Selectors inside a pinned subquery keep their own timing.
        e.at ??= { kind: "time", timeMs: t };
        return;
      case "Call":
        if (AT_UNSAFE_FUNCTIONS.has(e.func)) unsafe = true;
        e.args.forEach(pin);
        return;
      case "AggregateExpr":
        if (e.param) pin(e.param);
        pin(e.expr);
        return;
      case "BinaryExpr":
        pin(e.lhs);
        pin(e.rhs);
        return;
      case "ParenExpr":
      case "UnaryExpr":
        pin(e.expr);
        return;
      default:
        return;
    }
  };
  pin(expr);
  return unsafe ? undefined : formatExpr(expr);
}

async function compareAtModifierVariants(engine: PromqlEngine, cmd: EvalCommand): Promise<string | undefined> {
  const variant = atModifierVariant(cmd.query, cmd.start);
  if (variant === undefined) return undefined;
  const t = cmd.start;
  for (const at of t === 0 ? [-1000, 0, 1000] : [-10 * t, 0, Math.trunc(t / 5), t, 10 * t]) {
    let result: QueryResult;
    try {
      result = await engine.instantQuery(variant, at);
    } catch (error) {
      return `@-modifier variant ${variant} at ${at} ms failed: ${(error as Error).message}`;
    }
    const failure = compare(cmd, result) ?? checkAnnotations(cmd.annotations, result.warnings, result.infos);
    if (failure !== undefined) return `@-modifier variant ${variant} at ${at} ms: ${failure}`;
  }
  return undefined;
}

/**
 * As Prometheus' promqltest does, an instant case is also evaluated as a range query from t-1m to t+1m at a 1m
 * step; the middle step must match the same expectation.
 */
async function compareInRangeMode(engine: PromqlEngine, cmd: EvalCommand): Promise<string | undefined> {
  let result: QueryResult;
  try {
    result = await engine.rangeQuery(cmd.query, cmd.start - 60_000, cmd.start + 60_000, 60_000);
  } catch (error) {
    return `range-mode evaluation failed: ${(error as Error).message}`;
  }
  if (result.resultType !== "matrix") return `range-mode evaluation returned ${result.resultType}`;
  const middle: QueryData =
    cmd.expectedScalar !== undefined
      ? { resultType: "scalar", value: [cmd.start, valueAt(result.result[0], cmd.start) ?? NaN] }
      : {
          resultType: "vector",
          result: result.result.flatMap((s) => {
            const v = valueAt(s, cmd.start);
            return v === undefined ? [] : [{ labels: s.labels, timestamp: cmd.start, value: v }];
          }),
        };
  const failure = compare(cmd, middle);
  return failure === undefined ? undefined : `in range mode (middle step of t-1m..t+1m): ${failure}`;
}

function valueAt(s: { timestamps: Float64Array; values: Float64Array } | undefined, t: number): number | undefined {
  if (!s) return undefined;
  const i = s.timestamps.indexOf(t);
  return i < 0 ? undefined : s.values[i];
}

/** Applies a file's load/clear commands up to (not including) a command index, reusing state across cases. */
class FileState {
  private storage: Storage | undefined;
  engine: PromqlEngine | undefined;
  private applied = 0;

  constructor(private readonly commands: Command[]) {}

  async advanceTo(index: number): Promise<PromqlEngine> {
    if (!this.storage) await this.reset();
    for (; this.applied < index; this.applied++) {
      const cmd = this.commands[this.applied];
      if (cmd.kind === "clear") await this.reset();
      else if (cmd.kind === "load") await load(this.storage!, cmd);
    }
    return this.engine!;
  }

  private async reset(): Promise<void> {
    await this.storage?.close();
    this.storage = await openStorage();
    this.engine = new PromqlEngine(this.storage, { lookbackDeltaMs: 300_000, defaultSubqueryStepMs: 60_000, maxAnnotations: 0 });
  }

  async close(): Promise<void> {
    await this.storage?.close();
    this.storage = undefined;
  }
}

/**
 * Why a case is skipped, decided from the test text alone (never from our engine's result): its expected output
 * holds a native histogram (`{{...}}`), or one of its selectors, matched statically against the series loaded
 * before it, selects a series that Prometheus stores as a native histogram (`{{...}}` samples, or the NHCB series
 * `load_with_nhcb` derives from a classic `_bucket` histogram, named without the suffix and without `le`) or one
 * carrying start timestamps (`metric@st` lines). Histogram functions on native histograms fall under the selector
 * rule; on float series they are evaluated like any other case. Every other case must pass or fail.
 */
type SkipReason = "native histogram in expected output" | "selects native-histogram series" | "selects NHCB series (load_with_nhcb)" | "selects series with start timestamps (@st)";

/** For each eval command index, the label sets (with `__name__`) of loaded series needing a feature tsink lacks. */
function unsupportedSeries(commands: Command[]): Map<number, [SkipReason, Label[][]][]> {
  const out = new Map<number, [SkipReason, Label[][]][]>();
  let histograms: Label[][] = [];
  let nhcb: Label[][] = [];
  let startTimestamps: Label[][] = [];
  commands.forEach((cmd, i) => {
    if (cmd.kind === "clear") {
      histograms = [];
      nhcb = [];
      startTimestamps = [];
    } else if (cmd.kind === "load") {
      for (const s of cmd.series) {
        if (s.values.some((v) => v.kind === "histogram")) histograms.push(s.labels);
        const name = s.labels.find((l) => l.name === "__name__")?.value ?? "";
        if (cmd.withNhcb && name.endsWith("_bucket")) {
          nhcb.push([{ name: "__name__", value: name.slice(0, -"_bucket".length) }, ...s.labels.filter((l) => l.name !== "__name__" && l.name !== "le")]);
        }
      }
      startTimestamps.push(...cmd.startTimestampSeries);
    } else {
      out.set(i, [
        ["selects native-histogram series", histograms.slice()],
        ["selects NHCB series (load_with_nhcb)", nhcb.slice()],
        ["selects series with start timestamps (@st)", startTimestamps.slice()],
      ]);
    }
  });
  return out;
}

/** The label matchers of every vector selector in a parsed query (matrix selectors and subqueries included). */
function selectorMatchers(node: unknown, out: LabelMatcher[][] = []): LabelMatcher[][] {
  if (Array.isArray(node)) node.forEach((n) => selectorMatchers(n, out));
  else if (node !== null && typeof node === "object") {
    if ((node as Expr).type === "VectorSelector") out.push((node as VectorSelector).matchers);
    else Object.values(node).forEach((n) => selectorMatchers(n, out));
  }
  return out;
}

/** Prometheus matcher semantics: a missing label has the empty value; regexes are fully anchored, `.` matches newline. */
function matches(m: LabelMatcher, labels: Label[]): boolean {
  const value = labels.find((l) => l.name === m.name)?.value ?? "";
  switch (m.op) {
    case "=":
      return value === m.value;
    case "!=":
      return value !== m.value;
    default:
      return new RegExp(`^(?:${m.value})$`, "s").test(value) === (m.op === "=~");
  }
}

/** The reason a case must be skipped, or undefined when it must pass or fail like any other. */
function skipReason(cmd: EvalCommand, unsupported: [SkipReason, Label[][]][]): SkipReason | undefined {
  if (cmd.usesHistograms) return "native histogram in expected output";
  let selectors: LabelMatcher[][];
  try {
    selectors = selectorMatchers(parse(cmd.query));
  } catch {
    return undefined; // a query we cannot parse selects nothing: the case runs (and must expect the failure)
  }
  for (const [reason, series] of unsupported) {
    if (series.some((labels) => selectors.some((ms) => ms.every((m) => matches(m, labels))))) return reason;
  }
  return undefined;
}

test("skip rule: decided from the test text, by what the selectors select", () => {
  const script = [
    "load 1m",
    '  f{job="a"} 1 2',
    '  h{job="a"} {{schema:0 sum:1 count:1}}x2',
    '  s{type="st"}@st -1mx2',
    '  s{type="st"} 1 2',
    '  s{type="plain"} 1 2',
    "",
    "load_with_nhcb 1m",
    '  c_bucket{le="1"} 1 2',
    '  c_bucket{le="+Inf"} 2 4',
    "",
    ...[
      "f", 'f{job="a"}', '{__name__=~"f|h", job!="a"}', "c_bucket", 'histogram_count(f)', 's{type="plain"}', // run
      "h", '{job="a"}', 'sum(rate(h[5m]))', 'f + on() group_left {__name__=~"h|x"}', // native histograms
      "c", 'histogram_quantile(0.5, c)', 's{type=~"s.*"}', 's', // NHCB, start timestamps
    ].flatMap((q) => [`eval instant at 1m ${q}`, ""]),
    "eval instant at 1m f * 0",
    '  {job="a"} {{schema:0 sum:0 count:0}}',
  ].join("\n");
  const commands = parseScript(script);
  const unsupported = unsupportedSeries(commands);
  const reasons = commands.flatMap((c, i) => (c.kind === "eval" ? [`${c.query} -> ${skipReason(c, unsupported.get(i)!) ?? "run"}`] : []));
  const native = "selects native-histogram series";
  const st = "selects series with start timestamps (@st)";
  if (JSON.stringify(reasons) !== JSON.stringify([
    "f -> run", 'f{job="a"} -> run', '{__name__=~"f|h", job!="a"} -> run', "c_bucket -> run", "histogram_count(f) -> run", 's{type="plain"} -> run',
    `h -> ${native}`, `{job="a"} -> ${native}`, `sum(rate(h[5m])) -> ${native}`, `f + on() group_left {__name__=~"h|x"} -> ${native}`,
    "c -> selects NHCB series (load_with_nhcb)", "histogram_quantile(0.5, c) -> selects NHCB series (load_with_nhcb)", `s{type=~"s.*"} -> ${st}`, `s -> ${st}`,
    "f * 0 -> native histogram in expected output",
  ])) throw new Error(`unexpected skip decisions:\n${reasons.join("\n")}`);
});

interface FileStats { passed: number; failed: number; skipped: number; skipReasons: Map<SkipReason, number> }

if (!existsSync(testDir)) {
  test("promqltest directory exists", () => {
    throw new Error(`PromQL test files not found at ${testDir} (set TSINK_PROMQLTEST_DIR to the directory holding the .test files)`);
  });
} else {
  const files = testFiles(testDir);
  if (files.length === 0) {
    test("promqltest files present", () => {
      throw new Error(`no .test files in ${testDir}`);
    });
  }
  const stats = new Map<string, FileStats>();
  const states: FileState[] = [];
  for (const file of [...files, ...testFiles(ownTestDir)]) {
    const name = file.startsWith(ownTestDir) ? `tsink/${basename(file)}` : basename(file);
    const commands = parseScript(readFileSync(file, "utf8"));
    const state = new FileState(commands);
    states.push(state);
    const unsupported = unsupportedSeries(commands);
    const fileStats: FileStats = { passed: 0, failed: 0, skipped: 0, skipReasons: new Map() };
    stats.set(name, fileStats);
    commands.forEach((c, index) => {
      if (c.kind !== "eval") return;
      const cmd = c;
      const title = `${name}:${cmd.line} ${cmd.query}`;
      const reason = skipReason(cmd, unsupported.get(index)!);
      if (reason) {
        fileStats.skipped++;
        fileStats.skipReasons.set(reason, (fileStats.skipReasons.get(reason) ?? 0) + 1);
        test.skip(`${title} [${reason}]`);
        return;
      }
      test(title, async () => {
        const engine = await state.advanceTo(index);
        const failure = await runCase(engine, cmd);
        if (failure === undefined) {
          fileStats.passed++;
          return;
        }
        fileStats.failed++;
        throw new Error(`${title}: ${failure}`);
      });
    });
  }
  test.after(async () => {
    for (const state of states) await state.close();
    let passed = 0;
    let failed = 0;
    let skipped = 0;
    for (const [name, s] of stats) {
      const reasons = [...s.skipReasons].map(([reason, n]) => `${reason}: ${n}`).join("; ");
      console.log(`promqltest ${name}: ${s.passed} passed, ${s.failed} failed, ${s.skipped} skipped${reasons ? ` (${reasons})` : ""}`);
      passed += s.passed;
      failed += s.failed;
      skipped += s.skipped;
    }
    console.log(`promqltest total: ${passed} passed, ${failed} failed, ${skipped} skipped`);
  });
}

test.run();
