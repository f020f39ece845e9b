// Naming limits (reference §1.8) and the canonical label order: labels sorted by name, names unique.
import { errors } from "./errors.js";
import type { Label } from "./types.js";

const MAX_METRIC_BYTES = 65535;
export const MAX_LABEL_NAME_BYTES = 256;
export const MAX_LABEL_VALUE_BYTES = 16384;
const EMPTY: readonly Label[] = Object.freeze([]);

/** UTF-8 length check without encoding the string when it is short enough to pass anyway. */
function fits(s: string, maxBytes: number): boolean {
  return s.length * 3 <= maxBytes || Buffer.byteLength(s, "utf8") <= maxBytes;
}

export function validateMetric(metric: unknown): string {
  if (typeof metric !== "string") {
    if (metric === undefined || metric === null) throw errors.metricRequired();
    throw errors.invalidMetricName(metric, "it must be a string");
  }
  if (metric.length === 0) throw errors.metricRequired();
  if (!fits(metric, MAX_METRIC_BYTES)) throw errors.invalidMetricName(metric, `it is longer than ${MAX_METRIC_BYTES} bytes`);
  return metric;
}

function validateLabel(l: Label): void {
  if (l === null || typeof l !== "object") throw errors.invalidLabel(l, "a label is an object { name, value }");
  const { name, value } = l;
  if (typeof name !== "string" || name.length === 0) throw errors.invalidLabel(name, "the name must be a non-empty string");
  if (!fits(name, MAX_LABEL_NAME_BYTES)) throw errors.invalidLabel(name, `the name is longer than ${MAX_LABEL_NAME_BYTES} bytes`);
  if (typeof value !== "string") throw errors.invalidLabel(name, "the value must be a string");
  if (!fits(value, MAX_LABEL_VALUE_BYTES)) throw errors.invalidLabel(name, `the value is longer than ${MAX_LABEL_VALUE_BYTES} bytes`);
}

/** Validates labels and returns them sorted by name (the input array when it already is). */
export function canonicalLabels(labels: unknown): readonly Label[] {
  if (labels === undefined || labels === null) return EMPTY;
  if (!Array.isArray(labels)) throw errors.invalidLabel(labels, "labels must be an array of { name, value }");
  let sorted = true;
  for (let i = 0; i < labels.length; i++) {
    validateLabel(labels[i]);
    if (i > 0 && !(labels[i - 1].name < labels[i].name)) sorted = false;
  }
  if (sorted) return labels as Label[];
  const copy = (labels as Label[]).slice().sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
  for (let i = 1; i < copy.length; i++) {
    if (copy[i - 1]!.name === copy[i]!.name) throw errors.invalidLabel(copy[i]!.name, "the label name appears twice in one series");
  }
  return copy;
}
