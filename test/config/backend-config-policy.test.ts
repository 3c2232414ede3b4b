// kgateway BackendConfigPolicy in the config: what each backend is given (load balancer,
// connection settings, circuit breakers split among endpoints), which policy wins where
// several cover one backend (the Backend, then the Service port, then the Service; older
// first, field by field), label selection, the consistentHash interplay, and the exact text of
// each error and warning.
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { test } from "node:test";
import type { BackendModel } from "../../src/config/model.ts";
import { GATEWAY, TRACING_TO_COLLECTOR, errors, lines, load, trafficPolicy, warnings } from "./helpers.ts";
import { runtimeSetsKeepAliveProbes } from "../../src/config/backend-config-policies.ts";

const ROUTE = `${GATEWAY}---
apiVersion: v1
kind: Service
metadata: {name: api, labels: {tier: api}}
spec: {ports: [{name: http, port: 80}, {name: admin, port: 9000}]}
---
apiVersion: gateway.tollgate.dev/v1alpha1
kind: Backend
metadata: {name: pool, labels: {tier: pool}}
spec: {endpoints: [{ip: {address: 10.0.0.1, port: 80}}, {ip: {address: 10.0.0.2, port: 80}}, {ip: {address: 10.0.0.3, port: 80}}]}
---
apiVersion: gateway.networking.k8s.io/v1
kind: HTTPRoute
metadata: {name: web}
spec:
  parentRefs: [{name: gw}]
  rules:
  - matches: [{path: {type: PathPrefix, value: /api}}]
    backendRefs: [{name: api, port: 80}]
  - matches: [{path: {type: PathPrefix, value: /admin}}]
    backendRefs: [{name: api, port: 9000}]
  - matches: [{path: {type: PathPrefix, value: /pool}}]
    backendRefs: [{group: gateway.tollgate.dev, kind: Backend, name: pool}]
`;

const TO_API = '[{group: "", kind: Service, name: api}]';
const TO_POOL = "[{group: gateway.tollgate.dev, kind: Backend, name: pool}]";

function configPolicy(name: string, body: string, targets = TO_API, created = "2026-01-01T00:00:00Z"): string {
  return `---
apiVersion: gateway.kgateway.dev/v1alpha1
kind: BackendConfigPolicy
metadata: {name: ${name}, creationTimestamp: "${created}"}
spec:
  targetRefs: ${targets}
${body}`;
}

function backend(text: string, key: string): BackendModel {
  const result = load(text);
  assert.deepEqual(errors(text), []);
  const found = result.config!.backends.find((b) => b.key === key);
  assert.ok(found, `backend ${key} resolved`);
  return found;
}

test("every implemented field reaches the backend's model", () => {
  const body = `  connectTimeout: 2s
  tcpKeepalive: {keepAliveTime: 30s, keepAliveInterval: 10s, keepAliveProbes: 5}
  commonHttpProtocolOptions: {idleTimeout: 1m, maxRequestsPerConnection: 100, maxStreamDuration: 1m30s, maxHeadersCount: 64}
  loadBalancer: {leastRequest: {choiceCount: 3}}
  circuitBreakers: {maxConnections: 10, maxPendingRequests: 7}
`;
  const text = ROUTE + configPolicy("p", body, TO_POOL);
  assert.deepEqual(warnings(text), []);
  const pool = backend(text, "default/pool");
  assert.deepEqual(pool.loadBalancer, { kind: "LeastRequest", choiceCount: 3 });
  assert.deepEqual(pool.connection, { connectTimeoutMs: 2000, idleTimeoutMs: 60_000, maxRequestsPerConnection: 100, keepAliveTimeMs: 30_000, keepAliveIntervalMs: 10_000, keepAliveProbes: 5 });
  assert.equal(pool.maxStreamDurationMs, 90_000);
  assert.equal(pool.maxHeadersCount, 64);
  // The backend's totals, split among its three addresses (at least one each).
  assert.equal(pool.maxConnections, 3);
  assert.equal(pool.maxPendingRequests, 2);
  assert.deepEqual(pool.configPolicies, ["default/p"]);
  // The Service keeps the gateway's defaults.
  const api = backend(text, "default/api:80");
  assert.equal(api.loadBalancer, undefined);
  assert.equal(api.connection, undefined);
  assert.equal(api.maxStreamDurationMs, undefined);
  assert.equal(api.maxHeadersCount, undefined);
  assert.equal(api.configPolicies, undefined);
});

test("maxStreamDuration: merged like any field; 0s lifts a less specific policy's limit, as Envoy's 0 disables it", () => {
  const whole = configPolicy("whole", "  commonHttpProtocolOptions: {maxStreamDuration: 10s}\n", TO_API, "2026-01-01T00:00:00Z");
  const newer = configPolicy("newer", "  commonHttpProtocolOptions: {maxStreamDuration: 20s}\n", TO_API, "2026-06-01T00:00:00Z");
  const adminOff = configPolicy("admin-off", "  commonHttpProtocolOptions: {maxStreamDuration: 0s}\n", '[{group: "", kind: Service, name: api, sectionName: admin}]', "2026-09-01T00:00:00Z");
  const text = ROUTE + newer + adminOff + whole;
  const api = backend(text, "default/api:80");
  assert.equal(api.maxStreamDurationMs, 10_000);
  assert.deepEqual(api.configPolicies, ["default/whole"]);
  assert.equal(api.connection, undefined);
  const admin = backend(text, "default/api:9000");
  assert.equal(admin.maxStreamDurationMs, undefined);
  assert.deepEqual(admin.configPolicies, ["default/admin-off"]);
  // Alone, 0s is no limit either.
  assert.equal(backend(ROUTE + configPolicy("p", "  commonHttpProtocolOptions: {maxStreamDuration: 0s}\n", TO_POOL), "default/pool").maxStreamDurationMs, undefined);
});

