// Happy paths of every implemented kind and the references between them.
import assert from "node:assert/strict";
import { describe, test } from "node:test";
import type { ResolvedConfig } from "../../src/config/model.ts";
import { GATEWAY, lines, load } from "./helpers.ts";
import { snippetWith } from "./seed-snippets.ts";
import { METADATA_KEY_ALIASES, METADATA_KEYS } from "../../src/config/metadata-keys.ts";

function ok(text: string): ResolvedConfig {
  const result = load(text);
  assert.deepEqual(lines(result, "error"), []);
  assert.ok(result.config);
  return result.config;
}

describe("Gateway", () => {
  test("listeners, allowedRoutes, accepted-but-unused v1 fields", () => {
    const config = ok(`apiVersion: gateway.networking.k8s.io/v1
kind: Gateway
metadata:
  name: edge
  namespace: infra
  labels: {team: platform}
spec:
  gatewayClassName: tollgate
  infrastructure:
    parametersRef: {group: gateway.kgateway.dev, kind: GatewayParameters, name: p}
  addresses:
  - {type: IPAddress, value: 10.0.0.1}
  listeners:
  - name: public
    port: 80
    protocol: HTTP
    hostname: "*.example.com"
    allowedRoutes:
      namespaces:
        from: Selector
        selector:
          matchLabels:
            kubernetes.io/metadata.name: shop
  - name: internal
    port: 8080
    protocol: HTTP
    allowedRoutes:
      namespaces: {from: All}
      kinds: [{kind: HTTPRoute}]
`);
    const g = config.gateways[0]!;
    assert.equal(g.ref.namespace, "infra");
    assert.equal(g.gatewayClassName, "tollgate");
    assert.deepEqual(
      g.listeners.map((l) => [l.name, l.port, l.hostname, l.allowedRoutesFrom, l.allowedNamespaces]),
      [
        ["public", 80, "*.example.com", "Selector", { only: ["shop"], except: [] }],
        ["internal", 8080, undefined, "All", { only: [], except: [] }],
      ],
    );
    assert.deepEqual(g.settings, {
      trustForwardedHeaders: false,
      xffNumTrustedHops: 0,
      skipXffAppend: false,
      maxRequestHeadersBytes: 61440,
      requestHeadersTimeoutMs: 10000,
      requestReceiveTimeoutMs: 0,
      keepAliveTimeoutMs: 5000,
      streamIdleTimeoutMs: 300000,
      maxConnections: 0,
      maxRequestsPerConnection: 0,
      maxHeadersCount: 0,
      healthCheckPath: undefined,
      serverHeader: "PassThrough",
      serverName: "tollgate",
      stripHostPort: "None",
      earlyHeaders: undefined,
      generateRequestId: true,
      acceptHttp10: true,
      defaultHostForHttp10: undefined,
    });
    assert.deepEqual(g.telemetry, { tracing: undefined, accessLogs: [], metrics: undefined, resourceAttributes: {} });
  });
});

