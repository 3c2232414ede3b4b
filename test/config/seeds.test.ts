// Every gateway-configuring YAML snippet of the seeds loads unchanged and does what its
// seed says. Snippets are extracted from ../shared/seeds at test time.
import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { formatDiagnostic } from "../../src/config/diagnostics.ts";
import { loadConfigText } from "../../src/config/load.ts";
import type { LoadResult } from "../../src/config/load.ts";
import type { ResolvedConfig } from "../../src/config/model.ts";
import { parseEnvoyFormat } from "../../src/format/envoy-operators.ts";
import { snippetWith, snippetsWith } from "./seed-snippets.ts";

const S1 = "001-kgateway-tracing-docs.txt";
const S2 = "002-gep-telemetry-policy.txt";
const S3 = "003-agentgateway-otel-readme.md";
const S4 = "004-kgateway-otel-stack.md";

function gateway(name: string, namespace: string): string {
  return `apiVersion: gateway.networking.k8s.io/v1
kind: Gateway
metadata:
  name: ${name}
  namespace: ${namespace}
spec:
  gatewayClassName: tollgate
  listeners:
  - name: http
    port: 8080
    protocol: HTTP
    allowedRoutes:
      namespaces:
        from: All
`;
}

const HTTPBIN_ROUTE = `apiVersion: gateway.networking.k8s.io/v1
kind: HTTPRoute
metadata:
  name: httpbin
  namespace: httpbin
spec:
  parentRefs:
  - name: http
    namespace: kgateway-system
  hostnames: ["www.example.com"]
  rules:
  - backendRefs:
    - name: httpbin
      port: 8000
`;

function load(...docs: string[]): LoadResult {
  return loadConfigText(docs.join("---\n"), "seed.yaml");
}

function ok(result: LoadResult): ResolvedConfig {
  const errors = result.diagnostics.filter((d) => d.severity === "error").map(formatDiagnostic);
  assert.deepEqual(errors, []);
  assert.ok(result.config);
  return result.config;
}

const warnings = (r: LoadResult): string[] => r.diagnostics.filter((d) => d.severity === "warning").map(formatDiagnostic);

