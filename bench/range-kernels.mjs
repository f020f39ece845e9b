// One range-function kernel call in isolation (dist/, after `npm run build`): --series series of --points samples
// 15 s apart, one window covering them all (an instant query's), or with --steps N the windows of a range query's N
// steps 60 s apart ending at the last sample, each --range seconds long; packed into linear memory and evaluated;
// prints the median and minimum process CPU time per call over 15 rounds of --calls calls.
// Usage: node bench/range-kernels.mjs [--fn max_over_time --series 100 --points 240 --calls 2000 --steps 60 --range 600
//        --module <another build>/dist/promql/range_kernels.js]
import { resolve } from "node:path";
import { benchArgs } from "./cli.mjs";

const { values: opts } = benchArgs({
  about: "One range-function kernel call in isolation (dist/, after npm run build): CPU time per call, median and minimum of 15 rounds.",
  flags: {
    fn: { type: "string", default: "max_over_time", help: "the range function" },
    series: { type: "string", default: 100, help: "series per call" },
    points: { type: "string", default: 240, help: "points per series, 15 s apart, all in the one window" },
    calls: { type: "string", default: 2000, help: "calls per round" },
    steps: { type: "string", help: "a range query's steps, 60 s apart (default: one window over all points)" },
    range: { type: "string", default: 600, help: "with --steps: the window length in seconds" },
    module: { type: "string", default: "dist/promql/range_kernels.js", help: "the kernels module (another build's, for before/after)" },
  },
});
const { evalRangeKernel } = await import(resolve(opts.module));
const fn = opts.fn;
const S = Number(opts.series);
const P = Number(opts.points);
const calls = Number(opts.calls);
const series = Array.from({ length: S }, (_, s) => ({
  timestamps: Float64Array.from({ length: P }, (_, i) => i * 15_000),
  values: Float64Array.from({ length: P }, (_, i) => Math.round((Math.sin(s + i) + 1) * 300) / 100),
}));
const steps = Number(opts.steps ?? 1);
const windows = opts.steps
  ? { windowEnds: Float64Array.from({ length: steps }, (_, k) => (P - 1) * 15_000 - (steps - 1 - k) * 60_000), rangeMs: Number(opts.range) * 1000 }
  : { windowEnds: Float64Array.from([P * 15_000]), rangeMs: P * 15_000 };
const perCall = [];
for (let r = 0; r < 15; r++) {
  const c0 = process.cpuUsage();
  for (let i = 0; i < calls; i++) evalRangeKernel(fn, series, windows);
  const c = process.cpuUsage(c0);
  perCall.push((c.user + c.system) / calls);
}
perCall.sort((a, b) => a - b);
const shape = opts.steps ? `${steps} steps of ${opts.range} s windows` : "one window";
console.log(`${opts.module}: ${fn} over ${S} series x ${P} points, ${shape}: CPU per call median ${perCall[7].toFixed(1)} us, min ${perCall[0].toFixed(1)} us`);