describe("allowedRoutes namespace selectors", () => {
  const withSelector = (selector: string): string => `apiVersion: gateway.networking.k8s.io/v1
kind: Gateway
metadata: {name: edge, namespace: infra}
spec:
  gatewayClassName: tollgate
  listeners:
  - name: web
    port: 80
    protocol: HTTP
    allowedRoutes:
      namespaces:
        from: Selector
        selector: ${selector}
`;
  const listenerOf = (text: string) => {
    const result = load(text);
    assert.deepEqual(lines(result, "error"), []);
    const l = result.config!.gateways[0]!.listeners[0]!;
    return { from: l.allowedRoutesFrom, namespaces: l.allowedNamespaces, warnings: lines(result, "warning") };
  };

  test("every term must hold: the name terms intersect, and a term a file cannot evaluate leaves no namespace", () => {
    assert.deepEqual(listenerOf(withSelector("{matchExpressions: [{key: kubernetes.io/metadata.name, operator: In, values: [team-a, team-b, team-c]}], matchLabels: {kubernetes.io/metadata.name: team-b}}")), {
      from: "Selector",
      namespaces: { only: ["team-b"], except: [] },
      warnings: [],
    });
    const exclusive = listenerOf(withSelector("{matchLabels: {kubernetes.io/metadata.name: team-a}, matchExpressions: [{key: kubernetes.io/metadata.name, operator: In, values: [team-b]}]}"));
    assert.deepEqual([exclusive.from, exclusive.namespaces], ["Selector", { only: [], except: [] }]);
    assert.match(exclusive.warnings.join("\n"), /no namespace satisfies every term of this selector, so it matches none/);
    const unevaluable = listenerOf(withSelector("{matchLabels: {kubernetes.io/metadata.name: team-a, env: prod}}"));
    assert.deepEqual([unevaluable.from, unevaluable.namespaces], ["Selector", { only: [], except: [] }]);
    assert.match(unevaluable.warnings.join("\n"), /namespace label "env" cannot be evaluated from a file, so this selector matches no namespace/);
  });

  test("an empty selector selects every namespace, as a Kubernetes label selector does", () => {
    assert.deepEqual(listenerOf(withSelector("{}")), { from: "All", namespaces: { only: [], except: [] }, warnings: [] });
  });

  test("NotIn, Exists and DoesNotExist on the name label: every namespace but some, every one, none", () => {
    const name = "kubernetes.io/metadata.name";
    assert.deepEqual(listenerOf(withSelector(`{matchExpressions: [{key: ${name}, operator: NotIn, values: [kube-system, team-x]}]}`)), {
      from: "Selector",
      namespaces: { only: undefined, except: ["kube-system", "team-x"] },
      warnings: [],
    });
    // Every namespace carries its name label.
    assert.deepEqual(listenerOf(withSelector(`{matchExpressions: [{key: ${name}, operator: Exists}]}`)), { from: "All", namespaces: { only: [], except: [] }, warnings: [] });
    const none = listenerOf(withSelector(`{matchExpressions: [{key: ${name}, operator: DoesNotExist}]}`));
    assert.deepEqual([none.from, none.namespaces], ["Selector", { only: [], except: [] }]);
    assert.match(none.warnings.join("\n"), /no namespace satisfies every term of this selector/);
    // The terms still intersect: In less NotIn.
    assert.deepEqual(listenerOf(withSelector(`{matchExpressions: [{key: ${name}, operator: In, values: [a, b, c]}, {key: ${name}, operator: NotIn, values: [b]}]}`)).namespaces, { only: ["a", "c"], except: [] });
    const otherLabel = listenerOf(withSelector("{matchExpressions: [{key: env, operator: NotIn, values: [prod]}]}"));
    assert.deepEqual([otherLabel.from, otherLabel.namespaces], ["Selector", { only: [], except: [] }]);
    assert.match(otherLabel.warnings.join("\n"), /namespace label "env" cannot be evaluated from a file, so this selector matches no namespace/);
  });

  test("a route from an excluded namespace is not attached, and the warning says which namespaces the listener admits", () => {
    const route = (namespace: string): string => `---
apiVersion: gateway.networking.k8s.io/v1
kind: HTTPRoute
metadata: {name: r, namespace: ${namespace}}
spec:
  parentRefs: [{name: edge, namespace: infra}]
  rules: [{backendRefs: [{name: b, namespace: infra, port: 80}]}]
`;
    const text = withSelector("{matchExpressions: [{key: kubernetes.io/metadata.name, operator: NotIn, values: [kube-system]}]}") + route("team-a") + route("kube-system") +
      "---\napiVersion: gateway.networking.k8s.io/v1beta1\nkind: ReferenceGrant\nmetadata: {name: g, namespace: infra}\nspec:\n  from: [{group: gateway.networking.k8s.io, kind: HTTPRoute, namespace: team-a}, {group: gateway.networking.k8s.io, kind: HTTPRoute, namespace: kube-system}]\n  to: [{group: \"\", kind: Service}]\n---\napiVersion: v1\nkind: Service\nmetadata: {name: b, namespace: infra}\nspec: {ports: [{port: 80}]}\n";
    const result = load(text);
    assert.deepEqual(lines(result, "error"), []);
    const attached = result.config!.routes.filter((r) => r.parents.length > 0).map((r) => r.ref.namespace);
    assert.deepEqual(attached, ["team-a"]);
    assert.match(lines(result, "warning").join("\n"), /listener "web" admits routes from every namespace except kube-system/);
  });

  test("a requirement the Kubernetes API server would refuse is an error: In without values, Exists with values", () => {
    const noValues = lines(load(withSelector("{matchExpressions: [{key: kubernetes.io/metadata.name, operator: In, values: []}]}")), "error").join("\n");
    assert.match(noValues, /selector\.matchExpressions\[0\]\.values: operator In needs at least one value/);
    const withValues = lines(load(withSelector("{matchExpressions: [{key: kubernetes.io/metadata.name, operator: Exists, values: [a]}]}")), "error").join("\n");
    assert.match(withValues, /selector\.matchExpressions\[0\]\.values: operator Exists takes no values/);
  });
});

