// Crash test: a child writes with PerAppend and reports each acknowledged batch; it is SIGKILLed at random
// moments (20+ times); after each kill the data dir is reopened and every acknowledged batch must be there.
import { test } from "uvu";
import * as assert from "uvu/assert";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { runAndKill, verify } from "./crash-harness.js";

const KILLS = 20;
const PERIODIC_KILLS = 4;

test(`every acknowledged batch survives ${KILLS} SIGKILLs`, async () => {
  const dir = mkdtempSync(join(tmpdir(), "tsink-crash-"));
  try {
    const acked = new Set<number>();
    let present = 0;
    let midWrite = 0;
    for (let run = 0; run < KILLS; run++) {
      // Each kill waits for 1-10 acknowledgements of its own run (then a random delay): however slow a loaded machine
      // makes the writer, every kill lands while it writes and at least 110 batches are acknowledged in all.
      const report = await runAndKill(dir, run, 300, acked, "PerAppend", 1 + (run % 10));
      if (report.acked > 0) midWrite++;
      present = await verify(dir, acked);
    }
    console.log(`${KILLS} kills (${midWrite} while writing), ${acked.size} acknowledged batches, ${present} batches present after the last reopen`);
    assert.ok(present >= acked.size);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test(`Periodic: acknowledged (written to the OS) batches survive ${PERIODIC_KILLS} SIGKILLs`, async () => {
  const dir = mkdtempSync(join(tmpdir(), "tsink-crash-periodic-"));
  try {
    const acked = new Set<number>();
    for (let run = 0; run < PERIODIC_KILLS; run++) {
      await runAndKill(dir, run, 300, acked, "Periodic", 6); // at least 6 acknowledged batches per kill
      assert.ok((await verify(dir, acked)) >= acked.size);
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test.run();
