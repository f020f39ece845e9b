import { test } from "uvu";
import * as assert from "uvu/assert";
import fc from "fast-check";
import { RE2JS } from "re2js";
import type { Label, SeriesMatcher } from "../../src/index.js";
import { regexPlan } from "../../src/storage/matchers.js";
import { intersect } from "../../src/storage/postings.js";
import { L, NOW, msStorage, rejects, row } from "./helpers.js";

async function fleet() {
  const s = await msStorage();
  await s.insertRows([
    row("http_requests", L("job", "api", "instance", "a:80", "code", "200"), 1, 1),
    row("http_requests", L("job", "api", "instance", "b:80", "code", "500"), 1, 1),
    row("http_requests", L("job", "web", "instance", "c:80"), 1, 1),
    row("up", L("job", "api", "instance", "a:80"), 1, 1),
    row("up", L("job", "web", "instance", "c:80"), 200, 1),
    row("up", L("job", "", "instance", "d:80", "env", "dev\nx"), 1, 1),
    row("node_cpu", L("job", "node", "instance", "e:9100"), 1, 1),
  ]);
  return s;
}

const key = (m: { name: string; labels: { name: string; value: string }[] }) => `${m.name}{${m.labels.map((l) => `${l.name}=${l.value}`).join(",")}}`;

async function sel(matchers: SeriesMatcher[], metric?: string) {
  const s = await fleet();
  return (await s.selectSeries({ metric, matchers })).map(key);
}

test("= and != with and without a metric", async () => {
  assert.equal(await sel([{ name: "job", op: "=", value: "api" }]), [
    "http_requests{code=200,instance=a:80,job=api}",
    "http_requests{code=500,instance=b:80,job=api}",
    "up{instance=a:80,job=api}",
  ]);
  assert.equal(await sel([{ name: "job", op: "=", value: "api" }], "up"), ["up{instance=a:80,job=api}"]);
  assert.equal(await sel([{ name: "code", op: "!=", value: "200" }], "http_requests"), [
    "http_requests{code=500,instance=b:80,job=api}",
    "http_requests{instance=c:80,job=web}",
  ], "!= keeps series that lack the label");
});

test("empty-value semantics: = \"\" selects series without the label (or with an empty value)", async () => {
  assert.equal(await sel([{ name: "code", op: "=", value: "" }], "http_requests"), ["http_requests{instance=c:80,job=web}"]);
  assert.equal(await sel([{ name: "job", op: "=", value: "" }], "up"), ["up{env=dev\nx,instance=d:80,job=}"]);
  assert.equal(await sel([{ name: "nolabel", op: "=", value: "" }], "up"), [
    "up{env=dev\nx,instance=d:80,job=}",
    "up{instance=a:80,job=api}",
    "up{instance=c:80,job=web}",
  ]);
  assert.equal(await sel([{ name: "nolabel", op: "=", value: "x" }]), []);
  assert.equal(await sel([{ name: "code", op: "!=", value: "" }]), [
    "http_requests{code=200,instance=a:80,job=api}",
    "http_requests{code=500,instance=b:80,job=api}",
  ]);
});

