// ExternalAuth checks in the exported telemetry, decoded from OTLP: tollgate.ext_authz.checks
// by route, rule, the TrafficPolicy that gave the check (absent for the HTTPRoute filter) and
// outcome, so a check that failed open is visible without reading access logs.
import { test } from "node:test";
import assert from "node:assert/strict";
import { fallbackMetrics } from "../../src/admin/fallback-metrics.ts";
import { ProcessStats } from "../../src/server/stats.ts";
import { startHttpService } from "../support/http-service.ts";
import { closedPort } from "../support/otlp-receiver.ts";
import { gatewayYaml, get, namedRule, rulePolicy, startCountingGateway, startPolicyLab, sumPoints } from "./harness.ts";
import { assertPromtoolAccepts } from "../support/promtool.ts";

const NS = "kgateway-system";

const backend = (name: string, port: number): string => `---
apiVersion: gateway.tollgate.dev/v1alpha1
kind: Backend
metadata: {name: ${name}, namespace: ${NS}}
spec: {endpoints: [{ip: {address: 127.0.0.1, port: ${port}}}]}
`;

const extension = (name: string, body: string): string => `---
apiVersion: gateway.kgateway.dev/v1alpha1
kind: GatewayExtension
metadata: {name: ${name}, namespace: ${NS}}
spec:
  extAuth:
${body}`;

test("each check is counted by route, rule, policy and outcome: allowed, denied, failed open, and the HTTPRoute filter's without a policy", async (t) => {
  const { rx, upstream } = await startPolicyLab(t);
  // Allows `Bearer good`, denies anything else.
  const authz = await startHttpService((req, res) => {
    req.resume();
    res.writeHead(req.headers.authorization === "Bearer good" ? 200 : 403).end();
  });
  t.after(() => authz.close());
  const authzPort = authz.port;
  const down = await closedPort();
  const service = (name: string) => `{group: gateway.tollgate.dev, kind: Backend, name: ${name}}`;
  const yaml = gatewayYaml({
    upstreamPort: upstream.port,
    rules:
      namedRule("guarded", "/guarded") +
      namedRule("lenient", "/lenient") +
      `  - name: filtered
    matches: [{path: {type: PathPrefix, value: /filtered}}]
    filters: [{type: ExternalAuth, externalAuth: {protocol: HTTP, backendRef: ${service("authz")}, http: {}}}]
    backendRefs: [{name: upstream, kind: Backend, group: gateway.tollgate.dev}]
`,
    extra:
      backend("authz", authzPort) +
      backend("authz-down", down) +
      extension("http-authz", `    httpService: {backendRef: ${service("authz")}, requestTimeout: 10s}\n`) +
      extension("down", `    grpcService: {backendRef: ${service("authz-down")}, requestTimeout: 10s}\n    failOpen: true\n`) +
      rulePolicy(NS, "guard", "guarded", "  extAuth: {extensionRef: {name: http-authz}}\n") +
      rulePolicy(NS, "lenient", "lenient", "  extAuth: {extensionRef: {name: down}}\n"),
  });
  const gw = await startCountingGateway(t, yaml, rx);

  assert.equal((await get(gw.url(8080, "/guarded/1"), { authorization: "Bearer good" })).status, 200);
  assert.equal((await get(gw.url(8080, "/guarded/2"))).status, 403);
  assert.equal((await get(gw.url(8080, "/guarded/3"))).status, 403);
  assert.equal((await get(gw.url(8080, "/lenient/1"))).status, 200);
  assert.equal((await get(gw.url(8080, "/filtered/1"), { authorization: "Bearer good" })).status, 200);

  await gw.telemetry.flush(5000);
  const metrics = await rx.waitForMetrics((m) => m.some((x) => x.name === "tollgate.ext_authz.checks"));
  const checks = metrics.find((m) => m.name === "tollgate.ext_authz.checks")!;
  assert.equal(checks.unit, "{request}");
  const route = `${NS}/httpbin`;
  const key = (p: { attributes: Record<string, unknown> }) => `${String(p.attributes["tollgate.rule.name"])} ${String(p.attributes["tollgate.ext_authz.outcome"])}`;
  assert.deepEqual(
    sumPoints(checks).sort((a, b) => key(a).localeCompare(key(b))),
    [
      { attributes: { "tollgate.route.name": route, "tollgate.rule.name": "filtered", "tollgate.ext_authz.outcome": "ok" }, value: 1 },
      { attributes: { "tollgate.route.name": route, "tollgate.rule.name": "guarded", "tollgate.ext_authz.policy": `${NS}/guard`, "tollgate.ext_authz.outcome": "denied" }, value: 2 },
      { attributes: { "tollgate.route.name": route, "tollgate.rule.name": "guarded", "tollgate.ext_authz.policy": `${NS}/guard`, "tollgate.ext_authz.outcome": "ok" }, value: 1 },
      { attributes: { "tollgate.route.name": route, "tollgate.rule.name": "lenient", "tollgate.ext_authz.policy": `${NS}/lenient`, "tollgate.ext_authz.outcome": "error_allowed" }, value: 1 },
    ],
  );
});

test("without a metrics exporter, /metrics serves the same counts as tollgate_ext_authz_checks_total, which promtool accepts", async () => {
  const stats = new ProcessStats();
  stats.externalAuthChecks.count("error_allowed", { route: "shop/api", rule: "orders", policy: "shop/lenient" });
  stats.externalAuthChecks.count("error_allowed", { route: "shop/api", rule: "orders", policy: "shop/lenient" });
  stats.externalAuthChecks.count("ok", { route: "shop/api", rule: "filtered", policy: "" });
  const body = (await fallbackMetrics(stats, { version: "0.0.0-test" }, () => 1).render(undefined)).body;
  assert.match(body, /^# TYPE tollgate_ext_authz_checks_total counter$/m);
  assert.match(body, /^tollgate_ext_authz_checks_total\{route="shop\/api",rule="orders",policy="shop\/lenient",outcome="error_allowed"\} 2$/m);
  assert.match(body, /^tollgate_ext_authz_checks_total\{route="shop\/api",rule="filtered",policy="",outcome="ok"\} 1$/m);
  assertPromtoolAccepts(body);
});