describe("HTTPRoute", () => {
  const text = `${GATEWAY}  - name: api
    port: 9090
    protocol: HTTP
    hostname: api.example.com
---
apiVersion: gateway.networking.k8s.io/v1
kind: HTTPRoute
metadata:
  name: shop
  creationTimestamp: 2025-03-01T10:00:00Z
spec:
  parentRefs:
  - name: gw
    sectionName: api
  - name: gw
    port: 8080
  hostnames: ["api.example.com", "*.example.com"]
  rules:
  - name: exact
    matches:
    - path: {type: Exact, value: /login}
      method: POST
      headers:
      - {name: X-Tenant, value: blue}
      - {name: X-Version, type: RegularExpression, value: "^v[0-9]+$"}
      queryParams:
      - {name: debug, value: "1"}
    filters:
    - type: RequestHeaderModifier
      requestHeaderModifier:
        set: [{name: X-Env, value: prod}]
        add: [{name: X-Trace, value: "1"}]
        remove: [X-Internal]
    - type: ResponseHeaderModifier
      responseHeaderModifier:
        set: [{name: Cache-Control, value: no-store}]
    - type: URLRewrite
      urlRewrite:
        hostname: login.internal
        path: {type: ReplaceFullPath, replaceFullPath: /auth/login}
    backendRefs:
    - name: blue
      port: 8080
      weight: 90
    - name: green
      port: 8080
      weight: 10
      filters:
      - type: RequestHeaderModifier
        requestHeaderModifier:
          set: [{name: X-Canary, value: "true"}]
    timeouts: {request: 10s, backendRequest: 2s500ms}
    retry: {codes: [503], attempts: 3, backoff: 100ms}
  - matches:
    - path: {value: /old}
    filters:
    - type: RequestRedirect
      requestRedirect:
        scheme: https
        path: {type: ReplacePrefixMatch, replacePrefixMatch: /new}
        statusCode: 301
  - matches:
    - path: {type: RegularExpression, value: "^/static/.*\\\\.css$"}
    filters:
    - type: ExtensionRef
      extensionRef: {group: gateway.kgateway.dev, kind: DirectResponse, name: hello}
  - retry: {}
    backendRefs:
    - {name: blue, port: 8080}
---
apiVersion: gateway.kgateway.dev/v1alpha1
kind: DirectResponse
metadata:
  name: hello
spec:
  status: 200
  body: "hello from tollgate"
`;

  test("parents, hostnames, matches with defaults, every filter, weights, timeouts, retries", () => {
    const config = ok(text);
    const route = config.routes[0]!;
    assert.equal(route.ref.creationTimestampMs, Date.parse("2025-03-01T10:00:00Z"));
    assert.deepEqual(route.parents, [
      { gatewayKey: "default/gw", sectionName: "api", port: undefined, listenerNames: ["api"] },
      { gatewayKey: "default/gw", sectionName: undefined, port: 8080, listenerNames: ["http"] },
    ]);
    assert.deepEqual(route.hostnames, ["api.example.com", "*.example.com"]);
    const [exact, redirect, regex, fallback] = route.rules;
    assert.equal(exact!.name, "exact");
    const m = exact!.matches[0]!;
    assert.deepEqual([m.path, m.method, m.headers, m.queryParams], [
      { type: "Exact", value: "/login" },
      "POST",
      [
        { type: "Exact", name: "x-tenant", value: "blue" },
        { type: "RegularExpression", name: "x-version", value: "^v[0-9]+$" },
      ],
      [{ type: "Exact", name: "debug", value: "1" }],
    ]);
    assert.deepEqual(exact!.filters, [
      { type: "RequestHeaderModifier", modifier: { set: [{ name: "x-env", value: "prod" }], add: [{ name: "x-trace", value: "1" }], remove: ["x-internal"] } },
      { type: "ResponseHeaderModifier", modifier: { set: [{ name: "cache-control", value: "no-store" }], add: [], remove: [] } },
      { type: "URLRewrite", hostname: "login.internal", path: { type: "ReplaceFullPath", replaceFullPath: "/auth/login" } },
    ]);
    assert.deepEqual(exact!.backends, [
      { weight: 90, backendKey: "default/blue:8080", filters: [] },
      {
        weight: 10,
        backendKey: "default/green:8080",
        filters: [{ type: "RequestHeaderModifier", modifier: { set: [{ name: "x-canary", value: "true" }], add: [], remove: [] } }],
      },
    ]);
    assert.deepEqual(exact!.timeouts, { requestMs: 10000, backendRequestMs: 2500, streamIdleMs: undefined });
    assert.deepEqual(exact!.retry, { codes: [503], attempts: 4, backoffMs: 100, onConnectFailure: true, onReset: true, onRateLimited: false });
    assert.deepEqual(redirect!.matches[0]!.path, { type: "PathPrefix", value: "/old" });
    assert.deepEqual(redirect!.filters, [
      { type: "RequestRedirect", scheme: "https", hostname: undefined, port: undefined, path: { type: "ReplacePrefixMatch", replacePrefixMatch: "/new" }, statusCode: 301 },
    ]);
    assert.deepEqual(regex!.matches[0]!.path, { type: "RegularExpression", value: "^/static/.*\\.css$" });
    assert.deepEqual(regex!.filters, [{ type: "DirectResponse", status: 200, body: "hello from tollgate", contentType: "text/plain; charset=utf-8" }]);
    assert.deepEqual(regex!.backends, []);
    assert.deepEqual(fallback!.matches.map((x) => x.path), [{ type: "PathPrefix", value: "/" }]);
    assert.deepEqual(fallback!.retry, { codes: [502, 503, 504], attempts: 2, backoffMs: 25, onConnectFailure: true, onReset: true, onRateLimited: false });
    assert.deepEqual(
      config.backends.map((b) => [b.key, b.endpoints]),
      [
        ["default/blue:8080", [{ host: "blue.default.svc.cluster.local", port: 8080, kind: "fqdn" }]],
        ["default/green:8080", [{ host: "green.default.svc.cluster.local", port: 8080, kind: "fqdn" }]],
      ],
    );
  });

  test("a listener hostname that matches none of the route's hostnames does not accept it", () => {
    const result = load(text.replace('hostnames: ["api.example.com", "*.example.com"]', 'hostnames: ["shop.other.org"]'));
    const config = result.config!;
    assert.deepEqual(config.routes[0]!.parents.map((p) => p.listenerNames), [["http"]]);
    assert.ok(lines(result, "warning").some((w) => w.includes('listener "api" hostname api.example.com matches none of the route\'s hostnames')));
  });
});

