// Test helper for the durability tests: fresh temporary directories, all removed when the file's tests end.
import { test } from "uvu";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";

/** Returns a function making a new directory `<tmpdir>/<prefix>XXXXXX` per call; all are removed after the tests. */
export function tempDirs(prefix: string): () => string {
  const dirs: string[] = [];
  test.after(() => dirs.forEach((d) => rmSync(d, { recursive: true, force: true })));
  return () => {
    const d = mkdtempSync(join(tmpdir(), prefix));
    dirs.push(d);
    return d;
  };
}
