// The /api/v1/status/tsdb body: Prometheus' headStats and top-10 cardinality lists for the tenant, plus tsink's
// own keys (memory, the storage observability snapshot with WAL/flush/compaction, payload counters, the exemplar
// store, rules, admission, and the state of the OTLP / Influx / StatsD / Graphite front ends).
import { influxSeriesCacheStats } from "../../protocols/influx-line.js";
import { METRIC_NAME_LABEL } from "../../protocols/series-validation.js";
import type { IngestProtocol } from "../protocol-ingest.js";
import type { Runtime } from "../runtime.js";
import { scopeSelection, stripTenantLabel } from "../tenancy.js";

function top10(counts: Map<string, number>): { name: string; value: number }[] {
  return [...counts.entries()]
    .sort((a, b) => b[1] - a[1] || (a[0] < b[0] ? -1 : 1))
    .slice(0, 10)
    .map(([name, value]) => ({ name, value }));
}

/**
 * Server-wide (all tenants) counters of one protocol: requests (packets, line batches) stored, requests refused
 * (including StatsD packets dropped from a full queue), samples stored.
 */
async function protocolTotals(rt: Runtime, protocol: IngestProtocol): Promise<{ acceptedTotal: number; rejectedTotal: number; samplesTotal: number }> {
  const total = (values: { labels: Record<string, string | number | undefined>; value: number }[], keep = (_code: number) => true) =>
    values.filter((v) => v.labels.protocol === protocol && keep(Number(v.labels.code))).reduce((a, v) => a + v.value, 0);
  const requests = (await rt.metrics.ingestRequests.get()).values;
  return {
    acceptedTotal: total(requests, (code) => code < 400),
    rejectedTotal: total((await rt.metrics.ingestRejected.get()).values),
    samplesTotal: total((await rt.metrics.ingestSamples.get()).values),
  };
}

export async function tsdbStatus(rt: Runtime, tenant: string): Promise<Record<string, unknown>> {
  const storage = rt.storage();
  const series = await storage.selectSeries(scopeSelection({}, tenant));
  const byMetric = new Map<string, number>();
  const valuesByLabel = new Map<string, Set<string>>();
  const byPair = new Map<string, number>();
  let labelPairs = 0;
  for (const s of series) {
    byMetric.set(s.name, (byMetric.get(s.name) ?? 0) + 1);
    for (const l of [{ name: METRIC_NAME_LABEL, value: s.name }, ...stripTenantLabel(s.labels)]) {
      labelPairs++;
      let values = valuesByLabel.get(l.name);
      if (!values) valuesByLabel.set(l.name, (values = new Set()));
      values.add(l.value);
      const pair = `${l.name}=${l.value}`;
      byPair.set(pair, (byPair.get(pair) ?? 0) + 1);
    }
  }
  const observability = storage.observabilitySnapshot();
  const { features, protocols } = rt.config;
  const listener = (cfg: { listen: { host: string; port: number }; tenant: string } | undefined) =>
    cfg ? { enabled: true, listen: `${cfg.listen.host}:${cfg.listen.port}`, tenant: cfg.tenant } : { enabled: false };
  return {
    headStats: { numSeries: series.length, numLabelPairs: labelPairs },
    seriesCountByMetricName: top10(byMetric),
    labelValueCountByLabelName: top10(new Map([...valuesByLabel].map(([k, v]) => [k, v.size]))),
    seriesCountByLabelValuePair: top10(byPair),
    tenantId: tenant,
    seriesCount: series.length,
    memoryUsedBytes: storage.memoryUsed(),
    memoryBudgetBytes: Number.isFinite(storage.memoryBudget()) ? storage.memoryBudget() : null,
    storage: observability,
    timestampPrecision: rt.config.timestampPrecision,
    retentionMs: rt.config.retentionMs,
    prometheusPayloads: {
      localCapabilities: { metadata: true, exemplars: true, histograms: false, samplesResponse: true, chunkedStreaming: false },
      metadata: { enabled: features.metadataEnabled, ...(await rt.metrics.payloadTotals("metadata")) },
      exemplars: { enabled: features.exemplarsEnabled, ...(await rt.metrics.payloadTotals("exemplars")) },
      histograms: { enabled: false, ...(await rt.metrics.payloadTotals("histograms")) },
    },
    otlpMetrics: {
      enabled: protocols.otlpEnabled,
      supportedKinds: ["gauge", "sum", "histogram", "summary", "exponential_histogram"],
      exemplarsStored: true,
      ...(await protocolTotals(rt, "otlp")),
    },
    exemplarStore: { ...rt.exemplars.stats(), persisted: rt.config.dataPath !== undefined },
    legacyIngest: {
      influxLineProtocol: {
        enabled: protocols.influxEnabled,
        maxLinesPerRequest: protocols.influxMaxLinesPerRequest,
        seriesCache: influxSeriesCacheStats(),
        ...(await protocolTotals(rt, "influx_line")),
      },
      statsd: {
        ...listener(protocols.statsd),
        ...(protocols.statsd ? { maxPacketBytes: protocols.statsd.maxPacketBytes, maxEventsPerPacket: protocols.statsd.maxEventsPerPacket } : {}),
        ...(await protocolTotals(rt, "statsd")),
      },
      graphite: { ...listener(protocols.graphite), ...(protocols.graphite ? { maxLineBytes: protocols.graphite.maxLineBytes } : {}), ...(await protocolTotals(rt, "graphite")) },
    },
    rules: rt.rules.metrics(),
    admission: {
      write: { maxInflightRequests: rt.config.limits.writeMaxInflightRequests, maxInflightRows: rt.config.limits.writeMaxInflightRows, inflightRequests: rt.writeGate.inflightRequests },
      read: { maxInflightRequests: rt.config.limits.readMaxInflightRequests, maxInflightQueries: rt.config.limits.readMaxInflightQueries, inflightRequests: rt.readGate.inflightRequests },
    },
  };
}
