// Prometheus HTTP API JSON encoding: Go-compatible float and timestamp spelling and the query result shapes,
// written as JSON text directly so values come out byte-identical to Prometheus' jsonutil marshalling.
import type { QueryData } from "../promql/result.js";

export interface Label {
  name: string;
  value: string;
}

/**
 * Go's strconv.FormatFloat(v, 'f' or 'e', -1, 64) as Prometheus' MarshalFloat picks it: exponent form below 1e-6
 * and from 1e21 up; NaN, +Inf, -Inf spelled out; -0 kept.
 */
export function formatFloat(v: number): string {
  if (Number.isInteger(v) && v !== 0 && v < 1e21 && v > -1e21) return String(v); // the common case, no exponent form
  if (Number.isNaN(v)) return "NaN";
  if (v === Infinity) return "+Inf";
  if (v === -Infinity) return "-Inf";
  if (v === 0) return Object.is(v, -0) ? "-0" : "0";
  // JS switches to exponent form at exactly the same thresholds; only the exponent needs Go's two-digit minimum.
  const s = String(v);
  const e = s.indexOf("e");
  if (e < 0) return s;
  const sign = s[e + 1] === "-" ? "-" : "+";
  const digits = s.slice(e + 2);
  return `${s.slice(0, e)}e${sign}${digits.length < 2 ? `0${digits}` : digits}`;
}

/** Prometheus' MarshalTimestamp: Unix ms as seconds with up to three fraction digits (".500", ".005"). */
export function formatTimestamp(ms: number): string {
  let t = Math.trunc(ms);
  let out = "";
  if (t < 0) {
    out = "-";
    t = -t;
  }
  out += String(Math.trunc(t / 1000));
  const fraction = t % 1000;
  if (fraction !== 0) out += fraction < 10 ? `.00${fraction}` : fraction < 100 ? `.0${fraction}` : `.${fraction}`;
  return out;
}

/** `{"__name__":"x","a":"b"}` with labels in the given (sorted) order. */
export function labelsJson(labels: readonly Label[]): string {
  let out = "{";
  for (let i = 0; i < labels.length; i++) {
    if (i > 0) out += ",";
    out += `${JSON.stringify(labels[i]!.name)}:${JSON.stringify(labels[i]!.value)}`;
  }
  return `${out}}`;
}

function samplePair(ms: number, value: number): string {
  return `[${formatTimestamp(ms)},"${formatFloat(value)}"]`;
}

/** The `data` object of a query or query_range response. */
export function queryResultJson(result: QueryData): string {
  switch (result.resultType) {
    case "scalar":
      return `{"resultType":"scalar","result":${samplePair(result.value[0], result.value[1])}}`;
    case "string":
      return `{"resultType":"string","result":[${formatTimestamp(result.value[0])},${JSON.stringify(result.value[1])}]}`;
    case "vector": {
      const parts = result.result.map((s) => `{"metric":${labelsJson(s.labels)},"value":${samplePair(s.timestamp, s.value)}}`);
      return `{"resultType":"vector","result":[${parts.join(",")}]}`;
    }
    case "matrix": {
      // Series of a range query share the step timestamps: each `[<ts>,"` prefix is formatted once.
      const prefixes = new Map<number, string>();
      const parts = new Array<string>(result.result.length);
      for (let k = 0; k < parts.length; k++) {
        const s = result.result[k]!;
        let out = `{"metric":${labelsJson(s.labels)},"values":[`;
        for (let i = 0; i < s.timestamps.length; i++) {
          const ms = s.timestamps[i]!;
          let prefix = prefixes.get(ms);
          if (prefix === undefined) prefixes.set(ms, (prefix = `[${formatTimestamp(ms)},"`));
          out += `${i > 0 ? "," : ""}${prefix}${formatFloat(s.values[i]!)}"]`;
        }
        parts[k] = `${out}]}`;
      }
      return `{"resultType":"matrix","result":[${parts.join(",")}]}`;
    }
  }
}

/** `{"status":"success","data":<dataJson>}` (plus warnings and infos when there are any). */
export function successJson(dataJson: string, warnings: readonly string[] = [], infos: readonly string[] = []): string {
  const w = warnings.length > 0 ? `,"warnings":${JSON.stringify(warnings)}` : "";
  const i = infos.length > 0 ? `,"infos":${JSON.stringify(infos)}` : "";
  return `{"status":"success","data":${dataJson}${w}${i}}`;
}

export function errorJson(errorType: string, message: string): string {
  return JSON.stringify({ status: "error", errorType, error: message });
}
