// Prometheus naming rules shared by every ingest parser: metric/label name syntax, size limits, duplicate and
// reserved labels. One place, so remote write and text import reject exactly the same series.
import { ProtocolError } from "./errors.js";

export interface Label {
  name: string;
  value: string;
}

/** Reserved label that carries the tenant id inside storage (server mode). */
export const TENANT_LABEL = "__tsink_tenant__";
export const METRIC_NAME_LABEL = "__name__";

export const MAX_METRIC_NAME_BYTES = 65_535;
export const MAX_LABEL_NAME_BYTES = 256;
export const MAX_LABEL_VALUE_BYTES = 16_384;

const METRIC_NAME_RE = /^[a-zA-Z_:][a-zA-Z0-9_:]*$/;
const LABEL_NAME_RE = /^[a-zA-Z_][a-zA-Z0-9_]*$/;

function isValidMetricName(name: string): boolean {
  return METRIC_NAME_RE.test(name);
}

export function isValidLabelName(name: string): boolean {
  return LABEL_NAME_RE.test(name);
}

/** Short, printable excerpt of user input for error messages. */
export function excerpt(text: string, max = 64): string {
  const json = JSON.stringify(text.length > max ? `${text.slice(0, max)}...` : text);
  return json;
}

// Names already found valid: ingest sees the same few names over and over, so the syntax check runs once each.
const VALID_NAME_CACHE_LIMIT = 10_000;
const validMetricNames = new Set<string>();
const validLabelNames = new Set<string>();

function remember(cache: Set<string>, name: string): void {
  if (cache.size >= VALID_NAME_CACHE_LIMIT) cache.clear();
  cache.add(name);
}

function checkMetricName(metric: string): void {
  if (validMetricNames.has(metric)) return;
  if (metric.length === 0) throw new ProtocolError("malformed", "missing metric name (__name__ label)");
  if (!isValidMetricName(metric)) throw new ProtocolError("malformed", `invalid metric name ${excerpt(metric)}`);
  if (Buffer.byteLength(metric) > MAX_METRIC_NAME_BYTES) {
    throw new ProtocolError("malformed", `metric name longer than ${MAX_METRIC_NAME_BYTES} bytes: ${excerpt(metric)}`);
  }
  remember(validMetricNames, metric);
}

function checkLabelName(name: string, metric: string): void {
  if (validLabelNames.has(name)) return;
  if (name === TENANT_LABEL) {
    throw new ProtocolError("malformed", `label ${TENANT_LABEL} is reserved; use the x-tsink-tenant header`);
  }
  if (!isValidLabelName(name)) throw new ProtocolError("malformed", `invalid label name ${excerpt(name)} on ${metric}`);
  if (name.length > MAX_LABEL_NAME_BYTES) {
    throw new ProtocolError("malformed", `label name longer than ${MAX_LABEL_NAME_BYTES} bytes: ${excerpt(name)}`);
  }
  remember(validLabelNames, name);
}

/**
 * Checks a metric name and its labels (without `__name__`) and returns them sorted by name, with `extra` (a
 * server-side label such as the tenant's, not validated) merged in at its sorted place. The input array is returned
 * as is when it is already sorted and there is no extra label. Throws ProtocolError("malformed") naming the
 * offending value.
 */
export function validateSeries(metric: string, labels: Label[], extra?: Label): Label[] {
  checkMetricName(metric);
  let sorted = true;
  for (let i = 1; i < labels.length; i++) {
    if (!(labels[i - 1]!.name < labels[i]!.name)) {
      sorted = false;
      break;
    }
  }
  const out = sorted ? labels : [...labels].sort(compareLabels);
  for (let i = 0; i < out.length; i++) {
    const { name, value } = out[i]!;
    checkLabelName(name, metric);
    if (value.length > MAX_LABEL_VALUE_BYTES / 3 && Buffer.byteLength(value) > MAX_LABEL_VALUE_BYTES) {
      throw new ProtocolError(
        "malformed",
        `value of label ${name} on ${metric} is ${Buffer.byteLength(value)} bytes, more than ${MAX_LABEL_VALUE_BYTES}`,
      );
    }
    if (i > 0 && out[i - 1]!.name === name) {
      throw new ProtocolError("malformed", `duplicate label name ${excerpt(name)} on ${metric}`);
    }
  }
  if (!extra) return out;
  let at = 0;
  while (at < out.length && out[at]!.name < extra.name) at++;
  const merged = new Array<Label>(out.length + 1);
  for (let i = 0; i < at; i++) merged[i] = out[i]!;
  merged[at] = extra;
  for (let i = at; i < out.length; i++) merged[i + 1] = out[i]!;
  return merged;
}

export function compareLabels(a: Label, b: Label): number {
  return a.name < b.name ? -1 : a.name > b.name ? 1 : 0;
}

/** Validates a sample timestamp (an integer in the caller's precision). */
export function validateTimestamp(timestamp: number, where: string): void {
  if (!Number.isSafeInteger(timestamp)) {
    throw new ProtocolError("malformed", `invalid timestamp ${timestamp} ${where}: must be an integer within ±2^53`);
  }
}
