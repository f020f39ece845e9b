// The faster peer's figure per peerbench query at 10k x 240 (ms), against which issue 5 asks each of our query medians
// to be within 1.5x: the lowest median of Prometheus 2.42 and VictoriaMetrics 1.79 over the lead's four quiet
// `npm run bench:peers -- --series 10000 --points 240` runs of 2026-11-26 (docs/peer-results/20261126-1406*, -1408*,
// -1443*, -1445*), i.e. the strictest figure either peer reached.
export const FASTER_PEER_MS = {
  q01: 24.8, q02: 2.9, q03: 1.2, q04: 2.7, q05: 11.3, q06: 12.8, q07: 1.2, q08: 3.6, q09: 18.2, q10: 0.9,
  q11: 1.7, q12: 4.6, q13: 0.9, q14: 0.5, q15: 15.0, q16: 0.5, q17: 0.7, q18: 14.5, q19: 34.9,
};
export const LIMIT = 1.5;
