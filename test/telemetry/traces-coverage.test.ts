// Issue 3 behaviours the other trace tests leave out, each end to end through the proxy to a
// real upstream and a receiver decoding with the official protos: url.full credentials,
// TelemetryPolicy custom attributes (Header, Metadata keys) and tracing modes, kgateway
// `environment` attributes and clientSampling, every Downward API resource attribute on all
// three signals, and the console span exporter.
import { test } from "node:test";
import assert from "node:assert/strict";
import { sanitizeFullUrl, sanitizeUrlHeader } from "../../src/telemetry/trace/attributes.ts";
import { httpRequest, startGateway } from "../support/gateway-process.ts";
import { startOtlpReceiver, type ReceivedSpan } from "../support/otlp-receiver.ts";
import { gatewayYaml, get, startTracedGateway, startUpstream, tracingPolicyYaml } from "./harness.ts";
import { startRig } from "./rig.ts";

const FAST = { OTEL_BSP_SCHEDULE_DELAY: "20", OTEL_BLRP_SCHEDULE_DELAY: "20", OTEL_METRICS_EXPORTER: "none", OTEL_LOGS_EXPORTER: "none" };
const SERVER = 2;

/** The sampled bit of a traceparent's flags (the random bit, 0x02, may be set too). */
function sampledBit(traceparent: string | string[] | undefined): boolean {
  const flags = String(traceparent ?? "").split("-")[3];
  assert.match(flags ?? "", /^[0-9a-f]{2}$/, `a traceparent with flags: ${String(traceparent)}`);
  return (parseInt(flags!, 16) & 1) === 1;
}
const CLIENT = 3;

test("sanitizeFullUrl: userinfo becomes REDACTED:REDACTED, the semconv's sensitive query values are redacted, nothing else changes", () => {
  const cases: Array<[string, string]> = [
    ["http://user:pass@example.com:8080/p?q=1", "http://REDACTED:REDACTED@example.com:8080/p?q=1"],
    ["https://user@example.com/", "https://REDACTED:REDACTED@example.com/"],
    ["http://a:b@c@example.com/x", "http://REDACTED:REDACTED@example.com/x"],
    ["http://user:pass@example.com", "http://REDACTED:REDACTED@example.com"],
    ["http://user:pass@example.com?sig=abc", "http://REDACTED:REDACTED@example.com?sig=REDACTED"],
    ["http://example.com/p@q/r?next=http://u:p@other/", "http://example.com/p@q/r?next=http://u:p@other/"],
    ["http://example.com/x?AWSAccessKeyId=k&Signature=s&keep=1&sig=t&X-Goog-Signature=g#frag", "http://example.com/x?AWSAccessKeyId=REDACTED&Signature=REDACTED&keep=1&sig=REDACTED&X-Goog-Signature=REDACTED#frag"],
    ["http://example.com/x?signature=lower&Sig=upper", "http://example.com/x?signature=lower&Sig=upper"],
    [
      "https://bucket.s3.example/k?X-Amz-Algorithm=AWS4-HMAC-SHA256&X-Amz-Credential=AKIA%2F20261204&X-Amz-Security-Token=tok&X-Amz-Signature=f00",
      "https://bucket.s3.example/k?X-Amz-Algorithm=AWS4-HMAC-SHA256&X-Amz-Credential=REDACTED&X-Amz-Security-Token=REDACTED&X-Amz-Signature=REDACTED",
    ],
    ["http://example.com/x#user:pass@frag", "http://example.com/x#user:pass@frag"],
    // A name is compared as the application reads it: percent-decoded.
    ["http://example.com/x?si%67=t&X-Amz-%53ignature=f00&k%3D=1&q=%41&bad%zz=2", "http://example.com/x?si%67=REDACTED&X-Amz-%53ignature=REDACTED&k%3D=1&q=%41&bad%zz=2"],
    ["http://example.com/plain", "http://example.com/plain"],
  ];
  for (const [input, expected] of cases) assert.equal(sanitizeFullUrl(input), expected, input);
});

