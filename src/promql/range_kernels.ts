// Bridge to the AssemblyScript range-function kernels (assembly/promql/range_functions.ts): runs them over series
// packed into the WASM scratch arena (from JS arrays) or already in linear memory (the read arena), and unpacks the results.

import { loadWasm, memoryViews, type WasmExports } from "../wasm/loader.js";

/** Kernel function ids; keep in sync with the FN_* constants in assembly/promql/range_functions.ts. */
export const RANGE_FUNCTION_IDS = {
  rate: 0,
  increase: 1,
  delta: 2,
  irate: 3,
  idelta: 4,
  deriv: 5,
  changes: 6,
  resets: 7,
  avg_over_time: 8,
  sum_over_time: 9,
  min_over_time: 10,
  max_over_time: 11,
  count_over_time: 12,
  last_over_time: 13,
  first_over_time: 14,
  present_over_time: 15,
  stddev_over_time: 16,
  stdvar_over_time: 17,
  mad_over_time: 18,
  quantile_over_time: 19,
  predict_linear: 20,
  double_exponential_smoothing: 21,
  ts_of_first_over_time: 22,
  ts_of_last_over_time: 23,
  ts_of_max_over_time: 24,
  ts_of_min_over_time: 25,
} as const;

/** Kernels for `anchored` / `smoothed` range selectors (assembly FN_EXT_* / FN_ANCHORED_*). */
const EXTENDED_FUNCTION_IDS: Readonly<Record<string, number>> = {
  rate: 26,
  increase: 27,
  delta: 28,
  changes: 29,
  resets: 30,
};

/** Instant-selector kernels (assembly FN_INSTANT_*). */
const FN_INSTANT_VALUE = 31;
const FN_INSTANT_TIMESTAMP = 32;

/** How far an anchored or smoothed window reaches past the plain (end - range, end] window. */
export interface WindowExtension {
  smoothed: boolean;
  beforeMs: number;
  afterMs: number;
}

export type RangeFunctionName = keyof typeof RANGE_FUNCTION_IDS;

/**
 * The windows one kernel call evaluates, (windowEnds[k] - rangeMs, windowEnds[k]] per step k, widened by `extension`
 * for an anchored/smoothed selector (the extended variant runs), with per-step scalar parameters p0/p1 (quantile,
 * prediction horizon and intercept time, smoothing factors).
 */
export interface KernelWindows {
  windowEnds: Float64Array;
  rangeMs: number;
  p0?: Float64Array;
  p1?: Float64Array;
  extension?: WindowExtension;
}

interface KernelExports extends WasmExports {
  promqlRangeEval(
    fn: number, seriesCount: number, stepCount: number, rangeMs: number,
    ts: number, vs: number, offsets: number, windowEnds: number,
    p0: number, p1: number, out: number, present: number, sortBuf: number,
    extraBeforeMs: number, extraAfterMs: number, smoothed: number,
  ): void;
}

/** Samples of one series inside a range argument (ascending timestamps, no stale markers). */
export interface WindowSeries {
  timestamps: Float64Array;
  values: Float64Array;
}

export interface KernelResult {
  values: Float64Array;
  present: Uint8Array;
}

const align8 = (n: number) => (n + 7) & ~7;

/**
 * Linear memory one kernel call may use; larger inputs are split into batches of whole series. Kept small: WASM
 * memory never shrinks, so the arena's high-water mark stays resident for the life of the process (64 MiB batches
 * left ~40 MiB more RSS after peerbench's queries than 4 MiB ones), and small batches stay in cache.
 */
const BATCH_BYTES = 4 << 20;

/** Points per batch when storage decodes range data into the read arena (16 B each: the same 4 MiB bound). */
export const KERNEL_BATCH_POINTS = BATCH_BYTES / 16;

/**
 * Runs range function `name` over every series for `windows`: one pair of columns for all series (series i at
 * [i * steps, (i + 1) * steps)). Large inputs run as several calls over batches of whole series, which bounds the
 * linear memory used (and, as a batch's output is part of its size, the work of one call); `beforeBatch` runs
 * before each call (e.g. a deadline check).
 */
