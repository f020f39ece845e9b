// Label-set helpers for the PromQL evaluator: sorted label lists, identity keys and label-set tables (equal sets
// found by hash, no key strings), metric-name/metadata handling,
// Go-compatible float formatting and natural ordering.

import type { Label } from "./result.js";
import { loadWasm, memoryViews } from "../wasm/loader.js";

export const METRIC_NAME = "__name__";
/** Labels Prometheus treats as metric metadata and drops together with the name. */
const METADATA_LABELS = new Set([METRIC_NAME, "__type__", "__unit__"]);

export function sortLabels(labels: Label[]): Label[] {
  return labels.sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
}

// (the per-label loops here are indexed, not for-of: until V8 optimises a function, each for-of step allocates an
// iterator result object, and these run once per series in a query's first runs)

/** Identity key of a sorted label list. */
export function labelsKey(labels: Label[]): string {
  let key = "";
  for (let i = 0; i < labels.length; i++) key += labels[i]!.name + "\xff" + labels[i]!.value + "\xfe";
  return key;
}

export function getLabel(labels: Label[], name: string): string {
  for (let i = 0; i < labels.length; i++) if (labels[i]!.name === name) return labels[i]!.value;
  return "";
}

/** Returns a copy with `name` set to `value` (removed when value is empty). */
export function setLabel(labels: Label[], name: string, value: string): Label[] {
  const out = labels.filter((l) => l.name !== name);
  if (value !== "") {
    out.push({ name, value });
    sortLabels(out);
  }
  return out;
}

export function isMetadataLabel(name: string): boolean {
  return METADATA_LABELS.has(name);
}

export function dropMetadataLabels(labels: Label[]): Label[] {
  let found = 0;
  for (let i = 0; i < labels.length; i++) if (METADATA_LABELS.has(labels[i]!.name)) found++;
  if (found === 0) return labels;
  const out: Label[] = [];
  for (let i = 0; i < labels.length; i++) if (!METADATA_LABELS.has(labels[i]!.name)) out.push(labels[i]!);
  return out;
}

export function keepLabels(labels: Label[], names: Set<string>): Label[] {
  return labels.filter((l) => names.has(l.name));
}

export function removeLabels(labels: Label[], names: Set<string>): Label[] {
  return labels.filter((l) => !names.has(l.name));
}

/** Key of the labels listed in `names` (on/by) or of all labels except them (ignoring/without). */
export function signature(labels: Label[], names: Set<string>, include: boolean): string {
  let key = "";
  for (let i = 0; i < labels.length; i++) {
    const l = labels[i]!;
    if (names.has(l.name) === include) key += l.name + "\xff" + l.value + "\xfe";
  }
  return key;
}

/**
 * Finds a label list equal to one added before, by a 32-bit hash of its strings and an exact comparison of the
 * candidates: no key string per list (labelsKey and signature build one, ~0.5 KB of garbage per series). With
 * `names`, only the labels in it (`include`) or only those not in it count, as in signature(). Entries are numbered
 * in the order they were added.
 */
export class LabelSetTable {
  private readonly lists: Label[][] = [];
  // (small first: typed arrays of up to 64 bytes live on the JS heap, with no ArrayBuffer of their own)
  private hashes = new Int32Array(8);
  /** Open addressing: entry + 1 per slot, 0 when empty; at most half full. */
  private slots = new Int32Array(16);

  constructor(
    private readonly names?: Set<string>,
    private readonly include = true,
  ) {}

  get size(): number {
    return this.lists.length;
  }

  /** The entry equal to `labels`, or -1. */
  find(labels: Label[]): number {
    const h = this.hash(labels);
    const mask = this.slots.length - 1;
    for (let at = h & mask; ; at = (at + 1) & mask) {
      const e = this.slots[at]! - 1;
      if (e < 0) return -1;
      if (this.hashes[e] === h && this.same(this.lists[e]!, labels)) return e;
    }
  }

