// Snappy block decompression (the framing of remote-write bodies) straight into linear memory, so the decoded
// request is read in place by the WriteRequest decoder: no output array per request (snappy-wasm returns a fresh
// copy of every body, ~135 bytes per sample of garbage). Format: github.com/google/snappy/blob/main/format_description.txt

/** Error codes (negative results). */
const ERR_TRUNCATED: i32 = -1;
const ERR_OFFSET: i32 = -2;
const ERR_OVERFLOW: i32 = -3;
const ERR_LENGTH: i32 = -4;

/**
 * Decompresses the block at [src, src + srcLen) (its leading varint already checked by JS) into [dst, dst + dstLen),
 * where dstLen is the declared uncompressed length. Returns the number of bytes written (= dstLen) or an error
 * code < 0. Never reads or writes outside the two ranges.
 */
export function snappyDecompressInto(src: usize, srcLen: usize, dst: usize, dstLen: usize): i32 {
  const end = src + srcLen;
  let p = src;
  // skip the length varint (at most 5 bytes)
  for (let i = 0; ; i++) {
    if (p >= end || i == 5) return ERR_TRUNCATED;
    const b = load<u8>(p++);
    if (b < 0x80) break;
  }
  const dstEnd = dst + dstLen;
  let q = dst;
  while (p < end) {
    const tag = <u32>load<u8>(p++);
    const kind = tag & 3;
    if (kind == 0) {
      // literal: length - 1 in the tag's upper 6 bits, or in the next 1-4 bytes
      let len = <usize>(tag >> 2);
      if (len >= 60) {
        const extra = len - 59;
        if (p + extra > end) return ERR_TRUNCATED;
        len = 0;
        for (let i: usize = 0; i < extra; i++) len |= <usize>load<u8>(p + i) << (8 * i);
        p += extra;
      }
      len += 1;
      if (len > end - p) return ERR_TRUNCATED;
      if (len > dstEnd - q) return ERR_OVERFLOW;
      memory.copy(q, p, len);
      p += len;
      q += len;
      continue;
    }
    let len: usize;
    let offset: usize;
    if (kind == 1) {
      if (p >= end) return ERR_TRUNCATED;
      len = 4 + <usize>((tag >> 2) & 7);
      offset = (<usize>(tag >> 5) << 8) | <usize>load<u8>(p);
      p += 1;
    } else if (kind == 2) {
      if (p + 2 > end) return ERR_TRUNCATED;
      len = 1 + <usize>(tag >> 2);
      offset = <usize>load<u16>(p);
      p += 2;
    } else {
      if (p + 4 > end) return ERR_TRUNCATED;
      len = 1 + <usize>(tag >> 2);
      offset = <usize>load<u32>(p);
      p += 4;
    }
    if (offset == 0 || offset > q - dst) return ERR_OFFSET;
    if (len > dstEnd - q) return ERR_OVERFLOW;
    const from = q - offset;
    if (offset >= len) memory.copy(q, from, len);
    else for (let i: usize = 0; i < len; i++) store<u8>(q + i, load<u8>(from + i)); // overlapping: repeats the pattern
    q += len;
  }
  if (q != dstEnd) return ERR_LENGTH;
  return <i32>dstLen;
}
