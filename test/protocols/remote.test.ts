// Remote write/read protobuf + snappy framing: round trips, validation errors, snappy-bomb guard, fuzz.
import { test } from "uvu";
import * as assert from "uvu/assert";
import fc from "fast-check";
import { ProtocolError } from "../../src/protocols/errors.js";
import { decodeReadRequest, decodeWriteRequest, encodeReadResponse, remoteProto } from "../../src/protocols/remote.js";
import { snappyCompress, snappyDeclaredLength, snappyDecompress, snappyDecompressTransient } from "../../src/protocols/snappy.js";
import { type RawLabel, visitWriteRequest } from "../../src/protocols/write-request-decoder.js";
import { loadWasm } from "../../src/wasm/loader.js";

const WriteRequest = remoteProto.lookupType("prometheus.WriteRequest");
const ReadRequest = remoteProto.lookupType("prometheus.ReadRequest");
const ReadResponse = remoteProto.lookupType("prometheus.ReadResponse");

function encodeWrite(obj: object): Uint8Array {
  return WriteRequest.encode(WriteRequest.fromObject(obj)).finish();
}

function throwsProtocol(fn: () => unknown, kind: string, pattern: RegExp): void {
  try {
    fn();
  } catch (err) {
    assert.instance(err, ProtocolError);
    assert.is((err as ProtocolError).kind, kind);
    assert.match((err as Error).message, pattern);
    return;
  }
  assert.unreachable("expected a ProtocolError");
}

/** The decoded samples as [metric, labels, timestamp, value] tuples (what the columns say, one entry per sample). */
function samplesOf(decoded: ReturnType<typeof decodeWriteRequest>) {
  const { series, seriesIndex, timestamps, values, count } = decoded.samples;
  return Array.from({ length: count }, (_, i) => {
    const key = series[seriesIndex[i]!]!;
    return [key.metric, key.labels, timestamps[i]!, values[i]!] as const;
  });
}

test("write request decodes to sorted label sets and sample columns with ms timestamps scaled to the precision", () => {
  const bytes = encodeWrite({
    timeseries: [
      {
        labels: [{ name: "zone", value: "b" }, { name: "__name__", value: "cpu" }, { name: "host", value: "a" }],
        samples: [{ value: 1.5, timestamp: 1700000000123 }, { value: NaN, timestamp: 1700000001000 }],
      },
    ],
    metadata: [{ type: 1, metricFamilyName: "cpu", help: "cpu time", unit: "seconds" }],
  });
  const ms = decodeWriteRequest(bytes, "ms");
  const rows = samplesOf(ms);
  assert.is(rows.length, 2);
  assert.is(ms.samples.series.length, 1);
  assert.equal(rows[0]![1], [{ name: "host", value: "a" }, { name: "zone", value: "b" }]);
  assert.is(rows[0]![0], "cpu");
  assert.is(rows[0]![2], 1700000000123);
  assert.is(rows[1]![2], 1700000001000);
  assert.is(rows[0]![3], 1.5);
  assert.ok(Number.isNaN(rows[1]![3]));
  assert.equal(ms.metadata, [{ metric: "cpu", type: "counter", help: "cpu time", unit: "seconds" }]);
  assert.is(decodeWriteRequest(bytes, "s").samples.timestamps[0], 1700000000);
  assert.is(decodeWriteRequest(bytes, "us").samples.timestamps[0], 1700000000123000);
  assert.ok(decodeWriteRequest(bytes, "ns").samples.timestamps instanceof BigInt64Array);
  assert.is(decodeWriteRequest(bytes, "ns").samples.timestamps[0], 1700000000123000000n);
  const huge = encodeWrite({ timeseries: [{ labels: [{ name: "__name__", value: "m" }], samples: [{ value: 1, timestamp: 2 ** 52 }] }] });
  throwsProtocol(() => decodeWriteRequest(huge, "ns"), "malformed", /64-bit nanosecond range/);
});