test("each load balancer, with kgateway's defaults", () => {
  const lbOf = (lb: string): BackendModel["loadBalancer"] => backend(ROUTE + configPolicy("p", `  loadBalancer: ${lb}\n`), "default/api:80").loadBalancer;
  assert.deepEqual(lbOf("{roundRobin: {}}"), { kind: "RoundRobin" });
  assert.deepEqual(lbOf("{random: {}}"), { kind: "Random" });
  assert.deepEqual(lbOf("{leastRequest: {}}"), { kind: "LeastRequest", choiceCount: 2 });
  assert.deepEqual(lbOf("{leastRequest: {choiceCount: 0}}"), { kind: "LeastRequest", choiceCount: 2 });
  assert.deepEqual(lbOf("{ringHash: {}}"), { kind: "RingHash", minimumRingSize: 1024, maximumRingSize: 8_388_608 });
  assert.deepEqual(lbOf("{ringHash: {minimumRingSize: 64, maximumRingSize: 4096}}"), { kind: "RingHash", minimumRingSize: 64, maximumRingSize: 4096 });
  assert.deepEqual(lbOf("{maglev: {}}"), { kind: "Maglev" });
  // idleTimeout 0 is Envoy's "never"; maxRequestsPerConnection 0 is unlimited (unset).
  const never = backend(ROUTE + configPolicy("p", "  commonHttpProtocolOptions: {idleTimeout: 0s, maxRequestsPerConnection: 0}\n"), "default/api:80");
  assert.deepEqual(never.connection, { idleTimeoutMs: 0 });
});

test("precedence: the Backend or Service port before the whole Service, then the older policy, field by field", () => {
  const whole = configPolicy("whole", "  connectTimeout: 1s\n  loadBalancer: {random: {}}\n", TO_API, "2026-01-01T00:00:00Z");
  const port = configPolicy("port", "  loadBalancer: {maglev: {}}\n", '[{group: "", kind: Service, name: api, sectionName: admin}]', "2026-03-01T00:00:00Z");
  const older = configPolicy("older", "  commonHttpProtocolOptions: {idleTimeout: 5s}\n", TO_API, "2025-06-01T00:00:00Z");
  const newer = configPolicy("newer", "  commonHttpProtocolOptions: {idleTimeout: 9s}\n  connectTimeout: 3s\n", TO_API, "2026-06-01T00:00:00Z");
  const text = ROUTE + newer + port + whole + older;
  const api = backend(text, "default/api:80");
  assert.deepEqual(api.loadBalancer, { kind: "Random" });
  assert.deepEqual(api.connection, { connectTimeoutMs: 1000, idleTimeoutMs: 5000 });
  assert.deepEqual(api.configPolicies, ["default/whole", "default/older"]);
  // Port 9000 is the Service's "admin": its own policy's balancer beats the whole Service's.
  const admin = backend(text, "default/api:9000");
  assert.deepEqual(admin.loadBalancer, { kind: "Maglev" });
  assert.deepEqual(admin.connection, { connectTimeoutMs: 1000, idleTimeoutMs: 5000 });
  assert.deepEqual(admin.configPolicies, ["default/port", "default/whole", "default/older"]);
});

test("targetSelectors pick Services and Backends of the file by their labels", () => {
  const selectors = `---
apiVersion: gateway.kgateway.dev/v1alpha1
kind: BackendConfigPolicy
metadata: {name: by-labels}
spec:
  targetSelectors:
  - {group: "", kind: Service, matchLabels: {tier: api}}
  - {group: gateway.tollgate.dev, kind: Backend, matchLabels: {tier: pool}}
  - {group: gateway.tollgate.dev, kind: Backend, matchLabels: {tier: none}}
  loadBalancer: {random: {}}
`;
  const text = ROUTE + selectors;
  assert.deepEqual(backend(text, "default/api:80").loadBalancer, { kind: "Random" });
  assert.deepEqual(backend(text, "default/pool").loadBalancer, { kind: "Random" });
  // The Service's labels were read: it is not listed as skipped.
  assert.deepEqual(lines(load(text), "info"), []);
  assert.deepEqual(warnings(text), [
    `t.yaml:29:19: spec.rules[0].backendRefs[0]: warning: Service default/api:80 is reached by its cluster DNS name, where kube-proxy picks the pod: the Random load balancer of BackendConfigPolicy default/by-labels has one endpoint to pick (hint: list the pods' addresses as the endpoints of a gateway.tollgate.dev Backend named "api" to balance among them)`,
    `t.yaml:31:19: spec.rules[1].backendRefs[0]: warning: Service default/api:9000 is reached by its cluster DNS name, where kube-proxy picks the pod: the Random load balancer of BackendConfigPolicy default/by-labels has one endpoint to pick (hint: list the pods' addresses as the endpoints of a gateway.tollgate.dev Backend named "api" to balance among them)`,
    't.yaml:42:63: spec.targetSelectors[2].matchLabels: warning: no Backend in namespace default in the file carries the labels {"tier":"none"}; this targetSelector has no effect (hint: label the Backends the policy is for (metadata.labels), or change matchLabels)',
  ]);
});

