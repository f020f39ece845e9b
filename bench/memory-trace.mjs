// Memory trace of a tsink-server process, preloaded with `node --import bench/memory-trace.mjs` (bench/server-memory.mjs
// --trace FILE does that): every 100 ms one JSON line to $TSINK_MEMORY_TRACE with RSS (anon/file), VmHWM, V8 heap
// used/total, external, ArrayBuffers, the WASM linear memory and its resident part (smaps, every 500 ms), so a peak
// can be placed in time and split by kind.
import { appendFileSync, readFileSync, writeFileSync } from "node:fs";
import { dirname, join } from "node:path";

const file = process.env.TSINK_MEMORY_TRACE;
if (file) {
  writeFileSync(file, "");
  // the loader of the build being run (process.argv[1] is its dist/server/main.js), so the same module instance
  const loader = join(dirname(process.argv[1]), "..", "wasm", "loader.js");
  let wasm = () => 0;
  import(loader).then((m) => (wasm = () => m.loadWasm().memory.buffer.byteLength), () => {});
  const kb = (status, key) => Number(status.match(new RegExp(`^${key}:\\s+(\\d+) kB`, "m"))?.[1] ?? 0) * 1024;
  // the WASM memory's resident part: its mapping is the read-write one exactly as large as the linear memory (V8
  // reserves guard regions around it without access)
  const wasmResident = (bytes) => {
    const lines = readFileSync("/proc/self/smaps", "utf8").split("\n");
    for (let i = 0; i + 4 < lines.length; i++) {
      if (!/^[0-9a-f]+-[0-9a-f]+ rw-p 00000000 00:00 0/.test(lines[i])) continue;
      if (Number(lines[i + 1].split(/\s+/)[1]) * 1024 !== bytes) continue;
      return Number(lines[i + 4].split(/\s+/)[1]) * 1024;
    }
    return 0;
  };
  let n = 0;
  let wasmRss = 0;
  const sample = () => {
    if (n++ % 5 === 0) wasmRss = wasmResident(wasm());
    const status = readFileSync("/proc/self/status", "utf8");
    const m = process.memoryUsage();
    appendFileSync(file, `${JSON.stringify({
      t: Date.now(), rss: kb(status, "VmRSS"), hwm: kb(status, "VmHWM"), anon: kb(status, "RssAnon"), fileRss: kb(status, "RssFile"),
      heapUsed: m.heapUsed, heapTotal: m.heapTotal, external: m.external, arrayBuffers: m.arrayBuffers, wasm: wasm(), wasmRss,
    })}\n`);
  };
  setInterval(sample, 100).unref();
}
