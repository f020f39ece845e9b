// Hand-written decoder of the remote-write WriteRequest (prometheus/prompb) in JS: the complete grammar, for the
// requests the WASM scan (assembly/protocols/write_request.ts) leaves to it (metadata, histograms, unusual
// encodings, malformed bytes: it names what is wrong), and the Label and Exemplar decoders of both paths (varints,
// ASCII fast path for strings, interned). remote.ts keeps protobufjs for the schema and the cold messages; tests
// check this decoder against protobufjs.
import { ProtocolError } from "./errors.js";
import { resized } from "../encoding/typed-arrays.js";

export interface RawLabel {
  name: string;
  value: string;
}

/** A prometheus.Exemplar: labels in wire order, value, Unix ms timestamp (possibly beyond 2^53). */
export interface RawExemplar {
  labels: RawLabel[];
  value: number;
  timestamp: number;
}

/**
 * One TimeSeries as the decoder sees it. The object and its arrays are reused for the next series: read what you
 * need during the callback.
 */
export interface SeriesView {
  /** Samples: Unix ms timestamps (numbers, possibly beyond 2^53) and values, `sampleCount` of each. */
  readonly sampleCount: number;
  readonly timestamps: Float64Array;
  readonly values: Float64Array;
  readonly exemplars: number;
  readonly histograms: number;
  /** Decodes the labels (in wire order). */
  labels(): RawLabel[];
  /** Decodes the exemplars (in wire order). */
  decodeExemplars(): RawExemplar[];
}

/** Receives the decoded content in wire order. */
export interface WriteRequestVisitor {
  series(series: SeriesView): void;
  metadata(type: number, metricFamilyName: string, help: string, unit: string): void;
}

const utf8 = new TextDecoder("utf-8", { fatal: true });
const latin1 = new TextDecoder("latin1");

// Label names and values repeat across series and requests ("instance", "host-0001:9100", ...): a small
// direct-mapped table from bytes to the string decoded earlier saves the decode and the allocation, and hands
// storage identical string objects.
const INTERN_SLOTS = 16384;
const INTERN_MAX_BYTES = 128;
const internBytes: (Uint8Array | undefined)[] = new Array<Uint8Array | undefined>(INTERN_SLOTS).fill(undefined);
const internStrings: string[] = new Array<string>(INTERN_SLOTS).fill("");

class Cursor {
  pos = 0;
  readonly view: DataView;

  constructor(readonly buf: Uint8Array) {
    this.view = new DataView(buf.buffer, buf.byteOffset, buf.byteLength);
  }

  fail(what: string): never {
    throw new ProtocolError("malformed", `invalid WriteRequest protobuf: ${what} at byte ${this.pos}`);
  }

  /** Unsigned varint up to 32 bits (tags, lengths, enums). */
  uint32(): number {
    const buf = this.buf;
    const first = buf[this.pos];
    if (first !== undefined && first < 0x80) {
      this.pos++;
      return first;
    }
    let result = 0;
    let shift = 0;
    for (let i = 0; i < 10; i++) {
      if (this.pos >= buf.length) this.fail("truncated varint");
      const b = buf[this.pos++]!;
      if (shift < 32) result += (b & 0x7f) * 2 ** shift;
      if (b < 0x80) return result > 0xffffffff ? result % 0x100000000 : result;
      shift += 7;
    }
    return this.fail("varint longer than 10 bytes");
  }

  /** int64 varint as a number (two's complement); exact within ±2^53. */
  int64(): number {
    const buf = this.buf;
    let lo = 0;
    let hi = 0;
    for (let i = 0; i < 10; i++) {
      if (this.pos >= buf.length) this.fail("truncated varint");
      const b = buf[this.pos++]!;
      if (i < 4) lo |= (b & 0x7f) << (7 * i);
      else if (i === 4) {
        lo |= (b & 0x0f) << 28;
        hi |= (b & 0x7f) >> 4;
      } else hi |= (b & 0x7f) << (7 * i - 32);
      if (b < 0x80) return (hi | 0) * 4294967296 + (lo >>> 0);
    }
    return this.fail("varint longer than 10 bytes");
  }

