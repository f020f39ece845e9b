// Pure pieces of the rules configuration: the rule duration syntax (rounded up to whole seconds), the label merge
// order, and that the persisted form of validated groups reads back to the same groups (fingerprints included).
import fc from "fast-check";
import { test } from "uvu";
import * as assert from "uvu/assert";
import { groupsToJson, mergeLabels, parseGroups, parseRuleDurationSecs } from "../../src/server/rules/validation.js";

const UNIT_SECS: Record<string, number> = { s: 1, m: 60, h: 3600, d: 86_400, w: 604_800, y: 31_557_600 };

test("rule durations: numbers and numeric strings are seconds, units ms..y, fractions rounded up to whole seconds", () => {
  const cases: [unknown, number | undefined][] = [
    [30, 30], ["30", 30], [1.2, 2], ["1.2", 2], ["1.5h", 5400], ["90s", 90], ["1500ms", 2], ["1000ms", 1], ["1ms", 1], ["0.7m", 42],
    ["1y", 31_557_600], ["2w", 1_209_600], ["1d", 86_400], [" 15m ", 900], ["0s", 0], [0, 0],
    ["5x", undefined], ["1m30s", undefined], ["-1s", undefined], [-1, undefined], ["", undefined], ["s", undefined], [Infinity, undefined], [null, undefined], [true, undefined],
  ];
  for (const [raw, secs] of cases) assert.is(parseRuleDurationSecs(raw), secs, JSON.stringify(raw));
});

test("property: <n><unit> is ceil(n x unit seconds) and integers are seconds", () => {
  fc.assert(
    fc.property(fc.integer({ min: 0, max: 1_000_000 }), fc.constantFrom(...Object.keys(UNIT_SECS)), (n, unit) => {
      assert.is(parseRuleDurationSecs(`${n}${unit}`), Math.ceil(n * UNIT_SECS[unit]!));
      assert.is(parseRuleDurationSecs(n), n);
      assert.is(parseRuleDurationSecs(String(n)), n);
    }),
  );
  fc.assert(
    fc.property(fc.integer({ min: 0, max: 10_000_000 }), (ms) => {
      assert.is(parseRuleDurationSecs(`${ms}ms`), Math.ceil(ms / 1000));
    }),
  );
  // tenths of a unit: whole seconds exactly when n x unit / 10 is whole, never one more through float noise
  fc.assert(
    fc.property(fc.integer({ min: 0, max: 100_000 }), fc.constantFrom("s", "m", "h", "d", "w"), (tenths, unit) => {
      const exactTenths = tenths * UNIT_SECS[unit]!; // ten times the seconds, an integer
      assert.is(parseRuleDurationSecs(`${Math.floor(tenths / 10)}.${tenths % 10}${unit}`), Math.ceil(exactTenths / 10));
    }),
  );
});

const labelArb = fc.record({ name: fc.constantFrom("a", "b", "job", "team", "env", "x_y"), value: fc.string({ maxLength: 4 }) });

test("property: label merge is sorted by name, keeps every name once, and a later layer wins", () => {
  fc.assert(
    fc.property(fc.array(labelArb), fc.array(labelArb), fc.array(labelArb), (sample, group, rule) => {
      const merged = mergeLabels(sample, group, rule);
      const names = merged.map((l) => l.name);
      assert.equal(names, [...new Set([...sample, ...group, ...rule].map((l) => l.name))].sort());
      for (const { name, value } of merged) {
        const last = [...sample, ...group, ...rule].filter((l) => l.name === name).pop()!;
        assert.is(value, last.value, name);
      }
    }),
  );
});

test("the persisted form of groups reads back to the same groups", () => {
  const groups = parseGroups(
    {
      groups: [
        { name: "g", tenantId: "acme", interval: "1.5m", labels: { team: "a" }, rules: [
          { kind: "recording", record: "r:x", expr: "sum(up)", interval: "10s", labels: { b: "1" } },
          { kind: "alert", alert: "A", expr: "up == 0", forDuration: "90s", annotations: { summary: "s" } },
        ] },
        { name: "h", rules: [{ kind: "alert", alert: "B", expr: "up" }] },
      ],
    },
    "default",
  );
  assert.equal(parseGroups(JSON.parse(JSON.stringify(groupsToJson(groups))), "other"), groups);
  assert.equal(groups.map((g) => [g.tenantId, g.intervalSecs, g.rules.map((r) => [r.id, r.intervalSecs, r.forSecs])]), [
    ["acme", 90, [["acme/g/recording/r:x", 10, 0], ["acme/g/alert/A", 90, 90]]],
    ["default", 60, [["default/h/alert/B", 60, 0]]],
  ]);
});

test.run();
