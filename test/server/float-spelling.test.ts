// The response writer's float spelling (writeFloat and the matrix points: the WASM writer of assembly/text/json_points.ts,
// formatFloat for what it leaves to JS) against formatFloat, the String(v)-based oracle pinned in units.test.ts, for every double.
import fc from "fast-check";
import { test } from "uvu";
import * as assert from "uvu/assert";
import { formatFloat, formatTimestamp, querySuccessBody, writeFloat } from "../../src/server/prometheus-json.js";

const buf = Buffer.alloc(64);
const one = new Float64Array(1);
const bits = new DataView(new ArrayBuffer(8));

function fromBits(hi: number, lo: number): number {
  bits.setUint32(0, hi);
  bits.setUint32(4, lo);
  return bits.getFloat64(0);
}

/** The double `steps` ulps away from v (v finite and positive, the steps staying in the same sign). */
function ulpsAway(v: number, steps: number): number {
  bits.setFloat64(0, v);
  return fromBits(bits.getUint32(0) + Math.floor((bits.getUint32(4) + steps) / 2 ** 32), (bits.getUint32(4) + steps) >>> 0);
}

function spelled(values: Float64Array, i: number): string {
  const end = writeFloat(buf, 0, values, i);
  return buf.toString("latin1", 0, end);
}

function spells(v: number): string {
  one[0] = v;
  return spelled(one, 0);
}

test("known hard cases are spelled as String(v) and Go spell them", () => {
  const cases: [number, string][] = [
    [5e-324, "5e-324"], [3 * 5e-324, "1.5e-323"], [2 ** -1022, "2.2250738585072014e-308"], [0.1 + 0.2, "0.30000000000000004"],
    [1 / 3, "0.3333333333333333"], [2 / 3, "0.6666666666666666"], [-1 / 3, "-0.3333333333333333"], [1e23, "1e+23"],
    [8.41e21, "8.41e+21"], [2 ** 53 + 2, "9007199254740994"], [2 ** 53 - 1, "9007199254740991"], [1e-6, "0.000001"],
    [ulpsAway(1e-6, -1), "9.999999999999997e-07"], [ulpsAway(1e-6, 1), "0.0000010000000000000002"], [2 ** -19, "0.0000019073486328125"],
    [7.999999999999999, "7.999999999999999"], [ulpsAway(8, -1), "7.999999999999999"], [1, "1"], [7, "7"], [0.5, "0.5"], [-2.5, "-2.5"],
    [0.1, "0.1"], [0.000001234, "0.000001234"], [5e-7, "5e-07"], [Math.PI, "3.141592653589793"], [ulpsAway(1, -1), "0.9999999999999999"],
    [ulpsAway(1, 1), "1.0000000000000002"], [ulpsAway(0.5, -1), "0.49999999999999994"], [1 - 0.9, "0.09999999999999998"],
  ];
  for (const [v, s] of cases) {
    assert.is(formatFloat(v), s, `oracle for ${v}`);
    assert.is(spells(v), s, String(v));
  }
  // 9007199254740993's neighbours, 2^-1074 multiples, powers of two and ten, each with the doubles next to it
  const around = [2 ** 53, 2 ** 53 + 2, 9007199254740993, 1e23, 1e21, 1e-6, 8];
  for (let k = 1; k < 2000; k += 37) around.push(k * 5e-324);
  for (let e = -1074; e < 1024; e++) around.push(2 ** e);
  for (let e = -323; e <= 308; e++) around.push(Number(`1e${e}`));
  for (const v of around) for (let d = -3; d <= 3; d++) {
    const x = v === 5e-324 && d < 0 ? v : ulpsAway(v, d);
    if (!Number.isFinite(x)) continue;
    assert.is(spells(x), formatFloat(x), `${x}`);
    assert.is(spells(-x), formatFloat(-x), `${-x}`);
  }
});

