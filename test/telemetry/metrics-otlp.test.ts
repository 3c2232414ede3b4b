// Metrics over OTLP: counts equal the requests sent, histogram sums equal the SERVER span
// durations, exemplars point at exported sampled spans, and the env picks temporality and
// histogram aggregation.
import { test } from "node:test";
import assert from "node:assert/strict";
import { snippetWith } from "../config/seed-snippets.ts";
import { startOtlpReceiver, type ReceivedMetric } from "../support/otlp-receiver.ts";
import { FAST_EXPORTS, gatewayYaml, get, startTracedGateway, startUpstream } from "./harness.ts";
import { startRig } from "./rig.ts";
import { isRegisteredAttribute, TELEMETRY_REGISTRY } from "../../src/telemetry/registry.ts";


type Point = Record<string, unknown>;
function points(m: ReceivedMetric): Point[] {
  const d = m.data as Record<string, { dataPoints?: Point[]; aggregationTemporality?: number } | undefined>;
  return (d["histogram"] ?? d["exponentialHistogram"] ?? d["sum"] ?? d["gauge"])?.dataPoints ?? [];
}
function attrs(p: Point): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const kv of (p["attributes"] as { key: string; value: Record<string, unknown> }[]) ?? []) out[kv.key] = Object.values(kv.value)[0];
  return out;
}

for (const protocol of ["grpc", "http/protobuf", "http/json"] as const) {
  test(`request count, histogram sum and exemplars over ${protocol}`, async (t) => {
    const rx = await startOtlpReceiver(protocol === "grpc" ? "grpc" : "http");
    t.after(() => rx.close());
    const upstream = await startUpstream();
    t.after(() => upstream.close());
    const gw = await startTracedGateway(gatewayYaml({ upstreamPort: upstream.port }), { ...FAST_EXPORTS, OTEL_EXPORTER_OTLP_ENDPOINT: rx.url, OTEL_EXPORTER_OTLP_PROTOCOL: protocol });
    t.after(() => gw.close());
    const sent = 7;
    for (let i = 0; i < sent; i++) await get(gw.url(8080, `/api/item/${i}?q=${i}`));
    const spans = await rx.waitForSpans((s) => s.filter((x) => x.kind === 2).length >= sent);
    await gw.telemetry.flush(5000);
    const metrics = await rx.waitForMetrics((m) => m.some((x) => x.name === "http.server.request.duration"));
    const duration = metrics.find((m) => m.name === "http.server.request.duration")!;
    assert.equal(duration.unit, "s");
    const [p] = points(duration);
    assert.equal(points(duration).length, 1);
    assert.equal(Number(p!["count"]), sent, "one measurement per request");
    assert.deepEqual(p!["explicitBounds"], [0.005, 0.01, 0.025, 0.05, 0.075, 0.1, 0.25, 0.5, 0.75, 1, 2.5, 5, 7.5, 10]);
    const a = attrs(p!);
    assert.deepEqual(Object.keys(a).sort(), ["http.request.method", "http.response.status_code", "http.route", "network.protocol.version", "tollgate.gateway.name", "tollgate.route.name", "url.scheme"]);
    assert.equal(a["url.path"], undefined, "no url.path on metrics");
    const servers = spans.filter((s) => s.kind === 2);
    const spanSeconds = servers.reduce((n, s) => n + Number(s.endTimeUnixNano - s.startTimeUnixNano) / 1e9, 0);
    assert.ok(Math.abs(Number(p!["sum"]) - spanSeconds) < 1e-6 * sent, `histogram sum ${p!["sum"]} equals the span durations ${spanSeconds}`);
    const exemplars = (p!["exemplars"] as { traceId: string; spanId: string; asDouble: number }[]) ?? [];
    assert.ok(exemplars.length > 0, "exemplars present");
    for (const e of exemplars) {
      const span = servers.find((s) => s.spanId === e.spanId);
      assert.ok(span, `exemplar span ${e.spanId} is an exported SERVER span`);
      assert.equal(e.traceId, span.traceId);
      assert.ok(Math.abs(e.asDouble - Number(span.endTimeUnixNano - span.startTimeUnixNano) / 1e9) < 1e-6);
    }
    const client = metrics.find((m) => m.name === "http.client.request.duration")!;
    assert.equal(points(client).reduce((n, q) => n + Number(q["count"]), 0), sent);
    const active = metrics.find((m) => m.name === "http.server.active_requests")!;
    assert.equal(Number(points(active)[0]!["asInt"] ?? 0), 0);
    for (const m of metrics) {
      assert.deepEqual(m.resource, servers[0]!.resource, `${m.name}: same resource as the spans`);
      const entry = TELEMETRY_REGISTRY.metrics.find((e) => e.name === m.name);
      assert.ok(entry, `${m.name} is registered`);
      assert.equal(m.unit, entry.unit);
      for (const p of points(m)) for (const k of Object.keys(attrs(p))) assert.ok(entry.attributes.includes(k) && isRegisteredAttribute(k, "metrics"), `${m.name}: ${k} is registered`);
    }
  });
}

