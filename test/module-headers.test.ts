// Every module of src/, assembly/, bench/ and scripts/ starts with a comment saying what it owns (after a shebang,
// if any): the project's rule, checked here so a new file without one fails the suite.
import { test } from "uvu";
import * as assert from "uvu/assert";
import { readdirSync, readFileSync } from "node:fs";
import { join, relative } from "node:path";

const root = new URL("..", import.meta.url).pathname;
const CODE = /\.(ts|mts|mjs|js|sh)$/;

function files(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((e) => (e.isDirectory() ? files(join(dir, e.name)) : CODE.test(e.name) ? [join(dir, e.name)] : []));
}

/** The module's opening comment (without the markers), or "" when the first line of code comes first. */
function headerOf(text: string): string {
  const lines = text.split("\n");
  if (lines[0]?.startsWith("#!")) lines.shift();
  const out: string[] = [];
  for (const line of lines) {
    const m = /^\s*(?:\/\/|#|\/\*\*?|\*)\s?(.*)$/.exec(line);
    if (!m || line.trim() === "") break;
    out.push(m[1]!.replace(/\*\/\s*$/, ""));
  }
  return out.join(" ").trim();
}

test("every module starts with a comment saying what it owns", () => {
  const all = ["src", "assembly", "bench", "scripts"].flatMap((d) => files(join(root, d)));
  assert.ok(all.length >= 120, `only ${all.length} modules found: the scan is broken`);
  const missing = all.filter((f) => headerOf(readFileSync(f, "utf8")).length < 40).map((f) => relative(root, f));
  assert.equal(missing, []);
});

test("a file opening with code has no header; a shebang or blank line does not hide one", () => {
  assert.is(headerOf('import { x } from "./x.js";\n// later comment'), "");
  assert.is(headerOf("#!/usr/bin/env node\n// Test driver: runs every test file.\nimport x from 'y';"), "Test driver: runs every test file.");
  assert.is(headerOf("\n// a comment after a blank first line"), "");
});

test.run();
