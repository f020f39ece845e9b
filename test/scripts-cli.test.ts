// The command line of every user-facing script (npm test's driver, the soak, every bench): --help exits 0 and lists
// its flags, an unknown flag exits 2 naming it, before any work starts (no server, no workload, no peerbench).
import { test } from "uvu";
import * as assert from "uvu/assert";
import { spawnSync } from "node:child_process";
import { readdirSync } from "node:fs";
import { join } from "node:path";

const root = new URL("..", import.meta.url).pathname;
/** bench/ modules that are libraries or a preload, not scripts. */
const NOT_SCRIPTS = new Set(["cli.mjs", "peerbench.mjs", "server-harness.mjs", "memory-trace.mjs", "load-workload.ts", "gc-trace.mjs", "faster-peer.mjs"]);

function command(file: string): string[] {
  if (file.endsWith(".sh")) return ["bash", file];
  if (file.endsWith(".ts")) return [process.execPath, "--import", "tsx", file];
  return [process.execPath, file];
}

const scripts = [
  "scripts/run-tests.mjs",
  "test/durability/crash-soak.ts",
  ...readdirSync(join(root, "bench"))
    .filter((f) => /\.(ts|mjs|sh)$/.test(f) && !f.endsWith(".d.mts") && !NOT_SCRIPTS.has(f))
    .map((f) => `bench/${f}`),
];

function run(file: string, args: string[]) {
  const [cmd, ...rest] = command(file);
  return spawnSync(cmd!, [...rest, ...args], { cwd: root, encoding: "utf8", timeout: 60_000 });
}

test("the list of scripts is complete", () => {
  assert.ok(scripts.length >= 15, `only ${scripts.length} scripts: ${scripts.join(" ")}`);
  for (const s of ["bench/promql.ts", "bench/server-queries.mjs", "bench/peers.sh"]) assert.ok(scripts.includes(s), s);
});

for (const file of scripts) {
  test(`${file}: --help lists its flags and exits 0; an unknown flag exits 2 naming it`, () => {
    const help = run(file, ["--help"]);
    assert.is(help.status, 0, `${file} --help: ${help.stderr}`);
    assert.match(help.stdout, /^Usage: /m);
    assert.match(help.stdout, /--help/);
    if (file.endsWith(".sh")) return; // peers.sh hands every other flag to peerbench, which checks it
    const bad = run(file, ["--no-such-flag"]);
    assert.is(bad.status, 2, `${file} --no-such-flag exited ${bad.status}: ${bad.stdout}${bad.stderr}`);
    assert.match(bad.stderr, /--no-such-flag/);
    assert.match(bad.stderr, /see --help/);
  });
}

test.run();
