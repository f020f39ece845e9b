// The rules engine through the real server: apply -> run -> recorded series queryable at the aligned time, alert
// instances pending -> firing -> gone, 409 on a concurrent run, validation errors, runtime state kept by fingerprint,
// persistence (restart, kill -9, snapshot/restore, a refused store), tenant scoping, admin auth and metrics.
import { test } from "uvu";
import * as assert from "uvu/assert";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { getJson, holdOpenPost, remoteWrite, spawnServer, startServer } from "./helpers.js";

const TOKEN = "adm";
const AUTH = { Authorization: `Bearer ${TOKEN}` };
const ADMIN = ["--admin-auth-token", TOKEN, "--admin-api-enabled"];
/** The scheduler stays quiet (one tick an hour): the tests drive evaluation through rules/run. */
const QUIET = { TSINK_RULES_SCHEDULER_TICK_MS: "3600000" };

async function apply(url: string, body: unknown, headers: Record<string, string> = {}) {
  return getJson(`${url}/api/v1/admin/rules/apply`, {
    method: "POST", headers: { ...AUTH, "Content-Type": "application/json", ...headers }, body: typeof body === "string" ? body : JSON.stringify(body),
  });
}
const run = (url: string) => getJson(`${url}/api/v1/admin/rules/run`, { method: "POST", headers: AUTH });
const status = async (url: string) => (await getJson(`${url}/api/v1/admin/rules/status`, { headers: AUTH })).body.data;

async function query(url: string, q: string, timeMs: number, headers: Record<string, string> = {}) {
  const res = await getJson(`${url}/api/v1/query?query=${encodeURIComponent(q)}&time=${timeMs / 1000}`, { headers });
  assert.is(res.status, 200, JSON.stringify(res.body));
  return res.body.data.result as { metric: Record<string, string>; value: [number, string] }[];
}

/** Waits until the wall clock is in a later aligned second than `afterMs` (and past `atLeastMs`). */
async function nextSecond(afterMs: number, atLeastMs = 0): Promise<void> {
  while (Math.floor(Date.now() / 1000) * 1000 <= afterMs || Date.now() < atLeastMs) await new Promise((r) => setTimeout(r, 20));
}

const RECORDING = {
  groups: [{
    name: "g", interval: "1m", labels: { team: "group", region: "eu" },
    rules: [{ kind: "recording", record: "job:src:sum", expr: "sum by (job) (src_metric)", labels: { team: "rule", env: "prod" } }],
  }],
};

