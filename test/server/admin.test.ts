// Admin data routes over a persistent server: snapshot, restore into a new data path (served by a second
// server), path confinement with --admin-path-prefix, and the refusals (in-memory snapshot, live target, bad input).
import { test } from "uvu";
import * as assert from "uvu/assert";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { pino } from "pino";
import { TsinkServer } from "../../src/server/app.js";
import { parseServerArgs, type ServerConfig } from "../../src/server/config.js";
import { storageHooks } from "../../src/server/storage.js";
import { getJson, recentMs, remoteWrite, remoteWriteBody, REMOTE_WRITE_HEADERS, startServer } from "./helpers.js";

const T = recentMs(300);
const AUTH = { Authorization: "Bearer adm" };

test("snapshot, restore into a new data path, and serve the restored data", async () => {
  const root = mkdtempSync(join(tmpdir(), "tsink-admin-"));
  try {
    const data = join(root, "data");
    const srv = await startServer(["--data-path", data, "--admin-auth-token", "adm", "--admin-api-enabled", "--admin-path-prefix", root]);
    try {
      assert.is((await remoteWrite(srv.url, [{ labels: { __name__: "snap_me", k: "v" }, samples: [[T, 1], [T + 1000, 2]] }])).status, 200);
      const md = await fetch(`${srv.url}/api/v1/write`, {
        method: "POST", headers: REMOTE_WRITE_HEADERS,
        body: remoteWriteBody([], { metadata: [{ type: 2, metricFamilyName: "snap_me", help: "kept in snapshots", unit: "" }] }),
      });
      assert.is(md.status, 200);
      const snap = join(root, "snap-1");
      const res = await getJson(`${srv.url}/api/v1/admin/snapshot?path=${encodeURIComponent(snap)}`, { method: "POST", headers: AUTH });
      assert.is(res.status, 200, JSON.stringify(res.body));
      assert.equal(res.body, { status: "success", data: { path: snap } });
      const outside = await getJson(`${srv.url}/api/v1/admin/snapshot`, {
        method: "POST", headers: { ...AUTH, "Content-Type": "application/json" }, body: JSON.stringify({ path: "/tmp/elsewhere-snap" }),
      });
      assert.is(outside.status, 403);
      assert.match(outside.body.error, /outside --admin-path-prefix/);
      const missing = await getJson(`${srv.url}/api/v1/admin/snapshot`, { method: "POST", headers: AUTH });
      assert.is(missing.status, 400);
      assert.match(missing.body.error, /missing required parameter "path"/);
      const live = await getJson(`${srv.url}/api/v1/admin/restore?snapshot_path=${encodeURIComponent(snap)}&data_path=${encodeURIComponent(data)}`, { method: "POST", headers: AUTH });
      assert.is(live.status, 409);
      const restoredPath = join(root, "restored");
      const restored = await getJson(`${srv.url}/api/v1/admin/restore`, {
        method: "POST", headers: { ...AUTH, "Content-Type": "application/json" }, body: JSON.stringify({ snapshotPath: snap, dataPath: restoredPath }),
      });
      assert.equal(restored.body, { status: "success", data: { snapshotPath: snap, dataPath: restoredPath } });
      const again = await getJson(`${srv.url}/api/v1/admin/restore?snapshot_path=${encodeURIComponent(snap)}&data_path=${encodeURIComponent(restoredPath)}`, { method: "POST", headers: AUTH });
      assert.is(again.status, 400);
      assert.match(again.body.error, /not empty/);
      const notSnap = await getJson(`${srv.url}/api/v1/admin/restore?snapshot_path=${encodeURIComponent(root)}&data_path=${encodeURIComponent(join(root, "x"))}`, { method: "POST", headers: AUTH });
      assert.is(notSnap.status, 400);
      const copy = await startServer(["--data-path", restoredPath]);
      try {
        const q = await getJson(`${copy.url}/api/v1/query_range?query=snap_me&start=${T / 1000}&end=${T / 1000 + 1}&step=1`);
        assert.equal(q.body.data.result, [{ metric: { __name__: "snap_me", k: "v" }, values: [[T / 1000, "1"], [T / 1000 + 1, "2"]] }]);
        const restoredMd = await getJson(`${copy.url}/api/v1/metadata?metric=snap_me`);
        assert.equal(restoredMd.body.data, { snap_me: [{ type: "gauge", help: "kept in snapshots", unit: "" }] });
        const metrics = await (await fetch(`${copy.url}/metrics`)).text();
        assert.match(metrics, /^tsink_wal_size_bytes \d+$/m);
        assert.match(metrics, /^# TYPE tsink_compaction_runs gauge$/m);
      } finally {
        await copy.stop();
      }
    } finally {
      await srv.stop();
    }
  } finally {
    rmSync(root, { recursive: true, force: true });
  }
});

test("/ready is 503 and data routes are 503 while storage opens; probes and auth still answer", async () => {
  const config = parseServerArgs(["--listen", "127.0.0.1:0"], {}) as ServerConfig;
  const real = storageHooks(config);
  let openStorage!: () => void;
  const opened = new Promise<void>((resolve) => (openStorage = resolve));
  const server = new TsinkServer(config, pino({ level: "silent" }), { ...real, open: async () => { await opened; return real.open(); } }, "t");
  const started = server.start();
  try {
    let port = 0;
    while (!port) {
      await new Promise((r) => setTimeout(r, 10));
      port = (server as unknown as { server: { address(): { port: number } | null } }).server.address()?.port ?? 0;
    }
    const url = `http://127.0.0.1:${port}`;
    assert.is((await fetch(`${url}/healthz`)).status, 200);
    const ready = await fetch(`${url}/ready`);
    assert.is(ready.status, 503);
    assert.match(await ready.text(), /not ready/);
    const q = await getJson(`${url}/api/v1/query?query=up`);
    assert.is(q.status, 503);
    assert.equal([q.body.status, q.body.errorType], ["error", "unavailable"]);
    assert.match(q.body.error, /storage is still opening/);
    openStorage();
    await started;
    assert.is((await fetch(`${url}/ready`)).status, 200);
  } finally {
    openStorage();
    await started;
    await server.stop();
  }
});

test("a stop while storage is still opening waits for it and closes it; the server never turns ready", async () => {
  const config = parseServerArgs(["--listen", "127.0.0.1:0"], {}) as ServerConfig;
  const real = storageHooks(config);
  let openStorage!: () => void;
  const opened = new Promise<void>((resolve) => (openStorage = resolve));
  let storage: Awaited<ReturnType<typeof real.open>> | undefined;
  let openCalled!: () => void;
  const opening = new Promise<void>((resolve) => (openCalled = resolve));
  const open = async () => {
    openCalled();
    await opened;
    return (storage = await real.open());
  };
  const server = new TsinkServer(config, pino({ level: "silent" }), { ...real, open }, "t");
  const started = server.start();
  await opening; // the server is listening and opening storage (a sleep here would race a loaded machine)
  const stopped = server.stop();
  openStorage();
  await started;
  await stopped;
  assert.ok(storage);
  const closedCall = await storage!.labelNames().then(() => "open", (e: { code?: string }) => e.code);
  assert.is(closedCall, "StorageClosed");
});

test("a stop before the socket is bound ends start() with an error and opens no storage", async () => {
  const config = parseServerArgs(["--listen", "127.0.0.1:0"], {}) as ServerConfig;
  const real = storageHooks(config);
  let opened = false;
  const server = new TsinkServer(config, pino({ level: "silent" }), { ...real, open: async () => { opened = true; return real.open(); } }, "t");
  const started = server.start().then(() => "started", (e: Error) => e.message); // listen() binds asynchronously
  await server.stop();
  assert.is(await started, "the server was stopped before it started listening");
  assert.is(opened, false);
});

test("snapshot of an in-memory server is 503", async () => {
  const srv = await startServer(["--admin-auth-token", "adm", "--admin-api-enabled"]);
  try {
    const res = await getJson(`${srv.url}/api/v1/admin/snapshot?path=/tmp/never`, { method: "POST", headers: AUTH });
    assert.is(res.status, 503);
    assert.match(res.body.error, /--data-path/);
    const badJson = await getJson(`${srv.url}/api/v1/admin/delete_series`, { method: "POST", headers: { ...AUTH, "Content-Type": "application/json" }, body: "{nope" });
    assert.is(badJson.status, 400);
    assert.match(badJson.body.error, /invalid JSON body/);
  } finally {
    await srv.stop();
  }
});

test.run();