  /** The entry equal to `labels` if there is one; else adds `labels` as entry `size` and returns -1. */
  add(labels: Label[]): number {
    const h = this.hash(labels);
    const mask = this.slots.length - 1;
    let at = h & mask;
    for (; ; at = (at + 1) & mask) {
      const e = this.slots[at]! - 1;
      if (e < 0) break;
      if (this.hashes[e] === h && this.same(this.lists[e]!, labels)) return e;
    }
    const e = this.lists.length;
    this.lists.push(labels);
    if (e >= this.hashes.length) {
      const grown = new Int32Array(this.hashes.length * 2);
      grown.set(this.hashes);
      this.hashes = grown;
    }
    this.hashes[e] = h;
    this.slots[at] = e + 1;
    if ((e + 1) * 2 > this.slots.length) this.rehash();
    return -1;
  }

  private rehash(): void {
    const slots = new Int32Array(this.slots.length * 2);
    const mask = slots.length - 1;
    for (let e = 0; e < this.lists.length; e++) {
      let at = this.hashes[e]! & mask;
      while (slots[at] !== 0) at = (at + 1) & mask;
      slots[at] = e + 1;
    }
    this.slots = slots;
  }

  private counts(l: Label): boolean {
    return this.names === undefined || this.names.has(l.name) === this.include;
  }

  /** FNV-1a over the counted labels' names and values, each followed by a separator no UTF-16 text holds alone. */
  private hash(labels: Label[]): number {
    let h = 0x811c9dc5 | 0;
    for (let i = 0; i < labels.length; i++) {
      const l = labels[i]!;
      if (!this.counts(l)) continue;
      h = fnvString(h, l.name);
      h = Math.imul(h ^ 0x10000, 0x01000193);
      h = fnvString(h, l.value);
      h = Math.imul(h ^ 0x10001, 0x01000193);
    }
    return h;
  }

  /** Whether the counted labels of a and b are the same names and values in the same order. */
  private same(a: Label[], b: Label[]): boolean {
    let i = 0;
    let j = 0;
    for (;;) {
      while (i < a.length && !this.counts(a[i]!)) i++;
      while (j < b.length && !this.counts(b[j]!)) j++;
      if (i === a.length || j === b.length) return i === a.length && j === b.length;
      if (a[i]!.name !== b[j]!.name || a[i]!.value !== b[j]!.value) return false;
      i++;
      j++;
    }
  }
}

function fnvString(h: number, s: string): number {
  for (let i = 0; i < s.length; i++) h = Math.imul(h ^ s.charCodeAt(i), 0x01000193);
  return h;
}

/**
 * Label names are any non-empty valid UTF-8 (Prometheus 3). Invalid bytes from Go-escaped query strings arrive as
 * lone surrogates, and U+FFFD marks replaced input: both are rejected.
 */
export function validLabelName(name: string): boolean {
  return name !== "" && !/[\ud800-\udfff]/.test(name.replace(/[\ud800-\udbff][\udc00-\udfff]/g, "")) && !name.includes("\ufffd");
}

/** Prometheus' `labels.String()` rendering, used in error messages. */
export function formatLabels(labels: Label[]): string {
  return "{" + labels.map((l) => `${l.name}=${JSON.stringify(l.value)}`).join(", ") + "}";
}

export function compareLabels(a: Label[], b: Label[]): number {
  const n = Math.min(a.length, b.length);
  for (let i = 0; i < n; i++) {
    if (a[i].name !== b[i].name) return a[i].name < b[i].name ? -1 : 1;
    if (a[i].value !== b[i].value) return a[i].value < b[i].value ? -1 : 1;
  }
  return a.length - b.length;
}

