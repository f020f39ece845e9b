// V8 settings of the server process that must be in place before the server's code first runs: imported first by
// main.ts (ES modules are evaluated in import order), so every function of the request path is compiled after them.
import { setFlagsFromString } from "node:v8";

/**
 * Functions go straight to Sparkplug's baseline code at their first call instead of running in the interpreter until
 * V8 finds them worth it. A fresh server answers its first few hundred requests (peerbench's whole query phase) in
 * such code: their main-thread CPU is ~10 % lower (runs 2-6 of small queries, docs/benchmarks.md "Per-request CPU on
 * a fresh server"), for ~2 MiB of RSS (baseline code and feedback vectors of every function that ran) and ~20 ms more
 * CPU at startup. Optimised (TurboFan) code and when V8 decides to produce it are unchanged.
 */
setFlagsFromString("--always-sparkplug");