test("URL-valued headers: absolute URLs, network-path references and targets lose userinfo and sensitive query values", () => {
  assert.equal(sanitizeUrlHeader("//alice:pw@cdn.example/x?X-Amz-Signature=abc&k=1"), "//REDACTED:REDACTED@cdn.example/x?X-Amz-Signature=REDACTED&k=1");
  assert.equal(sanitizeUrlHeader("https://alice:pw@cdn.example/x"), "https://REDACTED:REDACTED@cdn.example/x");
  assert.equal(sanitizeUrlHeader("/old/x?sig=s&k=2"), "/old/x?sig=REDACTED&k=2");
  assert.equal(sanitizeUrlHeader("/plain"), "/plain");
  assert.equal(sanitizeUrlHeader("/@scope/pkg"), "/@scope/pkg");
  // An OAuth implicit-grant redirect: the token is in the fragment.
  assert.equal(sanitizeUrlHeader("https://app.example/cb#access_token=SECRET&token_type=bearer"), "https://app.example/cb#access_token=REDACTED&token_type=bearer");
  assert.equal(sanitizeUrlHeader("https://app.example/doc#section-2"), "https://app.example/doc#section-2");
});

test("URL-valued headers: userinfo goes wherever a browser would read an authority (backslashes, missing or extra slashes)", () => {
  // (Against a base of its own scheme `https:u:pw@h` is a relative path; the plain-http request's base shows the worst case.)
  const base = "http://base.example/";
  // [value, sanitised, the password a WHATWG parser (browsers, Node, undici) reads in the value]
  const cases: [string, string, string][] = [
    ["/\\alice:pw@cdn.example/x", "/\\REDACTED:REDACTED@cdn.example/x", "pw"],
    ["\\\\alice:pw@cdn.example/x", "\\\\REDACTED:REDACTED@cdn.example/x", "pw"],
    ["\\/alice:pw@cdn.example", "\\/REDACTED:REDACTED@cdn.example", "pw"],
    ["///alice:p@ss@cdn.example/a@b", "///REDACTED:REDACTED@cdn.example/a@b", "p%40ss"],
    ["https:\\\\alice:pw@cdn.example\\x", "https:\\\\REDACTED:REDACTED@cdn.example\\x", "pw"],
    ["HTTPS:alice:pw@cdn.example/x?sig=s", "HTTPS:REDACTED:REDACTED@cdn.example/x?sig=REDACTED", "pw"],
    ["wss:///alice:pw@cdn.example", "wss:///REDACTED:REDACTED@cdn.example", "pw"],
    ["custom://alice:pw@host/x", "custom://REDACTED:REDACTED@host/x", "pw"],
    // A special URL's authority ends at a backslash, another scheme's does not.
    ["https://cdn.example\\@x", "https://cdn.example\\@x", ""],
    ["custom://a\\b:pw@host", "custom://REDACTED:REDACTED@host", "pw"],
    // A URL parser drops tabs wherever they are.
    ["https:/\t/alice:pw@cdn.example/", "https://REDACTED:REDACTED@cdn.example/", "pw"],
    ["ht\ttps://alice:pw@cdn.example/", "https://REDACTED:REDACTED@cdn.example/", "pw"],
  ];
  for (const [value, sanitised, password] of cases) {
    assert.equal(new URL(value, base).password, password, value);
    assert.equal(sanitizeUrlHeader(value), sanitised, value);
    assert.equal(new URL(sanitised, base).password, password === "" ? "" : "REDACTED", sanitised);
  }
});

