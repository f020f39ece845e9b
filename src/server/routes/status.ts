// The /api/v1/status/tsdb body: Prometheus' headStats and top-10 cardinality lists for the tenant, plus tsink's
// own keys (memory, the storage observability snapshot with WAL/flush/compaction, payload counters, admission).
import { METRIC_NAME_LABEL } from "../../protocols/series-validation.js";
import type { Runtime } from "../runtime.js";
import { scopeSelection, stripTenantLabel } from "../tenancy.js";

function top10(counts: Map<string, number>): { name: string; value: number }[] {
  return [...counts.entries()]
    .sort((a, b) => b[1] - a[1] || (a[0] < b[0] ? -1 : 1))
    .slice(0, 10)
    .map(([name, value]) => ({ name, value }));
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
  const { features } = rt.config;
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
      localCapabilities: { metadata: true, exemplars: false, histograms: false, samplesResponse: true, chunkedStreaming: false },
      metadata: { enabled: features.metadataEnabled, ...(await rt.metrics.payloadTotals("metadata")) },
      exemplars: { enabled: false, ...(await rt.metrics.payloadTotals("exemplars")) },
      histograms: { enabled: false, ...(await rt.metrics.payloadTotals("histograms")) },
    },
    admission: {
      write: { maxInflightRequests: rt.config.limits.writeMaxInflightRequests, maxInflightRows: rt.config.limits.writeMaxInflightRows, inflightRequests: rt.writeGate.inflightRequests },
      read: { maxInflightRequests: rt.config.limits.readMaxInflightRequests, maxInflightQueries: rt.config.limits.readMaxInflightQueries, inflightRequests: rt.readGate.inflightRequests },
    },
  };
}
