// Issue 4 behaviours the other log and metric tests leave out, end to end through the proxy
// to real upstreams and receivers decoding with the official protos: kgateway access-log
// attributes, resourceAttributes and celFilter; CEL over connection.*; dead collectors for
// logs and metrics counted in tollgate.telemetry.dropped; TelemetryPolicy metrics.mode Off;
// metric overrides of type Metadata.
import { test } from "node:test";
import assert from "node:assert/strict";
import { Agent, request as httpRequest } from "node:http";
import { closedPort, startOtlpReceiver, type ReceivedMetric } from "../support/otlp-receiver.ts";
import { accessLogMatchPolicyYaml, FAST_EXPORTS, gatewayYaml, get, otelAccessLogPolicyYaml, startTracedGateway, startUpstream } from "./harness.ts";
import { startRig } from "./rig.ts";


type Point = Record<string, unknown>;
function points(m: ReceivedMetric | undefined): Point[] {
  if (m === undefined) return [];
  const d = m.data as Record<string, { dataPoints?: Point[] } | undefined>;
  return (d["histogram"] ?? d["exponentialHistogram"] ?? d["sum"] ?? d["gauge"])?.dataPoints ?? [];
}
function pointAttrs(p: Point): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const kv of (p["attributes"] as { key: string; value: Record<string, unknown> }[]) ?? []) out[kv.key] = Object.values(kv.value)[0];
  return out;
}

test("kgateway accessLog: attributes and resourceAttributes on the LogRecords, filter.celFilter.match keeps only the matching requests", async (t) => {
  const entry = `      logName: errors
      body: "%RESPONSE_CODE% %REQ(:PATH)%"
      attributes:
        values:
        - {key: team, value: {stringValue: edge}}
        - {key: owner, value: {stringValue: platform}}
      resourceAttributes:
        values:
        - {key: deployment.environment.name, value: {stringValue: staging}}
        - {key: log.pipeline, value: {stringValue: errors-only}}
    filter:
      celFilter:
        match: 'response.code >= 400 && !("x-skip" in request.headers)'
`;
  const { rx, gw } = await startRig(t, {
    transport: "grpc",
    yaml: (upstreamPort, rx) => gatewayYaml({ upstreamPort, extra: otelAccessLogPolicyYaml("access-logs", rx.port, entry) }),
    env: () => ({ ...FAST_EXPORTS, OTEL_TRACES_EXPORTER: "none", OTEL_METRICS_EXPORTER: "none" }),
  });
  const sent: Array<[string, Record<string, string>, number]> = [
    ["/api/ok", {}, 200],
    ["/api/missing", { "x-status": "404" }, 404],
    ["/api/skipped", { "x-status": "500", "x-skip": "1" }, 500],
    ["/api/broken", { "x-status": "503" }, 503],
    ["/api/fine", {}, 200],
  ];
  for (const [path, headers, status] of sent) assert.equal((await get(gw.url(8080, path), headers)).status, status);
  await gw.telemetry.flush(2000);
  const logs = await rx.waitForLogs((l) => l.length >= 2);
  assert.deepEqual(logs.map((l) => l.body), ["404 /api/missing", "503 /api/broken"], "only the requests the CEL filter matches, in order");
  const plainResource = gw.telemetry.resourceFor(gw.plan.config.gateways[0]).attributes;
  for (const log of logs) {
    assert.equal(log.scope.name, "errors");
    assert.equal(log.attributes["team"], "edge");
    assert.equal(log.attributes["owner"], "platform");
    assert.equal(log.resource.attributes["deployment.environment.name"], "staging");
    assert.equal(log.resource.attributes["log.pipeline"], "errors-only");
    assert.equal(log.resource.attributes["service.name"], plainResource["service.name"], "added to the gateway's resource, not replacing it");
  }
  assert.equal(gw.telemetry.exportedLogRecords(), 2);
});

/** One request on `agent`; resolves with the status and the client's local port. */
function onAgent(url: string, agent: Agent): Promise<{ status: number; port: number }> {
  return new Promise((resolve, reject) => {
    let port = 0;
    const req = httpRequest(url, { agent }, (res) => {
      res.resume();
      res.on("end", () => resolve({ status: res.statusCode ?? 0, port }));
    });
    req.on("socket", (s) => {
      if (s.localPort !== undefined) port = s.localPort;
      else s.once("connect", () => (port = s.localPort ?? 0));
    });
    req.on("error", reject);
    req.end();
  });
}

