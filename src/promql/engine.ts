// PromqlEngine: the public query API (instant and range queries over a SeriesSource), query limits, and conversion
// of evaluated values into QueryResult.

import type * as ast from "./ast.js";
import { documentedType, exprType, parse, PromqlParseError, resolveDurations } from "./parser/index.js";
import { PromqlError, type InstantSample, type Label, type QueryAnnotations, type QueryResult, type RangeSeries } from "./result.js";
import { Annotations } from "./annotations.js";
import type { SeriesSource } from "./source.js";
import { compareLabels, dropMetadataLabels, LabelSetTable } from "./labels.js";
import { Evaluator, finalizeSeries, unwrapParens } from "./evaluator.js";
import { countPresent, makeGrid, seriesOfColumns, type EvalValue, type Grid, type StepSeries, type VectorColumns } from "./values.js";

export { PromqlError } from "./result.js";
export type { InstantSample, PromqlErrorType, QueryAnnotations, QueryData, QueryResult, RangeSeries } from "./result.js";
export type { SeriesSource } from "./source.js";

export interface PromqlEngineOptions {
  /** How far back an instant selector looks for the latest sample (default 5 m). */
  lookbackDeltaMs?: number;
  /** Step of subqueries written without one, `[range:]` (default 1 m). */
  defaultSubqueryStepMs?: number;
  /** Most samples a query may load (default 50 M, like Prometheus). */
  maxSamples?: number;
  /** Most points per series a range query may return (default 11,000). */
  maxPointsPerSeries?: number;
  /** Query evaluation time limit (default 2 m). */
  timeoutMs?: number;
  /** Longest accepted query string in characters (default 1 MiB). */
  maxQueryLength?: number;
  /**
   * Most warnings and most infos a result carries (default 10 each, like Prometheus' HTTP API; 0: all); the rest
   * are summarised as "N more warning annotations omitted".
   */
  maxAnnotations?: number;
}

/** Per-query options. */
export interface QueryOptions {
  /** Aborting the signal cancels the query with errorType "canceled" (e.g. when the HTTP client goes away). */
  signal?: Pick<AbortSignal, "aborted">;
}

export class PromqlEngine {
  private readonly lookbackDeltaMs: number;
  private readonly defaultSubqueryStepMs: number;
  private readonly maxSamples: number;
  private readonly maxPointsPerSeries: number;
  private readonly timeoutMs: number;
  private readonly maxQueryLength: number;
  private readonly maxAnnotations: number;

  constructor(
    private readonly source: SeriesSource,
    options: PromqlEngineOptions = {},
  ) {
    this.lookbackDeltaMs = options.lookbackDeltaMs ?? 300_000;
    this.defaultSubqueryStepMs = options.defaultSubqueryStepMs ?? 60_000;
    this.maxSamples = options.maxSamples ?? 50_000_000;
    this.maxPointsPerSeries = options.maxPointsPerSeries ?? 11_000;
    this.timeoutMs = options.timeoutMs ?? 120_000;
    this.maxQueryLength = options.maxQueryLength ?? 1 << 20;
    this.maxAnnotations = options.maxAnnotations ?? 10;
  }

  /** Parses a query; syntax errors become PromqlError("bad_data"). */
  parse(query: string): ast.Expr {
    if (query.length > this.maxQueryLength) {
      throw new PromqlError("bad_data", `query is too long: ${query.length} characters, the limit is ${this.maxQueryLength}`);
    }
    try {
      return parse(query);
    } catch (error) {
      if (error instanceof PromqlParseError) throw new PromqlError("bad_data", error.message);
      throw error;
    }
  }

  async instantQuery(query: string, timeMs: number, options: QueryOptions = {}): Promise<QueryResult> {
    if (!Number.isFinite(timeMs)) throw new PromqlError("bad_data", "invalid evaluation time");
    const expr = this.parse(query);
    const grid = makeGrid(timeMs, timeMs, 0);
    const annotations = new Annotations();
    const { value, evaluator } = await this.evaluate(expr, grid, options, annotations);
    const notes = annotations.asStrings(query, this.maxAnnotations);
    switch (value.kind) {
      case "columns": {
        const result = samplesOfResultColumns(value.columns, timeMs, evaluator) ?? samplesOf(finalizeSeries(seriesOfColumns(value.columns)), timeMs);
        return { resultType: "vector", result, ...notes };
      }
      case "scalar":
        return { resultType: "scalar", value: [timeMs, value.values[0]], ...notes };
      case "string":
        return { resultType: "string", value: [timeMs, value.value], ...notes };
      case "vector": {
        const result = samplesOf(finalizeSeries(value.series), timeMs);
        return { resultType: "vector", result, ...notes };
      }
      case "matrix": {
        const result: RangeSeries[] = value.series
          .map((s) => ({ labels: s.dropName ? dropMetadataLabels(s.labels) : s.labels, timestamps: s.timestamps, values: s.values }))
          .sort((a, b) => compareLabels(a.labels, b.labels));
        return { resultType: "matrix", result, ...notes };
      }
    }
  }

