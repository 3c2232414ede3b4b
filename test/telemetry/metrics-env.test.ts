// The metric environment the OTel SDK spec defines, end to end:
// OTEL_EXPORTER_OTLP_METRICS_TEMPORALITY_PREFERENCE (delta vs lowmemory on synchronous
// histograms, the up-down counter and asynchronous counters), OTEL_METRICS_EXEMPLAR_FILTER
// (always_on, always_off) on OTLP and OpenMetrics, and OTEL_METRICS_EXPORTER (console,
// prometheus, none) against the always-present GET /metrics.
import { test } from "node:test";
import assert from "node:assert/strict";
import { completeLines, httpRequest, startGateway } from "../support/gateway-process.ts";
import { startOtlpReceiver, type ReceivedMetric } from "../support/otlp-receiver.ts";
import { accessLogMatchPolicyYaml, FAST_EXPORTS, gatewayYaml, get, startTracedGateway, startUpstream } from "./harness.ts";
import { startRig } from "./rig.ts";

const DELTA = 1;
const CUMULATIVE = 2;

type Point = Record<string, unknown>;
interface Shape {
  readonly temporality: number;
  readonly points: Point[];
}
function shape(m: ReceivedMetric): Shape {
  const d = m.data as Record<string, { dataPoints?: Point[]; aggregationTemporality?: number } | undefined>;
  const body = d["histogram"] ?? d["exponentialHistogram"] ?? d["sum"] ?? d["gauge"];
  return { temporality: body?.aggregationTemporality ?? 0, points: body?.dataPoints ?? [] };
}
function value(p: Point): number {
  return Number(p["asInt"] ?? p["asDouble"] ?? p["count"] ?? 0);
}

/** A TelemetryPolicy whose filter fails at run time for requests without x-tenant: drives an asynchronous counter. */
const FAILING_FILTER = accessLogMatchPolicyYaml('request.headers["x-tenant"] == "blue"');

for (const preference of ["delta", "lowmemory"] as const) {
  test(`temporality preference ${preference}: histograms delta, up-down counter cumulative, asynchronous counter ${preference === "delta" ? "delta" : "cumulative"}`, async (t) => {
    const rx = await startOtlpReceiver("http");
    t.after(() => rx.close());
    const upstream = await startUpstream();
    t.after(() => upstream.close());
    const gw = await startTracedGateway(gatewayYaml({ upstreamPort: upstream.port, extra: FAILING_FILTER }), {
      ...FAST_EXPORTS,
      OTEL_EXPORTER_OTLP_ENDPOINT: rx.url,
      OTEL_TRACES_EXPORTER: "none",
      OTEL_EXPORTER_OTLP_METRICS_TEMPORALITY_PREFERENCE: preference,
    });
    t.after(() => gw.close());
    for (let i = 0; i < 2; i++) await get(gw.url(8080, "/api/a"));
    await gw.telemetry.flush(5000);
    await get(gw.url(8080, "/api/a"));
    await gw.telemetry.flush(5000);
    const metrics = await rx.waitForMetrics((m) => m.filter((x) => x.name === "http.server.request.duration").length >= 2);
    const exports = (name: string): Shape[] => metrics.filter((m) => m.name === name).map(shape);

    const duration = exports("http.server.request.duration");
    assert.deepEqual(duration.map((s) => s.temporality), [DELTA, DELTA], "synchronous histogram: delta");
    assert.deepEqual(duration.map((s) => value(s.points[0]!)), [2, 1], "each export counts its own interval");
    for (const name of ["http.server.request.body.size", "http.server.response.body.size", "http.client.request.duration"]) {
      assert.deepEqual(exports(name).map((s) => s.temporality), [DELTA, DELTA], `${name}: delta`);
    }
    const active = exports("http.server.active_requests");
    assert.deepEqual(active.map((s) => s.temporality), [CUMULATIVE, CUMULATIVE], "up-down counter: cumulative under both preferences");

    const filterErrors = exports("tollgate.access_log.filter.errors");
    assert.equal(filterErrors.length, 2);
    if (preference === "delta") {
      assert.deepEqual(filterErrors.map((s) => s.temporality), [DELTA, DELTA], "asynchronous counter: delta");
      assert.deepEqual(filterErrors.map((s) => value(s.points[0]!)), [2, 1]);
    } else {
      assert.deepEqual(filterErrors.map((s) => s.temporality), [CUMULATIVE, CUMULATIVE], "asynchronous counter: cumulative under lowmemory");
      assert.deepEqual(filterErrors.map((s) => value(s.points[0]!)), [2, 3]);
    }
    const build = exports("tollgate.build.info");
    assert.ok(build.length >= 1 && build.every((s) => s.temporality === 0), "gauges carry no temporality");
  });
}

test("OTEL_METRICS_EXEMPLAR_FILTER=always_on: unsampled requests still carry exemplars pointing at their (unexported) SERVER and CLIENT spans", async (t) => {
  const { rx, upstream, gw } = await startRig(t, {
    transport: "http",
    env: (rx) => ({
      ...FAST_EXPORTS,
      OTEL_EXPORTER_OTLP_ENDPOINT: rx.url,
      OTEL_TRACES_SAMPLER: "always_off",
      OTEL_METRICS_EXEMPLAR_FILTER: "always_on",
    }),
  });
  await get(gw.url(8080, "/api/a"));
  await gw.telemetry.flush(5000);
  const metrics = await rx.waitForMetrics((m) => m.some((x) => x.name === "http.server.request.duration"));
  const [log] = await rx.waitForLogs((l) => l.length >= 1);
  assert.equal(rx.spans.length, 0, "nothing sampled");
  const [server] = shape(metrics.find((m) => m.name === "http.server.request.duration")!).points;
  const exemplars = server!["exemplars"] as { traceId: string; spanId: string }[];
  assert.equal(exemplars.length, 1);
  assert.deepEqual([exemplars[0]!.traceId, exemplars[0]!.spanId], [log!.traceId, log!.spanId], "the SERVER span's ids, as the access log has them");
  const [client] = shape(metrics.find((m) => m.name === "http.client.request.duration")!).points;
  const clientExemplars = client!["exemplars"] as { traceId: string; spanId: string }[];
  assert.equal(clientExemplars.length, 1);
  const [, upstreamTraceId, upstreamParentId, flags] = String(upstream.seen[0]!.traceparent).split("-");
  assert.equal(flags, "02", "unsampled (random flag only)");
  assert.deepEqual([clientExemplars[0]!.traceId, clientExemplars[0]!.spanId], [upstreamTraceId, upstreamParentId], "the CLIENT span's ids: the parent the upstream was given");
  assert.notEqual(clientExemplars[0]!.spanId, log!.spanId, "not the SERVER span's id");
});