export function evalRangeKernelColumns(
  name: RangeFunctionName,
  series: WindowSeries[],
  windows: KernelWindows,
  batchBytes = BATCH_BYTES,
  beforeBatch?: () => void,
): KernelColumns {
  const fn = kernelId(name, windows.extension);
  const steps = windows.windowEnds.length;
  const out = new KernelColumnsBuilder(undefined);
  let first = 0;
  while (first < series.length) {
    // Take series while the batch stays within batchBytes (always at least one).
    let end = first;
    let bytes = 0;
    while (end < series.length) {
      const cost = series[end].timestamps.length * 16 + steps * 9 + 4;
      if (end > first && bytes + cost > batchBytes) break;
      bytes += cost;
      end++;
    }
    beforeBatch?.();
    const count = end - first;
    const offsets = new Int32Array(count + 1);
    for (let i = 0; i < count; i++) offsets[i + 1] = offsets[i] + series[first + i].timestamps.length;
    const w = windows;
    runKernel(fn, offsets, offsets[count], series, first, 0, 0, w.windowEnds, w.rangeMs, w.p0, w.p1, w.extension, out);
    first = end;
  }
  return out.columns();
}

/** evalRangeKernelColumns with one result (views into the columns) per series. */
export function evalRangeKernel(
  name: RangeFunctionName,
  series: WindowSeries[],
  windows: KernelWindows,
  batchBytes = BATCH_BYTES,
  beforeBatch?: () => void,
): KernelResult[] {
  const out = evalRangeKernelColumns(name, series, windows, batchBytes, beforeBatch);
  const steps = windows.windowEnds.length;
  const results: KernelResult[] = new Array(series.length);
  for (let i = 0; i < series.length; i++) {
    results[i] = { values: out.values.subarray(i * steps, (i + 1) * steps), present: out.present.subarray(i * steps, (i + 1) * steps) };
  }
  return results;
}

/**
 * Value and presence columns gathered from kernel calls, one call's output after the other. With `pool`, the arrays
 * come from it and go back to it with releaseColumns once the consumer is done: a query's columns then reuse the
 * ArrayBuffers of earlier queries instead of fresh external memory (which V8, and the server's buffer bound, answer
 * with full GCs). Without, they are the caller's (a single call's output is allocated at its exact size).
 */
export class KernelColumnsBuilder {
  values: Float64Array = new Float64Array(0);
  present: Uint8Array = new Uint8Array(0);
  length = 0;

  constructor(private readonly pool: ColumnPool | undefined) {}

  /** Appends n slots from linear memory: f64 values at byte address valuesAt, presence bytes at presentAt. */
  copyFrom(valuesAt: number, presentAt: number, n: number): void {
    if (this.length + n > this.values.length) this.grow(this.length + n);
    const mem = memoryViews();
    this.values.set(mem.f64.subarray(valuesAt >> 3, (valuesAt >> 3) + n), this.length);
    this.present.set(mem.u8.subarray(presentAt, presentAt + n), this.length);
    this.length += n;
  }

  private grow(need: number): void {
    const size = this.values.length === 0 ? need : Math.max(need, this.values.length * 2);
    const next = this.pool ? this.pool.take(size) : { values: new Float64Array(size), present: new Uint8Array(size) };
    next.values.set(this.values.subarray(0, this.length));
    next.present.set(this.present.subarray(0, this.length));
    if (this.pool && this.values.length > 0) this.pool.give(this.values, this.present);
    this.values = next.values;
    this.present = next.present;
  }

  /** The columns gathered (views of the first `length` slots). */
  columns(): KernelColumns {
    return { values: this.values.subarray(0, this.length), present: this.present.subarray(0, this.length) };
  }
}

/** Slots the pool keeps in all (9 bytes each: at most ~9.4 MiB stay allocated); the smallest arrays go first. */
const POOL_MAX_SLOTS = 1 << 20;

