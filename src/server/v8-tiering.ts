// V8 settings of the server process that must be in place before the server's code first runs: imported first by
// main.ts (ES modules are evaluated in import order), so every function of the request path is compiled after them.
import { setFlagsFromString } from "node:v8";

/**
 * Functions go straight to Sparkplug's baseline code at their first call instead of running in the interpreter until
 * V8 finds them worth it. A fresh server answers its first few hundred requests (peerbench's whole query phase) in
 * unoptimised code; with the flag, the first query shapes' runs 2-6 (q02, q03) took 16-33 % less main-thread CPU in
 * each of three A/Bs, the other queries' changed by no more than the noise in two of them and fell ~10 % in the
 * third (docs/benchmarks.md, "Per-request CPU on a fresh server"), for ~2 MiB of RSS (baseline code and feedback vectors of every function that ran) and ~20 ms more CPU at
 * startup. Optimised (TurboFan) code and when V8 decides to produce it are unchanged.
 */
setFlagsFromString("--always-sparkplug");
