// A query whose client goes away stops evaluating (the evaluation yields to the event loop between series
// batches and AST nodes, where the closed connection aborts it), and a query timeout stops a running evaluation
// between batches. Real server, real storage, data spanning several read batches.
import { test } from "uvu";
import * as assert from "uvu/assert";
import { type RunningServer, recentMs, remoteWrite, startServer } from "./helpers.js";

let srv: RunningServer;
const SERIES = 2000;
const POINTS = 240; // 480k points: two read batches of the range kernels
const T0 = recentMs(3600 + 60);
const sec = (ms: number) => ms / 1000;
// Four passes over every series at 3,601 steps: seconds of evaluation, one node after another.
const SLOW = "sum(rate(load[5m])) + sum(rate(load[5m])) + sum(rate(load[5m])) + sum(rate(load[5m]))";
const slowUrl = (extra = "") =>
  `${srv.url}/api/v1/query_range?query=${encodeURIComponent(SLOW)}&start=${sec(T0)}&end=${sec(T0 + 3600_000)}&step=1${extra}`;

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

/** The value of one sample line of /metrics (0 when absent). */
async function metric(line: string): Promise<number> {
  const text = await (await fetch(`${srv.url}/metrics`)).text();
  const hit = text.split("\n").find((l) => l.startsWith(`${line} `));
  return hit ? Number(hit.slice(line.length + 1)) : 0;
}

const CANCELED = 'tsink_query_requests_total{endpoint="query_range",code="499"}';
const INFLIGHT = "tsink_query_inflight_requests";

test("a client that disconnects cancels its query: the evaluation stops long before it would have finished", async () => {
  const t0 = performance.now();
  const full = await fetch(slowUrl());
  assert.is(full.status, 200);
  const body = (await full.json()) as { data: { result: unknown[] } };
  assert.is(body.data.result.length, 1);
  const fullMs = performance.now() - t0;

  const canceledBefore = await metric(CANCELED);
  const client = new AbortController();
  const request = fetch(slowUrl(), { signal: client.signal }).catch((err: Error) => err);
  await new Promise((r) => setTimeout(r, fullMs / 5));
  assert.is(await metric(INFLIGHT), 1, "the query is running when the client leaves");
  const abortedAt = performance.now();
  client.abort();
  assert.instance(await request, Error);
  while ((await metric(CANCELED)) === canceledBefore) {
    assert.ok(performance.now() - abortedAt < fullMs, "the query ran on after its client left");
    await new Promise((r) => setTimeout(r, 5));
  }
  const stoppedMs = performance.now() - abortedAt;
  assert.ok(stoppedMs < fullMs / 2, `stopped ${stoppedMs.toFixed(0)} ms after the disconnect; the whole query takes ${fullMs.toFixed(0)} ms`);
  assert.is(await metric(INFLIGHT), 0);
});

test("the query timeout stops a running evaluation (503 timeout) instead of answering at its end", async () => {
  const full0 = performance.now();
  assert.is((await fetch(slowUrl())).status, 200);
  const fullMs = performance.now() - full0;
  const t0 = performance.now();
  const res = await fetch(slowUrl(`&timeout=${Math.round(fullMs / 5)}ms`));
  const ms = performance.now() - t0;
  assert.is(res.status, 503);
  assert.is(((await res.json()) as { errorType: string }).errorType, "timeout");
  assert.ok(ms < fullMs * 0.6, `answered after ${ms.toFixed(0)} ms; the whole query takes ${fullMs.toFixed(0)} ms`);
});

test.run();
