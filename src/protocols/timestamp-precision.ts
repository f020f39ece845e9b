// Timestamp precisions of the server and unit conversion of protocol timestamps.

export type TimestampPrecision = "s" | "ms" | "us" | "ns";

/** Converts a Unix-ms timestamp to the server's precision (bigint for ns, where numbers lose precision). */
export function scaleMillis(ms: number, precision: TimestampPrecision): number | bigint {
  switch (precision) {
    case "ms":
      return ms;
    case "s":
      return Math.floor(ms / 1000);
    case "us":
      return ms * 1000;
    case "ns":
      return BigInt(ms) * 1_000_000n;
  }
}

/** Converts a timestamp in the server's precision to Unix ms (floor). */
export function toMillis(ts: number | bigint, precision: TimestampPrecision): number {
  switch (precision) {
    case "ms":
      return Number(ts);
    case "s":
      return Number(ts) * 1000;
    case "us":
      return Math.floor(Number(ts) / 1000);
    case "ns":
      return Number(BigInt(ts) / 1_000_000n);
  }
}
