// Reader for Prometheus' promqltest script format (load / clear / eval blocks with expected results), used by the
// conformance runner. Series descriptions ("metric{a="b"} 0+10x100 _ stale") are expanded into samples here.

export const STALE_NAN = (() => {
  const view = new DataView(new ArrayBuffer(8));
  view.setUint32(0, 0x7ff00000);
  view.setUint32(4, 0x00000002);
  return view.getFloat64(0);
})();

export interface Label {
  name: string;
  value: string;
}

/** One position of a series description: a value, a staleness marker, an omitted sample or a native histogram. */
export type SequenceValue = { kind: "value"; value: number } | { kind: "stale" } | { kind: "omitted" } | { kind: "histogram" };

export interface SeriesDescription {
  labels: Label[];
  values: SequenceValue[];
}

export interface LoadCommand {
  kind: "load";
  line: number;
  intervalMs: number;
  series: SeriesDescription[];
  /** load_with_nhcb: classic histograms are also stored as native histograms (unsupported). */
  withNhcb: boolean;
  /** Label sets (with `__name__`) of series given start timestamps by `metric@st ...` lines, which tsink does not store. */
  startTimestampSeries: Label[][];
}

export interface ExpectedSeries {
  labels: Label[];
  values: SequenceValue[];
}

export interface EvalCommand {
  kind: "eval";
  line: number;
  query: string;
  instant: boolean;
  /** ms since epoch; for instant queries start === end. */
  start: number;
  end: number;
  step: number;
  fail: boolean;
  failMessage?: string;
  failRegex?: RegExp;
  ordered: boolean;
  expectedScalar?: number;
  expectedString?: string;
  /** For instant queries whose result is a range vector: the grid the expected points sit on. */
  rangeVector?: { start: number; end: number; step: number };
  expected: ExpectedSeries[];
  /** True when the case needs native histograms (histogram literals in the expectation). */
  usesHistograms: boolean;
  /** `expect warn|no_warn|info|no_info [msg: text | regex: re]` lines, in order. */
  annotations: AnnotationExpectation[];
}

export interface AnnotationExpectation {
  type: "warn" | "no_warn" | "info" | "no_info";
  /** Exact text (msg:) or pattern (regex:) an annotation must have; absent: any annotation of the kind. */
  msg?: string;
  regex?: RegExp;
}

export interface ClearCommand {
  kind: "clear";
  line: number;
}

export type Command = LoadCommand | EvalCommand | ClearCommand;

const DURATION_UNITS: Record<string, number> = { ms: 1, s: 1000, m: 60_000, h: 3_600_000, d: 86_400_000, w: 604_800_000, y: 31_536_000_000 };

/** Prometheus' model.ParseDuration (also accepting a plain 0). */
export function parseDuration(text: string): number {
  const s = text.trim();
  if (s === "0") return 0;
  const negative = s.startsWith("-");
  const body = negative ? s.slice(1) : s;
  const re = /(\d+)(ms|s|m|h|d|w|y)/gy;
  let total = 0;
  let consumed = 0;
  let m: RegExpExecArray | null;
  while ((m = re.exec(body)) !== null) {
    total += Number(m[1]) * DURATION_UNITS[m[2]];
    consumed = re.lastIndex;
  }
  if (consumed !== body.length || consumed === 0) throw new Error(`invalid duration ${JSON.stringify(text)}`);
  return negative ? -total : total;
}

/** Go's strconv.ParseFloat subset used in test files: decimals, exponents, hex, Inf/NaN with optional sign. */
export function parseNumber(text: string): number | undefined {
  const s = text.trim();
  const m = /^([+-]?)(?:(inf|infinity)|(nan)|(0x[0-9a-f]+)|((?:\d+\.?\d*|\.\d+)(?:e[+-]?\d+)?))$/i.exec(s);
  if (!m) return undefined;
  const sign = m[1] === "-" ? -1 : 1;
  if (m[2]) return sign * Infinity;
  if (m[3]) return NaN;
  if (m[4]) return sign * parseInt(m[4].slice(2), 16);
  return sign * Number(m[5]);
}

