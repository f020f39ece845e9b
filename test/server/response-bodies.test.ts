// Query bodies are written into one reused buffer and lent from a pool (server/prometheus-json.ts): no body may
// carry another query's bytes, whether kept, given back or answered concurrently over HTTP.
import { test } from "uvu";
import * as assert from "uvu/assert";
import type { QueryResult } from "../../src/promql/result.js";
import { querySuccessBody, recycleBody } from "../../src/server/prometheus-json.js";
import { type RunningServer, recentMs, remoteWrite, startServer } from "./helpers.js";

/** A matrix of `series` series x `points` points whose labels and values carry `tag`, so bodies tell apart. */
function matrix(tag: number, series: number, points: number): QueryResult {
  const result = Array.from({ length: series }, (_, i) => ({
    labels: [{ name: "__name__", value: `m${tag}` }, { name: "i", value: String(i) }],
    timestamps: Float64Array.from({ length: points }, (_, k) => 1_700_000_000_000 + k * 15_000),
    values: Float64Array.from({ length: points }, (_, k) => tag * 1000 + i + k / 4),
  }));
  return { resultType: "matrix", result, warnings: [], infos: [] };
}

const text = (r: QueryResult) => {
  const body = querySuccessBody(r);
  const s = body.toString("utf8");
  recycleBody(body);
  return s;
};

test("a kept body keeps its bytes while later bodies are written and given back; a body given back twice is lent once", () => {
  const a = matrix(1, 40, 60);
  const b = matrix(2, 40, 60);
  const expectA = text(a);
  const expectB = text(b);
  assert.ok(Buffer.byteLength(expectA) >= 16 * 1024, "large enough to come from the pool");
  assert.is.not(expectA, expectB);
  const kept = querySuccessBody(a);
  for (let k = 0; k < 3; k++) assert.is(text(b), expectB);
  assert.is(kept.toString("utf8"), expectA, "not overwritten by the bodies written after it");
  recycleBody(kept);
  recycleBody(kept); // (ignored: the pool must not hold its buffer twice)
  const x = querySuccessBody(b);
  const y = querySuccessBody(a);
  assert.ok(x.buffer !== y.buffer, "two bodies out at once never share a buffer");
  assert.is(x.toString("utf8"), expectB);
  assert.is(y.toString("utf8"), expectA);
  // a body much smaller than the previous one, from a reused buffer: exactly its own bytes
  assert.is(text(matrix(3, 1, 2)), JSON.stringify(JSON.parse(text(matrix(3, 1, 2)))));
  recycleBody(Buffer.from("not from the pool")); // (ignored)
});

let srv: RunningServer;
const T0 = recentMs(600);

test.before(async () => {
  srv = await startServer();
  const series = [];
  for (let g = 0; g < 8; g++) {
    for (let i = 0; i < 30; i++) {
      const samples: [number, number][] = Array.from({ length: 40 }, (_, k) => [T0 + k * 15_000, g * 10_000 + i * 100 + k]);
      series.push({ labels: { __name__: "pooled_body", g: String(g), i: String(i) }, samples });
    }
  }
  assert.is((await remoteWrite(srv.url, series)).status, 200);
});

test.after(() => srv.stop());

test("concurrent query answers over HTTP: each body is its own query's, byte for byte", async () => {
  const url = (g: number) =>
    `${srv.url}/api/v1/query_range?query=${encodeURIComponent(`pooled_body{g="${g}"} * 1`)}&start=${T0 / 1000}&end=${(T0 + 39 * 15_000) / 1000}&step=15`;
  const alone: string[] = [];
  for (let g = 0; g < 8; g++) alone.push(await (await fetch(url(g))).text());
  assert.ok(alone[0]!.length >= 16 * 1024, "large enough to come from the pool");
  for (let round = 0; round < 3; round++) {
    const order = Array.from({ length: 24 }, (_, k) => (k * 5 + round) % 8);
    const bodies = await Promise.all(order.map(async (g) => (await fetch(url(g))).text()));
    bodies.forEach((b, k) => assert.is(b, alone[order[k]!], `round ${round}, query of g=${order[k]}`));
  }
});

test.run();