test("regex matchers are fully anchored RE2 syntax", async () => {
  assert.equal(await sel([{ name: "instance", op: "=~", value: "a" }]), [], "no partial match");
  assert.equal(await sel([{ name: "instance", op: "=~", value: "a:.*" }]), ["http_requests{code=200,instance=a:80,job=api}", "up{instance=a:80,job=api}"]);
  assert.equal(await sel([{ name: "instance", op: "=~", value: "(a|c):80" }], "up"), ["up{instance=a:80,job=api}", "up{instance=c:80,job=web}"]);
  assert.equal(await sel([{ name: "job", op: "=~", value: "api|web" }], "up"), ["up{instance=a:80,job=api}", "up{instance=c:80,job=web}"], "literal alternation");
  assert.equal(await sel([{ name: "job", op: "=~", value: "api|" }], "up"), ["up{env=dev\nx,instance=d:80,job=}", "up{instance=a:80,job=api}"], "an empty alternative matches the empty value");
  assert.equal(await sel([{ name: "code", op: "=~", value: "5.." }]), ["http_requests{code=500,instance=b:80,job=api}"]);
  assert.equal(await sel([{ name: "code", op: "=~", value: ".*" }], "http_requests").then((r) => r.length), 3, ".* matches absent labels too");
  assert.equal(await sel([{ name: "code", op: "=~", value: ".+" }], "http_requests").then((r) => r.length), 2);
  assert.equal(await sel([{ name: "env", op: "=~", value: "dev.x" }]), ["up{env=dev\nx,instance=d:80,job=}"], ". matches a newline, as in Prometheus");
  assert.equal(await sel([{ name: "job", op: "=~", value: "(?i)API" }], "up"), ["up{instance=a:80,job=api}"], "RE2 inline flags");
  assert.equal(await sel([{ name: "instance", op: "=~", value: "[[:alpha:]]:\\d+" }], "up").then((r) => r.length), 3, "POSIX classes");
  assert.equal(await sel([{ name: "job", op: "=~", value: "a{1}pi" }], "up"), ["up{instance=a:80,job=api}"]);
  assert.equal(await sel([{ name: "job", op: "=~", value: "ax*pi" }], "up"), ["up{instance=a:80,job=api}"], "optional char right after the literal prefix");
  assert.equal(await sel([{ name: "job", op: "=~", value: "w?api" }], "up"), ["up{instance=a:80,job=api}"]);
  assert.equal(await sel([{ name: "job", op: "=~", value: "ap+i" }], "up"), ["up{instance=a:80,job=api}"]);
});

test("negative regex and combinations", async () => {
  assert.equal(await sel([{ name: "job", op: "!~", value: "api|web" }]), ["node_cpu{instance=e:9100,job=node}", "up{env=dev\nx,instance=d:80,job=}"]);
  assert.equal(await sel([{ name: "job", op: "!~", value: ".*" }]), []);
  assert.equal(await sel([{ name: "job", op: "!~", value: "" }], "up").then((r) => r.length), 2);
  assert.equal(
    await sel([{ name: "job", op: "=", value: "api" }, { name: "code", op: "!~", value: "2.." }, { name: "instance", op: "=~", value: ".*:80" }]),
    ["http_requests{code=500,instance=b:80,job=api}", "up{instance=a:80,job=api}"],
  );
});

test("__name__ matches the metric name with every operator", async () => {
  assert.equal(await sel([{ name: "__name__", op: "=", value: "up" }]).then((r) => r.length), 3);
  assert.equal(await sel([{ name: "__name__", op: "=~", value: "http_.*|node_cpu" }]).then((r) => r.length), 4);
  assert.equal(await sel([{ name: "__name__", op: "!=", value: "up" }, { name: "job", op: "=", value: "api" }]), [
    "http_requests{code=200,instance=a:80,job=api}",
    "http_requests{code=500,instance=b:80,job=api}",
  ]);
  assert.equal(await sel([{ name: "__name__", op: "!~", value: "up|http.*" }]), ["node_cpu{instance=e:9100,job=node}"]);
  assert.equal(await sel([{ name: "__name__", op: "=", value: "up" }], "node_cpu"), [], "metric and __name__ both apply");
});

test("invalid regex and unknown operators are clear errors", async () => {
  const s = await fleet();
  await rejects(s.selectSeries({ matchers: [{ name: "job", op: "=~", value: "(a" }] }), "InvalidLabel", "RE2");
  await rejects(s.selectSeries({ matchers: [{ name: "job", op: "=~", value: "(?=x)" }] }), "InvalidLabel");
  await rejects(s.selectSeries({ matchers: [{ name: "job", op: "==" as never, value: "x" }] }), "InvalidLabel", "=, !=, =~ or !~");
});

