// Self-instrumentation for GET /metrics: the tsink_* families (prom-client registry), fed by the routes' counters
// and by gauges read from storage and the admission gates at scrape time.
import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from "prom-client";

export interface MetricsSources {
  startedAtMs: number;
  storageStats(): { memoryUsedBytes: number; memoryBudgetBytes: number; seriesCount: number } | undefined;
  walStats(): { enabled: boolean; sizeBytes?: number; segments?: number } | undefined;
  inflight(): { writeRequests: number; readRequests: number };
}

export class ServerMetrics {
  readonly registry = new Registry();
  readonly ingestSamples: Counter<"protocol">;
  readonly ingestRequests: Counter<"protocol" | "code">;
  readonly ingestRejected: Counter<"protocol" | "reason">;
  readonly queryRequests: Counter<"endpoint" | "code">;
  readonly queryDuration: Histogram<"endpoint">;
  readonly exemplarsRejected: Counter;
  /** Remote-write side payloads (metadata, exemplars, histograms) accepted or rejected. */
  readonly payloads: Counter<"kind" | "outcome">;
  readonly admissionRejections: Counter<"surface" | "reason">;

  constructor(sources: MetricsSources) {
    const registers = [this.registry];
    collectDefaultMetrics({ register: this.registry });
    new Gauge({
      name: "tsink_uptime_seconds", help: "Seconds since the server started.", registers,
      collect() { this.set((Date.now() - sources.startedAtMs) / 1000); },
    });
    new Gauge({
      name: "tsink_memory_used_bytes", help: "Bytes held by the storage engine (active and sealed data).", registers,
      collect() { const s = sources.storageStats(); if (s) this.set(s.memoryUsedBytes); },
    });
    new Gauge({
      name: "tsink_memory_budget_bytes", help: "Configured storage memory budget in bytes.", registers,
      collect() { const s = sources.storageStats(); if (s) this.set(s.memoryBudgetBytes); },
    });
    new Gauge({
      name: "tsink_series_total", help: "Number of series in storage (all tenants).", registers,
      collect() { const s = sources.storageStats(); if (s) this.set(s.seriesCount); },
    });
    new Gauge({
      name: "tsink_wal_enabled", help: "1 when the write-ahead log is on.", registers,
      collect() { const w = sources.walStats(); if (w) this.set(w.enabled ? 1 : 0); },
    });
    new Gauge({
      name: "tsink_wal_size_bytes", help: "Bytes in write-ahead log segments.", registers,
      collect() { const w = sources.walStats(); if (w?.sizeBytes !== undefined) this.set(w.sizeBytes); },
    });
    new Gauge({
      name: "tsink_wal_segments", help: "Number of write-ahead log segments.", registers,
      collect() { const w = sources.walStats(); if (w?.segments !== undefined) this.set(w.segments); },
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
    this.exemplarsRejected = new Counter({
      name: "tsink_exemplar_rejected_total", help: "Exemplars refused (no exemplar store in this build).", registers,
    });
    this.payloads = new Counter({
      name: "tsink_ingest_payloads_total", help: "Remote-write metadata, exemplars and histograms by outcome.",
      labelNames: ["kind", "outcome"], registers,
    });
    this.admissionRejections = new Counter({
      name: "tsink_admission_rejections_total", help: "Requests refused by admission control.", labelNames: ["surface", "reason"], registers,
    });
  }

  /** `{acceptedTotal, rejectedTotal}` of one payload kind, for /api/v1/status/tsdb. */
  async payloadTotals(kind: string): Promise<{ acceptedTotal: number; rejectedTotal: number }> {
    const { values } = await this.payloads.get();
    const sum = (outcome: string) =>
      values.filter((v) => v.labels.kind === kind && v.labels.outcome === outcome).reduce((a, v) => a + v.value, 0);
    return { acceptedTotal: sum("accepted"), rejectedTotal: sum("rejected") };
  }
}
