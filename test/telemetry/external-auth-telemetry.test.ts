// What an ExternalAuth check looks like in the exported telemetry, decoded from OTLP: its own
// CLIENT span (tollgate.ext_authz) under the request's SERVER span, that span's traceparent at
// the authorization service, its duration under the service's backend, and a denial's
// access-log record flagged UAEX in the request's trace; over gRPC, an RPC span.
import { test } from "node:test";
import assert from "node:assert/strict";
import { startGrpcAuthzService } from "../support/grpc-authz-service.ts";
import type { ReceivedMetric } from "../support/otlp-receiver.ts";
import { until } from "../support/until.ts";
import { collectorBackend, FAST_EXPORTS, gatewayYaml, get, startPolicyLab, startTracedGateway, startUpstream } from "./harness.ts";

const NS = "kgateway-system";

function durationCounts(metrics: readonly ReceivedMetric[]): Map<string, number> {
  const out = new Map<string, number>();
  for (const m of metrics) {
    if (m.name !== "http.client.request.duration") continue;
    const data = m.data as Record<string, { dataPoints?: Record<string, unknown>[] } | undefined>;
    for (const p of data["histogram"]?.dataPoints ?? []) {
      const backend = (p["attributes"] as { key: string; value: Record<string, unknown> }[]).find((kv) => kv.key === "tollgate.backend.name");
      const name = String(Object.values(backend?.value ?? {})[0]);
      out.set(name, (out.get(name) ?? 0) + Number(p["count"]));
    }
  }
  return out;
}

test("an ExternalAuth check: its own CLIENT span and traceparent, its duration under the service's backend, a denial's log flagged UAEX", async (t) => {
  const { rx, upstream } = await startPolicyLab(t);
  const authz = await startUpstream((req, res) => {
    if (req.headers.authorization === "Bearer good") res.writeHead(200, { "x-user-id": "alice" }).end();
    else res.writeHead(401, { "content-type": "text/plain" }).end("no");
  });
  t.after(() => authz.close());
  const yaml = gatewayYaml({
    upstreamPort: upstream.port,
    rules: `  - matches:
    - path: {type: PathPrefix, value: /api}
    filters:
    - type: ExternalAuth
      externalAuth:
        protocol: HTTP
        backendRef: {group: gateway.tollgate.dev, kind: Backend, name: authz}
        http: {}
    backendRefs:
    - {name: upstream, kind: Backend, group: gateway.tollgate.dev}`,
    extra: collectorBackend("authz", NS, authz.port),
  });
  const gw = await startTracedGateway(yaml, { ...FAST_EXPORTS, OTEL_EXPORTER_OTLP_ENDPOINT: rx.url });
  t.after(() => gw.close());

  assert.equal((await get(gw.url(8080, "/api/allowed"), { authorization: "Bearer good" })).status, 200);
  const spans = await rx.waitForSpans((s) => s.filter((x) => x.kind === 3).length >= 2);
  const server = spans.find((s) => s.kind === 2)!;
  const clients = spans.filter((s) => s.kind === 3);
  const check = clients.find((s) => s.attributes["tollgate.ext_authz"] === true);
  const attempt = clients.find((s) => s.attributes["tollgate.ext_authz"] === undefined);
  assert.ok(check && attempt, "one CLIENT span for the check, one for the request's attempt");
  assert.equal(check.parentSpanId, server.spanId);
  assert.equal(check.traceId, server.traceId);
  assert.equal(check.name, "GET");
  assert.equal(check.attributes["tollgate.backend.name"], `${NS}/authz`);
  assert.equal(check.attributes["http.response.status_code"], 200);
  assert.equal(check.attributes["server.port"], authz.port);
  assert.ok(Number(check.endTimeUnixNano) <= Number(attempt.startTimeUnixNano), "the attempt starts after the check ended");
  assert.equal(authz.seen[0]!["traceparent"], `00-${server.traceId}-${check.spanId}-03`);
  assert.equal(upstream.seen[0]!["traceparent"], `00-${server.traceId}-${attempt.spanId}-03`);
  assert.equal(upstream.seen[0]!["x-user-id"], "alice");
  assert.equal(server.attributes["tollgate.backend.name"], `${NS}/upstream`);

  assert.equal((await get(gw.url(8080, "/api/denied"))).status, 401);
  const logs = await rx.waitForLogs((l) => l.some((r) => r.attributes["url.path"] === "/api/denied"));
  const denied = logs.find((r) => r.attributes["url.path"] === "/api/denied")!;
  assert.equal(denied.attributes["http.response.status_code"], 401);
  assert.equal(denied.attributes["tollgate.response.flags"], "UAEX");
  const deniedServer = (await rx.waitForSpans((s) => s.some((x) => x.kind === 2 && x.attributes["url.path"] === "/api/denied"))).find(
    (x) => x.kind === 2 && x.attributes["url.path"] === "/api/denied",
  )!;
  assert.equal(denied.traceId, deniedServer.traceId, "the denial's log record is in the request's trace");
  assert.equal(deniedServer.attributes["tollgate.backend.name"], undefined, "a denied request chose no backend");

  await gw.telemetry.flush(5000);
  await until(() => durationCounts(rx.metrics).get(`${NS}/authz`) === 2);
  assert.equal(durationCounts(rx.metrics).get(`${NS}/upstream`), 1);
});