test("selection with a time range keeps only series with data in it", async () => {
  const s = await fleet();
  assert.equal((await s.selectSeries({ metric: "up", start: 100, end: 300 })).map(key), ["up{instance=c:80,job=web}"]);
  assert.equal((await s.selectSeries({ metric: "up", start: 0, end: 100 })).length, 2);
  await rejects(s.selectSeries({ metric: "up", start: 5, end: 5 }), "InvalidTimeRange");
});

test("selectColumns: matchers without a metric, numeric only, sorted", async () => {
  const s = await fleet();
  await s.insertRows([row("text", L("job", "api"), 1, "hello"), row("up", L("job", "api", "instance", "a:80"), 0, 5)]);
  const cols = await s.selectColumns({ matchers: [{ name: "job", op: "=", value: "api" }] }, 0, 10);
  assert.equal(cols.map((c) => `${c.metric}:${Array.from(c.timestamps as Float64Array)}:${Array.from(c.values)}`), [
    "http_requests:1:1",
    "http_requests:1:1",
    "up:0,1:5,1",
  ], "the string series is skipped");
});

test("labelNames and labelValues (sorted, deduplicated, __name__ gives metrics)", async () => {
  const s = await fleet();
  assert.equal(await s.labelNames(), ["__name__", "code", "env", "instance", "job"]);
  assert.equal(await s.labelNames({ metric: "up" }), ["__name__", "env", "instance", "job"]);
  assert.equal(await s.labelValues("__name__"), ["http_requests", "node_cpu", "up"]);
  assert.equal(await s.labelValues("job"), ["api", "node", "web"]);
  assert.equal(await s.labelValues("job", { metric: "up" }), ["api", "web"]);
  assert.equal(await s.labelValues("__name__", { matchers: [{ name: "job", op: "=", value: "api" }] }), ["http_requests", "up"]);
  assert.equal(await s.labelValues("missing"), []);
});

test("deleteSeries: whole series, time ranges, and writing again after a delete", async () => {
  const s = await msStorage((b) => b.withChunkPoints(3));
  const rows = [];
  for (const h of ["a", "b"]) for (let i = 0; i < 10; i++) rows.push(row("d", L("h", h), i, i));
  await s.insertRows(rows);
  const ranged = await s.deleteSeries({ metric: "d", matchers: [{ name: "h", op: "=", value: "a" }], start: 2, end: 5 });
  assert.equal(ranged, { matchedSeries: 1, tombstonesApplied: 1 });
  assert.equal((await s.select("d", L("h", "a"), 0, 100)).map((p) => p.timestamp), [0, 1, 5, 6, 7, 8, 9]);
  assert.is((await s.select("d", L("h", "b"), 0, 100)).length, 10);
  const whole = await s.deleteSeries({ metric: "d", matchers: [{ name: "h", op: "=~", value: "a|b" }] });
  assert.equal(whole, { matchedSeries: 2, tombstonesApplied: 2 });
  assert.equal(await s.listMetrics(), []);
  assert.equal(await s.selectSeries({ metric: "d" }), []);
  assert.equal(await s.labelValues("h"), []);
  assert.equal(await s.deleteSeries({ metric: "d" }), { matchedSeries: 0, tombstonesApplied: 0 });
  // a deleted series can be written again, even with another type, and shows only new data
  await s.insertRows([row("d", L("h", "a"), 50, "new")]);
  assert.equal(await s.select("d", L("h", "a"), 0, 100), [{ timestamp: 50, value: "new" }]);
  assert.equal((await s.listMetrics()).length, 1);
  await rejects(s.deleteSeries({ metric: "d", start: 9, end: 3 }), "InvalidTimeRange");
});

