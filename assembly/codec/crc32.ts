// CRC-32 (IEEE, reflected 0xEDB88320), slicing-by-8; the per-chunk checksum that catches corrupt or truncated bytes.

const TABLE = memory.data(8 * 256 * 4, 16);

function buildTable(): void {
  for (let i: u32 = 0; i < 256; i++) {
    let c = i;
    for (let k = 0; k < 8; k++) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1;
    store<u32>(TABLE + (<usize>i << 2), c);
  }
  for (let i: u32 = 0; i < 256; i++) {
    let c = load<u32>(TABLE + (<usize>i << 2));
    for (let t: u32 = 1; t < 8; t++) {
      c = load<u32>(TABLE + (<usize>(c & 0xff) << 2)) ^ (c >>> 8);
      store<u32>(TABLE + (<usize>(t * 256 + i) << 2), c);
    }
  }
}
buildTable();

@inline function t(slice: u32, index: u32): u32 {
  return load<u32>(TABLE + (<usize>((slice << 8) + index) << 2));
}

/** CRC-32 of `len` bytes at `p` (crc32("123456789") == 0xCBF43926). */
export function crc32(p: usize, len: usize): u32 {
  let c: u32 = 0xffffffff;
  while (len >= 8) {
    const a = load<u32>(p) ^ c;
    const b = load<u32>(p, 4);
    c =
      t(7, a & 0xff) ^ t(6, (a >>> 8) & 0xff) ^ t(5, (a >>> 16) & 0xff) ^ t(4, a >>> 24) ^
      t(3, b & 0xff) ^ t(2, (b >>> 8) & 0xff) ^ t(1, (b >>> 16) & 0xff) ^ t(0, b >>> 24);
    p += 8;
    len -= 8;
  }
  while (len > 0) {
    c = t(0, (c ^ <u32>load<u8>(p)) & 0xff) ^ (c >>> 8);
    p++;
    len--;
  }
  return ~c;
}
