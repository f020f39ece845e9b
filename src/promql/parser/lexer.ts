// PromQL lexer: turns a query into tokens (one linear pass, no recursion), following Prometheus' lexer:
// context-sensitive inside {...} and [...], Go string escapes, numbers/durations, `#` comments.
// A lexing error becomes an "error" token where it occurs, so the parser reports it only if it gets there.
import { goQuoteRune } from "./errors.js";

export type TokenKind =
  | "ident" | "number" | "duration" | "string" | "op"
  | "(" | ")" | "{" | "}" | "[" | "]" | "," | ":" | "@"
  | "eof" | "error";

export interface Token {
  kind: TokenKind;
  /** Source text of the token (for "error" tokens: the error message). */
  text: string;
  start: number;
  end: number;
  /** Unquoted value of a "string" token. */
  value?: string;
}

const isDigit = (c: number) => c >= 48 && c <= 57;
const isAlpha = (c: number) => c === 95 || (c >= 97 && c <= 122) || (c >= 65 && c <= 90);
const isAlphaNumeric = (c: number) => isAlpha(c) || isDigit(c);
const isSpace = (c: number) => c === 32 || c === 9 || c === 10 || c === 13;
const isSurrogate = (c: number) => c >= 0xd800 && c <= 0xdfff;
/** The only words allowed inside `[...]`: duration expression functions (min/max: their earlier names). */
const DURATION_KEYWORDS: ReadonlySet<string> = new Set(["step", "range", "min_of", "max_of", "min", "max"]);

class LexError {
  constructor(readonly message: string, readonly pos: number) {}
}