test("matchers never scan all series: a selective matcher over many series is fast", async () => {
  const s = await msStorage();
  const rows = [];
  for (let i = 0; i < 50_000; i++) rows.push(row("big", L("i", String(i), "g", String(i % 1000)), 1, i));
  for (let i = 0; i < rows.length; i += 5000) await s.insertRows(rows.slice(i, i + 5000));
  const t = performance.now();
  for (let k = 0; k < 100; k++) {
    const r = await s.selectSeries({ matchers: [{ name: "g", op: "=", value: "7" }, { name: "i", op: "=~", value: "1.*" }] });
    assert.is(r.length, 11);
  }
  const perQuery = (performance.now() - t) / 100;
  assert.ok(perQuery < 5, `selective selectSeries took ${perQuery.toFixed(2)} ms over 50k series`);
});


// ---- property: index-backed matching (exact lookups, value-order ranges merged as values arrive, rebuilt after
// deletes) selects exactly what a brute-force scan of every series with RE2 selects
const CHARS = ["a", "b", "-", "1", ".", "é", "😀"];
const valueArb = fc.array(fc.constantFrom(...CHARS), { maxLength: 5 }).map((cs) => cs.join(""));
const atomArb = fc.constantFrom("a", "b", "-", "1", "é", "😀", "\\.", ".", "[ab]", "[^a]", "(a|b1)");
const pieceArb = fc.oneof(
  { arbitrary: fc.tuple(atomArb, fc.constantFrom("", "", "", "*", "+", "?", "{2}", "{0,1}")).map(([a, q]) => a + q), weight: 5 },
  { arbitrary: fc.constant(".*"), weight: 1 },
);
const branchArb = fc.array(pieceArb, { maxLength: 4 }).map((ps) => ps.join(""));
// literal prefixes with a tail: what the value order serves (and then has to keep up to date)
const prefixBranchArb = fc
  .tuple(fc.array(fc.constantFrom(...CHARS), { minLength: 1, maxLength: 2 }), fc.constantFrom(".*", ".+", "[ab]*", "1?", "", "."))
  .map(([cs, tail]) => cs.join("").replaceAll(".", "\\.") + tail);
const prefixPatternArb = fc.array(prefixBranchArb, { minLength: 1, maxLength: 3 }).map((bs) => bs.join("|"));
const patternArb = fc.oneof(
  { arbitrary: prefixPatternArb, weight: 6 },
  { arbitrary: fc.array(branchArb, { minLength: 1, maxLength: 3 }).map((bs) => bs.join("|")), weight: 6 },
  { arbitrary: fc.array(valueArb, { minLength: 1, maxLength: 3 }).map((vs) => vs.join("|")), weight: 2 },
  { arbitrary: fc.constantFrom(".*", ".+", "a.*", "(a|b).*"), weight: 1 },
);
const matcherArb = fc.oneof(
  fc.record({ name: fc.constant("v"), op: fc.constantFrom("=~" as const, "!~" as const), value: patternArb }),
  fc.record({ name: fc.constantFrom("v", "k"), op: fc.constantFrom("=" as const, "!=" as const), value: valueArb }),
);
// every query has a prefix regex on v, so the value order is built, extended and read through removals
const queryArb = fc
  .tuple(fc.record({ name: fc.constant("v"), op: fc.constantFrom("=~" as const, "!~" as const), value: prefixPatternArb }), fc.array(matcherArb, { maxLength: 1 }))
  .map(([first, rest]) => [first, ...rest]);
const seriesArb = fc.array(fc.record({ v: fc.option(valueArb, { nil: undefined }), k: fc.constantFrom("x", "y") }), { minLength: 1, maxLength: 30 });

