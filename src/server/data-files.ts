// The small JSON files the server keeps in its data path (metric metadata, InfluxDB buckets): read when present,
// replaced atomically (temp file, fsync, rename, fsync of the directory).
import { mkdir, readFile } from "node:fs/promises";
import { dirname } from "node:path";
import { writeFileAtomicAsync } from "../storage/segment/durable-fs.js";

/** The file's parsed JSON, or undefined when it does not exist; names the file when it is not JSON. */
export async function readJsonFile(path: string): Promise<unknown> {
  let text: string;
  try {
    text = await readFile(path, "utf8");
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === "ENOENT") return undefined;
    throw err;
  }
  try {
    return JSON.parse(text);
  } catch (err) {
    throw new Error(`${path}: not valid JSON (${(err as Error).message}); restore it from a snapshot or remove it`);
  }
}

/** Replaces the file with `data` as JSON (its directory created if needed). */
export async function writeJsonFile(path: string, data: unknown): Promise<void> {
  await mkdir(dirname(path), { recursive: true });
  await writeFileAtomicAsync(path, Buffer.from(JSON.stringify(data)));
}
