// Metric and label name normalisation shared by the Influx line protocol, StatsD and Graphite parsers (reference
// §4.5): [A-Za-z_] kept, a leading digit gets a `_` prefix, `:` kept in metric names (`_` in label names),
// `. - / space` become `_`, any other byte becomes `_xHH_`. Results are cached: ingest sees the same names again.

const PLAIN_METRIC = /^[A-Za-z_:][A-Za-z0-9_:]*$/;
const PLAIN_LABEL = /^[A-Za-z_][A-Za-z0-9_]*$/;
const CACHE_LIMIT = 10_000;
const metricCache = new Map<string, string>();
const labelCache = new Map<string, string>();
const utf8 = new TextEncoder();

function normalise(raw: string, allowColon: boolean): string {
  let out = "";
  const bytes = utf8.encode(raw);
  for (let i = 0; i < bytes.length; i++) {
    const b = bytes[i]!;
    if ((b >= 97 && b <= 122) || (b >= 65 && b <= 90) || b === 95) out += String.fromCharCode(b);
    else if (b >= 48 && b <= 57) out += i === 0 ? `_${String.fromCharCode(b)}` : String.fromCharCode(b);
    else if (b === 58 && allowColon) out += ":";
    else if (b === 46 || b === 45 || b === 47 || b === 32 || b === 58) out += "_";
    else out += `_x${b.toString(16).padStart(2, "0")}_`;
  }
  return out;
}

function cached(cache: Map<string, string>, raw: string, allowColon: boolean, plain: RegExp): string {
  let hit = cache.get(raw);
  if (hit !== undefined) return hit;
  hit = plain.test(raw) ? raw : normalise(raw, allowColon);
  if (cache.size >= CACHE_LIMIT) cache.clear();
  cache.set(raw, hit);
  return hit;
}

/** Normalised metric name; "" only for an empty input (callers report that as an error). */
export function normaliseMetricName(raw: string): string {
  return cached(metricCache, raw, true, PLAIN_METRIC);
}

/** Normalised label name (`:` becomes `_`); "" only for an empty input. */
export function normaliseLabelName(raw: string): string {
  return cached(labelCache, raw, false, PLAIN_LABEL);
}
