// LEB128 varints, zigzag mapping and a bounds-checked byte cursor shared by the chunk decoders.
// A failed read sets a sticky flag instead of trapping, so corrupt input becomes an error code.

let cursor: usize = 0;
let cursorFailed: bool = false;

@inline export function zigzag(v: i64): u64 {
  return <u64>((v << 1) ^ (v >> 63));
}

@inline export function unzigzag(u: u64): i64 {
  return <i64>(u >>> 1) ^ -(<i64>(u & 1));
}

/** Writes `v` as LEB128 at `p`; returns the position after it. */
@inline export function writeVarint(p: usize, v: u64): usize {
  while (v >= 0x80) {
    store<u8>(p, <u8>(v | 0x80));
    v >>>= 7;
    p++;
  }
  store<u8>(p, <u8>v);
  return p + 1;
}

@inline export function cursorStart(p: usize): void {
  cursor = p;
  cursorFailed = false;
}

@inline export function cursorPosition(): usize {
  return cursor;
}

@inline export function cursorOk(): bool {
  return !cursorFailed;
}

/** Reads a LEB128 value that must end before `end`. */
export function readVarint(end: usize): u64 {
  let result: u64 = 0;
  let shift: u64 = 0;
  while (true) {
    if (cursor >= end || shift > 63) {
      cursorFailed = true;
      return 0;
    }
    const b = <u64>load<u8>(cursor);
    cursor++;
    result |= (b & 0x7f) << shift;
    if (b < 0x80) return result;
    shift += 7;
  }
}

@inline export function readByte(end: usize): u32 {
  if (cursor >= end) {
    cursorFailed = true;
    return 0;
  }
  const b = <u32>load<u8>(cursor);
  cursor++;
  return b;
}

/** Claims `n` bytes at the cursor (returns their start) or fails if they pass `end`. */
@inline export function readBytes(n: usize, end: usize): usize {
  const start = cursor;
  if (n > end - start || start > end) {
    cursorFailed = true;
    return start;
  }
  cursor = start + n;
  return start;
}
