// Rules configuration (reference §7.1): validation of the groups of POST /api/v1/admin/rules/apply and of the
// persisted store into normalised groups, the rule duration syntax, the label merge order and rule ids/fingerprints.
import { parse } from "../../promql/parser/index.js";
import { type Label, MAX_LABEL_VALUE_BYTES, METRIC_NAME_LABEL, TENANT_LABEL, isValidLabelName } from "../../protocols/series-validation.js";
import { referenceDurationMs } from "../config.js";
import { resolveTenant } from "../tenancy.js";

export type RuleKind = "recording" | "alert";

/** Default group interval (reference: 60 s). */
const DEFAULT_INTERVAL_SECS = 60;
/** Longest `record` name (reference: 256 bytes). */
const MAX_RECORD_NAME_BYTES = 256;
const RECORD_NAME_RE = /^[a-zA-Z_:][a-zA-Z0-9_:]*$/;

export interface RuleSpec {
  /** `{tenantId}/{group}/{kind}/{name}` */
  id: string;
  kind: RuleKind;
  /** `record` of a recording rule, `alert` of an alert rule. */
  name: string;
  expr: string;
  /** The rule's own interval (seconds), else its group's. */
  intervalSecs: number;
  /** Alert rules: how long an instance stays pending before it fires (0 for recording rules). */
  forSecs: number;
  /** The rule's own labels (sorted); merged after the group's. */
  labels: Label[];
  annotations: Record<string, string>;
  /** Whether the rule's own `interval` was given (kept so the store writes back what was applied). */
  ownInterval: boolean;
  /** The rule's whole definition with its group's tenant and labels: a change of it resets the runtime state. */
  fingerprint: string;
}

export interface GroupSpec {
  name: string;
  tenantId: string;
  intervalSecs: number;
  labels: Label[];
  rules: RuleSpec[];
}

/** A configuration the caller sent that cannot be applied (400 with this message). */
export class RulesConfigError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "RulesConfigError";
  }
}

const fail = (message: string): never => {
  throw new RulesConfigError(message);
};

/**
 * Rule duration: a JSON number or numeric string is seconds; otherwise `<float><ms|s|m|h|d|w|y>` (y = 365.25 d).
 * Rounded up to whole seconds. Returns undefined when `raw` is not a duration.
 */
export function parseRuleDurationSecs(raw: unknown): number | undefined {
  let ms: number | undefined;
  if (typeof raw === "number") ms = raw * 1000;
  else if (typeof raw === "string") ms = /^\s*(\d+\.\d*|\.\d+)\s*$/.test(raw) ? Number(raw) * 1000 : referenceDurationMs(raw);
  if (ms === undefined || !Number.isFinite(ms) || ms < 0) return undefined;
  // ms of fractional inputs carry binary noise (0.7 * 60000): cut it before rounding up, so 42 s stays 42 s.
  return Math.ceil(Number((ms / 1000).toPrecision(12)));
}

function durationField(where: string, field: string, raw: unknown, allowZero: boolean): number {
  const secs = parseRuleDurationSecs(raw);
  if (secs === undefined) {
    fail(`${where}: invalid ${field} ${JSON.stringify(raw)}: use seconds or a number with a unit ms, s, m, h, d, w or y (e.g. 30s, 1.5h)`);
  }
  if (secs! <= 0 && !allowZero) fail(`${where}: ${field} must be greater than 0`);
  return secs!;
}

/** Sample labels, then group labels, then rule labels: a later label of the same name wins. Sorted by name. */
export function mergeLabels(...layers: readonly (readonly Label[])[]): Label[] {
  let out: readonly Label[] = [];
  for (const layer of layers) out = mergeSorted(out, isStrictlySorted(layer) ? layer : normalised(layer));
  return out as Label[];
}

function isStrictlySorted(labels: readonly Label[]): boolean {
  for (let i = 1; i < labels.length; i++) if (!(labels[i - 1]!.name < labels[i]!.name)) return false;
  return true;
}

/** One label per name (the last one given), sorted by name. */
function normalised(labels: readonly Label[]): Label[] {
  const byName = new Map<string, string>();
  for (const l of labels) byName.set(l.name, l.value);
  return [...byName].sort((a, b) => (a[0] < b[0] ? -1 : 1)).map(([name, value]) => ({ name, value }));
}