  async rangeQuery(query: string, startMs: number, endMs: number, stepMs: number, options: QueryOptions = {}): Promise<QueryResult> {
    if (!Number.isFinite(startMs) || !Number.isFinite(endMs)) throw new PromqlError("bad_data", "invalid start or end time");
    if (endMs < startMs) throw new PromqlError("bad_data", "end timestamp must not be before start time");
    if (!(stepMs > 0)) {
      throw new PromqlError("bad_data", "zero or negative query resolution step widths are not accepted. Try a positive integer");
    }
    // Prometheus' check: (end - start) / step may not exceed the limit (so limit + 1 points are still accepted).
    if (Math.floor((endMs - startMs) / stepMs) > this.maxPointsPerSeries) {
      throw new PromqlError(
        "bad_data",
        `exceeded maximum resolution of ${this.maxPointsPerSeries.toLocaleString("en-US")} points per timeseries. Try decreasing the query resolution (?step=XX)`,
      );
    }
    const expr = this.parse(query);
    const type = exprType(expr);
    if (type !== "vector" && type !== "scalar") {
      throw new PromqlError("bad_data", `invalid expression type "${documentedType(type)}" for range query, must be Scalar or instant Vector`);
    }
    const grid = makeGrid(startMs, endMs, stepMs);
    const annotations = new Annotations();
    const { value, evaluator } = await this.evaluate(expr, grid, options, annotations);
    const notes: QueryAnnotations = annotations.asStrings(query, this.maxAnnotations);
    const steps = grid.times;
    if (value.kind === "scalar") {
      return { resultType: "matrix", result: [{ labels: [], timestamps: steps.slice(), values: value.values }], ...notes };
    }
    let result: RangeSeries[];
    if (value.kind === "columns") {
      result = seriesOfResultColumns(value.columns, steps, evaluator) ?? rangeSeriesOf(finalizeSeries(seriesOfColumns(value.columns)), steps, evaluator);
    } else {
      if (value.kind !== "vector") throw new PromqlError("internal", `range query evaluated to ${value.kind}`);
      result = rangeSeriesOf(finalizeSeries(value.series), steps, evaluator);
    }
    result.sort((a, b) => compareLabels(a.labels, b.labels));
    return { resultType: "matrix", result, ...notes };
  }

  /**
   * Evaluates the query. An instant selector or a range function call at the top comes back as its columns (see
   * Evaluator.evalColumns), which the result is built from directly: no StepSeries and typed-array views per series.
   */
  private async evaluate(
    expr: ast.Expr, grid: Grid, options: QueryOptions, annotations: Annotations,
  ): Promise<{ value: EvalValue | { kind: "columns"; columns: VectorColumns }; evaluator: Evaluator }> {
    const evaluator = new Evaluator(this.source, {
      annotations,
      lookbackDeltaMs: this.lookbackDeltaMs,
      defaultSubqueryStepMs: this.defaultSubqueryStepMs,
      maxSamples: this.maxSamples,
      deadline: Date.now() + this.timeoutMs,
      signal: options.signal,
      queryStart: grid.start,
      queryEnd: grid.end,
    });
    try {
      const resolved = resolveDurations(expr, { stepMs: grid.step, rangeMs: grid.end - grid.start });
      const top = unwrapParens(resolved);
      if (top.type === "VectorSelector" || top.type === "Call") {
        const columns = await evaluator.evalColumns(top, grid);
        if (columns) return { value: { kind: "columns", columns }, evaluator };
      }
      return { value: await evaluator.eval(resolved, grid), evaluator };
    } catch (error) {
      if (error instanceof PromqlError) throw error;
      throw new PromqlError("internal", `unexpected error: ${(error as Error).message}`);
    }
  }
}

// The per-step loops of a range query's result live in these small functions over typed arrays only: V8 optimises
// them after a few series, once for every query shape, instead of compiling (and, on the first series of a new
// shape, deoptimising and recompiling) the whole async rangeQuery through on-stack replacement.

/**
 * The series of a top-level columns value that hold a point, with their present steps' times and values (the
 * metric name dropped where the value says so); undefined when dropping it left two series with one label set (then
 * the general path merges them, or fails as Prometheus does). All series' times and values are views of two arrays.
 */
