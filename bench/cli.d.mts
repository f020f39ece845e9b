// Types of bench/cli.mjs for the TypeScript bench scripts.
export interface BenchFlag {
  type: "string" | "boolean";
  default?: string | number;
  help: string;
}
export function benchArgs<F extends Record<string, BenchFlag>>(spec: {
  about: string;
  flags: F;
  env?: Record<string, string>;
  positionals?: string;
}): { values: { [K in keyof F]: F[K]["type"] extends "boolean" ? boolean : F[K] extends { default: string | number } ? string : string | undefined }; positionals: string[] };
