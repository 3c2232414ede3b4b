// What a RequestMirror copy looks like in the exported telemetry, decoded from OTLP: its own
// CLIENT span (tollgate.mirror) under the request's SERVER span, its own traceparent at the
// mirror backend, its duration in http.client.request.duration under the mirror's backend,
// and dropped copies in tollgate.upstream.mirrors_dropped.
import { test } from "node:test";
import assert from "node:assert/strict";
import net from "node:net";
import type { ReceivedMetric } from "../support/otlp-receiver.ts";
import { until } from "../support/until.ts";
import { collectorBackend, gatewayYaml, get, startCountingGateway, startPolicyLab, startTracedGateway, startUpstream, tracingPolicyYaml } from "./harness.ts";

const NS = "kgateway-system";

type Point = Record<string, unknown>;
function points(m: ReceivedMetric | undefined): Point[] {
  const d = (m?.data ?? {}) as Record<string, { dataPoints?: Point[] } | undefined>;
  return (d["histogram"] ?? d["exponentialHistogram"] ?? d["sum"] ?? d["gauge"])?.dataPoints ?? [];
}
function attrs(p: Point): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const kv of (p["attributes"] as { key: string; value: Record<string, unknown> }[]) ?? []) out[kv.key] = Object.values(kv.value)[0];
  return out;
}

const mirrorRule = (prefix: string, backend: string, extra = ""): string => `  - matches:
    - path: {type: PathPrefix, value: ${prefix}}
    filters:
    - type: RequestMirror
      requestMirror:
        backendRef: {group: gateway.tollgate.dev, kind: Backend, name: ${backend}}
    backendRefs:
    - {name: upstream, kind: Backend, group: gateway.tollgate.dev}
${extra}`;

test("a mirrored request: its own CLIENT span and traceparent, its duration under the mirror backend, dropped copies counted", async (t) => {
  const { rx, upstream } = await startPolicyLab(t);
  const shadow = await startUpstream();
  t.after(() => shadow.close());
  // A mirror backend that takes a connection and never answers, one connection at most.
  const held = new Set<net.Socket>();
  const stuck = net.createServer((s) => {
    held.add(s);
    s.on("error", () => {});
  });
  await new Promise<void>((resolve) => stuck.listen(0, "127.0.0.1", resolve));
  t.after(() => new Promise<void>((resolve) => (held.forEach((s) => s.destroy()), stuck.close(() => resolve()))));
  const stuckPort = (stuck.address() as net.AddressInfo).port;

  const yaml = gatewayYaml({
    upstreamPort: upstream.port,
    rules: mirrorRule("/api", "shadow") + mirrorRule("/held", "stuck", "    timeouts: {request: 300ms}\n"),
    extra: `${collectorBackend("shadow", NS, shadow.port)}---\n${collectorBackend("stuck", NS, stuckPort)}  connectionPool: {maxConnections: 1}\n`,
  });
  const gw = await startCountingGateway(t, yaml, rx);

  assert.equal((await get(gw.url(8080, "/api/x"))).status, 200);
  const spans = await rx.waitForSpans((s) => s.filter((x) => x.kind === 3).length >= 2);
  const server = spans.find((s) => s.kind === 2)!;
  const clients = spans.filter((s) => s.kind === 3);
  const copy = clients.find((s) => s.attributes["tollgate.mirror"] === true);
  const original = clients.find((s) => s.attributes["tollgate.mirror"] === undefined);
  assert.ok(copy && original, "one CLIENT span for the request's attempt, one for the copy");
  assert.equal(copy.traceId, server.traceId);
  assert.equal(copy.parentSpanId, server.spanId);
  assert.equal(copy.name, "GET");
  assert.equal(copy.attributes["tollgate.backend.name"], `${NS}/shadow`);
  assert.equal(copy.attributes["server.port"], shadow.port);
  assert.equal(copy.attributes["http.response.status_code"], 200);
  assert.equal(original.attributes["tollgate.backend.name"], `${NS}/upstream`);
  assert.equal(server.attributes["tollgate.backend.name"], `${NS}/upstream`, "the request's backend stays the one that answered");
  await until(() => shadow.seen.length === 1);
  assert.equal(shadow.seen[0]!["traceparent"], `00-${server.traceId}-${copy.spanId}-03`);
  assert.equal(upstream.seen[0]!["traceparent"], `00-${server.traceId}-${original.spanId}-03`);
  assert.match(String(shadow.seen[0]!["host"]), /-shadow:\d+$/);

  // The first copy holds the stuck backend's one connection; the second is dropped.
  assert.equal((await get(gw.url(8080, "/held/1"))).status, 200);
  assert.equal((await get(gw.url(8080, "/held/2"))).status, 200);
  await gw.telemetry.flush(5000);
  const metrics = await rx.waitForMetrics((m) => m.some((x) => x.name === "tollgate.upstream.mirrors_dropped"));
  const drops = points(metrics.find((m) => m.name === "tollgate.upstream.mirrors_dropped")).map((p) => ({ ...attrs(p), value: Number(p["asInt"]) }));
  assert.deepEqual(drops, [{ "tollgate.backend.name": `${NS}/stuck`, reason: "no_free_connection", value: 1 }]);
  const byBackend = new Map<string, number>();
  for (const p of points(metrics.find((m) => m.name === "http.client.request.duration"))) {
    const backend = String(attrs(p)["tollgate.backend.name"]);
    byBackend.set(backend, (byBackend.get(backend) ?? 0) + Number(p["count"]));
  }
  assert.equal(byBackend.get(`${NS}/shadow`), 1, "the copy's duration is recorded under the mirror backend");
  assert.equal(byBackend.get(`${NS}/upstream`), 3);
});

