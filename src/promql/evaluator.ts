// PromQL evaluator core: walks the AST once per query over a step grid, reading each selector's data in one storage
// call for the whole span, and dispatches to binary operators, aggregations and functions.

import type * as ast from "./ast.js";
import { PromqlError, type Label } from "./result.js";
import type { SeriesBatch, SeriesSource } from "./source.js";
import { dropMetadataLabels, LabelSetTable, METRIC_NAME, sortLabels } from "./labels.js";
import { countPresent, makeGrid, seriesOfColumns, type EvalValue, type Grid, type RawSeries, type StepSeries, type VectorColumns } from "./values.js";
import {
  columnPool, evalInstantSelectorInMemory, evalRangeKernelColumns, evalRangeKernelInMemory, KERNEL_BATCH_POINTS, KernelColumnsBuilder, type KernelColumns,
  type RangeFunctionName, type WindowExtension,
} from "./range_kernels.js";
import type { Annotations } from "./annotations.js";
import { compareColumns, evalBinary, isComparison } from "./binary.js";
import { evalAggregate } from "./aggregations.js";
import { evalCall, rangeFunctionColumns } from "./functions.js";

export interface EvaluatorOptions {
  lookbackDeltaMs: number;
  defaultSubqueryStepMs: number;
  maxSamples: number;
  /** Date.now() value after which evaluation aborts with a timeout error. */
  deadline: number;
  /** Aborting it cancels evaluation (errorType "canceled"). */
  signal?: Pick<AbortSignal, "aborted">;
  /** Start and end of the whole query: what start() and end() resolve to. */
  queryStart: number;
  queryEnd: number;
  /** Collects the query's warnings and infos. */
  annotations: Annotations;
}

/**
 * Samples of a range argument plus, per step, the right edge of its (end - range, end] window. Series read from
 * storage may still hold staleness markers: the range kernels drop them (see withoutStaleMarkers for other uses).
 */
export interface RangeArgument {
  series: RawSeries[];
  windowEnds: Float64Array;
  rangeMs: number;
}

// Prometheus' staleness marker is the signalling NaN 0x7ff0000000000002. JavaScript engines may quiet a signalling
// NaN when a number passes through a plain JS value (setting bit 51: 0x7ff8000000000002), so both forms are
// recognised; NaNs produced by arithmetic carry payload 0 and never match.
const STALE_HI_MASK = 0xfff7ffff;
const STALE_HI = 0x7ff00000;
const STALE_LO = 0x00000002;

/** Marks the samples carrying Prometheus' staleness-marker bit pattern (undefined: none). */
function staleMarkerMask(values: Float64Array): Uint8Array | undefined {
  let mask: Uint8Array | undefined;
  let words: Uint32Array | undefined;
  for (let i = 0; i < values.length; i++) {
    const v = values[i];
    if (v === v) continue; // only NaNs can be staleness markers; their bits are read from the raw buffer
    words ??= new Uint32Array(values.buffer, values.byteOffset, values.length * 2);
    if ((words[2 * i + 1] & STALE_HI_MASK) === STALE_HI && words[2 * i] === STALE_LO) {
      mask ??= new Uint8Array(values.length);
      mask[i] = 1;
    }
  }
  return mask;
}

function hasMetricName(labels: Label[]): boolean {
  for (let i = 0; i < labels.length; i++) if (labels[i].name === METRIC_NAME) return true;
  return false;
}

export function unwrapParens(expr: ast.Expr): ast.Expr {
  while (expr.type === "ParenExpr") expr = expr.expr;
  return expr;
}

/** Evaluation yields to the event loop after running this long (so a client's disconnect and other requests are seen). */
const YIELD_AFTER_MS = 20;

export class Evaluator {
  private loadedSamples = 0;
  private loopChecks = 0;
  private lastYield = performance.now();

  constructor(
    private readonly source: SeriesSource,
    readonly options: EvaluatorOptions,
  ) {}

