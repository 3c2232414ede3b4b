// A reload that changes a Gateway's identity (its service name) moves its series to a new
// resource. /metrics then shows only the new one, and OTLP exports the old one a last time.
import { test, type TestContext } from "node:test";
import assert from "node:assert/strict";
import { startOtlpReceiver, type OtlpReceiver, type ReceivedMetric } from "../support/otlp-receiver.ts";
import { gatewayYaml, get, startTracedGateway, startUpstream, tracingPolicyYaml, type TracedGateway } from "./harness.ts";

/** The request count of http.server.request.duration per service.name in these exports. */
function countsByService(metrics: readonly ReceivedMetric[]): Record<string, number> {
  const out: Record<string, number> = {};
  for (const m of metrics) {
    if (m.name !== "http.server.request.duration") continue;
    const service = String(m.resource.attributes["service.name"]);
    const points = (m.data as { histogram?: { dataPoints?: { count?: unknown }[] } }).histogram?.dataPoints ?? [];
    out[service] = (out[service] ?? 0) + points.reduce((n, p) => n + Number(p.count), 0);
  }
  return out;
}

/** A gateway whose kgateway policy names the service (`yaml(name)`), started as edge-a; metrics exported only on flush. */
async function startRenamable(
  t: TestContext,
  handler?: Parameters<typeof startUpstream>[0],
): Promise<{ rx: OtlpReceiver; gw: TracedGateway; yaml: (service: string) => string }> {
  const rx = await startOtlpReceiver("http");
  t.after(() => rx.close());
  const upstream = await startUpstream(handler);
  t.after(() => upstream.close());
  const yaml = (service: string) =>
    gatewayYaml({ upstreamPort: upstream.port, extra: tracingPolicyYaml(rx.port).replace("      openTelemetry:\n", `      openTelemetry:\n        serviceName: ${service}\n`) });
  const gw = await startTracedGateway(yaml("edge-a"), {
    OTEL_METRIC_EXPORT_INTERVAL: "3600000",
    OTEL_METRICS_EXPORTER: "otlp,prometheus",
    OTEL_TRACES_EXPORTER: "none",
    OTEL_EXPORTER_OTLP_ENDPOINT: rx.url,
  });
  t.after(() => gw.close());
  return { rx, gw, yaml };
}

test("a reload that renames the service: /metrics holds each series once, and OTLP exports the old identity one last time", async (t) => {
  const { rx, gw, yaml } = await startRenamable(t);
  for (let i = 0; i < 3; i++) assert.equal((await get(gw.url(8080, "/api/a"))).status, 200);
  gw.reload(yaml("edge-b"));
  assert.equal((await get(gw.url(8080, "/api/b"))).status, 200);

  const { body } = await gw.telemetry.metrics!.render(undefined);
  const targets = [...body.matchAll(/^target_info\{[^}]*service_name="([^"]+)"/gm)].map((m) => m[1]);
  assert.deepEqual(targets, ["edge-b"]);
  const counts = [...body.matchAll(/^http_server_request_duration_seconds_count\{[^}]*\} (\d+)$/gm)].map((m) => Number(m[1]));
  assert.deepEqual(counts, [1], "one series, the live one");

  await gw.telemetry.flush(5000);
  await rx.waitForMetrics((m) => countsByService(m)["edge-b"] === 1);
  assert.deepEqual(countsByService(rx.metrics), { "edge-a": 3, "edge-b": 1 }, "the old identity's last export holds its 3 requests");
  const exported = rx.metrics.length;
  assert.equal((await get(gw.url(8080, "/api/b"))).status, 200);
  await gw.telemetry.flush(5000);
  await rx.waitForMetrics((m) => m.length > exported && countsByService(m.slice(exported))["edge-b"] === 2);
  assert.deepEqual(countsByService(rx.metrics.slice(exported)), { "edge-b": 2 }, "the old identity is exported no more");
});

test("a reload back to an identity before its last export (A → B → A) takes its series back: one series, still counting", async (t) => {
  const { rx, gw, yaml } = await startRenamable(t);
  for (let i = 0; i < 3; i++) assert.equal((await get(gw.url(8080, "/api/a"))).status, 200);
  gw.reload(yaml("edge-b"));
  assert.equal((await get(gw.url(8080, "/api/b"))).status, 200);
  gw.reload(yaml("edge-a"));
  for (let i = 0; i < 2; i++) assert.equal((await get(gw.url(8080, "/api/a"))).status, 200);

  const { body } = await gw.telemetry.metrics!.render(undefined);
  assert.deepEqual([...body.matchAll(/^target_info\{[^}]*service_name="([^"]+)"/gm)].map((m) => m[1]), ["edge-a"]);
  const counts = [...body.matchAll(/^http_server_request_duration_seconds_count\{[^}]*\} (\d+)$/gm)].map((m) => Number(m[1]));
  assert.deepEqual(counts, [5], "the counter goes on from 3, it does not restart");

  await gw.telemetry.flush(5000);
  await rx.waitForMetrics((m) => countsByService(m)["edge-a"] !== undefined && countsByService(m)["edge-b"] !== undefined);
  const durations = rx.metrics.filter((m) => m.name === "http.server.request.duration");
  const aPoints = durations
    .filter((m) => m.resource.attributes["service.name"] === "edge-a")
    .flatMap((m) => (m.data as { histogram?: { dataPoints?: { count?: unknown }[] } }).histogram?.dataPoints ?? []);
  assert.deepEqual(aPoints.map((p) => Number(p.count)), [5], "one point for edge-a's series, not a frozen 3 beside a restarted 2");
  assert.deepEqual(countsByService(rx.metrics), { "edge-a": 5, "edge-b": 1 });
});

test("a request in flight across the reload is counted under the old identity, which OTLP exports until that request has ended", async (t) => {
  let release: () => void = () => {};
  const held = new Promise<void>((resolve) => (release = resolve));
  let arrived: () => void = () => {};
  const arrival = new Promise<void>((resolve) => (arrived = resolve));
  const { rx, gw, yaml } = await startRenamable(t, (req, res) => {
    if (req.url !== "/api/slow") return void res.writeHead(200).end("ok");
    arrived();
    void held.then(() => res.writeHead(200).end("late"));
  });

  assert.equal((await get(gw.url(8080, "/api/a"))).status, 200);
  const slow = get(gw.url(8080, "/api/slow"));
  await arrival;
  gw.reload(yaml("edge-b"));
  assert.equal((await get(gw.url(8080, "/api/b"))).status, 200);

  await gw.telemetry.flush(5000);
  await rx.waitForMetrics((m) => countsByService(m)["edge-b"] === 1);
  assert.deepEqual(countsByService(rx.metrics), { "edge-a": 1, "edge-b": 1 }, "the slow request has not ended yet");

  release();
  assert.equal((await slow).status, 200);
  let exported = rx.metrics.length;
  await gw.telemetry.flush(5000);
  await rx.waitForMetrics((m) => m.length > exported && countsByService(m.slice(exported))["edge-a"] !== undefined);
  assert.deepEqual(countsByService(rx.metrics.slice(exported)), { "edge-a": 2, "edge-b": 1 }, "the old identity's export after the reload holds the straddling request");

  exported = rx.metrics.length;
  assert.equal((await get(gw.url(8080, "/api/b"))).status, 200);
  await gw.telemetry.flush(5000);
  await rx.waitForMetrics((m) => m.length > exported && countsByService(m.slice(exported))["edge-b"] === 2);
  assert.deepEqual(countsByService(rx.metrics.slice(exported)), { "edge-b": 2 }, "then the old identity is exported no more");
});
