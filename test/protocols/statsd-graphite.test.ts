// StatsD packet and Graphite line parsers plus the Graphite line framer: mapping as the reference, limits,
// relative gauges committed only for accepted packets, and fast-check fuzz (no crash, errors say which line).
import { test } from "uvu";
import * as assert from "uvu/assert";
import fc from "fast-check";
import { ProtocolError } from "../../src/protocols/errors.js";
import { LineFramer, parseGraphiteLine } from "../../src/protocols/graphite.js";
import { SampleColumnsBuilder } from "../../src/protocols/sample-columns.js";
import { type StatsdGaugeState, commitGauges, parseStatsdPacket } from "../../src/protocols/statsd.js";
import { type SampleRow, columnRows } from "./columns.js";
import { mutatedText } from "./fuzz-inputs.js";

const enc = (s: string) => new TextEncoder().encode(s);
const SOPTS = { now: 1000, maxPacketBytes: 8192, maxEventsPerPacket: 1024 };
const view = (rows: SampleRow[]) =>
  rows.map((r) => [r.metric, Object.fromEntries(r.labels.map((l) => [l.name, l.value])), r.dataPoint.value]);

test("statsd: counters with rates, gauges, timers, histograms, distributions, sets, DogStatsD tags", () => {
  const state: StatsdGaugeState = new Map();
  const p = parseStatsdPacket(enc("api.requests:2|c|@0.5|#env:prod,canary\nqueue.depth:7|g\nlat:12.5|ms|@0.25\nsize:3|h\nd.x:4|d|#a:b\nusers:alice|s\n\n"), SOPTS, state);
  assert.equal(view(columnRows(p.columns)), [
    ["api_requests", { canary: "true", env: "prod" }, 4],
    ["queue_depth", {}, 7],
    ["lat", { statsd_sample_rate: "0.25" }, 12.5],
    ["size", {}, 3],
    ["d_x", { a: "b" }, 4],
    ["users", { statsd_set_member: "alice" }, 1],
  ]);
  assert.ok(columnRows(p.columns).every((r) => r.dataPoint.timestamp === 1000));
  assert.equal(p.metadata.map((m) => [m.metric, m.type]), [
    ["api_requests", "counter"], ["queue_depth", "gauge"], ["lat", "summary"], ["size", "histogram"], ["d_x", "histogram"], ["users", "stateset"],
  ]);
});

test("statsd: relative gauges start at 0, follow the last value per series, move only when the packet is accepted", () => {
  const state: StatsdGaugeState = new Map();
  const step = (packet: string) => {
    const p = parseStatsdPacket(enc(packet), SOPTS, state);
    commitGauges(state, p.gauges);
    return [...p.columns.values.subarray(0, p.columns.count)];
  };
  assert.equal(step("q:+5|g\nq:-2|g|#w:a\nq:+1|g"), [5, -2, 6]);
  assert.equal(step("q:-10|g"), [-4]);
  assert.throws(() => parseStatsdPacket(enc("q:+100|g\nbad"), SOPTS, state), /line 2/);
  assert.equal(step("q:+1|g"), [-3]);
  assert.equal(step("q:20|g\nq:+1|g"), [20, 21]);
});

test("statsd: rejections and limits", () => {
  const bad = (packet: string, pattern: RegExp, kind = "malformed") => {
    try {
      parseStatsdPacket(enc(packet), { ...SOPTS, maxPacketBytes: 64, maxEventsPerPacket: 3 }, new Map());
    } catch (err) {
      assert.instance(err, ProtocolError);
      assert.is((err as ProtocolError).kind, kind);
      assert.match((err as Error).message, pattern);
      return;
    }
    assert.unreachable(packet);
  };
  bad("a:1|c\nnocolon", /statsd line 2: missing ':'/);
  bad("a:1", /missing '\|type'/);
  bad("a:1|x", /unsupported type "x"/);
  bad("a:1|c|@0", /sample rate 0 outside/);
  bad("a:1|c|@1.5", /outside \(0, 1\]/);
  bad("a:1|c|@0.5|@0.5", /more than one sample rate/);
  bad("a:1|g|@0.5", /gauges take no sample rate/);
  bad("a:x|s|@0.5", /sets take no sample rate/);
  bad("a:abc|c", /invalid counter value/);
  bad("a:1|c|foo", /unsupported segment "foo"/);
  bad("a:1|c|#k:", /tag "k" has an empty value/);
  bad(":1|c", /empty metric name/);
  bad("a:1|c|#x:1,x:2", /duplicate label name/);
  bad("a:1|c\nb:1|c\nc:1|c\nd:1|c", /more than 3 events/, "too_large");
  bad("a".repeat(70) + ":1|c", /exceeds TSINK_STATSD_MAX_PACKET_BYTES/, "too_large");
});

