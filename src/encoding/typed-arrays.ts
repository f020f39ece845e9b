// Growth of the typed arrays behind the columnar structures (registry, heads, sealed chunks, protocol decoders):
// one copy-into-a-larger-array of the same element type, so no structure writes its own.

type TypedArray = Int8Array | Uint8Array | Uint16Array | Int32Array | Uint32Array | Float64Array | BigInt64Array;

/** A copy of `a` in a new array of the same type with `length` elements; elements past `a` are `fill` (default 0). */
export function resized<T extends TypedArray>(a: T, length: number, fill?: number): T {
  const b = new (a.constructor as new (n: number) => T)(length);
  b.set(a as never);
  if (fill !== undefined && fill !== 0 && length > a.length) (b as Int8Array).fill(fill, a.length);
  return b;
}

/** `a` when it already holds `need` elements, else a copy whose length doubles until it does. */
export function grownTo<T extends TypedArray>(a: T, need: number): T {
  if (need <= a.length) return a;
  let n = Math.max(1, a.length * 2);
  while (n < need) n *= 2;
  return resized(a, n);
}
