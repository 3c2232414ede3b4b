// SERVER and CLIENT spans end to end over every OTLP protocol: a real request through the
// real proxy to a real upstream, exported by the official exporters, decoded by an
// in-process receiver with the official protos.
import { test } from "node:test";
import assert from "node:assert/strict";
import { startOtlpReceiver, type ReceivedSpan } from "../support/otlp-receiver.ts";
import { gatewayYaml, get, startTracedGateway, startUpstream } from "./harness.ts";

const FAST_BATCH = { OTEL_BSP_SCHEDULE_DELAY: "20" };

const cases = [
  { protocol: "grpc", transport: "grpc" as const, compression: "none" },
  { protocol: "grpc", transport: "grpc" as const, compression: "gzip" },
  { protocol: "http/protobuf", transport: "http" as const, compression: "none" },
  { protocol: "http/protobuf", transport: "http" as const, compression: "gzip" },
  { protocol: "http/json", transport: "http" as const, compression: "none" },
  // The same SDK exporters, run on the export thread from records sent across as flat arrays.
  { protocol: "grpc", transport: "grpc" as const, compression: "gzip", thread: true },
  { protocol: "http/json", transport: "http" as const, compression: "none", thread: true },
];

for (const c of cases) {
  test(`server and client spans over ${c.protocol} (compression ${c.compression})${c.thread === true ? " from the export thread" : ""}`, async (t) => {
    const rx = await startOtlpReceiver(c.transport);
    t.after(() => rx.close());
    const upstream = await startUpstream();
    t.after(() => upstream.close());
    const gw = await startTracedGateway(gatewayYaml({ upstreamPort: upstream.port }), {
      ...FAST_BATCH,
      OTEL_EXPORTER_OTLP_ENDPOINT: rx.url,
      OTEL_EXPORTER_OTLP_PROTOCOL: c.protocol,
      OTEL_EXPORTER_OTLP_COMPRESSION: c.compression,
      OTEL_EXPORTER_OTLP_HEADERS: "x-tenant=acme,authorization=Bearer%20t0ken",
      OTEL_SERVICE_NAME: "edge",
      TOLLGATE_TELEMETRY_EXPORT_THREAD: String(c.thread === true),
    });
    t.after(() => gw.close());

    const res = await get(gw.url(8080, "/api/items?id=7&sig=secret"), { "user-agent": "spans-test/1.0" });
    assert.equal(res.status, 200);
    const spans = await rx.waitForSpans((s) => s.length >= 2);
    assert.equal(spans.length, 2);
    const server = spans.find((s) => s.kind === 2)!;
    const client = spans.find((s) => s.kind === 3)!;
    assert.ok(server, "a SERVER span");
    assert.ok(client, "a CLIENT span");

    // Names and parentage: a root SERVER span, the CLIENT span its child, the upstream sees the CLIENT span.
    assert.equal(server.name, "GET /api/*");
    assert.equal(client.name, "GET");
    assert.equal(server.parentSpanId, "");
    assert.equal(client.traceId, server.traceId);
    assert.equal(client.parentSpanId, server.spanId);
    assert.match(server.traceId, /^[0-9a-f]{32}$/);
    const tp = upstream.seen[0]!.traceparent;
    assert.equal(tp, `00-${server.traceId}-${client.spanId}-03`);

    // Statuses: both fine.
    assert.equal(server.status.code, 0);
    assert.equal(client.status.code, 0);

    // Server attributes, stable HTTP semconv.
    const sa = server.attributes;
    assert.equal(sa["http.request.method"], "GET");
    assert.equal(sa["http.route"], "/api/*");
    assert.equal(sa["url.path"], "/api/items");
    assert.equal(sa["url.query"], "id=7&sig=REDACTED");
    assert.equal(sa["url.scheme"], "http");
    assert.equal(sa["http.response.status_code"], 200);
    assert.equal(sa["network.protocol.version"], "1.1");
    assert.equal(sa["network.peer.address"], "127.0.0.1");
    assert.equal(typeof sa["network.peer.port"], "number");
    assert.equal(sa["client.address"], "127.0.0.1");
    assert.equal(sa["server.address"], "127.0.0.1");
    assert.equal(sa["user_agent.original"], "spans-test/1.0");
    assert.equal(sa["tollgate.gateway.name"], "kgateway-system/http");
    assert.equal(sa["tollgate.listener.name"], "http");
    assert.equal(sa["tollgate.route.name"], "kgateway-system/httpbin");
    assert.equal(sa["tollgate.rule.name"], gw.plan.rules[0]!.ruleName);
    assert.equal(sa["tollgate.backend.name"], gw.plan.rules[0]!.backends.entries[0]!.backend.displayName);
    for (const legacy of ["http.method", "http.status_code", "http.url", "http.target", "net.peer.name", "net.host.name"]) {
      assert.equal(sa[legacy], undefined, `no deprecated ${legacy}`);
      assert.equal(client.attributes[legacy], undefined, `no deprecated ${legacy}`);
    }

    // Client attributes.
    const ca = client.attributes;
    assert.equal(ca["http.request.method"], "GET");
    assert.equal(ca["server.address"], "127.0.0.1");
    assert.equal(ca["server.port"], upstream.port);
    assert.equal(ca["url.full"], `http://127.0.0.1:${upstream.port}/api/items?id=7&sig=REDACTED`);
    assert.equal(ca["http.response.status_code"], 200);
    assert.equal(ca["network.peer.address"], "127.0.0.1");
    assert.equal(ca["http.request.resend_count"], undefined);

    // Times are ordered and nested.
    assert.ok(server.startTimeUnixNano <= client.startTimeUnixNano);
    assert.ok(client.endTimeUnixNano <= server.endTimeUnixNano);
    assert.ok(server.startTimeUnixNano > 1_600_000_000_000_000_000n);

    // Resource and scope, identical on both spans, with schema URLs.
    for (const s of [server, client] as ReceivedSpan[]) {
      assert.equal(s.resource.attributes["service.name"], "edge");
      assert.equal(s.resource.attributes["service.namespace"], "kgateway-system");
      assert.match(s.resource.schemaUrl, /^https:\/\/opentelemetry\.io\/schemas\/1\.\d+\.\d+$/);
      assert.equal(s.scope.name, "tollgate");
      assert.equal(s.scope.schemaUrl, s.resource.schemaUrl);
    }

    // Exporter settings from env reached the wire.
    const req = rx.requests[0]!;
    assert.equal(req.headers["x-tenant"], "acme");
    assert.equal(req.headers["authorization"], "Bearer t0ken");
    if (c.transport === "http") {
      assert.equal(req.path, "/v1/traces");
      assert.equal(req.contentType, c.protocol === "http/json" ? "application/json" : "application/x-protobuf");
      assert.equal(req.contentEncoding, c.compression === "gzip" ? "gzip" : "");
    } else {
      assert.equal(req.path, "/opentelemetry.proto.collector.trace.v1.TraceService/Export");
    }
  });
}
