// Storage flags seen through HTTP: --retention (422 write_out_of_retention), --cardinality-limit (413),
// --timestamp-precision s / ns (remote write ms converted in, PromQL and remote read converted back out, text
// import timestamps raw in the server precision), and --data-path data without a tenant label (default tenant).
import { test } from "uvu";
import * as assert from "uvu/assert";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { parseServerArgs, type ServerConfig } from "../../src/server/config.js";
import { storageBuilderFor } from "../../src/server/storage.js";
import { decodeReadResponse, getJson, readRequestBody, recentMs, remoteWrite, REMOTE_WRITE_HEADERS, startServer } from "./helpers.js";

test("--retention: samples older than the cutoff -> 422 write_out_of_retention, nothing written", async () => {
  const srv = await startServer(["--retention", "1h"]);
  try {
    const res = await remoteWrite(srv.url, [{ labels: { __name__: "old_new" }, samples: [[recentMs(60), 1], [recentMs(7200), 2]] }]);
    assert.is(res.status, 422);
    assert.is(res.headers.get("x-tsink-write-error-code"), "write_out_of_retention");
    assert.match(await res.text(), /retention/);
    const s = await getJson(`${srv.url}/api/v1/series?match[]=old_new`);
    assert.equal(s.body.data, []);
  } finally {
    await srv.stop();
  }
});

test("--cardinality-limit: a new series past the limit -> 413 write_resource_limit_exceeded; existing series still write", async () => {
  const srv = await startServer(["--cardinality-limit", "2"]);
  try {
    const T = recentMs(60);
    assert.is((await remoteWrite(srv.url, [{ labels: { __name__: "card", i: "1" }, samples: [[T, 1]] }, { labels: { __name__: "card", i: "2" }, samples: [[T, 1]] }])).status, 200);
    const over = await remoteWrite(srv.url, [{ labels: { __name__: "card", i: "3" }, samples: [[T, 1]] }]);
    assert.is(over.status, 413);
    assert.is(over.headers.get("x-tsink-write-error-code"), "write_resource_limit_exceeded");
    assert.is((await remoteWrite(srv.url, [{ labels: { __name__: "card", i: "1" }, samples: [[T + 1000, 2]] }])).status, 200);
  } finally {
    await srv.stop();
  }
});

for (const precision of ["s", "ns"] as const) {
  test(`--timestamp-precision ${precision}: ms on the wire, ${precision} in storage`, async () => {
    const srv = await startServer(["--timestamp-precision", precision]);
    try {
      const T = recentMs(120); // whole second
      assert.is((await remoteWrite(srv.url, [{ labels: { __name__: "prec" }, samples: [[T, 1], [T + 1000, 2]] }])).status, 200);
      const q = await getJson(`${srv.url}/api/v1/query_range?query=prec&start=${T / 1000}&end=${T / 1000 + 1}&step=1`);
      assert.equal(q.body.data.result, [{ metric: { __name__: "prec" }, values: [[T / 1000, "1"], [T / 1000 + 1, "2"]] }]);
      const rr = await fetch(`${srv.url}/api/v1/read`, {
        method: "POST", headers: REMOTE_WRITE_HEADERS,
        body: readRequestBody([{ startMs: T, endMs: T + 1000, matchers: [{ type: 0, name: "__name__", value: "prec" }] }]),
      });
      assert.equal(decodeReadResponse(await rr.arrayBuffer()).results[0]!.timeseries[0]!.samples, [{ value: 1, timestamp: T }, { value: 2, timestamp: T + 1000 }]);
      const raw = precision === "s" ? String(T / 1000 + 2) : `${T + 2000}000000`;
      assert.is((await fetch(`${srv.url}/api/v1/import/prometheus`, { method: "POST", body: `prec 3 ${raw}\n` })).status, 200);
      const at = await getJson(`${srv.url}/api/v1/query?query=prec&time=${T / 1000 + 2}`);
      assert.equal(at.body.data.result[0].value, [T / 1000 + 2, "3"]);
    } finally {
      await srv.stop();
    }
  });
}

test("the default tenant also reads series written without a tenant label (embedded library data)", async () => {
  const dir = mkdtempSync(join(tmpdir(), "tsink-fallback-"));
  try {
    const T = recentMs(60);
    const embedded = await storageBuilderFor(parseServerArgs(["--data-path", dir], {}) as ServerConfig).build();
    await embedded.insertRows([{ metric: "legacy", labels: [{ name: "from", value: "library" }], dataPoint: { timestamp: T, value: 7 } }]);
    await embedded.close();
    const srv = await startServer(["--data-path", dir]);
    try {
      const dflt = await getJson(`${srv.url}/api/v1/query?query=legacy&time=${T / 1000}`);
      assert.equal(dflt.body.data.result, [{ metric: { __name__: "legacy", from: "library" }, value: [T / 1000, "7"] }]);
      const other = await getJson(`${srv.url}/api/v1/series?match[]=legacy`, { headers: { "x-tsink-tenant": "other" } });
      assert.equal(other.body.data, []);
    } finally {
      await srv.stop();
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test.run();
