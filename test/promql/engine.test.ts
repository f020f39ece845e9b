// PromqlEngine library API over a real in-memory tsink storage: result shapes, staleness markers, one storage read
// per selector in range queries, limits and error types, and the WASM range kernels against a direct computation.
import { test } from "uvu";
import * as assert from "uvu/assert";
import fc from "fast-check";
import { PromqlEngine, PromqlError, StorageBuilder, type QueryResult, type Row } from "../../src/index.js";
import type { SeriesSelection, SeriesSource } from "../../src/promql/source.js";

const STALE = new Float64Array(new BigUint64Array([0x7ff0000000000002n]).buffer)[0];
const OTHER_NAN = new Float64Array(new BigUint64Array([0x7ff8000000000001n]).buffer)[0];

async function storageWith(rows: Row[]) {
  const storage = await new StorageBuilder().withTimestampPrecision("ms").build();
  if (rows.length > 0) await storage.insertRows(rows);
  return storage;
}

function series(metric: string, labels: Record<string, string>, points: [number, number][]): Row[] {
  const ls = Object.entries(labels).map(([name, value]) => ({ name, value }));
  return points.map(([timestamp, value]) => ({ metric, labels: ls, dataPoint: { timestamp, value } }));
}

async function rejects(p: Promise<unknown>, errorType: string, pattern: RegExp) {
  try {
    await p;
  } catch (error) {
    assert.instance(error, PromqlError);
    assert.is((error as PromqlError).errorType, errorType);
    assert.match((error as Error).message, pattern);
    return;
  }
  assert.unreachable("expected a PromqlError");
}

test("instant query returns a vector with sorted labels, the evaluation time and the latest value", async () => {
  const storage = await storageWith([
    ...series("up", { job: "b", instance: "x" }, [[0, 1], [60_000, 0]]),
    ...series("up", { job: "a", instance: "y" }, [[0, 1]]),
  ]);
  const engine = new PromqlEngine(storage);
  const r = await engine.instantQuery('up{job="b"}', 90_000);
  assert.equal(r, {
    resultType: "vector",
    result: [{ labels: [{ name: "__name__", value: "up" }, { name: "instance", value: "x" }, { name: "job", value: "b" }], timestamp: 90_000, value: 0 }],
    warnings: [],
    infos: [],
  });
  const sum = await engine.instantQuery("sum by (job) (up)", 60_000);
  assert.equal(sum.resultType === "vector" && sum.result.map((s) => [s.labels, s.value]), [
    [[{ name: "job", value: "b" }], 0],
    [[{ name: "job", value: "a" }], 1],
  ]);
  assert.equal(await engine.instantQuery("1 + 2 * 3", 5_000), { resultType: "scalar", value: [5_000, 7], warnings: [], infos: [] });
  assert.equal(await engine.instantQuery('"hello"', 5_000), { resultType: "string", value: [5_000, "hello"], warnings: [], infos: [] });
  await storage.close();
});

test("a staleness marker (by bit pattern) ends a series; other NaN payloads are ordinary values", async () => {
  const storage = await storageWith([
    ...series("m", { k: "stale" }, [[0, 1], [30_000, STALE], [90_000, 5]]),
    ...series("m", { k: "nan" }, [[0, 1], [30_000, OTHER_NAN]]),
  ]);
  const engine = new PromqlEngine(storage);
  const r = await engine.rangeQuery("m", 0, 90_000, 30_000);
  assert.is(r.resultType, "matrix");
  if (r.resultType !== "matrix") return;
  const byK = new Map(r.result.map((s) => [s.labels.find((l) => l.name === "k")!.value, s]));
  assert.equal(Array.from(byK.get("stale")!.timestamps), [0, 90_000]);
  assert.equal(Array.from(byK.get("nan")!.timestamps), [0, 30_000, 60_000, 90_000]);
  assert.ok(Number.isNaN(byK.get("nan")!.values[1]));
  // Range windows drop the marker: 2 real samples in (0, 90s].
  const c = await engine.instantQuery('count_over_time(m{k="stale"}[100s])', 90_000);
  assert.is(c.resultType === "vector" && c.result[0].value, 2);
  await storage.close();
});