  double(): number {
    if (this.pos + 8 > this.buf.length) this.fail("truncated double");
    const v = this.view.getFloat64(this.pos, true);
    this.pos += 8;
    return v;
  }

  /** Length of a length-delimited field; checks it fits. */
  length(): number {
    const n = this.uint32();
    if (this.pos + n > this.buf.length) this.fail(`length ${n} beyond the end of the message`);
    return n;
  }

  string(): string {
    const n = this.length();
    const start = this.pos;
    const end = start + n;
    const buf = this.buf;
    this.pos = end;
    if (n === 0) return "";
    let hash = 0x811c9dc5;
    let high = 0;
    for (let i = start; i < end; i++) {
      const b = buf[i]!;
      high |= b;
      hash = Math.imul(hash ^ b, 0x01000193);
    }
    const slot = (hash >>> 0) & (INTERN_SLOTS - 1);
    const cached = internBytes[slot];
    if (cached !== undefined && cached.length === n) {
      let same = true;
      for (let i = 0; i < n; i++) {
        if (cached[i] !== buf[start + i]) {
          same = false;
          break;
        }
      }
      if (same) return internStrings[slot]!;
    }
    let text: string;
    if (high < 0x80) text = latin1.decode(buf.subarray(start, end));
    else {
      try {
        text = utf8.decode(buf.subarray(start, end));
      } catch {
        return this.fail("string is not valid UTF-8");
      }
    }
    if (n <= INTERN_MAX_BYTES) {
      internBytes[slot] = buf.slice(start, end);
      internStrings[slot] = text;
    }
    return text;
  }

  skip(wireType: number): void {
    switch (wireType) {
      case 0:
        this.int64();
        return;
      case 1:
        if (this.pos + 8 > this.buf.length) this.fail("truncated fixed64");
        this.pos += 8;
        return;
      case 2: {
        const n = this.length();
        this.pos += n;
        return;
      }
      case 5:
        if (this.pos + 4 > this.buf.length) this.fail("truncated fixed32");
        this.pos += 4;
        return;
      default:
        this.fail(`unsupported wire type ${wireType}`);
    }
  }

  expect(wireType: number, actual: number, field: string): void {
    if (wireType !== actual) this.fail(`field ${field} has wire type ${actual}, expected ${wireType}`);
  }
}

class SeriesScan implements SeriesView {
  sampleCount = 0;
  timestamps = new Float64Array(64);
  values = new Float64Array(64);
  exemplars = 0;
  histograms = 0;
  /** [start, end) of each Label body. */
  private ranges = new Int32Array(64);
  /** [start, end) of each Exemplar body. */
  private exemplarRanges = new Int32Array(8);
  private labelCount = 0;
  private after = 0;

  constructor(private readonly c: Cursor) {}

  /** Scans one TimeSeries body ending at `end`: locates labels, decodes samples. */
  scan(end: number): void {
    const c = this.c;
    this.sampleCount = 0;
    this.exemplars = 0;
    this.histograms = 0;
    this.labelCount = 0;
    while (c.pos < end) {
      const tag = c.uint32();
      const field = tag >>> 3;
      const wire = tag & 7;
      if (field === 1) {
        c.expect(2, wire, "TimeSeries.labels");
        const n = c.length();
        this.ranges = withRange(this.ranges, this.labelCount++, c.pos, c.pos + n);
        c.pos += n;
      } else if (field === 2) {
        c.expect(2, wire, "TimeSeries.samples");
        const sampleEnd = c.length() + c.pos;
        let value = 0;
        let timestamp = 0;
        while (c.pos < sampleEnd) {
          const t = c.uint32();
          if (t === 0x09) value = c.double();
          else if (t === 0x10) timestamp = c.int64();
          else if (t >>> 3 === 1 || t >>> 3 === 2) c.fail(`Sample field ${t >>> 3} has wire type ${t & 7}`);
          else c.skip(t & 7);
        }
        if (c.pos !== sampleEnd) c.fail("Sample overruns its length");
        if (this.sampleCount === this.timestamps.length) {
          this.timestamps = resized(this.timestamps, this.sampleCount * 2);
          this.values = resized(this.values, this.sampleCount * 2);
        }
        this.timestamps[this.sampleCount] = timestamp;
        this.values[this.sampleCount++] = value;
      } else if (field === 3) {
        c.expect(2, wire, "TimeSeries.exemplars");
        const n = c.length();
        this.exemplarRanges = withRange(this.exemplarRanges, this.exemplars++, c.pos, c.pos + n);
        c.pos += n;
      } else if (field === 4) {
        c.expect(2, wire, "TimeSeries.histograms");
        const n = c.length();
        c.pos += n;
        this.histograms++;
      } else c.skip(wire);
    }
    if (c.pos !== end) c.fail("TimeSeries overruns its length");
    this.after = end;
  }