function seriesOfResultColumns(cols: VectorColumns, stepTimes: Float64Array, ev: Evaluator): RangeSeries[] | undefined {
  const { labels, values, present, steps } = cols;
  const counts = new Int32Array(labels.length);
  const total = countEach(present, steps, counts);
  const keys = cols.dropName ? new LabelSetTable() : undefined;
  const out: RangeSeries[] = [];
  const allTimes = new Float64Array(total);
  const allValues = new Float64Array(total);
  let at = 0;
  for (let i = 0; i < labels.length; i++) {
    ev.checkDeadlineInLoop();
    const n = counts[i]!;
    if (n === 0) continue;
    const seriesLabels = keys ? withoutName(labels[i]!, keys) : labels[i]!;
    if (!seriesLabels) return undefined;
    const timestamps = new Float64Array(allTimes.buffer, at * 8, n);
    const seriesValues = new Float64Array(allValues.buffer, at * 8, n);
    compactPresent(present, values, i * steps, stepTimes, timestamps, seriesValues);
    out.push({ labels: seriesLabels, timestamps, values: seriesValues });
    at += n;
  }
  return out;
}

/** An instant query's columns value (one step) as samples, like seriesOfResultColumns but with no arrays per series. */
function samplesOfResultColumns(cols: VectorColumns, timeMs: number, ev: Evaluator): InstantSample[] | undefined {
  const { labels, values, present, steps } = cols; // steps: 1
  const keys = cols.dropName ? new LabelSetTable() : undefined;
  const out: InstantSample[] = [];
  for (let i = 0; i < labels.length; i++) {
    ev.checkDeadlineInLoop();
    if (!present[i * steps]) continue;
    const seriesLabels = keys ? withoutName(labels[i]!, keys) : labels[i]!;
    if (!seriesLabels) return undefined;
    out.push({ labels: seriesLabels, timestamp: timeMs, value: values[i * steps]! });
  }
  return out;
}

/** The labels without the metric name (and metadata labels), or undefined when `keys` already holds that set; adds it. */
function withoutName(labels: Label[], keys: LabelSetTable): Label[] | undefined {
  const dropped = dropMetadataLabels(labels);
  return keys.add(dropped) < 0 ? dropped : undefined;
}

/** counts[i] = the present steps of series i (steps [i * steps, (i + 1) * steps)); returns their sum. */
function countEach(present: Uint8Array, steps: number, counts: Int32Array): number {
  let total = 0;
  for (let i = 0; i < counts.length; i++) {
    let n = 0;
    for (let t = i * steps; t < (i + 1) * steps; t++) n += present[t]!;
    counts[i] = n;
    total += n;
  }
  return total;
}

/**
 * Finalised series as the range query result: each one's present steps (one without any is left out); all series'
 * times and values are views of two arrays, as in seriesOfResultColumns.
 */
function rangeSeriesOf(series: StepSeries[], stepTimes: Float64Array, ev: Evaluator): RangeSeries[] {
  let total = 0;
  for (let i = 0; i < series.length; i++) total += countPresent(series[i]!.present);
  const allTimes = new Float64Array(total);
  const allValues = new Float64Array(total);
  const out: RangeSeries[] = [];
  let at = 0;
  for (let i = 0; i < series.length; i++) {
    const s = series[i]!;
    ev.checkDeadlineInLoop();
    const n = countPresent(s.present);
    if (n === 0) continue;
    const timestamps = new Float64Array(allTimes.buffer, at * 8, n);
    const values = new Float64Array(allValues.buffer, at * 8, n);
    compactPresent(s.present, s.values, 0, stepTimes, timestamps, values);
    out.push({ labels: s.labels, timestamps, values });
    at += n;
  }
  return out;
}

/** Finalised series of an instant query as its samples. */
function samplesOf(series: StepSeries[], timeMs: number): InstantSample[] {
  return series.map((s) => ({ labels: s.labels, timestamp: timeMs, value: s.values[0]! }));
}

/** The present steps' times and values among present/stepValues[from, from + stepTimes.length), in step order, into `times` and `values`. */
function compactPresent(
  present: Uint8Array, stepValues: Float64Array, from: number, stepTimes: Float64Array, times: Float64Array, values: Float64Array,
): void {
  let k = 0;
  for (let i = 0; i < stepTimes.length; i++) {
    if (!present[from + i]) continue;
    times[k] = stepTimes[i]!;
    values[k++] = stepValues[from + i]!;
  }
}
