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
const isHexDigit = (c: number) => isDigit(c) || (c >= 97 && c <= 102) || (c >= 65 && c <= 70);
const isSurrogate = (c: number) => c >= 0xd800 && c <= 0xdfff;
/** The only words allowed inside `[...]`: duration expression functions. */
const DURATION_KEYWORDS: ReadonlySet<string> = new Set(["step", "range", "min_of", "max_of"]);

class LexError {
  constructor(readonly message: string, readonly pos: number) {}
}

export function tokenize(input: string): Token[] {
  const tokens: Token[] = [];
  let pos = 0;
  let parenDepth = 0;
  let braceOpen = false;
  let bracketOpen = false;
  let gotColon = false;
  /** Whether a number or duration was lexed since the last `[` (Prometheus' lexer leaves its duration state then). */
  let gotNumberInBracket = false;
  /** Index of the token after the last `[`. */
  let bracketTokenStart = 0;
  const n = input.length;
  const push = (kind: TokenKind, start: number, end: number, value?: string) => {
    const t: Token = { kind, text: input.slice(start, end), start, end };
    if (value !== undefined) t.value = value;
    tokens.push(t);
  };

  try {
    while (true) {
      // Skip whitespace and comments.
      while (pos < n) {
        const c = input.charCodeAt(pos);
        if (isSpace(c)) pos++;
        else if (c === 35 /* # */) {
          while (pos < n && input.charCodeAt(pos) !== 10) pos++;
        } else break;
      }
      const start = pos;
      if (pos >= n) {
        if (braceOpen) throw new LexError("unexpected end of input inside braces", start);
        if (parenDepth !== 0) throw new LexError("unclosed left parenthesis", start);
        if (bracketOpen) {
          throw new LexError(gotNumberInBracket ? "unclosed left bracket" : "unexpected end of input in duration expression", start);
        }
        push("eof", start, start);
        return tokens;
      }
      const c = input.charCodeAt(pos);
      const ch = input[pos]!;

      if (braceOpen) {
        if (isAlpha(c)) {
          pos++;
          while (pos < n && isAlphaNumeric(input.charCodeAt(pos))) pos++;
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
        gotNumberInBracket = true;
        continue;
      }
      if (c === 34 || c === 39 || c === 96) { pos = lexString(input, pos, tokens); continue; }
      if (c === 58 /* : */ && bracketOpen) {
        if (tokens.length === bracketTokenStart) throw new LexError("unexpected colon before duration in duration expression", start);
        if (gotColon) throw new LexError("unexpected repeated colon in duration expression", start);
        gotColon = true;
        pos++;
        push(":", start, pos);
        continue;
      }
      if (isAlpha(c) || c === 58) {
        pos++;
        while (pos < n) {
          const d = input.charCodeAt(pos);
          if (isAlphaNumeric(d) || (d === 58 && !bracketOpen)) pos++;
          else break;
        }
        const word = input.slice(start, pos).toLowerCase();
        if (bracketOpen && !DURATION_KEYWORDS.has(word) && word !== "inf" && word !== "nan") {
          throw new LexError(`unexpected character in duration expression: ${quoteCharAt(input, start)}`, start);
        }
        push(word === "inf" || word === "nan" ? "number" : "ident", start, pos);
        continue;
      }
      switch (ch) {
        case ",": pos++; push(",", start, pos); break;
        case "(": pos++; parenDepth++; push("(", start, pos); break;
        case ")":
          pos++;
          parenDepth--;
          if (parenDepth < 0) throw new LexError("unexpected right parenthesis ')'", start);
          push(")", start, pos);
          break;
        case "{": pos++; braceOpen = true; push("{", start, pos); break;
        case "}": throw new LexError("unexpected right brace '}'", start);
        case "[":
          if (bracketOpen) throw new LexError("unexpected left bracket '['", start);
          pos++;
          bracketOpen = true;
          gotColon = false;
          gotNumberInBracket = false;
          push("[", start, pos);
          bracketTokenStart = tokens.length;
          break;
        case "]":
          if (!bracketOpen) throw new LexError("unexpected right bracket ']'", start);
          pos++;
          bracketOpen = false;
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
  if (pos >= input.length) return "'\ufffd'";
  const cp = input.codePointAt(pos)!;
  if (isSurrogate(cp)) return "'\\ufffd'";
  return goQuoteRune(String.fromCodePoint(cp));
}

/** Scans a number, or a duration like 1h30m; returns the position after it. */
function lexNumberOrDuration(input: string, start: number, tokens: Token[]): number {
  const n = input.length;
  let pos = start;
  const digitRun = (accept: (c: number) => boolean) => {
    while (pos < n) {
      const c = input.charCodeAt(pos);
      if (accept(c) || (c === 95 && pos > start && accept(input.charCodeAt(pos - 1)) && accept(input.charCodeAt(pos + 1)))) pos++;
      else break;
    }
  };
  if (input[pos] === "0" && (input[pos + 1] === "x" || input[pos + 1] === "X")) {
    pos += 2;
    if (input[pos] === "_") pos++;
    digitRun(isHexDigit);
  } else {
    digitRun(isDigit);
    if (input[pos] === ".") {
      pos++;
      digitRun(isDigit);
    }
    if (input[pos] === "e" || input[pos] === "E") {
      const save = pos;
      pos++;
      if (input[pos] === "+" || input[pos] === "-") pos++;
      if (isDigit(input.charCodeAt(pos))) digitRun(isDigit);
      else pos = save; // "5e" is not an exponent; let the duration/bad-syntax path see the "e"
    }
  }
  if (!isAlphaNumeric(input.charCodeAt(pos))) {
    tokens.push({ kind: "number", text: input.slice(start, pos), start, end: pos });
    return pos;
  }
  // Duration units follow the number: (<digits><unit>)+ with units ms, s, m, h, d, w, y.
  const accept = (chars: string) => {
    if (pos < n && chars.includes(input[pos]!)) { pos++; return true; }
    return false;
  };
  let ok = accept("smhdwy");
  if (ok) {
    accept("s");
    while (ok && isDigit(input.charCodeAt(pos))) {
      while (isDigit(input.charCodeAt(pos))) pos++;
      if (!accept("smhdw")) ok = false;
      else accept("s");
    }
  }
  if (ok && !isAlphaNumeric(input.charCodeAt(pos))) {
    tokens.push({ kind: "duration", text: input.slice(start, pos), start, end: pos });
    return pos;
  }
  while (pos < n && isAlphaNumeric(input.charCodeAt(pos))) pos++;
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
      throw new LexError("invalid UTF-8 rune", pos);
    }
    const ch = input[pos]!;
    if (ch === quote) { pos++; break; }
    if (quote === "`") { out += ch; pos++; continue; }
    if (c === 10) throw new LexError("unterminated quoted string", start);
    if (ch !== "\\") { flush(); out += ch; pos++; continue; }
    // Escape sequence.
    const escPos = pos;
    pos++;
    if (pos >= n) throw new LexError("escape sequence not terminated", escPos);
    const e = input[pos]!;
    const simple: Record<string, string> = { a: "\x07", b: "\b", f: "\f", n: "\n", r: "\r", t: "\t", v: "\v", "\\": "\\" };
    if (e in simple || e === quote) {
      flush();
      out += e === quote ? quote : simple[e]!;
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
      throw new LexError(`unknown escape sequence U+${hex} ${quoteCharAt(input, pos)}`, escPos);
    }
    let x = 0;
    for (let i = 0; i < digits; i++) {
      if (pos >= n) throw new LexError("escape sequence not terminated", escPos);
      const d = parseInt(input[pos]!, base);
      if (Number.isNaN(d)) {
        const cp = input.codePointAt(pos)!;
        const hex = cp.toString(16).toUpperCase().padStart(4, "0");
        throw new LexError(`illegal character U+${hex} ${quoteCharAt(input, pos)} in escape sequence`, escPos);
      }
      x = x * base + d;
      pos++;
    }
    if (x > max || (x >= 0xd800 && x < 0xe000)) throw new LexError("escape sequence is an invalid Unicode code point", escPos);
    if (e === "u" || e === "U") { flush(); out += String.fromCodePoint(x); }
    else bytes.push(x);
  }
  flush();
  tokens.push({ kind: "string", text: input.slice(start, pos), start, end: pos, value: out });
  return pos;
}

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