test("consistentHash on a rule whose backend balances without a key is warned about", () => {
  const hash = trafficPolicy("sticky", "  consistentHash: {headers: [{headerName: x-user}]}\n");
  const text = ROUTE + hash + configPolicy("rr", "  loadBalancer: {roundRobin: {}}\n", TO_POOL);
  assert.deepEqual(warnings(text), [
    "t.yaml:40:19: spec.consistentHash: warning: HTTPRoute default/web rule #2 sends to default/pool, whose BackendConfigPolicy default/rr balances by RoundRobin, which reads no hash key: consistentHash pins nothing there and makes no cookie (hint: set loadBalancer ringHash: {} or maglev: {} in the BackendConfigPolicy)",
    // The Service rules are warned about as before: one address, nothing to pick among.
    "t.yaml:40:19: spec.consistentHash: warning: HTTPRoute default/web rule #0 sends to Service default/api:80, reached by its cluster DNS name (kube-proxy picks the pod): consistentHash picks among a backend's endpoints, so it pins nothing there (hint: send to a Backend that lists the endpoints (its static hosts) for affinity)",
    "t.yaml:40:19: spec.consistentHash: warning: HTTPRoute default/web rule #1 sends to Service default/api:9000, reached by its cluster DNS name (kube-proxy picks the pod): consistentHash picks among a backend's endpoints, so it pins nothing there (hint: send to a Backend that lists the endpoints (its static hosts) for affinity)",
  ].sort());
  // A hashing balancer takes the key without a word.
  assert.deepEqual(warnings(ROUTE + hash + configPolicy("mg", "  loadBalancer: {maglev: {}}\n", TO_POOL)).filter((w) => w.includes("default/pool")), []);
});

test("sections with nothing to act on are warned about; tls fails the load", () => {
  const body = `  dns: {lookupFamily: V4Only}
  perConnectionBufferLimitBytes: 32768
  tcpKeepalive: {keepAliveProbes: 3, keepAliveInterval: 5s}
  commonHttpProtocolOptions: {maxHeadersCount: 50, maxStreamDuration: 30s}
  http1ProtocolOptions: {enableTrailers: true}
  http2ProtocolOptions: {maxConcurrentStreams: 100}
  loadBalancer:
    healthyPanicThreshold: 50
    updateMergeWindow: 1s
    roundRobin: {slowStart: {window: 10s}}
  healthCheck: {timeout: 1s, interval: 5s, unhealthyThreshold: 2, healthyThreshold: 1, http: {path: /healthz}}
  outlierDetection: {consecutive5xx: 5}
  circuitBreakers: {maxRequests: 100, maxRetries: 3}
  upstreamProxyProtocol: {version: V2}
`;
  const text = ROUTE + configPolicy("p", body);
  assert.deepEqual(errors(text), []);
  assert.deepEqual(warnings(text), [
    "t.yaml:40:8: spec.dns: warning: dns is not read: endpoint names are resolved by the system resolver for each new connection (hint: remove dns)",
    "t.yaml:41:34: spec.perConnectionBufferLimitBytes: warning: perConnectionBufferLimitBytes is not read: bodies stream through Node's own socket buffers (hint: remove perConnectionBufferLimitBytes)",
    "t.yaml:44:42: spec.http1ProtocolOptions.enableTrailers: warning: http1ProtocolOptions.enableTrailers is not read (hint: remove enableTrailers)",
    "t.yaml:45:25: spec.http2ProtocolOptions: warning: http2ProtocolOptions is not read: the gateway speaks HTTP/1.1 to upstreams (hint: remove http2ProtocolOptions)",
    "t.yaml:47:28: spec.loadBalancer.healthyPanicThreshold: warning: loadBalancer.healthyPanicThreshold is not read: there are no health checks, so every endpoint is always in rotation (hint: remove healthyPanicThreshold)",
    "t.yaml:48:24: spec.loadBalancer.updateMergeWindow: warning: loadBalancer.updateMergeWindow is not read: endpoint changes take effect at the next reload (hint: remove updateMergeWindow)",
    "t.yaml:49:29: spec.loadBalancer.roundRobin.slowStart: warning: slowStart is not read: a new endpoint takes its full share at once (hint: remove slowStart)",
    "t.yaml:50:16: spec.healthCheck: warning: healthCheck is not read: there are no active health checks: every endpoint stays in rotation, and a retry moves on from one that fails (hint: remove healthCheck, and set TrafficPolicy retry on the routes to ride over a failing endpoint)",
    "t.yaml:51:21: spec.outlierDetection: warning: outlierDetection is not read: no endpoint is ejected: every endpoint stays in rotation, and a retry moves on from one that fails (hint: remove outlierDetection, and set TrafficPolicy retry on the routes to ride over a failing endpoint)",
    "t.yaml:52:34: spec.circuitBreakers.maxRequests: warning: circuitBreakers.maxRequests is not read: requests are bounded by maxConnections and maxPendingRequests alone (hint: remove maxRequests)",
    "t.yaml:52:51: spec.circuitBreakers.maxRetries: warning: circuitBreakers.maxRetries is not read: requests are bounded by maxConnections and maxPendingRequests alone (hint: remove maxRetries)",
    "t.yaml:53:26: spec.upstreamProxyProtocol: warning: upstreamProxyProtocol is not read: no PROXY protocol header is sent: an upstream that requires one refuses the connections, and the client's address travels in X-Forwarded-For (hint: remove upstreamProxyProtocol)",
  ]);
  assert.deepEqual(errors(ROUTE + configPolicy("p", "  tls: {insecureSkipVerify: true}\n")), [
    "t.yaml:40:8: spec.tls: BackendConfigPolicy tls is not implemented, and ignoring it would reach the backends without TLS (hint: give the backends TLS with a gateway.networking.k8s.io/v1 BackendTLSPolicy (validation.hostname and caCertificateRefs))",
  ]);
});