test("graphite: plain and tagged paths, timestamps in seconds to server precision, missing timestamp = now", () => {
  const opts = { now: 5, serverPrecision: "ms" as const };
  /** The one sample a line gives (undefined: none). */
  const one = (line: string, o: { now: number | bigint; serverPrecision: "ms" | "ns" } = opts) => {
    const out = new SampleColumnsBuilder(o.serverPrecision === "ns");
    const added = parseGraphiteLine(line, o, out);
    assert.is(out.count, added ? 1 : 0);
    return columnRows(out)[0];
  };
  const row = one("servers.api.latency;env=prod;region=us-west 42.5 1700000000")!;
  assert.equal(view([row]), [["servers_api_latency", { env: "prod", region: "us-west" }, 42.5]]);
  assert.is(row.dataPoint.timestamp, 1700000000000);
  assert.is(one("a.b 1 1700000000.5")!.dataPoint.timestamp, 1700000000500);
  assert.is(one("a.b\t1")!.dataPoint.timestamp, 5);
  assert.is(one("a.b 1 1700000000", { now: 0n, serverPrecision: "ns" })!.dataPoint.timestamp, 1700000000000000000n);
  assert.is(one("   "), undefined);
  for (const [line, why] of [
    ["a.b", /expected `path value \[timestamp\]`/], ["a.b 1 2 3", /expected/], ["a.b x", /invalid value/], ["a.b 1 now", /not a Unix timestamp in seconds/],
    ["a.b;k 1", /tag "k" is not name=value/], ["a.b;k= 1", /empty value/], [";k=v 1", /empty metric path/], ["a.b 1e999", /invalid value/],
  ] as const) {
    const out = new SampleColumnsBuilder(false);
    assert.throws(() => parseGraphiteLine(line, opts, out), why);
    assert.is(out.count, 0, "a bad line adds nothing");
  }
});

test("line framer: half lines across chunks, over-long lines skipped without losing the next line, bounded memory", () => {
  const f = new LineFramer(10);
  assert.equal(f.push(Buffer.from("a 1\nb ")), { lines: ["a 1"], overlong: 0, invalidUtf8: 0 });
  assert.equal(f.push(Buffer.from("2\n")), { lines: ["b 2"], overlong: 0, invalidUtf8: 0 });
  assert.equal(f.push(Buffer.from("x".repeat(8))), { lines: [], overlong: 0, invalidUtf8: 0 });
  assert.equal(f.push(Buffer.from("yyyy")), { lines: [], overlong: 1, invalidUtf8: 0 });
  assert.equal(f.push(Buffer.from("zzzzzzzzzzzzzzzzzzzz\nc 3\n")), { lines: ["c 3"], overlong: 0, invalidUtf8: 0 });
  assert.equal(f.push(Buffer.from([0xff, 0x0a, 0x64, 0x20, 0x34])), { lines: [], overlong: 0, invalidUtf8: 1 });
  assert.is(f.finish(), "d 4");
  // any chunking of a stream yields the same lines
  fc.assert(
    fc.property(fc.array(fc.stringMatching(/^[a-z0-9 .;=]{0,14}$/), { maxLength: 12 }), fc.array(fc.nat(40), { maxLength: 6 }), (lines, cuts) => {
      const text = lines.map((l) => `${l}\n`).join("");
      const framer = new LineFramer(10);
      const out: string[] = [];
      let overlong = 0;
      const points = [...new Set(cuts.map((c) => Math.min(c, text.length)))].sort((a, b) => a - b);
      let prev = 0;
      for (const p of [...points, text.length]) {
        const r = framer.push(Buffer.from(text.slice(prev, p)));
        out.push(...r.lines);
        overlong += r.overlong;
        prev = p;
      }
      assert.equal(out, lines.filter((l) => l.length <= 10));
      assert.is(overlong, lines.filter((l) => l.length > 10).length);
    }),
    { numRuns: 1000 },
  );
});

test("fuzz: statsd packets and graphite lines parse or throw ProtocolError, never anything else", () => {
  const chars = "ab.:|@#,=;-+ \n\t1.0egcmshd";
  const alphabet = fc.constantFrom(...chars.split(""));
  const valid = ["a.b:1|c", "x:2.5|g|#k:v,k2:w\ny:-1|g", "t:3|ms|@0.5", "s:u1|s", "a.b 1 100", "a;t=v 2.5\nc.d 3 1700000000"];
  const outcomes = { statsdSamples: 0, statsdRejected: 0, graphiteSamples: 0, graphiteRejected: 0 };
  fc.assert(
    fc.property(fc.oneof(fc.string({ maxLength: 100 }), fc.string({ unit: alphabet, maxLength: 100 }), mutatedText(valid, chars)), (text) => {
      try {
        const p = parseStatsdPacket(enc(text), SOPTS, new Map());
        const rows = columnRows(p.columns);
        for (const r of rows) assert.ok(Number.isFinite(r.dataPoint.value));
        if (rows.length > 0) outcomes.statsdSamples++;
      } catch (err) {
        if (!(err instanceof ProtocolError)) throw err;
        assert.match(err.message, /^statsd line \d+: |UTF-8|exceeds|more than/);
        outcomes.statsdRejected++;
      }
      const out = new SampleColumnsBuilder(false);
      for (const line of text.split("\n")) {
        const before = out.count;
        try {
          if (parseGraphiteLine(line, { now: 1, serverPrecision: "ms" }, out)) assert.is(out.count, before + 1);
        } catch (err) {
          if (!(err instanceof ProtocolError)) throw err;
          assert.is(out.count, before, "a rejected line adds nothing");
          outcomes.graphiteRejected++;
        }
      }
      const rows = columnRows(out);
      for (const r of rows) assert.ok(Number.isFinite(r.dataPoint.value) && r.metric.length > 0);
      outcomes.graphiteSamples += rows.length;
    }),
    { numRuns: 4000 },
  );
  // Not vacuous: each parser accepts some inputs (so the checks on their samples run) and rejects others.
  for (const [outcome, n] of Object.entries(outcomes)) assert.ok(n >= 100, `${outcome}: ${n} of 4000 runs`);
});

test.run();
