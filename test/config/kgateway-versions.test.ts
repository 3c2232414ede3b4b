// Fields that released kgateway versions define and that load here with the meaning they
// have there: a lone service reference's weight (meaningless in kgateway too), BackendConfigPolicy
// loadBalancer.zoneAware (v2.4), warned about as there are no zones to prefer, and a tracing
// provider's CommonGrpcService fields (v2.1).
import assert from "node:assert/strict";
import { test } from "node:test";
import { GATEWAY, errors, gatewayExtension, load, sameListenerGateway, warnings } from "./helpers.ts";

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

test("a tracing provider's gRPC service takes kgateway v2.1's CommonGrpcService fields; each the OTLP exporter cannot honour is warned about at its field", () => {
  const text = `${GATEWAY}---
apiVersion: gateway.kgateway.dev/v1alpha1
kind: HTTPListenerPolicy
metadata: {name: traces}
spec:
  targetRefs: [{group: gateway.networking.k8s.io, kind: Gateway, name: gw}]
  tracing:
    provider:
      openTelemetry:
        grpcService:
          backendRef: {name: otel-collector, port: 4317}
          timeout: 2s
          initialMetadata: [{key: x-tenant, value: edge}]
          skipEnvoyHeaders: true
          maxReceiveMessageLength: 4194304
          retryPolicy: {retryBackOff: {baseInterval: 1s}, numRetries: 3}
`;
  assert.deepEqual(errors(text), []);
  assert.deepEqual(
    warnings(text).filter((w) => w.includes("grpcService")),
    [
      "t.yaml:22:20: spec.tracing.provider.openTelemetry.grpcService.timeout: warning: timeout has no effect in Tollgate: OTEL_EXPORTER_OTLP_TRACES_TIMEOUT sets the export timeout",
      "t.yaml:23:28: spec.tracing.provider.openTelemetry.grpcService.initialMetadata: warning: initialMetadata has no effect in Tollgate: OTEL_EXPORTER_OTLP_TRACES_HEADERS sets the export's headers",
      "t.yaml:25:36: spec.tracing.provider.openTelemetry.grpcService.maxReceiveMessageLength: warning: maxReceiveMessageLength has no effect in Tollgate: the OTLP exporter takes the collector's answers whole",
      "t.yaml:26:24: spec.tracing.provider.openTelemetry.grpcService.retryPolicy: warning: retryPolicy has no effect in Tollgate: the OTLP exporter retries as the OTLP specification says",
    ],
  );
  // logName belongs to access logs alone.
  assert.equal(errors(text.replace("timeout: 2s", "logName: x")).length, 1);
});

test("a tracing provider's sampler (kgateway v2.1) AlwaysOn samples every trace; the percentages it overrides are warned about", () => {
  const text = `${GATEWAY}---
apiVersion: gateway.kgateway.dev/v1alpha1
kind: HTTPListenerPolicy
metadata: {name: traces}
spec:
  targetRefs: [{group: gateway.networking.k8s.io, kind: Gateway, name: gw}]
  tracing:
    provider:
      openTelemetry:
        grpcService: {backendRef: {name: otel-collector, port: 4317}}
        sampler: {alwaysOnConfig: {}}
    randomSampling: 10
`;
  const result = load(text);
  assert.deepEqual(result.config!.gateways[0]!.telemetry.tracing?.sampling, { kind: "alwaysOn" });
  assert.deepEqual(
    warnings(text).filter((w) => w.includes("Sampling")),
    ["t.yaml:22:21: spec.tracing.randomSampling: warning: randomSampling has no effect in Tollgate: the provider's AlwaysOn sampler traces every request, as Envoy's tracer lets a configured sampler decide"],
  );
  assert.equal(errors(text.replace("sampler: {alwaysOnConfig: {}}", "sampler: {}")).length, 1, "a sampler names one");
});