export function tokenize(input: string): Token[] {
  const tokens: Token[] = [];
  let pos = 0;
  let parenDepth = 0;
  let braceOpen = false;
  let bracketOpen = false;
  /** Inside `[` before the first number: Prometheus' stricter duration-expression lexing state. */
  let durationState = false;
  /** Inside `[`: whether a duration operand (number, duration or keyword) and a `:` were seen. */
  let gotDuration = false;
  let gotColon = false;
  const n = input.length;
  const push = (kind: TokenKind, start: number, end: number, value?: string) => {
    const t: Token = { kind, text: input.slice(start, end), start, end };
    if (value !== undefined) t.value = value;
    tokens.push(t);
  };
  const scanWord = (from: number, allowColon: boolean): number => {
    let i = from + 1;
    while (i < n) {
      const d = input.charCodeAt(i);
      if (isAlphaNumeric(d) || (allowColon && d === 58)) i++;
      else break;
    }
    return i;
  };

  try {
    while (true) {
      // Skip whitespace, and comments (which the duration-expression state does not know).
      while (pos < n) {
        const c = input.charCodeAt(pos);
        if (isSpace(c)) pos++;
        else if (c === 35 /* # */ && !durationState) {
          while (pos < n && input.charCodeAt(pos) !== 10) pos++;
        } else break;
      }
      const start = pos;
      if (pos >= n) {
        if (braceOpen) throw new LexError("unexpected end of input inside braces", start);
        if (durationState) throw new LexError("unexpected end of input in duration expression", start);
        if (parenDepth !== 0) throw new LexError("unclosed left parenthesis", start);
        if (bracketOpen) throw new LexError("unclosed left bracket", start);
        push("eof", start, start);
        return tokens;
      }
      const c = input.charCodeAt(pos);
      const ch = input[pos]!;

      if (braceOpen) {
        if (isAlpha(c)) {
          pos = scanWord(pos, false);
          push("ident", start, pos);
        } else if (c === 44) { pos++; push(",", start, pos); }
        else if (c === 34 || c === 39 || c === 96) { pos = lexString(input, pos, tokens); }
        else if (c === 61 /* = */) {
          pos++;
          if (input.charCodeAt(pos) === 126) pos++;
          push("op", start, pos);
        } else if (c === 33 /* ! */) {
          const d = input.charCodeAt(pos + 1);
          if (d !== 126 && d !== 61) {
            throw new LexError(`unexpected character after '!' inside braces: ${quoteCharAt(input, pos + 1)}`, start);
          }
          pos += 2;
          push("op", start, pos);
        } else if (c === 123) throw new LexError("unexpected left brace '{'", start);
        else if (c === 125) { pos++; braceOpen = false; push("}", start, pos); }
        else throw new LexError(`unexpected character inside braces: ${quoteCharAt(input, pos)}`, start);
        continue;
      }

      if (isDigit(c) || (c === 46 && isDigit(input.charCodeAt(pos + 1)))) {
        pos = lexNumberOrDuration(input, pos, tokens);
        durationState = false;
        gotDuration = true;
        continue;
      }
      if (bracketOpen && (isAlpha(c) || c === 58)) {
        if (c === 58 /* : */) {
          pos++;
          // In the duration state Prometheus emits the colon before complaining, so the error sits after it.
          if (durationState && !gotDuration) throw new LexError("unexpected colon before duration in duration expression", pos);
          if (gotColon) {
            throw durationState
              ? new LexError("unexpected repeated colon in duration expression", pos)
              : new LexError("unexpected colon ':'", start);
          }
          gotColon = true;
          push(":", start, pos);
          continue;
        }
        const end = scanWord(pos, false);
        if (!DURATION_KEYWORDS.has(input.slice(start, end).toLowerCase())) {
          throw new LexError(durationState
            ? `unexpected character in duration expression: ${quoteCharAt(input, start)}`
            : `unexpected character: ${quoteCharAt(input, start)}, expected ':'`, start);
        }
        pos = end;
        gotDuration = true;
        push("ident", start, pos);
        continue;
      }
      if (durationState && !"()+-*/%^,]".includes(ch)) {
        throw new LexError(`unexpected character in duration expression: ${quoteCharAt(input, pos)}`, start);
      }
      if (c === 34 || c === 39 || c === 96) { pos = lexString(input, pos, tokens); continue; }
      if (isAlpha(c) || c === 58) {
        pos = scanWord(pos, true);
        const word = input.slice(start, pos).toLowerCase();
        push(word === "inf" || word === "nan" ? "number" : "ident", start, pos);
        continue;
      }
      switch (ch) {
        case ",": pos++; push(",", start, pos); break;
        case "(": pos++; parenDepth++; push("(", start, pos); break;
        case ")":
          pos++;
          parenDepth--;
          // Prometheus emits the parenthesis before checking, so the error sits after it.
          if (parenDepth < 0) throw new LexError("unexpected right parenthesis ')'", pos);
          push(")", start, pos);
          break;
        case "{": pos++; braceOpen = true; push("{", start, pos); break;
        case "[":
          if (bracketOpen) throw new LexError("unexpected left bracket '['", start);
          pos++;
          bracketOpen = true;
          durationState = true;
          gotDuration = false;
          gotColon = false;
          push("[", start, pos);
          break;
        case "]":
          if (!bracketOpen) throw new LexError("unexpected right bracket ']'", start);
          pos++;
          bracketOpen = false;
          durationState = false;
          push("]", start, pos);
          break;
        case "@": pos++; push("@", start, pos); break;
        case "*": case "/": case "%": case "+": case "-": case "^":
          pos++; push("op", start, pos); break;
        case "=":
          pos++;
          if (input[pos] === "=") pos++;
          else if (input[pos] === "~") throw new LexError("unexpected character after '=': '~'", start);
          push("op", start, pos);
          break;
        case "!":
          if (input[pos + 1] !== "=") throw new LexError(`unexpected character after '!': ${quoteCharAt(input, pos + 1)}`, start);
          pos += 2;
          push("op", start, pos);
          break;
        case "<": case ">":
          pos++;
          if (input[pos] === "=" || input[pos] === "/") pos++;
          push("op", start, pos);
          break;
        default:
          throw new LexError(`unexpected character: ${quoteCharAt(input, pos)}`, start);
      }
    }
  } catch (e) {
    if (!(e instanceof LexError)) throw e;
    tokens.push({ kind: "error", text: e.message, start: e.pos, end: Math.min(e.pos + 1, n) });
    return tokens;
  }
}

