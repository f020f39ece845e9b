// Crash-safe file primitives shared by the WAL, segments and compaction: atomic replace
// (temp name, fsync, rename, fsync directory) and directory fsync. The async forms keep background work
// (flush, compaction) off the event loop while the disk is slow.
import { closeSync, fsyncSync, openSync, readdirSync, renameSync, writeSync } from "node:fs";
import { open, rename } from "node:fs/promises";
import { basename, dirname, join } from "node:path";

export function fsyncDir(dir: string): void {
  fsyncFile(dir);
}

/** Fsyncs an existing file. */
function fsyncFile(path: string): void {
  const fd = openSync(path, "r");
  try {
    fsyncSync(fd);
  } finally {
    closeSync(fd);
  }
}

/** Fsyncs every file and directory under `dir` (after copying a tree). */
export function fsyncTree(dir: string): void {
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    const path = join(dir, entry.name);
    if (entry.isDirectory()) fsyncTree(path);
    else fsyncFile(path);
  }
  fsyncDir(dir);
}

/** Writes `data` to `path` and fsyncs it (no rename). */
export function writeFileDurable(path: string, data: Uint8Array): void {
  const fd = openSync(path, "w");
  try {
    let off = 0;
    while (off < data.length) off += writeSync(fd, data, off, data.length - off);
    fsyncSync(fd);
  } finally {
    closeSync(fd);
  }
}

/** Replaces `path` atomically: a crash leaves either the old or the new content, never a mix. */
export function writeFileAtomic(path: string, data: Uint8Array): void {
  const tmp = join(dirname(path), `.${basename(path)}.tmp-${process.pid}`);
  writeFileDurable(tmp, data);
  renameSync(tmp, path);
  fsyncDir(dirname(path));
}

/** Fsyncs a file or directory without blocking the event loop. */
export async function fsyncPath(path: string): Promise<void> {
  const handle = await open(path, "r");
  try {
    await handle.sync();
  } finally {
    await handle.close();
  }
}

/** writeFileDurable without blocking the event loop. */
export async function writeFileDurableAsync(path: string, data: Uint8Array): Promise<void> {
  const handle = await open(path, "w");
  try {
    await handle.writeFile(data);
    await handle.sync();
  } finally {
    await handle.close();
  }
}

/** writeFileAtomic without blocking the event loop. */
export async function writeFileAtomicAsync(path: string, data: Uint8Array): Promise<void> {
  const tmp = join(dirname(path), `.${basename(path)}.tmp-${process.pid}`);
  await writeFileDurableAsync(tmp, data);
  await rename(tmp, path);
  await fsyncPath(dirname(path));
}