test("a range query reads each selector once for the whole span", async () => {
  const points: [number, number][] = [];
  for (let t = 0; t <= 3_600_000; t += 15_000) points.push([t, t / 1000]);
  const storage = await storageWith([...series("c_total", { a: "1" }, points), ...series("c_total", { a: "2" }, points)]);
  const calls: { selection: SeriesSelection; start: number; end: number }[] = [];
  const counting: SeriesSource = {
    selectColumns: (selection, start, end) => {
      calls.push({ selection, start, end });
      return storage.selectColumns(selection, start, end);
    },
  };
  const engine = new PromqlEngine(counting);
  const r = await engine.rangeQuery("sum(rate(c_total[5m])) + sum(c_total offset 1m)", 600_000, 3_600_000, 60_000);
  assert.is(calls.length, 2);
  assert.equal([calls[0].start, calls[0].end], [600_000 - 300_000 + 1, 3_600_001]);
  assert.equal([calls[1].start, calls[1].end], [540_000 - 300_000 + 1, 3_540_001]);
  assert.is(r.resultType === "matrix" && r.result[0].values.length, 51);
  if (r.resultType === "matrix") assert.ok(Math.abs(r.result[0].values[0] - (2 + 2 * 540)) < 1e-9);
  await storage.close();
});

test("limits and errors carry Prometheus' errorType", async () => {
  const storage = await storageWith(series("m", {}, [[0, 1], [15_000, 2], [30_000, 3]]));
  await rejects(new PromqlEngine(storage).instantQuery("sum(", 0), "bad_data", /parse error/);
  await rejects(new PromqlEngine(storage).rangeQuery("m[5m]", 0, 60_000, 15_000), "bad_data", /invalid expression type "range vector"/);
  await rejects(new PromqlEngine(storage, { maxPointsPerSeries: 10 }).rangeQuery("m", 0, 600_000, 1_000), "bad_data", /exceeded maximum resolution of 10 points/);
  await rejects(new PromqlEngine(storage, { maxSamples: 2 }).instantQuery("m[1m]", 30_000), "execution", /too many samples/);
  await rejects(new PromqlEngine(storage).instantQuery("max_over_time(m[1y:1ms])", 30_000), "execution", /too many samples/);
  await rejects(new PromqlEngine(storage, { timeoutMs: -1 }).instantQuery("m", 30_000), "timeout", /timed out/);
  await rejects(new PromqlEngine(storage).instantQuery("m", 30_000, { signal: AbortSignal.abort() }), "canceled", /canceled/);
  await rejects(new PromqlEngine(storage, { maxQueryLength: 5 }).instantQuery("sum(m) + 1", 30_000), "bad_data", /too long/);
  await rejects(new PromqlEngine(storage).instantQuery('label_replace(m, "a", "b", "c", "(")', 30_000), "execution", /invalid regular expression/);
  await rejects(new PromqlEngine(storage).instantQuery("topk(1e300, m)", 30_000), "execution", /^Scalar value 1e\+300 overflows int64$/);
  await storage.close();
});

test("a timeout that passes during evaluation interrupts it, whatever node is running", async () => {
  const rows: Row[] = [];
  for (let i = 0; i < 200; i++) rows.push(...series("m", { i: String(i) }, [[0, i], [60_000, i + 1]]));
  const storage = await storageWith(rows);
  // The storage read itself outlasts the 20 ms timeout: only checks after the read can notice it.
  const slow: SeriesSource = {
    selectColumns: async (selection, start, end) => {
      const out = await storage.selectColumns(selection, start, end);
      await new Promise((resolve) => setTimeout(resolve, 40));
      return out;
    },
  };
  for (const q of ["m", "abs(m)", "m * 2", "m * on(i) m", "sum by (i) (m)", "rate(m[5m])", 'label_replace(m, "j", "$1", "i", "(.*)")']) {
    await rejects(new PromqlEngine(slow, { timeoutMs: 20 }).rangeQuery(q, 0, 120_000, 1_000), "timeout", /timed out/);
    const ok = await new PromqlEngine(slow).rangeQuery(q, 0, 120_000, 1_000);
    assert.ok(ok.resultType === "matrix" && ok.result.length === 200, q);
  }
  await storage.close();
});

// Direct computation of *_over_time results over (t - range, t] for the property below.
function reference(fn: string, ts: number[], vs: number[], t: number, range: number): number | undefined {
  const w = vs.filter((_, i) => ts[i] > t - range && ts[i] <= t);
  if (w.length === 0) return undefined;
  switch (fn) {
    case "count_over_time": return w.length;
    case "max_over_time": return Math.max(...w);
    case "min_over_time": return Math.min(...w);
    case "last_over_time": return w[w.length - 1];
    default: return w.reduce((a, b) => a + b, 0);
  }
}

