// Explains peerbench result differences between Prometheus 2.42 and tsink: regenerates peerbench's workload from a
// result file's parameters and recomputes every differing query with two small reference models, "2.42" (range
// windows closed on the left, [t-r, t]) and "3.x" (open on the left, (t-r, t], and the 3.x order of extrapolation
// limits). Each saved result is then compared with both models point by point.
// Usage: node bench/peer-semantics.mjs <prometheus.json> <tsink.json>
// Prints, per query and result file, how many points equal each model (relative tolerance 1e-9); exit code 1 when
// a file matches neither model at some point.
import { readFileSync } from "node:fs";
import { benchArgs } from "./cli.mjs";
import { importPeerbench, PEERBENCH_ENV, PEERBENCH_FLAG } from "./peerbench.mjs";

const { values: opts, positionals } = benchArgs({
  about: "Compares two peerbench result files (Prometheus 2.42, tsink) point by point with the 2.42 and 3.x range-window models; exit 1 when a file matches neither.",
  flags: { peerbench: PEERBENCH_FLAG },
  env: PEERBENCH_ENV,
  positionals: "<prometheus.json> <tsink.json>",
});
const { makeWorkload } = await importPeerbench(opts.peerbench, "workload.mjs");
const TOL = 1e-9;
const [promFile, tsinkFile] = positionals;
if (!promFile || !tsinkFile || positionals.length > 2) {
  console.error("usage: node bench/peer-semantics.mjs [--peerbench DIR] <prometheus.json> <tsink.json> (see --help)");
  process.exit(2);
}
const prom = JSON.parse(readFileSync(promFile, "utf8"));
const tsink = JSON.parse(readFileSync(tsinkFile, "utf8"));
const { S, P, seed, tEnd } = prom.workload;
for (const k of ["S", "P", "seed"]) if (tsink.workload[k] !== prom.workload[k]) throw new Error(`workloads differ in ${k}`);
const wl = makeWorkload({ S, P, seed, endMs: tEnd });
const labelsOf = (i) => Object.fromEntries(wl.series[i].labels);
const win = prom.queryWindow; // seconds
const steps = [];
for (let t = win.start * 1000; t <= win.end * 1000; t += win.step * 1000) steps.push(t);

/** Samples of series i inside the range window ending at t. */
function windowOf(i, t, rangeMs, model) {
  const ts = [];
  const vs = [];
  for (let j = 0; j < P; j++) {
    const tj = wl.timestamps[j];
    const inside = model === "2.42" ? tj >= t - rangeMs && tj <= t : tj > t - rangeMs && tj <= t;
    if (inside) {
      ts.push(tj);
      vs.push(wl.values[i * P + j]);
    }
  }
  return { ts, vs };
}

/** Prometheus' extrapolatedRate; the two versions differ in where the counter zero-point limit applies. */
function extrapolated({ ts, vs }, t, rangeMs, isCounter, isRate, model) {
  if (ts.length < 2) return undefined;
  const n = ts.length;
  let result = vs[n - 1] - vs[0];
  if (isCounter) for (let k = 1; k < n; k++) if (vs[k] < vs[k - 1]) result += vs[k - 1];
  let toStart = (ts[0] - (t - rangeMs)) / 1000;
  let toEnd = (t - ts[n - 1]) / 1000;
  const sampled = (ts[n - 1] - ts[0]) / 1000;
  const avg = sampled / (n - 1);
  const threshold = avg * 1.1;
  const zeroLimit = () => {
    if (isCounter && result > 0 && vs[0] >= 0) toStart = Math.min(toStart, sampled * (vs[0] / result));
  };
  if (model === "2.42") zeroLimit();
  if (toStart >= threshold) toStart = avg / 2;
  if (model !== "2.42") zeroLimit();
  if (toEnd >= threshold) toEnd = avg / 2;
  let factor = (sampled + toStart + toEnd) / sampled;
  if (isRate) factor /= rangeMs / 1000;
  return result * factor;
}

const avgOf = ({ vs }) => (vs.length ? vs.reduce((a, b) => a + b, 0) / vs.length : undefined);
function quantileOf(q, { vs }) {
  if (!vs.length) return undefined;
  const s = vs.slice().sort((a, b) => a - b);
  const rank = q * (s.length - 1);
  const lo = Math.max(0, Math.floor(rank));
  const hi = Math.min(s.length - 1, lo + 1);
  const w = rank - Math.floor(rank);
  return s[lo] * (1 - w) + s[hi] * w;
}

/** Per-series range function over the selected series: Map<labelKey, {metric, values: Map<t, v>}>. */
function perSeries(select, fn, rangeMs, model, keepName = false) {
  const out = new Map();
  for (let i = 0; i < S; i++) {
    const l = labelsOf(i);
    if (!select(l)) continue;
    const metric = { ...l };
    if (!keepName) delete metric.__name__;
    const values = new Map();
    for (const t of steps) {
      const v = fn(windowOf(i, t, rangeMs, model), t, model);
      if (v !== undefined) values.set(t, v);
    }
    out.set(key(metric), { metric, values });
  }
  return out;
}
const key = (m) => Object.keys(m).sort().map((k) => `${k}=${m[k]}`).join(",");

