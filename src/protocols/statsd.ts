// StatsD / DogStatsD packets to sample columns (reference §4.5): `name:value|type[|@rate][|#k:v,k2]` events, one per line;
// counters divided by their sample rate, gauges absolute or +/- relative to the last value of the series, timers,
// histograms, distributions and sets. Every event is written at the receive time (no flush interval, as the
// reference). A bad event drops the whole packet, and relative gauges only move when the whole packet is accepted.
// Hand-written: npm's statsd packages are the daemon and clients, not parsers; the format is one short line per event.
import { ProtocolError } from "./errors.js";
import { normaliseLabelName, normaliseMetricName } from "./legacy-names.js";
import type { MetricMetadataUpdate } from "./remote.js";
import { SeriesKey } from "../storage/types.js";
import { SampleColumnsBuilder } from "./sample-columns.js";
import { type Label, excerpt, validateSeries } from "./series-validation.js";

export interface StatsdOptions {
  /** Receive time in the server precision. */
  now: number | bigint;
  maxPacketBytes: number;
  maxEventsPerPacket: number;
  tenantLabel?: Label;
}

export interface ParsedStatsdPacket {
  columns: SampleColumnsBuilder;
  metadata: MetricMetadataUpdate[];
  /** Relative-gauge values to keep once the samples are stored (see `commitGauges`). */
  gauges: Map<string, number>;
}

/** Last value per gauge series (metric plus sorted labels), the base of `+N`/`-N` updates. */
export type StatsdGaugeState = Map<string, number>;

const FLOAT_RE = /^[+-]?(?:\d+\.?\d*|\.\d+)(?:[eE][+-]?\d+)?$/;
const TYPES: Record<string, { type: string; help: string }> = {
  c: { type: "counter", help: "StatsD counter sample" },
  g: { type: "gauge", help: "StatsD gauge sample" },
  ms: { type: "summary", help: "StatsD timer sample in milliseconds" },
  h: { type: "histogram", help: "StatsD histogram sample" },
  d: { type: "histogram", help: "StatsD distribution sample" },
  s: { type: "stateset", help: "StatsD set membership event" },
};
const utf8 = new TextDecoder("utf-8", { fatal: true });

class EventError extends Error {}

function finite(text: string, what: string): number {
  if (!FLOAT_RE.test(text)) throw new EventError(`invalid ${what} ${excerpt(text)}`);
  const v = Number(text);
  if (!Number.isFinite(v)) throw new EventError(`${what} ${excerpt(text)} is not finite`);
  return v;
}

/** The reference's float label format: integers without a fraction ("1"), others as shortest round-trip text. */
function canonicalFloat(v: number): string {
  return Number.isInteger(v) ? v.toFixed(0) : String(v);
}

function seriesKey(metric: string, labels: Label[]): string {
  let key = metric + "{";
  for (const l of labels) key += `${l.name}=${JSON.stringify(l.value)},`;
  return key + "}";
}

/** Parses one datagram. Throws ProtocolError ("too_large" for the size/event limits) naming the event line. */
export function parseStatsdPacket(packet: Uint8Array, opts: StatsdOptions, gaugeState: StatsdGaugeState): ParsedStatsdPacket {
  if (packet.length > opts.maxPacketBytes) {
    throw new ProtocolError("too_large", `statsd packet of ${packet.length} bytes exceeds TSINK_STATSD_MAX_PACKET_BYTES (${opts.maxPacketBytes})`);
  }
  let text: string;
  try {
    text = utf8.decode(packet);
  } catch {
    throw new ProtocolError("malformed", "statsd packet is not valid UTF-8");
  }
  const columns = new SampleColumnsBuilder(typeof opts.now === "bigint");
  const metadata = new Map<string, MetricMetadataUpdate>();
  const gauges = new Map<string, number>();
  let events = 0;
  const lines = text.split("\n");
  for (let i = 0; i < lines.length; i++) {
    const line = lines[i]!.trim();
    if (line.length === 0) continue;
    if (++events > opts.maxEventsPerPacket) {
      throw new ProtocolError("too_large", `statsd packet has more than ${opts.maxEventsPerPacket} events (TSINK_STATSD_MAX_EVENTS_PER_PACKET)`);
    }
    try {
      parseEvent(line, opts, gaugeState, gauges, columns, metadata);
    } catch (err) {
      if (err instanceof EventError || err instanceof ProtocolError) {
        throw new ProtocolError("malformed", `statsd line ${i + 1}: ${err.message}: ${excerpt(line, 120)}`);
      }
      throw err;
    }
  }
  return { columns, metadata: [...metadata.values()], gauges };
}

