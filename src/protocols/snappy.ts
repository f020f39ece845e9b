// Snappy block format (the framing of Prometheus remote write/read bodies): decompression by our WASM kernel
// (assembly/protocols/snappy.ts) into linear memory, compression by snappy-wasm, plus the guard that reads the
// declared uncompressed length first so a "snappy bomb" is refused before anything is allocated.
import { createRequire } from "node:module";
import { loadWasm, memoryViews, scratch } from "../wasm/loader.js";
import { ProtocolError } from "./errors.js";

// snappy-wasm's ESM build needs an async fetch-based init; its CommonJS build instantiates synchronously in Node.
const snappyWasm = createRequire(import.meta.url)("snappy-wasm") as {
  compress_raw(input: Uint8Array): Uint8Array;
};

const KERNEL_ERRORS: Record<number, string> = {
  [-1]: "truncated input",
  [-2]: "copy offset outside the output",
  [-3]: "output longer than the declared length",
  [-4]: "output shorter than the declared length",
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

/**
 * Decompresses a snappy block (given whole or as consecutive pieces, e.g. the chunks a socket delivered) into WASM
 * scratch memory and returns a view of it: valid only until the next call into the WASM kernels (chunk codecs,
 * PromQL, this), so read it synchronously. Refuses a block that declares more than maxBytes (kind "too_large")
 * before touching it.
 */
export function snappyDecompressTransient(input: Uint8Array | readonly Uint8Array[], maxBytes: number): Uint8Array {
  let block: Uint8Array;
  let pieces: readonly Uint8Array[];
  if (input instanceof Uint8Array) pieces = [(block = input)];
  else {
    pieces = input;
    block = pieces.length === 1 || (pieces[0]?.length ?? 0) >= 5 ? (pieces[0] ?? new Uint8Array(0)) : Buffer.concat(pieces);
  }
  const declared = snappyDeclaredLength(block);
  if (declared > maxBytes) {
    throw new ProtocolError(
      "too_large",
      `snappy body declares ${declared} uncompressed bytes, more than the limit of ${maxBytes}`,
    );
  }
  let length = 0;
  for (const piece of pieces) length += piece.length;
  const src = scratch(length + declared + 16);
  const dst = src + ((length + 15) & ~15);
  const u8 = memoryViews().u8;
  let at = src;
  for (const piece of pieces) {
    u8.set(piece, at);
    at += piece.length;
  }
  const written = (loadWasm().snappyDecompressInto as (s: number, sl: number, d: number, dl: number) => number)(src, length, dst, declared);
  if (written < 0) throw new ProtocolError("malformed", `invalid snappy block: ${KERNEL_ERRORS[written] ?? `error ${written}`}`);
  return memoryViews().u8.subarray(dst, dst + declared);
}

/** snappyDecompressTransient into a fresh array the caller may keep. */
export function snappyDecompress(block: Uint8Array, maxBytes: number): Uint8Array {
  return snappyDecompressTransient(block, maxBytes).slice();
}

export function snappyCompress(data: Uint8Array): Uint8Array {
  return snappyWasm.compress_raw(data);
}

