// jwtAuth in the exported telemetry, decoded from OTLP: remote JWKS fetches counted by provider
// and outcome (tollgate.jwt.jwks_fetches), refusals as tollgate.access_control.denied kind
// jwt_auth, and the same counts on /metrics without a metrics exporter, which promtool accepts.
import { test } from "node:test";
import assert from "node:assert/strict";
import { fallbackMetrics } from "../../src/admin/fallback-metrics.ts";
import { ProcessStats } from "../../src/server/stats.ts";
import { startHttpService } from "../support/http-service.ts";
import { jwksOf, signToken, signingKey } from "../support/jwt-issuer.ts";
import { gatewayYaml, get, namedRule, rulePolicy, startCountingGateway, startPolicyLab, sumPoints } from "./harness.ts";
import { assertPromtoolAccepts } from "../support/promtool.ts";

const NS = "kgateway-system";
const key = signingKey("ES256", "k1");

test("remote JWKS fetches are counted by provider and outcome; refusals by kind jwt_auth", async (t) => {
  const { rx, upstream } = await startPolicyLab(t);
  let healthy = false;
  const keys = await startHttpService((req, res) => {
    req.resume();
    if (healthy) res.writeHead(200, { "content-type": "application/json" }).end(jwksOf(key));
    else res.writeHead(503).end();
  });
  t.after(() => keys.close());
  const yaml = gatewayYaml({
    upstreamPort: upstream.port,
    rules: namedRule("signed", "/signed"),
    extra:
      `---\napiVersion: gateway.tollgate.dev/v1alpha1\nkind: Backend\nmetadata: {name: keys, namespace: ${NS}}\nspec: {endpoints: [{ip: {address: 127.0.0.1, port: ${keys.port}}}]}\n` +
      `---\napiVersion: gateway.kgateway.dev/v1alpha1\nkind: GatewayExtension\nmetadata: {name: idp, namespace: ${NS}}\nspec:\n  jwt:\n    providers: [{name: corp, jwks: {remote: {url: "http://login.example/jwks.json", backendRef: {group: gateway.tollgate.dev, kind: Backend, name: keys}}}}]\n` +
      rulePolicy(NS, "signed-in", "signed", "  jwtAuth: {extensionRef: {name: idp}}\n"),
  });
  const gw = await startCountingGateway(t, yaml, rx);

  const token = await signToken(key, { sub: "alice" });
  assert.equal((await get(gw.url(8080, "/signed/1"), { authorization: `Bearer ${token}` })).status, 401, "the key server is down");
  healthy = true;
  assert.equal((await get(gw.url(8080, "/signed/2"), { authorization: `Bearer ${token}` })).status, 200);
  assert.equal((await get(gw.url(8080, "/signed/3"))).status, 401);

  await gw.telemetry.flush(5000);
  const metrics = await rx.waitForMetrics((m) => m.some((x) => x.name === "tollgate.jwt.jwks_fetches") && m.some((x) => x.name === "tollgate.access_control.denied"));
  const fetches = metrics.find((m) => m.name === "tollgate.jwt.jwks_fetches")!;
  assert.equal(fetches.unit, "{fetch}");
  const outcome = (p: { attributes: Record<string, unknown> }) => String(p.attributes["tollgate.jwt.jwks_fetch.outcome"]);
  assert.deepEqual(
    sumPoints(fetches).sort((a, b) => outcome(a).localeCompare(outcome(b))),
    [
      { attributes: { "tollgate.jwt.provider": `${NS}/idp/corp`, "tollgate.jwt.jwks_fetch.outcome": "failure" }, value: 1 },
      { attributes: { "tollgate.jwt.provider": `${NS}/idp/corp`, "tollgate.jwt.jwks_fetch.outcome": "success" }, value: 1 },
    ],
  );
  const denied = metrics.find((m) => m.name === "tollgate.access_control.denied")!;
  assert.deepEqual(sumPoints(denied), [
    { attributes: { "tollgate.route.name": `${NS}/httpbin`, "tollgate.rule.name": "signed", "tollgate.access_control.policy": `${NS}/signed-in`, "tollgate.access_control.kind": "jwt_auth" }, value: 2 },
  ]);
});

test("without a metrics exporter, /metrics serves the fetches as tollgate_jwt_jwks_fetches_total, which promtool accepts", async () => {
  const stats = new ProcessStats();
  stats.jwksFetches.count("shop/idp/corp", "success");
  stats.jwksFetches.count("shop/idp/corp", "failure");
  stats.jwksFetches.count("shop/idp/corp", "failure");
  const body = (await fallbackMetrics(stats, { version: "0.0.0-test" }, () => 1).render(undefined)).body;
  assert.match(body, /^# TYPE tollgate_jwt_jwks_fetches_total counter$/m);
  assert.match(body, /^tollgate_jwt_jwks_fetches_total\{provider="shop\/idp\/corp",outcome="failure"\} 2$/m);
  assert.match(body, /^tollgate_jwt_jwks_fetches_total\{provider="shop\/idp\/corp",outcome="success"\} 1$/m);
  assertPromtoolAccepts(body);
});