test("repeated label sets (served from the series cache) keep their own extra label and stay validated", () => {
  const bytes = encodeWrite({ timeseries: [{ labels: [{ name: "__name__", value: "cached_m" }, { name: "b", value: "2" }, { name: "a", value: "1" }], samples: [{ value: 1, timestamp: 5 }] }] });
  const first = decodeWriteRequest(bytes, "ms", { name: "__tsink_tenant__", value: "t1" });
  const again = decodeWriteRequest(bytes, "ms", { name: "__tsink_tenant__", value: "t1" });
  const other = decodeWriteRequest(bytes, "ms", { name: "__tsink_tenant__", value: "t2" });
  const plain = decodeWriteRequest(bytes, "ms");
  assert.equal(first.samples.series[0]!.labels, [{ name: "__tsink_tenant__", value: "t1" }, { name: "a", value: "1" }, { name: "b", value: "2" }]);
  assert.is(again.samples.series[0], first.samples.series[0], "the same SeriesKey object, so storage resolves it once");
  assert.equal(other.samples.series[0]!.labels[0], { name: "__tsink_tenant__", value: "t2" });
  assert.equal(plain.samples.series[0]!.labels, [{ name: "a", value: "1" }, { name: "b", value: "2" }]);
  const bad = encodeWrite({ timeseries: [{ labels: [{ name: "__name__", value: "cached_m" }, { name: "b-", value: "2" }], samples: [{ value: 1, timestamp: 5 }] }] });
  for (let i = 0; i < 2; i++) assert.throws(() => decodeWriteRequest(bad, "ms"), /invalid label name "b-"/);
});

test("a name/value pair decodes to one shared, frozen Label object across series and requests", () => {
  const series = (host: string, dc: string) => ({ labels: [{ name: "__name__", value: "shared_m" }, { name: "dc", value: dc }, { name: "host", value: host }], samples: [{ value: 1, timestamp: 5 }] });
  const a = decodeWriteRequest(encodeWrite({ timeseries: [series("h1", "dc1"), series("h2", "dc1")] }), "ms").samples.series;
  const b = decodeWriteRequest(encodeWrite({ timeseries: [series("h3", "dc1"), series("h1", "dc2")] }), "ms").samples.series;
  assert.equal(b.map((k) => k.labels), [[{ name: "dc", value: "dc1" }, { name: "host", value: "h3" }], [{ name: "dc", value: "dc2" }, { name: "host", value: "h1" }]]);
  assert.is(a[1]!.labels[0], a[0]!.labels[0], "dc=dc1 shared within a request");
  assert.is(b[0]!.labels[0], a[0]!.labels[0], "dc=dc1 shared across requests");
  assert.is(b[1]!.labels[1], a[0]!.labels[1], "host=h1 shared across requests");
  assert.is.not(b[1]!.labels[0], a[0]!.labels[0]);
  assert.ok(Object.isFrozen(a[0]!.labels[0]));
});

test("series found again by their bytes (as the successor of the previous series or by hash) decode to their own labels", () => {
  // a pool where label runs are prefixes of each other and differ late, so a wrong prediction would show
  const pool = [
    [{ name: "__name__", value: "pm" }, { name: "a", value: "1" }],
    [{ name: "__name__", value: "pm" }, { name: "a", value: "1" }, { name: "b", value: "2" }],
    [{ name: "__name__", value: "pm" }, { name: "a", value: "2" }],
    [{ name: "__name__", value: "pm" }, { name: "a", value: "1" }, { name: "b", value: "3" }],
  ];
  const expected = (i: number) => pool[i]!.filter((l) => l.name !== "__name__");
  fc.assert(
    fc.property(fc.array(fc.array(fc.integer({ min: 0, max: pool.length - 1 }), { minLength: 1, maxLength: 8 }), { minLength: 1, maxLength: 5 }), fc.boolean(), (requests, split) => {
      for (const order of requests) {
        // `split` puts a sample between two Label fields of the first series: labels not contiguous
        const timeseries = order.map((i, k) =>
          split && k === 0 && pool[i]!.length > 2
            ? { labels: pool[i]!.slice(0, 2), samples: [{ value: k, timestamp: 1000 + k }] }
            : { labels: pool[i]!, samples: [{ value: k, timestamp: 1000 + k }] },
        );
        let bytes = encodeWrite({ timeseries });
        if (split && pool[order[0]!]!.length > 2) {
          // append the remaining label of series 0 after its sample by re-encoding that TimeSeries by hand
          const extra = encodeWrite({ timeseries: [{ labels: pool[order[0]!]!.slice(2) }] });
          const first = encodeWrite({ timeseries: [timeseries[0]!] });
          const rest = encodeWrite({ timeseries: timeseries.slice(1) });
          const body = Buffer.concat([first.subarray(2), extra.subarray(2)]);
          bytes = Buffer.concat([Buffer.from([0x0a, body.length]), body, rest]);
        }
        const decoded = samplesOf(decodeWriteRequest(bytes, "ms"));
        assert.equal(decoded.map(([, labels, ts, value]) => [labels, ts, value]), order.map((i, k) => [expected(i), 1000 + k, k]));
      }
    }),
    { numRuns: 300 },
  );
});

