// Rules evaluation cost over HTTP: a fresh in-memory tsink-server gets --series series (text import), then three
// rules over all of them (a recording rule writing one row per series, a recording rule summing them by job, an
// alert rule with one instance per series); each of --runs runs (POST rules/run, each at a new aligned second) is
// timed: wall ms, the server main thread's CPU ms (/proc/<pid>/task/<pid>/schedstat) and each rule's lastDurationMs,
// while /healthz is polled every 5 ms to show how long the event loop was held (the longest /healthz answer).
// Prints medians over the runs, and the load average.
// Usage: node bench/server-rules.mjs [--series 10000 --runs 7 --port 19251 --server dist/server/main.js]
import { spawn } from "node:child_process";
import { readFileSync } from "node:fs";
import { loadavg } from "node:os";
import { join, resolve } from "node:path";
import { benchArgs } from "./cli.mjs";
import { SERVER_ENV, SERVER_NODE_ARGS } from "./server-harness.mjs";

const root = resolve(import.meta.dirname, "..");
const opts = benchArgs({
  about: "Rules evaluation over HTTP: wall and server CPU time of a rules run over --series series, and the longest /healthz answer during it.",
  flags: {
    series: { type: "string", default: 10000, help: "series the rules read (also the rows and alert instances per run; at most 10000, the per-rule limits)" },
    runs: { type: "string", default: 7, help: "timed rules runs (each at a new aligned second)" },
    port: { type: "string", default: 19251, help: "port of the tsink-server the script starts" },
    server: { type: "string", default: "dist/server/main.js", help: "the server build to run" },
  },
}).values;
const series = Number(opts.series);
const runs = Number(opts.runs);
const base = `http://127.0.0.1:${opts.port}`;
const AUTH = { Authorization: "Bearer bench" };
const median = (xs) => xs.slice().sort((a, b) => a - b)[xs.length >> 1];
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

const child = spawn(process.execPath, [...SERVER_NODE_ARGS, resolve(root, opts.server), "--listen", `127.0.0.1:${opts.port}`, "--admin-auth-token", "bench", "--admin-api-enabled"], {
  stdio: "ignore",
  env: { ...process.env, ...SERVER_ENV, TSINK_RULES_SCHEDULER_TICK_MS: "3600000", TSINK_LOG_LEVEL: "warn" },
});
const mainCpuMs = () => Number(readFileSync(join("/proc", String(child.pid), "task", String(child.pid), "schedstat"), "utf8").split(" ")[0]) / 1e6;

async function post(path, body) {
  const res = await fetch(`${base}${path}`, { method: "POST", headers: { ...AUTH, "Content-Type": "application/json" }, body });
  const text = await res.text();
  if (res.status !== 200) throw new Error(`${path}: HTTP ${res.status} ${text.slice(0, 300)}`);
  return text ? JSON.parse(text) : undefined;
}

try {
  for (let i = 0; ; i++) {
    if (await fetch(`${base}/ready`).then((r) => r.status === 200, () => false)) break;
    if (i > 300) throw new Error(`${base} not ready after 30 s`);
    await sleep(100);
  }
  const t = Date.now() - 60_000;
  const lines = Array.from({ length: series }, (_, i) => `bench_src{job="j${i % 10}",instance="i${i}"} ${i + 1} ${t}`).join("\n");
  const imported = await fetch(`${base}/api/v1/import/prometheus`, { method: "POST", body: lines });
  if (imported.status !== 200) throw new Error(`import: HTTP ${imported.status}`);
  await post("/api/v1/admin/rules/apply", JSON.stringify({
    groups: [{
      name: "bench", interval: "1s",
      rules: [
        { kind: "recording", record: "bench:doubled", expr: "bench_src * 2" },
        { kind: "recording", record: "bench:sum_by_job", expr: "sum by (job) (bench_src)" },
        { kind: "alert", alert: "BenchHigh", expr: "bench_src > 0", for: "1m" },
      ],
    }],
  }));
  const figures = { wall: [], cpu: [], healthz: [], rules: new Map() };
  for (let r = -1; r < runs; r++) {
    // a new aligned second, so every rule is due
    const second = Math.floor(Date.now() / 1000);
    while (Math.floor(Date.now() / 1000) === second) await sleep(5);
    let running = true;
    let longest = 0;
    const poller = (async () => {
      while (running) {
        const t0 = performance.now();
        await fetch(`${base}/healthz`).then((res) => res.text());
        longest = Math.max(longest, performance.now() - t0);
        await sleep(5);
      }
    })();
    const cpu0 = mainCpuMs();
    const t0 = performance.now();
    const status = await post("/api/v1/admin/rules/run", "");
    const wall = performance.now() - t0;
    const cpu = mainCpuMs() - cpu0;
    running = false;
    await poller;
    const rules = status.data.groups[0].rules;
    for (const rule of rules) if (rule.lastError) throw new Error(`${rule.id}: ${rule.lastError}`);
    if (r < 0) continue; // warm-up
    figures.wall.push(wall);
    figures.cpu.push(cpu);
    figures.healthz.push(longest);
    for (const rule of rules) {
      if (!figures.rules.has(rule.id)) figures.rules.set(rule.id, []);
      figures.rules.get(rule.id).push(rule.lastDurationMs);
    }
  }
  console.log(`${series} series, 3 rules (${series} recorded rows + 10 summed rows + ${series} alert instances per run); ${runs} runs after 1 warm-up; load average (1 min) ${loadavg()[0].toFixed(1)}`);
  console.log(`rules run: wall ${median(figures.wall).toFixed(1)} ms, server main-thread CPU ${median(figures.cpu).toFixed(1)} ms, longest /healthz answer during the run ${median(figures.healthz).toFixed(1)} ms (medians)`);
  for (const [id, ms] of figures.rules) console.log(`  ${id.padEnd(40)} lastDurationMs median ${median(ms).toFixed(1)}`);
} finally {
  const exited = new Promise((r) => child.once("exit", r));
  child.kill("SIGTERM");
  await exited;
}
