// Security and tenancy over the real server: the bearer-token matrix on every route, admin gating, TLS,
// tenant ids, and isolation of tenants on every read route (and delete_series).
import { test } from "uvu";
import * as assert from "uvu/assert";
import { execFileSync } from "node:child_process";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { ConfigError, parseServerArgs } from "../../src/server/config.js";
import { get as httpsGet } from "node:https";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { readFileSync } from "node:fs";
import {
  type RunningServer, decodeReadResponse, getJson, holdOpenPost, readRequestBody, recentMs, remoteWrite, remoteWriteBody, REMOTE_WRITE_HEADERS, startServer,
} from "./helpers.js";

const T = recentMs(120);
const FORM = { "Content-Type": "application/x-www-form-urlencoded" };

/** Every route of the server with a request that is valid for it. */
const PUBLIC_ROUTES: [string, string, (RequestInit & { headers?: Record<string, string> })?][] = [
  ["GET", "/metrics"],
  ["GET", "/api/v1/query?query=up"],
  ["POST", "/api/v1/query", { body: "query=up", headers: FORM }],
  ["GET", `/api/v1/query_range?query=up&start=${T / 1000}&end=${T / 1000}&step=15`],
  ["POST", "/api/v1/query_range", { body: `query=up&start=${T / 1000}&end=${T / 1000}&step=15`, headers: FORM }],
  ["GET", "/api/v1/series?match[]=up"],
  ["GET", "/api/v1/labels"],
  ["GET", "/api/v1/label/job/values"],
  ["GET", "/api/v1/metadata"],
  ["GET", "/api/v1/query_exemplars?query=up"],
  ["GET", "/api/v1/status/tsdb"],
  ["GET", "/api/v1/status/buildinfo"],
  ["POST", "/api/v1/write", { body: remoteWriteBody([{ labels: { __name__: "up" }, samples: [[T, 1]] }]), headers: REMOTE_WRITE_HEADERS }],
  ["POST", "/api/v1/read", { body: readRequestBody([{ startMs: 0, endMs: T, matchers: [{ type: 0, name: "__name__", value: "up" }] }]), headers: REMOTE_WRITE_HEADERS }],
  ["POST", "/api/v1/import/prometheus", { body: `up 1 ${T}`, headers: { "Content-Type": "text/plain" } }],
  ["POST", "/write?db=auth&precision=ms", { body: `up,host=a value=1 ${T}` }],
  ["POST", "/api/v2/write?bucket=auth&precision=ms", { body: `up,host=a value=1 ${T}` }],
  ["GET", "/query?q=SHOW+DATABASES"],
  ["GET", "/api/v2/buckets"],
  ["GET", "/no/such/route"],
];
/** Routes every client may call without a token: the contract's probes and InfluxDB's (/ping, /health). */
const PROBES: [string, number][] = [["/healthz", 200], ["/ready", 200], ["/ping", 204], ["/health", 200]];
const ADMIN_ROUTES: [string, string, (RequestInit & { headers?: Record<string, string> })?][] = [
  ["POST", "/api/v1/admin/delete_series?match[]=nothing_here"],
  ["POST", "/api/v1/admin/snapshot", { body: JSON.stringify({ path: join(tmpdir(), "tsink-auth-snap") }), headers: { "Content-Type": "application/json" } }],
  ["POST", "/api/v1/admin/restore?snapshot_path=/nonexistent/a&data_path=/nonexistent/b"],
];

async function call(srv: RunningServer, route: (typeof PUBLIC_ROUTES)[number], token?: string): Promise<Response> {
  const [method, path, init] = route;
  const headers: Record<string, string> = { ...(init?.headers ?? {}) };
  if (token !== undefined) headers.Authorization = `Bearer ${token}`;
  return fetch(srv.url + path, { ...init, method, headers });
}

async function expectDenied(res: Response, status: number, code: string, label: string): Promise<void> {
  assert.is(res.status, status, label);
  assert.is(res.headers.get("x-tsink-auth-error-code"), code, label);
  assert.is(res.headers.get("www-authenticate"), status === 401 ? "Bearer" : null, label);
  await res.arrayBuffer();
}

