// GC pauses in the query phase of a peerbench run: reads the server's --trace-gc log (the --cmd's stdout) and counts
// the scavenges and mark-compacts after the longest pause-free stretch (peerbench's --settle wait, which ends with
// verify and the 19 queries), with their summed pause ms; collections asked for by the server (reason "testing":
// buffer-gc.ts) are counted apart, since they run while the server is idle.
// Usage: node bench/gc-query-phase.mjs LOG...   (LOG from peerbench --cmd "... node --trace-gc ... > LOG 2>&1")
import { readFileSync } from "node:fs";
import { benchArgs } from "./cli.mjs";

const { positionals: logs } = benchArgs({
  about: "GC pauses of a peerbench run's query phase, from the server's --trace-gc log(s).",
  flags: {},
  positionals: "LOG...",
});
if (logs.length === 0) {
  console.error("gc-query-phase.mjs: no LOG given (see --help)");
  process.exit(2);
}
const LINE = /^\[\d+:0x[0-9a-f]+\]\s+(\d+) ms: (Scavenge|Mark-Compact|Mark-Compact \(reduce\))\b.*?MB, ([\d.]+) \/ [\d.]+ ms(?:\s+\(\+ ([\d.]+) ms in)?.*?\)\s+(.*)$/;

for (const file of logs) {
  const events = [];
  for (const line of readFileSync(file, "utf8").split("\n")) {
    const m = LINE.exec(line);
    if (m) events.push({ at: Number(m[1]), kind: m[2].startsWith("Scavenge") ? "s" : "mc", pause: Number(m[3]), steps: Number(m[4] ?? 0), asked: m[5].startsWith("testing") });
  }
  // the query phase starts after the longest stretch without a collection not asked for by the server
  let start = 0;
  let longest = 0;
  const own = events.filter((e) => !e.asked);
  for (let i = 1; i < own.length; i++) {
    const gap = own[i].at - own[i - 1].at;
    if (gap > longest) [longest, start] = [gap, own[i].at];
  }
  const phase = events.filter((e) => e.at >= start && !e.asked);
  const sum = (list, f) => list.reduce((a, e) => a + f(e), 0).toFixed(1);
  const sc = phase.filter((e) => e.kind === "s");
  const mc = phase.filter((e) => e.kind === "mc");
  const idle = events.filter((e) => e.asked && e.at > 1000);
  console.log(`${file}: query phase from ${start} ms (after ${(longest / 1000).toFixed(1)} s without GC): `
    + `${sc.length} scavenges (${sum(sc, (e) => e.pause)} ms), ${mc.length} mark-compacts (${sum(mc, (e) => e.pause)} ms paused `
    + `+ ${sum(mc, (e) => e.steps)} ms incremental steps); server-asked full GCs in the whole run: ${idle.filter((e) => e.kind === "mc").length}`
    + ` (${idle.filter((e) => e.kind === "mc").map((e) => `${e.at} ms`).join(", ")})`);
}