test("a regex after the metric name: candidates kept by value when fewer than the series behind the values", async () => {
  // 20 hosts with 10 metrics each: `host=~"host-0[0-4]"` after `m0` has 21 candidates against 5 values of 10 series
  const s = await msStorage();
  const rows = [];
  for (let h = 0; h < 20; h++) for (let m = 0; m < 10; m++) rows.push(row(`m${m}`, L("host", `host-${String(h).padStart(2, "0")}`), NOW, 1));
  rows.push(row("m0", L("other", "x"), NOW, 1)); // no host label: matches only where "" does
  await s.insertRows(rows);
  const hosts = async (matchers: SeriesMatcher[]) =>
    (await s.selectSeries({ metric: "m0", matchers })).map((x) => x.labels.find((l) => l.name === "host")?.value ?? "-").sort();
  const some = ["host-00", "host-01", "host-02", "host-03", "host-04"];
  const rest = Array.from({ length: 15 }, (_, i) => `host-${String(i + 5).padStart(2, "0")}`);
  assert.equal(await hosts([{ name: "host", op: "=~", value: "host-0[0-4]" }]), some);
  assert.equal(await hosts([{ name: "host", op: "!~", value: "host-0[0-4]" }]), ["-", ...rest]);
  assert.equal(await hosts([{ name: "host", op: "=~", value: "host-1.*" }]), rest.slice(5));
  assert.equal(await hosts([{ name: "host", op: "=~", value: "host-01|host-17" }]), ["host-01", "host-17"]);
  assert.equal(await hosts([{ name: "host", op: "!~", value: "host-0.*|host-1[0-8]" }]), ["-", "host-19"]);
  await s.close();
});

test("property: index-backed matchers equal a brute-force RE2 scan, across inserts and deletes", async () => {
  await fc.assert(
    fc.asyncProperty(seriesArb, seriesArb, fc.array(fc.oneof(queryArb, fc.array(matcherArb, { minLength: 1, maxLength: 2 })), { minLength: 4, maxLength: 4 }), async (first, second, queries) => {
      const s = await msStorage();
      const live = new Map<string, Label[]>();
      const insert = async (batch: typeof first) => {
        const labelSets = batch.map(({ v, k }) => (v === undefined ? L("k", k) : L("k", k, "v", v)));
        await s.insertRows(labelSets.map((labels) => row("m", labels, NOW, 1)));
        for (const labels of labelSets) live.set(key({ name: "m", labels }), labels);
      };
      // with and without the metric: without it nothing intersects the regex's postings with the metric's
      const check = async (matchers: SeriesMatcher[], metric?: string) => {
        const ok = (m: SeriesMatcher, labels: Label[]) => {
          const v = labels.find((l) => l.name === m.name)?.value ?? "";
          const hit = m.op === "=" || m.op === "!=" ? v === m.value : RE2JS.compile(m.value, RE2JS.DOTALL).matches(v);
          return m.op === "=" || m.op === "=~" ? hit : !hit;
        };
        const want = [...live].filter(([, labels]) => matchers.every((m) => ok(m, labels))).map(([k]) => k).sort();
        const got = (await s.selectSeries({ metric, matchers })).map(key).sort();
        assert.equal(got, want, JSON.stringify(matchers));
        const values = new Set([...live.values()].map((labels) => labels.find((l) => l.name === "v")?.value ?? ""));
        values.delete("");
        assert.equal(await s.labelValues("v"), [...values].sort(), "labelValues");
      };
      // deletes the series with k and v (or no v) like `x`
      const remove = async (x: (typeof first)[number]) => {
        await s.deleteSeries({ metric: "m", matchers: [{ name: "k", op: "=", value: x.k }, { name: "v", op: "=", value: x.v ?? "" }] });
        for (const [k, labels] of live) {
          if (labels.find((l) => l.name === "k")!.value === x.k && (labels.find((l) => l.name === "v")?.value ?? "") === (x.v ?? "")) live.delete(k);
        }
      };
      await insert(first);
      await check(queries[0]!, "m"); // builds the value order
      await insert(second);
      await remove(second[0]!);
      await insert(second); // a value added, removed and added again before the next merge
      await check(queries[1]!); // merges the new values
      await remove(first[0]!);
      await check(queries[2]!, "m"); // reads past removed values
      await insert(first); // re-adds values that are still in the order
      await check(queries[3]!);
      await s.close();
    }),
    { numRuns: 300 },
  );
});