test("the WASM scan and the JS decoder agree; large requests, long label runs and a cleared cache decode exactly", () => {
  // metadata sends a request down the JS decoder: the same series with and without it must decode alike
  const withMetadata = (timeseries: object[]) => encodeWrite({ timeseries, metadata: [{ type: 1, metricFamilyName: "m", help: "h", unit: "" }] });
  const series = fc.record({
    labels: fc.uniqueArray(fc.record({ name: fc.stringMatching(/^[a-z]{1,3}$/), value: fc.string({ unit: "binary", maxLength: 6 }) }), { selector: (l) => l.name, maxLength: 3 }),
    samples: fc.array(fc.record({ value: fc.double(), timestamp: fc.integer({ min: -(2 ** 53) + 1, max: 2 ** 53 - 1 }) }), { maxLength: 3 }),
  });
  fc.assert(
    fc.property(fc.array(series, { maxLength: 6 }), fc.constantFrom(undefined, "t1"), (list, tenant) => {
      const timeseries = list.map((t) => ({ labels: [{ name: "__name__", value: "m" }, ...t.labels], samples: t.samples }));
      const extra = tenant === undefined ? undefined : { name: "__tsink_tenant__", value: tenant };
      const viaWasm = decodeWriteRequest(encodeWrite({ timeseries }), "ms", extra);
      const viaJs = decodeWriteRequest(withMetadata(timeseries), "ms", extra);
      assert.is(viaJs.metadata.length, 1);
      assert.equal(samplesOf(viaWasm), samplesOf(viaJs));
      assert.equal(viaWasm.samples.series.map((k) => k.labels), viaJs.samples.series.map((k) => k.labels));
    }),
    { numRuns: 300 },
  );
  // more series and samples than the scan's first output capacity (8192), one label run beyond the cached size
  const long = { name: "long", value: "x".repeat(2000) };
  const big = Array.from({ length: 20_000 }, (_, i) => ({
    labels: [{ name: "__name__", value: "big" }, { name: "i", value: String(i) }, ...(i === 7 ? [long] : [])],
    samples: [{ value: i, timestamp: 1000 + i }],
  }));
  for (let round = 0; round < 3; round++) {
    if (round === 2) (loadWasm().wrCacheClear as () => void)();
    const decoded = decodeWriteRequest(encodeWrite({ timeseries: big }), "ms");
    assert.is(decoded.samples.count, 20_000);
    const rows = samplesOf(decoded);
    for (const i of [0, 7, 8191, 8192, 19_999]) {
      assert.equal(rows[i], ["big", [{ name: "i", value: String(i) }, ...(i === 7 ? [long] : [])], 1000 + i, i]);
    }
    decoded.release();
  }
});

