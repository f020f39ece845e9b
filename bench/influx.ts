// Influx line-protocol ingest in process (npm run bench:influx): peerbench's workload (10k series x 240 points,
// ../shared/tools/peerbench/lib/workload.mjs) encoded as peerbench encodes it for `--ingest influx` (4000-line
// bodies, one `value` field, ms timestamps), then (1) parsed by parseInfluxLines (WASM scan) and by the JS parser
// alone, (2) parsed and inserted
// (insertColumns) into an in-memory storage, as the server does per request; (3) parses Telegraf-shaped lines
// (two fields, 19-digit ns timestamps). Prints samples per CPU second (process.cpuUsage, so other load on the
// machine counts less), best and median of the rounds. Flags and env: --help.
import { parseInfluxLines, parseInfluxLinesInJs, releaseInfluxColumns } from "../src/protocols/influx-line.js";
import { StorageBuilder } from "../src/index.js";
import { benchArgs } from "./cli.mjs";
import { importPeerbench, PEERBENCH_ENV, PEERBENCH_FLAG, WORKLOAD_FLAGS } from "./peerbench.mjs";

const { values: opts } = benchArgs({
  about: "Influx line-protocol parse and parse+insert in process over peerbench's influx bodies: samples per CPU second.",
  flags: {
    ...WORKLOAD_FLAGS,
    batch: { type: "string", default: 4000, help: "lines per body" },
    rounds: { type: "string", default: 5, help: "rounds per figure" },
    peerbench: PEERBENCH_FLAG,
  },
  env: PEERBENCH_ENV,
});
const S = Number(opts.series);
const P = Number(opts.points);
const B = Number(opts.batch);
const ROUNDS = Number(opts.rounds);

// the encoders need peerbench's node_modules: point --peerbench (or PEERBENCH_DIR) at a copy that has them
const { makeWorkload, encodeAll } = (await importPeerbench(opts.peerbench, "workload.mjs", "encode.mjs")) as {
  makeWorkload(o: object): unknown;
  encodeAll(wl: unknown, o: object): { body: Buffer; samples: number }[][];
};
const endMs = Math.floor(Date.now() / 60_000) * 60_000 - 60_000;
const bodies = encodeAll(makeWorkload({ S, P, seed: 42, endMs }), { protocol: "influx", workers: 1, batch: B, perSeries: 1 })[0]!;
const samples = bodies.reduce((a, b) => a + b.samples, 0);
const bytes = bodies.reduce((a, b) => a + b.body.length, 0);
console.log(`workload: ${S} series x ${P} points = ${samples} samples in ${bodies.length} bodies of ${B} lines, ${(bytes / samples).toFixed(1)} bytes/line`);

const OPTS = { precision: "ms" as const, serverPrecision: "ms" as const, now: Date.now(), maxLines: B };

function cpuSeconds(): number {
  const u = process.cpuUsage();
  return (u.user + u.system) / 1e6;
}

function report(what: string, rates: number[]): void {
  const sorted = [...rates].sort((a, b) => a - b);
  const m = (x: number) => `${(x / 1e6).toFixed(2)} M`;
  console.log(`${what}: best ${m(sorted[sorted.length - 1]!)} / median ${m(sorted[sorted.length >> 1]!)} samples per CPU second (${(1e6 / sorted[sorted.length >> 1]!).toFixed(3)} us/sample)`);
}

// (1) parse only (the series cache is warm after the first round, as in a server that has seen the series), by
// parseInfluxLines (the WASM scan) and by the JS parser alone (its fallback)
for (const [what, parse] of [["parse (WASM scan)", parseInfluxLines], ["parse (JS parser alone)", parseInfluxLinesInJs]] as const) {
  const parseRates: number[] = [];
  for (let r = 0; r <= ROUNDS; r++) {
    const t0 = cpuSeconds();
    let n = 0;
    for (const b of bodies) {
      const parsed = parse(b.body, OPTS);
      n += parsed.count;
      releaseInfluxColumns(parsed); // as the server does once the insert settled
    }
    if (n !== samples) throw new Error(`parsed ${n} of ${samples} samples`);
    if (r > 0) parseRates.push(samples / (cpuSeconds() - t0));
  }
  report(what, parseRates);
}

// (2) parse + insert into a fresh in-memory storage per round
const insertRates: number[] = [];
for (let r = 0; r <= ROUNDS; r++) {
  const storage = await new StorageBuilder().withTimestampPrecision("ms").build();
  const t0 = cpuSeconds();
  for (const b of bodies) {
    const parsed = parseInfluxLines(b.body, OPTS);
    await storage.insertColumns(parsed);
    releaseInfluxColumns(parsed);
  }
  if (r > 0) insertRates.push(samples / (cpuSeconds() - t0));
  await storage.close();
}
report("parse + insertColumns (in-memory storage)", insertRates);

// (3) Telegraf-shaped lines: two fields per line, ns timestamps (19 digits, Telegraf's default), to a ms server
const telegraf = Buffer.from(
  Array.from({ length: B }, (_, i) => `cpu,cpu=cpu${i % 8},host=web-${i >> 3} usage_idle=97.${i},usage_user=1.25 ${BigInt(endMs) * 1_000_000n + BigInt(i)}`).join("\n"),
);
const telegrafRates: number[] = [];
for (let r = 0; r <= ROUNDS; r++) {
  const t0 = cpuSeconds();
  let n = 0;
  for (let k = 0; k < 100; k++) {
    const parsed = parseInfluxLines(telegraf, { ...OPTS, precision: "ns" });
    n += parsed.count;
    releaseInfluxColumns(parsed);
  }
  if (r > 0) telegrafRates.push(n / (cpuSeconds() - t0));
}
report(`parse, Telegraf-shaped (${B} lines x 2 fields, ns timestamps)`, telegrafRates);
