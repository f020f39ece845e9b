// GC pauses in the query phase of a peerbench run, from the server's --trace-gc log (the --cmd's stdout): scavenges and
// mark-compacts after the longest pause-free stretch, with their summed pause ms, and the server's own full GCs apart
// (bench/gc-trace.mjs). bench/peer-repeat.mjs --trace-gc prints the same for each of its runs.
// Usage: node bench/gc-query-phase.mjs LOG...   (LOG from peerbench --cmd "... node --trace-gc ... > LOG 2>&1")
import { readFileSync } from "node:fs";
import { benchArgs } from "./cli.mjs";
import { describeGc, queryPhaseGc } from "./gc-trace.mjs";

const { positionals: logs } = benchArgs({
  about: "GC pauses of a peerbench run's query phase, from the server's --trace-gc log(s).",
  flags: {},
  positionals: "LOG...",
});
if (logs.length === 0) {
  console.error("gc-query-phase.mjs: no LOG given (see --help)");
  process.exit(2);
}
for (const file of logs) {
  const g = queryPhaseGc(readFileSync(file, "utf8"));
  console.log(`${file}: query phase from ${g.startMs} ms (after ${(g.quietMs / 1000).toFixed(1)} s without GC): ${describeGc(g)}; `
    + `server-asked full GCs in the whole run: ${g.askedAtMs.length} (${g.askedAtMs.map((t) => `${t} ms`).join(", ")})`);
}
