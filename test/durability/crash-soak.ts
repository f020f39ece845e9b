// `npm run soak:crash [kills]`: the crash test with hundreds of kills (default 300); prints progress.
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { runAndKill, verify } from "./crash-harness.js";

const kills = Number(process.argv[2] ?? 300);
const dir = mkdtempSync(join(tmpdir(), "tsink-soak-"));
const acked = new Set<number>();
const started = Date.now();
try {
  for (let run = 0; run < kills; run++) {
    await runAndKill(dir, run, 1500, acked);
    const present = await verify(dir, acked);
    if ((run + 1) % 10 === 0 || run + 1 === kills) {
      console.log(`kill ${run + 1}/${kills}: ${acked.size} acknowledged batches, ${present} present, ${((Date.now() - started) / 1000).toFixed(0)} s`);
    }
  }
  console.log(`OK: ${kills} kills, every acknowledged batch present exactly once`);
} catch (err) {
  console.error(`FAILED: ${(err as Error).message} (data dir kept at ${dir})`);
  process.exitCode = 1;
}
if (process.exitCode !== 1) rmSync(dir, { recursive: true, force: true });
