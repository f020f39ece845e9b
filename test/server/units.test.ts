// Pure pieces of the server: Prometheus JSON spelling, parameter parsing, CLI flags, auth decisions, admission.
import fc from "fast-check";
import { readFileSync } from "node:fs";
import { test } from "uvu";
import * as assert from "uvu/assert";
import { AdmissionGate, AdmissionRejected } from "../../src/server/admission.js";
import { BodyBufferPool } from "../../src/server/body.js";
import { BUSY_MS_PER_CHECK, BufferGcTrigger, heapGrowingPercent, IdleGcTrigger, noteWrite, QUIET_HEAP_GROWING_PERCENT, QUIET_HEAP_ROOM_BYTES, startBufferGc, WRITE_QUIET_MS } from "../../src/server/buffer-gc.js";
import { Authenticator, bearerToken, presentedToken, scopeOfPath } from "../../src/server/auth.js";
import { ConfigError, parseServerArgs, startupHint, type ServerConfig } from "../../src/server/config.js";
import { HttpError } from "../../src/server/http-error.js";
import { parseDurationParam, parseTimeParam, queryParams } from "../../src/server/params.js";
import { formatFloat, formatTimestamp, querySuccessBody } from "../../src/server/prometheus-json.js";
import type { QueryData } from "../../src/promql/result.js";

test("floats are spelled like Go's strconv.FormatFloat in Prometheus' MarshalFloat", () => {
  const cases: [number, string][] = [
    [42, "42"], [0.1, "0.1"], [-2.5, "-2.5"], [1e21, "1e+21"], [1.5e-7, "1.5e-07"], [1e-6, "0.000001"],
    [123456789012345680000, "123456789012345680000"], [NaN, "NaN"], [Infinity, "+Inf"], [-Infinity, "-Inf"],
    [0, "0"], [-0, "-0"], [5e-324, "5e-324"], [1.7976931348623157e308, "1.7976931348623157e+308"], [1 / 3, "0.3333333333333333"],
  ];
  for (const [v, s] of cases) assert.is(formatFloat(v), s, String(v));
});

test("the response writer spells doubles that need up to 17 digits as JS and Go do", () => {
  const cases: [number, string][] = [
    [-20705962.666666668, "-20705962.666666668"], [2 ** 50 + 0.25, "1125899906842624.2"], [2 ** 50 + 0.75, "1125899906842624.8"],
    [2 ** 51 + 0.5, "2251799813685248.5"], [2 ** 53 - 1, "9007199254740991"], [2 ** 53 + 2, "9007199254740994"], [8.000000000000002, "8.000000000000002"],
    [15.999999999999998, "15.999999999999998"], [123456789.12345679, "123456789.12345679"], [1e15 + 0.3, "1000000000000000.2"],
    [99999999.99999999, "99999999.99999999"], [4503599627370495.5, "4503599627370495.5"], [7.999999999999999, "7.999999999999999"], [8, "8"],
    [0.1 + 0.2, "0.30000000000000004"], [1 / 3, "0.3333333333333333"], [1e-6, "0.000001"], [1.2345678901234567e-6, "0.0000012345678901234567"],
    [0.009999999999999998, "0.009999999999999998"], [7.123456789012345, "7.123456789012345"], [2 ** -20, "9.5367431640625e-07"], [2 ** -19, "0.0000019073486328125"], [1e-7, "1e-07"], [1.7976931348623157e308, "1.7976931348623157e+308"], [5e-324, "5e-324"],
  ];
  for (const [v, s] of cases) {
    assert.is(querySuccessBody({ resultType: "scalar", value: [0, v], warnings: [], infos: [] }).toString(), `{"status":"success","data":{"resultType":"scalar","result":[0,"${s}"]}}`);
  }
});

test("timestamps are seconds with Prometheus' three-digit fraction", () => {
  assert.is(formatTimestamp(1700000000000), "1700000000");
  assert.is(formatTimestamp(1700000000500), "1700000000.500");
  assert.is(formatTimestamp(1700000000005), "1700000000.005");
  assert.is(formatTimestamp(1700000000050), "1700000000.050");
  assert.is(formatTimestamp(-1500), "-1.500");
  assert.is(formatTimestamp(0), "0");
});

