// Shared helpers for the storage tests: a fresh in-memory storage and an assertion for TsinkError codes.
import * as assert from "uvu/assert";
import { StorageBuilder } from "../../src/storage/builder.js";
import { TsinkError } from "../../src/storage/errors.js";
import type { Label, Row, Value } from "../../src/storage/types.js";

export function msStorage(configure: (b: StorageBuilder) => StorageBuilder = (b) => b) {
  return configure(new StorageBuilder().withTimestampPrecision("ms")).build();
}

export const row = (metric: string, labels: Label[], timestamp: number | bigint, value: Value): Row => ({
  metric,
  labels,
  dataPoint: { timestamp, value },
});

export const L = (...kv: string[]): Label[] => {
  const out: Label[] = [];
  for (let i = 0; i < kv.length; i += 2) out.push({ name: kv[i]!, value: kv[i + 1]! });
  return out;
};

/** Past timestamps close to now in ms, so the future-skew and retention checks never interfere. */
export const NOW = Date.now() - 3_600_000;

export async function rejects(p: Promise<unknown> | (() => unknown), code: string, messagePart?: string): Promise<TsinkError> {
  try {
    await (typeof p === "function" ? p() : p);
  } catch (err) {
    assert.instance(err, TsinkError, `expected TsinkError, got ${String(err)}`);
    assert.is((err as TsinkError).code, code, (err as Error).message);
    if (messagePart) assert.ok((err as Error).message.includes(messagePart), (err as Error).message);
    return err as TsinkError;
  }
  assert.unreachable(`expected ${code}`);
  throw new Error("unreachable");
}