test("auth matrix: public and admin tokens on every route", async () => {
  const srv = await startServer(["--auth-token", "pub-token", "--admin-auth-token", "adm-token", "--admin-api-enabled"]);
  try {
    for (const [path, status] of PROBES) {
      assert.is((await fetch(srv.url + path)).status, status, path);
      // a wrong token does not turn a probe away either (InfluxDB ignores it on /ping and /health too)
      assert.is((await fetch(srv.url + path, { headers: { Authorization: "Bearer wrong" } })).status, status, `${path} with a wrong token`);
    }
    for (const route of PUBLIC_ROUTES) {
      const label = `${route[0]} ${route[1]}`;
      await expectDenied(await call(srv, route), 401, "auth_token_missing", label);
      await expectDenied(await call(srv, route, "wrong"), 401, "auth_token_invalid", label);
      await expectDenied(await call(srv, route, "adm-token"), 401, "auth_token_invalid", label);
      const ok = await call(srv, route, "pub-token");
      assert.ok(![401, 403].includes(ok.status), `${label} with the public token answered ${ok.status}`);
      assert.is(ok.status, route[1].startsWith("/no/") ? 404 : /^\/(api\/v2\/)?write/.test(route[1]) ? 204 : 200, label);
      await ok.arrayBuffer();
    }
    const lowercase = await fetch(`${srv.url}/api/v1/labels`, { headers: { Authorization: "bearer   pub-token  " } });
    assert.is(lowercase.status, 200);
    for (const route of ADMIN_ROUTES) {
      const label = `${route[0]} ${route[1]}`;
      await expectDenied(await call(srv, route), 401, "admin_auth_token_missing", label);
      await expectDenied(await call(srv, route, "wrong"), 401, "admin_auth_token_invalid", label);
      await expectDenied(await call(srv, route, "pub-token"), 403, "auth_scope_denied", label);
      const ok = await call(srv, route, "adm-token");
      assert.ok(![401, 403, 404].includes(ok.status), `${label} with the admin token answered ${ok.status}`);
      await ok.arrayBuffer();
    }
    const denied = await getJson(`${srv.url}/api/v1/labels`);
    assert.equal(denied.body, { status: "error", errorType: "unauthorized", error: "bearer token required" });
  } finally {
    await srv.stop();
  }
});

test("admin falls back to the public token; admin routes are 404 unless enabled", async () => {
  const fallback = await startServer(["--auth-token", "pub-token", "--enable-admin-api"]);
  try {
    const res = await call(fallback, ADMIN_ROUTES[0]!, "pub-token");
    assert.is(res.status, 200);
    await expectDenied(await call(fallback, ADMIN_ROUTES[0]!, "nope"), 401, "admin_auth_token_invalid", "fallback");
  } finally {
    await fallback.stop();
  }
  const disabled = await startServer(["--auth-token", "pub-token"]);
  try {
    for (const route of ADMIN_ROUTES) {
      const res = await call(disabled, route, "pub-token");
      assert.is(res.status, 404);
      assert.is(await res.text(), "not found");
    }
  } finally {
    await disabled.stop();
  }
});