test("earlyRequestHeaderModifier (kgateway v2.2) is checked as a route's modifier is; Gateways sharing a port agree when their modifiers do the same", () => {
  const policy = (targets: string, modifier: string): string => `---
apiVersion: gateway.kgateway.dev/v1alpha1
kind: HTTPListenerPolicy
metadata: {name: early-${targets.replace(/[^a-z0-9]/g, "")}}
spec:
  targetRefs: [${targets}]
  earlyRequestHeaderModifier: ${modifier}
`;
  const toGw = "{group: gateway.networking.k8s.io, kind: Gateway, name: gw}";
  const toGw2 = "{group: gateway.networking.k8s.io, kind: Gateway, name: gw2}";
  const same = `${GATEWAY}${sameListenerGateway("gw2")}${policy(toGw, "{set: [{name: x-env, value: prod}]}")}${policy(toGw2, "{set: [{name: x-env, value: prod}]}")}`;
  assert.deepEqual(errors(same), []);
  assert.deepEqual(load(same).config!.gateways[0]!.settings.earlyHeaders, { set: [{ name: "x-env", value: "prod" }], add: [], remove: [] });
  const differing = errors(`${GATEWAY}${sameListenerGateway("gw2")}${policy(toGw, "{set: [{name: x-env, value: prod}]}")}${policy(toGw2, "{remove: [x-env]}")}`);
  assert.equal(differing.length, 1);
  assert.match(differing[0]!, /listener settings differ: earlyHeaders \{"set":\[\],"add":\[\],"remove":\["x-env"\]\} here, \{"set":\[\{"name":"x-env","value":"prod"\}\],"add":\[\],"remove":\[\]\} there/);
  assert.deepEqual(errors(`${GATEWAY}${policy(toGw, "{remove: [Content-Length, connection, x-ok]}")}`), [
    't.yaml:17:41: spec.earlyRequestHeaderModifier.remove[0]: header "Content-Length" cannot be removed before the gateway reads the request: it frames the body or says which headers are hop-by-hop (hint: remove this entry)',
    't.yaml:17:57: spec.earlyRequestHeaderModifier.remove[1]: header "connection" cannot be removed before the gateway reads the request: it frames the body or says which headers are hop-by-hop (hint: remove this entry)',
  ]);
  assert.deepEqual(errors(`${GATEWAY}${policy(toGw, '{set: [{name: content-length, value: "1"}], add: [{name: "bad name", value: x}]}')}`), [
    't.yaml:17:45: spec.earlyRequestHeaderModifier.set[0].name: header "content-length" cannot be set on a forwarded request: the gateway writes it from how it frames the body and runs the upstream connection (hint: remove this entry)',
    't.yaml:17:88: spec.earlyRequestHeaderModifier.add[0].name: "bad name" is not a valid header name (hint: use letters, digits and !#$%&\'*+-.^_`|~ only (an RFC 9110 token))',
  ]);
});

test("defaultHostForHttp10 must be a Host a request could send: a name or an address, and a port from 1 to 65535", () => {
  const withHost = (host: string): string => `${GATEWAY}---
apiVersion: gateway.kgateway.dev/v1alpha1
kind: HTTPListenerPolicy
metadata: {name: http10}
spec:
  targetRefs: [{group: gateway.networking.k8s.io, kind: Gateway, name: gw}]
  defaultHostForHttp10: "${host}"
`;
  for (const good of ["legacy.example", "legacy.example:8080", "10.0.0.1", "[::1]:80"]) assert.deepEqual(errors(withHost(good)), [], good);
  for (const bad of ["a:b:c", "host:0", "[::1", "bad host"]) {
    const found = errors(withHost(bad));
    assert.equal(found.length, 1, bad);
    assert.match(found[0]!, /^t\.yaml:17:25: spec\.defaultHostForHttp10: /, bad);
  }
  assert.deepEqual(errors(withHost("legacy.example:70000")), ["t.yaml:17:25: spec.defaultHostForHttp10: port 70000 is out of range (1-65535) (hint: give the host a port from 1 to 65535, or none)"]);
});