test("url.full on CLIENT spans keeps the path and ordinary parameters and redacts the semconv's sensitive ones; nothing sensitive is exported", async (t) => {
  const { rx, upstream, gw } = await startRig(t, { transport: "http", env: (rx) => ({ ...FAST, OTEL_LOGS_EXPORTER: "otlp", OTEL_EXPORTER_OTLP_ENDPOINT: rx.url }) });
  assert.equal((await get(gw.url(8080, "/api/rel@x?X-Goog-Signature=g00g&keep=2&AWSAccessKeyId=akid9"))).status, 200);
  const spans = await rx.waitForSpans((s) => s.some((x) => x.kind === CLIENT));
  const logs = await rx.waitForLogs((l) => l.length >= 1);
  const client = spans.find((s) => s.kind === CLIENT)!;
  assert.equal(client.attributes["url.full"], `http://127.0.0.1:${upstream.port}/api/rel@x?X-Goog-Signature=REDACTED&keep=2&AWSAccessKeyId=REDACTED`);
  assert.equal(upstream.seen.length, 1);
  const text = JSON.stringify({ spans, logs }, (_k, v) => (typeof v === "bigint" ? String(v) : v));
  for (const secret of ["g00g", "akid9"]) assert.ok(!text.includes(secret), `${secret} must not be exported`);
});

test("TelemetryPolicy customAttributes: Header and every documented Metadata key on the SERVER span", async (t) => {
  const policy = `apiVersion: gateway.networking.x-k8s.io/v1alpha1
kind: TelemetryPolicy
metadata: {name: attrs, namespace: kgateway-system}
spec:
  targetRefs: [{group: gateway.networking.k8s.io, kind: Gateway, name: http}]
  tracing:
    mode: "On"
    samplingRate: {numerator: 100}
    customAttributes:
    - {name: tenant, type: Header, headerName: X-Tenant}
    - {name: absent.header, type: Header, headerName: X-Not-Sent}
    - {name: md.route, type: Metadata, metadataKey: route}
    - {name: md.rule, type: Metadata, metadataKey: rule}
    - {name: md.backend, type: Metadata, metadataKey: backend}
    - {name: md.gateway, type: Metadata, metadataKey: gateway}
    - {name: md.listener, type: Metadata, metadataKey: listener}
    - {name: md.gateway.name, type: Metadata, metadataKey: gateway.name}
    - {name: md.gateway.namespace, type: Metadata, metadataKey: gateway.namespace}
    - {name: md.route.name, type: Metadata, metadataKey: route.name}
    - {name: md.route.namespace, type: Metadata, metadataKey: route.namespace}
    - {name: md.alias.rule, type: Metadata, metadataKey: tollgate.rule.name}
    - {name: md.alias.backend, type: Metadata, metadataKey: tollgate.backend.name}
`;
  const rules = (upstreamPort: number) => `  - name: api
    matches:
    - path: {type: PathPrefix, value: /api}
    backendRefs:
    - {name: upstream, kind: Backend, group: gateway.tollgate.dev, port: ${upstreamPort}}`;
  const { rx, gw } = await startRig(t, {
    transport: "http",
    yaml: (upstreamPort) => gatewayYaml({ upstreamPort, rules: rules(upstreamPort), extra: policy }),
    env: (rx) => ({ ...FAST, OTEL_EXPORTER_OTLP_ENDPOINT: rx.url }),
  });
  assert.equal((await get(gw.url(8080, "/api/x"), { "x-tenant": "acme" })).status, 200);
  const spans = await rx.waitForSpans((s) => s.some((x) => x.kind === SERVER));
  const server = spans.find((s) => s.kind === SERVER)!;
  assert.equal(server.attributes["tenant"], "acme");
  assert.ok(!("absent.header" in server.attributes), "a header not sent adds no attribute");
  assert.equal(server.attributes["md.route"], "kgateway-system/httpbin");
  assert.equal(server.attributes["md.rule"], "api");
  assert.equal(server.attributes["md.backend"], "kgateway-system/upstream");
  assert.equal(server.attributes["md.gateway"], "kgateway-system/http");
  assert.equal(server.attributes["md.listener"], "http");
  assert.equal(server.attributes["md.gateway.name"], "http");
  assert.equal(server.attributes["md.gateway.namespace"], "kgateway-system");
  assert.equal(server.attributes["md.route.name"], "httpbin");
  assert.equal(server.attributes["md.route.namespace"], "kgateway-system");
  assert.equal(server.attributes["md.alias.rule"], "api");
  assert.equal(server.attributes["md.alias.backend"], "kgateway-system/upstream");
});