function unquote(body: string, quote: string): string {
  if (quote === "`") return body;
  let out = "";
  for (let i = 0; i < body.length; i++) {
    const c = body[i];
    if (c !== "\\") {
      out += c;
      continue;
    }
    const n = body[++i];
    switch (n) {
      case "a": out += "\x07"; break;
      case "b": out += "\b"; break;
      case "f": out += "\f"; break;
      case "n": out += "\n"; break;
      case "r": out += "\r"; break;
      case "t": out += "\t"; break;
      case "v": out += "\v"; break;
      case "x": out += String.fromCharCode(parseInt(body.slice(i + 1, i + 3), 16)); i += 2; break;
      case "u": out += String.fromCodePoint(parseInt(body.slice(i + 1, i + 5), 16)); i += 4; break;
      case "U": out += String.fromCodePoint(parseInt(body.slice(i + 1, i + 9), 16)); i += 8; break;
      default:
        if (n >= "0" && n <= "7") {
          out += String.fromCharCode(parseInt(body.slice(i, i + 3), 8));
          i += 2;
        } else {
          out += n;
        }
    }
  }
  return out;
}

/** Parses `name{l="v", ...}` (either part optional, quoted UTF-8 names allowed); returns labels and the rest. */
function parseMetric(text: string): { labels: Label[]; rest: string } {
  let i = 0;
  const labels: Label[] = [];
  const skipSpace = () => {
    while (i < text.length && /\s/.test(text[i])) i++;
  };
  const readQuoted = (): string => {
    const quote = text[i];
    let j = i + 1;
    while (j < text.length && text[j] !== quote) j += text[j] === "\\" && quote !== "`" ? 2 : 1;
    const value = unquote(text.slice(i + 1, j), quote);
    i = j + 1;
    return value;
  };
  const ident = /[a-zA-Z_:][a-zA-Z0-9_:]*/y;
  skipSpace();
  ident.lastIndex = i;
  const name = ident.exec(text);
  if (name) {
    labels.push({ name: "__name__", value: name[0] });
    i = ident.lastIndex;
  }
  if (text[i] === "{") {
    i++;
    for (;;) {
      skipSpace();
      if (text[i] === "}") {
        i++;
        break;
      }
      let labelName: string;
      if (text[i] === '"' || text[i] === "'" || text[i] === "`") {
        labelName = readQuoted();
        skipSpace();
        if (text[i] !== "=") {
          // A bare quoted string is the metric name.
          labels.push({ name: "__name__", value: labelName });
          if (text[i] === ",") i++;
          continue;
        }
      } else {
        ident.lastIndex = i;
        const m = ident.exec(text);
        if (!m) throw new Error(`bad label at ${i} in ${text}`);
        labelName = m[0];
        i = ident.lastIndex;
        skipSpace();
      }
      if (text[i] !== "=") throw new Error(`expected = at ${i} in ${text}`);
      i++;
      skipSpace();
      labels.push({ name: labelName, value: readQuoted() });
      skipSpace();
      if (text[i] === ",") i++;
    }
  }
  labels.sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
  return { labels, rest: text.slice(i) };
}

// No hex here: in a series description "0x10" is 0 repeated 10 more times.
const NUM = String.raw`(?:(?:\d+\.?\d*|\.\d+)(?:[eE][+-]?\d+)?|[Ii]nf|NaN)`;
const ITEM = new RegExp(`^([+-]?${NUM})(?:([+-]${NUM}))?(?:x(\\d+))?$`);

/** Expands the value part of a series description. */
function parseValues(text: string): SequenceValue[] {
  const out: SequenceValue[] = [];
  const s = text.trim();
  // Native histogram literals {{...}} (optionally followed by xN or +{{...}}xN) are recorded as histogram positions.
  const tokens = s.match(/\{\{.*?\}\}(?:[+-]\{\{.*?\}\})?(?:x\d+)?|\S+/g) ?? [];
  for (const token of tokens) {
    if (token.startsWith("{{")) {
      const times = /x(\d+)$/.exec(token);
      const n = times ? Number(times[1]) + 1 : 1;
      for (let k = 0; k < n; k++) out.push({ kind: "histogram" });
      continue;
    }
    if (token === "_") {
      out.push({ kind: "omitted" });
      continue;
    }
    let m = /^_x(\d+)$/.exec(token);
    if (m) {
      for (let k = 0; k < Number(m[1]); k++) out.push({ kind: "omitted" });
      continue;
    }
    if (token === "stale") {
      out.push({ kind: "stale" });
      continue;
    }
    m = /^stalex(\d+)$/.exec(token);
    if (m) {
      for (let k = 0; k <= Number(m[1]); k++) out.push({ kind: "stale" });
      continue;
    }
    m = ITEM.exec(token);
    if (!m) throw new Error(`invalid sequence item ${JSON.stringify(token)}`);
    let value = parseNumber(m[1])!;
    const increment = m[2] !== undefined ? parseNumber(m[2])! : 0;
    const times = m[3] !== undefined ? Number(m[3]) : 0;
    out.push({ kind: "value", value });
    for (let k = 1; k <= times; k++) {
      value += increment;
      out.push({ kind: "value", value });
    }
  }
  return out;
}

