// Metric metadata (type, help, unit) received through remote write, per tenant, served by /api/v1/metadata.
// Persisted as one JSON file in the data path (replaced atomically, data-files.ts) when the server has one, and
// copied into admin snapshots at the same relative place, so a restored data path brings its metadata along.
import { join } from "node:path";
import { readJsonFile, writeJsonFile } from "./data-files.js";
import type { MetricMetadataUpdate } from "../protocols/remote.js";

/** Where the metadata file lives, relative to a data path or a snapshot directory. */
export const METADATA_FILE = join("server", "metric-metadata.json");

export interface MetadataEntry {
  type: string;
  help: string;
  unit: string;
}

export class MetadataStore {
  private readonly byTenant = new Map<string, Map<string, MetadataEntry>>();
  private saving: Promise<void> = Promise.resolve();

  constructor(
    private readonly filePath: string | undefined,
    private readonly onSaveError: (err: unknown) => void,
  ) {}

  async load(): Promise<void> {
    if (!this.filePath) return;
    const data = (await readJsonFile(this.filePath)) as Record<string, Record<string, MetadataEntry>> | undefined;
    if (data === undefined) return;
    for (const [tenant, metrics] of Object.entries(data)) this.byTenant.set(tenant, new Map(Object.entries(metrics)));
  }

  /** Applies updates; returns how many changed something. */
  apply(tenant: string, updates: readonly MetricMetadataUpdate[]): number {
    let map = this.byTenant.get(tenant);
    if (!map) this.byTenant.set(tenant, (map = new Map()));
    let changed = 0;
    for (const u of updates) {
      const prev = map.get(u.metric);
      if (prev && prev.type === u.type && prev.help === u.help && prev.unit === u.unit) continue;
      map.set(u.metric, { type: u.type, help: u.help, unit: u.unit });
      changed++;
    }
    if (changed > 0) this.save();
    return changed;
  }

  /** Metadata of one tenant, optionally one metric, at most `limit` metrics, sorted by name. */
  list(tenant: string, metric: string | undefined, limit: number): Record<string, MetadataEntry[]> {
    const map = this.byTenant.get(tenant);
    const out: Record<string, MetadataEntry[]> = {};
    if (!map) return out;
    const names = metric !== undefined ? (map.has(metric) ? [metric] : []) : [...map.keys()].sort();
    for (const name of names.slice(0, limit)) out[name] = [map.get(name)!];
    return out;
  }

  /** Resolves once every scheduled save has reached the disk. */
  flush(): Promise<void> {
    return this.saving;
  }

  /** Writes the current metadata into a snapshot directory. */
  async writeSnapshot(snapshotDir: string): Promise<void> {
    await this.writeTo(join(snapshotDir, METADATA_FILE));
  }

  private save(): void {
    const path = this.filePath;
    if (!path) return;
    this.saving = this.saving.then(() => this.writeTo(path)).catch(this.onSaveError);
  }

  private async writeTo(path: string): Promise<void> {
    const data: Record<string, Record<string, MetadataEntry>> = {};
    for (const [tenant, map] of this.byTenant) data[tenant] = Object.fromEntries(map);
    await writeJsonFile(path, data);
  }
}
