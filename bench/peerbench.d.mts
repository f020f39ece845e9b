// Types of bench/peerbench.mjs for the TypeScript bench scripts (peerbench's own modules are untyped JavaScript).
import type { BenchFlag } from "./cli.mjs";
export const PEERBENCH_FLAG: BenchFlag;
export const PEERBENCH_ENV: Record<string, string>;
export function peerbenchLib(dir?: string): string;
export function importPeerbench(dir: string | undefined, ...modules: string[]): Promise<Record<string, unknown>>;