  /**
   * checkDeadline for per-series loops: reads the clock at the first and then every 64th call (each Date.now() is a
   * new heap number; the abort signal cannot change during a synchronous loop anyway).
   */
  checkDeadlineInLoop(): void {
    if ((this.loopChecks++ & 63) === 0) this.checkDeadline();
  }

  checkDeadline(): void {
    if (this.options.signal?.aborted) throw new PromqlError("canceled", "query was canceled in expression evaluation");
    if (Date.now() > this.options.deadline) throw new PromqlError("timeout", "query timed out in expression evaluation");
  }

  /**
   * After YIELD_AFTER_MS of evaluation: a promise that lets the event loop turn once (I/O callbacks run, so an abort
   * of `signal` by a closed connection lands) and then checks the deadline and the signal; otherwise undefined.
   * Evaluation is otherwise synchronous, so without this a cancelled query would run to its end.
   */
  pause(): Promise<void> | undefined {
    if (performance.now() - this.lastYield < YIELD_AFTER_MS) return undefined;
    return new Promise<void>((resolve) => setImmediate(resolve)).then(() => {
      this.lastYield = performance.now();
      this.checkDeadline();
    });
  }

  countSamples(n: number): void {
    this.loadedSamples += n;
    if (this.loadedSamples > this.options.maxSamples) {
      throw new PromqlError("execution", "query processing would load too many samples into memory in query execution");
    }
  }

  async eval(expr: ast.Expr, grid: Grid): Promise<EvalValue> {
    this.checkDeadline();
    const paused = this.pause();
    if (paused) await paused;
    switch (expr.type) {
      case "NumberLiteral":
        return { kind: "scalar", values: new Float64Array(grid.times.length).fill(expr.value) };
      case "StringLiteral":
        return { kind: "string", value: expr.value };
      case "ParenExpr":
        return this.eval(expr.expr, grid);
      case "UnaryExpr": {
        const v = await this.eval(expr.expr, grid);
        if (expr.op === "+") return v;
        if (v.kind === "scalar") return { kind: "scalar", values: v.values.map((x) => -x) };
        if (v.kind !== "vector") throw new PromqlError("bad_data", "unary expression only allowed on expressions of type scalar or instant vector");
        return { kind: "vector", series: v.series.map((s) => ({ ...s, dropName: true, values: s.values.map((x) => -x) })) };
      }
      case "VectorSelector":
        return { kind: "vector", series: await this.evalVectorSelector(expr, grid, false) };
      case "MatrixSelector":
      case "SubqueryExpr":
        return this.evalRangeResult(expr, grid);
      case "BinaryExpr":
        return evalBinary(this, expr, grid);
      case "AggregateExpr":
        return evalAggregate(this, expr, grid);
      case "Call":
        return evalCall(this, expr, grid);
    }
  }

  async evalVector(expr: ast.Expr, grid: Grid): Promise<StepSeries[]> {
    const v = await this.eval(expr, grid);
    if (v.kind !== "vector") throw new PromqlError("bad_data", `expected instant vector, got ${v.kind}`);
    return v.series;
  }

  async evalScalar(expr: ast.Expr, grid: Grid): Promise<Float64Array> {
    const v = await this.eval(expr, grid);
    if (v.kind !== "scalar") throw new PromqlError("bad_data", `expected scalar, got ${v.kind}`);
    return v.values;
  }

  /** Fixed evaluation time of an `@` modifier, resolving start()/end() to the query's bounds. */
  atTime(at: ast.AtModifier | undefined): number | undefined {
    if (!at) return undefined;
    if (at.kind === "time") return at.timeMs;
    return at.kind === "start" ? this.options.queryStart : this.options.queryEnd;
  }

  /** Per-step reference times of a selector or subquery: the step times (or the @ time), shifted by the offset. */
  referenceTimes(grid: Grid, at: ast.AtModifier | undefined, offsetMs: number): Float64Array {
    const fixed = this.atTime(at);
    const out = new Float64Array(grid.times.length);
    for (let i = 0; i < out.length; i++) out[i] = (fixed ?? grid.times[i]) - offsetMs;
    return out;
  }