test("WASM window kernels agree with a direct computation on random series", async () => {
  await fc.assert(
    fc.asyncProperty(
      fc.uniqueArray(fc.integer({ min: 0, max: 600 }), { minLength: 1, maxLength: 60 }).map((xs) => xs.sort((a, b) => a - b).map((x) => x * 1000)),
      fc.array(fc.integer({ min: -1000, max: 1000 }), { minLength: 60, maxLength: 60 }),
      fc.integer({ min: 1, max: 300 }),
      fc.constantFrom("count_over_time", "max_over_time", "min_over_time", "last_over_time", "sum_over_time"),
      async (ts, values, rangeS, fn) => {
        const vs = ts.map((_, i) => values[i]);
        const storage = await storageWith(series("g", {}, ts.map((t, i) => [t, vs[i]])));
        const r = await new PromqlEngine(storage).rangeQuery(`${fn}(g[${rangeS}s])`, 0, 600_000, 20_000);
        await storage.close();
        const got = new Map<number, number>();
        if (r.resultType === "matrix" && r.result[0]) r.result[0].timestamps.forEach((t, i) => got.set(t, r.result[0].values[i]));
        for (let t = 0; t <= 600_000; t += 20_000) {
          const want = reference(fn, ts, vs, t, rangeS * 1000);
          if (want === undefined ? got.has(t) : got.get(t) !== want) return false;
        }
        return true;
      },
    ),
    { numRuns: 60 },
  );
});

// Random well-typed expressions over a small data set: every query evaluates or fails with a user-facing error.
const vectorExpr: fc.Arbitrary<string> = fc.letrec<{ v: string }>((tie) => ({
  v: fc.oneof(
    { depthSize: "small", withCrossShrink: true },
    fc.constantFrom("m", 'm{k="a"}', "n", 'm{k=~"a|b"} offset 1m', "m @ 60", "vector(1)", "absent(nothing)"),
    fc.tuple(fc.constantFrom("rate", "irate", "delta", "idelta", "deriv", "changes", "resets", "avg_over_time", "stddev_over_time", "mad_over_time", "last_over_time", "present_over_time", "ts_of_max_over_time"), fc.constantFrom("m", "n"), fc.constantFrom("1m", "5m", "30s")).map(([f, s, r]) => `${f}(${s}[${r}])`),
    fc.tuple(fc.constantFrom("max_over_time", "rate", "count_over_time"), tie("v"), fc.constantFrom("5m:1m", "10m:", "3m:30s")).map(([f, e, r]) => `${f}((${e})[${r}])`),
    fc.tuple(fc.constantFrom("sum", "avg", "max", "count", "stddev", "group"), fc.constantFrom("", " by (k)", " without (k)"), tie("v")).map(([a, g, e]) => `${a}${g} (${e})`),
    fc.tuple(fc.constantFrom("topk(2, ", "bottomk(1, ", "quantile(0.5, ", "limitk(1, "), tie("v")).map(([a, e]) => `${a}${e})`),
    fc.tuple(tie("v"), fc.constantFrom("+", "-", "*", "/", "%", "^", "atan2", "> bool", "==", "<", "and", "or", "unless"), tie("v")).map(([l, op, r]) => `(${l}) ${op} (${r})`),
    fc.tuple(tie("v"), fc.constantFrom("* on(k) group_left()", "+ ignoring(k)", "/ on()")).map(([l, op]) => `(${l}) ${op} (vector(2))`),
    fc.tuple(fc.constantFrom("abs", "ceil", "sqrt", "ln", "timestamp", "sort_desc", "-", "hour", "clamp_min"), tie("v")).map(([f, e]) =>
      f === "-" ? `-(${e})` : f === "clamp_min" ? `clamp_min(${e}, 1)` : `${f}(${e})`),
    tie("v").map((e) => `label_replace(${e}, "x", "$1", "k", "(.*)")`),
    tie("v").map((e) => `histogram_quantile(0.9, ${e})`),
  ),
})).v;