test("OTEL_METRICS_EXEMPLAR_FILTER=always_off: sampled requests carry no exemplar, on OTLP or OpenMetrics", async (t) => {
  const { rx, gw } = await startRig(t, {
    transport: "http",
    env: (rx) => ({
      ...FAST_EXPORTS,
      OTEL_EXPORTER_OTLP_ENDPOINT: rx.url,
      OTEL_TRACES_SAMPLER: "always_on",
      OTEL_METRICS_EXEMPLAR_FILTER: "always_off",
    }),
  });
  await get(gw.url(8080, "/api/a"));
  await gw.telemetry.flush(5000);
  const metrics = await rx.waitForMetrics((m) => m.some((x) => x.name === "http.server.request.duration"));
  assert.ok(rx.spans.some((s) => s.kind === 2), "the request was sampled and exported");
  for (const name of ["http.server.request.duration", "http.client.request.duration"]) {
    const [p] = shape(metrics.find((m) => m.name === name)!).points;
    assert.equal(value(p!), 1);
    assert.equal(p!["exemplars"], undefined, `${name}: no exemplar`);
  }
  const om = await gw.telemetry.metrics!.render("application/openmetrics-text");
  assert.match(om.body, /^http_server_request_duration_seconds_count\{[^}]*\} 1$/m);
  assert.doesNotMatch(om.body, /trace_id=/);
});

test("OTEL_METRICS_EXPORTER: console writes JSON lines to stdout, prometheus is pull only, none leaves /metrics to the fallback exposition", async (t) => {
  const rx = await startOtlpReceiver("http");
  t.after(() => rx.close());
  const upstream = await startUpstream();
  t.after(() => upstream.close());
  const config = gatewayYaml({ upstreamPort: upstream.port });
  const base = { OTEL_TRACES_EXPORTER: "none", OTEL_LOGS_EXPORTER: "none", OTEL_EXPORTER_OTLP_ENDPOINT: rx.url, OTEL_METRIC_EXPORT_INTERVAL: "100" };
  const requestCount = (body: string): number =>
    [...body.matchAll(/^http_server_request_duration_seconds_count\{[^}]*\} (\d+)$/gm)].reduce((n, m) => n + Number(m[1]), 0);

  const consoleGw = await startGateway({ config, env: { ...base, OTEL_METRICS_EXPORTER: "console" } });
  t.after(() => consoleGw.stop());
  for (let i = 0; i < 3; i++) await httpRequest(consoleGw.url(8080, "/api/c"));
  const deadline = Date.now() + 15_000;
  let counted: number | undefined;
  while (counted === undefined && Date.now() < deadline) {
    for (const raw of completeLines(consoleGw.stdout())) {
      const line = JSON.parse(raw) as { metric: { name: string; unit: string }; aggregationTemporality: number; dataPoints: { value: { count: number } }[]; resource: Record<string, string> };
      if (line.metric.name === "http.server.request.duration" && line.dataPoints[0]?.value.count === 3) {
        assert.equal(line.metric.unit, "s");
        assert.equal(line.resource["service.name"], "http.kgateway-system");
        counted = 3;
      }
    }
    if (counted === undefined) await new Promise((r) => setTimeout(r, 50));
  }
  assert.equal(counted, 3, "a console line with the three requests");
  const consoleScrape = await httpRequest(consoleGw.opsUrl("/metrics"));
  assert.equal(requestCount(consoleScrape.body), 3, "/metrics is always served from the same instruments");

  const promGw = await startGateway({ config, env: { ...base, OTEL_METRICS_EXPORTER: "prometheus" } });
  t.after(() => promGw.stop());
  for (let i = 0; i < 2; i++) await httpRequest(promGw.url(8080, "/api/p"));
  assert.equal(requestCount((await httpRequest(promGw.opsUrl("/metrics"))).body), 2);
  assert.equal(promGw.stdout(), "");

  const noneGw = await startGateway({ config, env: { ...base, OTEL_METRICS_EXPORTER: "none" } });
  t.after(() => noneGw.stop());
  await httpRequest(noneGw.url(8080, "/api/n"));
  const noneScrape = await httpRequest(noneGw.opsUrl("/metrics"));
  assert.equal(noneScrape.status, 200, "the ops port contract stays: /metrics answers");
  assert.equal(requestCount(noneScrape.body), 0, "no request instruments with none");
  assert.match(noneScrape.body, /^tollgate_build_info\{/m);

  // Only `otlp` (or no setting) pushes: after several intervals the receiver has nothing.
  await new Promise((r) => setTimeout(r, 400));
  await Promise.all([consoleGw.stop(), promGw.stop(), noneGw.stop()]);
  assert.equal(rx.metrics.length, 0, "console, prometheus and none never push OTLP");
});
