// PromqlEngine: the public query API (instant and range queries over a SeriesSource), query limits, and conversion
// of evaluated values into QueryResult.

import type * as ast from "./ast.js";
import { documentedType, exprType, parse, PromqlParseError, resolveDurations } from "./parser/index.js";
import { PromqlError, type InstantSample, type QueryAnnotations, type QueryResult, type RangeSeries } from "./result.js";
import { Annotations } from "./annotations.js";
import type { SeriesSource } from "./source.js";
import { compareLabels, dropMetadataLabels } from "./labels.js";
import { Evaluator, finalizeSeries } from "./evaluator.js";
import { countPresent, makeGrid, type EvalValue, type Grid } from "./values.js";

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
    const { value } = await this.evaluate(expr, grid, options, annotations);
    const notes = annotations.asStrings(query, this.maxAnnotations);
    switch (value.kind) {
      case "scalar":
        return { resultType: "scalar", value: [timeMs, value.values[0]], ...notes };
      case "string":
        return { resultType: "string", value: [timeMs, value.value], ...notes };
      case "vector": {
        const result: InstantSample[] = finalizeSeries(value.series).map((s) => ({ labels: s.labels, timestamp: timeMs, value: s.values[0] }));
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
    if (value.kind !== "vector") throw new PromqlError("internal", `range query evaluated to ${value.kind}`);
    const result: RangeSeries[] = [];
    for (const s of finalizeSeries(value.series)) {
      evaluator.checkDeadlineInLoop();
      const n = countPresent(s.present);
      if (n === 0) continue;
      const timestamps = new Float64Array(n);
      const values = new Float64Array(n);
      compactPresent(s.present, s.values, steps, timestamps, values);
      result.push({ labels: s.labels, timestamps, values });
    }
    result.sort((a, b) => compareLabels(a.labels, b.labels));
    return { resultType: "matrix", result, ...notes };
  }

  private async evaluate(expr: ast.Expr, grid: Grid, options: QueryOptions, annotations: Annotations): Promise<{ value: EvalValue; evaluator: Evaluator }> {
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
      return { value: await evaluator.eval(resolveDurations(expr, { stepMs: grid.step, rangeMs: grid.end - grid.start }), grid), evaluator };
    } catch (error) {
      if (error instanceof PromqlError) throw error;
      throw new PromqlError("internal", `unexpected error: ${(error as Error).message}`);
    }
  }
}

// The per-step loops of a range query's result live in these small functions over typed arrays only: V8 optimises
// them after a few series, once for every query shape, instead of compiling (and, on the first series of a new
// shape, deoptimising and recompiling) the whole async rangeQuery through on-stack replacement.

/** The present steps' times and values, in step order, into `times` and `values` (countPresent long). */
function compactPresent(present: Uint8Array, stepValues: Float64Array, stepTimes: Float64Array, times: Float64Array, values: Float64Array): void {
  let k = 0;
  for (let i = 0; i < present.length; i++) {
    if (!present[i]) continue;
    times[k] = stepTimes[i]!;
    values[k++] = stepValues[i]!;
  }
}
