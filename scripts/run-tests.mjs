#!/usr/bin/env node
// Test driver: runs every test/**/*.test.ts in its own Node process (uvu + tsx), two at a time,
// and ends with the line "N passed, N failed" (after a line "N skipped") computed from uvu's per-file totals.
// A file that crashes, prints no summary, or runs no test at all counts as a failure.
import { spawn } from "node:child_process";
import { readdirSync, statSync } from "node:fs";
import { join, relative } from "node:path";
import { availableParallelism } from "node:os";
import { parseArgs } from "node:util";

const HELP = `Usage: npm test [-- [--verbose] [SUBSTRING]]   (node scripts/run-tests.mjs [--verbose] [SUBSTRING])
Runs every test/**/*.test.ts whose path contains SUBSTRING (all of them without one), each in its own Node process,
and ends with the lines "N skipped" and "N passed, N failed"; exits 1 when a test failed.
  --verbose                      print every file's output, not only that of failing files
  --help                         this text
Environment:
  TSINK_TEST_JOBS                test files run at once (default: 2, or 1 on a one-core machine)
  TSINK_TEST_FILE_TIMEOUT_MS     a file still running after this is killed and counts as failed (default 300000)`;

const root = new URL("..", import.meta.url).pathname;
let parsed;
try {
  parsed = parseArgs({ options: { verbose: { type: "boolean" }, help: { type: "boolean" } }, allowPositionals: true, strict: true });
} catch (err) {
  console.error(`run-tests: ${err.message} (see --help)`);
  process.exit(2);
}
if (parsed.values.help) {
  console.log(HELP);
  process.exit(0);
}
if (parsed.positionals.length > 1) {
  console.error(`run-tests: one SUBSTRING at most, got ${parsed.positionals.length}: ${parsed.positionals.join(" ")} (see --help)`);
  process.exit(2);
}
const filter = parsed.positionals[0];
const verbose = parsed.values.verbose === true;
const jobs = Number(process.env.TSINK_TEST_JOBS ?? Math.max(1, Math.min(2, availableParallelism())));
const fileTimeoutMs = Number(process.env.TSINK_TEST_FILE_TIMEOUT_MS ?? 300_000);

function findTests(dir) {
  const out = [];
  for (const name of readdirSync(dir).sort()) {
    const p = join(dir, name);
    if (statSync(p).isDirectory()) out.push(...findTests(p));
    else if (name.endsWith(".test.ts")) out.push(p);
  }
  return out;
}

let files = findTests(join(root, "test"));
if (filter) files = files.filter((f) => f.includes(filter));
if (files.length === 0) {
  console.error(`no test files found${filter ? ` matching "${filter}"` : ""}`);
  console.log("0 passed, 1 failed");
  process.exit(1);
}

const strip = (s) => s.replace(/\x1b\[[0-9;]*m/g, "");
const num = (text, label) => {
  const m = text.match(new RegExp(`^\\s*${label}:\\s+(\\d+)`, "m"));
  return m ? Number(m[1]) : undefined;
};

function runFile(file) {
  return new Promise((resolve) => {
    const started = Date.now();
    const child = spawn(process.execPath, ["--import", "tsx", file], {
      cwd: root,
      env: { ...process.env, NO_COLOR: "1", FORCE_COLOR: "0" },
      stdio: ["ignore", "pipe", "pipe"],
    });
    let output = "";
    child.stdout.on("data", (d) => (output += d));
    child.stderr.on("data", (d) => (output += d));
    const timer = setTimeout(() => {
      output += `\n[run-tests] timed out after ${fileTimeoutMs} ms, killed\n`;
      child.kill("SIGKILL");
    }, fileTimeoutMs);
    child.on("close", (code, signal) => {
      clearTimeout(timer);
      const text = strip(output);
      const total = num(text, "Total");
      const passed = num(text, "Passed");
      const skipped = num(text, "Skipped") ?? 0;
      const result = { file: relative(root, file), code, signal, text, ms: Date.now() - started };
      if (total === undefined || passed === undefined) {
        Object.assign(result, { passed: 0, failed: 1, skipped: 0, reason: "no uvu summary (crashed?)" });
      } else if (total === 0) {
        Object.assign(result, { passed: 0, failed: 1, skipped: 0, reason: "ran no test" });
      } else {
        const failed = total - passed; // uvu's Total counts the tests that ran; test.skip ones are only in Skipped
        const exitFailure = failed === 0 && code !== 0 ? 1 : 0;
        Object.assign(result, { passed, failed: failed + exitFailure, skipped, reason: exitFailure ? `exit code ${code ?? signal}` : "" });
      }
      resolve(result);
    });
  });
}

const results = [];
let next = 0;
async function worker() {
  while (next < files.length) {
    const file = files[next++];
    const r = await runFile(file);
    results.push(r);
    const status = r.failed > 0 ? "FAIL" : "ok  ";
    console.log(`${status} ${r.file}  ${r.passed} passed, ${r.failed} failed, ${r.skipped} skipped  (${(r.ms / 1000).toFixed(1)} s)${r.reason ? "  " + r.reason : ""}`);
    if (r.failed > 0 || verbose) console.log(r.text.replace(/^/gm, "    | "));
  }
}
await Promise.all(Array.from({ length: jobs }, worker));

const sum = (k) => results.reduce((a, r) => a + r[k], 0);
const failed = sum("failed");
// Skipped cases are neither passed nor failed: they get a line of their own, above the closing line.
console.log(`${sum("skipped")} skipped`);
console.log(`${sum("passed")} passed, ${failed} failed`);
process.exit(failed > 0 ? 1 : 0);
