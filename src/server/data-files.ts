// The small JSON files the server keeps in its data path (metric metadata, InfluxDB buckets, exemplars, rules): read
// when present, replaced atomically (temp file, fsync, rename, fsync of the directory).
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

/**
 * A versioned store file (`{magic, schema_version, ...}`): its object, or undefined when it does not exist. A file that
 * is not that store, or of another schema version, throws a message naming the file, what is wrong and `remedy`.
 */
export async function readVersionedJsonFile(
  path: string,
  magic: string,
  schemaVersion: number,
  remedy: string,
): Promise<Record<string, unknown> | undefined> {
  const data = await readJsonFile(path);
  if (data === undefined) return undefined;
  const file = (typeof data === "object" && data !== null ? data : {}) as Record<string, unknown>;
  if (file.magic !== magic) {
    throw new Error(`${path}: not a ${magic} file (magic ${JSON.stringify(file.magic ?? null)}, expected ${JSON.stringify(magic)}); ${remedy}`);
  }
  if (file.schema_version !== schemaVersion) {
    throw new Error(
      `${path}: schema_version ${JSON.stringify(file.schema_version ?? null)} is not supported by this build (it reads version ${schemaVersion}); ${remedy}`,
    );
  }
  return file;
}
