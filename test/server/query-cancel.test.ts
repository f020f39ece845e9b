// A query whose client goes away stops evaluating (the evaluation yields to the event loop between series
// batches and AST nodes, where the closed connection aborts it), and a query timeout stops a running evaluation
// between batches. Real server (in this process), real storage, data spanning several read batches.
// Work is measured in CPU time of this process, not wall time, against the same query run to its end, so neither a
// loaded machine nor a slow moment in one of the runs decides the outcome; nothing waits on a fixed sleep. A query
// whose cancellation is broken runs to its end and fails the CPU bound.
import { test } from "uvu";
import * as assert from "uvu/assert";
import { type RunningServer, recentMs, remoteWrite, startServer } from "./helpers.js";

let srv: RunningServer;
const SERIES = 2000;
const POINTS = 240; // 480k points: two read batches of the range kernels
const T0 = recentMs(3600 + 60);
const sec = (ms: number) => ms / 1000;
/** One pass over every series at 3,601 steps (its window makes each pass a distinct node). */
const pass = (i: number) => `sum(rate(load[${300 + i}s]))`;
const PASSES = 6; // the most that stays under the engine's 50 M samples per query
/** PASSES distinct passes, evaluated one node after another: seconds of CPU, most of it after the first evaluation slice. */
const SLOW = Array.from({ length: PASSES }, (_, i) => pass(i)).join(" + ");
/** A stopped query may have used at most this share of the CPU time of the whole query. */
const STOPPED_SHARE = 0.5;
const rangeUrl = (query: string, extra = "") =>
  `${srv.url}/api/v1/query_range?query=${encodeURIComponent(query)}&start=${sec(T0)}&end=${sec(T0 + 3600_000)}&step=1${extra}`;

test.before(async () => {
  srv = await startServer();
  for (let from = 0; from < SERIES; from += 250) {
    const series = Array.from({ length: 250 }, (_, k) => ({
      labels: { __name__: "load", host: `h${from + k}` },
      samples: Array.from({ length: POINTS }, (_, i) => [T0 + i * 15_000, (from + k) * 1000 + i] as [number, number]),
    }));
    assert.is((await remoteWrite(srv.url, series)).status, 200);
  }
});

test.after(() => srv.stop());

/** CPU time (user + system, all threads) this process (server and client) has used, in ms. */
function cpuMs(): number {
  const u = process.cpuUsage();
  return (u.user + u.system) / 1000;
}

/** CPU ms of the whole slow query run to its end (after a one-pass query has warmed up the code path). */
let fullCpu: number | undefined;
async function fullCpuMs(): Promise<number> {
  if (fullCpu !== undefined) return fullCpu;
  assert.is((await fetch(rangeUrl(pass(0)))).status, 200);
  const c0 = cpuMs();
  const res = await fetch(rangeUrl(SLOW));
  assert.is(res.status, 200);
  assert.is(((await res.json()) as { data: { result: unknown[] } }).data.result.length, 1);
  fullCpu = cpuMs() - c0;
  return fullCpu;
}

/** The value of one sample line of /metrics (0 when absent). */
async function metric(line: string): Promise<number> {
  const text = await (await fetch(`${srv.url}/metrics`)).text();
  const hit = text.split("\n").find((l) => l.startsWith(`${line} `));
  return hit ? Number(hit.slice(line.length + 1)) : 0;
}

const CANCELED = 'tsink_query_requests_total{endpoint="query_range",code="499"}';
const INFLIGHT = "tsink_query_inflight_requests";
const tick = () => new Promise((r) => setTimeout(r, 1));

test("a client that disconnects cancels its query: the evaluation stops long before it would have finished", async () => {
  const fullMs = await fullCpuMs();
  const canceledBefore = await metric(CANCELED);
  // The read gate's in-flight count (what /metrics exports as INFLIGHT), read in process: an HTTP scrape would
  // need several event-loop turns, each behind an evaluation slice. The server counts the query once it holds its
  // admission slot; by then its close listener is set, and it stays counted until the evaluation ends.
  const gate = srv.server.runtime.readGate;
  const c0 = cpuMs();
  const client = new AbortController();
  const request = fetch(rangeUrl(SLOW), { signal: client.signal }).catch((err: Error) => err);
  while (gate.inflightRequests === 0) await tick();
  client.abort();
  assert.instance(await request, Error);
  while (gate.inflightRequests !== 0) await tick();
  const usedMs = cpuMs() - c0;
  assert.is(await metric(CANCELED), canceledBefore + 1, "the query ended as canceled (499)");
  assert.is(await metric(INFLIGHT), 0);
  assert.ok(
    usedMs < fullMs * STOPPED_SHARE,
    `the canceled query used ${usedMs.toFixed(0)} ms of CPU; the whole query takes ${fullMs.toFixed(0)} ms`,
  );
});

test("the query timeout stops a running evaluation (503 timeout) instead of answering at its end", async () => {
  const fullMs = await fullCpuMs();
  // The timeout counts wall time, never less than the CPU time of the single evaluation thread: a twentieth of the
  // whole query's CPU time runs out at most that far into the query (sooner on a loaded machine), long before its end.
  const timeoutMs = Math.max(1, Math.round(fullMs / 20));
  const c0 = cpuMs();
  const res = await fetch(rangeUrl(SLOW, `&timeout=${timeoutMs}ms`));
  const usedMs = cpuMs() - c0;
  assert.is(res.status, 503);
  assert.is(((await res.json()) as { errorType: string }).errorType, "timeout");
  assert.ok(
    usedMs < fullMs * STOPPED_SHARE,
    `the timed-out query used ${usedMs.toFixed(0)} ms of CPU (timeout ${timeoutMs} ms); the whole query takes ${fullMs.toFixed(0)} ms`,
  );
});

test.run();