const queryResultJson = (data: QueryData): string => {
  const body = querySuccessBody({ ...data, warnings: [], infos: [] }).toString("utf8");
  const envelope = '{"status":"success","data":';
  assert.ok(body.startsWith(envelope) && body.endsWith("}"), body);
  return body.slice(envelope.length, -1);
};

test("query results serialise to Prometheus' shapes", () => {
  assert.is(queryResultJson({ resultType: "scalar", value: [1000, 2] }), '{"resultType":"scalar","result":[1,"2"]}');
  assert.is(queryResultJson({ resultType: "string", value: [1000, 'a"b'] }), '{"resultType":"string","result":[1,"a\\"b"]}');
  assert.is(
    queryResultJson({ resultType: "vector", result: [{ labels: [{ name: "__name__", value: "up" }, { name: "job", value: "x" }], timestamp: 1500, value: NaN }] }),
    '{"resultType":"vector","result":[{"metric":{"__name__":"up","job":"x"},"value":[1.500,"NaN"]}]}',
  );
  // samples with the same and with another timestamp (the shared one is formatted once)
  assert.is(
    queryResultJson({
      resultType: "vector",
      result: [
        { labels: [{ name: "a", value: "1" }], timestamp: 1500, value: 0.5 },
        { labels: [{ name: "a", value: "2" }], timestamp: 1500, value: 2 },
        { labels: [{ name: "a", value: "3" }], timestamp: 60000, value: -1e-7 },
      ],
    }),
    '{"resultType":"vector","result":[{"metric":{"a":"1"},"value":[1.500,"0.5"]},{"metric":{"a":"2"},"value":[1.500,"2"]},' +
      '{"metric":{"a":"3"},"value":[60,"-1e-07"]}]}',
  );
  assert.is(
    queryResultJson({ resultType: "matrix", result: [{ labels: [], timestamps: Float64Array.of(0, 15000), values: Float64Array.of(1, Infinity) }] }),
    '{"resultType":"matrix","result":[{"metric":{},"values":[[0,"1"],[15,"+Inf"]]}]}',
  );
  // several series over shared step timestamps (each timestamp's text is formatted once and reused)
  assert.is(
    queryResultJson({
      resultType: "matrix",
      result: [
        { labels: [{ name: "a", value: "1" }], timestamps: Float64Array.of(1500, 60000), values: Float64Array.of(-0, 2e21) },
        { labels: [{ name: "a", value: "2" }], timestamps: Float64Array.of(60000, 120005), values: Float64Array.of(-3, 1e-7) },
      ],
    }),
    '{"resultType":"matrix","result":[{"metric":{"a":"1"},"values":[[1.500,"-0"],[60,"2e+21"]]},' +
      '{"metric":{"a":"2"},"values":[[60,"-3"],[120.005,"1e-07"]]}]}',
  );
});

