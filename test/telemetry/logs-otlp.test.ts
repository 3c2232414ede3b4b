// Access LogRecords end to end: real requests through the proxy to a real upstream, the
// official OTLP exporters, an in-process receiver decoding with the official protos.
import { test } from "node:test";
import assert from "node:assert/strict";
import { snippetWith } from "../config/seed-snippets.ts";
import { startOtlpReceiver } from "../support/otlp-receiver.ts";
import { accessLogMatchPolicyYaml, collectorBackend, gatewayYaml, get, otelAccessLogPolicyYaml, startTracedGateway, startUpstream } from "./harness.ts";
import { startRig } from "./rig.ts";
import { isRegisteredAttribute, TELEMETRY_REGISTRY } from "../../src/telemetry/registry.ts";

const FAST = { OTEL_BSP_SCHEDULE_DELAY: "20", OTEL_BLRP_SCHEDULE_DELAY: "20" };

test("one LogRecord per request, ids and flags equal the SERVER span's, severity by status, documented EventName", async (t) => {
  const { rx, upstream, gw } = await startRig(t, {
    transport: "grpc",
    env: (rx) => ({ ...FAST, OTEL_EXPORTER_OTLP_ENDPOINT: rx.url, OTEL_EXPORTER_OTLP_PROTOCOL: "grpc" }),
  });

  assert.equal((await get(gw.url(8080, "/api/ok"), { "user-agent": "logs-test" })).status, 200);
  assert.equal((await get(gw.url(8080, "/api/teapot"), { "x-status": "418" })).status, 418);
  assert.equal((await get(gw.url(8080, "/api/broken"), { "x-status": "503" })).status, 503);
  const logs = await rx.waitForLogs((l) => l.length >= 3);
  const spans = await rx.waitForSpans((s) => s.filter((x) => x.kind === 2).length >= 3);
  assert.equal(logs.length, 3);
  for (const log of logs) {
    const server = spans.find((s) => s.kind === 2 && s.spanId === log.spanId);
    assert.ok(server, `the log's span id ${log.spanId} is a SERVER span`);
    assert.equal(log.traceId, server.traceId);
    assert.equal(log.flags & 0xff, server.flags & 0xff);
    assert.equal(log.eventName, "tollgate.access");
    assert.equal(log.scope.name, "tollgate", "no logName: the Tollgate scope");
    assert.ok(log.observedTimeUnixNano >= log.timeUnixNano);
    assert.equal(log.timeUnixNano, server.startTimeUnixNano, "Timestamp is the request start");
    assert.equal(log.attributes["url.path"], server.attributes["url.path"]);
    assert.equal(log.attributes["http.route"], "/api/*");
    assert.equal(log.attributes["tollgate.backend.name"], server.attributes["tollgate.backend.name"]);
    assert.deepEqual(log.resource, server.resource);
    const entry = TELEMETRY_REGISTRY.logRecords.find((e) => e.eventName === log.eventName)!;
    for (const k of Object.keys(log.attributes)) assert.ok(entry.attributes.includes(k) && isRegisteredAttribute(k, "logs"), `${k} is registered for logs`);
  }
  const byPath = new Map(logs.map((l) => [l.attributes["url.path"], l]));
  assert.deepEqual([byPath.get("/api/ok")!.severityNumber, byPath.get("/api/ok")!.severityText], [9, "INFO"]);
  assert.deepEqual([byPath.get("/api/teapot")!.severityNumber, byPath.get("/api/teapot")!.severityText], [13, "WARN"]);
  assert.deepEqual([byPath.get("/api/broken")!.severityNumber, byPath.get("/api/broken")!.severityText], [17, "ERROR"]);
  assert.equal(byPath.get("/api/ok")!.attributes["user_agent.original"], "logs-test");
  assert.equal(byPath.get("/api/ok")!.attributes["http.response.body.size"], "upstream ok".length);
});

test("unsampled requests still log the SERVER span's trace id, with the sampled flag clear", async (t) => {
  const { rx, upstream, gw } = await startRig(t, {
    transport: "http",
    env: (rx) => ({ ...FAST, OTEL_EXPORTER_OTLP_ENDPOINT: rx.url, OTEL_TRACES_SAMPLER: "always_off" }),
  });
  await get(gw.url(8080, "/api/x"));
  const [log] = await rx.waitForLogs((l) => l.length >= 1);
  const tp = String(upstream.seen[0]!.traceparent);
  assert.equal(log!.traceId, tp.split("-")[1], "the trace the upstream continued");
  assert.match(log!.spanId, /^[0-9a-f]{16}$/);
  assert.equal(log!.flags & 1, 0);
  assert.equal(rx.spans.length, 0);
});