describe("backends and ReferenceGrant", () => {
  const base = `${GATEWAY}    allowedRoutes: {namespaces: {from: All}}
---
apiVersion: gateway.networking.k8s.io/v1
kind: HTTPRoute
metadata: {name: r, namespace: apps}
spec:
  parentRefs: [{name: gw, namespace: default}]
  rules:
  - backendRefs:
    - {name: api, namespace: data, port: 80}
    - {name: local, port: 8080}
`;
  const grant = `---
apiVersion: gateway.networking.k8s.io/v1beta1
kind: ReferenceGrant
metadata: {name: allow-apps, namespace: data}
spec:
  from: [{group: gateway.networking.k8s.io, kind: HTTPRoute, namespace: apps}]
  to: [{group: "", kind: Service}]
`;
  const backend = `---
apiVersion: gateway.tollgate.dev/v1alpha1
kind: Backend
metadata: {name: local, namespace: apps}
spec:
  endpoints:
  - fqdn: {hostname: Local.Example.com, port: 9000}
  - ip: {address: "::1", port: 9001}
`;

  test("Service refs resolve to a same-named Backend, else to cluster DNS; the grant admits the cross-namespace ref", () => {
    const config = ok(base + grant + backend);
    assert.deepEqual(config.routes[0]!.rules[0]!.backends.map((b) => b.backendKey), ["data/api:80", "apps/local"]);
    assert.deepEqual(config.backends, [
      { key: "data/api:80", kind: "Service", name: "api", namespace: "data", endpoints: [{ host: "api.data.svc.cluster.local", port: 80, kind: "fqdn" }] },
      {
        key: "apps/local",
        kind: "Backend",
        name: "local",
        namespace: "apps",
        endpoints: [
          { host: "local.example.com", port: 9000, kind: "fqdn" },
          { host: "::1", port: 9001, kind: "ip" },
        ],
      },
    ]);
  });

  const UNRESOLVED = "; requests this backendRef would take are answered 500 (Gateway API: ResolvedRefs False)";

  test("a grant for another kind or namespace does not admit the reference: the route loads, that ref unresolved, with a warning", () => {
    const wrong = grant.replace("namespace: apps}]", "namespace: other}]");
    const result = load(base + wrong + backend);
    assert.deepEqual(lines(result, "error"), []);
    const warned = lines(result, "warning");
    assert.equal(warned.length, 1, warned.join("\n"));
    assert.match(warned[0]!, /^t\.yaml:20:7: spec\.rules\[0\]\.backendRefs\[0\]: warning: reference to Service data\/api crosses namespaces/);
    assert.ok(warned[0]!.includes(UNRESOLVED), warned[0]);
    assert.deepEqual(
      result.config!.routes[0]!.rules[0]!.backends.map((b) => [b.backendKey, b.unresolved]),
      [
        ["", "data/api:80"],
        ["apps/local", undefined],
      ],
    );
    assert.deepEqual(result.config!.backends.map((b) => b.key), ["apps/local"], "an unresolved ref adds no backend");
  });

  test("a grant restricted to another Service name does not admit the reference", () => {
    const named = grant.replace('to: [{group: "", kind: Service}]', 'to: [{group: "", kind: Service, name: db}]');
    const result = load(base + named + backend);
    assert.deepEqual(result.config!.routes[0]!.rules[0]!.backends.map((b) => b.unresolved), ["data/api:80", undefined]);
    assert.ok(lines(result, "warning").some((w) => w.includes("reference to Service data/api crosses namespaces") && w.includes(UNRESOLVED)));
  });

  test("an unsupported backend kind is unresolved with a warning; a Service ref without a port still fails the load", () => {
    const kind = load(base.replace("{name: local, port: 8080}", "{group: example.com, kind: Bucket, name: local}") + grant + backend);
    assert.deepEqual(kind.config!.routes[0]!.rules[0]!.backends.map((b) => b.unresolved), [undefined, "apps/local"]);
    assert.ok(lines(kind, "warning").some((w) => w.includes("unsupported backend kind example.com/Bucket") && w.includes(UNRESOLVED)));
    const portless = load(base.replace("{name: api, namespace: data, port: 80}", "{name: api, namespace: data}") + grant + backend);
    assert.equal(portless.config, undefined);
    assert.ok(lines(portless, "error").some((e) => e.includes("a Service reference needs a port")));
  });
});

