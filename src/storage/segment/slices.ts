// Cooperative slicing of long synchronous work (segment writes, index encoding, compaction merges): a pause
// point yields the event loop once the current slice has run for `sliceMs`, so no turn blocks for long.

/** Returns a promise to await at a pause point once a slice is over, else undefined (keep going). */
export type Pause = () => Promise<void> | undefined;

export function makeYielder(sliceMs: number): Pause {
  let sliceStart = performance.now();
  return () => {
    if (performance.now() - sliceStart < sliceMs) return undefined;
    return new Promise<void>((resolve) =>
      setImmediate(() => {
        sliceStart = performance.now();
        resolve();
      }),
    );
  };
}
