// A global rate limit in the exported telemetry, decoded from OTLP: the check's RPC CLIENT span
// (tollgate.rate_limit_check) under the request's SERVER span with its traceparent at the
// service, a refused request's access log record (429, RL, request_rate_limited) and a failed
// closed one's (500, RLSE, rate_limiter_error), and tollgate.rate_limit.checks by outcome.
import { test } from "node:test";
import assert from "node:assert/strict";
import { startGrpcRlsService } from "../support/grpc-rls-service.ts";
import { closedPort } from "../support/otlp-receiver.ts";
import { collectorBackend, detailsLogPolicy, gatewayYaml, get, namedRule, rulePolicy, startCountingGateway, startPolicyLab, sumPoints } from "./harness.ts";

const NS = "kgateway-system";

const extension = (name: string, backend: string, extra: string): string => `---
apiVersion: gateway.kgateway.dev/v1alpha1
kind: GatewayExtension
metadata: {name: ${name}, namespace: ${NS}}
spec:
  rateLimit:
    grpcService: {backendRef: {group: gateway.tollgate.dev, kind: Backend, name: ${backend}}}
    domain: edge
${extra}`;
const policy = (name: string, section: string, ext: string): string =>
  rulePolicy(
    NS,
    name,
    section,
    `  rateLimit:
    global:
      extensionRef: {name: ${ext}}
      descriptors: [{entries: [{type: Generic, generic: {key: rule, value: ${section}}}]}]
`,
  );

test("a global rate limit check is an RPC CLIENT span; refusals and failures are logged with Envoy's flags and details and counted by outcome", async (t) => {
  const { rx, upstream } = await startPolicyLab(t);
  const rls = await startGrpcRlsService(1);
  t.after(() => rls.close());
  const down = await closedPort();
  const yaml = gatewayYaml({
    upstreamPort: upstream.port,
    rules: namedRule("limited", "/limited") + namedRule("closed", "/closed"),
    extra:
      collectorBackend("rls", NS, rls.port) +
      "---\n" +
      collectorBackend("rls-down", NS, down) +
      extension("limits", "rls", "    timeout: 10s\n") +
      extension("strict", "rls-down", "    failOpen: false\n") +
      policy("limited", "limited", "limits") +
      policy("closed", "closed", "strict") +
      detailsLogPolicy(NS, "http"),
  });
  const gw = await startCountingGateway(t, yaml, rx);

  assert.equal((await get(gw.url(8080, "/limited/1"))).status, 200);
  assert.equal((await get(gw.url(8080, "/limited/2"))).status, 429);
  assert.equal((await get(gw.url(8080, "/closed/1"))).status, 500);

  const spans = await rx.waitForSpans((s) => s.filter((x) => x.attributes["tollgate.rate_limit_check"] === true).length >= 3);
  const serverOf = (path: string) => spans.find((s) => s.kind === 2 && s.attributes["url.path"] === path)!;
  const checkUnder = (path: string) => spans.find((s) => s.kind === 3 && s.attributes["tollgate.rate_limit_check"] === true && s.parentSpanId === serverOf(path).spanId)!;
  const first = checkUnder("/limited/1");
  assert.equal(first.name, "envoy.service.ratelimit.v3.RateLimitService/ShouldRateLimit");
  assert.equal(first.attributes["rpc.system"], "grpc");
  assert.equal(first.attributes["rpc.service"], "envoy.service.ratelimit.v3.RateLimitService");
  assert.equal(first.attributes["rpc.method"], "ShouldRateLimit");
  assert.equal(first.attributes["rpc.grpc.status_code"], 0);
  assert.equal(first.attributes["tollgate.ext_authz"], undefined);
  assert.equal(first.status.code, 0);
  assert.equal(rls.seen[0]!.metadata["traceparent"], `00-${first.traceId}-${first.spanId}-03`, "the service joins the request's trace under the check's span");
  assert.equal(checkUnder("/limited/2").status.code, 0, "an OVER_LIMIT answer is a successful call");
  const failed = checkUnder("/closed/1");
  assert.equal(failed.attributes["error.type"], "UNAVAILABLE");
  assert.equal(failed.status.code, 2);
  const upstreamSpans = spans.filter((s) => s.kind === 3 && s.attributes["tollgate.rate_limit_check"] === undefined);
  assert.deepEqual(upstreamSpans.map((s) => s.parentSpanId), [serverOf("/limited/1").spanId], "only the allowed request reached the upstream");

  const logs = await rx.waitForLogs((l) => l.filter((r) => r.attributes["url.path"] !== undefined).length >= 3);
  const refused = logs.find((r) => r.attributes["url.path"] === "/limited/2")!;
  assert.equal(refused.attributes["http.response.status_code"], 429);
  assert.equal(refused.attributes["tollgate.response.flags"], "RL");
  assert.equal(refused.attributes["details"], "request_rate_limited");
  const closed = logs.find((r) => r.attributes["url.path"] === "/closed/1")!;
  assert.equal(closed.attributes["http.response.status_code"], 500);
  assert.equal(closed.attributes["tollgate.response.flags"], "RLSE");
  assert.equal(closed.attributes["details"], "rate_limiter_error");

  await gw.telemetry.flush(5000);
  const metrics = await rx.waitForMetrics((m) => m.some((x) => x.name === "tollgate.rate_limit.checks"));
  const checks = metrics.find((m) => m.name === "tollgate.rate_limit.checks")!;
  assert.equal(checks.unit, "{request}");
  const route = `${NS}/httpbin`;
  assert.deepEqual(
    sumPoints(checks).sort((a, b) => String(a.attributes["tollgate.rate_limit.outcome"]).localeCompare(String(b.attributes["tollgate.rate_limit.outcome"]))),
    [
      { attributes: { "tollgate.route.name": route, "tollgate.rule.name": "closed", "tollgate.rate_limit.policy": `${NS}/closed`, "tollgate.rate_limit.outcome": "error_refused" }, value: 1 },
      { attributes: { "tollgate.route.name": route, "tollgate.rule.name": "limited", "tollgate.rate_limit.policy": `${NS}/limited`, "tollgate.rate_limit.outcome": "ok" }, value: 1 },
      { attributes: { "tollgate.route.name": route, "tollgate.rule.name": "limited", "tollgate.rate_limit.policy": `${NS}/limited`, "tollgate.rate_limit.outcome": "over_limit" }, value: 1 },
    ],
  );
});