test("apply -> run records the result at the aligned time with sample, group and rule labels (later wins)", async () => {
  const srv = await startServer(ADMIN, QUIET);
  try {
    const t = Date.now() - 120_000; // before any aligned minute of the next run, inside its 5 m lookback
    assert.is((await remoteWrite(srv.url, [
      { labels: { __name__: "src_metric", job: "a", instance: "x" }, samples: [[t, 3]] },
      { labels: { __name__: "src_metric", job: "b", instance: "y" }, samples: [[t, 4]] },
      { labels: { __name__: "src_metric", job: "b", instance: "z" }, samples: [[t, 0.5]] },
    ])).status, 200);
    const applied = await apply(srv.url, RECORDING);
    assert.is(applied.status, 200, JSON.stringify(applied.body));
    assert.equal(applied.body.data.metrics.configuredGroups, 1);
    const rule = applied.body.data.groups[0].rules[0];
    assert.equal(
      { id: rule.id, intervalSecs: rule.intervalSecs, forSecs: rule.forSecs, labels: rule.labels, lastEvalTimestamp: rule.lastEvalTimestamp },
      { id: "default/g/recording/job:src:sum", intervalSecs: 60, forSecs: 0, labels: { env: "prod", team: "rule" }, lastEvalTimestamp: null },
    );

    const before = Date.now();
    const ran = await run(srv.url);
    assert.is(ran.status, 200, JSON.stringify(ran.body));
    const evaluated = ran.body.data.groups[0].rules[0];
    assert.is(evaluated.lastError, null);
    assert.is(evaluated.state, "ok");
    assert.is(evaluated.lastSampleCount, 2);
    assert.is(evaluated.lastRecordedRows, 2);
    const aligned = evaluated.lastEvalTimestamp as number;
    assert.is(aligned % 60_000, 0);
    assert.ok(aligned <= Date.now() && aligned > before - 60_000, `aligned ${aligned}`);
    assert.is(ran.body.data.metrics.recordingRowsWrittenTotal, 2);

    const recorded = await query(srv.url, "job:src:sum", aligned);
    assert.equal(recorded.map((s) => [s.metric, s.value[1]]), [
      [{ __name__: "job:src:sum", env: "prod", job: "a", region: "eu", team: "rule" }, "3"],
      [{ __name__: "job:src:sum", env: "prod", job: "b", region: "eu", team: "rule" }, "4.5"],
    ]);
    // stored exactly at the aligned time, not before it
    assert.equal((await query(srv.url, "timestamp(job:src:sum)", aligned)).map((s) => s.value[1]), [String(aligned / 1000), String(aligned / 1000)]);
    assert.equal(await query(srv.url, "job:src:sum", aligned - 1), []);

    // at most once per aligned timestamp: a second run in the same minute evaluates nothing
    const again = await run(srv.url);
    if (again.body.data.groups[0].rules[0].lastEvalTimestamp === aligned) {
      assert.is(again.body.data.metrics.evaluatedRulesTotal, 1);
      assert.is(again.body.data.metrics.schedulerRunsTotal, 2);
    }
    const metrics = await (await fetch(`${srv.url}/metrics`)).text();
    assert.match(metrics, /^tsink_rules_configured_rules 1$/m);
    assert.match(metrics, /^# TYPE tsink_rules_recording_rows_written_total counter$/m);
    assert.match(metrics, /^tsink_rules_local_scheduler_active 1$/m);
    const tsdb = await getJson(`${srv.url}/api/v1/status/tsdb`);
    assert.is(tsdb.body.data.rules.configuredRules, 1);

    // re-applying the same rule keeps its runtime state; a changed rule starts afresh; an empty body clears all
    const same = await apply(srv.url, RECORDING);
    assert.is(same.body.data.groups[0].rules[0].lastEvalTimestamp, again.body.data.groups[0].rules[0].lastEvalTimestamp);
    const changed = structuredClone(RECORDING);
    changed.groups[0]!.rules[0]!.expr = "sum by (job) (src_metric) * 2";
    assert.is((await apply(srv.url, changed)).body.data.groups[0].rules[0].lastEvalTimestamp, null);
    const cleared = await apply(srv.url, "");
    assert.is(cleared.status, 200);
    assert.equal(cleared.body.data.groups, []);
    assert.is(cleared.body.data.metrics.configuredRules, 0);
  } finally {
    await srv.stop();
  }
});

test("an alert goes pending, fires after `for`, and its instance disappears with its samples", async () => {
  const srv = await startServer(ADMIN, QUIET);
  try {
    const t0 = Date.now() - 3000;
    assert.is((await remoteWrite(srv.url, [
      { labels: { __name__: "alert_src", host: "h1" }, samples: [[t0, 10]] },
      { labels: { __name__: "alert_src", host: "h2" }, samples: [[t0, 1]] },
    ])).status, 200);
    const applied = await apply(srv.url, {
      groups: [{
        name: "alerts", interval: 1, labels: { severity: "group", team: "ops" },
        rules: [{ kind: "alert", alert: "High", expr: "alert_src > 5", for: "1s", labels: { severity: "page" }, annotations: { summary: "too high" } }],
      }],
    });
    assert.is(applied.status, 200, JSON.stringify(applied.body));
    assert.is(applied.body.data.groups[0].rules[0].state, "inactive");

    const first = (await run(srv.url)).body.data;
    const r1 = first.groups[0].rules[0];
    const t1 = r1.lastEvalTimestamp as number;
    assert.is(r1.state, "pending");
    assert.equal(r1.annotations, { summary: "too high" });
    assert.equal(r1.alertInstances, [{
      key: '{alertname="High",host="h1",severity="page",team="ops"}', sourceMetric: "alert_src",
      labels: { alertname: "High", host: "h1", severity: "page", team: "ops" },
      activeSinceTimestamp: t1, lastSeenTimestamp: t1, firingSinceTimestamp: null, state: "pending", sampleType: "scalar", sampleValue: 10,
    }]);
    assert.is(first.metrics.pendingAlerts, 1);
    assert.is(first.metrics.firingAlerts, 0);

    await nextSecond(t1);
    const r2 = (await run(srv.url)).body.data.groups[0].rules[0];
    const t2 = r2.lastEvalTimestamp as number;
    assert.ok(t2 >= t1 + 1000);
    assert.is(r2.state, "firing");
    assert.equal(
      [r2.alertInstances.length, r2.alertInstances[0].activeSinceTimestamp, r2.alertInstances[0].firingSinceTimestamp, r2.alertInstances[0].state],
      [1, t1, t2, "firing"],
    );

    const tLow = Date.now() - 200;
    assert.is((await remoteWrite(srv.url, [{ labels: { __name__: "alert_src", host: "h1" }, samples: [[tLow, 2]] }])).status, 200);
    await nextSecond(t2, tLow + 1000);
    const third = (await run(srv.url)).body.data;
    assert.is(third.groups[0].rules[0].state, "inactive");
    assert.equal(third.groups[0].rules[0].alertInstances, []);
    assert.is(third.metrics.firingAlerts, 0);
  } finally {
    await srv.stop();
  }
});

test("without rules the scheduler still ticks: runs counted, last run time set, no error", async () => {
  const srv = await startServer(ADMIN, { TSINK_RULES_SCHEDULER_TICK_MS: "50" });
  try {
    const before = Date.now();
    let s = await status(srv.url);
    for (const deadline = Date.now() + 20_000; s.metrics.schedulerRunsTotal < 3 && Date.now() < deadline; s = await status(srv.url)) {
      await new Promise((r) => setTimeout(r, 50));
    }
    assert.ok(s.metrics.schedulerRunsTotal >= 3, String(s.metrics.schedulerRunsTotal));
    assert.is(s.metrics.configuredRules, 0);
    assert.is(s.metrics.evaluatedRulesTotal, 0);
    assert.is(s.metrics.lastError, null);
    assert.ok(s.metrics.lastRunUnixMs >= before - 1000 && s.metrics.lastRunUnixMs <= Date.now(), String(s.metrics.lastRunUnixMs));
    assert.is(s.metrics.localSchedulerActive, true);
    const metrics = await (await fetch(`${srv.url}/metrics`)).text();
    assert.match(metrics, /^tsink_rules_scheduler_runs_total [1-9]/m);
  } finally {
    await srv.stop();
  }
});

test("the scheduler evaluates on its own, once per aligned time", async () => {
  const srv = await startServer(ADMIN, { TSINK_RULES_SCHEDULER_TICK_MS: "100" });
  try {
    assert.is((await apply(srv.url, { groups: [{ name: "tick", interval: "1h", rules: [{ kind: "recording", record: "ticked", expr: "vector(5)" }] }] })).status, 200);
    let s = await status(srv.url);
    for (const deadline = Date.now() + 20_000; s.metrics.recordingRowsWrittenTotal === 0 && Date.now() < deadline; s = await status(srv.url)) {
      await new Promise((r) => setTimeout(r, 50));
    }
    const rule = s.groups[0].rules[0];
    assert.is(rule.lastRecordedRows, 1);
    assert.is(rule.lastEvalTimestamp % 3_600_000, 0);
    assert.is(s.metrics.localSchedulerActive, true);
    const runs = s.metrics.schedulerRunsTotal;
    for (const deadline = Date.now() + 20_000; (await status(srv.url)).metrics.schedulerRunsTotal < runs + 3 && Date.now() < deadline; ) {
      await new Promise((r) => setTimeout(r, 50));
    }
    const later = await status(srv.url);
    assert.ok(later.metrics.schedulerRunsTotal >= runs + 3);
    if (later.groups[0].rules[0].lastEvalTimestamp === rule.lastEvalTimestamp) assert.is(later.metrics.evaluatedRulesTotal, 1);
    assert.equal((await query(srv.url, "ticked", rule.lastEvalTimestamp)).map((r) => r.value), [[rule.lastEvalTimestamp / 1000, "5"]]);
  } finally {
    await srv.stop();
  }
});

test("successive evaluations append to the same recorded series", async () => {
  const srv = await startServer(ADMIN, QUIET);
  try {
    assert.is((await remoteWrite(srv.url, [{ labels: { __name__: "again_src", k: "v" }, samples: [[Date.now() - 5000, 4]] }])).status, 200);
    assert.is((await apply(srv.url, { groups: [{ name: "g", interval: "1s", rules: [{ kind: "recording", record: "again", expr: "again_src + 1" }] }] })).status, 200);
    const t1 = (await run(srv.url)).body.data.groups[0].rules[0].lastEvalTimestamp as number;
    await nextSecond(t1);
    const t2 = (await run(srv.url)).body.data.groups[0].rules[0].lastEvalTimestamp as number;
    assert.ok(t2 > t1);
    const res = await getJson(`${srv.url}/api/v1/query?query=${encodeURIComponent("again[1m]")}&time=${t2 / 1000}`);
    assert.equal(res.body.data.result, [{ metric: { __name__: "again", k: "v" }, values: [[t1 / 1000, "5"], [t2 / 1000, "5"]] }]);
  } finally {
    await srv.stop();
  }
});

test("rows are written in the server's timestamp precision (ns and s)", async () => {
  for (const precision of ["ns", "s"]) {
    const srv = await startServer([...ADMIN, "--timestamp-precision", precision], QUIET);
    try {
      assert.is((await apply(srv.url, { groups: [{ name: "p", interval: "1m", rules: [{ kind: "recording", record: "prec", expr: "vector(3)" }] }] })).status, 200);
      const rule = (await run(srv.url)).body.data.groups[0].rules[0];
      assert.is(rule.lastError, null, precision);
      const aligned = rule.lastEvalTimestamp as number;
      assert.equal(await query(srv.url, "timestamp(prec)", aligned), [{ metric: {}, value: [aligned / 1000, String(aligned / 1000)] }], precision);
    } finally {
      await srv.stop();
    }
  }
});

test("a run while another is evaluating is refused with 409", async () => {
  // One read slot with a long acquire timeout: a held read request makes the run wait inside its evaluation.
  const srv = await startServer(ADMIN, { ...QUIET, TSINK_SERVER_READ_MAX_INFLIGHT_REQUESTS: "1", TSINK_SERVER_READ_RESOURCE_ACQUIRE_TIMEOUT_MS: "30000" });
  try {
    assert.is((await apply(srv.url, { groups: [{ name: "g", interval: "1s", rules: [{ kind: "recording", record: "r", expr: "vector(1)" }] }] })).status, 200);
    const held = await holdOpenPost(srv.port, "/api/v1/read", { ...AUTH, "Content-Type": "application/x-protobuf" });
    const slow = run(srv.url);
    let second: Awaited<ReturnType<typeof run>> | undefined;
    for (let i = 0; i < 100 && second?.status !== 409; i++) {
      await new Promise((r) => setTimeout(r, 20));
      second = await run(srv.url);
    }
    assert.is(second!.status, 409);
    assert.match(second!.body.error, /already in progress/);
    await held.release();
    const first = await slow;
    assert.is(first.status, 200);
    assert.is(first.body.data.groups[0].rules[0].lastRecordedRows, 1);
    assert.ok(first.body.data.metrics.schedulerRunsTotal >= 1);
  } finally {
    await srv.stop();
  }
});

test("invalid configurations are refused with 400 naming the fault, keeping the rules in effect", async () => {
  const srv = await startServer(ADMIN, QUIET);
  try {
    const rec = (extra: Record<string, unknown>) => ({ groups: [{ name: "g", rules: [{ kind: "recording", record: "ok_name", expr: "up", ...extra }] }] });
    assert.is((await apply(srv.url, rec({}))).status, 200);
    const cases: [unknown, RegExp][] = [
      ["{not json", /invalid JSON body/],
      [{ groups: {} }, /"groups" must be an array/],
      [{ groups: [{ name: "", rules: [] }] }, /groups\[0\]: "name" must be a non-empty string/],
      [{ groups: [{ name: "g", rules: [] }] }, /groups\[0\] \(g\): "rules" must be a non-empty array/],
      [{ groups: [{ name: "g", interval: "5x", rules: [{ kind: "recording", record: "a", expr: "up" }] }] }, /invalid interval "5x"/],
      [{ groups: [{ name: "g", interval: "0s", rules: [{ kind: "recording", record: "a", expr: "up" }] }] }, /interval must be greater than 0/],
      [rec({ record: "bad-name" }), /record "bad-name" is not a valid metric name/],
      [rec({ record: `a${"b".repeat(256)}` }), /record name is longer than 256 bytes/],
      [rec({ expr: "sum(" }), /invalid expr/],
      [rec({ labels: { __name__: "x" } }), /label __name__ may not be set/],
      [rec({ labels: { __tsink_tenant__: "x" } }), /label __tsink_tenant__ may not be set/],
      [rec({ labels: { "1bad": "x" } }), /invalid label name "1bad"/],
      [rec({ for: "1m" }), /unknown field "for"/],
      [{ groups: [{ name: "g", labels: { __name__: "x" }, rules: [{ kind: "recording", record: "a", expr: "up" }] }] }, /groups\[0\] \(g\): label __name__/],
      [{ groups: [{ name: "g", rules: [{ kind: "alert", alert: "A", expr: "up", for: "-1s" }] }] }, /invalid for "-1s"/],
      [{ groups: [{ name: "g", rules: [{ kind: "other", expr: "up" }] }] }, /"kind" must be "recording" or "alert"/],
      [{ groups: [{ name: "g", tenantId: "__x", rules: [{ kind: "recording", record: "a", expr: "up" }] }] }, /must not start with "__"/],
      [
        { groups: [{ name: "g", rules: [{ kind: "alert", alert: "A", expr: "up" }] }, { name: "g", rules: [{ kind: "alert", alert: "A", expr: "down" }] }] },
        /duplicate rule id "default\/g\/alert\/A"/,
      ],
    ];
    for (const [body, message] of cases) {
      const res = await apply(srv.url, body);
      assert.is(res.status, 400, JSON.stringify(body));
      assert.is(res.body.errorType, "bad_data");
      assert.match(res.body.error, message);
    }
    const kept = await status(srv.url);
    assert.equal(kept.groups.map((g: { rules: { id: string }[] }) => g.rules[0]!.id), ["default/g/recording/ok_name"]);
    // the same name as recording and alert rule are two ids
    assert.is((await apply(srv.url, { groups: [{ name: "g", rules: [{ kind: "alert", alert: "A", expr: "up" }, { kind: "recording", record: "A", expr: "up" }] }] })).status, 200);
  } finally {
    await srv.stop();
  }
});

test("an expression of the wrong type is an evaluation error, recorded and retried on the next run", async () => {
  const srv = await startServer(ADMIN, QUIET);
  try {
    assert.is((await remoteWrite(srv.url, [{ labels: { __name__: "m" }, samples: [[Date.now() - 120_000, 1]] }])).status, 200);
    const body = { groups: [{ name: "g", interval: "1h", rules: [{ kind: "recording", record: "bad", expr: "m[5m]" }, { kind: "recording", record: "s", expr: '"text"' }] }] };
    assert.is((await apply(srv.url, body)).status, 200);
    const first = (await run(srv.url)).body.data;
    const [range, text] = first.groups[0].rules;
    assert.is(range.state, "error");
    assert.match(range.lastError, /range vector/);
    assert.match(text.lastError, /string/);
    assert.match(first.metrics.lastError, /^default\/g\/recording\/s: /);
    assert.is(first.metrics.evaluationFailuresTotal, 2);
    const second = (await run(srv.url)).body.data;
    assert.is(second.metrics.evaluatedRulesTotal, 4, "failed rules are evaluated again in the same aligned hour");
  } finally {
    await srv.stop();
  }
});

test("row and instance limits, and rows made equal by the rule's labels, are evaluation errors that write nothing", async () => {
  const srv = await startServer(ADMIN, { ...QUIET, TSINK_RULES_MAX_RECORDING_ROWS_PER_EVAL: "2", TSINK_RULES_MAX_ALERT_INSTANCES_PER_RULE: "2" });
  try {
    const t = Date.now() - 120_000;
    assert.is((await remoteWrite(srv.url, ["x", "y", "z"].map((instance) => ({ labels: { __name__: "lim_src", instance }, samples: [[t, 1]] as [number, number][] })))).status, 200);
    const body = {
      groups: [{
        name: "lim", interval: "1m",
        rules: [
          { kind: "recording", record: "lim_rows", expr: "lim_src" },
          { kind: "alert", alert: "LimAlert", expr: "lim_src" },
          { kind: "recording", record: "lim_same", expr: 'lim_src{instance!="z"}', labels: { instance: "one" } },
          { kind: "recording", record: "lim_ok", expr: 'lim_src{instance="z"}', labels: { instance: "one" } },
        ],
      }],
    };
    assert.is((await apply(srv.url, body)).status, 200);
    const data = (await run(srv.url)).body.data;
    const [rows, alert, same, ok] = data.groups[0].rules;
    assert.match(rows.lastError, /3 samples, more than the 2 rows a rule may record per evaluation/);
    assert.match(alert.lastError, /3 samples, more than the 2 instances an alert rule may hold/);
    assert.equal(alert.alertInstances, []);
    assert.match(same.lastError, /two samples with the same labels \{instance="one"\}/);
    assert.equal([ok.state, ok.lastRecordedRows], ["ok", 1]);
    assert.is(data.metrics.evaluationFailuresTotal, 3);
    const aligned = ok.lastEvalTimestamp as number;
    assert.equal(await query(srv.url, "lim_rows", aligned), []);
    assert.equal(await query(srv.url, "lim_same", aligned), []);
    assert.equal((await query(srv.url, "lim_ok", aligned)).map((r) => r.metric), [{ __name__: "lim_ok", instance: "one" }]);
  } finally {
    await srv.stop();
  }
});

test("rules are scoped to their group's tenant: read from it, recorded into it", async () => {
  const srv = await startServer(ADMIN, QUIET);
  try {
    const t = Date.now() - 120_000;
    assert.is((await remoteWrite(srv.url, [{ labels: { __name__: "tenant_src" }, samples: [[t, 7]] }], { "x-tsink-tenant": "acme" })).status, 200);
    assert.is((await remoteWrite(srv.url, [{ labels: { __name__: "tenant_src" }, samples: [[t, 1]] }])).status, 200);
    const res = await apply(srv.url, { groups: [{ name: "copy", interval: "1m", rules: [{ kind: "recording", record: "tenant_copy", expr: "tenant_src * 10" }] }] }, { "x-tsink-tenant": "acme" });
    assert.is(res.status, 200);
    const group = res.body.data.groups[0];
    assert.is(group.tenantId, "acme");
    assert.is(group.rules[0].id, "acme/copy/recording/tenant_copy");
    const aligned = (await run(srv.url)).body.data.groups[0].rules[0].lastEvalTimestamp as number;
    assert.equal(await query(srv.url, "tenant_copy", aligned, { "x-tsink-tenant": "acme" }), [{ metric: { __name__: "tenant_copy" }, value: [aligned / 1000, "70"] }]);
    assert.equal(await query(srv.url, "tenant_copy", aligned), []);
  } finally {
    await srv.stop();
  }
});

test("rules routes need the admin token and the admin API", async () => {
  const srv = await startServer([...ADMIN, "--auth-token", "pub"], QUIET);
  try {
    assert.is((await getJson(`${srv.url}/api/v1/admin/rules/status`)).status, 401);
    assert.is((await getJson(`${srv.url}/api/v1/admin/rules/run`, { method: "POST", headers: { Authorization: "Bearer pub" } })).status, 403);
  } finally {
    await srv.stop();
  }
  const plain = await startServer([], QUIET);
  try {
    assert.is((await getJson(`${plain.url}/api/v1/admin/rules/status`)).status, 404);
  } finally {
    await plain.stop();
  }
});

test("rules survive a restart, and a snapshot restored into a new data path brings them along", async () => {
  const root = mkdtempSync(join(tmpdir(), "tsink-rules-"));
  try {
    const data = join(root, "data");
    const srv = await startServer(["--data-path", data, ...ADMIN], QUIET);
    try {
      assert.is((await apply(srv.url, RECORDING)).status, 200);
      const snap = join(root, "snap");
      assert.is((await getJson(`${srv.url}/api/v1/admin/snapshot?path=${encodeURIComponent(snap)}`, { method: "POST", headers: AUTH })).status, 200);
      const restored = join(root, "restored");
      const res = await getJson(`${srv.url}/api/v1/admin/restore?snapshot_path=${encodeURIComponent(snap)}&data_path=${encodeURIComponent(restored)}`, { method: "POST", headers: AUTH });
      assert.is(res.status, 200);
      const copy = await startServer(["--data-path", restored, ...ADMIN], QUIET);
      try {
        assert.equal((await status(copy.url)).groups.map((g: { name: string }) => g.name), ["g"]);
      } finally {
        await copy.stop();
      }
    } finally {
      await srv.stop();
    }
    const again = await startServer(["--data-path", data, ...ADMIN], QUIET);
    try {
      const s = await status(again.url);
      assert.equal(s.groups[0].rules[0].labels, { env: "prod", team: "rule" });
      assert.equal(s.groups[0].labels, { region: "eu", team: "group" });
      assert.is(s.groups[0].intervalSecs, 60);
      assert.is(s.groups[0].rules[0].expr, "sum by (job) (src_metric)");
    } finally {
      await again.stop();
    }
  } finally {
    rmSync(root, { recursive: true, force: true });
  }
});

test("rules applied before the 200 survive kill -9; a store with a bad magic or version refuses startup", async () => {
  const dir = mkdtempSync(join(tmpdir(), "tsink-rules-kill-"));
  try {
    const first = await spawnServer(["--data-path", dir, ...ADMIN]);
    const exited = new Promise<void>((resolve) => first.child.on("exit", () => resolve()));
    const url = `http://127.0.0.1:${first.port}`;
    const body = { groups: [{ name: "kept", tenantId: "acme", interval: "30s", rules: [{ kind: "alert", alert: "Down", expr: "up == 0", for: "2m" }] }] };
    assert.is((await apply(url, body)).status, 200);
    first.child.kill("SIGKILL");
    await exited;
    const second = await spawnServer(["--data-path", dir, ...ADMIN]);
    try {
      const s = await status(`http://127.0.0.1:${second.port}`);
      assert.equal([s.groups[0].rules[0].id, s.groups[0].rules[0].intervalSecs, s.groups[0].rules[0].forSecs], ["acme/kept/alert/Down", 30, 120]);
    } finally {
      second.child.kill("SIGTERM");
      await new Promise<void>((resolve) => second.child.on("exit", () => resolve()));
    }
    writeFileSync(join(dir, "server", "rules-store.json"), JSON.stringify({ magic: "something-else", schema_version: 1, groups: [] }));
    const badMagic = await spawnServer(["--data-path", dir, ...ADMIN]).then(() => "started", (err: Error) => err.message);
    assert.match(badMagic, /server\/rules-store\.json: not a tsink-rules-store file \(magic \\"something-else\\"/);
    writeFileSync(join(dir, "server", "rules-store.json"), JSON.stringify({ magic: "tsink-rules-store", schema_version: 9, groups: [] }));
    const badVersion = await spawnServer(["--data-path", dir, ...ADMIN]).then(() => "started", (err: Error) => err.message);
    assert.match(badVersion, /schema_version 9 is not supported/);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test.run();