test("kgateway v2.0's headersWithUnderscoresAction and http1ProtocolOptions.headerFormat load, warned about; Allow is what happens anyway", () => {
  const text = ROUTE + configPolicy("p", "  commonHttpProtocolOptions: {headersWithUnderscoresAction: DropHeader}\n  http1ProtocolOptions: {headerFormat: ProperCaseHeaderKeyFormat}\n");
  assert.deepEqual(errors(text), []);
  assert.deepEqual(warnings(text), [
    "t.yaml:40:61: spec.commonHttpProtocolOptions.headersWithUnderscoresAction: warning: headersWithUnderscoresAction DropHeader does nothing on a backend (Envoy ignores it in a cluster's options too): request headers with underscores in their names are forwarded as they came (hint: remove headersWithUnderscoresAction)",
    "t.yaml:41:40: spec.http1ProtocolOptions.headerFormat: warning: http1ProtocolOptions.headerFormat is not read (hint: remove headerFormat)",
  ]);
  assert.deepEqual(warnings(ROUTE + configPolicy("p", "  commonHttpProtocolOptions: {headersWithUnderscoresAction: Allow}\n")), []);
  assert.equal(errors(ROUTE + configPolicy("p", "  commonHttpProtocolOptions: {headersWithUnderscoresAction: Reject}\n")).length, 1);
});

test("bad values are errors with the field and a hint", () => {
  const errorsOf = (body: string, targets = TO_API): string[] => errors(ROUTE + configPolicy("p", body, targets));
  assert.deepEqual(errorsOf("  loadBalancer: {random: {}, maglev: {}}\n"), [
    "t.yaml:40:38: spec.loadBalancer.maglev: loadBalancer sets random and maglev; kgateway takes exactly one (hint: keep one of roundRobin: {}, random: {}, leastRequest: {}, ringHash: {}, maglev: {})",
  ]);
  assert.deepEqual(errorsOf("  loadBalancer: {healthyPanicThreshold: 10}\n"), [
    "t.yaml:40:3: spec.loadBalancer: loadBalancer sets no load balancer (hint: keep one of roundRobin: {}, random: {}, leastRequest: {}, ringHash: {}, maglev: {})",
  ]);
  assert.deepEqual(errorsOf("  loadBalancer: {leastRequest: {choiceCount: 1}}\n"), [
    "t.yaml:40:46: spec.loadBalancer.leastRequest.choiceCount: choiceCount 1 is a random pick, not a least-request one; Envoy requires at least 2 (hint: set choiceCount: 2 (the default), or use random: {})",
  ]);
  assert.deepEqual(errorsOf("  loadBalancer: {ringHash: {minimumRingSize: 5000, maximumRingSize: 4000}}\n"), [
    "t.yaml:40:46: spec.loadBalancer.ringHash.minimumRingSize: minimumRingSize 5000 is more than maximumRingSize 4000 (hint: make minimumRingSize at most maximumRingSize)",
  ]);
  assert.deepEqual(errorsOf("  loadBalancer: {ringHash: {maximumRingSize: 512}}\n"), [
    "t.yaml:40:46: spec.loadBalancer.ringHash.maximumRingSize: minimumRingSize 1024 is more than maximumRingSize 512 (hint: make minimumRingSize at most maximumRingSize)",
  ]);
  assert.deepEqual(errorsOf("  connectTimeout: 0s\n"), [
    "t.yaml:40:19: spec.connectTimeout: connectTimeout must be more than 0 (hint: set a time such as 5s, or remove connectTimeout for the gateway's default (10s))",
  ]);
  assert.deepEqual(errorsOf("  tcpKeepalive: {keepAliveTime: 500ms}\n"), [
    "t.yaml:40:33: spec.tcpKeepalive.keepAliveTime: keepAliveTime must be whole seconds from 1s to 32767s (9h6m7s), what Linux accepts (hint: set keepAliveTime in seconds, e.g. 30s)",
  ]);
  assert.deepEqual(errorsOf("  tcpKeepalive: {keepAliveTime: 9h6m8s}\n"), [
    "t.yaml:40:33: spec.tcpKeepalive.keepAliveTime: keepAliveTime must be whole seconds from 1s to 32767s (9h6m7s), what Linux accepts (hint: set keepAliveTime in seconds, e.g. 30s)",
  ]);
  assert.deepEqual(errorsOf("  tcpKeepalive: {keepAliveTime: 9h6m7s, keepAliveInterval: 1500ms}\n"), [
    "t.yaml:40:60: spec.tcpKeepalive.keepAliveInterval: keepAliveInterval must be whole seconds from 1s to 32767s (9h6m7s), what Linux accepts (hint: set keepAliveInterval in seconds, e.g. 30s)",
  ]);
  assert.deepEqual(errorsOf("  tcpKeepalive: {keepAliveProbes: 0}\n"), [
    "t.yaml:40:35: spec.tcpKeepalive.keepAliveProbes: keepAliveProbes must be 1 to 127, what Linux accepts (hint: set keepAliveProbes: 9 (the Linux default), or remove it for Node's 10)",
  ]);
  assert.equal(errorsOf("  tcpKeepalive: {keepAliveProbes: 128}\n").length, 1);
  assert.deepEqual(errorsOf("  tcpKeepalive: {keepAliveTime: 9h6m7s, keepAliveInterval: 1s, keepAliveProbes: 127}\n"), []);
  assert.deepEqual(errorsOf("  circuitBreakers: {trackRemaining: true}\n"), [
    "t.yaml:40:3: spec.circuitBreakers: circuitBreakers sets no threshold (hint: set maxConnections, maxPendingRequests, maxRequests or maxRetries)",
  ]);
  assert.deepEqual(errorsOf("  connectTimeout: 5 seconds\n"), [
    't.yaml:40:19: spec.connectTimeout: the string "5 seconds" is not a Gateway API duration (hint: write e.g. 10s, 500ms, 1h2m (units h, m, s, ms))',
  ]);
  assert.deepEqual(errorsOf("  connectTimeout: 1s\n", '[{group: "", kind: Service, name: api, sectionName: grpc}]'), [
    't.yaml:39:67: spec.targetRefs[0].sectionName: Service default/api has no port named "grpc" (hint: name one of the Service\'s spec.ports, or remove sectionName to cover every port)',
  ]);
});