function quoteCharAt(input: string, pos: number): string {
  // Go reports end of input and invalid UTF-8 as the replacement character.
  const cp = pos < input.length ? input.codePointAt(pos)! : 0xfffd;
  if (isSurrogate(cp)) return "'\ufffd'";
  return goQuoteRune(String.fromCodePoint(cp));
}

/**
 * Scans a number, or a duration like 1h30m, with the rules of Prometheus' scanNumber/acceptRemainingDuration
 * (including what text a "bad number or duration syntax" error quotes); returns the position after it.
 */
function lexNumberOrDuration(input: string, start: number, tokens: Token[]): number {
  const n = input.length;
  let pos = start;
  const peek = () => (pos < n ? input[pos]! : "");
  const accept = (chars: string) => {
    if (pos < n && chars.includes(input[pos]!)) {
      pos++;
      return true;
    }
    return false;
  };
  const scanNumber = (): boolean => {
    let digits = "0123456789";
    if (accept("0") && accept("xX")) {
      accept("_");
      digits = "0123456789abcdefABCDEF";
    }
    const hex = digits.length > 10;
    const numberChars = digits + "._eE";
    accept(".");
    accept(digits);
    let dot = false;
    let exponent = false;
    while (pos < n && numberChars.includes(peek())) {
      if (peek() === "." && dot) {
        pos++;
        return false;
      }
      if ("eE".includes(peek()) && exponent) {
        pos++;
        return false;
      }
      if (accept(".")) {
        dot = true;
        if (accept("_.") || hex) return false;
        continue;
      }
      if (accept("eE")) {
        exponent = true;
        accept("+-");
        if (accept("._eE") || pos >= n) return false;
        continue;
      }
      if (accept("_")) {
        if (accept("._eE") || pos >= n) return false;
        continue;
      }
      while (accept(digits));
    }
    if (pos === start) return false;
    return !isAlphaNumeric(input.charCodeAt(pos));
  };
  const acceptRemainingDuration = (): boolean => {
    if (!accept("smhdwy")) return false;
    accept("s");
    while (accept("0123456789")) {
      while (accept("0123456789"));
      if (!accept("smhdw")) return false;
      accept("s");
    }
    // Prometheus reads one more character to check it; on failure it belongs to the quoted text.
    const atEnd = pos >= n;
    const next = input.charCodeAt(pos);
    if (!atEnd) pos++;
    if (!isAlphaNumeric(next)) {
      if (!atEnd) pos--;
      return true;
    }
    return false;
  };
  if (scanNumber()) {
    tokens.push({ kind: "number", text: input.slice(start, pos), start, end: pos });
    return pos;
  }
  if (acceptRemainingDuration()) {
    tokens.push({ kind: "duration", text: input.slice(start, pos), start, end: pos });
    return pos;
  }
  throw new LexError(`bad number or duration syntax: "${input.slice(start, pos)}"`, start);
}