test("trace_based exemplar filter (the default): measurements in unsampled spans carry no exemplar", async (t) => {
  const { rx, gw } = await startRig(t, {
    transport: "http",
    env: (rx) => ({ ...FAST_EXPORTS, OTEL_EXPORTER_OTLP_ENDPOINT: rx.url, OTEL_TRACES_SAMPLER: "always_off" }),
  });
  await get(gw.url(8080, "/api/a"));
  await gw.telemetry.flush(5000);
  const metrics = await rx.waitForMetrics((m) => m.some((x) => x.name === "http.server.request.duration"));
  const p = points(metrics.find((m) => m.name === "http.server.request.duration")!)[0]!;
  assert.equal(Number(p["count"]), 1);
  assert.equal(p["exemplars"], undefined);
});

test("delta temporality and base-2 exponential histograms from env", async (t) => {
  const { rx, gw } = await startRig(t, {
    transport: "grpc",
    env: (rx) => ({
      ...FAST_EXPORTS,
      OTEL_EXPORTER_OTLP_ENDPOINT: rx.url,
      OTEL_EXPORTER_OTLP_PROTOCOL: "grpc",
      OTEL_EXPORTER_OTLP_METRICS_TEMPORALITY_PREFERENCE: "delta",
      OTEL_EXPORTER_OTLP_METRICS_DEFAULT_HISTOGRAM_AGGREGATION: "base2_exponential_bucket_histogram",
    }),
  });
  for (let i = 0; i < 3; i++) await get(gw.url(8080, "/api/a"));
  await gw.telemetry.flush(5000);
  await get(gw.url(8080, "/api/a"));
  await gw.telemetry.flush(5000);
  const metrics = await rx.waitForMetrics((m) => m.filter((x) => x.name === "http.server.request.duration").length >= 2);
  const durations = metrics.filter((m) => m.name === "http.server.request.duration");
  const first = durations[0]!.data["exponentialHistogram"] as { aggregationTemporality: number; dataPoints: Point[] };
  const second = durations[1]!.data["exponentialHistogram"] as { aggregationTemporality: number; dataPoints: Point[] };
  assert.equal(first.aggregationTemporality, 1, "DELTA");
  assert.deepEqual([Number(first.dataPoints[0]!["count"]), Number(second.dataPoints[0]!["count"])], [3, 1], "each export counts only its own interval");
  const positive = first.dataPoints[0]!["positive"] as { bucketCounts: string[] };
  assert.equal(positive.bucketCounts.reduce((n, c) => n + Number(c), 0) + Number(first.dataPoints[0]!["zeroCount"] ?? 0), 3);
  assert.equal(typeof first.dataPoints[0]!["scale"], "number");
  const active = metrics.find((m) => m.name === "http.server.active_requests")!;
  assert.equal((active.data["sum"] as { aggregationTemporality: number }).aggregationTemporality, 2, "up-down counters stay cumulative");
});

