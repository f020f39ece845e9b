// The server process at the edges of its environment: a closed stdout (EPIPE on every log line) must neither crash
// nor hang it, and SIGTERM still closes storage cleanly; a --data-path that cannot be created fails fast with a message.
import { test } from "uvu";
import * as assert from "uvu/assert";
import { type ChildProcess, spawnSync } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { getJson, recentMs, remoteWrite, SERVER_MAIN, spawnServer } from "./helpers.js";

function exitWithin(child: ChildProcess, ms: number): Promise<number | null> {
  if (child.exitCode !== null) return Promise.resolve(child.exitCode);
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      child.kill("SIGKILL");
      reject(new Error(`server still running ${ms} ms after SIGTERM`));
    }, ms);
    child.on("exit", (code) => {
      clearTimeout(timer);
      resolve(code);
    });
  });
}

test("stdout closed (`| head -1`): SIGTERM still exits 0 promptly, and data written before is readable after restart", async () => {
  const dir = mkdtempSync(join(tmpdir(), "tsink-epipe-"));
  let first: Awaited<ReturnType<typeof spawnServer>> | undefined;
  try {
    first = await spawnServer(["--data-path", dir]);
    const T = recentMs(30);
    const url = `http://127.0.0.1:${first.port}`;
    const res = await remoteWrite(url, [{ labels: { __name__: "epipe_test", k: "v" }, samples: [[T, 7]] }]);
    assert.is(res.status, 200);
    first.child.stdout!.destroy(); // the reader goes away: every later log line gets EPIPE
    // a request after the pipe closed still gets an answer (a log line per request must not break the server)
    const mid = await getJson(`${url}/api/v1/query?query=epipe_test&time=${T / 1000}`);
    assert.is(mid.status, 200);
    first.child.kill("SIGTERM");
    assert.is(await exitWithin(first.child, 5000), 0);

    const second = await spawnServer(["--data-path", dir]);
    try {
      const r = await getJson(`http://127.0.0.1:${second.port}/api/v1/query?query=epipe_test&time=${T / 1000}`);
      assert.equal(r.body.data.result, [{ metric: { __name__: "epipe_test", k: "v" }, value: [T / 1000, "7"] }]);
    } finally {
      second.child.kill("SIGTERM");
      await exitWithin(second.child, 5000);
    }
  } finally {
    if (first?.child.exitCode === null) first.child.kill("SIGKILL");
    rmSync(dir, { recursive: true, force: true });
  }
});

test("stdout closed and nothing logged since: SIGTERM exits 0 promptly (the shutdown line is the first to meet EPIPE)", async () => {
  const dir = mkdtempSync(join(tmpdir(), "tsink-epipe-"));
  let server: Awaited<ReturnType<typeof spawnServer>> | undefined;
  try {
    server = await spawnServer(["--data-path", dir]);
    server.child.stdout!.destroy();
    await new Promise((r) => setTimeout(r, 200));
    server.child.kill("SIGTERM");
    assert.is(await exitWithin(server.child, 5000), 0);
  } finally {
    if (server?.child.exitCode === null) server.child.kill("SIGKILL");
    rmSync(dir, { recursive: true, force: true });
  }
});

test("--data-path where mkdir cannot succeed (under /proc): exits 1 at once with a message saying what to do", () => {
  for (const path of ["/proc/tsink-data", "/proc/self/tsink/data"]) {
    const started = Date.now();
    const r = spawnSync(process.execPath, ["--import", "tsx", SERVER_MAIN, "--listen", "127.0.0.1:0", "--data-path", path], { encoding: "utf8", timeout: 20_000, killSignal: "SIGKILL" });
    assert.is(r.signal, null, `server still running after ${Date.now() - started} ms (killed)`);
    assert.is(r.status, 1);
    const fatal = r.stdout.trim().split("\n").map((l) => JSON.parse(l) as { msg: string; err?: { message: string } }).find((l) => l.msg === "startup failed");
    assert.ok(fatal, r.stdout + r.stderr);
    assert.match(fatal!.err!.message, `cannot create the data directory ${path}`);
    assert.match(fatal!.err!.message, /choose a data path on a writable file system, or create the directory first/);
  }
});

test.run();