/** Go's strconv.FormatFloat(f, 'f', -1, 64): shortest round-trip digits, never an exponent. */
export function formatFloatPlain(f: number): string {
  if (Number.isNaN(f)) return "NaN";
  if (f === Infinity) return "+Inf";
  if (f === -Infinity) return "-Inf";
  const s = String(f);
  if (!/e/i.test(s)) return s;
  const negative = f < 0;
  const [mantissa, expPart] = Math.abs(f).toExponential().split("e");
  const exp = Number(expPart);
  const digits = mantissa.replace(".", "");
  let out: string;
  if (exp >= 0) {
    out = digits.length - 1 <= exp ? digits + "0".repeat(exp - (digits.length - 1)) : digits.slice(0, exp + 1) + "." + digits.slice(exp + 1);
  } else {
    out = "0." + "0".repeat(-exp - 1) + digits;
  }
  return (negative ? "-" : "") + out;
}

/** Go's strconv.ParseFloat for label values such as `le`: returns undefined when not a number. */
export function parseGoFloat(text: string): number | undefined {
  const s = text.trim() === text ? text : "";
  if (s === "") return undefined;
  const lower = s.toLowerCase();
  const sign = lower.startsWith("-") ? -1 : 1;
  const body = lower.replace(/^[+-]/, "");
  if (body === "inf" || body === "infinity") return sign * Infinity;
  if (body === "nan") return NaN;
  if (/^0x[0-9a-f_.]+(p[+-]?\d+)?$/.test(body)) {
    const n = Number(body.replace(/_/g, ""));
    return Number.isNaN(n) ? undefined : sign * n;
  }
  if (!/^(\d[\d_]*)?(\.\d*)?(e[+-]?\d+)?$/.test(body) || !/\d/.test(body)) return undefined;
  const n = Number(body.replace(/_/g, ""));
  return Number.isNaN(n) ? undefined : sign * n;
}

/** Natural ("human") string order as used by sort_by_label: digit runs compare numerically. */
export function naturalLess(a: string, b: string): boolean {
  const chunk = /(\d+|\D+)/g;
  const ca = a.match(chunk) ?? [];
  const cb = b.match(chunk) ?? [];
  for (let i = 0; i < ca.length && i < cb.length; i++) {
    const x = ca[i];
    const y = cb[i];
    if (x === y) continue;
    const xd = /^\d/.test(x);
    const yd = /^\d/.test(y);
    if (xd && yd) {
      const xi = x.replace(/^0+/, "");
      const yi = y.replace(/^0+/, "");
      if (xi.length !== yi.length) return xi.length < yi.length;
      if (xi !== yi) return xi < yi;
      return x.length < y.length;
    }
    return x < y;
  }
  return ca.length < cb.length;
}

const utf8 = new TextEncoder();

/**
 * Prometheus' labels.Hash() of its default (stringlabels) label encoding: XXH64 (seed 0) over each name and value
 * preceded by its byte length (one byte below 255, else 0xff and three bytes little-endian), in label order.
 * limit_ratio samples by it, so tsink keeps the same series Prometheus keeps.
 */
export function labelsHash(labels: Label[]): bigint {
  const parts: Uint8Array[] = [];
  let size = 0;
  for (const l of labels) {
    for (const text of [l.name, l.value]) {
      const bytes = utf8.encode(text);
      parts.push(bytes);
      size += bytes.length + (bytes.length < 255 ? 1 : 4);
    }
  }
  const wasm = loadWasm() as ReturnType<typeof loadWasm> & { xxh64Into(p: number, len: number, out: number): void };
  const outAt = (size + 7) & ~7;
  const base = wasm.scratch(outAt + 8);
  const { u8 } = memoryViews();
  let at = base;
  for (const bytes of parts) {
    const n = bytes.length;
    if (n < 255) {
      u8[at++] = n;
    } else {
      u8[at++] = 255;
      u8[at++] = n & 0xff;
      u8[at++] = (n >>> 8) & 0xff;
      u8[at++] = (n >>> 16) & 0xff;
    }
    u8.set(bytes, at);
    at += n;
  }
  wasm.xxh64Into(base, size, base + outAt);
  return memoryViews().u64[(base + outAt) >>> 3];
}
