// One range-function kernel call in isolation (dist/, after `npm run build`): --series series of --points samples
// 15 s apart, one window covering them all (an instant query's), or with --steps N windows of --range seconds ending
// every 60 s up to the last sample (a range query's, e.g. q03's avg_over_time(x[10m]): --steps 60 --range 600),
// packed into linear memory and evaluated; prints the median and minimum process CPU time per call over 15 rounds
// of --calls calls.
// Usage: node bench/range-kernels.mjs [--fn max_over_time --series 100 --points 240 --calls 2000 --steps 1 --range S]
import { evalRangeKernel } from "../dist/promql/range_kernels.js";
import { benchArgs } from "./cli.mjs";

const { values: opts } = benchArgs({
  about: "One range-function kernel call in isolation (dist/, after npm run build): CPU time per call, median and minimum of 15 rounds.",
  flags: {
    fn: { type: "string", default: "max_over_time", help: "the range function" },
    series: { type: "string", default: 100, help: "series per call" },
    points: { type: "string", default: 240, help: "points per series, 15 s apart, all in the one window" },
    calls: { type: "string", default: 2000, help: "calls per round" },
    steps: { type: "string", default: 1, help: "windows per series (1: one window over all points)" },
    range: { type: "string", help: "with --steps: window length in seconds" },
  },
});
const fn = opts.fn;
const S = Number(opts.series);
const P = Number(opts.points);
const calls = Number(opts.calls);
const series = Array.from({ length: S }, (_, s) => ({
  timestamps: Float64Array.from({ length: P }, (_, i) => i * 15_000),
  values: Float64Array.from({ length: P }, (_, i) => Math.round((Math.sin(s + i) + 1) * 300) / 100),
}));
const steps = Number(opts.steps);
const windows =
  steps === 1
    ? { windowEnds: Float64Array.from([P * 15_000]), rangeMs: P * 15_000 }
    : { windowEnds: Float64Array.from({ length: steps }, (_, k) => (P - 1) * 15_000 - (steps - 1 - k) * 60_000), rangeMs: Number(opts.range) * 1000 };
const perCall = [];
for (let r = 0; r < 15; r++) {
  const c0 = process.cpuUsage();
  for (let i = 0; i < calls; i++) evalRangeKernel(fn, series, windows);
  const c = process.cpuUsage(c0);
  perCall.push((c.user + c.system) / calls);
}
perCall.sort((a, b) => a - b);
console.log(`${fn} over ${S} series x ${P} points, ${steps === 1 ? "one window" : `${steps} windows of ${opts.range} s`}: CPU per call median ${perCall[7].toFixed(1)} us, min ${perCall[0].toFixed(1)} us`);