  /** Reads the series matching a selector with samples in [start, end] (ms, inclusive). */
  async select(vs: ast.VectorSelector, start: number, end: number): Promise<RawSeries[]> {
    if (end < start) return [];
    const rows = await this.source.selectColumns(
      { metric: vs.name, matchers: vs.matchers.map((m) => ({ name: m.name, op: m.op, value: m.value })), start, end: end + 1 },
      start,
      end + 1,
    );
    let points = 0;
    const out: RawSeries[] = [];
    for (const row of rows) {
      points += row.timestamps.length;
      let labels: Label[] = row.labels;
      for (let i = 1; i < labels.length; i++) {
        if (labels[i - 1].name >= labels[i].name) {
          labels = sortLabels(labels.slice()); // a SeriesSource that broke the sorted-labels contract
          break;
        }
      }
      if (row.metric && !hasMetricName(labels)) {
        // Storage returns labels sorted by name and the metric name separately: insert it in order.
        let at = 0;
        while (at < labels.length && labels[at].name < METRIC_NAME) at++;
        labels = [...labels.slice(0, at), { name: METRIC_NAME, value: row.metric }, ...labels.slice(at)];
      }
      const timestamps = row.timestamps instanceof Float64Array ? row.timestamps : Float64Array.from(row.timestamps, Number);
      out.push({ labels, dropName: false, timestamps, values: row.values });
    }
    this.countSamples(points);
    return out;
  }

  /**
   * Reads the series matching a selector with samples in [start, end] (ms, inclusive) in batches in WASM memory
   * (source.selectBatches), calling `perBatch` synchronously for each after counting its samples. Resolves to
   * false when the source offers no batches (nothing was read). Errors thrown by `perBatch` come out unchanged.
   */
  private async selectInMemory(
    vs: ast.VectorSelector, start: number, end: number, perBatch: (batch: SeriesBatch) => void,
  ): Promise<boolean> {
    if (!this.source.selectBatches) return false;
    if (end < start) return true;
    const selection = { metric: vs.name, matchers: vs.matchers.map((m) => ({ name: m.name, op: m.op, value: m.value })), start, end: end + 1 };
    let failure: unknown;
    const failed = (error: unknown) => {
      failure = error; // storage wraps errors thrown through it: rethrown below as they were
      throw error;
    };
    try {
      return await this.source.selectBatches(selection, start, end + 1, KERNEL_BATCH_POINTS, (batch) => {
        try {
          this.checkDeadline();
          this.countSamples(batch.offsets[batch.offsets.length - 1]);
          perBatch(batch);
        } catch (error) {
          failed(error);
        }
        return this.pause()?.catch(failed); // between batches: a timeout or a cancel stops the read here
      });
    } catch (error) {
      throw failure ?? error;
    }
  }

  /**
   * Instant-vector selector over the grid: at each step the newest sample in (t - lookback, t], unless it is a
   * staleness marker. With `sampleTimestamps` the value is the sample's own timestamp in seconds (for timestamp()).
   */
  async evalVectorSelector(vs: ast.VectorSelector, grid: Grid, sampleTimestamps: boolean): Promise<StepSeries[]> {
    const refs = this.referenceTimes(grid, vs.at, vs.offsetMs);
    const steps = refs.length;
    const lookback = this.options.lookbackDeltaMs;
    if (vs.smoothed && !sampleTimestamps) return this.evalSmoothedSelector(vs, refs);
    const cols = await this.selectorColumns(vs, refs, sampleTimestamps, false);
    if (cols) return seriesOfColumns(cols);
    const raw = await this.select(vs, refs[0] - lookback + 1, refs[steps - 1]);
    const out: StepSeries[] = [];
    // One buffer for all series' steps (a series with no point gives its slot back to the next one).
    const allValues = new Float64Array(steps * raw.length);
    const allPresent = new Uint8Array(steps * raw.length);
    let slot = 0;
    for (const s of raw) {
      this.checkDeadlineInLoop();
      const stale = staleMarkerMask(s.values);
      const values = allValues.subarray(slot * steps, (slot + 1) * steps);
      const present = allPresent.subarray(slot * steps, (slot + 1) * steps);
      const points = sampleAtSteps(s.timestamps, s.values, stale, refs, lookback, sampleTimestamps, values, present);
      if (points > 0) {
        out.push({ labels: s.labels, dropName: false, values, present });
        slot++;
      }
      // Like Prometheus, the points an instant selector produces count against the sample limit.
      this.countSamples(points);
    }
    return out;
  }