test("targets the policy cannot apply to are warned about", () => {
  const text = ROUTE + configPolicy("p", "  connectTimeout: 1s\n", "[{group: gateway.kgateway.dev, kind: Backend, name: pool}, {group: gateway.tollgate.dev, kind: Backend, name: gone}]");
  assert.deepEqual(warnings(text), [
    "t.yaml:39:16: spec.targetRefs[0]: warning: a BackendConfigPolicy applies to Services and gateway.tollgate.dev Backends; this target (gateway.kgateway.dev/Backend) is ignored (hint: Tollgate's Backends are group gateway.tollgate.dev: write group: gateway.tollgate.dev)",
    "t.yaml:39:125: spec.targetRefs[1].name: warning: Backend default/gone is not in the file; this targetRef has no effect (hint: add a gateway.tollgate.dev/v1alpha1 Backend named \"gone\", or fix the name)",
  ]);
});

test("a Backend's own connectionPool beats the circuit breakers, with a warning", () => {
  const own = ROUTE.replace("{ip: {address: 10.0.0.3, port: 80}}]}", "{ip: {address: 10.0.0.3, port: 80}}], connectionPool: {maxConnections: 4}}");
  const text = own + configPolicy("p", "  circuitBreakers: {maxConnections: 30, maxPendingRequests: 9}\n", TO_POOL);
  const pool = backend(text, "default/pool");
  assert.equal(pool.maxConnections, 4);
  assert.equal(pool.maxPendingRequests, 3);
  assert.deepEqual(warnings(text), [
    "t.yaml:33:19: spec.rules[2].backendRefs[0]: warning: Backend default/pool sets connectionPool.maxConnections, which is used rather than the circuitBreakers of BackendConfigPolicy default/p (hint: set the limit in one place)",
  ]);
});

test("the example in docs/configuration.md loads and gives its Backend what it says", () => {
  const docs = readFileSync(new URL("../../docs/configuration.md", import.meta.url), "utf8");
  const section = docs.slice(docs.indexOf("## BackendConfigPolicy (kgateway)"));
  const example = /```yaml\n([\s\S]*?)```/.exec(section)![1]!;
  const shop = ROUTE.replace("metadata: {name: pool, labels: {tier: pool}}", "metadata: {name: cart, namespace: shop}")
    .replace("backendRefs: [{group: gateway.tollgate.dev, kind: Backend, name: pool}]", "backendRefs: [{group: gateway.tollgate.dev, kind: Backend, name: cart, namespace: shop}]")
    .concat("---\napiVersion: gateway.networking.k8s.io/v1beta1\nkind: ReferenceGrant\nmetadata: {name: from-web, namespace: shop}\nspec:\n  from: [{group: gateway.networking.k8s.io, kind: HTTPRoute, namespace: default}]\n  to: [{group: gateway.tollgate.dev, kind: Backend}]\n");
  const text = `${shop}---\n${example}`;
  assert.deepEqual(warnings(text), []);
  const cart = backend(text, "shop/cart");
  assert.deepEqual(cart.loadBalancer, { kind: "Maglev" });
  assert.deepEqual(cart.connection, { connectTimeoutMs: 2000, idleTimeoutMs: 60_000, maxRequestsPerConnection: 1000, keepAliveTimeMs: 30_000, keepAliveIntervalMs: 5000, keepAliveProbes: 3 });
  assert.equal(cart.maxStreamDurationMs, 300_000);
  // 512 connections and 2048 waiting over the Backend's three addresses.
  assert.equal(cart.maxConnections, 170);
  assert.equal(cart.maxPendingRequests, 682);
});

test("a Backend answers to a policy on itself before one on the Service of its name", () => {
  const onService = configPolicy("on-service", "  loadBalancer: {random: {}}\n  connectTimeout: 4s\n", '[{group: "", kind: Service, name: pool}]', "2025-01-01T00:00:00Z");
  const onBackend = configPolicy("on-backend", "  loadBalancer: {maglev: {}}\n", TO_POOL, "2026-06-01T00:00:00Z");
  const pool = backend(ROUTE + onService + onBackend, "default/pool");
  // The Backend's own policy gives the balancer though it is newer; the Service's fills the rest.
  assert.deepEqual(pool.loadBalancer, { kind: "Maglev" });
  assert.equal(pool.loadBalancerPolicy, "default/on-backend");
  assert.deepEqual(pool.connection, { connectTimeoutMs: 4000 });
  assert.deepEqual(pool.configPolicies, ["default/on-backend", "default/on-service"]);
});

