// Text exposition import parser: accepted syntax, line-precise errors, fuzz (no crash, all-or-nothing).
import { test } from "uvu";
import * as assert from "uvu/assert";
import fc from "fast-check";
import { ProtocolError } from "../../src/protocols/errors.js";
import { type ParsedTextImport, parsePrometheusText, parseSampleValue } from "../../src/protocols/prometheus-text.js";
import { columnRows } from "./columns.js";
import { mutatedText } from "./fuzz-inputs.js";

const enc = (s: string) => new TextEncoder().encode(s);
const samplesOf = (parsed: ParsedTextImport) => columnRows(parsed.columns);
const rowsOf = (s: string, now = 99) =>
  samplesOf(parsePrometheusText(enc(s), now)).map((r) => [r.metric, r.labels.map((l) => `${l.name}=${l.value}`).join(","), r.dataPoint.timestamp, r.dataPoint.value]);

function fails(body: string, pattern: RegExp): void {
  try {
    parsePrometheusText(enc(body), 0);
  } catch (err) {
    assert.instance(err, ProtocolError);
    assert.match((err as Error).message, pattern);
    return;
  }
  assert.unreachable(`expected ${JSON.stringify(body)} to be rejected`);
}

test("samples with labels, escapes, optional timestamps, comments", () => {
  const body = [
    "# HELP http_requests_total The total.",
    "# TYPE http_requests_total counter",
    'http_requests_total{method="GET",code="200"} 1027 1700000000000',
    'http_requests_total{method="POST", code="500",} 3 1700000000001\r',
    "",
    "   ",
    'weird{path="a\\"b\\\\c\\nd"} -1.5e3',
    "up 1",
    "nan_metric NaN 5",
    "inf_metric +Inf 6",
    '{__name__="named_inside",b="2"} 1 7',
    "neg_inf -Inf\t8",
  ].join("\n");
  assert.equal(rowsOf(body).slice(0, 4), [
    ["http_requests_total", "code=200,method=GET", 1700000000000, 1027],
    ["http_requests_total", "code=500,method=POST", 1700000000001, 3],
    ["weird", 'path=a"b\\c\nd', 99, -1500],
    ["up", "", 99, 1],
  ]);
  const rows = samplesOf(parsePrometheusText(enc(body), 99));
  assert.ok(Number.isNaN(rows[4]!.dataPoint.value));
  assert.is(rows[5]!.dataPoint.value, Infinity);
  assert.equal([rows[6]!.metric, rows[6]!.labels, rows[6]!.dataPoint.timestamp], ["named_inside", [{ name: "b", value: "2" }], 7]);
  assert.is(rows.length, 8);
});

test("bad lines are rejected with the line number", () => {
  fails("up 1\nup{a=b} 1", /line 2: expected a quoted value for label "a"/);
  fails("up", /line 1: expected whitespace and a value/);
  fails("up one", /invalid sample value "one"/);
  fails("up 1 1.5", /invalid timestamp "1.5"/);
  fails("up 1 2 3", /unexpected text after the timestamp/);
  fails('up{a="1",a="2"} 1', /duplicate label name "a"/);
  fails('up{a="x} 1', /line 1: unterminated label set/);
  fails('up{a="x"', /unterminated label set/);
  fails('up{a="\\t"} 1', /invalid escape sequence/);
  fails('up{__tsink_tenant__="t"} 1', /reserved/);
  fails(`up{a="${"x".repeat(16385)}"} 1`, /more than 16384/);
  fails("{a=\"1\"} 1", /missing metric name/);
  fails('named{__name__="x"} 1', /metric name given twice/);
  fails("up 1 99999999999999999999", /invalid timestamp/);
});

test("columns: each series once however its samples interleave; grows past its first capacity; ns timestamps as bigint", () => {
  const lines = Array.from({ length: 500 }, (_, i) => `m{s="${i % 3}"} ${i} ${1700000000000000000n + BigInt(i)}`);
  const parsed = parsePrometheusText(enc(lines.join("\n")), 5n);
  const { columns } = parsed;
  assert.equal(columns.series.map((k) => k.labels[0]!.value), ["0", "1", "2"]);
  assert.instance(columns.timestamps, BigInt64Array);
  assert.is(columns.count, 500);
  assert.equal(samplesOf(parsed).map((r) => [r.labels[0]!.value, r.dataPoint.value, r.dataPoint.timestamp]), lines.map((_, i) => [String(i % 3), i, 1700000000000000000n + BigInt(i)]));
  // the same series text in the next body is the same key (storage resolves it once)
  assert.ok(parsePrometheusText(enc('m{s="1"} 7'), 5n).columns.series[0] === columns.series[1]);
  assert.equal(samplesOf(parsePrometheusText(enc("up 1\n"), 5n)).map((r) => r.dataPoint.timestamp), [5n]);
});

