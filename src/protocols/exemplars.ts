// Exemplars as the ingest decoders hand them over (remote write, text import, OTLP): the series they belong to
// (a validated SeriesKey, tenant label included), their own labels, timestamp in the server precision and value.
// Plus the one check of an exemplar's label set every protocol shares. Pure: no store here (server/exemplar-store.ts).
import { ProtocolError } from "./errors.js";
import { type Label, MAX_LABEL_VALUE_BYTES, excerpt, isValidLabelName } from "./series-validation.js";
import type { SeriesKey } from "../storage/types.js";

export interface DecodedExemplar {
  series: SeriesKey;
  /** The exemplar's own labels (trace_id, span_id, ...), sorted by name. */
  labels: readonly Label[];
  /** In the server's timestamp precision (a bigint for ns). */
  timestamp: number | bigint;
  value: number;
}

/** Checks an exemplar's labels (names as for series labels, values within the label size limit, no duplicates); returns them sorted. */
export function validateExemplarLabels(labels: Label[], where: string): Label[] {
  const sorted = labels.length > 1 ? [...labels].sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0)) : labels;
  for (let i = 0; i < sorted.length; i++) {
    const { name, value } = sorted[i]!;
    if (!isValidLabelName(name)) throw new ProtocolError("malformed", `${where}: invalid exemplar label name ${excerpt(name)}`);
    if (i > 0 && sorted[i - 1]!.name === name) throw new ProtocolError("malformed", `${where}: duplicate exemplar label ${excerpt(name)}`);
    if (Buffer.byteLength(value) > MAX_LABEL_VALUE_BYTES) {
      throw new ProtocolError("malformed", `${where}: value of exemplar label ${excerpt(name)} is longer than ${MAX_LABEL_VALUE_BYTES} bytes`);
    }
  }
  return sorted;
}