/** The storage the random-expression properties run over: series m (le buckets) and n (with a staleness marker), 40 points each. */
async function randomExpressionStorage() {
  const rows: Row[] = [];
  for (const k of ["a", "b", "c"]) {
    rows.push(...series("m", { k, le: k === "c" ? "+Inf" : "1" }, Array.from({ length: 40 }, (_, i) => [i * 15_000, (i * 7) % 11] as [number, number])));
    rows.push(...series("n", { k }, Array.from({ length: 40 }, (_, i) => [i * 15_000, i === 20 ? STALE : i * 3] as [number, number])));
  }
  return storageWith(rows);
}

test("random expressions evaluate or fail with user-facing errors, never internal ones", async () => {
  const storage = await randomExpressionStorage();
  const engine = new PromqlEngine(storage);
  let evaluated = 0;
  await fc.assert(
    fc.asyncProperty(vectorExpr, async (q) => {
      for (const run of [() => engine.instantQuery(q, 300_000), () => engine.rangeQuery(q, 0, 600_000, 45_000)]) {
        try {
          await run();
          evaluated++;
        } catch (error) {
          if (!(error instanceof PromqlError) || error.errorType === "internal") throw new Error(`${q}: ${(error as Error).message}`);
        }
      }
    }),
    { numRuns: 300 },
  );
  // Not vacuous: most generated expressions evaluate, so a user-facing error everywhere would not pass.
  assert.ok(evaluated > 300, `only ${evaluated} of 600 evaluations succeeded`);
  await storage.close();
});

test("random expressions give the same value at a step in range mode as an instant query at that time", async () => {
  const storage = await randomExpressionStorage();
  const engine = new PromqlEngine(storage);
  const asMap = (r: QueryResult, t: number) => {
    const out = new Map<string, number>();
    if (r.resultType === "vector") for (const s of r.result) out.set(JSON.stringify(s.labels), s.value);
    if (r.resultType === "matrix") {
      for (const s of r.result) {
        const i = s.timestamps.indexOf(t);
        if (i >= 0) out.set(JSON.stringify(s.labels), s.values[i]);
      }
    }
    return out;
  };
  let compared = 0;
  await fc.assert(
    fc.asyncProperty(vectorExpr, fc.integer({ min: 0, max: 40 }), async (q, k) => {
      const t = k * 15_000;
      let instant: QueryResult;
      let range: QueryResult;
      try {
        instant = await engine.instantQuery(q, t);
        range = await engine.rangeQuery(q, t - 45_000, t + 45_000, 15_000);
      } catch {
        return true; // errors are covered by the property above
      }
      compared++;
      const a = asMap(instant, t);
      const b = asMap(range, t);
      if (a.size !== b.size) throw new Error(`${q} @ ${t}: instant ${[...a]} vs range ${[...b]}`);
      for (const [key, v] of a) {
        if (!b.has(key) || !Object.is(v, b.get(key)!) && Math.abs(v - b.get(key)!) > 1e-9 * Math.max(1, Math.abs(v))) {
          throw new Error(`${q} @ ${t}: ${key} instant ${v} vs range ${b.get(key)}`);
        }
      }
    }),
    { numRuns: 300 },
  );
  // Not vacuous: most generated expressions evaluate, so most runs compare results.
  assert.ok(compared > 150, `only ${compared} of 300 runs compared an instant and a range result`);
  await storage.close();
});

