// docs/architecture.md stays true to the tree: every file it names exists, and every folder of src/ and assembly/
// has a row or a mention, so a rename or a new layer shows up here instead of leaving the map stale.
import { test } from "uvu";
import * as assert from "uvu/assert";
import { readdirSync, readFileSync } from "node:fs";
import { basename, join, relative } from "node:path";

const root = new URL("..", import.meta.url).pathname;
const doc = readFileSync(join(root, "docs/architecture.md"), "utf8");

function walk(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((e) => (e.isDirectory() ? [join(dir, e.name), ...walk(join(dir, e.name))] : [join(dir, e.name)]));
}
const tree = ["src", "assembly", "bench", "scripts", "test"].flatMap((d) => walk(join(root, d))).map((p) => relative(root, p));

test("every source file docs/architecture.md names exists", () => {
  const named = [...doc.matchAll(/`([\w./-]+\.(?:ts|mjs))`/g)].map((m) => m[1]!);
  assert.ok(named.length >= 60, `only ${named.length} file names found in the doc: the scan is broken`);
  // a name is a path below a folder of the tree (`routes/ingest.ts`) or a bare file name (`engine.ts`)
  const missing = named.filter((n) => !tree.some((p) => p === n || p.endsWith(`/${n}`) || basename(p) === n));
  assert.equal(missing, []);
});

test("every folder of src/ and assembly/ is in docs/architecture.md", () => {
  const folders = tree.filter((p) => /^(src|assembly)\//.test(p) && !/\.\w+$/.test(p));
  assert.ok(folders.length >= 10, `only ${folders.length} folders found`);
  const unnamed = folders.filter((f) => !doc.includes(`${f}/`) && !doc.includes(`${basename(f)}/`));
  assert.equal(unnamed, []);
});

test.run();
