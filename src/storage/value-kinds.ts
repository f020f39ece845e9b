// Value kinds of a series (fixed by its first write) and how JS values map onto them.
// Numeric kinds travel as raw 8-byte cells (f64 bits, i64/u64 two's complement, bool 0/1 as f64).
import type { ValueType } from "./types.js";

export const KIND_F64 = 0;
export const KIND_I64 = 1;
export const KIND_U64 = 2;
export const KIND_BOOL = 3;
export const KIND_BYTES = 4;
export const KIND_STRING = 5;
export const KIND_NONE = -1;

export const KIND_NAMES: readonly ValueType[] = ["f64", "i64", "u64", "bool", "bytes", "string"];

export type Blob = Uint8Array | string;

export const isBlobKind = (kind: number): boolean => kind >= KIND_BYTES;
