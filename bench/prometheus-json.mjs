// Query response encoding benchmark: CPU time to turn a range-query result of 100 series x 60 points (the shape of
// peerbench's q02/q08/q12) into the Prometheus JSON response bytes, for ratio-, delta-, rate- and counter-like values
// (the per-point difference between a full-precision workload below 8 and "short decimals" is the float spelling),
// and an instant vector of q14's shape (25 samples x 7 labels: label writing).
// Usage: node bench/prometheus-json.mjs [--module dist/server/prometheus-json.js] [--repeat 9]
//   (--module: the encoder of another build, for a before/after run; builds before querySuccessBody are driven
//   through their successJson(queryResultJson(..)) string path, as their server did)
import { resolve } from "node:path";
import { benchArgs } from "./cli.mjs";

const { values: opts } = benchArgs({
  about: "Query response encoding: CPU time to write a 100 series x 60 points range result as Prometheus JSON.",
  flags: {
    module: { type: "string", default: "dist/server/prometheus-json.js", help: "the encoder module (another build's, for before/after)" },
    repeat: { type: "string", default: 9, help: "rounds per value shape" },
  },
});
const modulePath = resolve(opts.module);
const repeat = Number(opts.repeat);
const mod = await import(modulePath);
const encode = mod.querySuccessBody ?? ((r) => Buffer.from(mod.successJson(mod.queryResultJson(r), r.warnings, r.infos)));

/** mulberry32: a small seeded PRNG so runs are comparable. */
function prng(seed) {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = Math.imul(a ^ (a >>> 15), 1 | a);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

function matrix(valueOf) {
  const rnd = prng(42);
  const result = [];
  for (let k = 0; k < 100; k++) {
    const timestamps = new Float64Array(60);
    const values = new Float64Array(60);
    for (let i = 0; i < 60; i++) {
      timestamps[i] = 1_700_000_000_000 + i * 60_000;
      values[i] = valueOf(rnd);
    }
    const labels = [
      { name: "dc", value: `dc${k % 3}` },
      { name: "instance", value: `host-${k}.example.com:9100` },
      { name: "job", value: "node" },
    ];
    result.push({ labels, timestamps, values });
  }
  return { resultType: "matrix", result, warnings: [], infos: [] };
}

const workloads = [
  ["ratios (full-precision doubles)", matrix((rnd) => rnd() * 1e6 / 7)],
  // delta() of a byte gauge with extrapolation (peerbench's q17): ~1e7-1e8, mostly 17 significant digits
  ["gauge deltas (17 digits)", matrix((rnd) => (Math.round((rnd() - 0.5) * 40_000) * 4096 * 600) / (500 + Math.floor(rnd() * 100)))],
  ["small rates (0-8, full precision)", matrix((rnd) => rnd() * 8)],
  // peerbench's q08 `1 - avail / size`: ratios in (0, 1)
  ["ratios in (0,1) (1 - a/b)", matrix((rnd) => 1 - (1 + Math.floor(rnd() * 1e9)) / (2e9 + Math.floor(rnd() * 1e9)))],
  // the floor under the two above: the same response shape, values spelled from <= 6 fraction digits
  ["short decimals (0-8, <= 6 digits)", matrix((rnd) => Math.floor(rnd() * 8e6) / 1e6)],
  ["counters (integers)", matrix((rnd) => Math.floor(rnd() * 1e12))],
];
console.log(`encoder ${modulePath}; 100 series x 60 points; median of ${repeat} rounds of 50 encodes`);
console.log("workload                          CPU ms/response   ns/point   bytes");
for (const [name, result] of workloads) {
  for (let i = 0; i < 200; i++) encode(result); // warm-up
  const rounds = [];
  let bytes = 0;
  for (let r = 0; r < repeat; r++) {
    const c0 = process.cpuUsage();
    for (let i = 0; i < 50; i++) bytes = encode(result).length;
    const c = process.cpuUsage(c0);
    rounds.push((c.user + c.system) / 1000 / 50);
  }
  rounds.sort((a, b) => a - b);
  const ms = rounds[repeat >> 1];
  console.log(`${name.padEnd(34)}${ms.toFixed(3).padStart(15)}${((ms * 1e6) / 6000).toFixed(1).padStart(11)}   ${bytes}`);
}

// An instant vector of peerbench's q14 shape (25 samples of a plain selector, 7 labels each): the label writing.
{
  const result = Array.from({ length: 25 }, (_, k) => ({
    labels: [
      { name: "__name__", value: "node_filesystem_avail_bytes" }, { name: "dc", value: "dc1" }, { name: "device", value: "/dev/sda1" },
      { name: "fstype", value: "ext4" }, { name: "instance", value: `host-${String(k).padStart(4, "0")}:9100` }, { name: "job", value: "node" },
      { name: "mountpoint", value: "/" },
    ],
    timestamp: 1_700_000_000_000,
    value: 123_456_789_012 + k * 4096,
  }));
  const vector = { resultType: "vector", result, warnings: [], infos: [] };
  for (let i = 0; i < 2000; i++) encode(vector);
  const rounds = [];
  for (let r = 0; r < repeat; r++) {
    const c0 = process.cpuUsage();
    for (let i = 0; i < 2000; i++) encode(vector);
    const c = process.cpuUsage(c0);
    rounds.push((c.user + c.system) / 2000);
  }
  rounds.sort((a, b) => a - b);
  console.log(`\ninstant vector, 25 samples x 7 labels (q14's shape): ${rounds[repeat >> 1].toFixed(1)} us/response, ${encode(vector).length} bytes`);
}

// The spelling alone, per value, for values below 8 with many digits: the module's writeFloat (where it exports
// it) against String(v) plus a byte copy, which is what the writer did for them before the WASM Schubfach.
if (mod.writeFloat) {
  const rnd = prng(7);
  const values = Float64Array.from({ length: 6000 }, (_, i) => (i % 2 ? 1 - rnd() * 0.999 : rnd() * 8));
  const buf = Buffer.alloc(values.length * 32);
  const viaString = () => {
    let p = 0;
    for (let i = 0; i < values.length; i++) {
      const s = String(values[i]);
      for (let j = 0; j < s.length; j++) buf[p++] = s.charCodeAt(j);
    }
    return p;
  };
  const viaWriter = () => {
    let p = 0;
    for (let i = 0; i < values.length; i++) p = mod.writeFloat(buf, p, values, i);
    return p;
  };
  console.log("\nspelling alone, 6,000 full-precision values in (0, 8) (ratios, rates): CPU ns/value, median of " + repeat);
  for (const [name, fn] of [["String(v) + byte copy", viaString], ["writeFloat", viaWriter]]) {
    for (let i = 0; i < 200; i++) fn();
    const rounds = [];
    for (let r = 0; r < repeat; r++) {
      const c0 = process.cpuUsage();
      for (let i = 0; i < 50; i++) fn();
      const c = process.cpuUsage(c0);
      rounds.push(((c.user + c.system) * 1000) / 50 / values.length);
    }
    rounds.sort((a, b) => a - b);
    console.log(`${name.padEnd(34)}${rounds[repeat >> 1].toFixed(1).padStart(15)}`);
  }
}