test("a Backend reached through references that would configure it differently keeps one configuration, with a warning", () => {
  // The Backend `pool` is reached as Service pool port 80 (a port policy) and as a Backend (none).
  const twice = ROUTE.replace("    backendRefs: [{name: api, port: 9000}]", "    backendRefs: [{name: pool, port: 80}]");
  const portPolicy = configPolicy("port80", "  loadBalancer: {maglev: {}}\n", '[{group: "", kind: Service, name: pool, sectionName: "80"}]');
  const text = twice + portPolicy;
  assert.deepEqual(backend(text, "default/pool").loadBalancer, { kind: "Maglev" });
  assert.deepEqual(warnings(text), [
    "t.yaml:33:19: spec.rules[2].backendRefs[0]: warning: Backend default/pool is reached with BackendConfigPolicy default/port80 through an earlier reference and with no BackendConfigPolicy through this one; every reference to it uses the first (hint: target the Backend (or the whole Service) with the BackendConfigPolicy, not one Service port)",
  ]);
});

test("a collector a policy targets is warned about; a huge ring is warned about", () => {
  // A balancer on the collector's Service: only the export warning (no route reaches it).
  const text = ROUTE + TRACING_TO_COLLECTOR + configPolicy("otel", "  connectTimeout: 1s\n  loadBalancer: {random: {}}\n", '[{group: "", kind: Service, name: collector}]');
  assert.deepEqual(warnings(text), [
    "t.yaml:45:23: spec.tracing.provider.openTelemetry.grpcService.backendRef: warning: BackendConfigPolicy default/otel targets this collector, but telemetry export does not read BackendConfigPolicy: the exporter's own timeouts and connection apply (hint: configure the exporter with OTEL_EXPORTER_OTLP_TIMEOUT and the other OTEL_EXPORTER_OTLP_* variables)",
  ]);
  assert.deepEqual(warnings(ROUTE + configPolicy("big", "  loadBalancer: {ringHash: {minimumRingSize: 2000000}}\n", TO_POOL)), [
    "t.yaml:40:46: spec.loadBalancer.ringHash.minimumRingSize: warning: a ring of 2000000 points is built at every load and reload, about 0.2 s per million points, while the gateway serves nothing (hint: keep minimumRingSize at 1048576 or less (Envoy's default is 1024), or use maglev: {})",
  ]);
});

const selectorPolicy = (selector: string, body = "  loadBalancer: {random: {}}\n"): string => `---
apiVersion: gateway.kgateway.dev/v1alpha1
kind: BackendConfigPolicy
metadata: {name: sel}
spec:
  targetSelectors: [${selector}]
${body}`;

test("targets: a Backend that failed its schema is not called missing; selectors need labels and stay in the policy's namespace", () => {
  const broken = ROUTE + "---\napiVersion: gateway.tollgate.dev/v1alpha1\nkind: Backend\nmetadata: {name: bad}\nspec: {endpoints: 7}\n" + configPolicy("p", "  connectTimeout: 1s\n", "[{group: gateway.tollgate.dev, kind: Backend, name: bad}]");
  assert.deepEqual(warnings(broken).filter((w) => w.includes("is not in the file")), []);
  assert.equal(errors(broken).length, 1);
  // An empty matchLabels selects nothing (kgateway), with a warning.
  const empty = ROUTE + selectorPolicy('{group: "", kind: Service, matchLabels: {}}');
  assert.equal(backend(empty, "default/api:80").loadBalancer, undefined);
  assert.ok(warnings(empty).some((w) => w.includes("an empty matchLabels selects no Service in kgateway")));
  // A labelled Service of another namespace is not selected.
  const elsewhere = `${ROUTE}---
apiVersion: v1
kind: Service
metadata: {name: api, namespace: other, labels: {tier: api}}
spec: {ports: [{name: http, port: 80}]}
---
apiVersion: gateway.networking.k8s.io/v1
kind: HTTPRoute
metadata: {name: o, namespace: other}
spec:
  parentRefs: [{name: gw, namespace: default}]
  rules:
  - backendRefs: [{name: api, port: 80}]
${selectorPolicy('{group: "", kind: Service, matchLabels: {tier: api}}')}`;
  assert.equal(load(elsewhere).config!.backends.find((b) => b.key === "other/api:80")!.loadBalancer, undefined);
  assert.deepEqual(load(elsewhere).config!.backends.find((b) => b.key === "default/api:80")!.loadBalancer, { kind: "Random" });
  assert.deepEqual(warnings(ROUTE + selectorPolicy('{group: "", kind: Service, matchLabels: {tier: none}}')).filter((w) => w.includes("tier")), [
    't.yaml:39:61: spec.targetSelectors[0].matchLabels: warning: no Service in namespace default in the file carries the labels {"tier":"none"} (a Service is selected by the labels of its v1 Service manifest in the file); this targetSelector has no effect (hint: label the Services the policy is for (metadata.labels), or change matchLabels)',
  ]);
});

