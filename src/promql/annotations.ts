// PromQL annotations: the warnings and infos a query returns beside its result (Prometheus' util/annotations),
// with Prometheus' message texts, de-duplication and "(line:column)" positions.

import type { PositionRange } from "./ast.js";
import { goQuote } from "./parser/errors.js";

export type AnnotationKind = "warning" | "info";

interface Annotation {
  kind: AnnotationKind;
  message: string;
  pos: PositionRange;
}

/** Annotations collected while one query is evaluated; equal messages are kept once (the last position wins). */
export class Annotations {
  private readonly byMessage = new Map<string, Annotation>();

  warn(message: string, pos: PositionRange): void {
    this.byMessage.set(`PromQL warning: ${message}`, { kind: "warning", message: `PromQL warning: ${message}`, pos });
  }

  info(message: string, pos: PositionRange): void {
    this.byMessage.set(`PromQL info: ${message}`, { kind: "info", message: `PromQL info: ${message}`, pos });
  }

  /**
   * The annotations as Prometheus' API spells them, "<message> (<line>:<column>)" with the position counted in bytes
   * of `query`. At most `max` per kind (0: all); the rest are summarised as "N more ... annotations omitted".
   */
  asStrings(query: string, max = 0): { warnings: string[]; infos: string[] } {
    const warnings: string[] = [];
    const infos: string[] = [];
    let warnSkipped = 0;
    let infoSkipped = 0;
    for (const a of this.byMessage.values()) {
      const text = `${a.message} (${positionInQuery(query, a.pos.start)})`;
      const list = a.kind === "warning" ? warnings : infos;
      if (max === 0 || list.length < max) list.push(text);
      else if (a.kind === "warning") warnSkipped++;
      else infoSkipped++;
    }
    if (warnSkipped > 0) warnings.push(`${warnSkipped} more warning annotations omitted`);
    if (infoSkipped > 0) infos.push(`${infoSkipped} more info annotations omitted`);
    return { warnings, infos };
  }
}

/** Prometheus' PositionRange.StartPosInput: 1-based line and byte column of a UTF-16 offset into the query. */
export function positionInQuery(query: string, offset: number): string {
  if (offset < 0 || offset > query.length) return "invalid position";
  const before = query.slice(0, offset);
  const lastBreak = before.lastIndexOf("\n");
  let line = 1;
  for (let i = before.indexOf("\n"); i >= 0; i = before.indexOf("\n", i + 1)) line++;
  const column = Buffer.byteLength(before.slice(lastBreak + 1), "utf8") + 1;
  return `${line}:${column}`;
}

/** Go's %g for a float64: shortest digits, exponent form ("1e+06", "1e-05") when the exponent is < -4 or >= 6. */
export function formatGoG(v: number): string {
  if (Number.isNaN(v)) return "NaN";
  if (v === Infinity) return "+Inf";
  if (v === -Infinity) return "-Inf";
  if (v === 0) return Object.is(v, -0) ? "-0" : "0";
  const [mantissa, expText] = v.toExponential().split("e");
  const exp = Number(expText);
  if (exp < -4 || exp >= 6) return `${mantissa}e${exp < 0 ? "-" : "+"}${String(Math.abs(exp)).padStart(2, "0")}`;
  return String(v);
}

/** Message texts of the annotations tsink emits (Prometheus 3 wording). */
export const annotationMessages = {
  invalidQuantile: (q: number) => `quantile value should be between 0 and 1, got ${formatGoG(q)}`,
  invalidRatio: (ratio: number, capped: number) => `ratio value should be between -1 and 1, got ${formatGoG(ratio)}, capping to ${formatGoG(capped)}`,
  badBucketLabel: (metricName: string, le: string) => withMetricName(`bucket label "le" is missing or has a malformed value of ${goQuote(le)}`, metricName),
  possibleNonCounter: (metricName: string) => `metric might not be a counter, name does not end in _total/_sum/_count/_bucket: ${goQuote(metricName)}`,
  forcedMonotonicity: (metricName: string) =>
    withMetricName("input to histogram_quantile needed to be fixed for monotonicity (see https://prometheus.io/docs/prometheus/latest/querying/functions/#histogram_quantile)", metricName),
  sortInRangeQuery: () => "sort is ineffective for range queries since results are always ordered by labels",
};

function withMetricName(message: string, metricName: string): string {
  return metricName === "" ? message : `${message} for metric name ${goQuote(metricName)}`;
}

/** Warns once per distinct quantile parameter outside [0, 1] (NaN included), at the parameter's position. */
export function warnInvalidQuantiles(annotations: Annotations, qs: ArrayLike<number>, pos: PositionRange, steps?: ArrayLike<number>): void {
  for (let i = 0; i < qs.length; i++) {
    if (steps && !steps[i]) continue;
    const q = qs[i];
    if (!(q >= 0 && q <= 1)) annotations.warn(annotationMessages.invalidQuantile(q), pos);
  }
}

/** limit_ratio's warning for ratios outside [-1, 1] (which it caps to the nearer bound). */
export function warnCappedRatios(annotations: Annotations, ratios: ArrayLike<number>, pos: PositionRange): void {
  for (let i = 0; i < ratios.length; i++) {
    const r = ratios[i];
    if (r < -1 || r > 1) annotations.warn(annotationMessages.invalidRatio(r, r < -1 ? -1 : 1), pos);
  }
}