test("selectors, range functions and aggregations give the same results from storage's in-memory batches as from JS arrays", async () => {
  const rows: Row[] = [];
  for (let k = 0; k < 12; k++) {
    let v = 0;
    for (let t = 0; t <= 900_000; t += 15_000 + k * 1_000) {
      v = (t / 15_000) % (5 + k) === 4 ? 1 : v + k + 0.5; // counter resets
      rows.push(...series("c_total", { k: String(k).padStart(2, "0"), g: String(k % 3) }, [[t, t === 300_000 && k % 3 === 0 ? STALE : v]]));
    }
    // sums that overflow: avg takes Prometheus' incremental mean
    if (k < 3) rows.push(...series("big", { k: String(k) }, [[0, 1.5e308], [400_000, k === 2 ? -1.7e308 : 1.6e308]]));
  }
  const storage = await storageWith(rows);
  let batches = 0;
  const batched: SeriesSource = {
    selectColumns: (selection, start, end) => storage.selectColumns(selection, start, end),
    // a tiny batch size: every batch boundary falls between whole series
    selectBatches: (selection, start, end, _maxPoints, onBatch) =>
      storage.selectBatches(selection, start, end, 7, (b) => {
        batches++;
        onBatch(b);
      }),
  };
  const arrays: SeriesSource = { selectColumns: (selection, start, end) => storage.selectColumns(selection, start, end) };
  const queries = [
    "rate(c_total[2m])", "increase(c_total[5m])", "delta(c_total[3m])", "irate(c_total[1m])", "resets(c_total[5m])",
    "changes(c_total[2m])", "deriv(c_total[4m])", "predict_linear(c_total[4m], 60)", "count_over_time(c_total[2m])",
    "avg_over_time(c_total[3m])", "quantile_over_time(0.3, c_total[5m])", "last_over_time(c_total[1m] offset 1m)",
    "sum by (k) (rate(c_total[5m] anchored))", "c_total", "timestamp(c_total)", "c_total offset 2m", "c_total @ 300",
  ];
  // aggregations read a selector's columns (also compared with a literal) when batches exist, per-series objects otherwise
  const aggregations = [
    "count by (g) (c_total)", "count(c_total > 20)", "count(20 < c_total)", "sum by (g) (c_total)", "avg(c_total)",
    "max by (g) ((c_total) <= 30)", "min without (k) (c_total != 4.5)", "group by (g) (c_total)", "sum(c_total >= bool 10)",
    "count by (__name__) (c_total)", "count by (__name__) (c_total > bool 10)", "avg(big)", "avg by (k) (big)", "sum(big)",
    "count(c_total offset 2m == 1)", "max(c_total @ 300)", "quantile by (g) (0.3, c_total)", "quantile(0.9, c_total > 10)",
    "stddev(c_total)", "stdvar by (g) (c_total)", "quantile(0.5, big)", "stddev by (k) (big)",
  ];
  // and a range function's columns; `* 1` (which leaves every value as it is) makes the same aggregation read
  // per-series objects instead
  const overRangeFunctions = [
    "sum by (g) (rate(c_total[2m]))", "avg(increase(c_total[5m]))", "max by (g) (last_over_time(c_total[1m]))",
    "count by (__name__) (last_over_time(c_total[2m]))", "group by (__name__) (rate(c_total[2m]))",
    "min without (k) (quantile_over_time(0.5, c_total[5m]))", "avg by (k) (avg_over_time(big[10m]))", "sum(sum_over_time(big[10m]))",
    "stdvar(increase(c_total[5m]))", "stddev by (g) (rate(c_total[2m]))",
  ];
  const perSeries = (q: string) => q.replace(/\(((?:rate|increase|last_over_time|quantile_over_time|avg_over_time|sum_over_time)\(.*\]\))\)$/, "($1 * 1)");
  for (const q of overRangeFunctions) {
    assert.not.equal(perSeries(q), q);
    for (const source of [batched, arrays]) {
      const columns = await new PromqlEngine(source).rangeQuery(q, 60_000, 900_000, 30_000);
      assert.ok(columns.resultType === "matrix" && columns.result.length >= 1, q);
      if (!q.includes("__name__")) assert.equal(columns, await new PromqlEngine(source).rangeQuery(perSeries(q), 60_000, 900_000, 30_000), q);
      else assert.ok(columns.resultType === "matrix" && columns.result.every((s) => s.labels.length === (q.includes("last_over_time") ? 1 : 0)), q);
    }
  }
  for (const source of [batched, arrays]) {
    const q = "quantile by (g) (0.75, rate(c_total[2m]))";
    const columns = await new PromqlEngine(source).rangeQuery(q, 60_000, 900_000, 30_000);
    assert.ok(columns.resultType === "matrix" && columns.result.length === 3, q);
    assert.equal(columns, await new PromqlEngine(source).rangeQuery("quantile by (g) (0.75, rate(c_total[2m]) * 1)", 60_000, 900_000, 30_000), q);
  }
  aggregations.push(...overRangeFunctions);
  for (const q of [...queries, ...aggregations]) {
    const viaBatches = await new PromqlEngine(batched).rangeQuery(q, 60_000, 900_000, 30_000);
    const viaArrays = await new PromqlEngine(arrays).rangeQuery(q, 60_000, 900_000, 30_000);
    assert.equal(viaBatches, viaArrays, q);
    assert.ok(viaArrays.resultType === "matrix" && viaArrays.result.length >= (q.includes("(") ? 1 : 8), q); // not empty
  }
  for (const q of aggregations) {
    for (const t of [300_000, 315_000, 600_000, 1_000_000]) {
      const viaBatches = await new PromqlEngine(batched).instantQuery(q, t);
      const viaArrays = await new PromqlEngine(arrays).instantQuery(q, t);
      assert.equal(viaBatches, viaArrays, `${q} at ${t}`);
    }
  }
  assert.ok(batches > queries.length * 2, "the batched source was used, with several batches per query");
  await storage.close();
});

