// Turns label matchers (from remote read or parsed `match[]` selectors) into a storage SeriesSelection:
// an equality matcher on __name__ becomes the selection's metric, every other matcher is kept as is.
import type { SeriesMatcher, SeriesSelection } from "../../storage/types.js";
import { METRIC_NAME_LABEL } from "../../protocols/series-validation.js";

export function selectionFromMatchers(matchers: readonly SeriesMatcher[]): SeriesSelection {
  const rest: SeriesMatcher[] = [];
  let metric: string | undefined;
  for (const m of matchers) {
    if (m.name === METRIC_NAME_LABEL && m.op === "=" && metric === undefined) metric = m.value;
    else rest.push({ name: m.name, op: m.op, value: m.value });
  }
  return metric !== undefined ? { metric, matchers: rest } : { matchers: rest };
}
