// kgateway accessLog[].openTelemetry.attributes and resourceAttributes are OTLP AnyValues:
// intValue, boolValue and doubleValue keep their types on the exported LogRecord and resource.
import { test } from "node:test";
import assert from "node:assert/strict";
import { gatewayYaml, get, otelAccessLogPolicyYaml } from "./harness.ts";
import { startRig } from "./rig.ts";

test("kgateway accessLog attributes keep their AnyValue types on the LogRecord and its resource", async (t) => {
  const entry = `      attributes:
        values:
        - {key: tier, value: {intValue: 3}}
        - {key: canary, value: {boolValue: true}}
        - {key: weight, value: {doubleValue: 0.25}}
      resourceAttributes:
        values:
        - {key: shard, value: {intValue: 7}}
`;
  const { rx, gw } = await startRig(t, {
    transport: "grpc",
    yaml: (upstreamPort, rx) => gatewayYaml({ upstreamPort, extra: otelAccessLogPolicyYaml("access-logs", rx.port, entry) }),
    env: () => ({ OTEL_BLRP_SCHEDULE_DELAY: "20", OTEL_TRACES_EXPORTER: "none", OTEL_METRICS_EXPORTER: "none" }),
  });
  assert.equal((await get(gw.url(8080, "/api/x"))).status, 200);
  const [log] = await rx.waitForLogs((l) => l.length >= 1);
  assert.equal(log!.attributes["tier"], 3);
  assert.equal(log!.attributes["canary"], true);
  assert.equal(log!.attributes["weight"], 0.25);
  assert.equal(log!.resource.attributes["shard"], 7);
});
