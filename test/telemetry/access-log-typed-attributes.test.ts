// kgateway accessLog[].openTelemetry.attributes and resourceAttributes are OTLP AnyValues:
// intValue, boolValue and doubleValue keep their types on the exported LogRecord and resource.
import { test } from "node:test";
import assert from "node:assert/strict";
import { startOtlpReceiver } from "../support/otlp-receiver.ts";
import { collectorBackend, gatewayYaml, get, startTracedGateway, startUpstream } from "./harness.ts";

test("kgateway accessLog attributes keep their AnyValue types on the LogRecord and its resource", async (t) => {
  const rx = await startOtlpReceiver("grpc");
  t.after(() => rx.close());
  const upstream = await startUpstream();
  t.after(() => upstream.close());
  const policy = `apiVersion: gateway.kgateway.dev/v1alpha1
kind: HTTPListenerPolicy
metadata: {name: access-logs, namespace: kgateway-system}
spec:
  targetRefs: [{group: gateway.networking.k8s.io, kind: Gateway, name: http}]
  accessLog:
  - openTelemetry:
      grpcService:
        backendRef: {name: collector, namespace: kgateway-system, port: 4317}
      attributes:
        values:
        - {key: tier, value: {intValue: 3}}
        - {key: canary, value: {boolValue: true}}
        - {key: weight, value: {doubleValue: 0.25}}
      resourceAttributes:
        values:
        - {key: shard, value: {intValue: 7}}
`;
  const yaml = gatewayYaml({ upstreamPort: upstream.port, extra: `${policy}---\n${collectorBackend("collector", "kgateway-system", rx.port)}` });
  const gw = await startTracedGateway(yaml, { OTEL_BLRP_SCHEDULE_DELAY: "20", OTEL_TRACES_EXPORTER: "none", OTEL_METRICS_EXPORTER: "none" });
  t.after(() => gw.close());
  assert.equal((await get(gw.url(8080, "/api/x"))).status, 200);
  const [log] = await rx.waitForLogs((l) => l.length >= 1);
  assert.equal(log!.attributes["tier"], 3);
  assert.equal(log!.attributes["canary"], true);
  assert.equal(log!.attributes["weight"], 0.25);
  assert.equal(log!.resource.attributes["shard"], 7);
});
