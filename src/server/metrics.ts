// Self-instrumentation for GET /metrics: the tsink_* families. Server counters live in a prom-client registry;
// the storage engine's observability snapshot (memory, series, WAL, flush, segments, compaction...) is exported as
// tsink_<section>_<field> at scrape time.
import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from "prom-client";
import type { ServerStorage } from "./storage.js";

export interface MetricsSources {
  startedAtMs: number;
  storage(): ServerStorage | undefined;
  /** The exemplar store's size and limits. */
  exemplars(): { storedExemplars: number; storedSeries: number; limits: Record<string, number> };
  inflight(): { writeRequests: number; readRequests: number };
}

/** Snapshot sections exported as tsink_<section>_*; other sections (e.g. health state strings) are skipped. */
const STORAGE_SECTIONS = ["memory", "series", "ingest", "query", "retention", "deletes", "wal", "flush", "segments", "compaction", "background"];

const snake = (name: string) => name.replace(/([a-z0-9])([A-Z])/g, "$1_$2").toLowerCase();

export class ServerMetrics {
  readonly registry = new Registry();
  readonly ingestSamples: Counter<"protocol">;
  readonly ingestRequests: Counter<"protocol" | "code">;
  readonly ingestRejected: Counter<"protocol" | "reason">;
  readonly queryRequests: Counter<"endpoint" | "code">;
  readonly queryDuration: Histogram<"endpoint">;
  readonly exemplarsAccepted: Counter;
  readonly exemplarsRejected: Counter;
  readonly exemplarsDropped: Counter;
  readonly exemplarQueries: Counter;
  readonly exemplarQuerySeries: Counter;
  readonly exemplarQueryResults: Counter;
  /** Remote-write side payloads (metadata, exemplars, histograms) accepted or rejected. */
  readonly payloads: Counter<"kind" | "outcome">;
  readonly admissionRejections: Counter<"surface" | "reason">;

  constructor(private readonly sources: MetricsSources) {
    const registers = [this.registry];
    collectDefaultMetrics({ register: this.registry });
    new Gauge({
      name: "tsink_uptime_seconds", help: "Seconds since the server started.", registers,
      collect() { this.set((Date.now() - sources.startedAtMs) / 1000); },
    });
    new Gauge({
      name: "tsink_memory_used_bytes", help: "Bytes held by the storage engine (active and sealed data).", registers,
      collect() { const s = sources.storage(); if (s) this.set(s.memoryUsed()); },
    });
    new Gauge({
      name: "tsink_series_total", help: "Number of series in storage (all tenants).", registers,
      collect() {
        const series = sources.storage()?.observabilitySnapshot().series as { total?: number } | undefined;
        if (series?.total !== undefined) this.set(series.total);
      },
    });
    new Gauge({
      name: "tsink_ingest_inflight_requests", help: "Write requests holding an admission slot.", registers,
      collect() { this.set(sources.inflight().writeRequests); },
    });
    new Gauge({
      name: "tsink_query_inflight_requests", help: "Read requests holding an admission slot.", registers,
      collect() { this.set(sources.inflight().readRequests); },
    });
    this.ingestSamples = new Counter({
      name: "tsink_ingest_samples_total", help: "Samples written, by ingest protocol.", labelNames: ["protocol"], registers,
    });
    this.ingestRequests = new Counter({
      name: "tsink_ingest_requests_total", help: "Ingest requests by protocol and HTTP status.", labelNames: ["protocol", "code"], registers,
    });
    this.ingestRejected = new Counter({
      name: "tsink_ingest_rejected_requests_total", help: "Ingest requests refused, by protocol and reason.", labelNames: ["protocol", "reason"], registers,
    });
    this.queryRequests = new Counter({
      name: "tsink_query_requests_total", help: "Read requests by endpoint and HTTP status.", labelNames: ["endpoint", "code"], registers,
    });
    this.queryDuration = new Histogram({
      name: "tsink_query_duration_seconds", help: "Read request latency by endpoint.", labelNames: ["endpoint"], registers,
      buckets: [0.001, 0.005, 0.01, 0.05, 0.1, 0.5, 1, 5, 30],
    });
    this.exemplarsAccepted = new Counter({
      name: "tsink_exemplars_accepted_total", help: "Exemplars stored (remote write, text import, OTLP).", registers,
    });
    this.exemplarsRejected = new Counter({
      name: "tsink_exemplars_rejected_total", help: "Exemplars refused with their request (feature disabled, over the per-request limit).", registers,
    });
    this.exemplarsDropped = new Counter({
      name: "tsink_exemplars_dropped_total", help: "Exemplars evicted by the per-series or total limit.", registers,
    });
    this.exemplarQueries = new Counter({ name: "tsink_exemplars_query_requests_total", help: "query_exemplars requests answered.", registers });
    this.exemplarQuerySeries = new Counter({ name: "tsink_exemplars_query_series_total", help: "Series returned by query_exemplars.", registers });
    this.exemplarQueryResults = new Counter({ name: "tsink_exemplars_query_results_total", help: "Exemplars returned by query_exemplars.", registers });
    new Gauge({
      name: "tsink_exemplars_stored", help: "Exemplars and series held by the exemplar store.", labelNames: ["kind"], registers,
      collect() {
        const s = sources.exemplars();
        this.set({ kind: "exemplars" }, s.storedExemplars);
        this.set({ kind: "series" }, s.storedSeries);
      },
    });
    new Gauge({
      name: "tsink_exemplar_limits", help: "The exemplar store's compiled-in limits.", labelNames: ["kind"], registers,
      collect() { for (const [kind, v] of Object.entries(sources.exemplars().limits)) this.set({ kind }, v); },
    });
    this.payloads = new Counter({
      name: "tsink_ingest_payloads_total", help: "Remote-write metadata, exemplars and histograms by outcome.",
      labelNames: ["kind", "outcome"], registers,
    });
    this.admissionRejections = new Counter({
      name: "tsink_admission_rejections_total", help: "Requests refused by admission control.", labelNames: ["surface", "reason"], registers,
    });
  }