test("a selector or range function at the top gives its result from columns as the per-series path does (`q and q`), name collisions included", async () => {
  const rows: Row[] = [];
  for (let k = 0; k < 6; k++) {
    for (let t = 0; t <= 600_000; t += 15_000 + k * 2_000) rows.push(...series("c_total", { k: String(k) }, [[t, t * (k + 1) + (t === 300_000 && k === 1 ? STALE : 0)]]));
  }
  // a_total and b_total share their labels: rate() drops the names, which collide where both have points
  rows.push(...series("a_total", { x: "1" }, [[0, 1], [60_000, 5], [120_000, 9]]), ...series("b_total", { x: "1" }, [[0, 2], [60_000, 4], [120_000, 8]]));
  rows.push(...series("a_total", { x: "2" }, [[0, 1], [60_000, 5]]), ...series("b_total", { x: "2" }, [[400_000, 2], [460_000, 4]]));
  const storage = await storageWith(rows);
  const engine = new PromqlEngine(storage);
  const queries = [
    "c_total", "c_total offset 1m", "rate(c_total[2m])", "last_over_time(c_total[1m])", "(delta(c_total[3m]))", "c_total{k=~\"[0-3]\"} @ 300",
    'rate({__name__=~"a_total|b_total", x="2"}[2m])', 'last_over_time({__name__=~"a_total|b_total"}[2m])',
  ];
  for (const q of queries) {
    assert.equal(await engine.rangeQuery(q, 0, 600_000, 30_000), await engine.rangeQuery(`${q} and ${q}`, 0, 600_000, 30_000), q);
    for (const t of [60_000, 300_000, 480_000]) {
      const direct = await engine.instantQuery(q, t);
      const general = await engine.instantQuery(`${q} and ${q}`, t);
      const sorted = (r: QueryResult) => (r.resultType === "vector" ? r.result.map((s) => JSON.stringify(s)).sort() : r);
      assert.equal(sorted(direct), sorted(general), `${q} at ${t}`);
    }
  }
  const merged = await engine.rangeQuery('rate({__name__=~"a_total|b_total", x="2"}[2m])', 0, 600_000, 30_000);
  assert.equal(merged.resultType === "matrix" && merged.result.map((s) => [s.labels, s.timestamps.length]), [[[{ name: "x", value: "2" }], 4]]); // a_total at 60 and 90 s, b_total at 480 and 510 s
  await rejects(engine.rangeQuery('rate({__name__=~"a_total|b_total"}[2m])', 0, 600_000, 30_000), "execution", /same labelset/);
  await rejects(engine.instantQuery('rate({__name__=~"a_total|b_total"}[2m])', 120_000), "execution", /same labelset/);
  await storage.close();
});

test("quantile orders a step's values as a stable sort with NaN first (zeros of both signs in input order)", async () => {
  const choices = [-0, 0, NaN, 1, -1, 2.5, -0, 0];
  const rows: Row[] = [];
  for (let k = 0; k < 24; k++) {
    for (let t = 0; t < 20; t++) rows.push(...series("m", { k: String(k).padStart(2, "0") }, [[t * 60_000, choices[(k * 7 + t * 3 + ((k * t) % 5)) % choices.length]!]]));
  }
  const storage = await storageWith(rows);
  const engine = new PromqlEngine(storage);
  const oracle = (q: number, vs: number[]) => {
    const sorted = vs.slice().sort((a, b) => (Number.isNaN(a) ? (Number.isNaN(b) ? 0 : -1) : Number.isNaN(b) ? 1 : a - b));
    const rank = q * (sorted.length - 1);
    const lower = Math.max(0, Math.floor(rank));
    const upper = Math.min(sorted.length - 1, lower + 1);
    const weight = rank - Math.floor(rank);
    return sorted[lower]! * (1 - weight) + sorted[upper]! * weight;
  };
  let negativeZeros = 0;
  for (let t = 0; t < 20; t++) {
    const input = await engine.instantQuery("m", t * 60_000); // in the order the aggregation reads the series
    assert.ok(input.resultType === "vector" && input.result.length === 24);
    for (const q of [0, 0.25, 0.5, 0.9, 1]) {
      const r = await engine.instantQuery(`quantile(${q}, m)`, t * 60_000);
      const got = r.resultType === "vector" ? r.result[0]!.value : NaN;
      const want = oracle(q, input.result.map((s) => s.value));
      assert.ok(Object.is(got, want), `quantile(${q}) at step ${t}: ${Object.is(got, -0) ? "-0" : got} != ${Object.is(want, -0) ? "-0" : want}`);
      if (Object.is(want, -0)) negativeZeros++;
    }
  }
  assert.ok(negativeZeros > 0, "some quantile is -0");
  await storage.close();
});