  /**
   * An instant selector (not smoothed) as columns, read batch by batch where storage decoded the samples in WASM
   * memory (one kernel call per batch, no per-series objects); undefined when the source offers no batches. With
   * `pooled`, the columns come from columnPool and the caller gives them back (releaseColumns).
   */
  private async selectorColumns(vs: ast.VectorSelector, refs: Float64Array, sampleTimestamps: boolean, pooled: boolean): Promise<VectorColumns | undefined> {
    const steps = refs.length;
    const lookback = this.options.lookbackDeltaMs;
    let labels: Label[][] = []; // (the read's one list of label lists: see SeriesBatch)
    const out = new KernelColumnsBuilder(pooled ? columnPool : undefined);
    const inMemory = await this.selectInMemory(vs, refs[0] - lookback + 1, refs[steps - 1], (batch) => {
      labels = batch.labels;
      evalInstantSelectorInMemory(batch, refs, lookback, sampleTimestamps, out);
    });
    if (!inMemory) return undefined;
    const { values, present } = out.columns();
    // Like Prometheus, the points an instant selector produces count against the sample limit.
    this.countSamples(countPresent(present));
    return { labels, dropName: false, values, present, steps };
  }

  /**
   * An instant-vector expression as columns where it can be evaluated without per-series objects: an instant
   * selector, one compared with a number literal (`up == 1`, `x > bool 0`), or a range function call
   * (`rate(x[5m])`); undefined for anything else (then nothing was evaluated). Aggregations read these columns directly.
   * With `pooled`, columns read in WASM memory come from columnPool and the caller gives them back (releaseColumns)
   * once it no longer reads them.
   */
  async evalColumns(expr: ast.Expr, grid: Grid, pooled = false): Promise<VectorColumns | undefined> {
    expr = unwrapParens(expr);
    if (expr.type === "VectorSelector") {
      if (expr.smoothed) return undefined;
      this.checkDeadline();
      return this.selectorColumns(expr, this.referenceTimes(grid, expr.at, expr.offsetMs), false, pooled);
    }
    if (expr.type === "Call") {
      this.checkDeadline();
      return rangeFunctionColumns(this, expr, grid, pooled);
    }
    if (expr.type !== "BinaryExpr" || !isComparison(expr.op)) return undefined;
    const lhs = unwrapParens(expr.lhs);
    const rhs = unwrapParens(expr.rhs);
    const scalarOnLeft = lhs.type === "NumberLiteral";
    const literal = scalarOnLeft ? lhs : rhs;
    const selector = scalarOnLeft ? rhs : lhs;
    if (literal.type !== "NumberLiteral" || selector.type !== "VectorSelector") return undefined;
    const cols = await this.evalColumns(selector, grid, pooled);
    if (cols) compareColumns(expr.op, cols, literal.value, scalarOnLeft, expr.returnBool);
    return cols;
  }

  /** The widening of an anchored (one lookback delta back) or smoothed (one lookback delta both ways) selector. */
  windowExtension(vs: ast.VectorSelector): WindowExtension | undefined {
    const lookback = this.options.lookbackDeltaMs;
    if (vs.smoothed) return { smoothed: true, beforeMs: lookback, afterMs: lookback };
    if (vs.anchored) return { smoothed: false, beforeMs: lookback, afterMs: 0 };
    return undefined;
  }