test("the value order follows inserts, deletes and re-inserts of values without duplicates", async () => {
  const s = await msStorage();
  const put = (...vs: string[]) => s.insertRows(vs.map((v) => row("m", L("v", v), NOW, 1)));
  const drop = (v: string) => s.deleteSeries({ matchers: [{ name: "v", op: "=", value: v }] });
  const hosts = async () => (await s.selectSeries({ matchers: [{ name: "v", op: "=~", value: "a.*" }] })).map((m) => m.labels[0]!.value);
  await put("a1", "b1", "a3", "a2");
  assert.equal(await hosts(), ["a1", "a2", "a3"], "first use sorts the values");
  await put("a0", "c0");
  assert.equal(await hosts(), ["a0", "a1", "a2", "a3"], "new values are merged in");
  await drop("a2");
  assert.equal(await hosts(), ["a0", "a1", "a3"], "a removed value is skipped");
  await put("a2");
  assert.equal(await hosts(), ["a0", "a1", "a2", "a3"], "a value still in the order is not added twice");
  await put("a4");
  await drop("a4");
  await put("a4");
  assert.equal(await hosts(), ["a0", "a1", "a2", "a3", "a4"], "nor one added twice since the last merge");
  await drop("a4");
  assert.equal(await hosts(), ["a0", "a1", "a2", "a3"]);
  assert.equal(await s.labelValues("v"), ["a0", "a1", "a2", "a3", "b1", "c0"], "labelValues reads the same order");
  await drop("a1");
  await put("a10");
  assert.equal(await s.labelValues("v"), ["a0", "a10", "a2", "a3", "b1", "c0"], "code-unit order, removed values left out");
  await s.close();
});

test("regexPlan: literal alternations are exact values, literal prefixes are ranges, the rest scans", () => {
  assert.equal(regexPlan("a|b|a"), { kind: "values", values: ["a", "b"] });
  assert.equal(regexPlan("host-99.*"), { kind: "prefixes", prefixes: ["host-99"], all: true });
  assert.equal(regexPlan("a.*|b\\..*"), { kind: "prefixes", prefixes: ["a", "b."], all: true }, "every value with the prefix matches");
  assert.equal(regexPlan("ab.*|a.+|b"), { kind: "prefixes", prefixes: ["a", "b"], all: false }, "a covers ab; a literal is its own prefix");
  assert.equal(regexPlan("x\\.y+"), { kind: "prefixes", prefixes: ["x.y"], all: false });
  assert.equal(regexPlan("xy*"), { kind: "prefixes", prefixes: ["x"], all: false }, "a starred character is optional");
  assert.equal(regexPlan("x.**"), { kind: "prefixes", prefixes: ["x"], all: false });
  assert.equal(regexPlan("a😀?"), { kind: "prefixes", prefixes: ["a"], all: false }, "an optional astral character drops both code units");
  assert.equal(regexPlan("[|]a|b"), { kind: "scan" }, "a | inside a class is no alternation");
  assert.equal(regexPlan("(?i)abc"), { kind: "scan" });
  assert.equal(regexPlan(".*"), { kind: "any" });
});

test("intersect of sorted postings: the ids in both, for lists of similar and of very different lengths", () => {
  const ids = fc.uniqueArray(fc.integer({ min: 0, max: 5000 }), { maxLength: 400 }).map((xs) => Uint32Array.from(xs.sort((a, b) => a - b)));
  fc.assert(
    fc.property(ids, ids, fc.integer({ min: 1, max: 400 }), (a, b, keep) => {
      const short = a.subarray(0, keep % 20); // often < 1/16 of the other: the binary-search path
      for (const [x, y] of [[a, b], [short, b], [b, short]] as const) {
        const inY = new Set(y);
        assert.equal(Array.from(intersect(x, y)), Array.from(x).filter((v) => inY.has(v)));
      }
    }),
    { numRuns: 300 },
  );
});

test.run();
