// Error raised by the wire-format parsers: says what was wrong with the input and whether it was too large
// (the server maps "too_large" to 413 and everything else to 400).
export type ProtocolErrorKind = "malformed" | "too_large" | "unsupported";

export class ProtocolError extends Error {
  constructor(
    readonly kind: ProtocolErrorKind,
    message: string,
  ) {
    super(message);
    this.name = "ProtocolError";
  }
}
