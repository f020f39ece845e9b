// JS heap allocated per HTTP request by tsink-server, by code area (query engine, storage, the server's own code,
// Node's internals, npm packages), under V8's sampling heap profiler through the inspector (objects later collected by
// minor and major GCs included, 256-byte interval), on a fresh server with `npm start`'s runtime settings; requests
// come from this process, one after another over one keep-alive connection. Two modes:
// - without --data: an empty server; `--requests` unsampled GETs of `--path`, then as many sampled (warm code);
// - with --data DIR --end MS (a data dir kept by bench/server-settle.mjs, copied): peerbench's 19 queries in its
//   order, each 1 + 5 times as peerbench sends them, sampled per query (a fresh server's first runs: the regime of
//   peerbench's query phase), starting 2 s after the server is ready.
// Usage: node --experimental-websocket bench/server-request-alloc.mjs [--path P --requests 500 | --data DIR --end MS]
//        [--top 25 --port 19252 --server dist/server/main.js]   (the inspector listens on --port + 1)
import { cpSync, mkdtempSync, rmSync } from "node:fs";
import { Agent, request } from "node:http";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { loadPeerbench, serverBenchArgs, startServer, stopServer } from "./server-harness.mjs";

const opts = serverBenchArgs({
  about: "JS heap bytes allocated per HTTP request by a fresh tsink-server, split by code area, with the top allocation sites.",
  defaults: { series: 10000, points: 240, port: 19252 },
  flags: {
    path: { type: "string", default: "/api/v1/query?query=vector(1)&time=1700000000", help: "request path (GET), without --data" },
    requests: { type: "string", default: 500, help: "sampled requests (after as many unsampled ones), without --data" },
    data: { type: "string", help: "a data dir kept by bench/server-settle.mjs: peerbench's 19 queries over a copy of it" },
    end: { type: "string", help: "with --data: the end (ms) of its workload, as server-settle printed it" },
    top: { type: "string", default: 25, help: "allocation sites listed (per query with --data: a third of it)" },
  },
});
if (typeof WebSocket === "undefined") {
  console.error("server-request-alloc.mjs: run with node --experimental-websocket (Node 20) for the inspector connection");
  process.exit(2);
}
const pb = await loadPeerbench(opts.peerbench);
const top = Number(opts.top);
const base = `http://127.0.0.1:${opts.port}`;
const dataDir = mkdtempSync(join(tmpdir(), "tsink-request-alloc-"));
if (opts.data) cpSync(opts.data, dataDir, { recursive: true });
const child = await startServer(pb, { server: opts.server, port: opts.port, dataDir, nodeArgs: [`--inspect=127.0.0.1:${opts.port + 1}`] });
try {
  const [target] = await (await fetch(`http://127.0.0.1:${opts.port + 1}/json/list`)).json();
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
  const get = (path) =>
    new Promise((ok, fail) => {
      request(`${base}${path}`, { agent }, (res) => {
        if (res.statusCode !== 200) fail(new Error(`${path}: HTTP ${res.statusCode}`));
        res.resume().on("end", ok);
      }).on("error", fail).end();
    });
  /** Runs `body` under the sampling profiler: bytes by site and by area. */
  const sampled = async (body) => {
    await post("HeapProfiler.startSampling", { samplingInterval: 256, includeObjectsCollectedByMajorGC: true, includeObjectsCollectedByMinorGC: true });
    await body();
    const { profile } = await post("HeapProfiler.stopSampling");
    return tally(profile);
  };

  if (!opts.data) {
    const n = Number(opts.requests);
    for (let k = 0; k < n; k++) await get(opts.path);
    const { total, sites, areas } = await sampled(async () => {
      for (let k = 0; k < n; k++) await get(opts.path);
    });
    const kib = (b) => `${(b / n / 1024).toFixed(2)} KiB`;
    console.log(`GET ${opts.path}: ${kib(total)} of JS heap allocated per request (${n} requests sampled); by area:`);
    for (const [k, v] of areas) console.log(`  ${kib(v).padStart(11)}  ${k}`);
    console.log("top sites:");
    for (const [k, v] of sites.slice(0, top)) console.log(`  ${kib(v).padStart(11)}  ${k}`);
  } else {
    if (!opts.end) throw new Error("--data needs --end MS (see --help)");
    await new Promise((ok) => setTimeout(ok, 2000)); // the server's own work after opening (a flush of the WAL tail, background ticks) first
    const wl = pb.makeWorkload({ S: 1, P: opts.points, endMs: Number(opts.end) }); // only the time window matters here
    const win = pb.queryWindow({ ...wl, S: opts.series });
    const all = new Map();
    let sum = 0;
    console.log("query   KiB per run (mean of 1 + 5 runs on a fresh server): engine+storage / server / Node / npm; top sites");
    for (const q of pb.queryList({ ...wl, S: opts.series, series: [] })) {
      const p = new URLSearchParams({ query: q.q });
      if (q.type === "range") for (const k of ["start", "end", "step"]) p.set(k, String(win[k]));
      else p.set("time", String(win.time));
      const path = `/api/v1/${q.type === "range" ? "query_range" : "query"}?${p}`;
      const { total, sites, areas } = await sampled(async () => {
        for (let k = 0; k < 6; k++) await get(path);
      });
      const a = Object.fromEntries(areas);
      const kib = (b) => ((b ?? 0) / 6 / 1024).toFixed(0);
      sum += total / 6;
      for (const [k, v] of sites) all.set(k, (all.get(k) ?? 0) + v / 6);
      const areaText = `${kib((a["query engine (dist/promql)"] ?? 0) + (a["storage (dist/storage)"] ?? 0))} / ${kib(a["server code (dist/server)"])} / ${kib(a["Node internals"])} / ${kib(a["npm packages"])}`;
      console.log(`${q.id}  ${kib(total).padStart(6)}  (${areaText})  ${sites.slice(0, Math.max(1, Math.round(top / 8))).map(([k, v]) => `${kib(v)} ${k}`).join("; ")}`);
    }
    console.log(`per run of the 19 queries (1 + 5 runs each): ${(sum / 1024).toFixed(0)} KiB of JS heap; top sites over all:`);
    for (const [k, v] of [...all].sort((x, y) => y[1] - x[1]).slice(0, top)) console.log(`  ${(v / 1024).toFixed(0).padStart(6)} KiB  ${k}`);
  }
  ws.close();
  agent.destroy();
} finally {
  await stopServer(child);
  rmSync(dataDir, { recursive: true, force: true });
}

/** A sampling profile's bytes: total, by site (the allocating function and file; a builtin with its caller) and by area, largest first. */
function tally(profile) {
  const area = (url) =>
    url.includes("/dist/promql/") ? "query engine (dist/promql)" : url.includes("/dist/storage/") || url.includes("/dist/encoding/") ? "storage (dist/storage)"
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
  const sorted = (m) => [...m].sort((a, b) => b[1] - a[1]);
  return { total, sites: sorted(sites), areas: sorted(areas) };
}