  /**
   * `metric smoothed`: at each step the value linearly interpolated between the neighbouring samples within one
   * lookback delta on either side (the last value is carried forward when there is no later sample yet).
   */
  private async evalSmoothedSelector(vs: ast.VectorSelector, refs: Float64Array): Promise<StepSeries[]> {
    const lookback = this.options.lookbackDeltaMs;
    const steps = refs.length;
    const raw = await this.select(vs, refs[0] - lookback + 1, refs[steps - 1] + lookback);
    const out: StepSeries[] = [];
    for (const s of raw.map(withoutStaleMarkers)) {
      this.checkDeadlineInLoop();
      const ts = s.timestamps;
      const values = new Float64Array(steps);
      const present = new Uint8Array(steps);
      let any = false;
      // refs never decrease, so the window bounds only move forward.
      let lo = 0;
      let hi = 0;
      for (let k = 0; k < steps; k++) {
        const t = refs[k];
        while (lo < ts.length && ts[lo] <= t - lookback) lo++;
        if (hi < lo) hi = lo;
        while (hi < ts.length && ts[hi] <= t + lookback) hi++;
        let i = lo;
        while (i < hi && ts[i] < t) i++;
        if (i < hi && ts[i] === t) values[k] = s.values[i];
        else if (i > lo && i < hi) values[k] = s.values[i - 1] + ((s.values[i] - s.values[i - 1]) * (t - ts[i - 1])) / (ts[i] - ts[i - 1]);
        else if (i > lo) values[k] = s.values[i - 1];
        else continue;
        present[k] = 1;
        any = true;
      }
      if (any) out.push({ labels: s.labels, dropName: false, values, present });
    }
    return out;
  }

  /** Evaluates a matrix selector or subquery into the samples every step's window needs. */
  async evalRangeArgument(expr: ast.MatrixSelector | ast.SubqueryExpr, grid: Grid): Promise<RangeArgument> {
    if (expr.type === "MatrixSelector") {
      const vs = expr.vector;
      const windowEnds = this.referenceTimes(grid, vs.at, vs.offsetMs);
      const ext = this.windowExtension(vs);
      const raw = await this.select(
        vs,
        windowEnds[0] - expr.rangeMs - (ext?.beforeMs ?? 0) + 1,
        windowEnds[windowEnds.length - 1] + (ext?.afterMs ?? 0),
      );
      return { series: raw, windowEnds, rangeMs: expr.rangeMs };
    }
    const windowEnds = this.referenceTimes(grid, expr.at, expr.offsetMs);
    const step = expr.stepMs ?? this.options.defaultSubqueryStepMs;
    if (!(step > 0)) throw new PromqlError("bad_data", "subquery step must be positive");
    const lowest = windowEnds[0] - expr.rangeMs;
    let innerStart = Math.floor(lowest / step) * step;
    if (innerStart <= lowest) innerStart += step;
    const innerEnd = windowEnds[windowEnds.length - 1];
    if (innerStart > innerEnd) return { series: [], windowEnds, rangeMs: expr.rangeMs };
    // Every inner step can hold a sample per series: refuse grids that alone exceed the sample limit.
    this.countSamples(Math.floor((innerEnd - innerStart) / step) + 1);
    const innerGrid = makeGrid(innerStart, innerEnd, step);
    const inner = await this.evalVector(expr.expr, innerGrid);
    const series: RawSeries[] = [];
    for (const s of inner) {
      let count = 0;
      for (let i = 0; i < s.present.length; i++) count += s.present[i];
      const timestamps = new Float64Array(count);
      const values = new Float64Array(count);
      let k = 0;
      for (let i = 0; i < s.present.length; i++) {
        if (!s.present[i]) continue;
        timestamps[k] = innerGrid.times[i];
        values[k++] = s.values[i];
      }
      series.push({ labels: s.dropName ? dropMetadataLabels(s.labels) : s.labels, dropName: false, timestamps, values });
    }
    return { series, windowEnds, rangeMs: expr.rangeMs };
  }