test("OpenMetrics exemplars: labels, value, timestamp in Unix seconds (default: the sample's), on the sample's series", () => {
  const parsed = parsePrometheusText(
    enc('foo_total{a="1"} 17 1520879607789 # {trace_id="KOO5S4vxi0o",span_id="x"} 0.67 1520879607.789\nbar 1 5 #  {} -Inf\nbaz 2'),
    0,
  );
  assert.is(samplesOf(parsed)[0]!.dataPoint.timestamp, 1520879607789);
  assert.equal(
    parsed.exemplars.map((e) => [e.series.metric, e.labels, e.timestamp, e.value]),
    [
      ["foo_total", [{ name: "span_id", value: "x" }, { name: "trace_id", value: "KOO5S4vxi0o" }], 1520879607789, 0.67],
      ["bar", [], 5, -Infinity],
    ],
  );
  assert.ok(parsed.exemplars[0]!.series === parsed.columns.series[0]);
  // seconds into the server precision, exactly
  assert.equal(parsePrometheusText(enc('m 1 # {t="a"} 1 1700000000.123456789'), 0n, undefined, "ns").exemplars[0]!.timestamp, 1700000000123456789n);
  assert.equal(parsePrometheusText(enc('m 1 # {t="a"} 1 1700000000.9'), 0, undefined, "s").exemplars[0]!.timestamp, 1700000000);
  for (const [line, why] of [
    ['m 1 # trace 1', /expected an exemplar/],
    ['m 1 # {t="a"}', /value after the exemplar labels/],
    ['m 1 # {t="a"} x', /invalid exemplar value/],
    ['m 1 # {t="a"} 1 12:00', /invalid exemplar timestamp/],
    ['m 1 # {t="a"} 1 2 3', /after the exemplar timestamp/],
    ['m 1 # {t="a",t="b"} 1', /duplicate exemplar label/],
  ] as const) {
    assert.throws(() => parsePrometheusText(enc(line), 0), (err: Error) => why.test(err.message) && /line 1/.test(err.message), line);
  }
});

test("invalid UTF-8 is rejected", () => {
  try {
    parsePrometheusText(Uint8Array.of(0x75, 0x70, 0x20, 0xff), 0);
    assert.unreachable();
  } catch (err) {
    assert.match((err as Error).message, /UTF-8/);
  }
});

test("sample values follow Go ParseFloat", () => {
  assert.is(parseSampleValue("1e3"), 1000);
  assert.is(parseSampleValue(".5"), 0.5);
  assert.is(parseSampleValue("-inf"), -Infinity);
  assert.is(parseSampleValue("0x10"), 16);
  assert.is(parseSampleValue("1e"), undefined);
  assert.is(parseSampleValue(""), undefined);
});

test("fuzz: arbitrary text never crashes, errors are ProtocolError", () => {
  const chars = "ab_:{}=\",\\# \n\t1.e+-NaInf0x";
  const alphabet = fc.constantFrom(...chars.split(""));
  const valid = ['a_b{x="1",y="z"} 1.5 100\nc 2', "# TYPE m counter\nm_total 3e2\nm_total{a=\"\\\"q\"} NaN 5", 'up{job="x"} +Inf\n\nd:e -0x1f'];
  let withSamples = 0;
  let rejected = 0;
  fc.assert(
    fc.property(fc.oneof(fc.string({ maxLength: 120 }), fc.string({ unit: alphabet, maxLength: 120 }), mutatedText(valid, chars)), (body) => {
      try {
        const parsed = parsePrometheusText(enc(body), 0);
        const rows = samplesOf(parsed);
        for (const r of rows) assert.ok(r.metric.length > 0);
        assert.is(parsed.columns.series.length, new Set(parsed.columns.series).size, "each series once");
        if (rows.length > 0) withSamples++;
      } catch (err) {
        if (!(err instanceof ProtocolError)) throw err;
        rejected++;
      }
    }),
    { numRuns: 5000 },
  );
  // Not vacuous: some bodies parse to samples (so their checks run), others are rejected.
  assert.ok(withSamples >= 100 && rejected >= 100, `${withSamples} bodies with samples, ${rejected} rejected, of 5000`);
});

test("fuzz: generated valid lines parse to exactly their samples; one bad line rejects the whole body", () => {
  const line = fc.record({
    metric: fc.stringMatching(/^[a-zA-Z_:][a-zA-Z0-9_:]{0,8}$/),
    labels: fc.uniqueArray(
      fc.record({ name: fc.stringMatching(/^[a-z][a-z0-9_]{0,6}$/), value: fc.string({ maxLength: 8 }) }),
      { selector: (l) => l.name, maxLength: 3 },
    ),
    value: fc.double({ noNaN: true }),
    ts: fc.option(fc.integer({ min: -1e13, max: 1e13 }), { nil: undefined }),
  });
  const esc = (v: string) => v.replace(/\\/g, "\\\\").replace(/"/g, '\\"').replace(/\n/g, "\\n");
  fc.assert(
    fc.property(fc.array(line, { minLength: 1, maxLength: 6 }), fc.nat(), (lines, badAt) => {
      const texts = lines.map((l) => {
        const lbl = l.labels.length ? `{${l.labels.map((x) => `${x.name}="${esc(x.value)}"`).join(",")}}` : "";
        return `${l.metric}${lbl} ${Object.is(l.value, -0) ? "-0" : String(l.value)}${l.ts === undefined ? "" : ` ${l.ts}`}`;
      });
      const parsed = samplesOf(parsePrometheusText(enc(texts.join("\n")), 42));
      assert.equal(parsed.map((r) => [r.metric, r.dataPoint.value, r.dataPoint.timestamp]), lines.map((l) => [l.metric, l.value, l.ts ?? 42]));
      const broken = [...texts];
      broken[badAt % broken.length] += " garbage trailing";
      assert.throws(() => parsePrometheusText(enc(broken.join("\n")), 42), (e: unknown) => e instanceof ProtocolError);
    }),
    { numRuns: 500 },
  );
});

test.run();
