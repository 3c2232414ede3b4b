// A telemetry hook that throws must not break the request, and must not go unnoticed: every
// failed call is counted per hook in the proxy's stats (tollgate.telemetry.hook.errors) and
// the gateway's log gets one warning per minute naming the hook and the error.
import { test } from "node:test";
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { existsSync } from "node:fs";
import { fallbackMetrics } from "../../src/admin/fallback-metrics.ts";
import { GuardedTelemetry, type TelemetryHookName } from "../../src/proxy/guarded-telemetry.ts";
import { ProcessStats } from "../../src/server/stats.ts";
import { noopTelemetry, type RequestTelemetry } from "../../src/telemetry/hooks.ts";
import { startUpstream } from "../support/upstreams.ts";
import { GATEWAY_YAML, ask, backendYaml, catchAllRouteYaml, startGateway } from "./harness.ts";

const PROMTOOL = "/usr/bin/promtool";

interface Warned {
  readonly message: string;
  readonly fields: Readonly<Record<string, unknown>>;
}

const CONFIG = (upstreamPort: number): string => `${GATEWAY_YAML}${backendYaml("up", upstreamPort)}${catchAllRouteYaml("up")}`;

/** Every hook throws a TypeError naming itself, as a bug in telemetry code would. */
function throwingTelemetry(): RequestTelemetry {
  const fail = (hook: string) => (): void => {
    throw new TypeError(`broken ${hook}`);
  };
  return {
    onPlan() {},
    onRequestStart: fail("onRequestStart"),
    onAttemptStart: fail("onAttemptStart"),
    onAttemptEnd: fail("onAttemptEnd"),
    onRequestEnd: fail("onRequestEnd"),
  };
}

test("hooks that throw: every request is still proxied, each failure is counted per hook, one warning names the first", async (t) => {
  const upstream = await startUpstream("up");
  t.after(() => upstream.close());
  const warnings: Warned[] = [];
  const gw = await startGateway(CONFIG(upstream.port), throwingTelemetry(), (message, fields) => warnings.push({ message, fields }));
  t.after(() => gw.close());

  const sent = 3;
  for (let i = 0; i < sent; i++) {
    const reply = await ask(gw.port, { path: `/n/${i}` });
    assert.equal(reply.status, 200, "a throwing hook does not change the response");
    assert.equal(reply.headers["x-upstream"], "up", "the upstream answered this request");
  }
  // request_end runs from the response's close event, after the client has its answer.
  const deadline = Date.now() + 5000;
  while ((gw.stats.telemetryHookErrors.get("request_end") ?? 0) < sent && Date.now() < deadline) await new Promise((r) => setTimeout(r, 10));

  const expected: Array<[TelemetryHookName, number]> = [
    ["request_start", sent],
    ["attempt_start", sent],
    ["attempt_end", sent],
    ["request_end", sent],
  ];
  assert.deepEqual([...gw.stats.telemetryHookErrors].sort(), expected.sort());

  assert.equal(warnings.length, 1, "twelve failures within a minute make one warning");
  const w = warnings[0]!;
  assert.equal(w.message, "telemetry hook request_start threw; the request went on, its telemetry may be incomplete: broken onRequestStart");
  assert.equal(w.fields["hook"], "request_start");
  assert.equal(w.fields["errorType"], "TypeError");
  assert.equal(w.fields["failedCalls"], 1);
  assert.equal(w.fields["nextReportAfterMs"], 60_000);
  assert.match(String(w.fields["stack"]), /^TypeError: broken onRequestStart\n\s+at /, "the stack's top frames point at the bug");
});

test("the warning repeats at most once per interval and says how many calls failed since the last one", () => {
  let now = 1_000;
  const counts = new Map<TelemetryHookName, number>();
  const warnings: Warned[] = [];
  const inner: RequestTelemetry = {
    ...noopTelemetry,
    onRequestEnd() {
      throw new RangeError("index out of range");
    },
  };
  const guarded = new GuardedTelemetry(inner, counts, (message, fields) => warnings.push({ message, fields }), 60_000, () => now);
  // The exchange is never read: the inner hook throws first.
  const exchange = {} as Parameters<GuardedTelemetry["requestEnd"]>[0];

  guarded.requestEnd(exchange); // t = 1 s: reported
  now += 30_000;
  guarded.requestEnd(exchange); // t = 31 s: suppressed
  now += 29_000;
  guarded.requestEnd(exchange); // t = 60 s: still within the minute, suppressed
  now += 1_000;
  guarded.requestEnd(exchange); // t = 61 s: reported, with the two suppressed ones

  assert.equal(counts.get("request_end"), 4);
  assert.deepEqual(
    warnings.map((w) => [w.fields["errorType"], w.fields["failedCalls"]]),
    [
      ["RangeError", 1],
      ["RangeError", 3],
    ],
  );
});

test("a hook that throws a non-Error is reported with its text", () => {
  const warnings: Warned[] = [];
  const counts = new Map<TelemetryHookName, number>();
  const inner: RequestTelemetry = {
    ...noopTelemetry,
    onRequestStart() {
      throw "plain string"; // eslint-disable-line no-throw-literal -- what careless code does
    },
  };
  new GuardedTelemetry(inner, counts, (message, fields) => warnings.push({ message, fields })).requestStart({} as Parameters<GuardedTelemetry["requestStart"]>[0]);
  assert.equal(counts.get("request_start"), 1);
  assert.match(warnings[0]!.message, /: plain string$/);
  assert.equal(warnings[0]!.fields["errorType"], "Error");
});

test("the fallback /metrics exposition carries the hook failures and promtool accepts it", async () => {
  const stats = new ProcessStats();
  stats.telemetryHookErrors.set("attempt_end", 2);
  stats.telemetryHookErrors.set("request_end", 5);
  const body = (await fallbackMetrics(stats, { version: "0.0.0-test" }, () => 1).render(undefined)).body;
  assert.match(body, /^# TYPE tollgate_telemetry_hook_errors_total counter$/m);
  assert.match(body, /^tollgate_telemetry_hook_errors_total\{hook="attempt_end"\} 2$/m);
  assert.match(body, /^tollgate_telemetry_hook_errors_total\{hook="request_end"\} 5$/m);
  assert.ok(existsSync(PROMTOOL), `${PROMTOOL} is required (.ci/run installs the prometheus package)`);
  const lint = spawnSync(PROMTOOL, ["check", "metrics"], { input: body, encoding: "utf8" });
  assert.equal(lint.status, 0, lint.stdout + lint.stderr);
});