test("seed 004 logging-policy verbatim: OTLP to the referenced collector, Envoy body, logName", async (t) => {
  const policy = snippetWith("004-kgateway-otel-stack.md", "name: logging-policy");
  const grant = snippetWith("004-kgateway-otel-stack.md", "name: allow-otel-collector-logs-access");
  const rx = await startOtlpReceiver("grpc");
  t.after(() => rx.close());
  const upstream = await startUpstream();
  t.after(() => upstream.close());
  const yaml = gatewayYaml({ upstreamPort: upstream.port, extra: [policy, grant, collectorBackend("opentelemetry-collector-logs", "telemetry", rx.port)].join("---\n") });
  const gw = await startTracedGateway(yaml, { ...FAST, OTEL_TRACES_EXPORTER: "none" });
  t.after(() => gw.close());
  for (let i = 0; i < 5; i++) await get(gw.url(8080, "/api/status/418"), { "x-status": "418", host: "www.example.com:8080" });
  const logs = await rx.waitForLogs((l) => l.length >= 5);
  assert.equal(logs.filter((l) => String(l.body).includes("/api/status/418")).length, 5, "the count matches the requests sent");
  const backend = gw.plan.rules[0]!.backends.entries[0]!.backend.displayName;
  assert.equal(logs[0]!.body, `"GET /api/status/418 418 "www.example.com:8080" "${backend}"'`);
  assert.equal(logs[0]!.attributes["tollgate.log.name"], "http-gateway-access-logs");
  assert.equal(logs[0]!.scope.name, "http-gateway-access-logs", "logName is the scope name, as in Envoy");
});

test("Authorization never appears unless opted in: body operators redact, header fields need allowSensitive", async (t) => {
  const rxg = await startOtlpReceiver("grpc");
  t.after(() => rxg.close());
  const upstream = await startUpstream();
  t.after(() => upstream.close());
  const headers = { authorization: "Bearer s3cr3t", cookie: "session=abc", "proxy-authorization": "Basic eA==", "user-agent": "ua1" };
  const body = `      body: "auth=%REQ(Authorization)% cookie=%REQ(Cookie)% proxy=%REQ(Proxy-Authorization)% ua=%REQ(User-Agent)%"\n`;
  const yaml = gatewayYaml({ upstreamPort: upstream.port, extra: otelAccessLogPolicyYaml("redact", rxg.port, body) });
  const gw = await startTracedGateway(yaml, { ...FAST, OTEL_TRACES_EXPORTER: "none" });
  t.after(() => gw.close());
  await get(gw.url(8080, "/api/x"), headers);
  const [log] = await rxg.waitForLogs((l) => l.length >= 1);
  assert.equal(log!.body, "auth=REDACTED cookie=REDACTED proxy=REDACTED ua=ua1");
  const text = JSON.stringify(log, (_k, v) => (typeof v === "bigint" ? String(v) : v));
  for (const secret of ["s3cr3t", "session=abc", "Basic eA=="]) assert.ok(!text.includes(secret), `${secret} leaked`);

  // Opt-in by env: the named header renders.
  const gw2 = await startTracedGateway(yaml, { ...FAST, OTEL_TRACES_EXPORTER: "none", TOLLGATE_LOGS_ALLOW_SENSITIVE_HEADERS: "authorization" });
  t.after(() => gw2.close());
  await get(gw2.url(8080, "/api/y"), headers);
  const logs = await rxg.waitForLogs((l) => l.length >= 2);
  assert.equal(logs[1]!.body, "auth=Bearer s3cr3t cookie=REDACTED proxy=REDACTED ua=ua1");
});

test("TelemetryPolicy accessLogs: CEL matches filters, Standard/Header/Literal/Metadata fields", async (t) => {
  const rx = await startOtlpReceiver("http");
  t.after(() => rx.close());
  const upstream = await startUpstream();
  t.after(() => upstream.close());
  const policy = accessLogMatchPolicyYaml(
    'response.code >= 500 || request.headers["x-debug"] == "1"',
    `    fields:
    - {name: start_time, type: Standard, standardValue: RequestStartTime}
    - {name: response_code, type: Standard, standardValue: ResponseCode}
    - {name: x-token-usage, type: Header, headerName: X-Token-Usage}
    - {name: env, type: Literal, literalValue: production}
    - {name: route, type: Metadata, metadataKey: route}
    - {name: auth, type: Header, headerName: Authorization, allowSensitive: true}
`,
  );
  const gw = await startTracedGateway(gatewayYaml({ upstreamPort: upstream.port, extra: policy }), { ...FAST, OTEL_EXPORTER_OTLP_ENDPOINT: rx.url });
  t.after(() => gw.close());
  await get(gw.url(8080, "/api/fine"));
  await get(gw.url(8080, "/api/fail"), { "x-status": "502", "x-token-usage": "42" });
  await get(gw.url(8080, "/api/debug"), { "x-debug": "1", authorization: "Bearer opted-in" });
  await rx.waitForSpans((s) => s.filter((x) => x.kind === 2).length >= 3);
  await gw.telemetry.flush(2000);
  const logs = await rx.waitForLogs((l) => l.length >= 2);
  assert.deepEqual(logs.map((l) => l.attributes["url.path"]).sort(), ["/api/debug", "/api/fail"], "the 200 is filtered out");
  const fail = logs.find((l) => l.attributes["url.path"] === "/api/fail")!;
  assert.equal(fail.attributes["response_code"], 502);
  assert.equal(fail.attributes["x-token-usage"], "42");
  assert.equal(fail.attributes["env"], "production");
  assert.equal(fail.attributes["route"], "kgateway-system/httpbin");
  assert.match(String(fail.attributes["start_time"]), /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/);
  assert.equal(logs.find((l) => l.attributes["url.path"] === "/api/debug")!.attributes["auth"], "Bearer opted-in", "allowSensitive opts in");
});

