// One evaluation of one rule at an aligned time (§7.1): the query under read admission, then the recorded rows
// written into the group's tenant under write admission, or the alert instances advanced (pending, firing, gone).
import type { Label } from "../../promql/result.js";
import { SampleColumnsBuilder } from "../../protocols/sample-columns.js";
import { scaleMillis } from "../../protocols/timestamp-precision.js";
import { METRIC_NAME_LABEL, validateSeries } from "../../protocols/series-validation.js";
import { type Pause } from "../../storage/segment/slices.js";
import { SeriesKey } from "../../storage/types.js";
import { tenantEngine } from "../promql.js";
import { type Runtime, withReadRequest } from "../runtime.js";
import { tenantLabel } from "../tenancy.js";
import { type GroupSpec, type RuleSpec, mergeLabels } from "./validation.js";

export interface AlertInstance {
  /** The instance's labels as `{name="value",...}` in name order. */
  key: string;
  /** `__name__` of the sample that raised it (null for a scalar result or a result without a name). */
  sourceMetric: string | null;
  labels: Record<string, string>;
  activeSinceTimestamp: number;
  lastSeenTimestamp: number;
  firingSinceTimestamp: number | null;
  state: "pending" | "firing";
  sampleType: "scalar" | "histogram";
  sampleValue: number;
}

interface ResultSample {
  labels: Label[];
  value: number;
}

/** Evaluates `expr` for the tenant at `timeMs`: a scalar is one sample without labels; other non-vectors are errors. */
async function querySamples(rt: Runtime, tenant: string, expr: string, timeMs: number): Promise<ResultSample[]> {
  const engine = tenantEngine(rt, tenant, undefined);
  const result = await withReadRequest(rt, tenant, (reads) => reads.withUnits(1, () => engine.instantQuery(expr, timeMs)));
  switch (result.resultType) {
    case "scalar":
      return [{ labels: [], value: result.value[1] }];
    case "vector":
      return result.result;
    case "matrix":
      throw new Error("the expression evaluates to a range vector; a rule needs an instant vector or a scalar");
    case "string":
      throw new Error("the expression evaluates to a string; a rule needs an instant vector or a scalar");
  }
}

function labelKey(labels: readonly Label[]): string {
  return `{${labels.map((l) => `${l.name}=${JSON.stringify(l.value)}`).join(",")}}`;
}

const withoutName = (labels: readonly Label[]) => labels.filter((l) => l.name !== METRIC_NAME_LABEL);

function duplicateLabelset(key: string): Error {
  return new Error(`the result holds two samples with the same labels ${key} once the rule's labels are applied`);
}

/**
 * Evaluates a recording rule and writes its rows at `alignedMs`; returns the rows written. `keys` holds the
 * SeriesKey of each series the rule wrote last time (by label key) and is replaced by this time's: storage resolves
 * a key it saw before without hashing its labels again.
 */
export async function evaluateRecording(
  rt: Runtime, group: GroupSpec, rule: RuleSpec, alignedMs: number, keys: Map<string, SeriesKey>, pause: Pause,
): Promise<number> {
  const samples = await querySamples(rt, group.tenantId, rule.expr, alignedMs);
  const max = rt.config.rules.maxRecordingRowsPerEval;
  if (samples.length > max) {
    throw new Error(`the result has ${samples.length} samples, more than the ${max} rows a rule may record per evaluation (TSINK_RULES_MAX_RECORDING_ROWS_PER_EVAL)`);
  }
  if (samples.length === 0) {
    keys.clear();
    return 0;
  }
  const { timestampPrecision } = rt.config;
  const timestamp = scaleMillis(alignedMs, timestampPrecision);
  const columns = new SampleColumnsBuilder(timestampPrecision === "ns", samples.length);
  const used = new Map<string, SeriesKey>();
  const tenant = tenantLabel(group.tenantId);
  for (const s of samples) {
    const paused = pause();
    if (paused) await paused;
    const labels = mergeLabels(withoutName(s.labels), group.labels, rule.labels);
    const key = labelKey(labels);
    if (used.has(key)) throw duplicateLabelset(key);
    const series = keys.get(key) ?? new SeriesKey(rule.name, validateSeries(rule.name, labels, tenant));
    used.set(key, series);
    columns.add(series, timestamp, s.value);
  }
  const storage = rt.storage();
  await rt.writeGate.withUnits(columns.count, () => storage.insertColumns(columns));
  keys.clear();
  for (const [key, series] of used) keys.set(key, series);
  return columns.count;
}

/**
 * Evaluates an alert rule at `alignedMs` and returns its instances: one per result sample, labelled sample labels,
 * then group labels, then rule labels, then `alertname`; kept from `previous` when already active (firing once
 * active for `for`), dropped when absent from the result.
 */
export async function evaluateAlert(
  rt: Runtime, group: GroupSpec, rule: RuleSpec, alignedMs: number, previous: ReadonlyMap<string, AlertInstance>, pause: Pause,
): Promise<Map<string, AlertInstance>> {
  const samples = await querySamples(rt, group.tenantId, rule.expr, alignedMs);
  const max = rt.config.rules.maxAlertInstancesPerRule;
  if (samples.length > max) {
    throw new Error(`the result has ${samples.length} samples, more than the ${max} instances an alert rule may hold (TSINK_RULES_MAX_ALERT_INSTANCES_PER_RULE)`);
  }
  const next = new Map<string, AlertInstance>();
  const forMs = rule.forSecs * 1000;
  const alertname = [{ name: "alertname", value: rule.name }];
  for (const s of samples) {
    const paused = pause();
    if (paused) await paused;
    const labels = mergeLabels(withoutName(s.labels), group.labels, rule.labels, alertname);
    const key = labelKey(labels);
    if (next.has(key)) throw duplicateLabelset(key);
    const prev = previous.get(key);
    const activeSince = prev?.activeSinceTimestamp ?? alignedMs;
    const firing = prev?.state === "firing" || alignedMs - activeSince >= forMs;
    next.set(key, {
      key,
      sourceMetric: s.labels.find((l) => l.name === METRIC_NAME_LABEL)?.value ?? null,
      labels: prev ? prev.labels : Object.fromEntries(labels.map((l) => [l.name, l.value])), // same key, same labels
      activeSinceTimestamp: activeSince,
      lastSeenTimestamp: alignedMs,
      firingSinceTimestamp: firing ? (prev?.firingSinceTimestamp ?? alignedMs) : null,
      state: firing ? "firing" : "pending",
      sampleType: "scalar",
      sampleValue: s.value,
    });
  }
  return next;
}