/** Column arrays lent to one evaluation at a time (a query that yields between batches holds its own until released). */
export class ColumnPool {
  private readonly free: KernelColumns[] = [];

  /** Arrays of at least n slots (contents undefined). */
  take(n: number): KernelColumns {
    let best = -1;
    for (let i = 0; i < this.free.length; i++) {
      const len = this.free[i]!.values.length;
      if (len >= n && (best < 0 || len < this.free[best]!.values.length)) best = i;
    }
    if (best < 0) return { values: new Float64Array(n), present: new Uint8Array(n) };
    const got = this.free[best]!;
    this.free.splice(best, 1);
    return got;
  }

  /** Takes back arrays from take() (whole, not views); the smallest are dropped while more than POOL_MAX_SLOTS are free. */
  give(values: Float64Array, present: Uint8Array): void {
    if (values.length > POOL_MAX_SLOTS) return;
    this.free.push({ values, present });
    let total = 0;
    for (const f of this.free) total += f.values.length;
    while (total > POOL_MAX_SLOTS) {
      let smallest = 0;
      for (let i = 1; i < this.free.length; i++) if (this.free[i]!.values.length < this.free[smallest]!.values.length) smallest = i;
      total -= this.free[smallest]!.values.length;
      this.free.splice(smallest, 1);
    }
  }
}

/** The evaluator's pool for columns that aggregations consume (see KernelColumnsBuilder). */
export const columnPool = new ColumnPool();

/** Gives columns built with columnPool back (views: their whole arrays go back); they must not be read afterwards. */
export function releaseColumns(cols: KernelColumns): void {
  const values = new Float64Array(cols.values.buffer);
  const present = new Uint8Array(cols.present.buffer);
  // (a comparison replaces the presence column: then the pair no longer matches and stays out of the pool)
  if (values.length > 0 && values.length === present.length) columnPool.give(values, present);
}

function kernelId(name: RangeFunctionName, extension: WindowExtension | undefined): number {
  const fn = extension ? EXTENDED_FUNCTION_IDS[name] : RANGE_FUNCTION_IDS[name];
  if (fn === undefined) throw new Error(`no extended-window kernel for ${name}`);
  return fn;
}

/** Series already in linear memory: series i is points [offsets[i], offsets[i + 1]) of the f64 arrays at tsPtr/vsPtr. */
export interface SeriesInMemory {
  offsets: Int32Array;
  tsPtr: number;
  vsPtr: number;
}

/**
 * Runs range function `name` over series that are already in linear memory (the read arena), in place: the
 * kernel drops their staleness markers where they lie. Appends the batch's output to `into` as columns (series i at
 * [i * steps, (i + 1) * steps)), no per-series objects.
 */
export function evalRangeKernelInMemory(name: RangeFunctionName, batch: SeriesInMemory, windows: KernelWindows, into: KernelColumnsBuilder): void {
  const fn = kernelId(name, windows.extension);
  runKernel(fn, batch.offsets, 0, undefined, 0, batch.tsPtr, batch.vsPtr, windows.windowEnds, windows.rangeMs, windows.p0, windows.p1, windows.extension, into);
}

/**
 * Instant-vector selector over series in linear memory: per step t = refs[k], the newest sample in
 * (t - lookbackMs, t] unless it is a staleness marker, as its value (or, with `sampleTimestamps`, its timestamp in
 * seconds). Appends the batch's output to `into` as columns (series i at [i * steps, (i + 1) * steps)), no per-series objects.
 */
export function evalInstantSelectorInMemory(
  batch: SeriesInMemory, refs: Float64Array, lookbackMs: number, sampleTimestamps: boolean, into: KernelColumnsBuilder,
): void {
  const fn = sampleTimestamps ? FN_INSTANT_TIMESTAMP : FN_INSTANT_VALUE;
  runKernel(fn, batch.offsets, 0, undefined, 0, batch.tsPtr, batch.vsPtr, refs, lookbackMs, undefined, undefined, undefined, into);
}