test("the byte writer spells random results exactly as JSON.stringify plus formatFloat/formatTimestamp do", () => {
  // The oracle builds the same document from JSON.stringify (labels, strings) and the pinned formatFloat/formatTimestamp.
  const pair = (ms: number, v: number) => `[${formatTimestamp(ms)},${JSON.stringify(formatFloat(v))}]`;
  const metric = (labels: { name: string; value: string }[]) => `{${labels.map((l) => `${JSON.stringify(l.name)}:${JSON.stringify(l.value)}`).join(",")}}`;
  const value = fc.oneof(
    fc.double(),
    fc.integer({ min: -1e6, max: 1e6 }).map((n) => n),
    fc.maxSafeInteger(),
    fc.double({ min: -2e15, max: 2e15 }).map(Math.round),
    fc.integer({ min: -30, max: 30 }).chain((e) => fc.double({ min: 1, max: 10, noNaN: true }).map((m) => m * 10 ** e)),
    fc.constantFrom(0, -0, NaN, Infinity, -Infinity, 1e15, -1e15, 999999999999999, 1e21, 1e-6, 9.999999999999999e-7),
    // the writer's own digit path: integers below 2^50 and decimals of up to six (here seven) fraction digits
    fc.tuple(fc.double({ min: -1e13, max: 1e13, noNaN: true }), fc.integer({ min: 0, max: 7 })).map(([x, k]) => Math.round(x) / 10 ** k),
    fc.constantFrom(2 ** 50, 2 ** 50 - 1, -(2 ** 50) + 1, 1125899906.842624, 1125899906.8426241, 0.0000015, 999999.999999, 1e9 - 1, 2 ** 31, 2 ** 32 + 0.5),
    // the writer's exact path from 1e-6 to 2^53: any bits there (mostly 15-17 significant digits), quotients like
    // delta()'s extrapolation, halves and quarters near 2^50-2^53 (two equally close shortest candidates)
    fc.tuple(fc.integer({ min: -20, max: 52 }), fc.integer({ min: 0, max: 2 ** 20 - 1 }), fc.integer({ min: 0, max: 2 ** 32 - 1 }), fc.boolean())
      .map(([e, hi, lo, neg]) => (neg ? -1 : 1) * (2 ** e) * (1 + hi / 2 ** 20 + lo / 2 ** 52)),
    fc.tuple(fc.integer({ min: -50_000, max: 50_000 }), fc.integer({ min: 1, max: 600 })).map(([n, d]) => (n * 4096 * 600) / d),
    fc.tuple(fc.integer({ min: 50, max: 52 }), fc.integer({ min: 0, max: 2 ** 30 }), fc.constantFrom(0.25, 0.5, 0.75)).map(([e, n, q]) => 2 ** e + n + q),
    // large and small magnitudes (exponent forms below 1e-6 and from 1e21)
    fc.tuple(fc.integer({ min: -323, max: 308 }), fc.double({ min: 1, max: 10, noNaN: true })).map(([e, m]) => m * 10 ** e),
  );
  const text = fc.oneof(
    fc.string({ unit: "binary" }),
    fc.string({ unit: fc.constantFrom('"', "\\\\", "\\n", "\\u0000", "\\u007f", "\\u2028", "\\ud800", "é", "😀", "a", "_") }),
  );
  const labels = fc.array(fc.record({ name: text, value: text }), { maxLength: 4 });
  const ms = fc.integer({ min: -1e13, max: 1e13 });
  const series = fc.array(fc.tuple(labels, fc.array(fc.tuple(ms, value), { maxLength: 12 })), { maxLength: 5 });
  const notes = fc.array(text, { maxLength: 2 });
  fc.assert(
    fc.property(series, ms, value, notes, notes, fc.boolean(), (ss, t, v, warnings, infos, shareSteps) => {
      const steps = ss[0]?.[1].map(([m]) => m) ?? [];
      const result = ss.map(([ls, pts]) => ({
        labels: ls,
        // shareSteps: later series reuse (a prefix of) the first one's timestamps, as a range query's series do
        timestamps: Float64Array.from(pts, ([m], i) => (shareSteps && i < steps.length ? steps[i]! : m)),
        values: Float64Array.from(pts, ([, x]) => x),
      }));
      const notesJson = (warnings.length > 0 ? `,"warnings":${JSON.stringify(warnings)}` : "") + (infos.length > 0 ? `,"infos":${JSON.stringify(infos)}` : "");
      const doc = (data: string) => `{"status":"success","data":${data}${notesJson}}`;
      const matrix = result.map((s) => `{"metric":${metric(s.labels)},"values":[${Array.from(s.values, (x, i) => pair(s.timestamps[i]!, x)).join(",")}]}`);
      assert.is(querySuccessBody({ resultType: "matrix", result, warnings, infos }).toString("utf8"), doc(`{"resultType":"matrix","result":[${matrix.join(",")}]}`));
      const vector = result.map((s) => ({ labels: s.labels, timestamp: t, value: v }));
      assert.is(
        querySuccessBody({ resultType: "vector", result: vector, warnings, infos }).toString("utf8"),
        doc(`{"resultType":"vector","result":[${vector.map((s) => `{"metric":${metric(s.labels)},"value":${pair(t, v)}}`).join(",")}]}`),
      );
      assert.is(querySuccessBody({ resultType: "scalar", value: [t, v], warnings, infos }).toString("utf8"), doc(`{"resultType":"scalar","result":${pair(t, v)}}`));
      const str = warnings[0] ?? "";
      assert.is(
        querySuccessBody({ resultType: "string", value: [t, str], warnings, infos }).toString("utf8"),
        doc(`{"resultType":"string","result":[${formatTimestamp(t)},${JSON.stringify(str)}]}`),
      );
    }),
    { numRuns: 500 },
  );
});

