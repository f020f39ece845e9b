// The rules runtime (§7.1): applied groups and each rule's runtime state, the scheduler tick (each rule due at its
// aligned time, one run at a time), apply (persisted before it takes effect), the status snapshot, tsink_rules_*.
import { Counter, Gauge } from "prom-client";
import { type Pause, makeYielder } from "../../storage/segment/slices.js";
import type { SeriesKey } from "../../storage/types.js";
import type { Runtime } from "../runtime.js";
import { type AlertInstance, evaluateAlert, evaluateRecording } from "./evaluator.js";
import type { RulesStore } from "./store.js";
import { type GroupSpec, type RuleSpec, parseGroups } from "./validation.js";

interface RuleState {
  fingerprint: string;
  /** The aligned time (Unix ms) last evaluated successfully: a rule is evaluated at most once per aligned time. */
  evaluatedAt?: number;
  lastEvalTimestamp: number | null;
  lastEvalUnixMs: number | null;
  lastSuccessUnixMs: number | null;
  lastDurationMs: number | null;
  lastError: string | null;
  lastSampleCount: number;
  lastRecordedRows: number;
  instances: Map<string, AlertInstance>;
  /** Recording rules: the SeriesKeys of the rows written last time, by label key (see evaluateRecording). */
  seriesKeys: Map<string, SeriesKey>;
}

/** A run was asked for while another one is evaluating (409). */
export class RulesRunInFlight extends Error {
  constructor() {
    super("a rules evaluation run is already in progress");
    this.name = "RulesRunInFlight";
  }
}

const snake = (name: string) => name.replace(/([a-z0-9])([A-Z])/g, "$1_$2").toLowerCase();

export class RulesEngine {
  private groups: GroupSpec[] = [];
  private states = new Map<string, RuleState>();
  private loaded = false;
  private timer?: NodeJS.Timeout;
  private running?: Promise<void>;
  /** Applies and snapshots in order, so the file on disk always holds the groups in effect after the last apply. */
  private writes: Promise<void> = Promise.resolve();
  private readonly counters = {
    schedulerRunsTotal: 0,
    schedulerSkippedNotLeaderTotal: 0,
    schedulerSkippedInflightTotal: 0,
    evaluatedRulesTotal: 0,
    evaluationFailuresTotal: 0,
    recordingRowsWrittenTotal: 0,
  };
  private lastRunUnixMs: number | null = null;
  private lastError: string | null = null;

  constructor(
    private readonly runtime: () => Runtime,
    private readonly store: RulesStore,
    private readonly limits: Runtime["config"]["rules"],
  ) {}

  /** Whether the persisted groups are loaded (the rules routes answer 503 before). */
  get ready(): boolean {
    return this.loaded;
  }

  /** Reads the persisted groups (startup; throws when the store cannot be used). */
  async load(): Promise<void> {
    this.install(await this.store.load());
    this.loaded = true;
  }

  /**
   * Starts the scheduler tick (once storage is open). A tick with no rules only counts the run, synchronously: no
   * promise, no yielder, nothing that would land in the middle of a request's work on a server without rules.
   */
  start(): void {
    this.timer ??= setInterval(() => {
      if (this.running) this.counters.schedulerSkippedInflightTotal++;
      else if (this.groups.length === 0) {
        this.countRun();
        this.lastError = null;
      } else void this.run().catch((err: unknown) => this.runtime().logger.error({ err }, "rules run failed"));
    }, this.limits.schedulerTickMs).unref();
  }

  /** Stops the scheduler and waits for the run in progress. */
  async stop(): Promise<void> {
    clearInterval(this.timer);
    this.timer = undefined;
    await this.running;
    await this.writes;
  }

  /**
   * Validates `body` (tenant of groups naming none: `defaultTenant`), persists it, then replaces every group;
   * a rule whose fingerprint is unchanged keeps its runtime state. Throws RulesConfigError when invalid.
   */
  async apply(body: unknown, defaultTenant: string): Promise<void> {
    const groups = parseGroups(body, defaultTenant);
    const done = this.writes.then(async () => {
      await this.store.save(groups);
      this.install(groups);
    });
    this.writes = done.catch(() => undefined);
    await done;
  }

  /** Writes the groups in effect into a snapshot directory. */
  async writeSnapshot(dir: string): Promise<void> {
    const done = this.writes.then(() => this.store.writeSnapshot(dir, this.groups));
    this.writes = done.catch(() => undefined);
    await done;
  }

  /** One evaluation run now (POST rules/run); RulesRunInFlight when one is going on. */
  async runNow(): Promise<void> {
    if (this.running) throw new RulesRunInFlight();
    await this.run();
  }

  private run(): Promise<void> {
    const run = this.evaluateDue().finally(() => {
      this.running = undefined;
    });
    this.running = run;
    return run;
  }

  private install(groups: GroupSpec[]): void {
    const states = new Map<string, RuleState>();
    for (const rule of groups.flatMap((g) => g.rules)) {
      const prev = this.states.get(rule.id);
      states.set(rule.id, prev?.fingerprint === rule.fingerprint ? prev : freshState(rule));
    }
    this.groups = groups;
    this.states = states;
  }

  /** Evaluates every rule not yet evaluated at its current aligned time; failures are retried at the next run. */
  private async evaluateDue(): Promise<void> {
    this.countRun();
    let runError: string | null = null;
    // Rows and alert instances are built in slices of at most 10 ms, so a run never holds the event loop for long.
    const pause = makeYielder(10);
    for (const group of this.groups) {
      for (const rule of group.rules) {
        const state = this.states.get(rule.id);
        if (state?.fingerprint !== rule.fingerprint) continue; // removed or changed by an apply during this run
        const now = Date.now();
        const intervalMs = rule.intervalSecs * 1000;
        const aligned = now - (now % intervalMs);
        if (state.evaluatedAt === aligned) continue;
        const error = await this.evaluate(group, rule, state, aligned, pause);
        await pause();
        if (error) runError = `${rule.id}: ${error}`;
      }
    }
    this.lastError = runError;
  }

