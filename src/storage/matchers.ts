// Label matchers (= != =~ !~) and their resolution to series ids via the inverted index. Regexes are fully
// anchored RE2 (Prometheus) syntax, validated with re2js; they run once per distinct label value in the
// dictionary (or per candidate series when that is fewer), never once per series per matcher.
import { RE2JS } from "re2js";
import { TsinkError } from "./errors.js";
import { EMPTY, difference, entryIds, intersect, unionAll } from "./postings.js";
import type { SeriesRegistry } from "./registry.js";
import type { SeriesMatcher, SeriesSelection } from "./types.js";

export const METRIC_LABEL = "__name__";

export type ValuePredicate = (value: string) => boolean;

/** RE2 constructs whose JS RegExp meaning differs or does not exist: such patterns run on re2js itself. */
const NEEDS_RE2 = /\(\?|\\[QEzApPCx]|\[\[:|\\[0-9]/;
const LITERAL_ALTERNATION = /^[A-Za-z0-9_:\-/ ,;=@#%&'"!~<>]*(\|[A-Za-z0-9_:\-/ ,;=@#%&'"!~<>]*)*$/;

/** Compiles a fully anchored regex matcher (`.` matches newlines, as in Prometheus) into a value predicate. */
export function compileRegex(pattern: string): ValuePredicate {
  let re2: RE2JS;
  try {
    re2 = RE2JS.compile(pattern, RE2JS.DOTALL);
  } catch (err) {
    throw new TsinkError("InvalidLabel", `invalid regular expression ${JSON.stringify(pattern)}: ${(err as Error).message}; use RE2 (Prometheus) syntax`, { pattern });
  }
  if (LITERAL_ALTERNATION.test(pattern)) {
    const set = new Set(pattern.split("|"));
    return (v) => set.has(v);
  }
  if (!NEEDS_RE2.test(pattern)) {
    try {
      const js = new RegExp(`^(?:${pattern})$`, "su");
      const prefix = literalPrefix(pattern);
      if (prefix !== "") return (v) => v.startsWith(prefix) && js.test(v);
      return (v) => js.test(v);
    } catch {
      // JS refuses what RE2 accepts (e.g. an unescaped brace): use the RE2 engine
    }
  }
  return (v) => re2.matches(v);
}

/**
 * The literal text every match must start with ("host-1" for "host-1.*"), or "" when unsure: a cheap
 * startsWith pre-filter in front of the regex. Alternations anywhere make it give up.
 */
export function literalPrefix(pattern: string): string {
  if (pattern.includes("|")) return "";
  let i = 0;
  while (i < pattern.length && !".^$*+?()[]{}|\\".includes(pattern[i]!)) i++;
  // a quantifier applies to the last literal character, which is then optional or repeated
  if (i < pattern.length && "*?{".includes(pattern[i]!)) i--;
  return pattern.slice(0, Math.max(0, i));
}

export function predicateOf(m: SeriesMatcher): ValuePredicate {
  switch (m.op) {
    case "=":
      return (v) => v === m.value;
    case "!=":
      return (v) => v !== m.value;
    case "=~":
      return compileRegex(m.value);
    case "!~": {
      const p = compileRegex(m.value);
      return (v) => !p(v);
    }
    default:
      throw new TsinkError("InvalidLabel", `unknown matcher operator ${JSON.stringify((m as { op: unknown }).op)}: use =, !=, =~ or !~`, { op: (m as { op: unknown }).op });
  }
}

/**
 * Series ids (ascending) of visible series matching the selection's metric and matchers.
 * For each matcher p with M = dictionary values of the label that satisfy p and N = the rest:
 * if p("") is false the result is the union of postings(M); if p("") is true (absent labels match),
 * it is the candidates minus postings(N). Selective matchers run first so the others only narrow a set.
 */
export function resolveSelection(reg: SeriesRegistry, sel: SeriesSelection): Uint32Array {
  const matchers: SeriesMatcher[] = [...(sel.matchers ?? [])];
  if (sel.metric !== undefined) matchers.unshift({ name: METRIC_LABEL, op: "=", value: sel.metric });
  const compiled = matchers.map((m) => {
    if (!m || typeof m.name !== "string" || typeof m.value !== "string") {
      throw new TsinkError("InvalidLabel", "a matcher needs a string name, an op and a string value", { matcher: m });
    }
    const p = predicateOf(m);
    return { m, p, matchesEmpty: p("") };
  });
  compiled.sort((a, b) => Number(a.matchesEmpty) - Number(b.matchesEmpty) || rank(a.m) - rank(b.m));
  let cand: Uint32Array | undefined;
  for (const { m, p, matchesEmpty } of compiled) {
    if (cand !== undefined && cand.length === 0) return new Uint32Array(0);
    cand = applyMatcher(reg, cand, m.name, p, matchesEmpty);
  }
  // always hand out an owned array: callers (deletes) change the postings they came from
  return cand === undefined ? reg.universe.view().slice() : cand.slice();
}

const rank = (m: SeriesMatcher): number => (m.op === "=" ? 0 : m.op === "=~" ? 1 : 2);

function applyMatcher(reg: SeriesRegistry, cand: Uint32Array | undefined, name: string, p: ValuePredicate, matchesEmpty: boolean): Uint32Array {
  const strings = reg.dict.strings;
  if (name === METRIC_LABEL) {
    // metric names live in their own postings map
    if (!matchesEmpty && cand === undefined) {
      const lists: Uint32Array[] = [];
      for (const [metricId, e] of reg.metricPostings) if (p(strings[metricId]!)) lists.push(entryIds(e));
      return unionAll(lists);
    }
    const base = cand ?? reg.universe.view();
    return filterCandidates(base, (id) => reg.metricOf[id]!, p, strings, matchesEmpty);
  }
  const nameId = reg.dict.find(name);
  const idx = nameId === undefined ? undefined : reg.labelIndex.get(nameId);
  if (!idx) {
    // nobody has this label: every series has the empty value
    if (!matchesEmpty) return EMPTY;
    return cand ?? reg.universe.view().slice();
  }
  if (cand !== undefined && cand.length < idx.size) {
    // fewer candidates than distinct values: test the candidates' own values (memoised per value id)
    return filterCandidates(cand, (id) => reg.labelValueId(id, nameId!), p, strings, matchesEmpty);
  }
  const lists: Uint32Array[] = [];
  const { valueIds, entries } = idx;
  // values held by one series (e.g. a unique host) are collected as plain ids, not one array each
  let singles: number[] | undefined;
  for (let slot = 0; slot < entries.length; slot++) {
    if (p(strings[valueIds[slot]!]!) === matchesEmpty) continue;
    const e = entries[slot]!;
    if (typeof e === "number") (singles ??= []).push(e);
    else lists.push(e.view());
  }
  if (singles) lists.push(Uint32Array.from(singles).sort());
  if (!matchesEmpty) {
    const union = unionAll(lists);
    return cand === undefined ? union : intersect(cand, union);
  }
  const base = cand ?? reg.universe.view();
  if (lists.length === 0) return cand ?? base.slice();
  return difference(base, unionAll(lists));
}

function filterCandidates(
  cand: Uint32Array,
  valueIdOf: (id: number) => number,
  p: ValuePredicate,
  strings: readonly string[],
  matchesEmpty: boolean,
): Uint32Array {
  const memo = new Map<number, boolean>();
  const out = new Uint32Array(cand.length);
  let n = 0;
  for (let i = 0; i < cand.length; i++) {
    const id = cand[i]!;
    const v = valueIdOf(id);
    let ok: boolean | undefined;
    if (v < 0) ok = matchesEmpty;
    else {
      ok = memo.get(v);
      if (ok === undefined) memo.set(v, (ok = p(strings[v]!)));
    }
    if (ok) out[n++] = id;
  }
  return out.subarray(0, n);
}

