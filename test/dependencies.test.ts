// Import hygiene of src/: every package it imports is declared in package.json (so a strict install still typechecks
// and runs), and imports between our folders point one way (docs/architecture.md: storage knows no PromQL, HTTP or wire
// format; protocols are pure; promql knows no HTTP; the WASM loader is a leaf).
import { test } from "uvu";
import * as assert from "uvu/assert";
import { readdirSync, readFileSync } from "node:fs";
import { builtinModules } from "node:module";
import { dirname, join, relative, resolve } from "node:path";

const root = new URL("..", import.meta.url).pathname;
const pkg = JSON.parse(readFileSync(join(root, "package.json"), "utf8")) as { dependencies: Record<string, string>; devDependencies: Record<string, string> };

function sources(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((e) => (e.isDirectory() ? sources(join(dir, e.name)) : e.name.endsWith(".ts") ? [join(dir, e.name)] : []));
}

/** The package a bare specifier names (`@scope/name/sub` -> `@scope/name`), or undefined for relative and node: ones. */
function packageOf(spec: string): string | undefined {
  if (spec.startsWith(".") || spec.startsWith("/") || spec.startsWith("node:") || builtinModules.includes(spec)) return undefined;
  const parts = spec.split("/");
  return spec.startsWith("@") ? parts.slice(0, 2).join("/") : parts[0];
}

test("every package imported by src/ is a declared dependency (type-only imports may use devDependencies)", () => {
  const undeclared: string[] = [];
  let seen = 0;
  for (const file of sources(join(root, "src"))) {
    const text = readFileSync(file, "utf8");
    for (const m of text.matchAll(/(?:^|\n)\s*(import|export)(\s+type)?\b[^;]*?\bfrom\s+"([^"]+)"|\bimport\s*\(\s*"([^"]+)"\s*\)|(?:^|\n)\s*import\s+"([^"]+)"/g)) {
      const spec = m[3] ?? m[4] ?? m[5]!;
      const name = packageOf(spec);
      if (!name) continue;
      seen++;
      const typeOnly = m[2] !== undefined;
      if (!(name in pkg.dependencies) && !(typeOnly && name in pkg.devDependencies)) undeclared.push(`${file.slice(root.length)}: ${spec}`);
    }
  }
  assert.ok(seen >= 20, `only ${seen} package imports found: the scan is broken`);
  assert.equal(undeclared, []);
});

/** Every module specifier in a TypeScript source: static imports and re-exports (type-only too), side-effect imports, import(). */
function specifiers(text: string): string[] {
  const out: string[] = [];
  for (const m of text.matchAll(/(?:^|\n)\s*(?:import|export)\b[^;]*?\bfrom\s+"([^"]+)"|\bimport\s*\(\s*"([^"]+)"\s*\)|(?:^|\n)\s*import\s+"([^"]+)"/g)) {
    out.push(m[1] ?? m[2] ?? m[3]!);
  }
  return out;
}

/** The src/-relative paths (`storage/engine.ts`) that a file's relative imports resolve to. */
function ourImports(file: string, text: string): string[] {
  return specifiers(text)
    .filter((s) => s.startsWith("."))
    .map((s) => relative(join(root, "src"), resolve(dirname(file), s)).replace(/\.js$/, ".ts"));
}

/** Which of our modules a module may not import: [importer prefix, forbidden prefix, exceptions]. */
const RULES: { from: string; not: string; except?: string[]; why: string }[] = [
  { from: "storage/", not: "promql/", why: "storage knows no PromQL" },
  { from: "storage/", not: "server/", why: "storage knows no HTTP" },
  { from: "storage/", not: "protocols/", why: "storage knows no wire format" },
  { from: "encoding/", not: "storage/", why: "the chunk codecs sit below the engine" },
  { from: "encoding/", not: "promql/", why: "the chunk codecs sit below the engine" },
  { from: "encoding/", not: "protocols/", why: "the chunk codecs sit below the engine" },
  { from: "encoding/", not: "server/", why: "the chunk codecs sit below the engine" },
  { from: "protocols/", not: "storage/", except: ["storage/types.ts"], why: "protocols are pure: bytes in, rows out (the public row types only)" },
  { from: "protocols/", not: "promql/", why: "protocols are pure" },
  { from: "protocols/", not: "server/", why: "protocols are pure" },
  { from: "promql/", not: "server/", why: "promql knows no HTTP" },
  { from: "promql/", not: "protocols/", why: "promql knows no wire format" },
  { from: "wasm/loader.ts", not: "", why: "the WASM loader is a leaf" },
  { from: "", not: "../", why: "src/ imports nothing from test/, bench/ or scripts/" },
];

/** The rule violations among (importer, imported) pairs of src/-relative paths. */
function violations(edges: [string, string][]): string[] {
  const out: string[] = [];
  for (const [from, to] of edges) {
    for (const rule of RULES) {
      if (from.startsWith(rule.from) && to.startsWith(rule.not) && !rule.except?.includes(to)) out.push(`${from} imports ${to}: ${rule.why}`);
    }
  }
  return out;
}

test("imports between src/ folders point one way", () => {
  const edges: [string, string][] = [];
  for (const file of sources(join(root, "src"))) {
    const from = relative(join(root, "src"), file);
    for (const to of ourImports(file, readFileSync(file, "utf8"))) edges.push([from, to]);
  }
  // the scan sees the imports it is meant to police, so an empty violation list is not a broken regex
  const has = (from: string, to: string) => edges.some(([f, t]) => f.startsWith(from) && t.startsWith(to));
  assert.ok(edges.length >= 300, `only ${edges.length} imports between our modules found: the scan is broken`);
  for (const [from, to] of [["server/", "storage/"], ["server/", "promql/"], ["server/", "protocols/"], ["storage/", "encoding/"], ["protocols/", "storage/types.ts"], ["promql/", "wasm/loader.ts"]]) {
    assert.ok(has(from!, to!), `no import from ${from} to ${to} found: the scan is broken`);
  }
  assert.equal(violations(edges), []);
});

test("the dependency rules catch an import in the wrong direction", () => {
  const file = join(root, "src/storage/engine.ts");
  const edges = ourImports(file, 'import { x } from "../promql/engine.js";\nexport type { Y } from "../server/app.js";\nconst z = await import("../protocols/remote.js");\nimport "./registry.js";').map(
    (to) => ["storage/engine.ts", to] as [string, string],
  );
  assert.equal(violations(edges).length, 3);
  assert.equal(violations([["wasm/loader.ts", "encoding/chunk.ts"], ["protocols/remote.ts", "storage/types.ts"], ["protocols/remote.ts", "storage/registry.ts"]]).length, 2);
  assert.equal(violations([["server/app.ts", "../test/server/helpers.ts"]]).length, 1);
});

test.run();