  labels(): RawLabel[] {
    const c = this.c;
    const out: RawLabel[] = [];
    for (let i = 0; i < this.labelCount; i++) out.push(label(c, this.ranges[2 * i]!, this.ranges[2 * i + 1]!));
    c.pos = this.after;
    return out;
  }

  decodeExemplars(): RawExemplar[] {
    const c = this.c;
    const out: RawExemplar[] = [];
    for (let i = 0; i < this.exemplars; i++) out.push(exemplar(c, this.exemplarRanges[2 * i]!, this.exemplarRanges[2 * i + 1]!));
    c.pos = this.after;
    return out;
  }
}

/** Decodes the Exemplar message body at [start, end) of `bytes` (located by the WASM scan). */
export function decodeExemplar(bytes: Uint8Array, start: number, end: number): RawExemplar {
  return exemplar(new Cursor(bytes), start, end);
}

/** Decodes the Exemplar message body at [start, end): labels = 1, value = 2 (double), timestamp = 3 (int64 ms). */
function exemplar(c: Cursor, start: number, end: number): RawExemplar {
  c.pos = start;
  const labels: RawLabel[] = [];
  let value = 0;
  let timestamp = 0;
  while (c.pos < end) {
    const t = c.uint32();
    if (t === 0x0a) {
      const n = c.length();
      const labelEnd = c.pos + n;
      if (labelEnd > end) c.fail("Exemplar label beyond the exemplar");
      labels.push(decodeLabel(c, c.pos, labelEnd));
    } else if (t === 0x11) value = c.double();
    else if (t === 0x18) timestamp = c.int64();
    else if (t >>> 3 >= 1 && t >>> 3 <= 3) c.fail(`Exemplar field ${t >>> 3} has wire type ${t & 7}`);
    else c.skip(t & 7);
  }
  if (c.pos !== end) c.fail("Exemplar overruns its length");
  return { labels, value, timestamp };
}

// Whole Label messages repeat too (a few thousand name/value pairs across 100k series): a direct-mapped table from
// a Label body's bytes (rows of LABEL_ROW_BYTES in one array) to the frozen object decoded earlier, so the series
// cache of remote.ts holds one shared object per pair instead of one per series and label.
const LABEL_SLOTS = 16384;
const LABEL_ROW_BYTES = 64;
const labelRows = new Uint8Array(LABEL_SLOTS * LABEL_ROW_BYTES);
const labelRowLengths = new Int32Array(LABEL_SLOTS);
const labelObjects: (RawLabel | undefined)[] = new Array<RawLabel | undefined>(LABEL_SLOTS).fill(undefined);

