// Run-length codec for any fixed-width value (8-byte numbers or 1-byte bools) and the one-bit-per-value bool bitmap.
import { writeVarint, cursorStart, cursorPosition, cursorOk, readVarint, readBytes } from "./varint";

@inline function sameValue(values: usize, i: i32, j: i32, width: i32): bool {
  return width == 8
    ? load<u64>(values + (<usize>i << 3)) == load<u64>(values + (<usize>j << 3))
    : load<u8>(values + <usize>i) == load<u8>(values + <usize>j);
}

/** Number of runs of bit-identical values. */
export function countRuns(values: usize, n: i32, width: i32): i32 {
  let runs = 1;
  for (let i = 1; i < n; i++) if (!sameValue(values, i, i - 1, width)) runs++;
  return runs;
}

/** Writes [run length varint][value bytes] per run; returns end. */
export function encodeRuns(values: usize, n: i32, width: i32, p: usize): usize {
  let i = 0;
  while (i < n) {
    let j = i + 1;
    while (j < n && sameValue(values, j, i, width)) j++;
    p = writeVarint(p, <u64>(j - i));
    memory.copy(p, values + <usize>i * <usize>width, <usize>width);
    p += <usize>width;
    i = j;
  }
  return p;
}

/** Decodes runs into out; returns end or 0 if the runs do not add up to exactly n. */
export function decodeRuns(p: usize, end: usize, n: i32, width: i32, out: usize): usize {
  cursorStart(p);
  let filled = 0;
  while (filled < n) {
    const run = readVarint(end);
    const at = readBytes(<usize>width, end);
    if (!cursorOk() || run == 0 || run > <u64>(n - filled)) return 0;
    const stop = filled + <i32>run;
    if (width == 8) {
      const v = load<u64>(at);
      for (let i = filled; i < stop; i++) store<u64>(out + (<usize>i << 3), v);
    } else {
      memory.fill(out + <usize>filled, load<u8>(at), <usize>run);
    }
    filled = stop;
  }
  return cursorPosition();
}

/** Packs n bools (bytes, nonzero = true) one bit each, LSB first; returns end. */
export function encodeBitmap(values: usize, n: i32, p: usize): usize {
  const bytes = (n + 7) >> 3;
  memory.fill(p, 0, <usize>bytes);
  for (let i = 0; i < n; i++) {
    if (load<u8>(values + <usize>i) != 0) {
      const at = p + <usize>(i >> 3);
      store<u8>(at, <u8>(<u32>load<u8>(at) | (<u32>1 << <u32>(i & 7))));
    }
  }
  return p + <usize>bytes;
}

/** Unpacks n bools into out as 0/1 bytes; returns end or 0 if the bitmap is short or has stray padding bits. */
export function decodeBitmap(p: usize, end: usize, n: i32, out: usize): usize {
  const bytes = <usize>((n + 7) >> 3);
  if (end < p || end - p < bytes) return 0;
  for (let i = 0; i < n; i++) store<u8>(out + <usize>i, <u8>((<u32>load<u8>(p + <usize>(i >> 3)) >> <u32>(i & 7)) & 1));
  if ((n & 7) != 0 && (<u32>load<u8>(p + bytes - 1) >> <u32>(n & 7)) != 0) return 0;
  return p + bytes;
}