test("TLS: serves HTTPS with the given PEM cert and key", async () => {
  const dir = mkdtempSync(join(tmpdir(), "tsink-tls-"));
  try {
    const cert = join(dir, "cert.pem");
    const key = join(dir, "key.pem");
    execFileSync("openssl", ["req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", key, "-out", cert, "-days", "1", "-subj", "/CN=127.0.0.1", "-addext", "subjectAltName=IP:127.0.0.1"], { stdio: "ignore" });
    const srv = await startServer(["--tls-cert", cert, "--tls-key", key]);
    try {
      const body = await new Promise<string>((resolve, reject) => {
        httpsGet({ host: "127.0.0.1", port: srv.port, path: "/healthz", ca: readFileSync(cert) }, (res) => {
          let text = "";
          res.on("data", (d) => (text += d));
          res.on("end", () => resolve(`${res.statusCode} ${text}`));
        }).on("error", reject);
      });
      assert.is(body, "200 ok\n");
      const plain = await fetch(`http://127.0.0.1:${srv.port}/healthz`).then((r) => r.status, () => "refused");
      assert.is.not(plain, 200);
    } finally {
      await srv.stop();
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test("tenant ids: default when absent, invalid ones 400, X-Scope-OrgID alias must agree", async () => {
  const srv = await startServer();
  try {
    const invalid: Record<string, string>[] = [{ "x-tsink-tenant": "" }, { "x-tsink-tenant": "__system" }, { "x-tsink-tenant": "a", "X-Scope-OrgID": "b" }];
    for (const headers of invalid) {
      const w = await remoteWrite(srv.url, [{ labels: { __name__: "t" }, samples: [[T, 1]] }], headers);
      assert.is(w.status, 400, JSON.stringify(headers));
      assert.match(await w.text(), /tenant|disagree/);
      const r = await getJson(`${srv.url}/api/v1/labels`, { headers });
      assert.is(r.status, 400);
    }
    assert.is((await remoteWrite(srv.url, [{ labels: { __name__: "t" }, samples: [[T, 5]] }], { "X-Scope-OrgID": "org1" })).status, 200);
    const viaTenant = await getJson(`${srv.url}/api/v1/query?query=t&time=${T / 1000}`, { headers: { "x-tsink-tenant": "org1" } });
    assert.equal(viaTenant.body.data.result, [{ metric: { __name__: "t" }, value: [T / 1000, "5"] }]);
    const dflt = await getJson(`${srv.url}/api/v1/query?query=t&time=${T / 1000}`);
    assert.equal(dflt.body.data.result, []);
  } finally {
    await srv.stop();
  }
});

test("tenant isolation on every read route and on delete_series", async () => {
  const srv = await startServer(["--auth-token", "tok", "--admin-api-enabled"]);
  const auth = { Authorization: "Bearer tok" };
  const as = (tenant?: string) => ({ ...auth, ...(tenant ? { "x-tsink-tenant": tenant } : {}) });
  try {
    for (const [tenant, value] of [["alpha", 1], ["beta", 2], [undefined, 3]] as const) {
      const w = await fetch(`${srv.url}/api/v1/write`, {
        method: "POST",
        headers: { ...REMOTE_WRITE_HEADERS, ...as(tenant) },
        body: remoteWriteBody([{ labels: { __name__: "shared", owner: tenant ?? "default", [`only_${tenant ?? "default"}`]: "x" }, samples: [[T, value]] }], {
          metadata: [{ type: 2, metricFamilyName: "shared", help: `help of ${tenant ?? "default"}`, unit: "" }],
        }),
      });
      assert.is(w.status, 200);
    }
    for (const [tenant, owner, value] of [["alpha", "alpha", "1"], ["beta", "beta", "2"], [undefined, "default", "3"]] as const) {
      const h = { headers: as(tenant) };
      const q = await getJson(`${srv.url}/api/v1/query?query=shared&time=${T / 1000}`, h);
      assert.equal(q.body.data.result.map((r: any) => [r.metric.owner, r.value[1]]), [[owner, value]], `query ${owner}`);
      assert.not.ok(JSON.stringify(q.body).includes("__tsink_tenant__"));
      const qr = await getJson(`${srv.url}/api/v1/query_range?query=sum(shared)&start=${T / 1000}&end=${T / 1000}&step=1`, h);
      assert.equal(qr.body.data.result[0].values, [[T / 1000, value]], `query_range ${owner}`);
      const s = await getJson(`${srv.url}/api/v1/series?match[]=shared`, h);
      assert.equal(s.body.data, [{ __name__: "shared", owner, [`only_${owner}`]: "x" }], `series ${owner}`);
      const l = await getJson(`${srv.url}/api/v1/labels`, h);
      assert.equal(l.body.data, ["__name__", `only_${owner}`, "owner"], `labels ${owner}`);
      const v = await getJson(`${srv.url}/api/v1/label/owner/values`, h);
      assert.equal(v.body.data, [owner], `values ${owner}`);
      const hidden = await getJson(`${srv.url}/api/v1/label/__tsink_tenant__/values`, h);
      assert.equal(hidden.body.data, []);
      const md = await getJson(`${srv.url}/api/v1/metadata`, h);
      assert.equal(md.body.data, { shared: [{ type: "gauge", help: `help of ${owner}`, unit: "" }] });
      const st = await getJson(`${srv.url}/api/v1/status/tsdb`, h);
      assert.is(st.body.data.headStats.numSeries, 1);
      const rr = await fetch(`${srv.url}/api/v1/read`, {
        method: "POST", headers: { ...REMOTE_WRITE_HEADERS, ...as(tenant) },
        body: readRequestBody([{ startMs: 0, endMs: T, matchers: [{ type: 0, name: "__name__", value: "shared" }] }]),
      });
      const decoded = decodeReadResponse(await rr.arrayBuffer());
      assert.equal(decoded.results[0]!.timeseries.map((t) => t.labels.map((x) => x.name)), [["__name__", `only_${owner}`, "owner"]], `read ${owner}`);
    }
    const del = await getJson(`${srv.url}/api/v1/admin/delete_series`, {
      method: "POST", headers: { ...as("alpha"), "Content-Type": "application/json" }, body: JSON.stringify({ selectors: ["shared"] }),
    });
    assert.equal(del.body, {
      status: "success",
      data: { tenantId: "alpha", matchersProcessed: 1, matchedSeries: 1, tombstonesApplied: 1, start: -9223372036854775808, end: 9223372036854775807 },
    });
    const gone = await getJson(`${srv.url}/api/v1/series?match[]=shared`, { headers: as("alpha") });
    assert.equal(gone.body.data, []);
    const beta = await getJson(`${srv.url}/api/v1/series?match[]=shared`, { headers: as("beta") });
    assert.is(beta.body.data.length, 1);
    const ranged = await getJson(`${srv.url}/api/v1/admin/delete_series?match[]=shared&start=${T}&end=${T + 1}`, { method: "POST", headers: as("beta") });
    assert.equal([ranged.body.data.matchedSeries, ranged.body.data.start, ranged.body.data.end], [1, T, T + 1]);
    const betaQuery = await getJson(`${srv.url}/api/v1/query?query=shared&time=${T / 1000}`, { headers: as("beta") });
    assert.equal(betaQuery.body.data.result, []);
    const badRange = await getJson(`${srv.url}/api/v1/admin/delete_series?match[]=shared&start=5&end=5`, { method: "POST", headers: as() });
    assert.is(badRange.status, 400);
    const noMatch = await getJson(`${srv.url}/api/v1/admin/delete_series`, { method: "POST", headers: as() });
    assert.is(noMatch.status, 400);
    const dflt = await getJson(`${srv.url}/api/v1/series?match[]=shared`, { headers: as() });
    assert.is(dflt.body.data.length, 1);
  } finally {
    await srv.stop();
  }
});

test("--tenant-config quotas: defaults inherited, per-tenant overrides, 413 with nothing written", async () => {
  const dir = mkdtempSync(join(tmpdir(), "tsink-tenants-"));
  try {
    const file = join(dir, "tenants.json");
    writeFileSync(file, JSON.stringify({
      defaults: { quotas: { maxWriteRowsPerRequest: 2, maxReadQueriesPerRequest: 1, maxMetadataMatchersPerRequest: 1, maxQueryLengthBytes: 40, maxRangePointsPerQuery: 10 } },
      tenants: { big: { quotas: { maxWriteRowsPerRequest: 100, maxRangePointsPerQuery: null } } },
    }));
    const srv = await startServer(["--tenant-config", file]);
    try {
      const rows3 = [{ labels: { __name__: "q" }, samples: [[T, 1], [T + 1, 2], [T + 2, 3]] as [number, number][] }];
      const refused = await remoteWrite(srv.url, rows3, { "x-tsink-tenant": "small" });
      assert.is(refused.status, 413);
      assert.is(refused.headers.get("x-tsink-write-error-code"), "write_resource_limit_exceeded");
      assert.match(await refused.text(), /maxWriteRowsPerRequest exceeded: 3 > 2/);
      const text = await fetch(`${srv.url}/api/v1/import/prometheus`, { method: "POST", headers: { "x-tsink-tenant": "small" }, body: `q 1 ${T}\nq 2 ${T + 1}\nq 3 ${T + 2}\n` });
      assert.is(text.status, 413);
      assert.is((await remoteWrite(srv.url, rows3, { "x-tsink-tenant": "big" })).status, 200);
      const small = { headers: { "x-tsink-tenant": "small" } };
      assert.equal((await getJson(`${srv.url}/api/v1/series?match[]=q`, small)).body.data, []);
      const two = await getJson(`${srv.url}/api/v1/series?match[]=q&match[]=up`, small);
      assert.equal([two.status, two.body.errorType], [413, "bad_data"]);
      const long = await getJson(`${srv.url}/api/v1/query?query=${encodeURIComponent("sum(rate(some_long_metric_name_here[5m]))")}`, small);
      assert.is(long.status, 413);
      assert.match(long.body.error, /maxQueryLengthBytes/);
      const points = await getJson(`${srv.url}/api/v1/query_range?query=q&start=0&end=100&step=10`, small);
      assert.is(points.status, 413);
      assert.match(points.body.error, /maxRangePointsPerQuery exceeded: 11 > 10/);
      const bigRange = await getJson(`${srv.url}/api/v1/query_range?query=q&start=0&end=100&step=10`, { headers: { "x-tsink-tenant": "big" } });
      assert.is(bigRange.status, 200);
      const m = [{ type: 0, name: "__name__", value: "q" }];
      const rr = await fetch(`${srv.url}/api/v1/read`, {
        method: "POST", headers: { ...REMOTE_WRITE_HEADERS, "x-tsink-tenant": "small" },
        body: readRequestBody([{ startMs: 0, endMs: T, matchers: m }, { startMs: 0, endMs: T, matchers: m }]),
      });
      assert.is(rr.status, 413);
      assert.is(rr.headers.get("x-tsink-read-error-code"), "read_resource_limit_exceeded");
    } finally {
      await srv.stop();
    }
    for (const [doc, pattern] of [
      [{ tenants: { a: { quotas: { maxWriteRows: 1 } } } }, /unknown field tenants\.a\.quotas\.maxWriteRows/],
      [{ defaults: { auth: { tokens: [] } } }, /defaults\.auth is not allowed/],
      [{ defaults: { cluster: {} } }, /defaults\.cluster is not supported/],
      [{ defaults: { admission: { maxInflightQueries: 1 } } }, /unknown field defaults\.admission\.maxInflightQueries/],
      [{ tenants: { a: { auth: { tokens: [{ token: "t", scopes: ["admin"] }] } } } }, /scopes must be a non-empty array/],
      [{ defaults: { quotas: { maxQueryLengthBytes: -1 } } }, /must be a positive integer/],
      [{ extra: 1 }, /unknown field extra/],
    ] as [object, RegExp][]) {
      writeFileSync(file, JSON.stringify(doc));
      assert.throws(() => parseServerArgs(["--tenant-config", file], {}), (e: unknown) => e instanceof ConfigError && pattern.test(e.message));
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test("tenant tokens from --tenant-config: own tenant and scopes only, global token still works", async () => {
  const dir = mkdtempSync(join(tmpdir(), "tsink-tenant-auth-"));
  try {
    const file = join(dir, "tenants.json");
    writeFileSync(file, JSON.stringify({
      tenants: { acme: { auth: { tokens: [{ token: "acme-rw", scopes: ["read", "write"] }, { token: "acme-ro", scopes: ["read"] }] } } },
    }));
    const srv = await startServer(["--tenant-config", file, "--auth-token", "global"]);
    const as = (token: string | undefined, tenant?: string) => ({
      ...(token ? { Authorization: `Bearer ${token}` } : {}),
      ...(tenant ? { "x-tsink-tenant": tenant } : {}),
    });
    const write = (headers: Record<string, string>) => remoteWrite(srv.url, [{ labels: { __name__: "acme_m" }, samples: [[T, 1]] }], headers);
    const read = (headers: Record<string, string>) => fetch(`${srv.url}/api/v1/series?match[]=acme_m`, { headers });
    try {
      assert.is((await write(as("acme-rw", "acme"))).status, 200);
      const rw = await read(as("acme-rw", "acme"));
      assert.is(rw.status, 200);
      assert.equal(((await rw.json()) as { data: unknown }).data, [{ __name__: "acme_m" }]);
      assert.is((await read(as("acme-ro", "acme"))).status, 200);
      await expectDenied(await write(as("acme-ro", "acme")), 403, "auth_scope_denied", "read-only token writing");
      await expectDenied(await read(as("acme-rw", "other")), 403, "auth_scope_denied", "token of another tenant");
      await expectDenied(await write(as("acme-rw")), 403, "auth_scope_denied", "tenant token on the default tenant");
      await expectDenied(await read(as(undefined, "acme")), 401, "auth_token_missing", "no token");
      await expectDenied(await read(as("acme-rx", "acme")), 401, "auth_token_invalid", "unknown token");
      const viaGlobal = await read(as("global", "acme"));
      assert.equal(((await viaGlobal.json()) as { data: unknown }).data, [{ __name__: "acme_m" }]);
      assert.is((await read(as("acme-rw", "__bad"))).status, 400);
      await expectDenied(await fetch(`${srv.url}/metrics`, { headers: as("acme-rw", "acme") }), 401, "auth_token_invalid", "tenant token on /metrics");
    } finally {
      await srv.stop();
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test("--tenant-config admission: a tenant over its in-flight budget gets 503 at once, other tenants go on", async () => {
  const dir = mkdtempSync(join(tmpdir(), "tsink-tenant-adm-"));
  try {
    const file = join(dir, "tenants.json");
    writeFileSync(file, JSON.stringify({ tenants: { busy: { admission: { maxInflightWrites: 1, maxInflightReads: 1 } } } }));
    const srv = await startServer(["--tenant-config", file]);
    try {
      const heldWrite = await holdOpenPost(srv.port, "/api/v1/write", { ...REMOTE_WRITE_HEADERS, "x-tsink-tenant": "busy" });
      const refused = await remoteWrite(srv.url, [{ labels: { __name__: "adm" }, samples: [[T, 1]] }], { "x-tsink-tenant": "busy" });
      assert.is(refused.status, 503);
      assert.is(refused.headers.get("x-tsink-write-error-code"), "write_overloaded");
      assert.is(refused.headers.get("retry-after"), "1");
      assert.is((await remoteWrite(srv.url, [{ labels: { __name__: "adm" }, samples: [[T, 1]] }], { "x-tsink-tenant": "calm" })).status, 200);
      await heldWrite.release();
      assert.is((await remoteWrite(srv.url, [{ labels: { __name__: "adm" }, samples: [[T, 2]] }], { "x-tsink-tenant": "busy" })).status, 200);
      const heldRead = await holdOpenPost(srv.port, "/api/v1/read", { ...REMOTE_WRITE_HEADERS, "x-tsink-tenant": "busy" });
      const q = await getJson(`${srv.url}/api/v1/labels`, { headers: { "x-tsink-tenant": "busy" } });
      assert.equal([q.status, q.headers.get("x-tsink-read-error-code"), q.body.status], [503, "read_overloaded", "error"]);
      assert.is((await getJson(`${srv.url}/api/v1/labels`, { headers: { "x-tsink-tenant": "calm" } })).status, 200);
      await heldRead.release();
      assert.is((await getJson(`${srv.url}/api/v1/labels`, { headers: { "x-tsink-tenant": "busy" } })).status, 200);
    } finally {
      await srv.stop();
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test.run();