/** Keeps the relative-gauge values of an accepted packet. */
export function commitGauges(state: StatsdGaugeState, accepted: Map<string, number>): void {
  for (const [k, v] of accepted) state.set(k, v);
}

function parseEvent(
  line: string, opts: StatsdOptions, state: StatsdGaugeState, staged: Map<string, number>, out: SampleColumnsBuilder, metadata: Map<string, MetricMetadataUpdate>,
): void {
  const colon = line.indexOf(":");
  if (colon < 0) throw new EventError("missing ':' between name and value");
  const rawName = line.slice(0, colon);
  if (rawName.length === 0) throw new EventError("empty metric name");
  const segments = line.slice(colon + 1).split("|");
  if (segments.length < 2) throw new EventError("missing '|type'");
  const rawValue = segments[0]!;
  const kind = segments[1]!.toLowerCase();
  const info = TYPES[kind];
  if (!info) throw new EventError(`unsupported type ${excerpt(segments[1]!)}`);
  let rate: number | undefined;
  const labels: Label[] = [];
  for (let s = 2; s < segments.length; s++) {
    const seg = segments[s]!;
    if (seg.startsWith("@")) {
      if (rate !== undefined) throw new EventError("more than one sample rate");
      rate = finite(seg.slice(1), "sample rate");
      if (!(rate > 0 && rate <= 1)) throw new EventError(`sample rate ${rate} outside (0, 1]`);
    } else if (seg.startsWith("#")) {
      for (const tag of seg.slice(1).split(",")) {
        if (tag.length === 0) continue;
        const sep = tag.indexOf(":");
        const rawTag = sep < 0 ? tag : tag.slice(0, sep);
        const value = (sep < 0 ? "true" : tag.slice(sep + 1)).trim();
        if (rawTag.length === 0) throw new EventError("empty tag name");
        if (value.length === 0) throw new EventError(`tag ${excerpt(rawTag)} has an empty value`);
        labels.push({ name: normaliseLabelName(rawTag), value });
      }
    } else {
      throw new EventError(`unsupported segment ${excerpt(seg)}`);
    }
  }
  const metric = normaliseMetricName(rawName);
  let value: number;
  switch (kind) {
    case "c":
      value = finite(rawValue, "counter value") / (rate ?? 1);
      break;
    case "g": {
      if (rate !== undefined) throw new EventError("gauges take no sample rate");
      const sorted = validateSeries(metric, labels);
      const key = seriesKey(metric, sorted);
      const sign = rawValue.charCodeAt(0);
      if (sign === 43 /* + */ || sign === 45 /* - */) {
        const delta = finite(rawValue.slice(1), "gauge delta");
        const last = staged.get(key) ?? state.get(key) ?? 0;
        value = sign === 43 ? last + delta : last - delta;
      } else {
        value = finite(rawValue, "gauge value");
      }
      staged.set(key, value);
      break;
    }
    case "s":
      if (rate !== undefined) throw new EventError("sets take no sample rate");
      if (rawValue.length === 0) throw new EventError("empty set member");
      labels.push({ name: "statsd_set_member", value: rawValue });
      value = 1;
      break;
    default:
      if (rate !== undefined) labels.push({ name: "statsd_sample_rate", value: canonicalFloat(rate) });
      value = finite(rawValue, kind === "ms" ? "timer value" : kind === "h" ? "histogram value" : "distribution value");
  }
  out.add(new SeriesKey(metric, validateSeries(metric, labels, opts.tenantLabel)), opts.now, value);
  if (!metadata.has(metric)) metadata.set(metric, { metric, type: info.type, help: info.help, unit: "" });
}