test("main.ts imports v8-tiering.ts before any other module, so its V8 flags are set before the server's code is compiled", () => {
  const imports = [...readFileSync(new URL("../../src/server/main.ts", import.meta.url), "utf8").matchAll(/^import\b[^;]*?["']([^"']+)["'];/gms)].map((m) => m[1]);
  assert.ok(imports.length > 3, String(imports));
  assert.is(imports[0], "./v8-tiering.js");
});

test("query-string parameters read as URLSearchParams reads them: first value, + as space, escapes, malformed escapes", () => {
  const names = ["query", "time", "start", "end", "step", "timeout", "a b", "é", "__proto__", "constructor", "x", "", "p"];
  const same = (qs: string) => {
    const ours = queryParams(qs);
    const reference = new URLSearchParams(qs);
    for (const name of names) assert.is(ours.get(name), reference.get(name), `${JSON.stringify(qs)} ${name}`);
  };
  for (const qs of [
    "", "query=up", "query=sum+by+%28job%29+%28rate%28x%5B5m%5D%29%29&time=1700000000", "query=a%2Bb+c&query=second", "&&query=up&&",
    "query", "query=&time=1", "=v&x=1", "a+b=1&a%20b=2", "%C3%A9=%E2%82%AC", "\u00e9=latin", "__proto__=1&constructor=2",
    "query=100%25", "query=%zz&time=1", "query=%E0%A4&x=%", "query=%&time=2", "x=%F0%9F%98%80", "x==1=2", "p=secret+token",
  ]) same(qs);
  fc.assert(fc.property(fc.array(fc.constantFrom("query", "x", "=", "&", "+", "%", "%2", "%41", "%C3", "%A9", "%e2%82%ac", "a", " ", "é", "€"), { maxLength: 14 }), (parts) => {
    same(parts.join(""));
  }));
});

test("time and step parameters: Unix seconds, RFC 3339, Go durations", () => {
  assert.is(parseTimeParam("time", "1700000000"), 1700000000000);
  assert.is(parseTimeParam("time", "1700000000.123"), 1700000000123);
  assert.is(parseTimeParam("time", "2023-11-14T22:13:20Z"), 1700000000000);
  assert.is(parseTimeParam("time", "2023-11-14T23:13:20.5+01:00"), 1700000000500);
  assert.throws(() => parseTimeParam("time", "yesterday"), (e: unknown) => e instanceof HttpError && e.status === 400 && /cannot parse "yesterday"/.test(e.message));
  assert.is(parseDurationParam("step", "15"), 15000);
  assert.is(parseDurationParam("step", "0.5"), 500);
  assert.is(parseDurationParam("step", "1m30s"), 90000);
  assert.is(parseDurationParam("step", "1500ms"), 1500);
  assert.is(parseDurationParam("step", "2h"), 7200000);
  assert.throws(() => parseDurationParam("step", "15x"), /cannot parse "15x" to a valid duration/);
});

const cfg = (...args: string[]) => parseServerArgs(args, {}) as ServerConfig;
const rejects = (args: string[], pattern: RegExp, env: Record<string, string> = {}) =>
  assert.throws(() => parseServerArgs(args, env), (e: unknown) => e instanceof ConfigError && pattern.test(e.message));