/** Merges two name-sorted lists; `b` wins on equal names. (Result labels are PromQL's, already sorted: no sort.) */
function mergeSorted(a: readonly Label[], b: readonly Label[]): readonly Label[] {
  if (b.length === 0) return a;
  if (a.length === 0) return b;
  const out: Label[] = [];
  let i = 0;
  let j = 0;
  while (i < a.length && j < b.length) {
    const x = a[i]!;
    const y = b[j]!;
    if (x.name < y.name) {
      out.push(x);
      i++;
    } else {
      out.push(y);
      j++;
      if (x.name === y.name) i++;
    }
  }
  while (i < a.length) out.push(a[i++]!);
  while (j < b.length) out.push(b[j++]!);
  return out;
}

function isObject(v: unknown): v is Record<string, unknown> {
  return v !== null && typeof v === "object" && !Array.isArray(v);
}

function checkFields(where: string, obj: Record<string, unknown>, allowed: readonly string[]): void {
  for (const key of Object.keys(obj)) if (!allowed.includes(key)) fail(`${where}: unknown field ${JSON.stringify(key)} (allowed: ${allowed.join(", ")})`);
}

function stringField(where: string, obj: Record<string, unknown>, field: string): string {
  const v = obj[field];
  if (typeof v !== "string" || v.length === 0) fail(`${where}: "${field}" must be a non-empty string`);
  return v as string;
}

function stringMap(where: string, raw: unknown, field: string): [string, string][] {
  if (raw === undefined || raw === null) return [];
  if (!isObject(raw)) return fail(`${where}: "${field}" must be an object of strings`);
  const out: [string, string][] = [];
  for (const [k, v] of Object.entries(raw)) {
    if (typeof v !== "string") fail(`${where}: ${field}.${k} must be a string`);
    out.push([k, v as string]);
  }
  return out;
}

/** Group or rule labels: valid names, no `__name__` and no tenant label, values within the label-value limit. */
function labelsField(where: string, raw: unknown): Label[] {
  const labels: Label[] = [];
  for (const [name, value] of stringMap(where, raw, "labels")) {
    if (name === METRIC_NAME_LABEL || name === TENANT_LABEL) fail(`${where}: label ${name} may not be set by a rule or group`);
    if (!isValidLabelName(name)) fail(`${where}: invalid label name ${JSON.stringify(name)}`);
    if (Buffer.byteLength(value) > MAX_LABEL_VALUE_BYTES) fail(`${where}: value of label ${name} is longer than ${MAX_LABEL_VALUE_BYTES} bytes`);
    labels.push({ name, value });
  }
  return mergeLabels(labels);
}

const GROUP_FIELDS = ["name", "tenantId", "interval", "labels", "rules"];
const RECORDING_FIELDS = ["kind", "record", "expr", "interval", "labels"];
const ALERT_FIELDS = ["kind", "alert", "expr", "interval", "for", "forDuration", "labels", "annotations"];

