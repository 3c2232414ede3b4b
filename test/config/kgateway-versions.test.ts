// Fields that released kgateway versions define and that load here with the meaning they
// have there: a lone service reference's weight (meaningless in kgateway too), and BackendConfigPolicy
// loadBalancer.zoneAware (v2.4), warned about as there are no zones to prefer.
import assert from "node:assert/strict";
import { test } from "node:test";
import { GATEWAY, errors, gatewayExtension, load, warnings } from "./helpers.ts";

test("a weight on the backendRef of a GatewayExtension's or an access log's gRPC service loads without a word", () => {
  const text = `${GATEWAY}${gatewayExtension("auth", "  extAuth:\n    grpcService: {backendRef: {name: authz, port: 9000, weight: 1}}\n")}${gatewayExtension(
    "limits",
    "  rateLimit:\n    domain: edge\n    grpcService: {backendRef: {name: rls, port: 8081, weight: 5}}\n",
  )}${gatewayExtension("http-auth", "  extAuth:\n    httpService: {backendRef: {name: authz-http, port: 8080, weight: 0}}\n")}---
apiVersion: gateway.kgateway.dev/v1alpha1
kind: HTTPListenerPolicy
metadata: {name: logs}
spec:
  targetRefs: [{group: gateway.networking.k8s.io, kind: Gateway, name: gw}]
  tracing:
    provider:
      openTelemetry:
        grpcService: {backendRef: {name: otel-collector, port: 4317, weight: 1}}
  accessLog:
  - grpcService: {logName: edge, backendRef: {name: als, port: 9001, weight: 1}}
  - openTelemetry:
      grpcService: {backendRef: {name: otel-collector, port: 4317, weight: 1}}
`;
  assert.deepEqual(errors(text), []);
  assert.equal(warnings(text).filter((w) => w.includes("weight")).length, 0);
  // Still a number within Gateway API's bounds.
  assert.equal(errors(text.replace("weight: 5", "weight: -1")).length, 1);
});

test("BackendConfigPolicy loadBalancer.zoneAware (kgateway v2.4) loads with a warning: there are no zones", () => {
  const text = `${GATEWAY}---
apiVersion: gateway.kgateway.dev/v1alpha1
kind: BackendConfigPolicy
metadata: {name: p}
spec:
  targetRefs: [{group: "", kind: Service, name: api}]
  loadBalancer:
    roundRobin: {}
    zoneAware: {preferLocal: {routingEnabled: 100, minEndpointsThreshold: 3}}
`;
  assert.deepEqual(errors(text), []);
  assert.deepEqual(warnings(text), [
    "t.yaml:19:16: spec.loadBalancer.zoneAware: warning: loadBalancer.zoneAware is not read: endpoints have no zone: each takes its share wherever it runs (hint: remove zoneAware)",
  ]);
  assert.ok(load(text).config !== undefined);
});
