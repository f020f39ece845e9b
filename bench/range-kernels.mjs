// One range-function kernel call in isolation (dist/, after `npm run build`): --series series of --points samples
// 15 s apart, one window covering them all (an instant query's), packed into linear memory and evaluated; prints
// the median and minimum process CPU time per call over 15 rounds of --calls calls.
// Usage: node bench/range-kernels.mjs [--fn max_over_time --series 100 --points 240 --calls 2000]
import { evalRangeKernel } from "../dist/promql/range_kernels.js";
import { benchArgs } from "./cli.mjs";

const { values: opts } = benchArgs({
  about: "One range-function kernel call in isolation (dist/, after npm run build): CPU time per call, median and minimum of 15 rounds.",
  flags: {
    fn: { type: "string", default: "max_over_time", help: "the range function" },
    series: { type: "string", default: 100, help: "series per call" },
    points: { type: "string", default: 240, help: "points per series, 15 s apart, all in the one window" },
    calls: { type: "string", default: 2000, help: "calls per round" },
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
const windows = { windowEnds: Float64Array.from([P * 15_000]), rangeMs: P * 15_000 };
const perCall = [];
for (let r = 0; r < 15; r++) {
  const c0 = process.cpuUsage();
  for (let i = 0; i < calls; i++) evalRangeKernel(fn, series, windows);
  const c = process.cpuUsage(c0);
  perCall.push((c.user + c.system) / calls);
}
perCall.sort((a, b) => a - b);
console.log(`${fn} over ${S} series x ${P} points, one window: CPU per call median ${perCall[7].toFixed(1)} us, min ${perCall[0].toFixed(1)} us`);