test("kgateway tracing attributes from the environment: the variable's value, else defaultValue, else nothing", async (t) => {
  const tracing = `    attributes:
    - {name: deploy.region, environment: {name: TG_TEST_REGION}}
    - {name: deploy.zone, environment: {name: TG_TEST_ZONE_UNSET, defaultValue: zone-default}}
    - {name: deploy.rack, environment: {name: TG_TEST_RACK_UNSET}}
`;
  const { rx, gw } = await startRig(t, {
    transport: "grpc",
    yaml: (upstreamPort, rx) => gatewayYaml({ upstreamPort, extra: tracingPolicyYaml(rx.port, tracing) }),
    env: () => ({ ...FAST, TG_TEST_REGION: "eu-west-9" }),
  });
  assert.equal((await get(gw.url(8080, "/api/x"))).status, 200);
  const spans = await rx.waitForSpans((s) => s.some((x) => x.kind === SERVER));
  const server = spans.find((s) => s.kind === SERVER)!;
  assert.equal(server.attributes["deploy.region"], "eu-west-9");
  assert.equal(server.attributes["deploy.zone"], "zone-default");
  assert.ok(!("deploy.rack" in server.attributes));
});

test("clientSampling 100 with randomSampling 0: x-client-trace-id forces sampling, requests without it are not sampled", async (t) => {
  const { rx, upstream, gw } = await startRig(t, {
    transport: "grpc",
    yaml: (upstreamPort, rx) => gatewayYaml({ upstreamPort, extra: tracingPolicyYaml(rx.port, "    randomSampling: 0\n    clientSampling: 100\n") }),
    env: () => FAST,
  });
  const N = 6;
  for (let i = 0; i < N; i++) {
    assert.equal((await get(gw.url(8080, `/api/forced-${i}`), { "x-client-trace-id": `client-${i}` })).status, 200);
    assert.equal((await get(gw.url(8080, `/api/random-${i}`))).status, 200);
  }
  const sampled = upstream.seen.map((h) => sampledBit(h.traceparent));
  assert.deepEqual(sampled, Array.from({ length: N }, () => [true, false]).flat(), "the upstream sees sampled exactly for the forced requests");
  await rx.waitForSpans((s) => s.filter((x) => x.kind === SERVER).length >= N);
  await gw.telemetry.flush(2000);
  const servers = rx.spans.filter((s) => s.kind === SERVER);
  assert.deepEqual(servers.map((s) => String(s.attributes["url.path"])).sort(), Array.from({ length: N }, (_, i) => `/api/forced-${i}`).sort());
});

async function spansForMode(mode: string): Promise<{ spans: ReceivedSpan[]; traceparent: string | string[] | undefined }> {
  const rx = await startOtlpReceiver("http");
  const upstream = await startUpstream();
  const policy = `apiVersion: gateway.networking.x-k8s.io/v1alpha1
kind: TelemetryPolicy
metadata: {name: tracing-mode, namespace: kgateway-system}
spec:
  targetRefs: [{group: gateway.networking.k8s.io, kind: Gateway, name: http}]
  tracing:
    mode: "${mode}"
    samplingRate: {numerator: 100}
`;
  const gw = await startTracedGateway(gatewayYaml({ upstreamPort: upstream.port, extra: policy }), { ...FAST, OTEL_EXPORTER_OTLP_ENDPOINT: rx.url });
  try {
    for (let i = 0; i < 3; i++) assert.equal((await get(gw.url(8080, `/api/${mode}-${i}`))).status, 200);
    await gw.telemetry.flush(2000);
    return { spans: rx.spans.slice(), traceparent: upstream.seen[0]?.traceparent };
  } finally {
    await gw.close();
    await upstream.close();
    await rx.close();
  }
}

test("TelemetryPolicy tracing.mode: On and Enabled export spans; Off and Disabled export none", async () => {
  for (const mode of ["On", "Enabled"]) {
    const { spans, traceparent } = await spansForMode(mode);
    assert.equal(spans.filter((s) => s.kind === SERVER).length, 3, `mode ${mode}: one SERVER span per request`);
    assert.equal(sampledBit(traceparent), true, `mode ${mode}: the upstream sees a sampled trace`);
  }
  for (const mode of ["Off", "Disabled"]) {
    const { spans } = await spansForMode(mode);
    assert.equal(spans.length, 0, `mode ${mode}: no span exported`);
  }
});