test("a million random doubles of every kind are spelled as formatFloat spells them", () => {
  const u32 = fc.integer({ min: 0, max: 2 ** 32 - 1 });
  const signed = (v: fc.Arbitrary<number>) => fc.tuple(v, fc.boolean()).map(([x, neg]) => (neg ? -x : x));
  const value = fc.oneof(
    // any bit pattern: every exponent, subnormals, NaN payloads, ±Inf, ±0
    fc.tuple(u32, u32).map(([hi, lo]) => fromBits(hi, lo)),
    // the Schubfach range 1e-6 <= |v| < 8 (binary exponents -20 to 2), any significand
    signed(fc.tuple(fc.integer({ min: 1023 - 20, max: 1023 + 2 }), fc.integer({ min: 0, max: 2 ** 20 - 1 }), u32)
      .map(([e, hi, lo]) => fromBits(e * 2 ** 20 + hi, lo))),
    // ratios and rates as queries make them
    fc.tuple(fc.integer({ min: 0, max: 2 ** 31 }), fc.integer({ min: 1, max: 2 ** 31 })).map(([a, b]) => 1 - a / (a + b)),
    fc.tuple(fc.integer({ min: 0, max: 1e7 }), fc.constantFrom(15, 30, 60, 300, 299.99, 7.5)).map(([n, s]) => n / s / 1e3),
    // subnormals
    fc.tuple(fc.integer({ min: 0, max: 2 ** 20 - 1 }), u32).map(([hi, lo]) => fromBits(hi, lo)),
    // halfway-looking decimals: 15-17 significant digits ending in 5, and the doubles next to them
    fc.tuple(fc.integer({ min: 1e8, max: 1e9 - 1 }), fc.integer({ min: 0, max: 1e7 - 1 }), fc.integer({ min: -12, max: 2 }), fc.integer({ min: -2, max: 2 }))
      .map(([a, b, e, d]) => ulpsAway(Number(`${a}${String(b).padStart(7, "0")}5e${e - 17}`), d)),
    // powers of ten and two and their neighbours
    fc.tuple(fc.integer({ min: -323, max: 308 }), fc.integer({ min: -2, max: 2 })).map(([e, d]) => ulpsAway(Number(`1e${e}`), d)),
    fc.tuple(fc.integer({ min: -1074, max: 1023 }), fc.integer({ min: -2, max: 2 })).map(([e, d]) => ulpsAway(2 ** e, d)),
  );
  const started = process.cpuUsage();
  let checked = 0;
  fc.assert(
    fc.property(fc.array(value, { minLength: 1000, maxLength: 1000 }), (vs) => {
      const values = Float64Array.from(vs);
      for (let i = 0; i < values.length; i++) {
        const want = formatFloat(values[i]!);
        if (spelled(values, i) !== want) assert.is(spelled(values, i), want, `bits of ${want}`);
      }
      checked += values.length;
    }),
    { numRuns: 1000 },
  );
  const used = process.cpuUsage(started);
  const cpuSeconds = (used.user + used.system) / 1e6;
  assert.ok(checked >= 1e6, `${checked} values`);
  // bounded: ~10 s of CPU when written; a much slower writer or generator is a defect too
  assert.ok(cpuSeconds < 60, `${cpuSeconds.toFixed(1)} s of CPU`);
});

test("matrix points (the WASM writer, with formatFloat for what it leaves to JS) spell every value and timestamp as formatFloat and formatTimestamp", () => {
  const u32 = fc.integer({ min: 0, max: 2 ** 32 - 1 });
  const value = fc.oneof(
    fc.tuple(u32, u32).map(([hi, lo]) => fromBits(hi, lo)),
    fc.tuple(fc.integer({ min: 1023 - 20, max: 1023 + 52 }), fc.integer({ min: 0, max: 2 ** 20 - 1 }), u32, fc.boolean())
      .map(([e, hi, lo, neg]) => fromBits((neg ? 2 ** 31 : 0) + e * 2 ** 20 + hi, lo)),
    fc.tuple(fc.integer({ min: 0, max: 1e7 }), fc.constantFrom(15, 60, 299.99)).map(([n, s]) => n / s),
    fc.constantFrom(0, -0, NaN, Infinity, -Infinity, 1e21, 2 ** 53, 2 ** 53 + 2, 5e-7, 1e-6, 8, 7.999999999999999, 2 ** 31, 6442450944),
  );
  const timestamp = fc.oneof(
    fc.integer({ min: -(2 ** 53) + 1, max: 2 ** 53 - 1 }),
    fc.integer({ min: 1_600_000_000_000, max: 1_900_000_000_000 }),
    fc.integer({ min: -100_000, max: 100_000 }),
    fc.constantFrom(2 ** 53, -(2 ** 53), 0, 999, -1, 1_795_697_580_005),
  );
  const points = fc.array(fc.tuple(timestamp, value), { minLength: 0, maxLength: 300 });
  fc.assert(
    fc.property(fc.array(points, { minLength: 1, maxLength: 4 }), (series) => {
      const result = series.map((pts, k) => ({
        labels: [{ name: "__name__", value: `m${k}` }],
        timestamps: Float64Array.from(pts, ([t]) => t),
        values: Float64Array.from(pts, ([, v]) => v),
      }));
      const want = result.map((s, k) => {
        const text = Array.from(s.values, (v, i) => `[${formatTimestamp(s.timestamps[i]!)},"${formatFloat(v)}"]`).join(",");
        return `{"metric":{"__name__":"m${k}"},"values":[${text}]}`;
      });
      const body = querySuccessBody({ resultType: "matrix", result, warnings: [], infos: [] }).toString("latin1");
      assert.is(body, `{"status":"success","data":{"resultType":"matrix","result":[${want.join(",")}]}}`);
    }),
    { numRuns: 2000 },
  );
});

test.run();