function ruleSpec(where: string, raw: unknown, group: { name: string; tenantId: string; intervalSecs: number; labels: Label[] }): RuleSpec {
  if (!isObject(raw)) return fail(`${where}: a rule must be an object`);
  const kind = raw.kind;
  if (kind !== "recording" && kind !== "alert") return fail(`${where}: "kind" must be "recording" or "alert", got ${JSON.stringify(kind)}`);
  checkFields(where, raw, kind === "recording" ? RECORDING_FIELDS : ALERT_FIELDS);
  let name: string;
  if (kind === "recording") {
    name = stringField(where, raw, "record");
    if (!RECORD_NAME_RE.test(name)) fail(`${where}: record ${JSON.stringify(name)} is not a valid metric name`);
    if (Buffer.byteLength(name) > MAX_RECORD_NAME_BYTES) fail(`${where}: record name is longer than ${MAX_RECORD_NAME_BYTES} bytes`);
  } else {
    name = stringField(where, raw, "alert");
    if (Buffer.byteLength(name) > MAX_LABEL_VALUE_BYTES) fail(`${where}: alert name is longer than ${MAX_LABEL_VALUE_BYTES} bytes`);
    if (raw.for !== undefined && raw.forDuration !== undefined) fail(`${where}: give "for" or "forDuration", not both`);
  }
  where = `${where} (${name})`;
  const expr = stringField(where, raw, "expr");
  try {
    parse(expr);
  } catch (err) {
    fail(`${where}: invalid expr: ${(err as Error).message}`);
  }
  const ownInterval = raw.interval !== undefined;
  const intervalSecs = ownInterval ? durationField(where, "interval", raw.interval, false) : group.intervalSecs;
  const forRaw = raw.for ?? raw.forDuration;
  const forSecs = kind === "alert" && forRaw !== undefined ? durationField(where, "for", forRaw, true) : 0;
  const labels = labelsField(where, raw.labels);
  const annotations = Object.fromEntries(kind === "alert" ? stringMap(where, raw.annotations, "annotations") : []);
  const id = `${group.tenantId}/${group.name}/${kind}/${name}`;
  const fingerprint = JSON.stringify([id, expr, intervalSecs, forSecs, group.labels, labels, Object.entries(annotations).sort()]);
  return { id, kind, name, expr, intervalSecs, forSecs, labels, annotations, ownInterval, fingerprint };
}

/**
 * Validates an apply body (or the persisted groups) into groups; `defaultTenant` is the tenant of a group that names
 * none. Throws RulesConfigError naming the group and rule at fault, also for a rule id given twice.
 */
export function parseGroups(raw: unknown, defaultTenant: string): GroupSpec[] {
  if (raw === undefined || raw === null) return [];
  if (!isObject(raw)) return fail(`expected a JSON object {"groups": [...]}`);
  checkFields("body", raw, ["groups"]);
  if (raw.groups === undefined || raw.groups === null) return [];
  if (!Array.isArray(raw.groups)) return fail(`"groups" must be an array`);
  const ids = new Set<string>();
  return raw.groups.map((g, i) => {
    let where = `groups[${i}]`;
    if (!isObject(g)) return fail(`${where}: a group must be an object`);
    checkFields(where, g, GROUP_FIELDS);
    const name = stringField(where, g, "name");
    where = `${where} (${name})`;
    let tenantId = defaultTenant;
    if (g.tenantId !== undefined) {
      if (typeof g.tenantId !== "string") fail(`${where}: "tenantId" must be a string`);
      try {
        tenantId = resolveTenant({ "x-tsink-tenant": g.tenantId as string });
      } catch (err) {
        fail(`${where}: ${(err as Error).message}`);
      }
    }
    const intervalSecs = g.interval === undefined ? DEFAULT_INTERVAL_SECS : durationField(where, "interval", g.interval, false);
    const labels = labelsField(where, g.labels);
    if (!Array.isArray(g.rules) || g.rules.length === 0) fail(`${where}: "rules" must be a non-empty array`);
    const group = { name, tenantId, intervalSecs, labels };
    const rules = (g.rules as unknown[]).map((r, j) => {
      const rule = ruleSpec(`${where}.rules[${j}]`, r, group);
      if (ids.has(rule.id)) fail(`duplicate rule id ${JSON.stringify(rule.id)}`);
      ids.add(rule.id);
      return rule;
    });
    return { ...group, rules };
  });
}

/** The groups as an apply body (what the store persists; parseGroups reads it back to the same groups). */
export function groupsToJson(groups: readonly GroupSpec[]): { groups: unknown[] } {
  const labelObject = (labels: readonly Label[]) => Object.fromEntries(labels.map((l) => [l.name, l.value]));
  return {
    groups: groups.map((g) => ({
      name: g.name,
      tenantId: g.tenantId,
      interval: g.intervalSecs,
      labels: labelObject(g.labels),
      rules: g.rules.map((r) => ({
        kind: r.kind,
        [r.kind === "recording" ? "record" : "alert"]: r.name,
        expr: r.expr,
        ...(r.ownInterval ? { interval: r.intervalSecs } : {}),
        ...(r.kind === "alert" ? { for: r.forSecs, annotations: r.annotations } : {}),
        labels: labelObject(r.labels),
      })),
    })),
  };
}
