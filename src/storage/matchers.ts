// Label matchers (= != =~ !~) and their resolution to series ids via the inverted index. Regexes are fully
// anchored RE2 (Prometheus) syntax, validated with re2js; literal alternations become value lookups, literal
// prefixes ranges of the label's value order; otherwise they run once per distinct label value (or per candidate
// series when that is fewer), never once per series per matcher.
import { RE2JS } from "re2js";
import { TsinkError } from "./errors.js";
import { EMPTY, difference, entryIds, intersect, unionAll } from "./postings.js";
import type { LabelValues, SeriesRegistry } from "./registry.js";
import type { SeriesMatcher, SeriesSelection } from "./types.js";

export const METRIC_LABEL = "__name__";

export type ValuePredicate = (value: string) => boolean;

/** RE2 constructs whose JS RegExp meaning differs or does not exist: such patterns run on re2js itself. */
const NEEDS_RE2 = /\(\?|\\[QEzApPCx]|\[\[:|\\[0-9]/;
/** Characters that stand for themselves after a backslash (ASCII punctuation). */
const ESCAPED_LITERAL = /^[!-/:-@[-`{-~]$/;
const LITERAL_ALTERNATION = /^[A-Za-z0-9_:\-/ ,;=@#%&'"!~<>]*(\|[A-Za-z0-9_:\-/ ,;=@#%&'"!~<>]*)*$/;

/** Compiled predicates by pattern: queries repeat their regexes (and the server adds one per read, the default
 * tenant's `default|`), and compiling with re2js costs ~0.1-0.5 ms each. Bounded: user patterns cannot grow it forever. */
const MAX_CACHED_REGEXES = 1024;
const regexCache = new Map<string, ValuePredicate>();
/** Index plans by pattern (read only once made), bounded the same way. */
const planCache = new Map<string, RegexPlan>();

/** Compiles a fully anchored regex matcher (`.` matches newlines, as in Prometheus) into a value predicate. */
function compileRegex(pattern: string): ValuePredicate {
  let p = regexCache.get(pattern);
  if (p === undefined) {
    p = compileRegexUncached(pattern); // an invalid pattern throws and is not cached
    if (regexCache.size >= MAX_CACHED_REGEXES) regexCache.clear();
    regexCache.set(pattern, p);
  }
  return p;
}

function compileRegexUncached(pattern: string): ValuePredicate {
  let re2: RE2JS;
  try {
    re2 = RE2JS.compile(pattern, RE2JS.DOTALL);
  } catch (err) {
    throw new TsinkError("InvalidLabel", `invalid regular expression ${JSON.stringify(pattern)}: ${(err as Error).message}; use RE2 (Prometheus) syntax`, { pattern });
  }
  if (pattern === ".*") return () => true;
  if (pattern === ".+") return (v) => v !== "";
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
 * What a (valid) regex tells about the values it can match, so the label-value index narrows the values to
 * test: "any" (.*, every value and the empty one), "values" (an alternation of literals: exactly these),
 * "prefixes" (every match starts with one of these non-empty, non-overlapping literals; with `all`, as in
 * `host-99.*`, every value that does is a match) or "scan" (test all).
 */
export type RegexPlan =
  | { kind: "any" }
  | { kind: "scan" }
  | { kind: "values"; values: string[] }
  | { kind: "prefixes"; prefixes: string[]; all: boolean };

export function regexPlan(pattern: string): RegexPlan {
  if (pattern === ".*") return { kind: "any" };
  const branches = topLevelAlternatives(pattern);
  if (branches === undefined) return { kind: "scan" };
  const literals: string[] = [];
  const prefixes: string[] = [];
  let all = true;
  for (const b of branches) {
    const { prefix, whole, rest } = branchPrefix(b);
    if (whole) literals.push(prefix);
    else if (prefix === "") return { kind: "scan" };
    else {
      prefixes.push(prefix);
      // `.` matches anything here (RE2 DOTALL)
      if (rest !== ".*") all = false;
    }
  }
  if (literals.length > 0) all = false;
  if (prefixes.length === 0) return { kind: "values", values: [...new Set(literals)] };
  // a literal is a prefix of itself; keep only prefixes not covered by a shorter one, so ranges are disjoint
  const sorted = [...prefixes, ...literals].sort();
  const kept: string[] = [];
  for (const x of sorted) if (kept.length === 0 || !x.startsWith(kept[kept.length - 1]!)) kept.push(x);
  return { kind: "prefixes", prefixes: kept, all };
}

/** The pattern split at its top-level `|` (not inside groups or classes), or undefined when unsure. */
function topLevelAlternatives(pattern: string): string[] | undefined {
  const out: string[] = [];
  let depth = 0;
  let from = 0;
  for (let i = 0; i < pattern.length; i++) {
    const c = pattern[i]!;
    if (c === "\\") i++;
    else if (c === "(") depth++;
    else if (c === ")") depth--;
    else if (c === "[") {
      // a class: a leading ^ and a leading ] are part of it; skip to its closing ]
      i++;
      if (pattern[i] === "^") i++;
      if (pattern[i] === "]") i++;
      while (i < pattern.length && pattern[i] !== "]") {
        if (pattern[i] === "\\") i++;
        else if (pattern[i] === "[" && pattern[i + 1] === ":") return undefined; // [[:alpha:]]: give up
        i++;
      }
    } else if (c === "|" && depth === 0) {
      out.push(pattern.slice(from, i));
      from = i + 1;
    }
  }
  if (depth !== 0) return undefined;
  out.push(pattern.slice(from));
  return out;
}

/** The literal text every match of `branch` starts with, whether it is the whole branch, and what follows it. */
function branchPrefix(branch: string): { prefix: string; whole: boolean; rest: string } {
  let prefix = "";
  let i = 0;
  let lastLen = 0; // code units of the last literal character (a quantifier after it makes it optional)
  while (i < branch.length) {
    const c = branch[i]!;
    if (c === "\\") {
      const next = branch[i + 1];
      // only an escaped ASCII punctuation character is a plain literal
      if (next === undefined || !ESCAPED_LITERAL.test(next)) break;
      prefix += next;
      lastLen = 1;
      i += 2;
    } else if (".^$*+?()[]{}|".includes(c)) {
      break;
    } else {
      const cp = branch.codePointAt(i)!;
      lastLen = cp > 0xffff ? 2 : 1;
      prefix += branch.slice(i, i + lastLen);
      i += lastLen;
    }
  }
  if (i === branch.length) return { prefix, whole: true, rest: "" };
  const c = branch[i]!;
  // the quantified character is no longer part of the prefix (nor, as "rest" does not hold it, of what follows)
  if (c === "*" || c === "?" || c === "{") return { prefix: prefix.slice(0, prefix.length - lastLen), whole: false, rest: "?" };
  return { prefix, whole: false, rest: branch.slice(i) };
}

/**
 * The literal text every match must start with ("host-1" for "host-1.*"), or "" when unsure: a cheap
 * startsWith pre-filter in front of the regex. Alternations anywhere make it give up.
 */
function literalPrefix(pattern: string): string {
  if (pattern.includes("|")) return "";
  return branchPrefix(pattern).prefix;
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
 * The values S whose postings a matcher collects (see resolveSelection), when S is "the values the matcher's
 * positive form (= or =~) accepts" and that form rejects "": then the label-value index finds S through exact
 * lookups or value-order ranges, and `test` (the positive form) confirms each value found.
 */
interface IndexedSet {
  plan: RegexPlan;
  test: ValuePredicate;
}

function indexedSet(m: SeriesMatcher): IndexedSet | undefined {
  if (m.value === "") return undefined;
  if (m.op === "=" || m.op === "!=") return { plan: { kind: "values", values: [m.value] }, test: (v) => v === m.value };
  const test = compileRegex(m.value);
  if (test("")) return undefined;
  let plan = planCache.get(m.value);
  if (plan === undefined) {
    plan = regexPlan(m.value);
    if (planCache.size >= MAX_CACHED_REGEXES) planCache.clear();
    planCache.set(m.value, plan);
  }
  return plan.kind === "scan" ? undefined : { plan, test };
}

/**
 * Series ids (ascending) of visible series matching the selection's metric and matchers.
 * For each matcher p with M = dictionary values of the label that satisfy p and N = the rest:
 * if p("") is false the result is the union of postings(M); if p("") is true (absent labels match),
 * it is the candidates minus postings(N). Selective matchers run first so the others only narrow a set.
 * `.*` matches every series (it is skipped), and `!~ ".*"` none.
 */
export function resolveSelection(reg: SeriesRegistry, sel: SeriesSelection): Uint32Array {
  const matchers: SeriesMatcher[] = [...(sel.matchers ?? [])];
  if (sel.metric !== undefined) matchers.unshift({ name: METRIC_LABEL, op: "=", value: sel.metric });
  const compiled = matchers.map((m) => {
    if (!m || typeof m.name !== "string" || typeof m.value !== "string") {
      throw new TsinkError("InvalidLabel", "a matcher needs a string name, an op and a string value", { matcher: m });
    }
    const p = predicateOf(m);
    const matchesAll = m.op === "=~" && m.value === ".*";
    const matchesNone = m.op === "!~" && m.value === ".*";
    return { m, p, matchesEmpty: p(""), matchesAll, matchesNone, set: matchesAll || matchesNone ? undefined : indexedSet(m) };
  });
  if (compiled.some((c) => c.matchesNone)) return new Uint32Array(0);
  compiled.sort((a, b) => Number(a.matchesEmpty) - Number(b.matchesEmpty) || rank(a.m) - rank(b.m));
  let cand: Uint32Array | undefined;
  for (const { m, p, matchesEmpty, matchesAll, set } of compiled) {
    if (matchesAll) continue;
    if (cand !== undefined && cand.length === 0) return new Uint32Array(0);
    cand = applyMatcher(reg, cand, m.name, p, matchesEmpty, set);
  }
  // always hand out an owned array: callers (deletes) change the postings they came from
  return cand === undefined ? reg.universe.view().slice() : cand.slice();
}

const rank = (m: SeriesMatcher): number => (m.op === "=" ? 0 : m.op === "=~" ? 1 : 2);

function applyMatcher(
  reg: SeriesRegistry,
  cand: Uint32Array | undefined,
  name: string,
  p: ValuePredicate,
  matchesEmpty: boolean,
  set: IndexedSet | undefined,
): Uint32Array {
  const strings = reg.dict.strings;
  if (name === METRIC_LABEL) {
    // metric names live in their own postings map
    if (!matchesEmpty && cand === undefined) {
      const lists: Uint32Array[] = [];
      if (set?.plan.kind === "values") {
        for (const v of set.plan.values) {
          const id = reg.dict.find(v);
          if (id !== undefined) lists.push(entryIds(reg.metricPostings.get(id)));
        }
      } else {
        for (const [metricId, e] of reg.metricPostings) if (p(strings[metricId]!)) lists.push(entryIds(e));
      }
      return unionAll(lists);
    }
    const base = cand ?? reg.universe.view();
    return filterCandidates(base, (id) => reg.metricIdOf(id), p, strings, matchesEmpty);
  }
  const nameId = reg.dict.find(name);
  const idx = nameId === undefined ? undefined : reg.labelIndex.get(nameId);
  if (!idx) {
    // nobody has this label: every series has the empty value
    if (!matchesEmpty) return EMPTY;
    return cand ?? reg.universe.view().slice();
  }
  // the slots whose postings to collect: those of S (found through the index), or every slot tested with p
  const slots = set === undefined ? undefined : indexedSlots(reg, idx, set, cand === undefined ? Infinity : cand.length);
  if (cand !== undefined && cand.length < (slots === undefined ? idx.size : slots.count)) {
    // fewer candidates than values to test: test the candidates' own values (memoised per value id)
    return filterCandidates(cand, (id) => reg.labelValueId(id, nameId!), p, strings, matchesEmpty);
  }
  if (cand !== undefined && slots !== undefined && slots.count > 1 && cand.length < postingsVolume(idx, slots)) {
    // fewer candidates than series ids behind the values (`instance=~"host-00[0-4][0-9]:9100"` after the metric name:
    // 100 candidates, 50 values of 100 series each): keep the candidates holding a value of S, found through the index
    return keepByValue(reg, cand, nameId!, valuesOf(idx, slots, strings), matchesEmpty);
  }
  const lists: Uint32Array[] = [];
  const valueIds = idx.valueIds;
  // values held by one series (e.g. a unique host) are collected as plain ids, not one array each
  let singles: number[] | undefined;
  const take = (slot: number) => {
    const e = idx.entryAt(slot);
    if (typeof e === "number") (singles ??= []).push(e);
    else lists.push(e.view());
  };
  if (slots === undefined) {
    for (let slot = 0; slot < idx.size; slot++) if (p(strings[valueIds[slot]!]!) !== matchesEmpty) take(slot);
  } else {
    const test = slots.test;
    for (const slot of slots.exact) take(slot);
    for (let r = 0; r < slots.ranges.length; r += 2) {
      for (let k = slots.ranges[r]!; k < slots.ranges[r + 1]!; k++) {
        const valueId = slots.order![k]!;
        const slot = idx.slot(valueId);
        if (slot >= 0 && (test === undefined || test(strings[valueId]!))) take(slot);
      }
    }
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

interface IndexedSlots {
  /** Slots of values known to be in S. */
  exact: number[];
  /** Half-open ranges [from, to) of positions in `order` (value ids) whose values may be in S (to be tested). */
  ranges: number[];
  order: Uint32Array | undefined;
  /** The test of the values in `ranges`; undefined when all of them are in S. */
  test: ValuePredicate | undefined;
  /** Number of slots above (what the scan will touch). */
  count: number;
}

/**
 * The slots of S's values: exact lookups for a list of values, binary searches of the label's value order for
 * prefixes. With `budget` (the candidate count) below the label's value count and the value order not built
 * yet, returns a count of Infinity instead of sorting every value, so the caller filters the candidates.
 */
function indexedSlots(reg: SeriesRegistry, idx: LabelValues, set: IndexedSet, budget: number): IndexedSlots | undefined {
  const plan = set.plan;
  if (plan.kind === "values") {
    const exact: number[] = [];
    for (const v of plan.values) {
      const id = reg.dict.find(v);
      const slot = id === undefined ? -1 : idx.slot(id);
      if (slot >= 0) exact.push(slot);
    }
    return { exact, ranges: [], order: undefined, test: undefined, count: exact.length };
  }
  if (plan.kind !== "prefixes") return undefined;
  if (budget < idx.size && !idx.hasOrder) return { exact: [], ranges: [], order: undefined, test: undefined, count: Infinity };
  const strings = reg.dict.strings;
  const order = idx.valueOrder(strings);
  const valueAt = (k: number) => strings[order[k]!]!;
  const ranges: number[] = [];
  let count = 0;
  let from = 0;
  for (const prefix of plan.prefixes) {
    // prefixes are sorted and none covers another: their ranges come in order
    let lo = from;
    let hi = order.length;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      if (valueAt(mid) < prefix) lo = mid + 1;
      else hi = mid;
    }
    const start = lo;
    hi = order.length;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      if (valueAt(mid).startsWith(prefix)) lo = mid + 1;
      else hi = mid;
    }
    if (lo > start) ranges.push(start, lo);
    count += lo - start;
    from = lo;
  }
  return { exact: [], ranges, order, test: plan.all ? undefined : set.test, count };
}

/** The value ids of S among the slots (the ranges' values confirmed by the slots' test). */
function valuesOf(idx: LabelValues, slots: IndexedSlots, strings: readonly string[]): Set<number> {
  const out = new Set<number>();
  for (const slot of slots.exact) out.add(idx.valueIds[slot]!);
  for (let r = 0; r < slots.ranges.length; r += 2) {
    for (let k = slots.ranges[r]!; k < slots.ranges[r + 1]!; k++) {
      const valueId = slots.order![k]!;
      if (idx.slot(valueId) >= 0 && (slots.test === undefined || slots.test(strings[valueId]!))) out.add(valueId);
    }
  }
  return out;
}

/** The candidates whose value of the label is in `values` (without the label or outside it, when `matchesEmpty`). */
function keepByValue(reg: SeriesRegistry, cand: Uint32Array, nameId: number, values: Set<number>, matchesEmpty: boolean): Uint32Array {
  const out = new Uint32Array(cand.length);
  let n = 0;
  for (let i = 0; i < cand.length; i++) {
    const valueId = reg.labelValueId(cand[i]!, nameId);
    if ((valueId >= 0 && values.has(valueId)) !== matchesEmpty) out[n++] = cand[i]!;
  }
  return out.subarray(0, n);
}

/** How many series ids the postings of the slots hold (what collecting them would concatenate and sort). */
function postingsVolume(idx: LabelValues, slots: IndexedSlots): number {
  let n = 0;
  const size = (slot: number) => {
    const e = idx.entryAt(slot);
    return typeof e === "number" ? 1 : e.length;
  };
  for (const slot of slots.exact) n += size(slot);
  for (let r = 0; r < slots.ranges.length; r += 2) {
    for (let k = slots.ranges[r]!; k < slots.ranges[r + 1]!; k++) {
      const slot = idx.slot(slots.order![k]!);
      if (slot >= 0) n += size(slot);
    }
  }
  return n;
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

