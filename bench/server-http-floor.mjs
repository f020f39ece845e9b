// The fixed per-request cost of tsink-server's routes over HTTP: sequential GETs with peerbench's own client
// (lib/util.mjs `request`, keep-alive agent) against `/ready`, `vector(1)` and, given a settled data dir, the small
// queries of peerbench (q14, q16, q17 by default), per target: wall p10/p50/p90 as the client sees it, the server's
// CPU per request (main thread, and all threads) and the response size. With --b-server, A and B alternate round by
// round on the same data (a fresh server per round), so load drifts hit both alike.
// Usage: node bench/server-http-floor.mjs [--data DIR --end MS] [--requests 550 --warm 50 --rounds 3 --only q14,q16,q17|all
//        --port 19221 --server dist/server/main.js --b-server /tmp/main-dist/server/main.js]
//   The targets run in the order listed, each --warm untimed then --requests timed GETs on the round's fresh server:
//   `--warm 0 --requests 150` is peerbench's regime (a server that has answered ~100-200 requests, mostly running
//   unoptimised code); --warm 1000 measures the optimised floor. --data DIR --end MS as bench/server-settle.mjs printed.
//   --url http://127.0.0.1:PORT: measure a server that is already running (no A/B, no CPU figures), e.g. another
//     Prometheus-compatible server on your own port.
import { cpSync, mkdtempSync, rmSync } from "node:fs";
import { loadavg, tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { loadPeerbench, serverBenchArgs, serverCpuNs, startServer, stopServer } from "./server-harness.mjs";

const opts = serverBenchArgs({
  about: "Fixed per-request cost over HTTP (peerbench's client): p10/p50/p90 wall and server CPU per request of /ready, vector(1) and small queries.",
  defaults: { series: 10000, points: 240, port: 19221 },
  flags: {
    data: { type: "string", help: "a data dir kept by bench/server-settle.mjs --keep (without it: /ready and vector(1) on an in-memory server)" },
    end: { type: "string", help: "the end (ms) of that data dir's workload, as server-settle printed it" },
    only: { type: "string", default: "q14,q16,q17", help: "peerbench queries measured besides /ready and vector(1) (with --data or --url; \"all\": the 19)" },
    requests: { type: "string", default: 550, help: "timed sequential requests per target and round" },
    warm: { type: "string", default: 50, help: "untimed requests per target before the timed ones" },
    rounds: { type: "string", default: 3, help: "fresh servers per variant (A/B alternated)" },
    "b-server": { type: "string", help: "variant B's server build (e.g. a copy of main's dist/server/main.js)" },
    url: { type: "string", help: "measure this running server instead of starting one (loopback only)" },
    probe: { type: "string", default: "/ready", help: "the probe path measured as the floor of a bare route (VictoriaMetrics: /health)" },
  },
});
const pb = await loadPeerbench(opts.peerbench);
const { makeWorkload, queryList, queryWindow, request } = pb;

const requests = Number(opts.requests);
const warm = Number(opts.warm);
const rounds = opts.url ? 1 : Number(opts.rounds);
const base = opts.url ?? `http://127.0.0.1:${opts.port}`;
if (opts.data && !opts.end) throw new Error("--data needs --end (the workload end that bench/server-settle.mjs printed)");

/** The measured targets: path and query string, as peerbench sends them. */
function targets() {
  const endMs = opts.end ? Number(opts.end) : Math.floor(Date.now() / 1000) * 1000;
  const wl = makeWorkload({ S: 1, P: opts.points, endMs });
  const win = queryWindow({ ...wl, S: opts.series });
  const list = [
    { id: opts.probe, path: opts.probe },
    { id: "vector(1)", path: `/api/v1/query?${new URLSearchParams({ query: "vector(1)", time: String(win.time) })}` },
  ];
  if (!opts.data && !opts.url) return list;
  const only = new Set(opts.only.split(",").filter(Boolean));
  for (const q of queryList({ ...wl, S: opts.series, series: [] })) {
    if (opts.only !== "all" && !only.has(q.id)) continue;
    const p = new URLSearchParams({ query: q.q });
    if (q.type === "range") for (const k of ["start", "end", "step"]) p.set(k, String(win[k]));
    else p.set("time", String(win.time));
    list.push({ id: q.id, path: `/api/v1/${q.type === "range" ? "query_range" : "query"}?${p}` });
  }
  return list;
}

/** `requests` sequential GETs of one target: every wall time, server CPU per request, bytes and headers of the last. */
async function measure(pid, target) {
  const url = `${base}${target.path}`;
  for (let i = 0; i < warm; i++) await request(url);
  const walls = [];
  const c0 = pid ? serverCpuNs(pid) : undefined;
  let last;
  for (let i = 0; i < requests; i++) {
    last = await request(url);
    if (last.status !== 200) throw new Error(`${target.id}: HTTP ${last.status} ${last.body.toString().slice(0, 200)}`);
    walls.push(last.ms);
  }
  const c1 = pid ? serverCpuNs(pid) : undefined;
  return {
    walls,
    cpuMain: c0 ? (c1.main - c0.main) / 1e6 / requests : undefined,
    cpuAll: c0 ? (c1.all - c0.all) / 1e6 / requests : undefined,
    bytes: last.body.length,
  };
}

const variants = opts.url
  ? [{ name: "url", server: opts.url }]
  : [{ name: "A", server: opts.server }, ...(opts["b-server"] ? [{ name: "B", server: resolve(opts["b-server"]) }] : [])];
const list = targets();
/** variant -> target id -> accumulated figures over rounds. */
const results = variants.map(() => new Map(list.map((t) => [t.id, { walls: [], cpuMain: [], cpuAll: [], bytes: 0 }])));
const loads = variants.map(() => []);
for (let round = 0; round < rounds; round++) {
  for (const [vi, v] of variants.entries()) {
    let child;
    let dataDir;
    if (!opts.url) {
      if (opts.data) {
        dataDir = mkdtempSync(join(tmpdir(), "tsink-http-floor-"));
        cpSync(opts.data, dataDir, { recursive: true });
      }
      child = await startServer(pb, { server: v.server, port: opts.port, dataDir });
    }
    try {
      loads[vi].push(loadavg()[0]);
      for (const t of list) {
        const m = await measure(child?.pid, t);
        const r = results[vi].get(t.id);
        r.walls.push(...m.walls);
        if (m.cpuMain !== undefined) r.cpuMain.push(m.cpuMain);
        if (m.cpuAll !== undefined) r.cpuAll.push(m.cpuAll);
        r.bytes = m.bytes;
      }
    } finally {
      if (child) await stopServer(child);
      if (dataDir) rmSync(dataDir, { recursive: true, force: true });
    }
  }
}

const pct = (xs, p) => {
  const s = xs.slice().sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.floor(s.length * p))];
};
const med = (xs) => (xs.length ? pct(xs, 0.5) : undefined);
const f2 = (x, w) => (x === undefined ? "-" : x.toFixed(3)).padStart(w);
console.log(`${requests} timed sequential GETs per target and round (after ${warm} untimed), ${rounds} round(s) per variant, peerbench's client`);
for (const [vi, v] of variants.entries()) {
  console.log(`\n${v.name}: ${v.server}${opts.data && !opts.url ? ` on a copy of ${opts.data}` : ""}`);
  console.log(`load average (1 min) at each round: ${loads[vi].map((l) => l.toFixed(1)).join(" ")}`);
  console.log("target        bytes   wall p10   wall p50   wall p90   CPU main/req   CPU all/req   (ms; CPU: median of rounds)");
  for (const [id, r] of results[vi]) {
    console.log(
      `${id.padEnd(10)} ${String(r.bytes).padStart(8)} ${f2(pct(r.walls, 0.1), 10)} ${f2(pct(r.walls, 0.5), 10)} ${f2(pct(r.walls, 0.9), 10)} ${f2(med(r.cpuMain), 14)} ${f2(med(r.cpuAll), 13)}`,
    );
  }
}
