// Graphite plaintext protocol to sample columns (reference §4.5): `path[;tag=value...] value [timestamp_seconds]` lines, the
// path normalised to a metric name, tags as labels; plus the line framer the TCP listener feeds with socket
// chunks (keeps a half line across chunks, never buffers more than the line limit, skips over-long lines).
// Hand-written: npm's graphite packages are clients, not parsers; the format is one short line per sample.
import { ProtocolError } from "./errors.js";
import { normaliseLabelName, normaliseMetricName } from "./legacy-names.js";
import { SeriesKey } from "../storage/types.js";
import type { TimestampPrecision } from "./timestamp-precision.js";
import type { SampleColumnsBuilder } from "./sample-columns.js";
import { type Label, excerpt, validateSeries } from "./series-validation.js";

export interface GraphiteOptions {
  /** Timestamp of lines without one, in the server precision. */
  now: number | bigint;
  serverPrecision: TimestampPrecision;
  tenantLabel?: Label;
}

const FLOAT_RE = /^[+-]?(?:\d+\.?\d*|\.\d+)(?:[eE][+-]?\d+)?$/;
const SCALE: Record<TimestampPrecision, number> = { s: 1, ms: 1e3, us: 1e6, ns: 1e9 };

function fail(line: string, why: string): never {
  throw new ProtocolError("malformed", `graphite line ${excerpt(line, 120)}: ${why}`);
}

/** Appends the sample of one line to `out`; false for a blank line. Throws ProtocolError saying why the line is invalid. */
export function parseGraphiteLine(raw: string, opts: GraphiteOptions, out: SampleColumnsBuilder): boolean {
  const line = raw.trim();
  if (line.length === 0) return false;
  const parts = line.split(/\s+/);
  if (parts.length !== 2 && parts.length !== 3) fail(line, "expected `path value [timestamp]`");
  const segments = parts[0]!.split(";");
  const path = segments[0]!;
  if (path.length === 0) fail(line, "empty metric path");
  const labels: Label[] = [];
  for (let i = 1; i < segments.length; i++) {
    const tag = segments[i]!;
    const eq = tag.indexOf("=");
    if (eq <= 0) fail(line, `tag ${excerpt(tag)} is not name=value`);
    const value = tag.slice(eq + 1);
    if (value.length === 0) fail(line, `tag ${excerpt(tag.slice(0, eq))} has an empty value`);
    labels.push({ name: normaliseLabelName(tag.slice(0, eq)), value });
  }
  const valueText = parts[1]!;
  if (!FLOAT_RE.test(valueText) || !Number.isFinite(Number(valueText))) fail(line, `invalid value ${excerpt(valueText)}`);
  let timestamp = opts.now;
  if (parts.length === 3) timestamp = graphiteTimestamp(parts[2]!, opts.serverPrecision, line);
  const metric = normaliseMetricName(path);
  let sorted: Label[];
  try {
    sorted = validateSeries(metric, labels, opts.tenantLabel);
  } catch (err) {
    fail(line, (err as Error).message);
  }
  out.add(new SeriesKey(metric, sorted), timestamp, Number(valueText));
  return true;
}

/** Unix seconds (float) to the server precision, truncated toward zero. */
function graphiteTimestamp(text: string, precision: TimestampPrecision, line: string): number | bigint {
  if (!FLOAT_RE.test(text)) fail(line, `timestamp ${excerpt(text)} is not a Unix timestamp in seconds`);
  const seconds = Number(text);
  if (!Number.isFinite(seconds)) fail(line, "timestamp is not finite");
  if (precision === "ns") {
    if (/^-?\d+$/.test(text)) return BigInt(text) * 1_000_000_000n;
    return BigInt(Math.trunc(seconds * 1e9));
  }
  const scaled = Math.trunc(seconds * SCALE[precision]);
  if (!Number.isSafeInteger(scaled)) fail(line, "timestamp is out of range");
  return scaled;
}

/**
 * Splits a byte stream into lines. A line longer than `maxLineBytes` (without its newline) is skipped whole and
 * counted in `overlong`, and the framer never holds more than `maxLineBytes` bytes of a pending line.
 */
export class LineFramer {
  private pending: Buffer[] = [];
  private pendingBytes = 0;
  private discarding = false;
  private readonly decoder = new TextDecoder("utf-8", { fatal: true });

  constructor(private readonly maxLineBytes: number) {}

  push(chunk: Buffer): { lines: string[]; overlong: number; invalidUtf8: number } {
    const lines: string[] = [];
    let overlong = 0;
    let invalidUtf8 = 0;
    let start = 0;
    for (;;) {
      const nl = chunk.indexOf(10, start);
      const end = nl < 0 ? chunk.length : nl;
      const piece = chunk.subarray(start, end);
      if (!this.discarding) {
        if (this.pendingBytes + piece.length > this.maxLineBytes) {
          this.discarding = true;
          this.pending = [];
          this.pendingBytes = 0;
          overlong++;
        } else if (piece.length > 0) {
          this.pending.push(piece);
          this.pendingBytes += piece.length;
        }
      }
      if (nl < 0) break;
      if (!this.discarding) {
        const bytes = this.pending.length === 1 ? this.pending[0]! : Buffer.concat(this.pending, this.pendingBytes);
        try {
          lines.push(this.decoder.decode(bytes));
        } catch {
          invalidUtf8++;
        }
      }
      this.pending = [];
      this.pendingBytes = 0;
      this.discarding = false;
      start = nl + 1;
    }
    // Pieces kept across chunks must not pin the socket's (possibly large) chunk buffers: copy them.
    if (this.pending.length > 0 && this.pending[this.pending.length - 1]!.buffer === chunk.buffer) {
      this.pending[this.pending.length - 1] = Buffer.from(this.pending[this.pending.length - 1]!);
    }
    return { lines, overlong, invalidUtf8 };
  }

  /** The unterminated last line at end of stream (a client that closes without a final newline). */
  finish(): string | undefined {
    if (this.discarding || this.pendingBytes === 0) return undefined;
    const bytes = Buffer.concat(this.pending, this.pendingBytes);
    this.pending = [];
    this.pendingBytes = 0;
    try {
      return this.decoder.decode(bytes);
    } catch {
      return undefined;
    }
  }
}