describe("seed 001: kgateway tracing docs", () => {
  const collector = snippetWith(S1, "kind: ConfigMap");
  const [basicPolicy] = snippetsWith(S1, ["kind: ListenerPolicy", "overallSampling: 100"], 2).filter((s) => !s.includes("attributes:"));
  const attrPolicy = snippetWith(S1, "kind: ListenerPolicy", "attributes:");
  const routePolicy = snippetWith(S1, "name: tracing-route");
  const disablePolicy = snippetWith(S1, "name: tracing-disable");

  test("the collector ConfigMap/Pod/Service are skipped with one info line", () => {
    const result = load(collector, gateway("http", "kgateway-system"));
    const config = ok(result);
    assert.deepEqual(config.skippedKinds, ["v1/ConfigMap", "v1/Pod", "v1/Service"]);
    const infos = result.diagnostics.filter((d) => d.severity === "info").map(formatDiagnostic);
    assert.deepEqual(infos, [
      "seed.yaml:1:1: -: info: skipped 3 resource(s) of kinds Tollgate does not implement: v1/ConfigMap otel-collector-conf, v1/Pod otel-collector, v1/Service otel-collector",
    ]);
  });

  test("ListenerPolicy: 100% sampling, OTLP gRPC to the collector Service in the same namespace (no grant needed)", () => {
    const config = ok(load(collector, basicPolicy!, gateway("http", "kgateway-system")));
    const tracing = config.gateways[0]!.telemetry.tracing;
    assert.ok(tracing);
    assert.equal(tracing.enabled, true);
    assert.deepEqual(tracing.sampling, { kind: "percentages", client: 100, random: 100, overall: 100 });
    assert.equal(tracing.provider?.endpoint, "http://otel-collector.kgateway-system.svc.cluster.local:4317");
    assert.equal(tracing.provider?.protocol, "grpc");
    assert.deepEqual(tracing.attributes, []);
    assert.equal(tracing.upstreamSpans, true);
    assert.ok(config.backends.some((b) => b.key === "kgateway-system/otel-collector:4317"));
  });

  test("ListenerPolicy custom span attributes: literal and request header", () => {
    const config = ok(load(collector, attrPolicy, gateway("http", "kgateway-system")));
    assert.deepEqual(config.gateways[0]!.telemetry.tracing?.attributes, [
      { name: "environment", value: { from: "literal", value: "production" } },
      { name: "request-id", value: { from: "requestHeader", header: "x-request-id", defaultValue: undefined } },
    ]);
  });

  test("TrafficPolicy tracing-route: 50/50 sampling override and attributes merged with the listener's", () => {
    const config = ok(load(attrPolicy, routePolicy, gateway("http", "kgateway-system"), HTTPBIN_ROUTE));
    const route = config.routes.find((r) => r.ref.name === "httpbin");
    assert.ok(route?.tracing);
    assert.equal(route.tracing.disabled, false);
    assert.deepEqual(route.tracing.sampling, { client: undefined, random: 50, overall: 50 });
    assert.deepEqual(
      route.tracing.attributes.map((a) => [a.name, a.value]),
      [
        ["environment", { from: "literal", value: "production" }],
        ["request-id", { from: "requestHeader", header: "x-request-id", defaultValue: undefined }],
        ["route-tag", { from: "literal", value: "httpbin-route" }],
        ["x-custom-header", { from: "requestHeader", header: "x-custom-header", defaultValue: undefined }],
      ],
    );
  });

  test("TrafficPolicy tracing-disable: the route is exempt from tracing", () => {
    const config = ok(load(basicPolicy!, disablePolicy, gateway("http", "kgateway-system"), HTTPBIN_ROUTE));
    const route = config.routes.find((r) => r.ref.name === "httpbin");
    assert.equal(route?.tracing?.disabled, true);
    assert.deepEqual(route?.tracing?.attributes, []);
  });

  test("disable is exclusive with the other tracing fields", () => {
    const mixed = disablePolicy.replace("    disable: {}", "    disable: {}\n    randomSampling: 10");
    assert.notEqual(mixed, disablePolicy);
    const result = load(mixed, gateway("http", "kgateway-system"), HTTPBIN_ROUTE);
    assert.equal(result.config, undefined);
    assert.deepEqual(result.diagnostics.filter((d) => d.severity === "error").map(formatDiagnostic), [
      "seed.yaml:12:14: spec.tracing.disable: disable is exclusive with every other tracing field (found randomSampling) (hint: remove disable, or the other fields)",
    ]);
  });

  test("both TrafficPolicies on one route: the older wins, the other is warned about", () => {
    const older = routePolicy.replace("  namespace: httpbin", "  namespace: httpbin\n  creationTimestamp: 2025-01-01T00:00:00Z");
    const result = load(older, disablePolicy, gateway("http", "kgateway-system"), HTTPBIN_ROUTE);
    const config = ok(result);
    assert.equal(config.routes[0]!.tracing?.disabled, false);
    assert.ok(warnings(result).some((w) => w.includes("already gets tracing from TrafficPolicy httpbin/tracing-route")));
  });
});

