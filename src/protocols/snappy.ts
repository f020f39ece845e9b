// Snappy block format (the framing of Prometheus remote write/read bodies) over snappy-wasm, plus the guard
// that reads the declared uncompressed length first so a "snappy bomb" is refused before anything is allocated.
import { createRequire } from "node:module";
import { ProtocolError } from "./errors.js";

// snappy-wasm's ESM build needs an async fetch-based init; its CommonJS build instantiates synchronously in Node.
const snappyWasm = createRequire(import.meta.url)("snappy-wasm") as {
  compress_raw(input: Uint8Array): Uint8Array;
  decompress_raw(input: Uint8Array): Uint8Array;
};

/** The uncompressed length a snappy block declares in its leading varint (at most 32 bits). */
export function snappyDeclaredLength(block: Uint8Array): number {
  let value = 0;
  for (let i = 0; i < 5; i++) {
    if (i >= block.length) throw new ProtocolError("malformed", "invalid snappy block: truncated length header");
    const byte = block[i]!;
    value += (byte & 0x7f) * 2 ** (7 * i);
    if ((byte & 0x80) === 0) {
      if (value > 0xffffffff) break;
      return value;
    }
  }
  throw new ProtocolError("malformed", "invalid snappy block: length header is not a 32-bit varint");
}

/** Decompresses a snappy block, refusing it (kind "too_large") when it declares more than maxBytes. */
export function snappyDecompress(block: Uint8Array, maxBytes: number): Uint8Array {
  const declared = snappyDeclaredLength(block);
  if (declared > maxBytes) {
    throw new ProtocolError(
      "too_large",
      `snappy body declares ${declared} uncompressed bytes, more than the limit of ${maxBytes}`,
    );
  }
  try {
    return snappyWasm.decompress_raw(block);
  } catch (err) {
    throw new ProtocolError("malformed", `invalid snappy block: ${errorText(err)}`);
  }
}

export function snappyCompress(data: Uint8Array): Uint8Array {
  return snappyWasm.compress_raw(data);
}

function errorText(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}