/** Decodes the Label message body at [start, end); the result is shared and frozen. */
function label(c: Cursor, start: number, end: number): RawLabel {
  const n = end - start;
  if (n > LABEL_ROW_BYTES || n <= 0) return decodeLabel(c, start, end);
  const buf = c.buf;
  let hash = 0x811c9dc5;
  for (let i = start; i < end; i++) hash = Math.imul(hash ^ buf[i]!, 0x01000193);
  const slot = (hash >>> 0) & (LABEL_SLOTS - 1);
  const row = slot * LABEL_ROW_BYTES;
  if (labelRowLengths[slot] === n) {
    let same = true;
    for (let i = 0; i < n; i++) {
      if (labelRows[row + i] !== buf[start + i]) {
        same = false;
        break;
      }
    }
    if (same) {
      c.pos = end;
      return labelObjects[slot]!;
    }
  }
  const decoded = Object.freeze(decodeLabel(c, start, end));
  labelRows.set(buf.subarray(start, end), row);
  labelRowLengths[slot] = n;
  labelObjects[slot] = decoded;
  return decoded;
}

function decodeLabel(c: Cursor, start: number, end: number): RawLabel {
  c.pos = start;
  let name = "";
  let value = "";
  while (c.pos < end) {
    const t = c.uint32();
    if (t === 0x0a) name = c.string();
    else if (t === 0x12) value = c.string();
    else if (t >>> 3 === 1 || t >>> 3 === 2) c.fail(`Label field ${t >>> 3} has wire type ${t & 7}`);
    else c.skip(t & 7);
  }
  if (c.pos !== end) c.fail("Label overruns its length");
  return { name, value };
}

/**
 * Decodes a run of TimeSeries.labels fields (tag, length, Label) at [start, end) of `bytes` (positions in error
 * messages count from the start of `bytes`).
 */
export function decodeLabelRun(bytes: Uint8Array, start: number, end: number): RawLabel[] {
  const c = new Cursor(bytes);
  const out: RawLabel[] = [];
  c.pos = start;
  while (c.pos < end) {
    const tag = c.uint32();
    c.expect(2, tag & 7, "TimeSeries.labels");
    if (tag >>> 3 !== 1) c.fail(`field ${tag >>> 3} inside a label run`);
    const n = c.length();
    const bodyEnd = c.pos + n;
    if (bodyEnd > end) c.fail("label beyond its run");
    out.push(label(c, c.pos, bodyEnd));
  }
  return out;
}

export function visitWriteRequest(bytes: Uint8Array, visitor: WriteRequestVisitor): void {
  const c = new Cursor(bytes);
  const series = new SeriesScan(c);
  const end = bytes.length;
  while (c.pos < end) {
    const tag = c.uint32();
    const field = tag >>> 3;
    const wire = tag & 7;
    if (field === 1) {
      c.expect(2, wire, "WriteRequest.timeseries");
      const len = c.length();
      series.scan(c.pos + len);
      visitor.series(series);
    } else if (field === 3) {
      c.expect(2, wire, "WriteRequest.metadata");
      const len = c.length();
      metadata(c, c.pos + len, visitor);
    } else c.skip(wire);
  }
}

function metadata(c: Cursor, end: number, visitor: WriteRequestVisitor): void {
  let type = 0;
  let name = "";
  let help = "";
  let unit = "";
  while (c.pos < end) {
    const tag = c.uint32();
    const field = tag >>> 3;
    const wire = tag & 7;
    if (field === 1 && wire === 0) type = c.uint32();
    else if (field === 2 && wire === 2) name = c.string();
    else if (field === 4 && wire === 2) help = c.string();
    else if (field === 5 && wire === 2) unit = c.string();
    else if (field === 1 || field === 2 || field === 4 || field === 5) c.fail(`MetricMetadata field ${field} has wire type ${wire}`);
    else c.skip(wire);
  }
  if (c.pos !== end) c.fail("MetricMetadata overruns its length");
  visitor.metadata(type, name, help, unit);
}

/** `ranges` with byte range [start, end) stored as pair `index` (a doubled copy when it is full). */
function withRange<T extends Int32Array>(ranges: T, index: number, start: number, end: number): T {
  const out = 2 * index + 2 > ranges.length ? resized(ranges, ranges.length * 2) : ranges;
  out[2 * index] = start;
  out[2 * index + 1] = end;
  return out;
}