test("CLI flags, defaults and value syntaxes", () => {
  const d = cfg();
  assert.equal(d.listen, { host: "127.0.0.1", port: 9201 });
  assert.is(d.timestampPrecision, "ms");
  assert.is(d.retentionMs, 14 * 86400000);
  assert.is(d.walEnabled, true);
  assert.is(d.dataPath, undefined);
  assert.is(d.limits.writeMaxInflightRows, 200000);
  const c = cfg("--listen", "0.0.0.0:9300", "--retention=90d", "--timestamp-precision", "seconds", "--memory-limit", "1.5G",
    "--wal-enabled", "off", "--wal-sync-mode", "per_append", "--data-path", "/tmp/x", "--cardinality-limit", "1000");
  assert.equal(c.listen, { host: "0.0.0.0", port: 9300 });
  assert.is(c.retentionMs, 90 * 86400000);
  assert.is(c.timestampPrecision, "s");
  assert.is(c.memoryLimitBytes, 1.5 * 1024 ** 3);
  assert.is(c.walEnabled, false);
  assert.is(c.walSyncMode, "per-append");
  assert.is(c.dataPath, "/tmp/x");
  assert.is(cfg("--retention", "3600").retentionMs, 3600000);
  assert.is(cfg("--retention", "1y").retentionMs, 365.25 * 86400000);
  assert.is(cfg("--enable-admin-api", "--auth-token", "t").adminApiEnabled, true);
  assert.is(parseServerArgs(["help"], {}), "help");
  assert.is(parseServerArgs(["--help"], {}), "help");
  assert.is((parseServerArgs([], { TSINK_SERVER_WRITE_MAX_INFLIGHT_ROWS: "10" }) as ServerConfig).limits.writeMaxInflightRows, 10);
  assert.is((parseServerArgs([], { TSINK_REMOTE_WRITE_METADATA_ENABLED: "false" }) as ServerConfig).features.metadataEnabled, false);
  assert.equal((parseServerArgs([], { TSINK_RULES_SCHEDULER_TICK_MS: "10" }) as ServerConfig).rules, {
    schedulerTickMs: 10, maxRecordingRowsPerEval: 10_000, maxAlertInstancesPerRule: 10_000,
  });
  const env = { TSINK_MAX_CPUS: "4", TSINK_EDGE_SYNC_MAX_ENTRIES: "10", TSINK_SERVER_WRITE_MAX_INFLIGHT_ROWS: "10", TSINK_STATSD_MAX_PACKET_BYTES: "512", PATH: "/bin" };
  assert.equal((parseServerArgs([], env) as ServerConfig).unreadEnv, ["TSINK_EDGE_SYNC_MAX_ENTRIES", "TSINK_MAX_CPUS", "TSINK_STATSD_MAX_PACKET_BYTES"]);
  assert.equal((parseServerArgs(["--statsd-listen", "127.0.0.1:0"], env) as ServerConfig).unreadEnv, ["TSINK_EDGE_SYNC_MAX_ENTRIES", "TSINK_MAX_CPUS"]);
});

test("invalid flags and combinations are rejected with a message", () => {
  rejects(["--bogus"], /unknown flag --bogus/);
  rejects(["serve"], /unknown mode "serve"/);
  rejects(["--listen"], /--listen needs a value/);
  rejects(["--listen", "nope"], /expected host:port/);
  rejects(["--retention", "-5d"], /invalid duration/);
  rejects(["--retention", "5 days"], /invalid duration/);
  rejects(["--memory-limit", "12Q"], /invalid byte size/);
  rejects(["--wal-enabled", "maybe"], /expected true\/false/);
  rejects(["--timestamp-precision", "minutes"], /expected s\|ms\|us\|ns/);
  rejects(["--wal-sync-mode", "never"], /per-append or periodic/);
  rejects(["--auth-token", "a", "--auth-token-file", "/f"], /mutually exclusive/);
  rejects(["--admin-auth-token", "a", "--admin-auth-token-file", "/f"], /mutually exclusive/);
  rejects(["--tls-cert", "c.pem"], /--tls-cert and --tls-key must be given together/);
  rejects(["--admin-api-enabled"], /requires --admin-auth-token/);
  rejects(["--admin-path-prefix", "/snap"], /requires --admin-api-enabled/);
  rejects(["--auth-token-file", "/nonexistent/token"], /cannot read/);
  rejects(["--cluster-enabled", "true"], /not supported by this tsink-server build/);
  rejects(["--cluster-node-id", "n1"], /--cluster-node-id is not supported by this tsink-server build/);
  rejects(["--edge-sync-upstream", "h:1"], /--edge-sync-upstream is not supported/);
  rejects(["--object-store-path", "/o"], /--object-store-path is not supported/);
  rejects(["--listen", "a:1", "--listen", "b:2"], /given more than once/);
  rejects([], /TSINK_SERVER_READ_MAX_INFLIGHT_QUERIES: expected a non-negative integer/, { TSINK_SERVER_READ_MAX_INFLIGHT_QUERIES: "lots" });
});