test("write request validation names what is wrong", () => {
  const series = (labels: object[]) => encodeWrite({ timeseries: [{ labels, samples: [{ value: 1, timestamp: 1 }] }] });
  throwsProtocol(() => decodeWriteRequest(series([{ name: "a", value: "b" }]), "ms"), "malformed", /no __name__/);
  throwsProtocol(() => decodeWriteRequest(series([{ name: "__name__", value: "1bad" }]), "ms"), "malformed", /invalid metric name/);
  throwsProtocol(
    () => decodeWriteRequest(series([{ name: "__name__", value: "m" }, { name: "a-b", value: "x" }]), "ms"),
    "malformed",
    /invalid label name "a-b"/,
  );
  throwsProtocol(
    () => decodeWriteRequest(series([{ name: "__name__", value: "m" }, { name: "a", value: "1" }, { name: "a", value: "2" }]), "ms"),
    "malformed",
    /duplicate label name "a"/,
  );
  throwsProtocol(
    () => decodeWriteRequest(series([{ name: "__name__", value: "m" }, { name: "__tsink_tenant__", value: "x" }]), "ms"),
    "malformed",
    /reserved/,
  );
  throwsProtocol(
    () => decodeWriteRequest(series([{ name: "__name__", value: "m" }, { name: "big", value: "x".repeat(16385) }]), "ms"),
    "malformed",
    /16385 bytes, more than 16384/,
  );
  const maxTs = encodeWrite({
    timeseries: [{ labels: [{ name: "__name__", value: "m" }], samples: [{ value: 1, timestamp: "9223372036854775807" }] }],
  });
  throwsProtocol(() => decodeWriteRequest(maxTs, "ms"), "malformed", /invalid timestamp/);
  throwsProtocol(() => decodeWriteRequest(Uint8Array.of(0x0a, 0x05, 0x01), "ms"), "malformed", /invalid WriteRequest protobuf/);
});

test("exemplars are decoded onto their series (timestamps scaled, labels sorted and checked); histograms counted", () => {
  const bytes = encodeWrite({
    timeseries: [
      {
        labels: [{ name: "__name__", value: "m" }, { name: "job", value: "a" }],
        samples: [{ value: 1, timestamp: 1700000000000 }],
        exemplars: [
          { labels: [{ name: "trace_id", value: "abc" }, { name: "span_id", value: "01" }], value: 0.25, timestamp: 1700000000123 },
          { labels: [], value: -1, timestamp: 1700000000124 },
        ],
      },
      { labels: [{ name: "__name__", value: "h" }], histograms: [Uint8Array.of(2), Uint8Array.of(3)] },
    ],
  });
  const decoded = decodeWriteRequest(bytes, "us", { name: "__tsink_tenant__", value: "t1" });
  assert.is(decoded.histogramCount, 2);
  assert.is(decoded.samples.count, 1);
  assert.equal(
    decoded.exemplars.map((e) => ({ metric: e.series.metric, series: e.series.labels, labels: e.labels, ts: e.timestamp, v: e.value })),
    [
      { metric: "m", series: [{ name: "__tsink_tenant__", value: "t1" }, { name: "job", value: "a" }], labels: [{ name: "span_id", value: "01" }, { name: "trace_id", value: "abc" }], ts: 1700000000123000, v: 0.25 },
      { metric: "m", series: [{ name: "__tsink_tenant__", value: "t1" }, { name: "job", value: "a" }], labels: [], ts: 1700000000124000, v: -1 },
    ],
  );
  assert.ok(decoded.exemplars[0]!.series === decoded.samples.series[0], "the exemplar names the same SeriesKey as the samples");
  const bad = (labels: { name: string; value: string }[]) =>
    encodeWrite({ timeseries: [{ labels: [{ name: "__name__", value: "m" }], exemplars: [{ labels, value: 1, timestamp: 1 }] }] });
  throwsProtocol(() => decodeWriteRequest(bad([{ name: "1x", value: "v" }]), "ms"), "malformed", /invalid exemplar label name "1x"/);
  throwsProtocol(() => decodeWriteRequest(bad([{ name: "a", value: "1" }, { name: "a", value: "2" }]), "ms"), "malformed", /duplicate exemplar label "a"/);
});