test("seed 002 metrics overrides: request_count adds Header/Literal attributes to http.server.request.duration", async (t) => {
  const policy = snippetWith("002-gep-telemetry-policy.txt", "kind: TelemetryPolicy");
  const { rx, gw } = await startRig(t, {
    transport: "http",
    yaml: (upstreamPort) => gatewayYaml({ upstreamPort, gateway: "my-gateway", namespace: "prod-ns", extra: policy }),
    env: (rx) => ({
      ...FAST_EXPORTS,
      OTEL_EXPORTER_OTLP_METRICS_ENDPOINT: `${rx.url}/v1/metrics`,
    }),
  });
  await get(gw.url(8080, "/api/a"), { "x-model-id": "m1" });
  await get(gw.url(8080, "/api/a"), { "x-model-id": "m2" });
  await get(gw.url(8080, "/api/a"), { "x-model-id": "m1" });
  await gw.telemetry.flush(5000);
  const metrics = await rx.waitForMetrics((m) => m.some((x) => x.name === "http.server.request.duration"));
  const ps = points(metrics.find((m) => m.name === "http.server.request.duration")!);
  const byModel = new Map(ps.map((p) => [attrs(p)["x-model-id"], p]));
  assert.equal(Number(byModel.get("m1")!["count"]), 2);
  assert.equal(Number(byModel.get("m2")!["count"]), 1);
  for (const p of ps) assert.equal(attrs(p)["environment"], "production");
  const size = points(metrics.find((m) => m.name === "http.server.request.body.size")!);
  assert.equal(attrs(size[0]!)["x-model-id"], undefined, "only the named metric gets the attributes");
});

test("cardinality limit: attribute sets beyond it go to the otel.metric.overflow series", async (t) => {
  const { rx, gw } = await startRig(t, {
    transport: "http",
    env: (rx) => ({ ...FAST_EXPORTS, OTEL_EXPORTER_OTLP_ENDPOINT: rx.url, TOLLGATE_METRICS_CARDINALITY_LIMIT: "3" }),
  });
  for (const s of [200, 201, 202, 203, 204]) await get(gw.url(8080, "/api/a"), { "x-status": String(s) });
  await gw.telemetry.flush(5000);
  const metrics = await rx.waitForMetrics((m) => m.some((x) => x.name === "http.server.request.duration"));
  const ps = points(metrics.find((m) => m.name === "http.server.request.duration")!);
  assert.equal(ps.length, 3, "never more series than the limit");
  const overflow = ps.find((p) => attrs(p)["otel.metric.overflow"] === true)!;
  assert.ok(overflow, "an overflow series");
  assert.equal(ps.reduce((n, p) => n + Number(p["count"]), 0), 5, "no measurement lost");
  assert.equal(Number(overflow["count"]), 3);
});

test("interleaved attribute sets on one rule keep their own series (method, status, upstream status)", async (t) => {
  const { rx, gw } = await startRig(t, {
    transport: "http",
    env: (rx) => ({ ...FAST_EXPORTS, OTEL_EXPORTER_OTLP_ENDPOINT: rx.url, OTEL_TRACES_EXPORTER: "none", OTEL_LOGS_EXPORTER: "none" }),
  });
  const sequence: Array<[string, string]> = [["GET", "200"], ["GET", "404"], ["POST", "200"], ["GET", "200"], ["GET", "404"], ["GET", "200"], ["POST", "200"]];
  for (const [method, status] of sequence) assert.equal((await get(gw.url(8080, "/api/a"), { "x-status": status }, method)).status, Number(status));
  await gw.telemetry.flush(5000);
  const metrics = await rx.waitForMetrics((m) => m.some((x) => x.name === "http.client.request.duration"));
  const count = (name: string): Record<string, number> => {
    const out: Record<string, number> = {};
    for (const p of points(metrics.find((m) => m.name === name)!)) {
      const a = attrs(p);
      out[`${a["http.request.method"]} ${a["http.response.status_code"]}`] = Number(p["count"]);
    }
    return out;
  };
  assert.deepEqual(count("http.server.request.duration"), { "GET 200": 3, "GET 404": 2, "POST 200": 2 });
  assert.deepEqual(count("http.client.request.duration"), { "GET 200": 3, "GET 404": 2, "POST 200": 2 });
  const active = points(metrics.find((m) => m.name === "http.server.active_requests")!).map((p) => [attrs(p)["http.request.method"], Number(p["asInt"] ?? 0)]);
  assert.deepEqual(active.sort(), [["GET", 0], ["POST", 0]]);
});
