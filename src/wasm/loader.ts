// The one module that loads build/tsink.wasm (synchronously, once) and hands out its exports plus typed-array views
// over linear memory. A leaf: every kernel's TypeScript wrapper (in encoding, storage, promql, protocols) builds on it.
//
// Memory handling: kernels never allocate per call. JS asks for a scratch region (`scratch(bytes)`, one growable
// arena in linear memory shared by all kernels), copies inputs into it, calls a kernel, and copies results out.
// The region is valid until the next scratch() call. A second region, the read arena (`readArena(points, keep)`), holds
// decoded range data (f64 timestamps and values) that range kernels read in place; it is reused, never released.
// scratch() and readArena() may grow memory, which detaches every typed-array
// view over the old buffer, so views are taken from `memoryViews()` after the scratch() call (it re-creates them
// whenever memory.buffer changed). Nothing here is re-entrant; Node runs it on one thread.
import { readFileSync } from "node:fs";

// The project compiles against lib ES2022 without DOM, which lacks the WebAssembly JS API; declare what is used.
declare global {
  namespace WebAssembly {
    class Module {
      constructor(bytes: Uint8Array);
    }
    class Instance {
      constructor(module: Module, imports?: Record<string, Record<string, unknown>>);
      readonly exports: Record<string, unknown>;
    }
    class Memory {
      readonly buffer: ArrayBuffer;
      grow(deltaPages: number): number;
    }
  }
}

/** Exports every kernel module provides. Wrappers narrow it to the signatures they use. */
export interface WasmExports {
  readonly memory: WebAssembly.Memory;
  /** Returns a 16-byte aligned scratch region of at least `bytes` bytes; may grow memory. */
  scratch(bytes: number): number;
  /** Read arena with room for `points` points (timestamps at the base, values readArenaPoints() * 8 later). */
  readArena(points: number, keepPoints: number): number;
  readArenaPoints(): number;
  readonly [name: string]: unknown;
}

export interface MemoryViews {
  readonly buffer: ArrayBuffer;
  readonly u8: Uint8Array;
  readonly i32: Int32Array;
  readonly f64: Float64Array;
  readonly i64: BigInt64Array;
  readonly u64: BigUint64Array;
}

const WASM_PATH = new URL("../../build/tsink.wasm", import.meta.url);

let instanceExports: WasmExports | undefined;
let views: MemoryViews | undefined;

function load(): WasmExports {
  let bytes: Buffer;
  try {
    bytes = readFileSync(WASM_PATH);
  } catch (error) {
    throw new Error(`tsink: cannot read ${WASM_PATH.pathname} (run "npm run build:wasm"): ${(error as Error).message}`);
  }
  const module = new WebAssembly.Module(bytes);
  let memory: WebAssembly.Memory | undefined;
  const instance = new WebAssembly.Instance(module, {
    env: {
      abort(messagePtr: number, filePtr: number, line: number, column: number): never {
        const text = (ptr: number) => (memory && ptr ? readAssemblyScriptString(memory, ptr) : "?");
        throw new Error(`tsink wasm abort: ${text(messagePtr)} at ${text(filePtr)}:${line}:${column}`);
      },
    },
  });
  const exports = instance.exports as unknown as WasmExports;
  memory = exports.memory;
  return exports;
}

/** AssemblyScript strings are UTF-16 with their byte length stored 4 bytes before the pointer. */
function readAssemblyScriptString(memory: WebAssembly.Memory, ptr: number): string {
  const byteLength = new Uint32Array(memory.buffer, ptr - 4, 1)[0]!;
  return String.fromCharCode(...new Uint16Array(memory.buffer, ptr, byteLength >>> 1));
}

/** The instantiated kernels (loaded synchronously on first use, then cached). */
export function loadWasm(): WasmExports {
  return (instanceExports ??= load());
}

/** Typed-array views over current linear memory, re-created after memory.grow. */
export function memoryViews(): MemoryViews {
  // memory.grow detaches the old buffer, and views over a detached buffer have length 0: checking that is much
  // cheaper than the Memory.buffer getter, and this runs several times per chunk on the read path.
  if (views !== undefined && views.u8.length !== 0) return views;
  const buffer = loadWasm().memory.buffer;
  views = {
    buffer,
    u8: new Uint8Array(buffer),
    i32: new Int32Array(buffer),
    f64: new Float64Array(buffer),
    i64: new BigInt64Array(buffer),
    u64: new BigUint64Array(buffer),
  };
  return views;
}

/** Reserves `bytes` of scratch memory and returns its base offset; take views with memoryViews() afterwards. */
export function scratch(bytes: number): number {
  return loadWasm().scratch(bytes);
}
