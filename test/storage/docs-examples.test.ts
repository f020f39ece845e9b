// Runs every ```ts example of docs/embedded.md against the library source and checks what it prints.
import { readFileSync, rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { inspect } from "node:util";
import { test } from "uvu";
import * as assert from "uvu/assert";

const root = new URL("../..", import.meta.url).pathname;
const doc = readFileSync(join(root, "docs/embedded.md"), "utf8");
const examples = [...doc.matchAll(/```ts\n([\s\S]*?)```/g)].map((m) => m[1]!);

async function run(code: string): Promise<string[]> {
  const file = join(root, "test/storage", `.docs-example-${process.pid}-${Math.random().toString(36).slice(2)}.ts`);
  writeFileSync(file, code.replaceAll('from "tsink"', `from ${JSON.stringify(join(root, "src/index.js"))}`));
  const logs: string[] = [];
  const original = console.log;
  console.log = (...args: unknown[]) => void logs.push(args.map((a) => (typeof a === "string" ? a : inspect(a))).join(" "));
  try {
    await import(file);
  } finally {
    console.log = original;
    rmSync(file, { force: true });
  }
  return logs;
}

test("the doc has its examples", () => {
  assert.is(examples.length, 6);
});

test("quick start prints the two points", async () => {
  const logs = await run(examples[0]!);
  assert.is(logs.length, 1);
  assert.match(logs[0]!, /value: 41[\s\S]*value: 42/);
});

test("value types example returns the u64 maximum with a bigint timestamp", async () => {
  const logs = await run(examples[1]!);
  assert.match(logs[0]!, /timestamp: \d+n, value: 18446744073709551615n/);
});

test("insertColumns example writes three rounds of two series", async () => {
  assert.equal(await run(examples[2]!), ["[ 10, 11, 12 ]"]);
});

test("reading example: aggregation, downsampling, pagination, scans, custom aggregation", async () => {
  assert.equal(await run(examples[3]!), ["22", "4", "5", "120", "6"]);
});

test("matchers example", async () => {
  const logs = await run(examples[4]!);
  assert.is(logs[0], "1 [ 'http_requests_total' ]");
  assert.match(logs[1]!, /^Float64Array\(1\) \[ \d+ \] Float64Array\(1\) \[ 10 \]$/);
});

test("errors example", async () => {
  assert.equal(await run(examples[5]!), ["InvalidTimeRange { start: 10, end: 10 }"]);
});

test.run();
