// Byte-run helpers the protocol scans share (the WriteRequest and line-protocol series caches): a 32-bit hash of a
// run of bytes and an equality test, both over linear memory 8 bytes at a time.

/** Hash of the n bytes at p, salted with `salt` (the caller's tenant or context id). */
@inline export function hashBytes(p: usize, n: usize, salt: u32): u32 {
  let h: u64 = (<u64>n << 32) ^ <u64>salt ^ 0x9e3779b97f4a7c15;
  let i: usize = 0;
  for (; i + 8 <= n; i += 8) {
    h = (h ^ load<u64>(p + i)) * 0xff51afd7ed558ccd;
    h ^= h >> 29;
  }
  for (; i < n; i++) h = (h ^ <u64>load<u8>(p + i)) * 0x100000001b3;
  h ^= h >> 32;
  h *= 0xc4ceb9fe1a85ec53;
  return <u32>(h ^ (h >> 29));
}

/** The n bytes at a equal the n bytes at b. */
@inline export function sameBytes(a: usize, b: usize, n: usize): bool {
  let i: usize = 0;
  for (; i + 8 <= n; i += 8) if (load<u64>(a + i) != load<u64>(b + i)) return false;
  for (; i < n; i++) if (load<u8>(a + i) != load<u8>(b + i)) return false;
  return true;
}
