// Test helper: sample columns (storage's SampleColumns) read back as one row per sample, in column order.
import type { Label } from "../../src/protocols/series-validation.js";
import type { SampleColumns } from "../../src/storage/types.js";

export interface SampleRow {
  metric: string;
  labels: readonly Label[];
  dataPoint: { timestamp: number | bigint; value: number };
}

export function columnRows(c: SampleColumns): SampleRow[] {
  return Array.from({ length: c.count }, (_, i) => {
    const key = c.series[c.seriesIndex[i]!]!;
    return { metric: key.metric, labels: key.labels ?? [], dataPoint: { timestamp: c.timestamps[i]!, value: c.values[i]! } };
  });
}
