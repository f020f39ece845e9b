// `npm run soak:crash [kills]`: the crash test with hundreds of kills (default 300); prints progress. The data
// dir is started afresh every DIR_KILLS kills so that each reopen stays cheap.
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { parseArgs } from "node:util";
import { runAndKill, verify } from "./crash-harness.js";

let args: ReturnType<typeof parseArgs>;
try {
  args = parseArgs({ options: { help: { type: "boolean" } }, allowPositionals: true, strict: true });
} catch (err) {
  console.error(`crash-soak: ${(err as Error).message} (see --help)`);
  process.exit(2);
}
if (args.values.help) {
  console.log("Usage: npm run soak:crash [-- KILLS]   (node --import tsx test/durability/crash-soak.ts [KILLS])\n" +
    "SIGKILLs a writer KILLS times (default 300) and checks after each kill that every acknowledged batch is present\n" +
    "exactly once; exits 1 at the first loss or duplicate, keeping the data dir.\n  --help  this text");
  process.exit(0);
}
const kills = Number(args.positionals[0] ?? 300);
if (!Number.isInteger(kills) || kills < 1 || args.positionals.length > 1) {
  console.error(`crash-soak: KILLS must be one whole number >= 1, got ${args.positionals.join(" ")} (see --help)`);
  process.exit(2);
}
const DIR_KILLS = 10;
let dir = mkdtempSync(join(tmpdir(), "tsink-soak-"));
let acked = new Set<number>();
let total = 0;
const started = Date.now();
try {
  for (let run = 0; run < kills; run++) {
    if (run > 0 && run % DIR_KILLS === 0) {
      total += acked.size;
      rmSync(dir, { recursive: true, force: true });
      dir = mkdtempSync(join(tmpdir(), "tsink-soak-"));
      acked = new Set();
    }
    await runAndKill(dir, run, 1000, acked);
    const present = await verify(dir, acked);
    if ((run + 1) % 10 === 0 || run + 1 === kills) {
      console.log(`kill ${run + 1}/${kills}: ${acked.size} acknowledged batches in this dir, ${present} present, ${((Date.now() - started) / 1000).toFixed(0)} s`);
    }
  }
  console.log(`OK: ${kills} kills, ${total + acked.size} acknowledged batches, every one present exactly once`);
} catch (err) {
  console.error(`FAILED: ${(err as Error).message} (data dir kept at ${dir})`);
  process.exitCode = 1;
}
if (process.exitCode !== 1) rmSync(dir, { recursive: true, force: true });