test("seed 002 TelemetryPolicy (accessLogs mode Off) loads unchanged and emits no access logs; switched On it logs only the 500", async (t) => {
  const policy = snippetWith("002-gep-telemetry-policy.txt", "kind: TelemetryPolicy");
  const { rx, upstream, gw } = await startRig(t, {
    transport: "http",
    yaml: (upstreamPort) => gatewayYaml({ upstreamPort, gateway: "my-gateway", namespace: "prod-ns", extra: policy }),
    env: (rx) => ({
      ...FAST,
      OTEL_EXPORTER_OTLP_LOGS_ENDPOINT: `${rx.url}/v1/logs`,
    }),
  });
  await get(gw.url(8080, "/api/x"), { "x-status": "500" });
  await gw.telemetry.flush(2000);
  assert.equal(rx.logs.length, 0);
  assert.equal(gw.telemetry.exportedLogRecords(), 0);

  // Positive control: the same policy text with only the access-log mode switched on must
  // reach the same receiver, logging the 500 and not the 200 (`matches: response.code >= 500`).
  // Without it, an export path that silently lost everything would pass the check above.
  const switchedOn = policy.replace(/accessLogs:\n(\s+)mode: "Off"/, 'accessLogs:\n$1mode: "On"');
  assert.notEqual(switchedOn, policy, "the seed's accessLogs mode line was found and switched");
  const gwOn = await startTracedGateway(gatewayYaml({ upstreamPort: upstream.port, gateway: "my-gateway", namespace: "prod-ns", extra: switchedOn }), {
    ...FAST,
    OTEL_EXPORTER_OTLP_LOGS_ENDPOINT: `${rx.url}/v1/logs`,
  });
  t.after(() => gwOn.close());
  assert.equal((await get(gwOn.url(8080, "/api/fine"))).status, 200);
  assert.equal((await get(gwOn.url(8080, "/api/broken"), { "x-status": "500" })).status, 500);
  await gwOn.telemetry.flush(2000);
  const logs = await rx.waitForLogs((l) => l.length >= 1);
  assert.deepEqual(
    logs.map((l) => [l.attributes["url.path"], l.attributes["response_code"]]),
    [["/api/broken", 500]],
    "only the 500 is logged, with the seed's Standard field",
  );
  assert.equal(gwOn.telemetry.exportedLogRecords(), 1);
});

test("an unknown method: the record has http.request.method _OTHER and the method as received, as the SERVER span does", async (t) => {
  const { rx, gw } = await startRig(t, {
    transport: "http",
    env: (rx) => ({ OTEL_BLRP_SCHEDULE_DELAY: "20", OTEL_BSP_SCHEDULE_DELAY: "20", OTEL_LOGS_EXPORTER: "otlp", OTEL_METRICS_EXPORTER: "none", OTEL_EXPORTER_OTLP_ENDPOINT: rx.url, OTEL_INSTRUMENTATION_HTTP_KNOWN_METHODS: "GET,POST,PURGE" }),
  });
  await get(gw.url(8080, "/api/x"), {}, "PUT");
  await get(gw.url(8080, "/api/x"), {}, "PURGE");
  const logs = await rx.waitForLogs((l) => l.length >= 2);
  const spans = await rx.waitForSpans((s) => s.filter((x) => x.kind === 2).length >= 2);
  const put = logs.find((l) => l.attributes["http.request.method_original"] === "PUT");
  assert.ok(put, JSON.stringify(logs.map((l) => l.attributes)));
  assert.equal(put.attributes["http.request.method"], "_OTHER");
  const server = spans.find((s) => s.spanId === put.spanId)!;
  assert.equal(server.attributes["http.request.method_original"], "PUT");
  const purge = logs.find((l) => l.attributes["http.request.method"] === "PURGE")!;
  assert.equal(purge.attributes["http.request.method_original"], undefined, "a known method needs no original");
});