test("TelemetryPolicy accessLogs CEL over connection.*: client_port and client_address select one connection's requests", async (t) => {
  const { rx, upstream, gw } = await startRig(t, {
    transport: "http",
    yaml: (upstreamPort) => gatewayYaml({ upstreamPort, extra: accessLogMatchPolicyYaml("connection.client_port == 0") }),
    env: (rx) => ({ ...FAST_EXPORTS, OTEL_TRACES_EXPORTER: "none", OTEL_METRICS_EXPORTER: "none", OTEL_EXPORTER_OTLP_ENDPOINT: rx.url }),
  });
  const yamlFor = (matches: string): string => gatewayYaml({ upstreamPort: upstream.port, extra: accessLogMatchPolicyYaml(matches) });
  const kept = new Agent({ keepAlive: true, maxSockets: 1 });
  t.after(() => kept.destroy());
  const first = await onAgent(gw.url(8080, "/api/first"), kept);
  assert.equal(first.status, 200);
  assert.ok(first.port > 0);
  // Now only that connection's requests, from the loopback client, without mTLS.
  gw.reload(yamlFor(`connection.client_port == ${first.port} && connection.client_address == "127.0.0.1" && connection.mtls == false && connection.id > 0`));
  const second = await onAgent(gw.url(8080, "/api/same-connection"), kept);
  assert.equal(second.port, first.port, "the keep-alive connection was reused");
  const fresh = new Agent({ keepAlive: false });
  const third = await onAgent(gw.url(8080, "/api/other-connection"), fresh);
  assert.notEqual(third.port, first.port);
  await gw.telemetry.flush(2000);
  const logs = await rx.waitForLogs((l) => l.length >= 1);
  assert.deepEqual(logs.map((l) => l.attributes["url.path"]), ["/api/same-connection"], "the first request (client_port == 0 never holds) and the other connection are filtered out");
});

test("dead collector for logs and metrics: every request succeeds, drops are counted per signal and reason and exposed as tollgate.telemetry.dropped", async (t) => {
  const port = await closedPort();
  const upstream = await startUpstream();
  t.after(() => upstream.close());
  const gw = await startTracedGateway(gatewayYaml({ upstreamPort: upstream.port }), {
    OTEL_TRACES_EXPORTER: "none",
    OTEL_LOGS_EXPORTER: "otlp",
    OTEL_METRICS_EXPORTER: "otlp,prometheus",
    OTEL_EXPORTER_OTLP_ENDPOINT: `http://127.0.0.1:${port}`,
    OTEL_EXPORTER_OTLP_TIMEOUT: "300",
    OTEL_BLRP_SCHEDULE_DELAY: "10",
    OTEL_METRIC_EXPORT_INTERVAL: "50",
    OTEL_METRIC_EXPORT_TIMEOUT: "300",
  });
  t.after(() => gw.close());
  const REQUESTS = 40;
  const statuses: number[] = [];
  for (let i = 0; i < REQUESTS; i += 10) statuses.push(...(await Promise.all(Array.from({ length: 10 }, () => get(gw.url(8080, "/api/x"))))).map((r) => r.status));
  assert.deepEqual(statuses, Array.from({ length: REQUESTS }, () => 200));
  await gw.telemetry.flush(5000);
  const drops = gw.telemetry.drops;
  assert.equal(gw.telemetry.exportedLogRecords(), 0);
  assert.equal(drops.get("logs"), REQUESTS, "every log record is accounted for as dropped");
  assert.equal(drops.get("logs", "export_failed") + drops.get("logs", "export_timeout"), REQUESTS, "for an export reason, not queue_full");
  assert.equal(gw.telemetry.exportedMetricPoints(), 0);
  assert.ok(drops.get("metrics", "export_failed") + drops.get("metrics", "export_timeout") > 0, "failed metric exports are counted");
  for (const signal of ["logs", "metrics"]) {
    const warnings = gw.warnings.filter((w) => w.message.startsWith("telemetry export to") && w.fields.signal === signal);
    assert.equal(warnings.length, 1, `${signal}: one warning per exporter per minute`);
    assert.ok(warnings[0]!.message.includes(`127.0.0.1:${port}`), warnings[0]!.message);
  }
  // The pull side reports the same counts the runtime holds.
  assert.ok(gw.telemetry.metrics, "a Prometheus endpoint over the same instruments");
  const { body } = await gw.telemetry.metrics.render(undefined);
  const series = new Map<string, number>();
  for (const m of body.matchAll(/^tollgate_telemetry_dropped_total\{([^}]*)\} (\S+)$/gm)) {
    const labels = Object.fromEntries([...m[1]!.matchAll(/(\w+)="([^"]*)"/g)].map((x) => [x[1], x[2]]));
    series.set(`${labels.signal}/${labels.reason}`, Number(m[2]));
  }
  for (const reason of ["export_failed", "export_timeout"] as const) {
    const held = drops.get("logs", reason);
    if (held > 0) assert.equal(series.get(`logs/${reason}`), held, `logs/${reason} on /metrics`);
  }
  assert.equal([...series].filter(([k]) => k.startsWith("logs/")).reduce((n, [, v]) => n + v, 0), REQUESTS);
  assert.ok([...series].some(([k, v]) => k.startsWith("metrics/") && v > 0), `metrics drops on /metrics: ${JSON.stringify([...series])}`);
});

