// Error constructors for the durability layer (WAL, segments, compaction): one place that decides
// which TsinkError a corrupt file, a full WAL or a held lock turns into.
import { TsinkError } from "../errors.js";

export function dataCorruption(file: string, offset: number, detail: string): TsinkError {
  return new TsinkError("DataCorruption", `data corruption in ${file} at offset ${offset}: ${detail}`, { file, offset });
}

export function walSizeLimitExceeded(limit: number, required: number): TsinkError {
  return new TsinkError(
    "WalSizeLimitExceeded",
    `WAL size limit exceeded: limit ${limit} bytes, required ${required} bytes; flush more often or raise withWalSizeLimit`,
    { limit, required },
  );
}

export function invalidConfiguration(message: string, details: Record<string, unknown> = {}): TsinkError {
  return new TsinkError("InvalidConfiguration", message, details);
}
