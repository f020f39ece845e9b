// WAL frame format and scanner: 24-byte header (magic, type, sequence, length, CRC-32) + payload.
// The scanner tells intact frames from a torn tail (crash mid-write) and from real corruption.
import { crc32 } from "node:zlib";

const FRAME_MAGIC = 0x4c575354; // "TSWL" little-endian
export const FRAME_HEADER_BYTES = 24;
const MAX_FRAME_PAYLOAD_BYTES = 64 * 1024 * 1024;

/** Builds the header of a frame; the CRC covers header bytes 4..19 and the payload. */
export function encodeFrameHeader(type: number, seq: number, payload: Uint8Array): Buffer {
  if (payload.length > MAX_FRAME_PAYLOAD_BYTES) {
    throw new RangeError(`WAL frame payload of ${payload.length} bytes exceeds ${MAX_FRAME_PAYLOAD_BYTES}`);
  }
  const header = Buffer.alloc(FRAME_HEADER_BYTES);
  header.writeUInt32LE(FRAME_MAGIC, 0);
  header.writeUInt8(type, 4);
  header.writeUInt32LE(seq % 0x1_0000_0000, 8);
  header.writeUInt32LE(Math.floor(seq / 0x1_0000_0000), 12);
  header.writeUInt32LE(payload.length, 16);
  header.writeUInt32LE(crc32(payload, crc32(header.subarray(4, 20))), 20);
  return header;
}

export interface ScannedFrame {
  type: number;
  seq: number;
  /** Offset of the frame header in the file. */
  offset: number;
  payload: Buffer;
}

export interface ScanProblem {
  /** "torn": nothing intact follows (a crash mid-append); "corrupt": damage with intact data after it. */
  kind: "torn" | "corrupt";
  offset: number;
  detail: string;
}

export interface ScanResult {
  frames: ScannedFrame[];
  problems: ScanProblem[];
  /** End of the last intact frame. */
  validEnd: number;
}

/** Checks the frame starting at `offset`; returns its length in bytes or a reason it is not intact. */
function checkFrame(buf: Buffer, offset: number): number | string {
  if (buf.length - offset < FRAME_HEADER_BYTES) return `incomplete header (${buf.length - offset} bytes)`;
  if (buf.readUInt32LE(offset) !== FRAME_MAGIC) return "bad frame magic";
  const length = buf.readUInt32LE(offset + 16);
  if (length > MAX_FRAME_PAYLOAD_BYTES) return `implausible payload length ${length}`;
  const end = offset + FRAME_HEADER_BYTES + length;
  if (end > buf.length) return `payload of ${length} bytes runs past end of file`;
  const crc = crc32(buf.subarray(offset + FRAME_HEADER_BYTES, end), crc32(buf.subarray(offset + 4, offset + 20)));
  if (crc !== buf.readUInt32LE(offset + 20)) return "CRC-32 mismatch";
  return FRAME_HEADER_BYTES + length;
}

function nextIntactFrame(buf: Buffer, from: number): number {
  const magic = Buffer.alloc(4);
  magic.writeUInt32LE(FRAME_MAGIC, 0);
  for (let at = buf.indexOf(magic, from); at >= 0; at = buf.indexOf(magic, at + 1)) {
    if (typeof checkFrame(buf, at) === "number") return at;
  }
  return -1;
}

/**
 * Splits a WAL file into frames. Damage followed by an intact frame is "corrupt" (the scan resumes
 * at that frame, so every intact frame is kept); damage with nothing intact after it is "torn".
 */
export function scanFrames(buf: Buffer): ScanResult {
  const frames: ScannedFrame[] = [];
  const problems: ScanProblem[] = [];
  let offset = 0;
  let validEnd = 0;
  while (offset < buf.length) {
    const checked = checkFrame(buf, offset);
    if (typeof checked === "string") {
      const resume = nextIntactFrame(buf, offset + 1);
      if (resume < 0) {
        problems.push({ kind: "torn", offset, detail: checked });
        break;
      }
      problems.push({ kind: "corrupt", offset, detail: `${checked}; ${resume - offset} bytes skipped` });
      offset = resume;
      continue;
    }
    const seq = buf.readUInt32LE(offset + 8) + buf.readUInt32LE(offset + 12) * 0x1_0000_0000;
    frames.push({
      type: buf.readUInt8(offset + 4),
      seq,
      offset,
      payload: buf.subarray(offset + FRAME_HEADER_BYTES, offset + checked),
    });
    offset += checked;
    validEnd = offset;
  }
  return { frames, problems, validEnd };
}
