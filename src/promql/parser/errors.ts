// PromQL parse errors: a position in the query plus a message, printed the way Prometheus prints them
// ("1:5: parse error: unexpected ..."), and Go-style %q quoting used inside those messages.
import type { PositionRange } from "../ast.js";

export class PromqlParseError extends Error {
  /** UTF-16 offset of the error in the query. */
  readonly position: number;
  readonly positionRange: PositionRange;
  /** 1-based line and column of `position`; the column counts UTF-8 bytes, as in Prometheus' messages. */
  readonly line: number;
  readonly column: number;
  /** The message without the "line:col: parse error: " prefix. */
  readonly detail: string;

  constructor(query: string, range: PositionRange, detail: string) {
    const { line, column } = lineAndColumn(query, range.start);
    super(`${line}:${column}: parse error: ${detail}`);
    this.name = "PromqlParseError";
    this.position = range.start;
    this.positionRange = { start: range.start, end: range.end };
    this.line = line;
    this.column = column;
    this.detail = detail;
  }
}

function lineAndColumn(query: string, pos: number): { line: number; column: number } {
  let line = 1;
  let column = 1;
  const end = Math.min(Math.max(pos, 0), query.length);
  for (let i = 0; i < end; i++) {
    const c = query.charCodeAt(i);
    if (c === 10) {
      line++;
      column = 1;
    } else if (c < 0x80) column += 1;
    else if (c < 0x800) column += 2;
    else if (c >= 0xd800 && c <= 0xdbff && i + 1 < end && (query.charCodeAt(i + 1) & 0xfc00) === 0xdc00) {
      column += 4;
      i++;
    } else column += 3;
  }
  return { line, column };
}

/** Go's %q for strings: double quotes, backslash escapes, non-printable and invalid characters escaped. */
export function goQuote(s: string): string {
  let out = '"';
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (c === 0x22) out += '\\"';
    else if (c === 0x5c) out += "\\\\";
    else if (c === 0x0a) out += "\\n";
    else if (c === 0x0d) out += "\\r";
    else if (c === 0x09) out += "\\t";
    else if (c === 0x07) out += "\\a";
    else if (c === 0x08) out += "\\b";
    else if (c === 0x0c) out += "\\f";
    else if (c === 0x0b) out += "\\v";
    else if (c < 0x20 || c === 0x7f) out += "\\x" + c.toString(16).padStart(2, "0");
    else if (c >= 0xdc80 && c <= 0xdcff) out += "\\x" + (c - 0xdc00).toString(16).padStart(2, "0");
    else if (c >= 0xd800 && c <= 0xdbff && i + 1 < s.length) {
      const d = s.charCodeAt(i + 1);
      if (d >= 0xdc00 && d <= 0xdfff) {
        out += s[i] + s[i + 1];
        i++;
      } else out += "\\ufffd";
    } else if (c >= 0xd800 && c <= 0xdfff) out += "\\ufffd";
    else out += s[i];
  }
  return out + '"';
}

/** Go's %q for a single rune: single quotes. */
export function goQuoteRune(ch: string): string {
  if (ch === "'") return "'\\''";
  if (ch === '"') return "'\"'";
  const q = goQuote(ch);
  return "'" + q.slice(1, -1) + "'";
}