describe("kgateway listener limits", () => {
  test("HTTPListenerPolicy limits fill ListenerSettings", () => {
    const config = ok(`${GATEWAY}---
apiVersion: gateway.kgateway.dev/v1alpha1
kind: HTTPListenerPolicy
metadata: {name: limits}
spec:
  targetRefs: [{group: gateway.networking.k8s.io, kind: Gateway, name: gw}]
  xffNumTrustedHops: 2
  maxRequestHeadersKb: 32
  idleTimeout: 30s
  requestHeadersTimeout: 5s
  requestTimeout: 1m
  streamIdleTimeout: 90s
  maxConnections: 1000
  maxRequestsPerConnection: 100
  maxHeadersCount: 64
  healthCheck: {path: /healthz}
  serverHeaderTransformation: Overwrite
  serverName: edge
  stripHostPortMode: MatchingPort
  skipXFFAppend: true
  acceptHttp10: false
  defaultHostForHttp10: legacy.example
`);
    assert.deepEqual(config.gateways[0]!.settings, {
      trustForwardedHeaders: true,
      xffNumTrustedHops: 2,
      skipXffAppend: true,
      maxRequestHeadersBytes: 32768,
      requestHeadersTimeoutMs: 5000,
      requestReceiveTimeoutMs: 60000,
      keepAliveTimeoutMs: 30000,
      streamIdleTimeoutMs: 90000,
      maxConnections: 1000,
      maxRequestsPerConnection: 100,
      maxHeadersCount: 64,
      healthCheckPath: "/healthz",
      serverHeader: "Overwrite",
      serverName: "edge",
      stripHostPort: "MatchingPort",
      earlyHeaders: undefined,
      generateRequestId: true,
      acceptHttp10: false,
      defaultHostForHttp10: "legacy.example",
    });
  });

  test("ListenerPolicy default.httpSettings carries the same limits; the older policy wins a contested field", () => {
    const result = load(`${GATEWAY}---
apiVersion: gateway.kgateway.dev/v1alpha1
kind: ListenerPolicy
metadata: {name: a, creationTimestamp: 2025-01-01T00:00:00Z}
spec:
  targetRefs: [{group: gateway.networking.k8s.io, kind: Gateway, name: gw}]
  default:
    httpSettings:
      trustForwardedHeaders: true
      maxConnections: 10
      maxRequestsPerConnection: 3
      maxHeadersCount: 50
---
apiVersion: gateway.kgateway.dev/v1alpha1
kind: HTTPListenerPolicy
metadata: {name: b, creationTimestamp: 2025-02-01T00:00:00Z}
spec:
  targetRefs: [{group: gateway.networking.k8s.io, kind: Gateway, name: gw}]
  maxConnections: 20
`);
    const s = result.config!.gateways[0]!.settings;
    assert.equal(s.trustForwardedHeaders, true);
    assert.equal(s.maxConnections, 10);
    assert.equal(s.maxRequestsPerConnection, 3);
    assert.equal(s.maxHeadersCount, 50);
    assert.deepEqual(lines(result, "warning"), [
      "t.yaml:29:19: spec.maxConnections: warning: maxConnections for Gateway default/gw is already set by ListenerPolicy default/a, which is older; this one is ignored",
    ]);
  });

  test("kgateway's request id and HTTP/2 listener fields load; what Tollgate cannot honour is warned about at its field", () => {
    const result = load(`${GATEWAY}---
apiVersion: gateway.kgateway.dev/v1alpha1
kind: HTTPListenerPolicy
metadata: {name: ids}
spec:
  targetRefs: [{group: gateway.networking.k8s.io, kind: Gateway, name: gw}]
  generateRequestId: false
  preserveExternalRequestId: false
  uuidRequestIdConfig: {packTraceReason: true, useRequestIdForTraceSampling: false}
  http2ProtocolOptions: {maxConcurrentStreams: 100}
`);
    assert.equal(result.config!.gateways[0]!.settings.generateRequestId, false);
    assert.deepEqual(lines(result, "warning"), [
      "t.yaml:18:30: spec.preserveExternalRequestId: warning: preserveExternalRequestId: false has no effect in Tollgate: a client's X-Request-Id is always kept (Envoy replaces it on edge requests)",
      "t.yaml:19:42: spec.uuidRequestIdConfig.packTraceReason: warning: packTraceReason has no effect in Tollgate: X-Request-Id is a plain random UUID, and trace sampling never reads it",
      "t.yaml:20:25: spec.http2ProtocolOptions: warning: http2ProtocolOptions has no effect in Tollgate: listeners serve HTTP/1.1; a client's HTTP/2 preface is refused with 505",
    ]);
  });

  test("kgateway tracing and access-log fields Tollgate cannot honour load with a warning each, at their field", () => {
    const result = load(`${GATEWAY}---
apiVersion: gateway.kgateway.dev/v1alpha1
kind: HTTPListenerPolicy
metadata: {name: extras}
spec:
  targetRefs: [{group: gateway.networking.k8s.io, kind: Gateway, name: gw}]
  tracing:
    provider:
      openTelemetry:
        grpcService:
          backendRef: {name: otel-collector, port: 4317}
          authority: collector.example
        resourceDetectors:
        - environmentResourceDetector: {}
        - dynatraceResourceDetector: {}
    verbose: true
    maxPathTagLength: 100
  accessLog:
  - openTelemetry:
      grpcService:
        backendRef: {name: otel-collector, port: 4317}
        authority: collector.example
---
apiVersion: v1
kind: Service
metadata: {name: otel-collector}
spec: {ports: [{port: 4317}]}
`);
    assert.deepEqual(lines(result, "error"), []);
    assert.deepEqual(lines(result, "warning"), [
      "t.yaml:22:22: spec.tracing.provider.openTelemetry.grpcService.authority: warning: authority has no effect in Tollgate: the exporter sends the collector's own host as :authority",
      "t.yaml:25:11: spec.tracing.provider.openTelemetry.resourceDetectors[1]: warning: dynatraceResourceDetector has no effect in Tollgate: Tollgate's resource is OTEL_RESOURCE_ATTRIBUTES, the K8S_* variables and the policy's serviceName (environmentResourceDetector is what it always does)",
      "t.yaml:26:14: spec.tracing.verbose: warning: verbose has no effect in Tollgate: spans carry no per-event annotations",
      "t.yaml:27:23: spec.tracing.maxPathTagLength: warning: maxPathTagLength has no effect in Tollgate: url.path and url.full are never truncated; OTEL_SPAN_ATTRIBUTE_VALUE_LENGTH_LIMIT bounds every attribute",
      "t.yaml:32:20: spec.accessLog[0].openTelemetry.grpcService.authority: warning: authority has no effect in Tollgate: the exporter sends the collector's own host as :authority",
    ]);
  });

  test("fileSink to stdout with an Envoy format and a CEL filter", () => {
    const config = ok(`${GATEWAY}---
apiVersion: gateway.kgateway.dev/v1alpha1
kind: HTTPListenerPolicy
metadata: {name: stdout}
spec:
  targetRefs: [{group: gateway.networking.k8s.io, kind: Gateway, name: gw}]
  accessLog:
  - fileSink:
      path: /dev/stdout
      stringFormat: "%START_TIME% %REQ(:METHOD)% %REQ(:PATH):64% %RESPONSE_CODE% %DURATION%ms%%"
    filter:
      celFilter:
        match: response.code >= 400 || "x-debug" in request.headers
`);
    const log = config.gateways[0]!.telemetry.accessLogs[0]!;
    assert.deepEqual(log.sink, { kind: "stdout" });
    assert.equal(log.body, "%START_TIME% %REQ(:METHOD)% %REQ(:PATH):64% %RESPONSE_CODE% %DURATION%ms%%");
    assert.equal(log.filter?.expression, 'response.code >= 400 || "x-debug" in request.headers');
  });
});