  /**
   * Range function `name` over a matrix selector or subquery: the labels of every series read and the kernel's
   * per-step results as columns (series i at [i * steps, (i + 1) * steps); series without a point among them). A
   * matrix selector over a source that offers selectBatches is evaluated batch by batch where storage decoded the
   * samples in WASM memory (no JS copies; with `pooled`, into columns from columnPool that the caller gives back);
   * anything else goes through evalRangeArgument.
   */
  async evalRangeFunction(
    name: RangeFunctionName, expr: ast.MatrixSelector | ast.SubqueryExpr, grid: Grid,
    p0: Float64Array | undefined, p1: Float64Array | undefined, extension: WindowExtension | undefined, pooled: boolean,
  ): Promise<{ labels: Label[][] } & KernelColumns> {
    if (expr.type === "MatrixSelector") {
      const vs = expr.vector;
      const windowEnds = this.referenceTimes(grid, vs.at, vs.offsetMs);
      const start = windowEnds[0] - expr.rangeMs - (extension?.beforeMs ?? 0) + 1;
      const end = windowEnds[windowEnds.length - 1] + (extension?.afterMs ?? 0);
      let labels: Label[][] = []; // (the read's one list of label lists: see SeriesBatch)
      const out = new KernelColumnsBuilder(pooled ? columnPool : undefined);
      const windows = { windowEnds, rangeMs: expr.rangeMs, p0, p1, extension };
      const inMemory = await this.selectInMemory(vs, start, end, (batch) => {
        labels = batch.labels;
        evalRangeKernelInMemory(name, batch, windows, out);
      });
      if (inMemory) return { labels, ...out.columns() };
    }
    const arg = await this.evalRangeArgument(expr, grid);
    const windows = { windowEnds: arg.windowEnds, rangeMs: arg.rangeMs, p0, p1, extension };
    const cols = evalRangeKernelColumns(name, arg.series, windows, undefined, () => this.checkDeadline());
    return { labels: arg.series.map((s) => s.labels), ...cols };
  }

  /** A range vector as a query result (instant queries only): the samples of each series inside the window. */
  private async evalRangeResult(expr: ast.MatrixSelector | ast.SubqueryExpr, grid: Grid): Promise<EvalValue> {
    if (grid.times.length !== 1) {
      throw new PromqlError("bad_data", "invalid expression type \"range vector\" for range query, must be Scalar or instant Vector");
    }
    const arg = await this.evalRangeArgument(expr, grid);
    const end = arg.windowEnds[0];
    const start = end - arg.rangeMs;
    const ext = expr.type === "MatrixSelector" ? this.windowExtension(expr.vector) : undefined;
    if (ext) {
      const series = arg.series.map((s) => extendToBoundaries(withoutStaleMarkers(s), start, end, ext.smoothed)).filter((s) => s.timestamps.length > 0);
      return { kind: "matrix", series };
    }
    const series: RawSeries[] = [];
    for (const s of arg.series.map(withoutStaleMarkers)) {
      let lo = 0;
      while (lo < s.timestamps.length && s.timestamps[lo] <= start) lo++;
      let hi = lo;
      while (hi < s.timestamps.length && s.timestamps[hi] <= end) hi++;
      if (hi > lo) series.push({ ...s, timestamps: s.timestamps.slice(lo, hi), values: s.values.slice(lo, hi) });
    }
    return { kind: "matrix", series };
  }
}

/**
 * Samples of an anchored/smoothed range vector result: the in-range samples plus points exactly at both window
 * boundaries, taken from the nearest earlier sample (anchored) or interpolated (smoothed).
 */