test("aggregations over pooled columns give the same results while other queries run between their batches", async () => {
  const rows: Row[] = [];
  for (let k = 0; k < 40; k++) {
    for (let t = 0; t <= 600_000; t += 15_000) rows.push(...series("m_total", { k: String(k), g: String(k % 4) }, [[t, k * 1000 + t / 1000]]));
  }
  const storage = await storageWith(rows);
  // small batches, and a turn of the event loop after each: the queries below interleave
  const yielding: SeriesSource = {
    selectColumns: (selection, start, end) => storage.selectColumns(selection, start, end),
    selectBatches: (selection, start, end, _maxPoints, onBatch) =>
      storage.selectBatches(selection, start, end, 50, (b) => Promise.resolve(onBatch(b)).then(() => new Promise<void>((r) => setImmediate(r)))),
  };
  const queries = ["sum by (g) (rate(m_total[2m]))", "max(m_total)", "avg by (g) (m_total)", "count(m_total > 20000)", "min by (g) (delta(m_total[5m]))"];
  const alone: QueryResult[] = [];
  for (const q of queries) alone.push(await new PromqlEngine(yielding).rangeQuery(q, 60_000, 600_000, 30_000));
  for (let round = 0; round < 3; round++) {
    const together = await Promise.all(queries.map((q) => new PromqlEngine(yielding).rangeQuery(q, 60_000, 600_000, 30_000)));
    for (let i = 0; i < queries.length; i++) assert.equal(together[i], alone[i], queries[i]);
  }
  assert.ok(alone.every((r) => r.resultType === "matrix" && r.result.length >= 1));
  await storage.close();
});

test("topk, bottomk and limitk pick what a stable sort and the first k pick (NaN last, infinities, ties in input order)", async () => {
  const pool = [NaN, Infinity, -Infinity, 0, 1, 1, 2.5, -3, 7, 7];
  await fc.assert(
    fc.asyncProperty(fc.array(fc.constantFrom(...pool), { minLength: 1, maxLength: 40 }), fc.integer({ min: 1, max: 80 }), async (values, k) => {
      const rows = values.flatMap((v, i) => series("m", { s: String(i).padStart(2, "0"), g: String(i % 3) }, [[0, v]]));
      const storage = await storageWith(rows);
      const engine = new PromqlEngine(storage);
      for (const op of ["topk", "bottomk", "limitk"]) {
        const got = await engine.instantQuery(`${op}(${k}, m)`, 0);
        // input order: the selector's, by labels (g, then s)
        const order = values.map((_, i) => i).sort((a, b) => (a % 3) - (b % 3) || a - b);
        if (op !== "limitk") {
          const sign = op === "topk" ? -1 : 1;
          order.sort((a, b) => {
            const [va, vb] = [values[a]!, values[b]!];
            if (Number.isNaN(va)) return Number.isNaN(vb) ? 0 : 1;
            if (Number.isNaN(vb)) return -1;
            const d = va - vb;
            return d > 0 ? sign : d < 0 ? -sign : 0;
          });
        }
        const want = order.slice(0, k).map((i) => String(i).padStart(2, "0"));
        assert.ok(got.resultType === "vector");
        assert.equal(got.result.map((r) => r.labels.find((l) => l.name === "s")!.value), want, `${op}(${k}) over ${values}`);
      }
      await storage.close();
    }),
    { numRuns: 60 },
  );
});

test.run();
