// Linear-memory arenas: the shared scratch (JS fills it with kernel inputs and reads outputs; valid until the next
// scratch() call), the read arena (decoded range data that range kernels read in place; see readArena) and the block
// area (a segment block staged for decoding its records; see blockArea).

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

let blockBase: usize = 0;
let blockCapacity: usize = 0;

/**
 * The block area: at least `bytes` bytes of its own heap block (scratch() and the read arena never touch it), where
 * JS stages a segment block whose records it decodes one after the other. Growing it drops its contents.
 */
export function blockArea(bytes: usize): usize {
  if (bytes > blockCapacity) {
    if (blockBase != 0) heap.free(blockBase);
    blockCapacity = (bytes + 0xffff) & ~(<usize>0xffff);
    blockBase = heap.alloc(blockCapacity);
  }
  return blockBase;
}
