// The persisted rules configuration: `server/rules-store.json` in the data path (magic and schema version, replaced
// atomically by data-files.ts), copied into admin snapshots; nothing is persisted without a data path.
import { join } from "node:path";
import { readJsonFile, writeJsonFile } from "../data-files.js";
import { type GroupSpec, groupsToJson, parseGroups } from "./validation.js";

/** Where the rules store lives, relative to a data path or a snapshot directory (beside the other server stores). */
export const RULES_FILE = join("server", "rules-store.json");
const MAGIC = "tsink-rules-store";
const SCHEMA_VERSION = 1;

export class RulesStore {
  constructor(private readonly filePath: string | undefined) {}

  /** The persisted groups ([] when there is no file); throws a message naming the file when it cannot be used. */
  async load(): Promise<GroupSpec[]> {
    if (!this.filePath) return [];
    const data = await readJsonFile(this.filePath);
    if (data === undefined) return [];
    const file = data as { magic?: unknown; schema_version?: unknown; groups?: unknown };
    const refuse = (why: string) => new Error(`${this.filePath}: ${why}; restore it from a snapshot or remove it (removing it drops every rule)`);
    if (file === null || typeof file !== "object" || file.magic !== MAGIC) {
      throw refuse(`not a tsink rules store (magic ${JSON.stringify((file as { magic?: unknown } | null)?.magic ?? null)}, expected ${JSON.stringify(MAGIC)})`);
    }
    if (file.schema_version !== SCHEMA_VERSION) {
      throw refuse(`schema version ${JSON.stringify(file.schema_version ?? null)} is not supported by this build (it reads version ${SCHEMA_VERSION})`);
    }
    try {
      return parseGroups({ groups: file.groups }, "default");
    } catch (err) {
      throw refuse(`invalid rules: ${(err as Error).message}`);
    }
  }

  /** Replaces the file with these groups; resolves once it is on disk (at once without a data path). */
  async save(groups: readonly GroupSpec[]): Promise<void> {
    if (this.filePath) await writeJsonFile(this.filePath, this.contents(groups));
  }

  /** Writes the groups into a snapshot directory. */
  writeSnapshot(snapshotDir: string, groups: readonly GroupSpec[]): Promise<void> {
    return writeJsonFile(join(snapshotDir, RULES_FILE), this.contents(groups));
  }

  private contents(groups: readonly GroupSpec[]): unknown {
    return { magic: MAGIC, schema_version: SCHEMA_VERSION, ...groupsToJson(groups) };
  }
}
