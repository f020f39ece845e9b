// Internal value representations of the PromQL evaluator. Every expression is evaluated once over a whole step grid:
// an instant vector is a list of series holding one (value, present) slot per step, columnar in typed arrays.

import type { Label } from "./result.js";

/** Evaluation timestamps (ms), ascending; an instant query is a grid of one step. */
export interface Grid {
  start: number;
  end: number;
  step: number;
  times: Float64Array;
}

export interface StepSeries {
  labels: Label[];
  /** Prometheus' delayed name removal: the metric name (and __type__/__unit__) is dropped when the query ends. */
  dropName: boolean;
  values: Float64Array;
  present: Uint8Array;
}

/**
 * An instant vector as columns, as an instant selector reads it: series i (labels[i]) holds steps
 * [i * steps, (i + 1) * steps) of `values`/`present`; series without any point may be among them. Aggregations
 * read it without building a StepSeries (and two typed-array views) per series.
 */
export interface VectorColumns {
  labels: Label[][];
  dropName: boolean;
  values: Float64Array;
  present: Uint8Array;
  steps: number;
}

/** The series of `cols` that hold a point, as StepSeries (views into the columns). */
export function seriesOfColumns(cols: VectorColumns): StepSeries[] {
  const { labels, values, present, steps } = cols;
  const out: StepSeries[] = [];
  for (let i = 0; i < labels.length; i++) {
    const from = i * steps;
    if (!anyPresentIn(present, from, from + steps)) continue;
    out.push({ labels: labels[i]!, dropName: cols.dropName, values: values.subarray(from, from + steps), present: present.subarray(from, from + steps) });
  }
  return out;
}

/** Raw samples of one series (range-vector data), ascending timestamps. */
export interface RawSeries {
  labels: Label[];
  dropName: boolean;
  timestamps: Float64Array;
  values: Float64Array;
}

export type EvalValue =
  | { kind: "vector"; series: StepSeries[] }
  | { kind: "scalar"; values: Float64Array }
  | { kind: "string"; value: string }
  | { kind: "matrix"; series: RawSeries[] };

export function makeGrid(start: number, end: number, step: number): Grid {
  const n = step > 0 ? Math.floor((end - start) / step) + 1 : 1;
  const times = new Float64Array(n);
  for (let i = 0; i < n; i++) times[i] = start + i * step;
  return { start, end, step, times };
}

export function hasAnyPoint(s: StepSeries): boolean {
  return anyPresent(s.present);
}

// Step loops over typed arrays only, in small functions: StepSeries objects come in several shapes, and a loop that
// reads `s.present[i]` through them would be optimised, deoptimised on the next shape ("wrong map") and recompiled.
function anyPresent(present: Uint8Array): boolean {
  return anyPresentIn(present, 0, present.length);
}

/** Whether any of present[from..to) is set. */
export function anyPresentIn(present: Uint8Array, from: number, to: number): boolean {
  for (let i = from; i < to; i++) if (present[i]) return true;
  return false;
}

/** How many steps are present. */
export function countPresent(present: Uint8Array): number {
  return countPresentIn(present, 0, present.length);
}

/** How many of present[from..to) are set. */
export function countPresentIn(present: Uint8Array, from: number, to: number): number {
  let n = 0;
  for (let i = from; i < to; i++) n += present[i]!;
  return n;
}
