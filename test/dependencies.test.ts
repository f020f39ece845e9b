// Package hygiene: every package that src/ imports is declared in package.json, so a strict install (pnpm, or npm
// after a dependency stops pulling it in transitively) still typechecks and runs.
import { test } from "uvu";
import * as assert from "uvu/assert";
import { readdirSync, readFileSync } from "node:fs";
import { builtinModules } from "node:module";
import { join } from "node:path";

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

test.run();