test("what a policy gives: nothing for unread fields alone, no connection for a balancer alone, the bounds' edges", () => {
  assert.equal(load(ROUTE + configPolicy("p", "  dns: {lookupFamily: V4Only}\n", TO_POOL)).config!.backends.find((b) => b.key === "default/pool")!.configPolicies, undefined);
  assert.equal(backend(ROUTE + configPolicy("p", "  loadBalancer: {random: {}}\n", TO_POOL), "default/pool").connection, undefined);
  assert.equal(backend(ROUTE + configPolicy("p", "  tcpKeepalive: {keepAliveTime: 1s}\n"), "default/api:80").connection?.keepAliveTimeMs, 1000);
  assert.deepEqual(backend(ROUTE + configPolicy("p", "  loadBalancer: {ringHash: {minimumRingSize: 64, maximumRingSize: 64}}\n", TO_POOL), "default/pool").loadBalancer, { kind: "RingHash", minimumRingSize: 64, maximumRingSize: 64 });
  assert.deepEqual(errors(ROUTE + configPolicy("p", "  circuitBreakers: {maxConnections: 5, trackRemaining: true}\n")), []);
  assert.deepEqual(errors(ROUTE + configPolicy("p", "  connectTimeout: 1s\n", '[{group: "", kind: Service, name: api, sectionName: "65535"}]')), []);
  assert.deepEqual(warnings(ROUTE + configPolicy("p", "  loadBalancer: {maglev: {hashPolicies: [{header: {name: x}}]}}\n", TO_POOL)), [
    "t.yaml:40:41: spec.loadBalancer.maglev.hashPolicies: warning: hashPolicies are not read on a BackendConfigPolicy: the key comes from the routes' TrafficPolicy consistentHash; requests without one go to a random endpoint (hint: move the hash policies to a TrafficPolicy consistentHash on the routes to this backend)",
  ]);
});

test("out-of-range values are schema errors at the field", () => {
  const errorsOf = (body: string, targets = TO_API): string[] => errors(ROUTE + configPolicy("p", body, targets));
  assert.deepEqual(errorsOf("  circuitBreakers: {maxConnections: 0}\n"), ["t.yaml:40:37: spec.circuitBreakers.maxConnections: 0 is out of range: must be >= 1 (hint: use 1 or more)"]);
  assert.deepEqual(errorsOf("  loadBalancer: {ringHash: {maximumRingSize: 8388609}}\n"), ["t.yaml:40:46: spec.loadBalancer.ringHash.maximumRingSize: 8388609 is out of range: must be <= 8388608 (hint: use 8388608 or less)"]);
  assert.deepEqual(errorsOf("  loadBalancer: {leastRequest: {choiceCount: -1}}\n"), ["t.yaml:40:46: spec.loadBalancer.leastRequest.choiceCount: -1 is out of range: must be >= 0 (hint: use 0 or more)"]);
  assert.deepEqual(errorsOf("  commonHttpProtocolOptions: {maxRequestsPerConnection: -1}\n"), ["t.yaml:40:57: spec.commonHttpProtocolOptions.maxRequestsPerConnection: -1 is out of range: must be >= 0 (hint: use 0 or more)"]);
  assert.deepEqual(errorsOf("  connectTimeout: 1s\n", "[]"), ["t.yaml:39:15: spec.targetRefs: needs at least 1 item(s) (hint: add at least 1 item(s), or remove the field if it is optional)"]);
  assert.deepEqual(errorsOf("  tcpKeepalive: {keepAliveInterval: 500ms}\n"), ["t.yaml:40:37: spec.tcpKeepalive.keepAliveInterval: keepAliveInterval must be whole seconds from 1s to 32767s (9h6m7s), what Linux accepts (hint: set keepAliveInterval in seconds, e.g. 30s)"]);
  assert.deepEqual(errorsOf("  connectTimeout: 1s\n", '[{group: "", kind: Service, name: api, sectionName: "0"}]'), [
    't.yaml:39:67: spec.targetRefs[0].sectionName: Service default/api has no port named "0" (hint: name one of the Service\'s spec.ports, or remove sectionName to cover every port)',
  ]);
});

test("circuit breakers: split by distinct addresses, one each at least; a Backend's connectionPool wins, warned once and only for what both set", () => {
  const listedTwice = ROUTE.replace("{ip: {address: 10.0.0.3, port: 80}}]", "{ip: {address: 10.0.0.1, port: 80}}]");
  assert.equal(backend(listedTwice + configPolicy("p", "  circuitBreakers: {maxConnections: 10}\n", TO_POOL), "default/pool").maxConnections, 5);
  assert.equal(backend(ROUTE + configPolicy("p", "  circuitBreakers: {maxConnections: 2}\n", TO_POOL), "default/pool").maxConnections, 1);
  const ownPending = ROUTE.replace("{ip: {address: 10.0.0.3, port: 80}}]}", "{ip: {address: 10.0.0.3, port: 80}}], connectionPool: {maxPendingRequests: 4}}");
  assert.equal(backend(ownPending + configPolicy("p", "  circuitBreakers: {maxPendingRequests: 30}\n", TO_POOL), "default/pool").maxPendingRequests, 4);
  const ownConnections = ROUTE.replace("{ip: {address: 10.0.0.3, port: 80}}]}", "{ip: {address: 10.0.0.3, port: 80}}], connectionPool: {maxConnections: 4}}");
  assert.deepEqual(warnings(ownConnections + configPolicy("p", "  circuitBreakers: {maxPendingRequests: 9}\n", TO_POOL)), []);
  const twoRules = ownConnections.replace("  - matches: [{path: {type: PathPrefix, value: /pool}}]", "  - matches: [{path: {type: PathPrefix, value: /pool2}}]\n    backendRefs: [{group: gateway.tollgate.dev, kind: Backend, name: pool}]\n  - matches: [{path: {type: PathPrefix, value: /pool}}]");
  assert.equal(warnings(twoRules + configPolicy("p", "  circuitBreakers: {maxConnections: 30}\n", TO_POOL)).length, 1);
});

