// Linear-memory arenas: the shared scratch (JS fills it with kernel inputs and reads outputs; valid until the next
// scratch() call), the read arena (decoded range data that range kernels read in place; see readArena) and the
// blocks of the segment block cache (decompressed segment blocks whose records are decoded in place; see cacheAlloc).

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

let arenaBase: usize = 0;
let arenaPoints: usize = 0;

/**
 * The read arena: room for `points` points as two f64 areas, timestamps at the returned base and values at
 * base + readArenaPoints() * 8. Growing keeps the first `keepPoints` points of both areas (the areas move, so
 * callers hold indexes, not addresses). Its own heap block: scratch() calls never touch it.
 */
export function readArena(points: usize, keepPoints: usize): usize {
  if (points > arenaPoints) {
    let capacity = max<usize>(points, arenaPoints << 1);
    capacity = (capacity + 0xfff) & ~(<usize>0xfff);
    const base = heap.alloc(capacity << 4);
    if (keepPoints > 0) {
      memory.copy(base, arenaBase, keepPoints << 3);
      memory.copy(base + (capacity << 3), arenaBase + (arenaPoints << 3), keepPoints << 3);
    }
    if (arenaBase != 0) heap.free(arenaBase);
    arenaBase = base;
    arenaPoints = capacity;
  }
  return arenaBase;
}

/** Point capacity of the read arena (its values area starts readArenaPoints() * 8 bytes after its base). */
export function readArenaPoints(): usize {
  return arenaPoints;
}

/**
 * A block of the segment block cache (src/storage/segment/reader.ts): `bytes` bytes of their own heap block, where
 * JS copies a decompressed segment block once; the record decoders read its records in place. Freed with cacheFree
 * when the cache evicts the block or its segment closes.
 */
export function cacheAlloc(bytes: usize): usize {
  return heap.alloc(bytes);
}

export function cacheFree(ptr: usize): void {
  heap.free(ptr);
}
