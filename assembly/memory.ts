// Scratch arena: one growable region of linear memory that JS fills with kernel inputs and reads outputs from.
// Shared by every kernel (codec and PromQL); its contents are valid until the next scratch() call.

let scratchBase: usize = 0;
let scratchCapacity: usize = 0;

/** Returns the base of a 16-byte aligned region of at least `bytes` bytes (may grow memory; JS views must be re-created). */
export function scratch(bytes: usize): usize {
  if (bytes > scratchCapacity) {
    if (scratchBase != 0) heap.free(scratchBase);
    let capacity = max<usize>(bytes, scratchCapacity << 1);
    capacity = (capacity + 0xffff) & ~(<usize>0xffff);
    scratchBase = heap.alloc(capacity);
    scratchCapacity = capacity;
  }
  return scratchBase;
}
