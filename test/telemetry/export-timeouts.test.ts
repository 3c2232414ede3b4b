// Export timeouts from the environment: 0 means no timeout (the SDK configuration spec says
// implementations SHOULD read a zero timeout as indefinite), not "give up at once".
import { test } from "node:test";
import assert from "node:assert/strict";
import { NO_TIMEOUT_MS } from "../../src/telemetry/env.ts";
import { resolveOtlpExporterConfig } from "../../src/telemetry/export/otlp-config.ts";
import { batchSettingsFromEnv } from "../../src/telemetry/export/pipelines.ts";
import { metricSettingsFromEnv } from "../../src/telemetry/metrics/settings.ts";
import { get } from "./harness.ts";
import { startRig } from "./rig.ts";

test("a zero timeout is no timeout for OTEL_BSP/BLRP_EXPORT_TIMEOUT, OTEL_METRIC_EXPORT_TIMEOUT and OTEL_EXPORTER_OTLP_*TIMEOUT", () => {
  assert.equal(batchSettingsFromEnv({ OTEL_BSP_EXPORT_TIMEOUT: "0" }, "OTEL_BSP").exportTimeoutMs, NO_TIMEOUT_MS);
  assert.equal(batchSettingsFromEnv({ OTEL_BLRP_EXPORT_TIMEOUT: "0" }, "OTEL_BLRP").exportTimeoutMs, NO_TIMEOUT_MS);
  assert.equal(metricSettingsFromEnv({ OTEL_METRIC_EXPORT_TIMEOUT: "0" }).timeoutMs, NO_TIMEOUT_MS);
  const zero = resolveOtlpExporterConfig({ OTEL_EXPORTER_OTLP_TIMEOUT: "0" }, "traces", undefined);
  assert.equal(zero.timeoutMs, NO_TIMEOUT_MS);
  assert.deepEqual(zero.problems, []);
  assert.equal(resolveOtlpExporterConfig({ OTEL_EXPORTER_OTLP_LOGS_TIMEOUT: "0", OTEL_EXPORTER_OTLP_TIMEOUT: "5" }, "logs", undefined).timeoutMs, NO_TIMEOUT_MS);
  // Defaults, ordinary values and the timer's ceiling stay as they were.
  assert.equal(batchSettingsFromEnv({}, "OTEL_BSP").exportTimeoutMs, 30_000);
  assert.equal(batchSettingsFromEnv({ OTEL_BSP_EXPORT_TIMEOUT: "250" }, "OTEL_BSP").exportTimeoutMs, 250);
  assert.equal(batchSettingsFromEnv({ OTEL_BSP_EXPORT_TIMEOUT: "1e12" }, "OTEL_BSP").exportTimeoutMs, NO_TIMEOUT_MS, "capped where setTimeout would fire at once");
  assert.equal(resolveOtlpExporterConfig({}, "traces", undefined).timeoutMs, 10_000);
  const negative = resolveOtlpExporterConfig({ OTEL_EXPORTER_OTLP_TIMEOUT: "-1" }, "traces", undefined);
  assert.equal(negative.timeoutMs, 10_000);
  assert.match(negative.problems[0]!, /OTEL_EXPORTER_OTLP_TIMEOUT: '-1' is not a non-negative number of milliseconds \(0 is no timeout\)/);
});

test("with every export timeout 0, spans and access logs reach the collector over gRPC and nothing is dropped", async (t) => {
  const { rx, gw } = await startRig(t, {
    transport: "grpc",
    env: (r) => ({
      OTEL_EXPORTER_OTLP_ENDPOINT: r.url,
      OTEL_EXPORTER_OTLP_PROTOCOL: "grpc",
      OTEL_LOGS_EXPORTER: "otlp",
      OTEL_EXPORTER_OTLP_TIMEOUT: "0",
      OTEL_BSP_EXPORT_TIMEOUT: "0",
      OTEL_BLRP_EXPORT_TIMEOUT: "0",
      OTEL_BSP_SCHEDULE_DELAY: "20",
      OTEL_BLRP_SCHEDULE_DELAY: "20",
    }),
  });
  for (let i = 0; i < 3; i++) assert.equal((await get(gw.url(8080, `/api/zero-${i}`))).status, 200);
  await rx.waitForSpans((s) => s.filter((x) => x.kind === 2).length >= 3);
  await rx.waitForLogs((l) => l.length >= 3);
  const drops = gw.telemetry.drops;
  assert.equal(drops.get("traces") + drops.get("logs"), 0, "a zero timeout must not time exports out");
});