test("exemplars through the WASM scan: the same as through the JS decoder, on the cached series keys (fast-check)", () => {
  const name = fc.constantFrom("job", "instance", "le", "path");
  const series = fc.record({
    labels: fc.uniqueArray(fc.record({ name, value: fc.string({ maxLength: 5 }) }), { selector: (l) => l.name, maxLength: 3 }),
    samples: fc.array(fc.record({ value: fc.double(), timestamp: fc.integer({ min: -1e13, max: 1e13 }) }), { maxLength: 3 }),
    exemplars: fc.array(fc.record({
      labels: fc.uniqueArray(fc.record({ name: fc.constantFrom("trace_id", "span_id", "user"), value: fc.string({ maxLength: 8 }) }), { selector: (l) => l.name, maxLength: 2 }),
      value: fc.double(),
      timestamp: fc.integer({ min: -1e13, max: 1e13 }),
    }), { maxLength: 3 }),
  });
  const view = (d: ReturnType<typeof decodeWriteRequest>) => d.exemplars.map((e) => ({ metric: e.series.metric, series: e.series.labels, labels: e.labels, ts: e.timestamp, v: e.value }));
  fc.assert(
    fc.property(fc.array(series, { minLength: 1, maxLength: 4 }), (list) => {
      const timeseries = list.map((t, i) => ({ ...t, labels: [{ name: "__name__", value: `m${i % 2}` }, ...t.labels] }));
      const scanned = decodeWriteRequest(encodeWrite({ timeseries }), "us");
      // metadata sends the same request through the JS decoder
      const viaJs = decodeWriteRequest(encodeWrite({ timeseries, metadata: [{ type: 1, metricFamilyName: "m0", help: "", unit: "" }] }), "us");
      assert.equal(view(scanned), view(viaJs));
      for (const e of scanned.exemplars) assert.ok(scanned.samples.series.includes(e.series));
      scanned.release();
      viaJs.release();
    }),
    { numRuns: 300 },
  );
  // the scan path keeps its series cache: the same request twice gives the same SeriesKey objects
  const bytes = encodeWrite({ timeseries: [{ labels: [{ name: "__name__", value: "cached_ex" }], exemplars: [{ labels: [], value: 1, timestamp: 5 }] }] });
  const first = decodeWriteRequest(bytes, "ms");
  const second = decodeWriteRequest(bytes, "ms");
  assert.ok(first.exemplars[0]!.series === second.exemplars[0]!.series, "found again in the scan's cache, not decoded by the JS fallback");
  // more exemplars than the scan locates (1024) still decode, through the JS decoder
  const many = encodeWrite({ timeseries: [{ labels: [{ name: "__name__", value: "many_ex" }], exemplars: Array.from({ length: 1100 }, (_, i) => ({ labels: [], value: i, timestamp: i })) }] });
  assert.is(decodeWriteRequest(many, "ms").exemplars.length, 1100);
});

test("read request decodes matchers; non-SAMPLES response types are unsupported", () => {
  const bytes = ReadRequest.encode(
    ReadRequest.fromObject({
      queries: [{ startTimestampMs: 1000, endTimestampMs: 2000, matchers: [{ type: 0, name: "__name__", value: "up" }, { type: 3, name: "job", value: "x.*" }] }],
      acceptedResponseTypes: [0],
    }),
  ).finish();
  assert.equal(decodeReadRequest(bytes), [
    { startMs: 1000, endMs: 2000, matchers: [{ name: "__name__", op: "=", value: "up" }, { name: "job", op: "!~", value: "x.*" }] },
  ]);
  const streamed = ReadRequest.encode(ReadRequest.fromObject({ queries: [], acceptedResponseTypes: [1] })).finish();
  throwsProtocol(() => decodeReadRequest(streamed), "unsupported", /SAMPLES/);
  const backwards = ReadRequest.encode(
    ReadRequest.fromObject({ queries: [{ startTimestampMs: 5, endTimestampMs: 1, matchers: [{ name: "a", value: "b" }] }] }),
  ).finish();
  throwsProtocol(() => decodeReadRequest(backwards), "malformed", /before start/);
});

test("read response encodes series and samples", () => {
  const bytes = encodeReadResponse([
    [{ labels: [{ name: "__name__", value: "up" }], timestamps: Float64Array.of(1000, 2000), values: Float64Array.of(1, 0) }],
    [],
  ]);
  const decoded = ReadResponse.toObject(ReadResponse.decode(bytes), { longs: Number, defaults: true }) as {
    results: { timeseries?: { labels: object[]; samples: object[] }[] }[];
  };
  assert.is(decoded.results.length, 2);
  assert.equal(decoded.results[0]!.timeseries![0]!.samples, [{ value: 1, timestamp: 1000 }, { value: 0, timestamp: 2000 }]);
  assert.equal(decoded.results[1]!.timeseries ?? [], []);
});

