// A local rate limit in the exported telemetry, decoded from OTLP: the refused request's
// access log record (status 429, Envoy's RL flag and `local_rate_limited` details) and
// tollgate.rate_limit.over_limit, refused and shadowed requests apart.
import { test } from "node:test";
import assert from "node:assert/strict";
import { detailsLogPolicy, gatewayYaml, get, namedRule, rulePolicy, startCountingGateway, startPolicyLab, sumPoints } from "./harness.ts";

const NS = "kgateway-system";

const policy = (name: string, section: string, local: string): string => rulePolicy(NS, name, section, `  rateLimit: {local: ${local}}\n`);

test("a refused request's access log record says 429, RL and local_rate_limited; over-limit requests are counted, enforced or not", async (t) => {
  const { rx, upstream } = await startPolicyLab(t);
  const yaml = gatewayYaml({
    upstreamPort: upstream.port,
    rules: namedRule("limited", "/limited") + namedRule("shadow", "/shadow"),
    extra:
      policy("limited", "limited", "{tokenBucket: {maxTokens: 1, fillInterval: 1h}}").slice(4) +
      policy("shadow", "shadow", "{tokenBucket: {maxTokens: 1, fillInterval: 1h}, percentEnforced: 0}") +
      detailsLogPolicy(NS, "http"),
  });
  const gw = await startCountingGateway(t, yaml, rx);

  assert.equal((await get(gw.url(8080, "/limited/1"))).status, 200);
  assert.equal((await get(gw.url(8080, "/limited/2"))).status, 429);
  assert.equal((await get(gw.url(8080, "/limited/3"))).status, 429);
  for (let i = 1; i <= 3; i++) assert.equal((await get(gw.url(8080, `/shadow/${i}`))).status, 200);

  const logs = await rx.waitForLogs((l) => l.filter((r) => r.attributes["url.path"] !== undefined).length >= 6);
  const refused = logs.find((r) => r.attributes["url.path"] === "/limited/2")!;
  assert.equal(refused.attributes["http.response.status_code"], 429);
  assert.equal(refused.attributes["tollgate.response.flags"], "RL");
  assert.equal(refused.attributes["details"], "local_rate_limited");
  assert.equal(refused.attributes["error.type"], undefined);
  assert.equal(logs.find((r) => r.attributes["url.path"] === "/shadow/3")!.attributes["tollgate.response.flags"], undefined, "a shadowed request is logged as it went");

  await gw.telemetry.flush(5000);
  const metrics = await rx.waitForMetrics((m) => m.some((x) => x.name === "tollgate.rate_limit.over_limit"));
  const overLimit = metrics.find((m) => m.name === "tollgate.rate_limit.over_limit")!;
  assert.equal(overLimit.unit, "{request}");
  assert.deepEqual(
    sumPoints(overLimit).sort((a, b) => String(a.attributes["tollgate.rule.name"]).localeCompare(String(b.attributes["tollgate.rule.name"]))),
    [
      { attributes: { "tollgate.route.name": `${NS}/httpbin`, "tollgate.rule.name": "limited", "tollgate.rate_limit.policy": `${NS}/limited`, enforced: true }, value: 2 },
      { attributes: { "tollgate.route.name": `${NS}/httpbin`, "tollgate.rule.name": "shadow", "tollgate.rate_limit.policy": `${NS}/shadow`, enforced: false }, value: 2 },
    ],
  );
});
