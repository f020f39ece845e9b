// JS heap allocated per HTTP request by tsink-server, by code area (the query engine, the server's own code, Node's
// HTTP internals, npm packages): a fresh server (empty data dir, `npm start`'s runtime settings) under V8's sampling
// heap profiler (through the inspector; objects later collected by minor and major GCs included, 256-byte interval)
// while this process sends `--requests` identical GET requests one after another over one keep-alive connection,
// after as many unsampled ones (so the sampled ones run optimised code).
// Usage: node --experimental-websocket bench/server-request-alloc.mjs [--path /api/v1/query?query=vector(1)] [--requests 500] [--top 25]
import { spawn } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import { Agent, request } from "node:http";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { benchArgs } from "./cli.mjs";
import { root } from "./server-harness.mjs";

const { values: opts } = benchArgs({
  about: "JS heap bytes allocated per HTTP request by a fresh tsink-server, split by code area, with the top allocation sites.",
  flags: {
    port: { type: "string", default: 19252, help: "port of the server (the inspector listens on the next one)" },
    server: { type: "string", default: "dist/server/main.js", help: "the server build to run (another build for before/after)" },
    path: { type: "string", default: "/api/v1/query?query=vector(1)&time=1700000000", help: "request path (GET)" },
    requests: { type: "string", default: 500, help: "sampled requests (after as many unsampled ones)" },
    top: { type: "string", default: 25, help: "allocation sites listed" },
  },
});
if (typeof WebSocket === "undefined") {
  console.error("server-request-alloc.mjs: run with node --experimental-websocket (Node 20) for the inspector connection");
  process.exit(2);
}
const n = Number(opts.requests);
const port = Number(opts.port);
const inspectPort = port + 1;
const server = resolve(root, opts.server);
const dataDir = mkdtempSync(join(tmpdir(), "tsink-request-alloc-"));
const child = spawn(
  process.execPath,
  ["--max-semi-space-size=4", `--inspect=127.0.0.1:${inspectPort}`, server, "--listen", `127.0.0.1:${port}`, "--data-path", dataDir],
  { env: { ...process.env, MALLOC_ARENA_MAX: "2", MALLOC_MMAP_THRESHOLD_: "262144" }, stdio: ["ignore", "ignore", "ignore"] },
);
try {
  const base = `http://127.0.0.1:${port}`;
  for (let t = 0; !(await fetch(`${base}/ready`).then((r) => r.ok, () => false)); t++) {
    if (t > 300) throw new Error("server not ready after 30 s");
    await new Promise((ok) => setTimeout(ok, 100));
  }
  const [target] = await (await fetch(`http://127.0.0.1:${inspectPort}/json/list`)).json();
  const ws = new WebSocket(target.webSocketDebuggerUrl);
  await new Promise((ok, fail) => ((ws.onopen = ok), (ws.onerror = fail)));
  let nextId = 1;
  const pending = new Map();
  ws.onmessage = (m) => {
    const msg = JSON.parse(m.data);
    if (msg.id !== undefined) pending.get(msg.id)?.(msg);
  };
  const post = (method, params = {}) =>
    new Promise((ok, fail) => {
      const id = nextId++;
      pending.set(id, (msg) => (msg.error ? fail(new Error(msg.error.message)) : ok(msg.result)));
      ws.send(JSON.stringify({ id, method, params }));
    });
  const agent = new Agent({ keepAlive: true, maxSockets: 1 });
  const get = () =>
    new Promise((ok, fail) => {
      request(`${base}${opts.path}`, { agent }, (res) => {
        if (res.statusCode !== 200) fail(new Error(`${opts.path}: HTTP ${res.statusCode}`));
        res.resume().on("end", ok);
      }).on("error", fail).end();
    });
  for (let k = 0; k < n; k++) await get();
  await post("HeapProfiler.startSampling", { samplingInterval: 256, includeObjectsCollectedByMajorGC: true, includeObjectsCollectedByMinorGC: true });
  for (let k = 0; k < n; k++) await get();
  const { profile } = await post("HeapProfiler.stopSampling");
  ws.close();
  agent.destroy();

  // a site is the allocating function and file (a builtin is named with its caller); an area is the file's place
  const area = (url) =>
    url.includes("/dist/promql/") ? "query engine (dist/promql)" : url.includes("/dist/storage/") ? "storage (dist/storage)"
      : url.includes("/dist/server/") ? "server code (dist/server)" : url.includes("node_modules/") ? "npm packages"
        : url.startsWith("node:") ? "Node internals" : "other";
  const sites = new Map();
  const areas = new Map();
  let total = 0;
  const walk = (node, caller) => {
    const f = node.callFrame;
    const own = `${f.functionName || "(anonymous)"} ${f.url.replace(/^.*\/(dist|node_modules)\//, "$1/")}`.trim();
    const at = f.url ? { site: own, url: f.url } : caller ? { site: `${own} <- ${caller.site}`, url: caller.url } : { site: own, url: "" };
    if (node.selfSize > 0) {
      sites.set(at.site, (sites.get(at.site) ?? 0) + node.selfSize);
      areas.set(area(at.url), (areas.get(area(at.url)) ?? 0) + node.selfSize);
      total += node.selfSize;
    }
    for (const c of node.children) walk(c, f.url ? at : caller);
  };
  walk(profile.head, undefined);
  const kib = (b) => `${(b / n / 1024).toFixed(2)} KiB`;
  console.log(`GET ${opts.path}: ${kib(total)} of JS heap allocated per request (${n} requests sampled); by area:`);
  for (const [k, v] of [...areas].sort((a, b) => b[1] - a[1])) console.log(`  ${kib(v).padStart(11)}  ${k}`);
  console.log("top sites:");
  for (const [k, v] of [...sites].sort((a, b) => b[1] - a[1]).slice(0, Number(opts.top))) console.log(`  ${kib(v).padStart(11)}  ${k}`);
} finally {
  child.kill("SIGTERM");
  await new Promise((ok) => child.once("exit", ok));
  rmSync(dataDir, { recursive: true, force: true });
}