describe("skipped documents", () => {
  const doc = (apiVersion: string, kind: string): string => `---\napiVersion: ${apiVersion}\nkind: ${kind}\nmetadata: {name: x}\nspec: {}\n`;

  test("a document in one of Tollgate's API groups that it skips is a warning, with the version it reads or the kind probably meant", () => {
    const result = load(
      GATEWAY +
        doc("agentic.networking.x-k8s.io/v1alpha2", "TelemetryPolicy") +
        doc("gateway.networking.k8s.io/v1alpha1", "TelemetryPolicy") +
        doc("gateway.networking.k8s.io/v1", "HttpRoute") +
        doc("gateway.networking.k8s.io/v1alpha2", "TLSRoute") +
        doc("gateway.kgateway.dev/v1alpha1", "Backend"),
    );
    assert.deepEqual(lines(result, "error"), []);
    assert.deepEqual(lines(result, "warning"), [
      "t.yaml:12:13: apiVersion: warning: TelemetryPolicy agentic.networking.x-k8s.io/v1alpha2 is not implemented; this document is skipped (hint: Tollgate reads TelemetryPolicy as gateway.networking.x-k8s.io/v1alpha1 or agentic.networking.x-k8s.io/v1alpha1)",
      "t.yaml:17:13: apiVersion: warning: TelemetryPolicy gateway.networking.k8s.io/v1alpha1 is not implemented; this document is skipped (hint: Tollgate reads TelemetryPolicy as gateway.networking.x-k8s.io/v1alpha1 or agentic.networking.x-k8s.io/v1alpha1)",
      "t.yaml:23:7: kind: warning: HttpRoute gateway.networking.k8s.io/v1 is not implemented; this document is skipped (hint: did you mean kind: HTTPRoute?)",
      "t.yaml:28:7: kind: warning: TLSRoute gateway.networking.k8s.io/v1alpha2 is not implemented; this document is skipped (hint: Tollgate implements Gateway, HTTPRoute, ReferenceGrant, BackendTLSPolicy in gateway.networking.k8s.io)",
      "t.yaml:32:13: apiVersion: warning: Backend gateway.kgateway.dev/v1alpha1 is not implemented; this document is skipped (hint: Tollgate reads Backend as gateway.tollgate.dev/v1alpha1)",
    ]);
  });

  test("a BackendTLSPolicy of an older version is an error, not a skip: skipping it would send its backends' traffic in plain text", () => {
    const result = load(GATEWAY + doc("gateway.networking.k8s.io/v1alpha2", "BackendTLSPolicy"));
    assert.deepEqual(lines(result, "error"), [
      "t.yaml:12:13: apiVersion: BackendTLSPolicy gateway.networking.k8s.io/v1alpha2 is not read, and skipping it would send its backends' traffic without TLS (hint: write it as gateway.networking.k8s.io/v1: targetRef becomes targetRefs, tls becomes validation, caCertRefs becomes caCertificateRefs, wellKnownCACerts becomes wellKnownCACertificates)",
    ]);
    assert.equal(result.config, undefined);
    const misspelt = load(GATEWAY + doc("gateway.networking.k8s.io/v1", "BackendTlsPolicy") + doc("gateway.networking.x-k8s.io/v1alpha1", "BackendTLSPolicy"));
    assert.deepEqual(lines(misspelt, "error"), [
      "t.yaml:13:7: kind: BackendTlsPolicy gateway.networking.k8s.io/v1 is not implemented; this document is skipped, and if it is a BackendTLSPolicy its backends' traffic goes without TLS (hint: did you mean kind: BackendTLSPolicy?)",
      "t.yaml:17:13: apiVersion: BackendTLSPolicy gateway.networking.x-k8s.io/v1alpha1 is not implemented; this document is skipped, and if it is a BackendTLSPolicy its backends' traffic goes without TLS (hint: Tollgate reads BackendTLSPolicy as gateway.networking.k8s.io/v1 or gateway.networking.k8s.io/v1alpha3)",
    ]);
  });

  test("other groups' kinds and the gateway's deployment kinds are only listed", () => {
    const result = load(GATEWAY + doc("networking.istio.io/v1", "Gateway") + doc("gateway.networking.k8s.io/v1", "GatewayClass") + doc("gateway.kgateway.dev/v1alpha1", "GatewayParameters") + doc("v1", "ConfigMap"));
    assert.deepEqual(lines(result, "warning"), []);
    assert.equal(lines(result, "info").length, 1);
    assert.match(lines(result, "info")[0]!, /skipped 4 resource\(s\) of kinds Tollgate does not implement: networking\.istio\.io\/v1\/Gateway x, gateway\.networking\.k8s\.io\/v1\/GatewayClass x, gateway\.kgateway\.dev\/v1alpha1\/GatewayParameters x, v1\/ConfigMap x/);
  });

  test("GatewayParameters that set OTEL_* variables (seed 003's spec) warn that those variables do not reach Tollgate", () => {
    const seedSpec = snippetWith("003-agentgateway-otel-readme.md", "OTEL_EXPORTER_OTLP_ENDPOINT");
    const parameters = `---\napiVersion: gateway.kgateway.dev/v1alpha1\nkind: GatewayParameters\nmetadata: {name: agentgateway-otel}\n${seedSpec}`;
    const result = load(GATEWAY + parameters);
    assert.deepEqual(lines(result, "error"), []);
    assert.deepEqual(lines(result, "warning"), [
      "t.yaml:20:9: spec.kube.agentgateway.env: warning: GatewayParameters are not applied, so OTEL_EXPORTER_OTLP_ENDPOINT, OTEL_EXPORTER_OTLP_PROTOCOL, OTEL_SERVICE_NAME, OTEL_TRACES_EXPORTER, OTEL_LOGS_EXPORTER set here do not reach Tollgate (hint: set these variables on the Tollgate container (deploy/kubernetes/deployment.yaml))",
    ]);
  });
});