function aggregate(input, by, op) {
  const groups = new Map();
  for (const { metric, values } of input.values()) {
    const gm = Object.fromEntries(by.filter((l) => l in metric).map((l) => [l, metric[l]]));
    const k = key(gm);
    if (!groups.has(k)) groups.set(k, { metric: gm, acc: new Map() });
    const g = groups.get(k);
    for (const [t, v] of values) {
      const a = g.acc.get(t) ?? { sum: 0, n: 0 };
      a.sum += v;
      a.n++;
      g.acc.set(t, a);
    }
  }
  const out = new Map();
  for (const [k, g] of groups) {
    out.set(k, { metric: g.metric, values: new Map([...g.acc].map(([t, a]) => [t, op === "avg" ? a.sum / a.n : a.sum])) });
  }
  return out;
}

function topk(n, input) {
  const out = new Map();
  for (const t of steps) {
    const at = [...input.values()].filter((s) => s.values.has(t)).sort((a, b) => b.values.get(t) - a.values.get(t)).slice(0, n);
    for (const s of at) {
      const k = key(s.metric);
      if (!out.has(k)) out.set(k, { metric: s.metric, values: new Map() });
      out.get(k).values.set(t, s.values.get(t));
    }
  }
  return out;
}

const rate = (w, t, model) => extrapolated(w, t, 300_000, true, true, model);
const M = (name) => (l) => l.__name__ === name;
const QUERIES = {
  q01: (m) => aggregate(perSeries((l) => l.__name__ === "node_cpu_seconds_total" || l.__name__ === "http_requests_total", rate, 300_000, m), ["job"], "sum"),
  q02: (m) => aggregate(perSeries((l) => M("node_network_receive_bytes_total")(l) && l.device !== "lo", rate, 300_000, m), ["instance"], "sum"),
  q03: (m) => aggregate(perSeries(M("node_load1"), avgOf, 600_000, m), ["dc"], "avg"),
  q04: (m) => perSeries((l) => M("node_load5")(l) && l.dc === "dc2", (w) => quantileOf(0.95, w), 900_000, m),
  q05: (m) => topk(5, aggregate(perSeries(M("http_requests_total"), rate, 300_000, m), ["instance"], "sum")),
  q09: (m) => {
    const num = aggregate(perSeries((l) => M("http_requests_total")(l) && /^5..$/.test(l.code), rate, 300_000, m), [], "sum");
    const den = aggregate(perSeries(M("http_requests_total"), rate, 300_000, m), [], "sum");
    const a = [...num.values()][0].values;
    const b = [...den.values()][0].values;
    return new Map([["", { metric: {}, values: new Map([...a].filter(([t]) => b.has(t)).map(([t, v]) => [t, v / b.get(t)])) }]]);
  },
  q15: (m) => aggregate(perSeries((l) => M("node_cpu_seconds_total")(l) && l.mode !== "idle", rate, 300_000, m), ["dc", "mode"], "sum"),
  q17: (m) => perSeries((l) => M("node_memory_MemFree_bytes")(l) && l.dc === "dc3", (w, t, mm) => extrapolated(w, t, 600_000, false, false, mm), 600_000, m),
};

const close = (a, b) => a === b || Math.abs(a - b) <= TOL * Math.max(Math.abs(a), Math.abs(b));

/** Counts the points of a saved result equal to a model's answer (points missing on either side count as unequal). */
function score(saved, model, t0) {
  let equal = 0;
  let total = 0;
  const seen = new Set();
  for (const s of saved.series) {
    const ref = model.get(key(s.metric));
    for (const [rel, v] of s.values) {
      total++;
      const want = ref?.values.get(rel + t0);
      if (want !== undefined && close(Number(v), want)) equal++;
    }
    seen.add(key(s.metric));
  }
  for (const [k, ref] of model) if (!seen.has(k)) total += ref.values.size;
  return { equal, total };
}

let failed = false;
console.log("query  file        points  =2.42 model  =3.x model");
for (const [id, build] of Object.entries(QUERIES)) {
  const models = { "2.42": build("2.42"), "3.x": build("3.x") };
  for (const [name, file] of [["prometheus", prom], ["tsink", tsink]]) {
    const q = file.queries.find((x) => x.id === id);
    const a = score(q.result, models["2.42"], wl.t0);
    const b = score(q.result, models["3.x"], wl.t0);
    const expected = name === "prometheus" ? a : b;
    if (expected.equal !== expected.total) failed = true;
    console.log(`${id}    ${name.padEnd(10)}  ${String(a.total).padStart(6)}  ${String(a.equal).padStart(11)}  ${String(b.equal).padStart(10)}`);
  }
}
console.log(failed ? "MISMATCH: a result file differs from its model (prometheus: 2.42, tsink: 3.x)" : "prometheus equals the 2.42 model and tsink the 3.x model on every point");
process.exit(failed ? 1 : 0);