function parseSeriesLine(line: string): SeriesDescription {
  const { labels, rest } = parseMetric(line);
  return { labels, values: parseValues(rest) };
}

const EVAL_INSTANT = /^eval(?:_(fail|warn|ordered|info))?\s+instant\s+(?:at\s+(.+?))?\s+(.+)$/;
const EVAL_RANGE = /^eval(?:_(fail|warn|info))?\s+range\s+from\s+(.+)\s+to\s+(.+)\s+step\s+(.+?)\s+(.+)$/;
const EXPECT = /^expect\s+(ordered|fail|warn|no_warn|info|no_info)(?:\s+(regex|msg):(.+))?$/;
const EXPECT_RANGE = /^expect range vector\s+from\s+(.+)\s+to\s+(.+)\s+step\s+(.+)$/;

export function parseScript(input: string): Command[] {
  const lines = input.split("\n").map((l) => {
    const t = l.trim();
    return t.startsWith("#") ? "" : t;
  });
  const commands: Command[] = [];
  for (let i = 0; i < lines.length; i++) {
    const l = lines[i];
    if (l === "") continue;
    const word = l.split(/[\t ]+/, 1)[0].toLowerCase();
    if (word === "clear") {
      commands.push({ kind: "clear", line: i + 1 });
    } else if (word.startsWith("load")) {
      const m = /^load(?:_(with_nhcb))?\s+(.+?)$/.exec(l);
      if (!m) throw new Error(`line ${i + 1}: invalid load command`);
      const cmd: LoadCommand = { kind: "load", line: i + 1, intervalMs: parseDuration(m[2]), series: [], withNhcb: m[1] === "with_nhcb", startTimestampSeries: [] };
      while (i + 1 < lines.length && lines[i + 1] !== "") {
        const def = lines[++i];
        const firstToken = def.split(/[\t ]+/, 1)[0];
        if (firstToken.endsWith("@st")) {
          cmd.startTimestampSeries.push(parseMetric(firstToken.slice(0, -3)).labels);
          continue;
        }
        cmd.series.push(parseSeriesLine(def));
      }
      commands.push(cmd);
    } else if (word.startsWith("eval")) {
      commands.push(parseEval(lines, i));
      while (i + 1 < lines.length && lines[i + 1] !== "") i++;
    } else {
      throw new Error(`line ${i + 1}: invalid command ${JSON.stringify(l)}`);
    }
  }
  return commands;
}

