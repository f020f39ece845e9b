// Crash-safe file primitives shared by the WAL, segments and compaction: atomic replace
// (temp name, fsync, rename, fsync directory) and directory fsync. The async forms keep background work
// (flush, compaction) off the event loop while the disk is slow; and creating the data directory itself.
import { closeSync, fsyncSync, mkdirSync, openSync, readdirSync, renameSync, statSync, writeSync } from "node:fs";
import { open, rename } from "node:fs/promises";
import { basename, dirname, join, resolve } from "node:path";
import { invalidConfiguration } from "../wal/durability-errors.js";

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

/** writeFileDurable without blocking the event loop; `data` may come in parts (written with one writev). */
export async function writeFileDurableAsync(path: string, data: Uint8Array | readonly Uint8Array[]): Promise<void> {
  const handle = await open(path, "w");
  try {
    if (data instanceof Uint8Array) await handle.writeFile(data);
    else await handle.writev(data as Uint8Array[]);
    await handle.sync();
  } finally {
    await handle.close();
  }
}

/**
 * writeFileAtomic without blocking the event loop: `data` into `tmp` (by default a hidden name beside `path`), fsync,
 * rename over `path`, fsync of the directory.
 */
export async function writeFileAtomicAsync(
  path: string,
  data: Uint8Array | readonly Uint8Array[],
  tmp = join(dirname(path), `.${basename(path)}.tmp-${process.pid}`),
): Promise<void> {
  await writeFileDurableAsync(tmp, data);
  await rename(tmp, path);
  await fsyncPath(dirname(path));
}

/**
 * Creates `path` and its missing parents one level at a time. Node's `mkdirSync(p, { recursive: true })` loops
 * forever where mkdir fails with ENOENT under an existing parent (e.g. anywhere under /proc), so a bad data path
 * would hang the process; here each level is tried once and a failure is an InvalidConfiguration error.
 */
export function makeDirectories(path: string): void {
  const missing: string[] = [];
  let dir = resolve(path);
  for (;;) {
    const kind = statSync(dir, { throwIfNoEntry: false });
    if (kind?.isDirectory()) break;
    if (kind) throw unusableDirectory(path, dir, "ENOTDIR");
    missing.push(dir);
    const parent = dirname(dir);
    if (parent === dir) break; // the root itself is missing: mkdir reports why below
    dir = parent;
  }
  for (let i = missing.length - 1; i >= 0; i--) {
    try {
      mkdirSync(missing[i]!);
    } catch (err) {
      const code = (err as NodeJS.ErrnoException).code ?? "unknown error";
      if (code !== "EEXIST" || !statSync(missing[i]!, { throwIfNoEntry: false })?.isDirectory()) throw unusableDirectory(path, missing[i]!, code);
    }
  }
}

function unusableDirectory(path: string, at: string, code: string) {
  const where = at === resolve(path) ? "" : ` (at ${at})`;
  return invalidConfiguration(
    `cannot create the data directory ${path}${where}: ${code}; choose a data path on a writable file system, or create the directory first`,
    { path, at, code },
  );
}