test("an ExternalAuth check over gRPC: an RPC CLIENT span named by its method, its traceparent at the service, its status", async (t) => {
  const { rx, upstream } = await startPolicyLab(t);
  const authz = await startGrpcAuthzService();
  t.after(() => authz.close());
  const yaml = gatewayYaml({
    upstreamPort: upstream.port,
    rules: `  - matches:
    - path: {type: PathPrefix, value: /api}
    filters:
    - type: ExternalAuth
      externalAuth:
        protocol: GRPC
        backendRef: {group: gateway.tollgate.dev, kind: Backend, name: authz}
    backendRefs:
    - {name: upstream, kind: Backend, group: gateway.tollgate.dev}`,
    extra: collectorBackend("authz", NS, authz.port),
  });
  const gw = await startTracedGateway(yaml, { ...FAST_EXPORTS, OTEL_EXPORTER_OTLP_ENDPOINT: rx.url });
  t.after(() => gw.close());

  assert.equal((await get(gw.url(8080, "/api/allowed"), { authorization: "Bearer good" })).status, 200);
  assert.equal((await get(gw.url(8080, "/api/failed"), { authorization: "Bearer unavailable" })).status, 403);
  const spans = await rx.waitForSpans((s) => s.filter((x) => x.attributes["tollgate.ext_authz"] === true).length >= 2);
  const serverOf = (path: string) => spans.find((s) => s.kind === 2 && s.attributes["url.path"] === path)!;
  const checkUnder = (path: string) => spans.find((s) => s.kind === 3 && s.attributes["tollgate.ext_authz"] === true && s.parentSpanId === serverOf(path).spanId)!;

  const allowed = checkUnder("/api/allowed");
  assert.equal(allowed.name, "envoy.service.auth.v3.Authorization/Check");
  assert.equal(allowed.attributes["rpc.system"], "grpc");
  assert.equal(allowed.attributes["rpc.service"], "envoy.service.auth.v3.Authorization");
  assert.equal(allowed.attributes["rpc.method"], "Check");
  assert.equal(allowed.attributes["rpc.grpc.status_code"], 0);
  assert.equal(allowed.attributes["http.request.method"], "POST");
  assert.equal(allowed.attributes["http.response.status_code"], 200);
  assert.equal(allowed.attributes["url.full"], `http://127.0.0.1:${authz.port}/envoy.service.auth.v3.Authorization/Check`);
  assert.equal(allowed.attributes["network.peer.port"], authz.port);
  assert.equal(allowed.attributes["error.type"], undefined);
  assert.equal(allowed.status.code, 0, "an OK call is not an error");
  const seen = authz.seen.find((c) => c.request.attributes.request.http.path === "/api/allowed")!;
  assert.equal(seen.metadata["traceparent"], `00-${allowed.traceId}-${allowed.spanId}-03`);

  // The tracer passes a client's baggage on; gRPC metadata holds printable ASCII only.
  assert.equal((await get(gw.url(8080, "/api/baggage"), { authorization: "Bearer good", baggage: "tier=gold" })).status, 200);
  assert.equal(authz.seen.find((c) => c.request.attributes.request.http.path === "/api/baggage")!.metadata["baggage"], "tier=gold");
  assert.equal((await get(gw.url(8080, "/api/odd-baggage"), { authorization: "Bearer good", baggage: "tier=go\tld" })).status, 200, "a value metadata cannot hold is left off, not a crash");
  assert.equal(authz.seen.find((c) => c.request.attributes.request.http.path === "/api/odd-baggage")!.metadata["baggage"], undefined);

  const failed = checkUnder("/api/failed");
  assert.equal(failed.attributes["rpc.grpc.status_code"], 14);
  assert.equal(failed.attributes["error.type"], "UNAVAILABLE");
  assert.equal(failed.status.code, 2, "any status but OK is an error");
});