test("TelemetryPolicy with only parentBasedSampling: OTEL_TRACES_SAMPLER still decides the roots", async (t) => {
  const policy = `apiVersion: gateway.networking.x-k8s.io/v1alpha1
kind: TelemetryPolicy
metadata: {name: parent-only, namespace: kgateway-system}
spec:
  targetRefs: [{group: gateway.networking.k8s.io, kind: Gateway, name: http}]
  tracing:
    parentBasedSampling: {mode: "On", samplingRate: {numerator: 100}}
`;
  const { rx, upstream, gw } = await startRig(t, {
    transport: "http",
    yaml: (upstreamPort) => gatewayYaml({ upstreamPort, extra: policy }),
    env: (rx) => ({ ...FAST, OTEL_TRACES_SAMPLER: "always_off", OTEL_EXPORTER_OTLP_ENDPOINT: rx.url }),
  });
  for (let i = 0; i < 3; i++) assert.equal((await get(gw.url(8080, `/api/root-${i}`))).status, 200);
  const parentTrace = "4bf92f3577b34da6a3ce929d0e0e4736";
  assert.equal((await get(gw.url(8080, "/api/child"), { traceparent: `00-${parentTrace}-00f067aa0ba902b7-01` })).status, 200);
  await rx.waitForSpans((s) => s.some((x) => x.kind === SERVER));
  await gw.telemetry.flush(2000);
  const servers = rx.spans.filter((s) => s.kind === SERVER);
  assert.deepEqual(servers.map((s) => String(s.attributes["url.path"])), ["/api/child"], "always_off keeps no root; the sampled parent is kept at 100%");
  assert.equal(servers[0]!.traceId, parentTrace);
  assert.deepEqual(upstream.seen.slice(0, 3).map((r) => sampledBit(r.traceparent)), [false, false, false], "roots reach the upstream unsampled");
});

test("every Downward API variable lands on the resource, identically on traces, logs and metrics", async (t) => {
  const k8s = {
    K8S_POD_NAME: "tollgate-7d9f-abcde",
    K8S_POD_UID: "0b1c2d3e-aaaa-bbbb-cccc-1234567890ab",
    K8S_NAMESPACE_NAME: "edge",
    K8S_NODE_NAME: "node-17",
    K8S_CONTAINER_NAME: "gateway",
    K8S_DEPLOYMENT_NAME: "tollgate",
    K8S_CLUSTER_NAME: "prod-eu",
  };
  const { rx, gw } = await startRig(t, {
    transport: "http",
    env: (rx) => ({
      ...FAST,
      OTEL_LOGS_EXPORTER: "otlp",
      OTEL_METRICS_EXPORTER: "otlp",
      OTEL_METRIC_EXPORT_INTERVAL: "100",
      OTEL_EXPORTER_OTLP_ENDPOINT: rx.url,
      ...k8s,
    }),
  });
  assert.equal((await get(gw.url(8080, "/api/x"))).status, 200);
  const [span] = await rx.waitForSpans((s) => s.length >= 1);
  const [log] = await rx.waitForLogs((l) => l.length >= 1);
  const [metric] = await rx.waitForMetrics((m) => m.length >= 1);
  const expected = {
    "k8s.pod.name": k8s.K8S_POD_NAME,
    "k8s.pod.uid": k8s.K8S_POD_UID,
    "k8s.namespace.name": k8s.K8S_NAMESPACE_NAME,
    "k8s.node.name": k8s.K8S_NODE_NAME,
    "k8s.container.name": k8s.K8S_CONTAINER_NAME,
    "k8s.deployment.name": k8s.K8S_DEPLOYMENT_NAME,
    "k8s.cluster.name": k8s.K8S_CLUSTER_NAME,
  };
  for (const [signal, resource] of [["traces", span!.resource], ["logs", log!.resource], ["metrics", metric!.resource]] as const) {
    const k8sAttrs = Object.fromEntries(Object.entries(resource.attributes).filter(([k]) => k.startsWith("k8s.")));
    assert.deepEqual(k8sAttrs, expected, `${signal}: exactly the seven k8s.* attributes`);
    assert.equal(resource.attributes["service.instance.id"], k8s.K8S_POD_UID, `${signal}: the pod uid is the instance id`);
  }
  assert.deepEqual(log!.resource, span!.resource);
  assert.deepEqual(metric!.resource, span!.resource);
});

