// kgateway access log filters (Envoy's AccessLogFilter) end to end: one HTTPListenerPolicy
// with an access log per filter, each under its own logName, exported to a real OTLP
// receiver; requests chosen to pass or fail each filter; the records each log emitted are
// the ones its filter keeps.
import { test } from "node:test";
import assert from "node:assert/strict";
import { startOtlpReceiver } from "../support/otlp-receiver.ts";
import { collectorBackend, gatewayYaml, get, startTracedGateway, startUpstream } from "./harness.ts";

/** An OTLP access log named `name` whose body is the request path, kept by `filter` (YAML flow). */
const logEntry = (name: string, filter: string): string => `  - openTelemetry:
      grpcService:
        backendRef: {name: collector, namespace: kgateway-system, port: 4317}
        logName: ${name}
      body: "%REQ(:PATH)%"
    filter: ${filter}
`;

const FILTERS: Record<string, string> = {
  errors: "{statusCodeFilter: {op: GE, value: 500}}",
  exact404: "{statusCodeFilter: {op: EQ, value: 404}}",
  slow: "{durationFilter: {op: GE, value: 250}}",
  debug: "{headerFilter: {header: {name: X-Debug, value: 'on'}}}",
  tenants: "{headerFilter: {header: {type: RegularExpression, name: x-tenant, value: 'team-[a-c]'}}}",
  noRoute: "{responseFlagFilter: {flags: [NR, UF]}}",
  unavailable: "{grpcStatusFilter: {statuses: [UNAVAILABLE]}}",
  notOk: "{grpcStatusFilter: {statuses: [OK], exclude: true}}",
  traced: "{traceableFilter: true}",
  healthy: "{notHealthCheckFilter: true}",
  slowOrDebug: "{orFilter: [{durationFilter: {op: GE, value: 250}}, {headerFilter: {header: {name: x-debug, value: 'on'}}}]}",
  celAnd: "{andFilter: [{statusCodeFilter: {op: LE, value: 299}}, {celFilter: {match: 'request.method == \"POST\"'}}]}",
  // Reading an absent map key is a run-time error in CEL: such a request is not kept, and the failure is reported.
  celFailing: "{orFilter: [{statusCodeFilter: {op: EQ, value: 404}}, {celFilter: {match: 'request.headers[\"x-tenant\"] == \"team-b\"'}}]}",
};

test("each access log keeps the records its kgateway filter holds for", async (t) => {
  const rx = await startOtlpReceiver("grpc");
  t.after(() => rx.close());
  const upstream = await startUpstream((req, res) => {
    if (req.url === "/api/slow") return void setTimeout(() => res.writeHead(200).end("slow"), 300);
    if (req.url === "/api/grpc-ok") return void res.writeHead(200, { "content-type": "application/grpc", "grpc-status": "0" }).end();
    if (req.url === "/api/grpc-unavailable") return void res.writeHead(200, { "content-type": "application/grpc", "grpc-status": "14" }).end();
    res.writeHead(Number(req.headers["x-status"] ?? 200)).end("ok");
  });
  t.after(() => upstream.close());
  const policy = `apiVersion: gateway.kgateway.dev/v1alpha1
kind: HTTPListenerPolicy
metadata: {name: filtered, namespace: kgateway-system}
spec:
  targetRefs: [{group: gateway.networking.k8s.io, kind: Gateway, name: http}]
  accessLog:
${Object.entries(FILTERS).map(([name, filter]) => logEntry(name, filter)).join("")}---
${collectorBackend("collector", "kgateway-system", rx.port)}`;
  // Half the requests are traced: the sampler keeps each with a traceparent flag of 01.
  const gw = await startTracedGateway(gatewayYaml({ upstreamPort: upstream.port, extra: policy }), {
    OTEL_BLRP_SCHEDULE_DELAY: "20",
    OTEL_BSP_SCHEDULE_DELAY: "20",
    OTEL_EXPORTER_OTLP_ENDPOINT: rx.url,
    OTEL_EXPORTER_OTLP_PROTOCOL: "grpc",
    OTEL_METRICS_EXPORTER: "none",
    OTEL_TRACES_SAMPLER: "parentbased_always_off",
  });
  t.after(() => gw.close());

  const sampled = "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01";
  const requests: [string, Record<string, string>, string?][] = [
    ["/api/plain", {}],
    ["/api/fail", { "x-status": "503" }],
    ["/nowhere", {}],
    ["/api/slow", {}],
    ["/api/debugged", { "x-debug": "on" }],
    ["/api/debug-off", { "x-debug": "On" }],
    ["/api/tenant-b", { "x-tenant": "team-b" }],
    ["/api/tenant-z", { "x-tenant": "team-z" }],
    ["/api/grpc-ok", {}],
    ["/api/grpc-unavailable", {}],
    ["/api/traced", { traceparent: sampled }],
    ["/api/posted", {}, "POST"],
  ];
  for (const [path, headers, method] of requests) await get(gw.url(8080, path), headers, method ?? "GET");

  const logs = await rx.waitForLogs((l) => l.some((r) => r.scope.name === "healthy" && r.body === "/api/posted"));
  const kept = (name: string): string[] => logs.filter((r) => r.scope.name === name).map((r) => String(r.body)).sort();
  const all = requests.map(([path]) => path).sort();
  assert.deepEqual(kept("errors"), ["/api/fail"]);
  assert.deepEqual(kept("exact404"), ["/nowhere"]);
  assert.deepEqual(kept("slow"), ["/api/slow"]);
  assert.deepEqual(kept("debug"), ["/api/debugged"], "an exact match is case-sensitive in the value");
  assert.deepEqual(kept("tenants"), ["/api/tenant-b"]);
  assert.deepEqual(kept("noRoute"), ["/nowhere"]);
  // No grpc-status: the HTTP status mapped as Envoy maps it (503 and 404 are UNAVAILABLE and UNIMPLEMENTED, 200 UNKNOWN).
  assert.deepEqual(kept("unavailable"), ["/api/fail", "/api/grpc-unavailable"]);
  assert.deepEqual(kept("notOk"), all.filter((p) => p !== "/api/grpc-ok"));
  assert.deepEqual(kept("traced"), ["/api/traced"]);
  assert.deepEqual(kept("healthy"), all, "no request is a health check");
  assert.deepEqual(kept("slowOrDebug"), ["/api/debugged", "/api/slow"]);
  assert.deepEqual(kept("celAnd"), ["/api/posted"]);
  assert.deepEqual(kept("celFailing"), ["/api/tenant-b", "/nowhere"]);
  const failed = gw.warnings.filter((w) => w.message.startsWith("access-log filter failed to evaluate"));
  assert.equal(failed.length, 1, "once a minute");
  assert.equal(failed[0]!.fields["expression"], 'request.headers["x-tenant"] == "team-b"');
});