/** One kernel call's output over `count` series: values and presence flags, series i at [i * steps, (i + 1) * steps). */
export interface KernelColumns {
  values: Float64Array;
  present: Uint8Array;
}

/**
 * One kernel call: lays out offsets, windows, parameters and outputs in the scratch arena, with the input points
 * either packed there too (`packed`: series [first, first + offsets.length - 1), `packedPoints` points in all) or
 * already in linear memory at tsPtr/vsPtr, runs the kernel and copies its output out of linear memory (the scratch
 * arena is reused by the next call) to the end of `into`. Windows and inputs come as plain arguments, not as an object or a callback:
 * callers pass objects of several shapes and closures of several functions, which deoptimised it ("wrong map",
 * "wrong feedback cell").
 */
function runKernel(
  fn: number,
  offsets: Int32Array,
  packedPoints: number,
  packed: WindowSeries[] | undefined,
  first: number,
  tsPtr: number,
  vsPtr: number,
  windowEnds: Float64Array,
  rangeMs: number,
  p0: Float64Array | undefined,
  p1: Float64Array | undefined,
  extension: WindowExtension | undefined,
  into: KernelColumnsBuilder,
): void {
  const wasm = loadWasm() as KernelExports;
  const steps = windowEnds.length;
  const count = offsets.length - 1;
  const longest = longestSeries(offsets);
  const offsetsOff = packedPoints * 16;
  const windowOff = align8(offsetsOff + (count + 1) * 4);
  const p0Off = windowOff + steps * 8;
  const p1Off = p0Off + steps * 8;
  const outOff = p1Off + steps * 8;
  const presentOff = outOff + count * steps * 8;
  const sortOff = align8(presentOff + count * steps);
  const total = sortOff + Math.max(1, longest) * 8;

  const base = wasm.scratch(total);
  if (packed) {
    packSeries(packed, first, offsets, base, packedPoints);
    tsPtr = base;
    vsPtr = base + packedPoints * 8;
  }
  const mem = memoryViews();
  mem.i32.set(offsets, (base + offsetsOff) >> 2);
  mem.f64.set(windowEnds, (base + windowOff) >> 3);
  // (every property access and call here runs for every kernel, with or without parameters or extension: V8
  // optimises runKernel after a few queries, and one that never ran would deoptimise it on its first use)
  mem.f64.set(p0 ?? NO_PARAMETER, (base + p0Off) >> 3);
  mem.f64.set(p1 ?? NO_PARAMETER, (base + p1Off) >> 3);
  const ext = extension ?? NO_EXTENSION;

  wasm.promqlRangeEval(
    fn, count, steps, rangeMs,
    tsPtr, vsPtr, base + offsetsOff, base + windowOff,
    base + p0Off, base + p1Off, base + outOff, base + presentOff, base + sortOff,
    ext.beforeMs, ext.afterMs, ext.smoothed ? 1 : 0,
  );

  into.copyFrom(base + outOff, base + presentOff, count * steps);
}

/** runKernel's stand-ins for an absent parameter column and window extension. */
const NO_PARAMETER = new Float64Array(0);
const NO_EXTENSION: WindowExtension = { smoothed: false, beforeMs: 0, afterMs: 0 };

/** The most points of one series among those `offsets` delimit (a loop of its own, so runKernel has none). */
function longestSeries(offsets: Int32Array): number {
  let longest = 0;
  for (let i = 0; i + 1 < offsets.length; i++) longest = Math.max(longest, offsets[i + 1]! - offsets[i]!);
  return longest;
}

/** Copies series [first, first + offsets.length - 1) into linear memory at `base`: timestamps, then values. */
function packSeries(series: WindowSeries[], first: number, offsets: Int32Array, base: number, points: number): void {
  const f64 = memoryViews().f64;
  for (let i = 0; i < offsets.length - 1; i++) {
    const s = series[first + i]!;
    f64.set(s.timestamps, base / 8 + offsets[i]!);
    f64.set(s.values, base / 8 + points + offsets[i]!);
  }
}