describe("seed 002: GEP TelemetryPolicy", () => {
  const policy = snippetWith(S2, "kind: TelemetryPolicy");

  test("tracing, metrics and access logs load as the GEP example says", () => {
    const result = load(policy, gateway("my-gateway", "prod-ns"));
    const config = ok(result);
    const t = config.gateways[0]!.telemetry;
    assert.equal(t.tracing?.enabled, true);
    assert.equal(t.tracing?.provider?.endpoint, "http://otel-collector.monitoring.svc:4317");
    assert.equal(t.tracing?.provider?.protocol, "grpc");
    assert.deepEqual(t.tracing?.sampling, { kind: "fraction", ratio: 0.05, parentBased: true, parentRatio: 0.5 });
    assert.deepEqual(t.tracing?.attributes, [
      { name: "env", value: { from: "literal", value: "production" } },
      { name: "mcp_task_name", value: { from: "metadata", key: "my.custom.filter.mcp_task_name" } },
    ]);
    assert.equal(t.metrics?.enabled, true);
    assert.deepEqual(t.metrics?.overrides, [
      {
        name: "example.com/http/request_count",
        attributes: [
          { name: "x-model-id", value: { from: "requestHeader", header: "x-model-id", defaultValue: undefined } },
          { name: "mcp_task_name", value: { from: "metadata", key: "my.custom.filter.mcp_task_name" } },
          { name: "environment", value: { from: "literal", value: "production" } },
        ],
      },
    ]);
    assert.equal(t.accessLogs.length, 1);
    const log = t.accessLogs[0]!;
    assert.equal(log.enabled, false, 'mode: "Off" keeps the configuration but disables the log');
    assert.equal(log.filter?.expression, "response.code >= 500");
    assert.deepEqual(log.fields, [
      { name: "start_time", type: "Standard", standard: "RequestStartTime" },
      { name: "response_code", type: "Standard", standard: "ResponseCode" },
      { name: "x-token-usage", type: "Header", header: "x-token-usage", allowSensitive: false },
      { name: "mcp_task_name", type: "Metadata", key: "my.custom.filter.mcp_task_name" },
    ]);
    // The seed's metadata key is proxy-specific; Tollgate loads it and says it will be empty.
    assert.ok(warnings(result).some((w) => w.includes('spec.tracing.customAttributes[1].metadataKey: warning: metadata key "my.custom.filter.mcp_task_name" is not provided by Tollgate')));
  });

  test("the same policy under gateway.networking.x-k8s.io/v1alpha1 loads identically", () => {
    const moved = policy.replace("agentic.networking.x-k8s.io/v1alpha1", "gateway.networking.x-k8s.io/v1alpha1");
    const a = ok(load(policy, gateway("my-gateway", "prod-ns")));
    const b = ok(load(moved, gateway("my-gateway", "prod-ns")));
    assert.deepEqual(b.gateways[0]!.telemetry.tracing?.sampling, a.gateways[0]!.telemetry.tracing?.sampling);
    assert.deepEqual(b.gateways[0]!.telemetry.accessLogs[0]!.fields, a.gateways[0]!.telemetry.accessLogs[0]!.fields);
  });

  test("numerator greater than denominator is rejected", () => {
    const bad = policy.replace("numerator: 5 #", "numerator: 500 #");
    assert.notEqual(bad, policy);
    const result = load(bad, gateway("my-gateway", "prod-ns"));
    assert.equal(result.config, undefined);
    assert.deepEqual(result.diagnostics.filter((d) => d.severity === "error").map(formatDiagnostic), [
      "seed.yaml:19:18: spec.tracing.samplingRate.numerator: numerator 500 is greater than denominator 100 (hint: a sampling rate is at most 100%: use a numerator ≤ 100)",
    ]);
  });
});

describe("seed 003: agentgateway README", () => {
  const gw = snippetWith(S3, "kind: Gateway\napiVersion");
  const logging = snippetWith(S3, "name: logging-policy");
  const grant = snippetWith(S3, "kind: ReferenceGrant");

  test("Gateway http-gateway, the logging-policy and the ReferenceGrant: OTLP access logs to the monitoring collector", () => {
    const config = ok(load(gw, logging, grant));
    const g = config.gateways[0]!;
    assert.equal(g.ref.name, "http-gateway");
    assert.equal(g.gatewayClassName, "kgateway");
    assert.deepEqual(g.listeners.map((l) => [l.name, l.port, l.allowedRoutesFrom]), [["http", 8080, "All"]]);
    assert.equal(g.telemetry.accessLogs.length, 1);
    const log = g.telemetry.accessLogs[0]!;
    assert.equal(log.logName, "http-gateway-access-logs");
    assert.deepEqual(log.sink.kind === "otlp" ? [log.sink.target?.endpoint, log.sink.target?.protocol] : [], [
      "http://otel-collector-collector.monitoring.svc.cluster.local:4317",
      "grpc",
    ]);
  });

  test("without the ReferenceGrant the cross-namespace collector reference is an error naming the grant", () => {
    const result = load(gw, logging);
    assert.equal(result.config, undefined);
    assert.deepEqual(result.diagnostics.filter((d) => d.severity === "error").map(formatDiagnostic), [
      'seed.yaml:32:11: spec.accessLog[0].openTelemetry.grpcService.backendRef: reference to Service monitoring/otel-collector-collector crosses namespaces and no ReferenceGrant in "monitoring" allows it (hint: add a ReferenceGrant in namespace "monitoring" with from: [{group: gateway.kgateway.dev, kind: HTTPListenerPolicy, namespace: kgateway}] and to: [{group: "", kind: Service, name: otel-collector-collector}])',
    ]);
  });

  test("the bare `spec:` fragments are not loadable documents", () => {
    for (const needle of ["agentgateway:\n      enabled: true", "gatewayClassName: agentgateway"]) {
      const fragment = snippetWith(S3, needle);
      const result = loadConfigText(fragment, "fragment.yaml");
      assert.equal(result.config, undefined);
      assert.deepEqual(result.diagnostics.map(formatDiagnostic), [
        "fragment.yaml:1:1: -: document 1 has no apiVersion (hint: add apiVersion: ... (e.g. gateway.networking.k8s.io/v1))",
        "fragment.yaml:1:1: -: document 1 has no kind (hint: add kind: ... (e.g. Gateway))",
      ]);
    }
  });
});

