import assert from "node:assert/strict";
import { test } from "node:test";
import { redactConfigForAdmin, REDACTED } from "../../src/config/redact.ts";
import { GATEWAY, load } from "./helpers.ts";

test("GET /config redaction: credential header values and URL credentials are removed, the rest stays", () => {
  const { config } = load(`${GATEWAY}---
apiVersion: gateway.networking.k8s.io/v1
kind: HTTPRoute
metadata: {name: r}
spec:
  parentRefs: [{name: gw}]
  rules:
  - matches:
    - path: {type: PathPrefix, value: /}
      headers: [{name: Authorization, value: "Bearer qqmatch"}]
      queryParams: [{name: sig, value: qqsig}, {name: v, value: "2"}]
    filters:
    - type: RequestHeaderModifier
      requestHeaderModifier:
        set:
        - {name: Authorization, value: "Bearer s3cr3t"}
        - {name: X-Env, value: prod}
        add:
        - {name: Cookie, value: "session=abc"}
    backendRefs: [{name: svc, port: 80}]
---
apiVersion: gateway.networking.x-k8s.io/v1alpha1
kind: TelemetryPolicy
metadata: {name: tp}
spec:
  targetRefs: [{group: gateway.networking.k8s.io, kind: Gateway, name: gw}]
  tracing:
    provider: {endpoint: "https://user:hun@ter2@collector.example.com:4318"}
    customAttributes:
    - {name: authorization, type: Literal, literalValue: "Basic Zm9vOmJhcg=="}
    - {name: env, type: Literal, literalValue: production}
`);
  assert.ok(config);
  const json = JSON.stringify(redactConfigForAdmin(config));
  for (const secret of ["s3cr3t", "session=abc", "hun", "ter2", "qqmatch", "qqsig", "Zm9vOmJhcg=="]) assert.ok(!json.includes(secret), `${secret} leaked`);
  const out = redactConfigForAdmin(config) as { routes: { rules: { filters: { modifier: { set: { name: string; value: string }[] } }[] }[] }[]; gateways: { telemetry: { tracing: { provider: { endpoint: string }; attributes: unknown[] } } }[] };
  assert.deepEqual(out.routes[0]!.rules[0]!.filters[0]!.modifier.set, [
    { name: "authorization", value: REDACTED },
    { name: "x-env", value: "prod" },
  ]);
  assert.equal(out.gateways[0]!.telemetry.tracing.provider.endpoint, `https://${REDACTED}@collector.example.com:4318`);
  assert.deepEqual(out.gateways[0]!.telemetry.tracing.attributes, [
    { name: "authorization", value: { from: "literal", value: REDACTED } },
    { name: "env", value: { from: "literal", value: "production" } },
  ]);
  // The config itself is untouched.
  assert.equal(config.routes[0]!.rules[0]!.filters[0]!.type === "RequestHeaderModifier" && config.routes[0]!.rules[0]!.filters[0]!.modifier.set[0]!.value, "Bearer s3cr3t");
});

test("GET /config shows what each listener a TrafficPolicy targets gets, redacted as the Gateway's own sections", () => {
  const { config } = load(`${GATEWAY}---
apiVersion: gateway.kgateway.dev/v1alpha1
kind: TrafficPolicy
metadata: {name: listener-only}
spec:
  targetRefs: [{group: gateway.networking.k8s.io, kind: Gateway, name: gw, sectionName: http}]
  rbac: {policy: {matchExpressions: ["request.headers['authorization'] == 'Bearer s3cr3t'"]}}
  headerModifiers: {request: {set: [{name: Authorization, value: "Bearer t0ken"}, {name: X-Env, value: prod}]}}
`);
  assert.ok(config);
  const shown = JSON.stringify(redactConfigForAdmin(config));
  const gateway = (JSON.parse(shown) as { gateways: { listenerPolicies: Record<string, { authorization: { policy: string }; headerModifiers: { policyName: string } }> }[] }).gateways[0]!;
  assert.deepEqual(Object.keys(gateway.listenerPolicies), ["http"]);
  assert.equal(gateway.listenerPolicies["http"]!.authorization.policy, "default/listener-only");
  assert.equal(gateway.listenerPolicies["http"]!.headerModifiers.policyName, "default/listener-only");
  assert.ok(shown.includes("prod"));
  for (const secret of ["s3cr3t", "t0ken"]) assert.equal(shown.includes(secret), false, `${secret} is shown`);
});
