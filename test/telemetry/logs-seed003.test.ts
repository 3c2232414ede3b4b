// Seed 003's Envoy-based access-log setup, loaded verbatim (its Gateway, the
// `logging-policy` HTTPListenerPolicy and the ReferenceGrant), served end to end: the test
// adds only what the seed leaves to the reader (an HTTPRoute, an upstream) and a Backend
// named like the seed's collector Service, pointing at an in-process OTLP/gRPC receiver.
import { test } from "node:test";
import assert from "node:assert/strict";
import { snippetWith } from "../config/seed-snippets.ts";
import { startOtlpReceiver } from "../support/otlp-receiver.ts";
import { collectorBackend, get, startTracedGateway, startUpstream } from "./harness.ts";

const S3 = "003-agentgateway-otel-readme.md";

function route(upstreamPort: number): string {
  return `apiVersion: gateway.networking.k8s.io/v1
kind: HTTPRoute
metadata: {name: web, namespace: kgateway}
spec:
  parentRefs: [{name: http-gateway, namespace: kgateway}]
  rules:
  - matches: [{path: {type: PathPrefix, value: /}}]
    backendRefs: [{name: web, kind: Backend, group: gateway.tollgate.dev, port: ${upstreamPort}}]
---
apiVersion: gateway.tollgate.dev/v1alpha1
kind: Backend
metadata: {name: web, namespace: kgateway}
spec:
  endpoints: [{ip: {address: 127.0.0.1, port: ${upstreamPort}}}]
`;
}

test("seed 003 logging-policy verbatim: every request is one OTLP LogRecord at otel-collector-collector.monitoring, scoped by logName", async (t) => {
  const gateway = snippetWith(S3, "kind: Gateway\napiVersion");
  const policy = snippetWith(S3, "name: logging-policy");
  const grant = snippetWith(S3, "kind: ReferenceGrant");
  const rx = await startOtlpReceiver("grpc");
  t.after(() => rx.close());
  const upstream = await startUpstream();
  t.after(() => upstream.close());
  const yaml = [gateway, policy, grant, route(upstream.port), collectorBackend("otel-collector-collector", "monitoring", rx.port)].join("---\n");
  const gw = await startTracedGateway(yaml, { OTEL_BLRP_SCHEDULE_DELAY: "20", OTEL_TRACES_EXPORTER: "none" });
  t.after(() => gw.close());
  assert.equal(gw.plan.config.gateways[0]!.ref.name, "http-gateway");

  const sent = ["/", "/status/404", "/api/items?id=7"];
  const statuses = [200, 404, 200];
  for (let i = 0; i < sent.length; i++) {
    assert.equal((await get(gw.url(8080, sent[i]!), { "x-status": String(statuses[i]), "user-agent": "seed-003" })).status, statuses[i]);
  }
  const logs = await rx.waitForLogs((l) => l.length >= sent.length);
  assert.equal(logs.length, sent.length, "one record per request");
  assert.deepEqual(new Set(rx.requests.filter((r) => r.signal === "logs").map((r) => r.path)), new Set(["/opentelemetry.proto.collector.logs.v1.LogsService/Export"]));
  for (const log of logs) {
    assert.equal(log.scope.name, "http-gateway-access-logs", "logName is the InstrumentationScope name, as Envoy's OpenTelemetry access logger reports it");
    assert.equal(log.attributes["tollgate.log.name"], "http-gateway-access-logs");
    assert.equal(log.attributes["tollgate.gateway.name"], "kgateway/http-gateway");
    assert.equal(log.attributes["tollgate.route.name"], "kgateway/web");
    assert.equal(log.eventName, "tollgate.access");
  }
  assert.deepEqual(logs.map((l) => `${l.attributes["url.path"]} ${l.attributes["http.response.status_code"]} ${l.severityText}`), ["/ 200 INFO", "/status/404 404 WARN", "/api/items 200 INFO"]);
  assert.equal(logs[2]!.attributes["url.query"], "id=7");
  // No body in the seed: Envoy's default format. X-Forwarded-For is the one the gateway
  // forwarded (the client's address), as Envoy's %REQ()% reads its rewritten headers; so is
  // X-Request-Id, which the gateway generated as Envoy would (the client sent none).
  const requestId = String(upstream.seen[2]!["x-request-id"]);
  assert.match(requestId, /^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/);
  assert.match(String(logs[2]!.body), new RegExp(`^\\[\\d{4}-\\d\\d-\\d\\dT\\d\\d:\\d\\d:\\d\\d\\.\\d{3}Z\\] "GET /api/items\\?id=7 HTTP/1\\.1" 200 - 0 11 \\d+ \\d+ "127\\.0\\.0\\.1" "seed-003" "${requestId}" "127\\.0\\.0\\.1:\\d+" "127\\.0\\.0\\.1:\\d+"$`));
  assert.equal(logs[0]!.resource.attributes["service.name"], "http-gateway.kgateway");
});