test("OTEL_TRACES_EXPORTER=console: spans go to the process's stdout, not to the configured OTLP endpoint", async (t) => {
  const rx = await startOtlpReceiver("grpc");
  t.after(() => rx.close());
  const upstream = await startUpstream();
  t.after(() => upstream.close());
  const gw = await startGateway({
    config: gatewayYaml({ upstreamPort: upstream.port }),
    env: { OTEL_TRACES_EXPORTER: "console", OTEL_LOGS_EXPORTER: "none", OTEL_METRICS_EXPORTER: "none", OTEL_BSP_SCHEDULE_DELAY: "20", OTEL_EXPORTER_OTLP_ENDPOINT: rx.url },
  });
  t.after(() => gw.stop());
  assert.equal((await httpRequest(gw.url(8080, "/api/console"))).status, 200);
  const traceId = String(upstream.seen[0]!.traceparent).split("-")[1]!;
  const deadline = Date.now() + 15_000;
  while (!gw.stdout().includes(traceId) && Date.now() < deadline) await new Promise((r) => setTimeout(r, 25));
  const out = gw.stdout();
  assert.ok(out.includes(`traceId: '${traceId}'`), `the trace ${traceId} is printed:\n${out.slice(0, 2000)}`);
  assert.ok(out.includes("name: 'GET /api/*'"), "the SERVER span is printed by name");
  assert.ok(out.includes("name: 'GET'"), "the CLIENT span is printed by name");
  assert.ok(!gw.stderr().includes(traceId), "spans stay off the stderr log");
  assert.equal(rx.spans.length, 0, "console replaces OTLP");
});

test("the provider's AlwaysOn sampler (kgateway v2.1) traces every request: over randomSampling 0, a route's percentages and an unsampled parent", async (t) => {
  // A route's own percentages do not override it either: Envoy's tracer asks the sampler alone.
  const routePercentages = `---
apiVersion: gateway.kgateway.dev/v1alpha1
kind: TrafficPolicy
metadata: {name: route-sampling, namespace: kgateway-system}
spec:
  targetRefs: [{group: gateway.networking.k8s.io, kind: HTTPRoute, name: httpbin}]
  tracing: {randomSampling: 0, overallSampling: 0}
`;
  const { rx, upstream, gw } = await startRig(t, {
    transport: "grpc",
    yaml: (upstreamPort, rx) => gatewayYaml({ upstreamPort, extra: tracingPolicyYaml(rx.port, "        sampler: {alwaysOnConfig: {}}\n    randomSampling: 0\n") + routePercentages }),
    env: () => ({ ...FAST, OTEL_TRACES_SAMPLER: "always_off" }),
  });
  assert.equal((await get(gw.url(8080, "/api/root"))).status, 200);
  assert.equal((await get(gw.url(8080, "/api/child"), { traceparent: "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-00" })).status, 200);
  assert.deepEqual(upstream.seen.map((h) => sampledBit(h.traceparent)), [true, true]);
  const spans = await rx.waitForSpans((s) => s.filter((x) => x.kind === SERVER).length >= 2);
  const servers = spans.filter((s) => s.kind === SERVER);
  assert.deepEqual(servers.map((s) => String(s.attributes["url.path"])).sort(), ["/api/child", "/api/root"]);
  // The unsampled parent's trace goes on, sampled.
  assert.ok(servers.some((s) => s.traceId === "4bf92f3577b34da6a3ce929d0e0e4736"));
});