  /** Counts a run and notes when it began. */
  private countRun(): void {
    this.counters.schedulerRunsTotal++;
    this.lastRunUnixMs = Date.now();
  }

  private async evaluate(group: GroupSpec, rule: RuleSpec, state: RuleState, aligned: number, pause: Pause): Promise<string | null> {
    const rt = this.runtime();
    const started = performance.now();
    state.lastEvalTimestamp = aligned;
    state.lastEvalUnixMs = Date.now();
    this.counters.evaluatedRulesTotal++;
    try {
      if (rule.kind === "recording") {
        state.lastRecordedRows = await evaluateRecording(rt, group, rule, aligned, state.seriesKeys, pause);
        state.lastSampleCount = state.lastRecordedRows;
        this.counters.recordingRowsWrittenTotal += state.lastRecordedRows;
      } else {
        state.instances = await evaluateAlert(rt, group, rule, aligned, state.instances, pause);
        state.lastSampleCount = state.instances.size;
      }
      state.evaluatedAt = aligned;
      state.lastError = null;
      state.lastSuccessUnixMs = Date.now();
    } catch (err) {
      this.counters.evaluationFailuresTotal++;
      state.lastError = err instanceof Error ? err.message : String(err);
      rt.logger.warn({ rule: rule.id, err: state.lastError }, "rule evaluation failed");
    } finally {
      state.lastDurationMs = Math.round((performance.now() - started) * 1000) / 1000;
    }
    return state.lastError;
  }

  /** The `metrics` object of the status snapshot. */
  metrics(): Record<string, number | string | boolean | null> {
    let pendingAlerts = 0;
    let firingAlerts = 0;
    for (const s of this.states.values()) for (const i of s.instances.values()) i.state === "firing" ? firingAlerts++ : pendingAlerts++;
    return {
      ...this.counters,
      lastRunUnixMs: this.lastRunUnixMs,
      lastError: this.lastError,
      configuredGroups: this.groups.length,
      configuredRules: this.states.size,
      pendingAlerts,
      firingAlerts,
      localSchedulerActive: this.timer !== undefined,
    };
  }

  /** The rules snapshot of rules/apply, rules/run and rules/status. */
  status(): Record<string, unknown> {
    const labelObject = (labels: readonly { name: string; value: string }[]) => Object.fromEntries(labels.map((l) => [l.name, l.value]));
    return {
      schedulerTickMs: this.limits.schedulerTickMs,
      maxRecordingRowsPerEval: this.limits.maxRecordingRowsPerEval,
      maxAlertInstancesPerRule: this.limits.maxAlertInstancesPerRule,
      clusterEnabled: false,
      clusterLeader: true,
      metrics: this.metrics(),
      groups: this.groups.map((g) => ({
        name: g.name,
        tenantId: g.tenantId,
        intervalSecs: g.intervalSecs,
        labels: labelObject(g.labels),
        rules: g.rules.map((r) => {
          const s = this.states.get(r.id)!;
          const instances = [...s.instances.values()];
          return {
            id: r.id, name: r.name, kind: r.kind, expr: r.expr, intervalSecs: r.intervalSecs, forSecs: r.forSecs,
            labels: labelObject(r.labels), annotations: r.annotations,
            lastEvalTimestamp: s.lastEvalTimestamp, lastEvalUnixMs: s.lastEvalUnixMs, lastSuccessUnixMs: s.lastSuccessUnixMs,
            lastDurationMs: s.lastDurationMs, lastError: s.lastError, lastSampleCount: s.lastSampleCount, lastRecordedRows: s.lastRecordedRows,
            state: ruleStateOf(r, s, instances),
            alertInstances: instances,
          };
        }),
      })),
    };
  }

  /** Registers the tsink_rules_* families (the status `metrics` numbers, snake-cased) in the server's registry. */
  registerMetrics(registry: Runtime["metrics"]["registry"]): void {
    const engine = this;
    for (const [key, value] of Object.entries(this.metrics())) {
      if (key === "lastError" || typeof value === "string") continue;
      const name = `tsink_rules_${snake(key)}`;
      const help = `Rules engine: ${snake(key).replace(/_/g, " ")}.`;
      const read = () => Number(engine.metrics()[key] ?? 0);
      if (name.endsWith("_total")) {
        new Counter({ name, help, registers: [registry], collect() { this.reset(); this.inc(read()); } });
      } else {
        new Gauge({ name, help, registers: [registry], collect() { this.set(read()); } });
      }
    }
  }
}

function freshState(rule: RuleSpec): RuleState {
  return {
    fingerprint: rule.fingerprint, lastEvalTimestamp: null, lastEvalUnixMs: null, lastSuccessUnixMs: null, lastDurationMs: null,
    lastError: null, lastSampleCount: 0, lastRecordedRows: 0, instances: new Map(), seriesKeys: new Map(),
  };
}

function ruleStateOf(rule: RuleSpec, state: RuleState, instances: readonly AlertInstance[]): "ok" | "inactive" | "pending" | "firing" | "error" {
  if (state.lastError !== null) return "error";
  if (rule.kind === "recording") return "ok";
  if (instances.some((i) => i.state === "firing")) return "firing";
  return instances.length > 0 ? "pending" : "inactive";
}
