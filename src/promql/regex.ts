// Prometheus label regexes for the PromQL layer: RE2 syntax (re2js, linear time), fully anchored, `.` matching
// newlines, compiled once per distinct pattern (bounded cache, so user-supplied patterns cannot grow it forever).
import { RE2JS } from "re2js";

const MAX_CACHED = 1024;
const cache = new Map<string, RE2JS>();

/** Compiles `^(?s:pattern)$`; throws re2js' error for an invalid pattern. */
export function anchoredRegex(pattern: string): RE2JS {
  let re = cache.get(pattern);
  if (re === undefined) {
    re = RE2JS.compile("^(?s:" + pattern + ")$");
    if (cache.size >= MAX_CACHED) cache.clear();
    cache.set(pattern, re);
  }
  return re;
}
