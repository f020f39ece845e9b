// The GC pauses of a server's --trace-gc log in peerbench's query phase: the collections after the longest stretch
// without one (peerbench's --settle wait, which ends with verify and the 19 queries), apart from the full GCs the
// server asks for itself (reason "testing": buffer-gc.ts), which run while it is idle.
const LINE = /^\[\d+:0x[0-9a-f]+\]\s+(\d+) ms: (Scavenge|Mark-Compact|Mark-Compact \(reduce\))\b.*?MB, ([\d.]+) \/ [\d.]+ ms(?:\s+\(\+ ([\d.]+) ms in)?.*?\)\s+(.*)$/;

/**
 * Parses `log` (--trace-gc output): { startMs, quietMs, scavenges, scavengeMs, markCompacts, markCompactMs, stepsMs,
 * askedAtMs } for the query phase (times in ms since the process started; askedAtMs: the server's own full GCs over
 * the whole run, after its first second).
 */
export function queryPhaseGc(log) {
  const events = [];
  for (const line of log.split("\n")) {
    const m = LINE.exec(line);
    if (m) events.push({ at: Number(m[1]), kind: m[2].startsWith("Scavenge") ? "s" : "mc", pause: Number(m[3]), steps: Number(m[4] ?? 0), asked: m[5].startsWith("testing") });
  }
  let startMs = 0;
  let quietMs = 0;
  const own = events.filter((e) => !e.asked);
  for (let i = 1; i < own.length; i++) {
    const gap = own[i].at - own[i - 1].at;
    if (gap > quietMs) [quietMs, startMs] = [gap, own[i].at];
  }
  const phase = own.filter((e) => e.at >= startMs);
  const sum = (list, f) => list.reduce((a, e) => a + f(e), 0);
  const sc = phase.filter((e) => e.kind === "s");
  const mc = phase.filter((e) => e.kind === "mc");
  return {
    startMs, quietMs,
    scavenges: sc.length, scavengeMs: sum(sc, (e) => e.pause),
    markCompacts: mc.length, markCompactMs: sum(mc, (e) => e.pause), stepsMs: sum(mc, (e) => e.steps),
    askedAtMs: events.filter((e) => e.asked && e.kind === "mc" && e.at > 1000).map((e) => e.at),
  };
}

/** One line: "N scavenges (x ms), M mark-compacts (y ms paused + z ms incremental steps)". */
export function describeGc(g) {
  return `${g.scavenges} scavenges (${g.scavengeMs.toFixed(1)} ms), ${g.markCompacts} mark-compacts (${g.markCompactMs.toFixed(1)} ms paused + ${g.stepsMs.toFixed(1)} ms incremental steps)`;
}
