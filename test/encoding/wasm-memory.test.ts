// The WASM loader: one cached instance, aligned scratch arena, typed-array views re-created after memory.grow, freed
// linear-memory blocks reused (WASM memory never shrinks).
import { test } from "uvu";
import * as assert from "uvu/assert";
import { loadWasm, memoryViews, scratch } from "../../src/wasm/loader.js";
import { encodeChunk, decodeChunk } from "../../src/encoding/chunk.js";

test("loadWasm returns one cached instance exposing memory and scratch", () => {
  assert.is(loadWasm(), loadWasm());
  assert.instance(loadWasm().memory, WebAssembly.Memory);
  assert.type(loadWasm().scratch, "function");
});

test("blocks freed by growth are reused: a grown read arena moves into the block the scratch left behind", () => {
  const wasm = loadWasm();
  const first = scratch(1 << 20);
  const arena = wasm.readArena(1 << 10, 0); // 16 KiB, after the scratch
  const second = scratch(4 << 20); // the 1 MiB block is freed; the new one goes after the arena
  assert.ok(arena > first && second > arena);
  const grown = wasm.readArena(1 << 15, 0); // 512 KiB: fits into the freed block
  assert.ok(grown >= first && grown < first + (1 << 20), `read arena at ${grown}, freed block at ${first}, scratch at ${second}`);
});

test("scratch is 16-byte aligned, reused while big enough, and growth re-creates the views", () => {
  const small = scratch(1024);
  assert.is(small % 16, 0);
  assert.is(scratch(512), small);
  const before = memoryViews();
  const pages = loadWasm().memory.buffer.byteLength / 65536;
  const big = scratch(pages * 65536 + 1);
  assert.is(big % 16, 0);
  const after = memoryViews();
  assert.is.not(after.buffer, before.buffer);
  assert.is(after.u8.length, loadWasm().memory.buffer.byteLength);
  assert.ok(after.u8.length > pages * 65536);
  after.f64[big / 8] = 1.5;
  assert.is(memoryViews().f64[big / 8], 1.5);
});

test("codec calls keep working across arena growth", () => {
  const small = encodeChunk("f64", Float64Array.of(1, 2), Float64Array.of(0.5, 0.25));
  scratch(loadWasm().memory.buffer.byteLength * 2);
  assert.equal(Array.from(decodeChunk(small).values as Float64Array), [0.5, 0.25]);
});

test.run();
