// The error every chunk decoder throws for bytes that are not a valid chunk (corrupt, truncated, wrong version).

export class ChunkCorruptionError extends Error {
  readonly code = "DataCorruption";
  override readonly name = "ChunkCorruptionError";
}