test("a copy still running across a reload that renames the service is exported under the old identity once it ends", async (t) => {
  const { rx, upstream } = await startPolicyLab(t);
  let release: () => void = () => {};
  const held = new Promise<void>((resolve) => (release = resolve));
  const shadow = await startUpstream((_req, res) => void held.then(() => res.writeHead(200).end("ignored")));
  t.after(() => shadow.close());
  const yaml = (service: string): string =>
    gatewayYaml({
      upstreamPort: upstream.port,
      rules: mirrorRule("/api", "shadow"),
      extra: `${collectorBackend("shadow", NS, shadow.port)}---\n${tracingPolicyYaml(rx.port).replace("      openTelemetry:\n", `      openTelemetry:\n        serviceName: ${service}\n`)}`,
    });
  const gw = await startTracedGateway(yaml("edge-a"), { OTEL_METRIC_EXPORT_INTERVAL: "3600000", OTEL_TRACES_EXPORTER: "none", OTEL_EXPORTER_OTLP_ENDPOINT: rx.url });
  t.after(() => gw.close());

  assert.equal((await get(gw.url(8080, "/api/x"))).status, 200);
  await until(() => shadow.seen.length === 1);
  gw.reload(yaml("edge-b"));
  await gw.telemetry.flush(5000);
  await rx.waitForMetrics((m) => m.some((x) => x.name === "http.server.request.duration"));
  assert.deepEqual(shadowCounts(rx.metrics), {}, "the copy has not ended yet");

  release();
  let exported = rx.metrics.length;
  await until(async () => {
    await gw.telemetry.flush(5000);
    return shadowCounts(rx.metrics.slice(exported))["edge-a"] === 1;
  });
  exported = rx.metrics.length;
  await gw.telemetry.flush(5000);
  await rx.waitForMetrics((m) => m.length > exported);
  assert.equal(shadowCounts(rx.metrics.slice(exported))["edge-a"], undefined, "then the old identity is exported no more");
});

/** Copies' http.client.request.duration count to the shadow backend, per service.name. */
function shadowCounts(metrics: readonly ReceivedMetric[]): Record<string, number> {
  const out: Record<string, number> = {};
  for (const m of metrics) {
    if (m.name !== "http.client.request.duration") continue;
    for (const p of points(m)) {
      if (attrs(p)["tollgate.backend.name"] !== `${NS}/shadow`) continue;
      const service = String(m.resource.attributes["service.name"]);
      out[service] = (out[service] ?? 0) + Number(p["count"]);
    }
  }
  return out;
}
