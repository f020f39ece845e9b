// Crash-safe file primitives shared by the WAL, segments and compaction: atomic replace
// (temp name, fsync, rename, fsync directory) and directory fsync.
import { closeSync, fsyncSync, openSync, readdirSync, renameSync, rmSync, writeSync } from "node:fs";
import { basename, dirname, join } from "node:path";

export function fsyncDir(dir: string): void {
  fsyncFile(dir);
}

/** Fsyncs an existing file. */
export function fsyncFile(path: string): void {
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

/** Removes a file or directory tree and makes the removal durable. */
export function removeDurable(path: string): void {
  rmSync(path, { recursive: true, force: true });
  fsyncDir(dirname(path));
}
