// faultInjection in the exported telemetry, decoded from OTLP: faults counted by route, rule,
// policy and kind (tollgate.fault.injections); access log records with Envoy's DI and FI flags
// and `fault_filter_abort` details; and the same counts on /metrics without a metrics
// exporter, which promtool accepts.
import { test } from "node:test";
import assert from "node:assert/strict";
import { fallbackMetrics } from "../../src/admin/fallback-metrics.ts";
import { ProcessStats } from "../../src/server/stats.ts";
import { detailsLogPolicy, gatewayYaml, get, namedRule, rulePolicy, startCountingGateway, startPolicyLab, sumPoints } from "./harness.ts";
import { assertPromtoolAccepts } from "../support/promtool.ts";

const NS = "kgateway-system";

test("injected faults are counted by kind; their access log records carry DI, FI and Envoy's details", async (t) => {
  const { rx, upstream } = await startPolicyLab(t);
  const yaml = gatewayYaml({
    upstreamPort: upstream.port,
    rules: namedRule("flaky", "/flaky") + namedRule("laggy", "/laggy"),
    extra:
      rulePolicy(NS, "chaos", "flaky", "  faultInjection: {delay: {fixedDelay: 50ms}, abort: {httpStatus: 503}}\n") +
      rulePolicy(NS, "lag", "laggy", "  faultInjection: {delay: {fixedDelay: 50ms}}\n") +
      detailsLogPolicy(NS, "http"),
  });
  const gw = await startCountingGateway(t, yaml, rx);

  assert.equal((await get(gw.url(8080, "/flaky/1"))).status, 503);
  assert.equal((await get(gw.url(8080, "/laggy/1"))).status, 200);

  await gw.telemetry.flush(5000);
  const metrics = await rx.waitForMetrics((m) => m.some((x) => x.name === "tollgate.fault.injections"));
  const faults = metrics.find((m) => m.name === "tollgate.fault.injections")!;
  assert.equal(faults.unit, "{request}");
  const label = (p: { attributes: Record<string, unknown> }) => `${String(p.attributes["tollgate.rule.name"])} ${String(p.attributes["tollgate.fault.kind"])}`;
  const where = (rule: string, policy: string) => ({ "tollgate.route.name": `${NS}/httpbin`, "tollgate.rule.name": rule, "tollgate.fault.policy": `${NS}/${policy}` });
  assert.deepEqual(
    sumPoints(faults).sort((a, b) => label(a).localeCompare(label(b))),
    [
      { attributes: { ...where("flaky", "chaos"), "tollgate.fault.kind": "abort" }, value: 1 },
      { attributes: { ...where("flaky", "chaos"), "tollgate.fault.kind": "delay" }, value: 1 },
      { attributes: { ...where("laggy", "lag"), "tollgate.fault.kind": "delay" }, value: 1 },
    ],
  );
  const logs = await rx.waitForLogs((l) => l.filter((r) => r.attributes["url.path"] !== undefined).length >= 2);
  const flaky = logs.find((r) => r.attributes["url.path"] === "/flaky/1")!;
  assert.deepEqual([flaky.attributes["tollgate.response.flags"], flaky.attributes["details"]], ["DI,FI", "fault_filter_abort"]);
  assert.equal(logs.find((r) => r.attributes["url.path"] === "/laggy/1")!.attributes["tollgate.response.flags"], "DI");
});

test("without a metrics exporter, /metrics serves the faults as tollgate_fault_injections_total, which promtool accepts", async () => {
  const stats = new ProcessStats();
  const key = { route: "shop/store", rule: "checkout", policy: "shop/chaos" };
  stats.faultInjections.count("delay", key);
  stats.faultInjections.count("delay", key);
  stats.faultInjections.count("overflow", key);
  const body = (await fallbackMetrics(stats, { version: "0.0.0-test" }, () => 1).render(undefined)).body;
  assert.match(body, /^# TYPE tollgate_fault_injections_total counter$/m);
  assert.match(body, /^tollgate_fault_injections_total\{route="shop\/store",rule="checkout",policy="shop\/chaos",kind="delay"\} 2$/m);
  assert.match(body, /^tollgate_fault_injections_total\{route="shop\/store",rule="checkout",policy="shop\/chaos",kind="overflow"\} 1$/m);
  assertPromtoolAccepts(body);
});