function extendToBoundaries(s: RawSeries, mint: number, maxt: number, smoothed: boolean): RawSeries {
  const ts = s.timestamps;
  const vs = s.values;
  let last = ts.length - 1;
  let first = 0;
  while (first < last && ts[first] <= mint) first++;
  first = Math.max(0, first - 1);
  if (smoothed) {
    let j = 0;
    while (j < last && ts[j] < maxt) j++;
    last = j;
  }
  if (last < 0 || ts[last] <= mint) return { ...s, timestamps: new Float64Array(0), values: new Float64Array(0) };
  const lerp = (i: number, j: number, t: number) => vs[i] + ((vs[j] - vs[i]) * (t - ts[i])) / (ts[j] - ts[i]);
  const left = smoothed && ts[first] < mint ? lerp(first, first + 1, mint) : vs[first];
  const right = smoothed && last > 0 && ts[last] > maxt ? lerp(last - 1, last, maxt) : vs[last];
  if (ts[first] <= mint) first++;
  if (ts[last] >= maxt) last--;
  const times = [mint];
  const values = [left];
  for (let i = first; i <= last; i++) {
    times.push(ts[i]);
    values.push(vs[i]);
  }
  times.push(maxt);
  values.push(right);
  return { ...s, timestamps: Float64Array.from(times), values: Float64Array.from(values) };
}

function withoutStaleMarkers(s: RawSeries): RawSeries {
  const stale = staleMarkerMask(s.values);
  if (!stale) return s;
  const keep: number[] = [];
  for (let i = 0; i < stale.length; i++) if (!stale[i]) keep.push(i);
  return {
    ...s,
    timestamps: Float64Array.from(keep, (i) => s.timestamps[i]),
    values: Float64Array.from(keep, (i) => s.values[i]),
  };
}

/**
 * Merges series whose label sets are equal (after a label change); two of them holding a value at the same step
 * is Prometheus' "vector cannot contain metrics with the same labelset" error.
 */
export function mergeSameLabels(series: StepSeries[]): StepSeries[] {
  if (series.length < 2) return series;
  const seen = new LabelSetTable(); // (entry k: out[k])
  const out: StepSeries[] = [];
  for (const s of series) {
    const at = seen.add(s.labels);
    if (at < 0) {
      out.push(s);
      continue;
    }
    const existing = out[at];
    const merged: StepSeries = {
      labels: existing.labels,
      dropName: existing.dropName || s.dropName,
      values: existing.values.slice(),
      present: existing.present.slice(),
    };
    for (let i = 0; i < s.present.length; i++) {
      if (!s.present[i]) continue;
      if (merged.present[i]) {
        throw new PromqlError("execution", "vector cannot contain metrics with the same labelset");
      }
      merged.present[i] = 1;
      merged.values[i] = s.values[i];
    }
    out[at] = merged;
  }
  return out;
}

/** Applies delayed name removal at the end of a query and checks the result for duplicate label sets. */
export function finalizeSeries(series: StepSeries[]): StepSeries[] {
  return mergeSameLabels(series.map((s) => (s.dropName ? { ...s, labels: dropMetadataLabels(s.labels), dropName: false } : s)));
}

/**
 * An instant selector over one series: at each reference time the latest sample within the lookback window (not a
 * stale marker), or its timestamp in seconds; returns how many steps got one. (A small function over typed arrays,
 * so V8 optimises it once rather than the whole async evalVectorSelector through on-stack replacement.)
 */
function sampleAtSteps(
  ts: Float64Array,
  sv: Float64Array,
  stale: Uint8Array | undefined,
  refs: Float64Array,
  lookback: number,
  sampleTimestamps: boolean,
  values: Float64Array,
  present: Uint8Array,
): number {
  let points = 0;
  let j = 0;
  for (let i = 0; i < refs.length; i++) {
    const t = refs[i]!;
    while (j < ts.length && ts[j]! <= t) j++;
    const idx = j - 1;
    if (idx < 0 || ts[idx]! <= t - lookback || (stale && stale[idx])) continue;
    values[i] = sampleTimestamps ? ts[idx]! / 1000 : sv[idx]!;
    present[i] = 1;
    points++;
  }
  return points;
}
