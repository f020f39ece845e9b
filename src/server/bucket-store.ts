// InfluxDB 2 buckets created by POST /api/v2/buckets and not yet written to, per tenant (a written bucket lives on
// as the influx_bucket label of its data). Persisted in the data path as one JSON file, replaced atomically.
import { join } from "node:path";
import { readJsonFile, writeJsonFile } from "./data-files.js";

/** Where the bucket file lives, relative to a data path or a snapshot directory. */
export const BUCKETS_FILE = join("server", "influx-buckets.json");

export class BucketStore {
  private readonly byTenant = new Map<string, Set<string>>();
  private count = 0;
  private saving: Promise<void> = Promise.resolve();

  constructor(private readonly filePath: string | undefined) {}

  async load(): Promise<void> {
    if (!this.filePath) return;
    const data = await readJsonFile(this.filePath);
    if (data === undefined) return;
    const tenants = (data as { tenants?: unknown } | null)?.tenants;
    if (tenants === null || typeof tenants !== "object" || Array.isArray(tenants)) throw new Error(`${this.filePath}: expected {"tenants": {<tenant>: [<bucket>, ...]}}`);
    for (const [tenant, names] of Object.entries(tenants)) {
      if (!Array.isArray(names) || names.some((n) => typeof n !== "string")) throw new Error(`${this.filePath}: buckets of tenant ${JSON.stringify(tenant)} must be a list of names`);
      this.byTenant.set(tenant, new Set(names as string[]));
      this.count += names.length;
    }
  }

  /** Buckets created for the tenant and not (known to be) written to. */
  names(tenant: string): ReadonlySet<string> {
    return this.byTenant.get(tenant) ?? EMPTY;
  }

  /** Created buckets over all tenants. */
  get size(): number {
    return this.count;
  }

  /**
   * Remembers a bucket; resolves once the file holding it is on disk (rejects, remembering nothing, if not), to
   * false when the tenant has a bucket of that name already.
   */
  async add(tenant: string, name: string): Promise<boolean> {
    let set = this.byTenant.get(tenant);
    if (!set) this.byTenant.set(tenant, (set = new Set()));
    if (set.has(name)) return false;
    set.add(name);
    this.count++;
    try {
      await this.save();
    } catch (err) {
      set.delete(name);
      this.count--;
      throw err;
    }
    return true;
  }

  /** Forgets the tenant's buckets among `written` (they hold data now, which keeps them listed). */
  forgetWritten(tenant: string, written: readonly string[]): Promise<void> {
    const set = this.byTenant.get(tenant);
    if (!set) return Promise.resolve();
    const before = set.size;
    for (const name of written) set.delete(name);
    if (set.size === before) return Promise.resolve();
    this.count -= before - set.size;
    if (set.size === 0) this.byTenant.delete(tenant);
    return this.save();
  }

  /** Writes the buckets into a snapshot directory. */
  writeSnapshot(snapshotDir: string): Promise<void> {
    return this.writeTo(join(snapshotDir, BUCKETS_FILE));
  }

  /** Queues a write of the whole file after the ones already queued; resolves when this one is done. */
  private save(): Promise<void> {
    const path = this.filePath;
    if (!path) return Promise.resolve();
    const done = this.saving.then(() => this.writeTo(path));
    this.saving = done.catch(() => undefined);
    return done;
  }

  private async writeTo(path: string): Promise<void> {
    const tenants: Record<string, string[]> = {};
    for (const [tenant, set] of this.byTenant) if (set.size > 0) tenants[tenant] = [...set].sort();
    await writeJsonFile(path, { tenants });
  }
}

const EMPTY: ReadonlySet<string> = new Set();
