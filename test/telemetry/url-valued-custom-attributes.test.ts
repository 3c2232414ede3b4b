// A URL-valued request header (Referer, Location, ...) named as a custom span attribute or a
// metric override attribute is cleaned as captured headers and access logs clean it: no
// userinfo, no sensitive query values.
import { test } from "node:test";
import assert from "node:assert/strict";
import { startOtlpReceiver, type ReceivedMetric } from "../support/otlp-receiver.ts";
import { gatewayYaml, get, startTracedGateway, startUpstream, tracingPolicyYaml } from "./harness.ts";

const REFERER = "https://alice:s3cret@app.example/p?X-Amz-Signature=abc&k=1";
const CLEANED = "https://REDACTED:REDACTED@app.example/p?X-Amz-Signature=REDACTED&k=1";

function pointAttributes(m: ReceivedMetric): Record<string, unknown>[] {
  const points = (m.data as { histogram?: { dataPoints?: { attributes?: { key: string; value: Record<string, unknown> }[] }[] } }).histogram?.dataPoints ?? [];
  return points.map((p) => Object.fromEntries((p.attributes ?? []).map((kv) => [kv.key, Object.values(kv.value)[0]])));
}

test("a Referer named by a span attribute or a metric override is exported without userinfo or signature", async (t) => {
  // The policy's tracing goes over gRPC (kgateway's grpcService); metrics follow the env to the same receiver.
  const rx = await startOtlpReceiver("grpc");
  t.after(() => rx.close());
  const upstream = await startUpstream();
  t.after(() => upstream.close());
  const tracing = "    attributes:\n    - {name: app.referer, requestHeader: {name: referer}}\n";
  const metricsPolicy = `apiVersion: gateway.networking.x-k8s.io/v1alpha1
kind: TelemetryPolicy
metadata: {name: metrics, namespace: kgateway-system}
spec:
  targetRefs: [{group: gateway.networking.k8s.io, kind: Gateway, name: http}]
  metrics:
    mode: "On"
    overrides:
    - name: example.com/http/request_count
      type: Counter
      attributes:
      - {name: referer, type: Header, headerName: Referer}
`;
  const gw = await startTracedGateway(gatewayYaml({ upstreamPort: upstream.port, extra: `${tracingPolicyYaml(rx.port, tracing)}---\n${metricsPolicy}` }), {
    OTEL_BSP_SCHEDULE_DELAY: "20",
    OTEL_METRIC_EXPORT_INTERVAL: "3600000",
    OTEL_EXPORTER_OTLP_ENDPOINT: rx.url,
    OTEL_EXPORTER_OTLP_PROTOCOL: "grpc",
  });
  t.after(() => gw.close());
  assert.equal((await get(gw.url(8080, "/api/x"), { referer: REFERER })).status, 200);

  const spans = await rx.waitForSpans((s) => s.length >= 2);
  for (const span of spans) assert.equal(span.attributes["app.referer"], CLEANED, `kind ${span.kind}`);
  await gw.telemetry.flush(5000);
  const metrics = await rx.waitForMetrics((m) => m.some((x) => x.name === "http.server.request.duration"));
  const duration = metrics.find((m) => m.name === "http.server.request.duration")!;
  assert.deepEqual(pointAttributes(duration).map((a) => a["referer"]), [CLEANED]);
  assert.doesNotMatch(JSON.stringify({ spans, metrics }, (_k, v: unknown) => (typeof v === "bigint" ? String(v) : v)), /s3cret|=abc/);
});