describe("seed 004: kgateway OTel stack", () => {
  const logging = snippetWith(S4, "name: logging-policy");
  const tracing = snippetWith(S4, "name: tracing-policy");
  const logsGrant = snippetWith(S4, "name: allow-otel-collector-logs-access");
  const tracesGrant = snippetWith(S4, "name: allow-otel-collector-traces-access");

  test("both HTTPListenerPolicies and both ReferenceGrants load unchanged, Hugo namespace read as kgateway-system", () => {
    assert.ok(logging.includes('namespace: {{< reuse "docs/snippets/namespace.md" >}}'));
    const result = load(logging, logsGrant, tracing, tracesGrant, gateway("http", "kgateway-system"));
    const config = ok(result);
    const hugo = warnings(result).filter((w) => w.includes("Hugo shortcode"));
    assert.equal(hugo.length, 4);
    assert.equal(hugo[0], 'seed.yaml:5:14: metadata.namespace: warning: Hugo shortcode {{< reuse "docs/snippets/namespace.md" >}} read as "kgateway-system" (hint: write "kgateway-system" to silence this warning)');

    const t = config.gateways[0]!.telemetry;
    assert.equal(t.accessLogs.length, 1);
    const log = t.accessLogs[0]!;
    assert.equal(log.logName, "http-gateway-access-logs");
    assert.equal(log.sink.kind === "otlp" ? log.sink.target?.endpoint : undefined, "http://opentelemetry-collector-logs.telemetry.svc.cluster.local:4317");
    assert.equal(log.body, `"%REQ(:METHOD)% %REQ(X-ENVOY-ORIGINAL-PATH?:PATH)% %RESPONSE_CODE% "%REQ(:AUTHORITY)%" "%UPSTREAM_CLUSTER%"'`);
    const parsed = parseEnvoyFormat(log.body!);
    assert.deepEqual(parsed.errors, []);
    assert.deepEqual(
      parsed.parts.filter((p) => p.kind !== "literal"),
      [
        { kind: "requestHeader", header: ":method", fallback: undefined, withoutQuery: false, maxLength: undefined },
        { kind: "requestHeader", header: "x-envoy-original-path", fallback: ":path", withoutQuery: false, maxLength: undefined },
        { kind: "operator", name: "RESPONSE_CODE", maxLength: undefined },
        { kind: "requestHeader", header: ":authority", fallback: undefined, withoutQuery: false, maxLength: undefined },
        { kind: "operator", name: "UPSTREAM_CLUSTER", maxLength: undefined },
      ],
    );

    assert.equal(t.tracing?.enabled, true);
    assert.equal(t.tracing?.serviceName, "http");
    assert.equal(t.tracing?.provider?.endpoint, "http://opentelemetry-collector-traces.telemetry.svc.cluster.local:4317");
    assert.equal(t.tracing?.upstreamSpans, true);
    assert.equal(t.tracing?.sampling, undefined, "no sampling fields: OTEL_TRACES_SAMPLER decides");
    // Two policies on one gateway, each setting a different section: no conflict.
    assert.ok(!warnings(result).some((w) => w.includes("already set by")));
  });

  test("each grant admits only its own collector", () => {
    const result = load(logging, tracing, logsGrant, gateway("http", "kgateway-system"));
    assert.equal(result.config, undefined);
    const errors = result.diagnostics.filter((d) => d.severity === "error").map(formatDiagnostic);
    assert.equal(errors.length, 1);
    assert.match(errors[0]!, /reference to Service telemetry\/opentelemetry-collector-traces crosses namespaces/);
  });
});