/** Scans a quoted string ("...", '...' with Go escapes, or `raw`); pushes it with its unquoted value. */
function lexString(input: string, start: number, tokens: Token[]): number {
  const n = input.length;
  const quote = input[start]!;
  let pos = start + 1;
  let out = "";
  let bytes: number[] = [];
  const flush = () => {
    if (bytes.length > 0) {
      out += decodeUtf8Escaping(bytes);
      bytes = [];
    }
  };
  while (true) {
    if (pos >= n) throw new LexError(quote === "`" ? "unterminated raw string" : "unterminated quoted string", start);
    const c = input.charCodeAt(pos);
    if (isSurrogate(c)) {
      const d = input.charCodeAt(pos + 1);
      if (c <= 0xdbff && d >= 0xdc00 && d <= 0xdfff) {
        flush();
        out += input.slice(pos, pos + 2);
        pos += 2;
        continue;
      }
      throw new LexError("invalid UTF-8 rune", start);
    }
    const ch = input[pos]!;
    if (ch === quote) { pos++; break; }
    if (quote === "`") { out += ch; pos++; continue; }
    if (c === 10) throw new LexError("unterminated quoted string", start);
    if (ch !== "\\") { flush(); out += ch; pos++; continue; }
    // Escape sequence.
    pos++;
    if (pos >= n) throw new LexError("escape sequence not terminated", start);
    const e = input[pos]!;
    if (e in SIMPLE_ESCAPES || e === quote) {
      flush();
      out += e === quote ? quote : SIMPLE_ESCAPES[e]!;
      pos++;
      continue;
    }
    let digits: number;
    let base: number;
    let max: number;
    if (e >= "0" && e <= "7") { digits = 3; base = 8; max = 255; }
    else if (e === "x") { digits = 2; base = 16; max = 255; pos++; }
    else if (e === "u") { digits = 4; base = 16; max = 0x10ffff; pos++; }
    else if (e === "U") { digits = 8; base = 16; max = 0x10ffff; pos++; }
    else {
      const cp = input.codePointAt(pos)!;
      const hex = cp.toString(16).toUpperCase().padStart(4, "0");
      throw new LexError(`unknown escape sequence U+${hex} ${quoteCharAt(input, pos)}`, start);
    }
    let x = 0;
    for (let i = 0; i < digits; i++) {
      if (pos >= n) throw new LexError("escape sequence not terminated", start);
      const d = parseInt(input[pos]!, base);
      if (Number.isNaN(d)) {
        const cp = input.codePointAt(pos)!;
        const hex = cp.toString(16).toUpperCase().padStart(4, "0");
        throw new LexError(`illegal character U+${hex} ${quoteCharAt(input, pos)} in escape sequence`, start);
      }
      x = x * base + d;
      pos++;
    }
    if (x > max || (x >= 0xd800 && x < 0xe000)) throw new LexError("escape sequence is an invalid Unicode code point", start);
    if (e === "u" || e === "U") { flush(); out += String.fromCodePoint(x); }
    else bytes.push(x);
  }
  flush();
  tokens.push({ kind: "string", text: input.slice(start, pos), start, end: pos, value: out });
  return pos;
}

const SIMPLE_ESCAPES: Readonly<Record<string, string>> = {
  a: "\x07", b: "\b", f: "\f", n: "\n", r: "\r", t: "\t", v: "\v", "\\": "\\",
};

/** Decodes UTF-8 bytes; bytes that are not part of a valid sequence map to lone surrogates U+DC80..U+DCFF. */
function decodeUtf8Escaping(bytes: number[]): string {
  let out = "";
  let i = 0;
  while (i < bytes.length) {
    const b = bytes[i]!;
    let len = 0;
    let cp = 0;
    let min = 0;
    if (b < 0x80) { out += String.fromCharCode(b); i++; continue; }
    if (b >= 0xc2 && b <= 0xdf) { len = 2; cp = b & 0x1f; min = 0x80; }
    else if (b >= 0xe0 && b <= 0xef) { len = 3; cp = b & 0x0f; min = 0x800; }
    else if (b >= 0xf0 && b <= 0xf4) { len = 4; cp = b & 0x07; min = 0x10000; }
    let valid = len > 0 && i + len <= bytes.length;
    for (let k = 1; valid && k < len; k++) {
      const cb = bytes[i + k]!;
      if ((cb & 0xc0) !== 0x80) valid = false;
      else cp = (cp << 6) | (cb & 0x3f);
    }
    if (valid && cp >= min && cp <= 0x10ffff && !(cp >= 0xd800 && cp <= 0xdfff)) {
      out += String.fromCodePoint(cp);
      i += len;
    } else {
      out += String.fromCharCode(0xdc00 + b);
      i++;
    }
  }
  return out;
}