describe("listener isolation at load", () => {
  test("a route hostname a more specific listener on the port takes whole gets a warning; one it shares does not", () => {
    const yaml = `apiVersion: gateway.networking.k8s.io/v1
kind: Gateway
metadata: {name: edge, namespace: infra}
spec:
  gatewayClassName: tollgate
  listeners:
  - {name: wild, port: 80, protocol: HTTP, hostname: "*.example.com", allowedRoutes: {namespaces: {from: All}}}
  - {name: any, port: 80, protocol: HTTP, allowedRoutes: {namespaces: {from: All}}}
  - {name: other, port: 8080, protocol: HTTP, hostname: "shop.example.com", allowedRoutes: {namespaces: {from: All}}}
---
apiVersion: gateway.networking.k8s.io/v1
kind: HTTPRoute
metadata: {name: shop, namespace: infra}
spec:
  parentRefs: [{name: edge, sectionName: any}]
  hostnames: [shop.example.com, "*.a.example.com", shop.example.org]
  rules: [{}]
`;
    const result = load(yaml);
    assert.deepEqual(lines(result, "error"), []);
    assert.deepEqual(
      lines(result, "warning").filter((w) => w.includes("listener isolation")),
      [
        't.yaml:15:16: spec.parentRefs[0]: warning: shop.example.com is never answered through listener "any": the listener for *.example.com on port 80 is more specific and takes those requests (listener isolation) (hint: attach the route to that listener (sectionName), or drop shop.example.com from its hostnames)',
        't.yaml:15:16: spec.parentRefs[0]: warning: *.a.example.com is never answered through listener "any": the listener for *.example.com on port 80 is more specific and takes those requests (listener isolation) (hint: attach the route to that listener (sectionName), or drop *.a.example.com from its hostnames)',
      ],
    );
    // Attached to the Gateway as a whole (or to both listeners), the route serves those hosts through the wildcard listener: no warning.
    for (const parentRefs of ["[{name: edge}]", "[{name: edge, sectionName: any}, {name: edge, sectionName: wild}]"]) {
      const whole = load(yaml.replace("parentRefs: [{name: edge, sectionName: any}]", `parentRefs: ${parentRefs}`));
      assert.deepEqual(lines(whole, "warning").filter((w) => w.includes("listener isolation")), [], parentRefs);
    }
  });
});

describe("Metadata value sources", () => {
  test("every documented key and the tollgate.*.name attribute names load without a warning; another key gets one", () => {
    const keys = [...Object.keys(METADATA_KEYS), ...Object.keys(METADATA_KEY_ALIASES)];
    const result = load(`${GATEWAY}---
apiVersion: gateway.networking.x-k8s.io/v1alpha1
kind: TelemetryPolicy
metadata: {name: tp}
spec:
  targetRefs: [{group: gateway.networking.k8s.io, kind: Gateway, name: gw}]
  tracing:
    customAttributes:
${keys.map((k, i) => `    - {name: a${i}, type: Metadata, metadataKey: ${k}}`).join("\n")}
    - {name: odd, type: Metadata, metadataKey: tollgate.route}
`);
    assert.deepEqual(lines(result, "error"), []);
    assert.deepEqual(
      lines(result, "warning").map((w) => w.replace(/^t\.yaml:\d+:\d+: /, "")),
      [`spec.tracing.customAttributes[${keys.length}].metadataKey: warning: metadata key "tollgate.route" is not provided by Tollgate; the value will be empty (hint: did you mean "tollgate.route.name"?)`],
    );
  });
});