async function metricsForMode(mode: string): Promise<ReceivedMetric[]> {
  const rx = await startOtlpReceiver("http");
  const upstream = await startUpstream();
  const policy = `apiVersion: gateway.networking.x-k8s.io/v1alpha1
kind: TelemetryPolicy
metadata: {name: metrics, namespace: kgateway-system}
spec:
  targetRefs: [{group: gateway.networking.k8s.io, kind: Gateway, name: http}]
  metrics:
    mode: "${mode}"
    overrides:
    - name: http.server.request.duration
      attributes:
      - {name: route_key, type: Metadata, metadataKey: route}
      - {name: chosen_backend, type: Metadata, metadataKey: backend}
      - {name: gw, type: Metadata, metadataKey: gateway}
`;
  const gw = await startTracedGateway(gatewayYaml({ upstreamPort: upstream.port, extra: policy }), { ...FAST_EXPORTS, OTEL_TRACES_EXPORTER: "none", OTEL_EXPORTER_OTLP_ENDPOINT: rx.url });
  try {
    for (let i = 0; i < 3; i++) assert.equal((await get(gw.url(8080, `/api/${mode}-${i}`))).status, 200);
    await gw.telemetry.flush(5000);
    return rx.metrics.slice();
  } finally {
    await gw.close();
    await upstream.close();
    await rx.close();
  }
}

test("TelemetryPolicy metrics: mode On exports request metrics with Metadata override attributes; mode Off exports none", async () => {
  const on = await metricsForMode("On");
  const duration = on.find((m) => m.name === "http.server.request.duration");
  const ps = points(duration);
  assert.equal(ps.length, 1);
  assert.equal(Number(ps[0]!["count"]), 3);
  const a = pointAttrs(ps[0]!);
  assert.equal(a["route_key"], "kgateway-system/httpbin");
  assert.equal(a["chosen_backend"], "kgateway-system/upstream");
  assert.equal(a["gw"], "kgateway-system/http");
  assert.equal(pointAttrs(points(on.find((m) => m.name === "http.server.response.body.size"))[0]!)["route_key"], undefined, "only the named metric gets them");

  const off = await metricsForMode("Off");
  const requestMetrics = off.filter((m) => m.name.startsWith("http."));
  assert.deepEqual(requestMetrics.map((m) => m.name), [], "no request metric for a gateway whose policy turns metrics off");
});

test("http.server.active_requests overrides: request Header and Literal attributes key the series; a response header or the backend is refused with a warning", async (t) => {
  const policy = `apiVersion: gateway.networking.x-k8s.io/v1alpha1
kind: TelemetryPolicy
metadata: {name: active, namespace: kgateway-system}
spec:
  targetRefs: [{group: gateway.networking.k8s.io, kind: Gateway, name: http}]
  metrics:
    overrides:
    - name: http.server.active_requests
      attributes:
      - {name: tenant, type: Header, headerName: X-Tenant}
      - {name: tier, type: Literal, literalValue: edge}
      - {name: chosen_backend, type: Metadata, metadataKey: backend}
`;
  const rx = await startOtlpReceiver("http");
  t.after(() => rx.close());
  const upstream = await startUpstream();
  t.after(() => upstream.close());
  const gw = await startTracedGateway(gatewayYaml({ upstreamPort: upstream.port, extra: policy }), { ...FAST_EXPORTS, OTEL_TRACES_EXPORTER: "none", OTEL_EXPORTER_OTLP_ENDPOINT: rx.url });
  t.after(() => gw.close());
  for (const tenant of ["acme", "acme", "globex"]) assert.equal((await get(gw.url(8080, "/api/x"), { "x-tenant": tenant })).status, 200);
  await gw.telemetry.flush(5000);
  const active = points(rx.metrics.find((m) => m.name === "http.server.active_requests"));
  const byTenant = active.map((p) => pointAttrs(p)).map((a) => [a["tenant"], a["tier"], a["chosen_backend"]]);
  assert.deepEqual(byTenant.sort(), [["acme", "edge", undefined], ["globex", "edge", undefined]]);
  // Every request went down on the series it went up on.
  for (const p of active) assert.equal(Number(p["asInt"] ?? 0), 0, JSON.stringify(pointAttrs(p)));
  const warned = gw.warnings.map((w) => w.message).filter((m) => m.includes("not applied to http.server.active_requests"));
  assert.equal(warned.length, 1, JSON.stringify(gw.warnings));
  assert.match(warned[0]!, /attribute "chosen_backend"/);
});