test("startup failures come with a hint saying what to do", () => {
  const inUse = Object.assign(new Error("listen EADDRINUSE"), { code: "EADDRINUSE", syscall: "listen", address: "127.0.0.1", port: 9201 });
  assert.match(startupHint(inUse, {})!, /127\.0\.0\.1:9201 is already in use: stop the process holding it, or choose another address \(--listen/);
  const notDir = Object.assign(new Error("ENOTDIR: not a directory"), { code: "ENOTDIR", syscall: "open" });
  assert.match(startupHint(notDir, { dataPath: "/etc/passwd/x" })!, /data path \/etc\/passwd\/x is not usable \(ENOTDIR\): point --data-path at a writable directory/);
  const privileged = Object.assign(new Error("listen EACCES"), { code: "EACCES", syscall: "listen", address: "0.0.0.0", port: 80 });
  assert.match(startupHint(privileged, {})!, /not allowed to listen on 0\.0\.0\.0:80/);
  assert.is(startupHint(new Error("something else"), {}), undefined);
});

function authError(fn: () => void): [number, string | undefined, string | undefined] {
  try {
    fn();
  } catch (err) {
    const e = err as HttpError;
    return [e.status, e.options.headers?.["X-Tsink-Auth-Error-Code"], e.options.headers?.["WWW-Authenticate"]];
  }
  return [200, undefined, undefined];
}

test("auth decisions by scope and token", () => {
  assert.equal([scopeOfPath("/healthz"), scopeOfPath("/ready"), scopeOfPath("/api/v1/admin/snapshot"), scopeOfPath("/metrics")], ["probe", "probe", "admin", "public"]);
  assert.is(bearerToken("bearer  abc "), "abc");
  assert.is(bearerToken("Basic abc"), undefined);
  const both = new Authenticator({ authToken: "pub", adminAuthToken: "adm" });
  assert.equal(authError(() => both.check("probe", undefined)), [200, undefined, undefined]);
  assert.equal(authError(() => both.check("public", undefined)), [401, "auth_token_missing", "Bearer"]);
  assert.equal(authError(() => both.check("public", "nope")), [401, "auth_token_invalid", "Bearer"]);
  assert.equal(authError(() => both.check("public", "pub")), [200, undefined, undefined]);
  assert.equal(authError(() => both.check("admin", undefined)), [401, "admin_auth_token_missing", "Bearer"]);
  assert.equal(authError(() => both.check("admin", "pub")), [403, "auth_scope_denied", undefined]);
  assert.equal(authError(() => both.check("admin", "nope")), [401, "admin_auth_token_invalid", "Bearer"]);
  assert.equal(authError(() => both.check("admin", "adm")), [200, undefined, undefined]);
  const publicOnly = new Authenticator({ authToken: "pub" });
  assert.equal(authError(() => publicOnly.check("admin", "pub")), [200, undefined, undefined]);
  // Influx routes also take the token as `Token <t>`, Basic password or the `p` parameter; elsewhere only Bearer
  const none = "";
  assert.is(presentedToken("/write", "Token abc", none), "abc");
  assert.is(presentedToken("/api/v2/write", "token  abc ", none), "abc");
  assert.is(presentedToken("/write", `Basic ${Buffer.from("user:pa:ss").toString("base64")}`, none), "pa:ss");
  assert.is(presentedToken("/write", `Basic ${Buffer.from("nocolon").toString("base64")}`, none), undefined);
  assert.is(presentedToken("/query", undefined, "u=x&p=abc"), "abc");
  assert.is(presentedToken("/write", "Bearer hdr", "p=abc"), "hdr");
  assert.is(presentedToken("/api/v1/write", "Token abc", "p=abc"), undefined);
  assert.is(presentedToken("/api/v1/write", "Bearer abc", none), "abc");
  assert.is(scopeOfPath("/ping"), "probe");
  const open = new Authenticator({});
  assert.equal(authError(() => open.check("public", undefined)), [200, undefined, undefined]);
});

test("admission: waits up to the timeout, then refuses; oversized requests refused at once", async () => {
  const gate = new AdmissionGate("rows", 1, 10, 30);
  let release!: () => void;
  const held = gate.withRequest(() => new Promise<void>((r) => (release = r)));
  const t0 = Date.now();
  const refused = await gate.withRequest(async () => "ran").catch((e: unknown) => e);
  assert.instance(refused, AdmissionRejected);
  assert.is((refused as AdmissionRejected).reason, "overloaded");
  assert.ok(Date.now() - t0 >= 25);
  const waiting = gate.withRequest(async () => "ran after release");
  release();
  await held;
  assert.is(await waiting, "ran after release");
  const tooBig = await gate.withUnits(11, async () => "no").catch((e: unknown) => e);
  assert.is((tooBig as AdmissionRejected).reason, "limit_exceeded");
  assert.is(await gate.withUnits(10, async () => "fits"), "fits");
});

test("body buffer pool: released buffers are reused, held ones never; foreign, oversized and surplus ones are not kept", () => {
  const pool = new BodyBufferPool(1 << 20, 2);
  const a = pool.take(100_000);
  const b = pool.take(50_000);
  assert.is(a.length, 100_000);
  assert.not.ok(a.buffer === b.buffer, "two bodies in flight get different buffers");
  pool.release(a);
  pool.release(a); // twice: kept once
  assert.is(pool.freeCount, 1);
  const c = pool.take(120_000); // fits the rounded-up buffer of a
  assert.ok(c.buffer === a.buffer);
  assert.is(c.length, 120_000);
  assert.is(pool.freeCount, 0);
  pool.release(Buffer.alloc(10)); // not from the pool
  pool.release(b.subarray(1)); // not the start of a pooled buffer
  const big = pool.take(2 << 20); // above maxBufferBytes: a buffer of its own, never kept
  pool.release(big);
  assert.is(pool.freeCount, 0);
  pool.release(b);
  pool.release(c);
  pool.release(pool.take(10));
  assert.is(pool.freeCount, 2, "at most maxFree wait for reuse");
});

test("buffer GC is due once ArrayBuffers exceed the last live set by the slack, and follows V8's own collections down", () => {
  const t = new BufferGcTrigger(100, 50);
  assert.not.ok(t.due(150));
  assert.ok(t.due(151));
  t.collected(120); // 120 survived: the next collection waits for 220
  assert.not.ok(t.due(220));
  assert.ok(t.due(221));
  assert.not.ok(t.due(30)); // V8 collected on its own: the base drops to 30
  assert.ok(t.due(131));
});

test("the idle GC collects once the loop was idle long enough and enough was allocated since the last full GC", () => {
  const t = new IdleGcTrigger(1000, 300, 100);
  for (let i = 0; i < 2; i++) assert.is(t.tick(0, 100, 1099), "work"); // not idle for 300 ms yet
  for (let i = 0; i < 8; i++) assert.is(t.tick(0, 100, 1099), "idle"); // idle, but less than 100 bytes allocated
  assert.is(t.tick(BUSY_MS_PER_CHECK, 100, 1500), "work");
  assert.is(t.tick(0, 100, 1500), "work");
  assert.is(t.tick(0.5, 100, 1500), "work"); // our own check's time is not work, but the stretch is 200 ms so far
  assert.is(t.tick(0, 100, 1500), "collect"); // 300 ms idle after the work, 500 bytes more
  t.collected(1050);
  for (let i = 0; i < 10; i++) assert.is(t.tick(0, 100, 1100), "idle"); // once: what is left is the live set
  assert.is(t.tick(5, 100, 1200), "work");
  assert.is(t.tick(0, 200, 1200), "work");
  assert.is(t.tick(3, 100, 1200), "work"); // work again before the stretch was long enough: it starts over
  assert.is(t.tick(0, 200, 1200), "work");
  assert.is(t.tick(0, 100, 900), "idle"); // V8 collected on its own: the base drops to 900
  assert.is(t.tick(0, 100, 990), "idle");
  assert.is(t.tick(0, 100, 1000), "collect");
});

test("the buffer GC scavenges first and collects everything only when the scavenge did not bring the bytes back", () => {
  const t = new BufferGcTrigger(100, 50);
  assert.is(t.next(150), "none");
  assert.is(t.next(151), "minor"); // young garbage first
  assert.is(t.next(90), "none"); // the scavenge freed it
  assert.is(t.next(200), "minor");
  assert.is(t.next(200), "full"); // still over after a scavenge: old garbage
  t.collected(120);
  assert.is(t.next(220), "none");
  assert.is(t.next(221), "minor"); // a full collection starts the sequence again
});

test("V8 keeps its own heap growth while writes come and is bounded once they stop", () => {
  const big = 200 << 20; // a live heap where 20 % is more than the room
  for (const settled of [false, true]) {
    assert.is(heapGrowingPercent(0, settled, big), 0);
    assert.is(heapGrowingPercent(WRITE_QUIET_MS - 1, settled, big), 0);
    assert.is(heapGrowingPercent(WRITE_QUIET_MS, settled, big), QUIET_HEAP_GROWING_PERCENT);
    assert.is(heapGrowingPercent(Infinity, settled, big), QUIET_HEAP_GROWING_PERCENT);
  }
  assert.ok(QUIET_HEAP_GROWING_PERCENT > 0 && QUIET_HEAP_GROWING_PERCENT < 100);
});

test("once idle after a burst, the heap growth leaves QUIET_HEAP_ROOM_BYTES above a small live heap, within 300 %", () => {
  const live = 19 << 20; // 10k series
  assert.is(heapGrowingPercent(WRITE_QUIET_MS, false, live), QUIET_HEAP_GROWING_PERCENT); // flush and compaction
  const percent = heapGrowingPercent(WRITE_QUIET_MS, true, live);
  assert.ok((live * percent) / 100 >= QUIET_HEAP_ROOM_BYTES, `${percent} %`);
  assert.ok((live * (percent - 1)) / 100 < QUIET_HEAP_ROOM_BYTES, `${percent} % is more than the room needs`);
  assert.is(heapGrowingPercent(0, true, live), 0); // writes coming: V8's own factor, whatever the heap
  assert.is(heapGrowingPercent(WRITE_QUIET_MS, true, 1 << 20), 300);
  assert.is(heapGrowingPercent(WRITE_QUIET_MS, true, 0), 300);
  assert.is(heapGrowingPercent(WRITE_QUIET_MS, true, (100 * QUIET_HEAP_ROOM_BYTES) / QUIET_HEAP_GROWING_PERCENT), QUIET_HEAP_GROWING_PERCENT);
});

test("the buffer GC frees dropped Buffers that V8 alone would keep (below its external-memory trigger)", async () => {
  const stop = startBufferGc(8 << 20, 8 << 20);
  try {
    let held: Buffer[] | undefined = Array.from({ length: 24 }, () => Buffer.alloc(1 << 20, 1));
    const before = process.memoryUsage().arrayBuffers;
    assert.ok(held.length === 24 && before >= 24 << 20);
    held = undefined;
    // a check every 100 ms, a scavenge, then a full GC; under load the timers run late, so allow up to 3 s
    const freed = () => process.memoryUsage().arrayBuffers < before - (16 << 20);
    for (let waited = 0; !freed() && waited < 3000; waited += 50) await new Promise((r) => setTimeout(r, 50));
    assert.ok(freed(), `${process.memoryUsage().arrayBuffers} of ${before} bytes left`);
  } finally {
    stop();
  }
});

test("the end of a write burst collects the burst's old-space garbage (V8 alone would wait for its limit)", async () => {
  const stop = startBufferGc();
  try {
    await new Promise((r) => setTimeout(r, 300)); // the start-up collection (no write yet) is behind us
    noteWrite();
    // ~60 MB of objects that survive scavenges (promoted to old space), then dropped: only a full GC frees them
    let held: number[][] | undefined = [];
    for (let i = 0; i < 300_000; i++) held.push([i, i + 1, i + 2, i + 3, i + 4, i + 5, i + 6, i + 7, i + 8, i + 9]);
    const before = process.memoryUsage().heapUsed;
    assert.ok(held.length === 300_000 && before > 40 << 20);
    held = undefined;
    await new Promise((r) => setTimeout(r, WRITE_QUIET_MS + 400));
    const after = process.memoryUsage().heapUsed;
    assert.ok(after < before - (30 << 20), `${after} of ${before} heap bytes left`);
  } finally {
    stop();
  }
});

test.run();