test("references: a Backend reached through two Service ports configured apart keeps the first; a Backend reference's port names no Service port", () => {
  const apiBackend = "---\napiVersion: gateway.tollgate.dev/v1alpha1\nkind: Backend\nmetadata: {name: api}\nspec: {endpoints: [{ip: {address: 10.0.1.1, port: 80}}, {ip: {address: 10.0.1.2, port: 80}}]}\n";
  const text = ROUTE + apiBackend + configPolicy("p", "  connectTimeout: 3s\n", '[{group: "", kind: Service, name: api, sectionName: admin}]');
  assert.deepEqual(warnings(text), [
    "t.yaml:31:19: spec.rules[1].backendRefs[0]: warning: Backend default/api is reached with no BackendConfigPolicy through an earlier reference and with BackendConfigPolicy default/p through this one; every reference to it uses the first (hint: target the Backend (or the whole Service) with the BackendConfigPolicy, not one Service port)",
  ]);
  assert.equal(load(text).config!.backends.find((b) => b.key === "default/api")!.connection, undefined);
  // A header count alone configures it apart too.
  const counted = ROUTE + apiBackend + configPolicy("p", "  commonHttpProtocolOptions: {maxHeadersCount: 20}\n", '[{group: "", kind: Service, name: api, sectionName: admin}]');
  assert.equal(warnings(counted).length, 1);
  assert.equal(load(counted).config!.backends.find((b) => b.key === "default/api")!.maxHeadersCount, undefined);
  // A stream limit alone configures it apart too.
  const limited = ROUTE + apiBackend + configPolicy("p", "  commonHttpProtocolOptions: {maxStreamDuration: 5s}\n", '[{group: "", kind: Service, name: api, sectionName: admin}]');
  assert.equal(warnings(limited).length, 1);
  assert.match(warnings(limited)[0]!, /^t\.yaml:31:19: .*with BackendConfigPolicy default\/p through this one/);
  assert.equal(load(limited).config!.backends.find((b) => b.key === "default/api")!.maxStreamDurationMs, undefined);
  const withPort = ROUTE.replace("backendRefs: [{group: gateway.tollgate.dev, kind: Backend, name: pool}]", "backendRefs: [{group: gateway.tollgate.dev, kind: Backend, name: pool, port: 80}]");
  assert.equal(load(withPort + configPolicy("p", "  connectTimeout: 1s\n", '[{group: "", kind: Service, name: pool, sectionName: "80"}]')).config!.backends.find((b) => b.key === "default/pool")!.connection, undefined);
});

test("consistentHash warnings: one per policy and backend, and one per Service", () => {
  const twoRules = ROUTE.replace("  - matches: [{path: {type: PathPrefix, value: /pool}}]", "  - matches: [{path: {type: PathPrefix, value: /pool2}}]\n    backendRefs: [{group: gateway.tollgate.dev, kind: Backend, name: pool}]\n  - matches: [{path: {type: PathPrefix, value: /pool}}]");
  const sticky = trafficPolicy("sticky", "  consistentHash: {headers: [{headerName: x-user}]}\n");
  assert.equal(warnings(twoRules + sticky + configPolicy("rr", "  loadBalancer: {roundRobin: {}}\n", TO_POOL)).filter((w) => w.includes("reads no hash key")).length, 1);
  assert.equal(warnings(ROUTE + sticky + configPolicy("rr", "  loadBalancer: {roundRobin: {}}\n")).filter((w) => w.includes("default/api:80")).length, 1);
});

test("keepAliveInterval and keepAliveProbes need Node 24.19 or later", () => {
  assert.equal(runtimeSetsKeepAliveProbes("24.19.0"), true);
  assert.equal(runtimeSetsKeepAliveProbes("25.0.1"), true);
  assert.equal(runtimeSetsKeepAliveProbes("24.18.3"), false);
  assert.equal(runtimeSetsKeepAliveProbes("22.20.0"), false);
  // This runtime (the pinned Node 24) sets them, so no warning.
  assert.equal(runtimeSetsKeepAliveProbes(), true);
  assert.deepEqual(warnings(ROUTE + configPolicy("p", "  tcpKeepalive: {keepAliveInterval: 5s, keepAliveProbes: 3}\n", TO_POOL)), []);
});

test("a later reference kept for its BackendTLSPolicy does not repeat the connectionPool warning of the same policy", () => {
  const ownPool = ROUTE.replace("{ip: {address: 10.0.0.3, port: 80}}]}", "{ip: {address: 10.0.0.3, port: 80}}], connectionPool: {maxConnections: 3}}")
    .replace("    backendRefs: [{name: api, port: 80}]", "    backendRefs: [{name: pool, port: 8080}]")
    .replace("    backendRefs: [{name: api, port: 9000}]", "    backendRefs: [{name: pool, port: 8443}]");
  const tls = `---
apiVersion: gateway.networking.k8s.io/v1
kind: BackendTLSPolicy
metadata: {name: pool-tls}
spec:
  targetRefs: [{group: "", kind: Service, name: pool, sectionName: "8443"}]
  validation: {hostname: pool.internal.test, wellKnownCACertificates: System}
`;
  const text = ownPool + tls + configPolicy("cb", "  circuitBreakers: {maxConnections: 10}\n", TO_POOL);
  assert.deepEqual(errors(text), []);
  const found = warnings(text);
  assert.equal(found.filter((w) => w.includes("sets connectionPool.maxConnections")).length, 1, found.join("\n"));
  assert.equal(found.filter((w) => w.includes("BackendTLSPolicy default/pool-tls through this one")).length, 1, found.join("\n"));
  assert.equal(load(text).config!.backends.find((b) => b.key === "default/pool")!.maxConnections, 3);
});
