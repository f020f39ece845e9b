// Types of bench/peerbench.mjs for the TypeScript bench scripts, and of the peerbench workload they load (peerbench is untyped JS).
import type { BenchFlag } from "./cli.mjs";
export const WORKLOAD_FLAGS: { series: BenchFlag & { type: "string"; default: number }; points: BenchFlag & { type: "string"; default: number } };
export const PEERBENCH_FLAG: BenchFlag;
export const PEERBENCH_ENV: Record<string, string>;
export function importPeerbench(dir: string | undefined, ...modules: string[]): Promise<Record<string, unknown>>;

/** What peerbench's makeWorkload returns: S series of P points each, values and timestamps series after series. */
export interface PeerbenchWorkload {
  series: { labels: [string, string][] }[];
  values: Float64Array;
  timestamps: Float64Array;
  S: number;
  P: number;
  tEnd: number;
}
/** peerbench's workload generator (workload.mjs). */
export type MakeWorkload = (o: { S: number; P: number; endMs: number; seed?: number }) => PeerbenchWorkload;
