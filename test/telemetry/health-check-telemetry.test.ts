// What a health check (HTTPListenerPolicy healthCheck) leaves in the telemetry, exported to a
// real OTLP receiver: as in Envoy it is not traced, even with a sampled traceparent; it is
// access-logged with Envoy's details and flag unless the log has notHealthCheckFilter; and it
// counts in the HTTP server metrics like any answered request.
import { test } from "node:test";
import assert from "node:assert/strict";
import { startOtlpReceiver } from "../support/otlp-receiver.ts";
import { collectorBackend, gatewayYaml, get, startTracedGateway, startUpstream } from "./harness.ts";

const accessLog = (name: string, filter: string): string => `  - openTelemetry:
      grpcService:
        backendRef: {name: collector, namespace: kgateway-system, port: 4317}
        logName: "${name}"
      body: "%REQ(:PATH)% %RESPONSE_CODE% %RESPONSE_CODE_DETAILS% %RESPONSE_FLAGS%"
${filter}`;

test("a health check is access-logged but not traced, and notHealthCheckFilter leaves it out", async (t) => {
  const rx = await startOtlpReceiver("grpc");
  t.after(() => rx.close());
  const upstream = await startUpstream();
  t.after(() => upstream.close());
  const policy = `apiVersion: gateway.kgateway.dev/v1alpha1
kind: HTTPListenerPolicy
metadata: {name: probes, namespace: kgateway-system}
spec:
  targetRefs: [{group: gateway.networking.k8s.io, kind: Gateway, name: http}]
  healthCheck: {path: /healthz}
  tracing:
    provider:
      openTelemetry:
        grpcService:
          backendRef: {name: collector, namespace: kgateway-system, port: 4317}
  accessLog:
${accessLog("everything", "")}${accessLog("requests", "    filter: {notHealthCheckFilter: true}\n")}${accessLog("written false", "    filter: {orFilter: [{notHealthCheckFilter: false}, {statusCodeFilter: {op: EQ, value: 599}}]}\n")}---
${collectorBackend("collector", "kgateway-system", rx.port)}`;
  let draining = false;
  const gw = await startTracedGateway(
    gatewayYaml({ upstreamPort: upstream.port, extra: policy }),
    { OTEL_BLRP_SCHEDULE_DELAY: "20", OTEL_BSP_SCHEDULE_DELAY: "20", OTEL_METRIC_EXPORT_INTERVAL: "3600000", OTEL_EXPORTER_OTLP_ENDPOINT: rx.url, OTEL_EXPORTER_OTLP_PROTOCOL: "grpc" },
    { draining: () => draining },
  );
  t.after(() => gw.close());

  const sampled = { traceparent: "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01" };
  assert.equal((await get(gw.url(8080, "/healthz"), sampled)).status, 200);
  assert.equal((await get(gw.url(8080, "/api/first"))).status, 200);
  draining = true;
  assert.equal((await get(gw.url(8080, "/healthz"))).status, 503);
  draining = false;
  assert.equal((await get(gw.url(8080, "/api/last"))).status, 200);

  const spans = await rx.waitForSpans((s) => s.some((span) => span.attributes["url.path"] === "/api/last"));
  assert.deepEqual(spans.filter((s) => s.kind === 2).map((s) => s.attributes["url.path"]).sort(), ["/api/first", "/api/last"], "no span for either health check");
  assert.equal(spans.filter((s) => s.kind === 3).length, 2, "one client span for each routed request, none for a health check");
  assert.ok(!spans.some((s) => s.traceId === "4bf92f3577b34da6a3ce929d0e0e4736"), "the health check's sampled trace is not continued");

  const logs = await rx.waitForLogs((l) => l.filter((r) => r.scope.name === "everything").length === 4 && ["requests", "written false"].every((name) => l.some((r) => r.scope.name === name && String(r.body).startsWith("/api/last"))));
  const bodies = (name: string): string[] => logs.filter((r) => r.scope.name === name).map((r) => String(r.body));
  assert.deepEqual(bodies("everything"), ["/healthz 200 health_check_ok -", "/api/first 200 via_upstream -", "/healthz 503 health_check_failed LH", "/api/last 200 via_upstream -"]);
  assert.deepEqual(bodies("requests"), ["/api/first 200 via_upstream -", "/api/last 200 via_upstream -"]);
  assert.deepEqual(bodies("written false"), bodies("requests"), "notHealthCheckFilter: false is the filter too, as kgateway reads it (set when present)");
  for (const record of logs.filter((r) => String(r.body).startsWith("/healthz"))) assert.equal(record.traceId, "", "a health check's record names no trace");

  const exposition = (await gw.telemetry.metrics!.render(undefined)).body;
  const counts = [...exposition.matchAll(/^http_server_request_duration_seconds_count\{([^}]*)\} (\d+)$/gm)].map(([, labels, n]) => ({ labels: labels!, n: Number(n) }));
  const probeCounts = counts.filter((c) => !c.labels.includes("http_route="));
  assert.deepEqual(
    probeCounts.map((c) => [/http_response_status_code="(\d+)"/.exec(c.labels)?.[1], /error_type="([^"]*)"/.exec(c.labels)?.[1], c.n]).sort(),
    [
      ["200", undefined, 1],
      ["503", "503", 1],
    ],
    "each health check counts once, with no http.route; the draining one as the server error it is",
  );
});