function parseEval(lines: string[], i: number): EvalCommand {
  const l = lines[i];
  const instant = EVAL_INSTANT.exec(l);
  const range = instant ? null : EVAL_RANGE.exec(l);
  if (!instant && !range) throw new Error(`line ${i + 1}: invalid eval command`);
  const mod = instant ? instant[1] : range![1];
  const cmd: EvalCommand = {
    kind: "eval",
    line: i + 1,
    query: instant ? instant[3] : range![5],
    instant: !!instant,
    start: instant ? parseDuration(instant[2] ?? "0") : parseDuration(range![2]),
    end: instant ? parseDuration(instant[2] ?? "0") : parseDuration(range![3]),
    step: instant ? 0 : parseDuration(range![4]),
    fail: mod === "fail",
    ordered: mod === "ordered",
    expected: [],
    usesHistograms: false,
    annotations: [],
  };
  // Deprecated forms: eval_warn / eval_info expect at least one annotation of that kind.
  if (mod === "warn" || mod === "info") cmd.annotations.push({ type: mod });
  for (let j = i + 1; j < lines.length && lines[j] !== ""; j++) {
    const def = lines[j];
    if (cmd.fail && def.startsWith("expected_fail_message")) {
      cmd.failMessage = def.slice("expected_fail_message".length).trim();
      continue;
    }
    if (cmd.fail && def.startsWith("expected_fail_regexp")) {
      cmd.failRegex = new RegExp(def.slice("expected_fail_regexp".length).trim());
      continue;
    }
    const rv = EXPECT_RANGE.exec(def);
    if (rv) {
      cmd.rangeVector = { start: parseDuration(rv[1]), end: parseDuration(rv[2]), step: parseDuration(rv[3]) };
      continue;
    }
    if (def.startsWith("expect string")) {
      const quoted = def.slice("expect string".length).trim();
      cmd.expectedString = unquote(quoted.slice(1, -1), quoted[0]);
      continue;
    }
    if (def.split(" ")[0] === "expect") {
      const m = EXPECT.exec(def.trim());
      if (!m) throw new Error(`line ${j + 1}: invalid expect line`);
      if (m[1] === "fail") {
        cmd.fail = true;
        if (m[2] === "msg") cmd.failMessage = m[3].trim();
        if (m[2] === "regex") cmd.failRegex = new RegExp(m[3].trim());
      } else if (m[1] === "ordered") {
        cmd.ordered = true;
      } else {
        const type = m[1] as AnnotationExpectation["type"];
        cmd.annotations.push({ type, msg: m[2] === "msg" ? m[3].trim() : undefined, regex: m[2] === "regex" ? new RegExp(m[3].trim()) : undefined });
      }
      continue;
    }
    const n = parseNumber(def);
    if (n !== undefined) {
      cmd.expectedScalar = n;
      continue;
    }
    if (def.includes("{{")) cmd.usesHistograms = true;
    const series = parseSeriesLine(def);
    if (series.values.some((v) => v.kind === "histogram")) cmd.usesHistograms = true;
    cmd.expected.push(series);
  }
  return cmd;
}

/**
 * promqltest's annotation rules: each `expect warn|info` line must match at least one annotation of its kind (any
 * when it has no msg/regex), and once a kind has such lines every annotation of that kind must match one of them;
 * `expect no_warn|no_info` forbids the kind. Kinds without lines are not checked. Returns a failure or undefined.
 */
export function checkAnnotations(expectations: AnnotationExpectation[], warnings: string[], infos: string[]): string | undefined {
  const matches = (e: AnnotationExpectation, text: string) => (e.msg !== undefined ? text === e.msg : e.regex ? e.regex.test(text) : true);
  for (const [kind, none, got] of [["warn", "no_warn", warnings], ["info", "no_info", infos]] as const) {
    const wanted = expectations.filter((e) => e.type === kind);
    if (expectations.some((e) => e.type === none) && got.length > 0) return `expected no ${kind} annotations, got ${JSON.stringify(got)}`;
    for (const e of wanted) {
      if (!got.some((text) => matches(e, text))) return `expected a ${kind} annotation ${e.msg ?? e.regex ?? "(any)"}, got ${JSON.stringify(got)}`;
    }
    if (wanted.length > 0) {
      const unmatched = got.find((text) => !wanted.some((e) => matches(e, text)));
      if (unmatched !== undefined) return `unexpected ${kind} annotation ${JSON.stringify(unmatched)}`;
    }
  }
  return undefined;
}

const MIN_NORMAL = 2.2250738585072014e-308;

/** Prometheus' almost.Equal with the test suite's relative epsilon 1e-6 (NaN equals NaN). */
export function almostEqual(a: number, b: number, epsilon = 0.000001): boolean {
  if (Number.isNaN(a) && Number.isNaN(b)) return true;
  if (a === b) return true;
  const absSum = Math.abs(a) + Math.abs(b);
  const diff = Math.abs(a - b);
  if (a === 0 || b === 0 || absSum < MIN_NORMAL) return diff < epsilon * MIN_NORMAL;
  return diff / Math.min(absSum, Number.MAX_VALUE) < epsilon;
}