  /** The full /metrics body: registry families, then the storage snapshot families. */
  async exposition(): Promise<string> {
    const own = await this.registry.metrics();
    const storage = this.sources.storage();
    if (!storage) return own;
    const taken = new Set(this.registry.getMetricsAsArray().map((m) => m.name));
    return own + storageFamilies(storage.observabilitySnapshot(), taken);
  }

  /** `{acceptedTotal, rejectedTotal}` of one payload kind, for /api/v1/status/tsdb. */
  async payloadTotals(kind: string): Promise<{ acceptedTotal: number; rejectedTotal: number }> {
    const { values } = await this.payloads.get();
    const sum = (outcome: string) =>
      values.filter((v) => v.labels.kind === kind && v.labels.outcome === outcome).reduce((a, v) => a + v.value, 0);
    return { acceptedTotal: sum("accepted"), rejectedTotal: sum("rejected") };
  }
}

/** Numeric and boolean fields (one level of nesting, numeric arrays by index) as gauges, `...Total` as counters. */
function storageFamilies(snapshot: Record<string, unknown>, taken: Set<string>): string {
  let out = "";
  const emit = (name: string, value: number, labels = "") => {
    if (taken.has(name) && labels === "") return;
    const type = name.endsWith("_total") ? "counter" : "gauge";
    if (!taken.has(name)) out += `# HELP ${name} Storage engine observability: ${name.slice(6).replace(/_/g, " ")}.\n# TYPE ${name} ${type}\n`;
    taken.add(name);
    out += `${name}${labels} ${Number.isFinite(value) ? value : value > 0 ? "+Inf" : value < 0 ? "-Inf" : "NaN"}\n`;
  };
  const walk = (prefix: string, obj: Record<string, unknown>, depth: number) => {
    for (const [key, value] of Object.entries(obj)) {
      const name = `${prefix}_${snake(key)}`;
      if (typeof value === "number") emit(name, value);
      else if (typeof value === "boolean") emit(name, value ? 1 : 0);
      else if (Array.isArray(value) && value.every((v) => typeof v === "number")) value.forEach((v, i) => emit(name, v as number, `{index="${i}"}`));
      else if (value && typeof value === "object" && !Array.isArray(value) && depth < 2) walk(name, value as Record<string, unknown>, depth + 1);
    }
  };
  for (const section of STORAGE_SECTIONS) {
    const value = snapshot[section];
    if (value && typeof value === "object") walk(`tsink_${section}`, value as Record<string, unknown>, 1);
  }
  return out;
}
