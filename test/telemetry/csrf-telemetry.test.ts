// csrf in the exported telemetry, decoded from OTLP: checks counted by route, rule, policy and
// outcome (tollgate.csrf.checks), enforced refusals as tollgate.access_control.denied kind
// csrf, shadowed ones not; and the same counts on /metrics without a metrics exporter, which
// promtool accepts.
import { test } from "node:test";
import assert from "node:assert/strict";
import { fallbackMetrics } from "../../src/admin/fallback-metrics.ts";
import { ProcessStats } from "../../src/server/stats.ts";
import { gatewayYaml, get, namedRule, rulePolicy, startCountingGateway, startPolicyLab, sumPoints } from "./harness.ts";
import { assertPromtoolAccepts } from "../support/promtool.ts";

const NS = "kgateway-system";

test("csrf checks are counted by outcome; only enforced refusals count as access_control.denied kind csrf", async (t) => {
  const { rx, upstream } = await startPolicyLab(t);
  const yaml = gatewayYaml({
    upstreamPort: upstream.port,
    rules: namedRule("forms", "/forms") + namedRule("survey", "/survey"),
    extra: rulePolicy(NS, "same-site", "forms", "  csrf: {percentageEnabled: 100}\n") + rulePolicy(NS, "trial", "survey", "  csrf: {percentageShadowed: 100}\n"),
  });
  const gw = await startCountingGateway(t, yaml, rx);

  const post = (path: string, headers: Record<string, string>) => get(gw.url(8080, path), headers, "POST");
  const self = `http://${new URL(gw.url(8080, "/")).host}`;
  assert.equal((await post("/forms/1", { origin: "https://evil.example" })).status, 403);
  assert.equal((await post("/forms/2", {})).status, 403);
  assert.equal((await post("/forms/3", { origin: self })).status, 200);
  assert.equal((await post("/survey/1", { origin: "https://evil.example" })).status, 200);

  await gw.telemetry.flush(5000);
  const metrics = await rx.waitForMetrics((m) => m.some((x) => x.name === "tollgate.csrf.checks") && m.some((x) => x.name === "tollgate.access_control.denied"));
  const checks = metrics.find((m) => m.name === "tollgate.csrf.checks")!;
  assert.equal(checks.unit, "{request}");
  const where = (rule: string, policy: string) => ({ "tollgate.route.name": `${NS}/httpbin`, "tollgate.rule.name": rule, "tollgate.csrf.policy": `${NS}/${policy}` });
  const label = (p: { attributes: Record<string, unknown> }) => `${String(p.attributes["tollgate.rule.name"])} ${String(p.attributes["tollgate.csrf.outcome"])}`;
  assert.deepEqual(
    sumPoints(checks).sort((a, b) => label(a).localeCompare(label(b))),
    [
      { attributes: { ...where("forms", "same-site"), "tollgate.csrf.outcome": "invalid" }, value: 1 },
      { attributes: { ...where("forms", "same-site"), "tollgate.csrf.outcome": "missing_origin" }, value: 1 },
      { attributes: { ...where("forms", "same-site"), "tollgate.csrf.outcome": "valid" }, value: 1 },
      { attributes: { ...where("survey", "trial"), "tollgate.csrf.outcome": "invalid" }, value: 1 },
    ],
  );
  const denied = metrics.find((m) => m.name === "tollgate.access_control.denied")!;
  assert.deepEqual(sumPoints(denied), [
    { attributes: { "tollgate.route.name": `${NS}/httpbin`, "tollgate.rule.name": "forms", "tollgate.access_control.policy": `${NS}/same-site`, "tollgate.access_control.kind": "csrf" }, value: 2 },
  ]);
});

test("without a metrics exporter, /metrics serves the checks as tollgate_csrf_checks_total, which promtool accepts", async () => {
  const stats = new ProcessStats();
  const key = { route: "shop/store", rule: "checkout", policy: "shop/same-site" };
  stats.csrfChecks.count("valid", key);
  stats.csrfChecks.count("invalid", key);
  stats.csrfChecks.count("invalid", key);
  stats.accessDenials.count("csrf", key);
  const body = (await fallbackMetrics(stats, { version: "0.0.0-test" }, () => 1).render(undefined)).body;
  assert.match(body, /^# TYPE tollgate_csrf_checks_total counter$/m);
  assert.match(body, /^tollgate_csrf_checks_total\{route="shop\/store",rule="checkout",policy="shop\/same-site",outcome="invalid"\} 2$/m);
  assert.match(body, /^tollgate_csrf_checks_total\{route="shop\/store",rule="checkout",policy="shop\/same-site",outcome="valid"\} 1$/m);
  assert.match(body, /^tollgate_access_control_denied_total\{route="shop\/store",rule="checkout",policy="shop\/same-site",kind="csrf"\} 1$/m);
  assertPromtoolAccepts(body);
});