test("snappy round trip, declared length and bomb guard", () => {
  const data = new TextEncoder().encode("abc".repeat(1000));
  const block = snappyCompress(data);
  assert.is(snappyDeclaredLength(block), 3000);
  assert.equal(snappyDecompress(block, 3000), data);
  throwsProtocol(() => snappyDecompress(block, 2999), "too_large", /declares 3000 uncompressed bytes/);
  // A 6-byte block claiming 4 GiB - 1 is refused from its header alone.
  throwsProtocol(() => snappyDecompress(Uint8Array.of(0xff, 0xff, 0xff, 0xff, 0x0f, 0x00), 1 << 20), "too_large", /4294967295/);
  throwsProtocol(() => snappyDecompress(Uint8Array.of(0x80, 0x80), 100), "malformed", /truncated/);
  throwsProtocol(() => snappyDecompress(Uint8Array.of(0x05, 0x01, 0x02), 100), "malformed", /invalid snappy block/);
});

test("the snappy kernel decompresses what snappy-wasm compresses (literals, short and long copies, overlaps)", () => {
  const chunk = fc.oneof(
    fc.uint8Array({ maxLength: 300 }),
    fc.record({ byte: fc.integer({ min: 0, max: 255 }), n: fc.integer({ min: 1, max: 5000 }) }).map(({ byte, n }) => new Uint8Array(n).fill(byte)),
    fc.record({ unit: fc.uint8Array({ minLength: 1, maxLength: 7 }), n: fc.integer({ min: 1, max: 3000 }) }).map(({ unit, n }) =>
      Uint8Array.from({ length: unit.length * n }, (_, i) => unit[i % unit.length]!),
    ),
  );
  fc.assert(
    fc.property(fc.array(chunk, { maxLength: 12 }), (parts) => {
      const data = Buffer.concat(parts);
      const block = snappyCompress(data);
      assert.equal(Buffer.from(snappyDecompress(block, data.length)), data);
      assert.equal(Buffer.from(snappyDecompressTransient(block, data.length)), data);
      if (data.length > 0) {
        // a block cut short or with a wrong declared length fails whole
        throwsProtocol(() => snappyDecompress(block.subarray(0, block.length - 1), data.length), "malformed", /invalid snappy block/);
      }
    }),
    { numRuns: 300 },
  );
  // 2 MiB of a remote-write-like body (copies with 4-byte offsets beyond 64 KiB)
  const big = Buffer.alloc(2 << 20);
  for (let i = 0; i < big.length; i++) big[i] = (i * 2654435761) >>> 24;
  big.copy(big, 1 << 20, 0, 1 << 19);
  assert.equal(Buffer.from(snappyDecompress(snappyCompress(big), big.length)), big);
});

test("fuzz: arbitrary bytes never crash the remote decoders, only ProtocolError", () => {
  fc.assert(
    fc.property(fc.uint8Array({ maxLength: 200 }), (bytes) => {
      for (const fn of [() => decodeWriteRequest(bytes, "ms"), () => decodeReadRequest(bytes), () => snappyDecompress(bytes, 1 << 16), () => snappyDecompressTransient(bytes, 1 << 16)]) {
        try {
          fn();
        } catch (err) {
          if (!(err instanceof ProtocolError)) throw err;
        }
      }
    }),
    { numRuns: 3000 },
  );
});

test("fuzz: valid write requests round-trip exactly; mutated ones decode fully or fail whole", () => {
  const labelName = fc.stringMatching(/^[a-zA-Z_][a-zA-Z0-9_]{0,8}$/).filter((s) => !s.startsWith("__"));
  const seriesArb = fc.record({
    metric: fc.stringMatching(/^[a-zA-Z_:][a-zA-Z0-9_:]{0,10}$/),
    labels: fc.uniqueArray(fc.record({ name: labelName, value: fc.string({ maxLength: 10 }) }), { selector: (l) => l.name, maxLength: 4 }),
    samples: fc.array(fc.record({ value: fc.double(), timestamp: fc.integer({ min: -1e12, max: 4e12 }) }), { maxLength: 5 }),
  });
  fc.assert(
    fc.property(fc.array(seriesArb, { maxLength: 5 }), fc.nat(), fc.integer({ min: 0, max: 255 }), (series, flipAt, flipTo) => {
      const bytes = encodeWrite({
        timeseries: series.map((s) => ({ labels: [{ name: "__name__", value: s.metric }, ...s.labels], samples: s.samples })),
      });
      const decoded = decodeWriteRequest(bytes, "ms");
      const expected = series.flatMap((s) => s.samples.map((p) => [s.metric, p.timestamp, p.value]));
      assert.equal(samplesOf(decoded).map(([metric, , ts, value]) => [metric, ts, value]), expected);
      if (bytes.length === 0) return;
      const mutated = bytes.slice();
      mutated[flipAt % mutated.length] = flipTo;
      try {
        const again = decodeWriteRequest(mutated, "ms");
        for (const [, , ts] of samplesOf(again)) assert.ok(Number.isSafeInteger(ts));
      } catch (err) {
        if (!(err instanceof ProtocolError)) throw err;
      }
    }),
    { numRuns: 500 },
  );
});

