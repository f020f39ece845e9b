// Runs every expression of promql-compliance-tester's query list (../shared/promqltest/compliance-queries.txt) as a
// range and an instant query over synthetic demo-service data: each must evaluate or fail with a user-facing
// PromqlError (bad_data / execution), never an internal error or a crash.
import { test } from "uvu";
import * as assert from "uvu/assert";
import { existsSync, readFileSync } from "node:fs";
import { resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { PromqlEngine, PromqlError, StorageBuilder, type Row } from "../../src/index.js";

const repoRoot = resolve(fileURLToPath(new URL("../..", import.meta.url)));
const dir = process.env.TSINK_PROMQLTEST_DIR ?? resolve(repoRoot, "..", "shared", "promqltest");
const file = resolve(dir, "compliance-queries.txt");

function demoRows(): Row[] {
  const rows: Row[] = [];
  const add = (metric: string, labels: Record<string, string>, value: (i: number) => number | undefined) => {
    const ls = Object.entries(labels).map(([name, v]) => ({ name, value: v }));
    for (let i = 0; i <= 240; i++) {
      const v = value(i);
      if (v !== undefined) rows.push({ metric, labels: ls, dataPoint: { timestamp: i * 15_000, value: v } });
    }
  };
  for (const instance of ["demo.promlabs.com:10000", "demo.promlabs.com:10001", "demo.promlabs.com:10002"]) {
    const base = { instance, job: "demo" };
    for (const type of ["free", "buffers", "cached", "used"]) add("demo_memory_usage_bytes", { ...base, type }, (i) => 1e9 + 1e6 * ((i * 7) % 13));
    add("demo_num_cpus", base, () => 4);
    for (const mode of ["user", "system", "idle"]) add("demo_cpu_usage_seconds_total", { ...base, mode }, (i) => i * 3.5);
    for (const device of ["sda", "sdb"]) add("demo_disk_usage_bytes", { ...base, device }, (i) => 5e9 + i * 1e6);
    add("demo_batch_last_success_timestamp_seconds", base, (i) => 1000 + Math.floor(i / 20) * 300);
    add("demo_intermittent_metric", base, (i) => (i % 40 < 20 ? i : undefined));
    for (const path of ["/api/foo", "/api/bar"]) {
      for (const [le, f] of [["0.1", 0.3], ["0.5", 0.7], ["1", 0.9], ["+Inf", 1]] as const) {
        add("demo_api_request_duration_seconds_bucket", { ...base, path, method: "GET", status: "200", le }, (i) => Math.floor(i * 10 * f));
      }
      add("demo_api_request_duration_seconds_count", { ...base, path, method: "GET", status: "200" }, (i) => i * 10);
      add("demo_api_request_duration_seconds_sum", { ...base, path, method: "GET", status: "200" }, (i) => i * 2.5);
    }
  }
  return rows;
}

if (!existsSync(file)) {
  test("compliance query list exists", () => {
    throw new Error(`compliance-queries.txt not found in ${dir} (set TSINK_PROMQLTEST_DIR)`);
  });
} else {
  const queries = readFileSync(file, "utf8")
    .split("\n")
    .map((l) => l.trim())
    .filter((l) => l !== "" && !l.startsWith("#"));

  test(`all ${queries.length} compliance queries evaluate or fail with a user-facing error`, async () => {
    const storage = await new StorageBuilder().withTimestampPrecision("ms").build();
    await storage.insertRows(demoRows());
    const engine = new PromqlEngine(storage);
    let evaluated = 0;
    const problems: string[] = [];
    for (const q of queries) {
      for (const run of [() => engine.rangeQuery(q, 1_800_000, 3_600_000, 60_000), () => engine.instantQuery(q, 3_600_000)]) {
        try {
          await run();
          evaluated++;
        } catch (error) {
          if (!(error instanceof PromqlError) || error.errorType === "internal") problems.push(`${q}: ${(error as Error).message}`);
        }
      }
    }
    await storage.close();
    assert.equal(problems, []);
    // Most of the list is valid PromQL over these metrics.
    assert.ok(evaluated > queries.length, `only ${evaluated} evaluations succeeded`);
  });
}

test.run();