test("hand-written WriteRequest decoder agrees with protobufjs on random messages (unicode, negative and 64-bit timestamps)", () => {
  const label = fc.record({ name: fc.string({ maxLength: 6 }), value: fc.string({ unit: "binary", maxLength: 12 }) });
  const sample = fc.record({ value: fc.double(), timestamp: fc.bigInt({ min: -(2n ** 63n), max: 2n ** 63n - 1n }) });
  const series = fc.record({
    labels: fc.array(label, { maxLength: 4 }),
    samples: fc.array(sample, { maxLength: 4 }),
    exemplars: fc.array(fc.record({ labels: fc.array(label, { maxLength: 2 }), value: fc.double(), timestamp: fc.bigInt({ min: -(2n ** 63n), max: 2n ** 63n - 1n }) }), { maxLength: 2 }),
    histograms: fc.array(fc.uint8Array({ maxLength: 3 }), { maxLength: 2 }),
  });
  const metadata = fc.record({ type: fc.integer({ min: 0, max: 7 }), metricFamilyName: fc.string({ maxLength: 5 }), help: fc.string({ unit: "binary", maxLength: 8 }), unit: fc.string({ maxLength: 3 }) });
  fc.assert(
    fc.property(fc.array(series, { maxLength: 4 }), fc.array(metadata, { maxLength: 2 }), (timeseries, md) => {
      const msg = {
        timeseries: timeseries.map((t) => ({
          ...t,
          samples: t.samples.map((x) => ({ value: x.value, timestamp: x.timestamp.toString() })),
          exemplars: t.exemplars.map((x) => ({ ...x, timestamp: x.timestamp.toString() })),
        })),
        metadata: md,
      };
      const bytes = encodeWrite(msg);
      const oracle = WriteRequest.toObject(WriteRequest.decode(bytes), { longs: String, defaults: true, arrays: true }) as {
        timeseries: { labels: RawLabel[]; samples: { value: number; timestamp: string }[]; exemplars: { labels: RawLabel[]; value: number; timestamp: string }[]; histograms: unknown[] }[];
        metadata: { type: number; metricFamilyName: string; help: string; unit: string }[];
      };
      const seen: unknown[] = [];
      const seenMd: unknown[] = [];
      visitWriteRequest(bytes, {
        series: (v) => seen.push({ labels: v.labels(), ts: [...v.timestamps.subarray(0, v.sampleCount)], values: [...v.values.subarray(0, v.sampleCount)], ex: v.decodeExemplars(), hist: v.histograms }),
        metadata: (type, metricFamilyName, help, unit) => seenMd.push({ type, metricFamilyName, help, unit }),
      });
      assert.equal(
        seen,
        oracle.timeseries.map((t) => ({
          labels: t.labels.map((l) => ({ name: l.name, value: l.value })),
          ts: t.samples.map((x) => Number(BigInt(x.timestamp))),
          values: t.samples.map((x) => x.value),
          ex: t.exemplars.map((x) => ({ labels: x.labels.map((l) => ({ name: l.name, value: l.value })), value: x.value, timestamp: Number(BigInt(x.timestamp)) })),
          hist: t.histograms.length,
        })),
      );
      assert.equal(seenMd, oracle.metadata.map((m) => ({ ...m })));
    }),
    { numRuns: 1000 },
  );
  assert.throws(() => decodeWriteRequest(encodeWrite({ timeseries: [{ labels: [{ name: "__name__", value: "m" }] }] }).map((b, i, a) => (i === a.length - 1 ? 0xff : b)), "ms"), /UTF-8|invalid/);
});

test.run();
