// Telemetry variables with values their readers cannot use get one warning each at start,
// and no value makes a timer fire every millisecond: an interval of 0 or one beyond the
// timer maximum, or a collector slower than the metric interval.
import { test } from "node:test";
import assert from "node:assert/strict";
import { AggregationTemporality, DataPointType, type ResourceMetrics } from "@opentelemetry/sdk-metrics";
import { ValueType } from "@opentelemetry/api";
import { resourceFromAttributes } from "@opentelemetry/resources";
import { envValueProblems } from "../../src/telemetry/env-check.ts";
import { NO_TIMEOUT_MS } from "../../src/telemetry/env.ts";
import { TelemetryDrops } from "../../src/telemetry/export/drops.ts";
import { resolveOtlpExporterConfig } from "../../src/telemetry/export/otlp-config.ts";
import { batchSettingsFromEnv } from "../../src/telemetry/export/pipelines.ts";
import { createOtlpMetricExporter, PeriodicReader } from "../../src/telemetry/metrics/otlp-export.ts";
import { metricSettingsFromEnv } from "../../src/telemetry/metrics/settings.ts";
import { blackHoleServer } from "../support/otlp-receiver.ts";
import { startRig } from "./rig.ts";

test("a boolean other than true/false and a number that does not parse are reported, by variable", () => {
  const problems = envValueProblems({
    OTEL_SDK_DISABLED: "1",
    OTEL_EXPORTER_OTLP_INSECURE: "yes",
    OTEL_EXPORTER_OTLP_LOGS_INSECURE: "TRUE",
    OTEL_BSP_SCHEDULE_DELAY: "5s",
    OTEL_BLRP_MAX_QUEUE_SIZE: "-1",
    OTEL_METRIC_EXPORT_TIMEOUT: "30000",
    OTEL_SPAN_ATTRIBUTE_COUNT_LIMIT: "many",
    TOLLGATE_STDOUT_BUFFER_BYTES: "",
  });
  assert.deepEqual(problems, [
    "OTEL_SDK_DISABLED: '1' is not a boolean (true or false); the default applies",
    "OTEL_EXPORTER_OTLP_INSECURE: 'yes' is not a boolean (true or false); the default applies",
    "OTEL_BSP_SCHEDULE_DELAY: '5s' is not a non-negative number; the default applies",
    "OTEL_BLRP_MAX_QUEUE_SIZE: '-1' is not a non-negative number; the default applies",
    "OTEL_SPAN_ATTRIBUTE_COUNT_LIMIT: 'many' is not a non-negative number; the default applies",
  ]);
  assert.deepEqual(envValueProblems({ OTEL_SDK_DISABLED: "false", OTEL_BSP_EXPORT_TIMEOUT: "0", OTEL_ATTRIBUTE_VALUE_LENGTH_LIMIT: "4096" }), []);
});

test("the gateway says so at start", async (t) => {
  const { gw } = await startRig(t, {
    transport: "http",
    env: (rx) => ({ OTEL_EXPORTER_OTLP_ENDPOINT: rx.url, OTEL_METRICS_EXPORTER: "otlp", OTEL_METRIC_EXPORT_INTERVAL: "15s", OTEL_BSP_MAX_EXPORT_BATCH_SIZE: "lots" }),
  });
  const messages = gw.warnings.map((w) => w.message);
  assert.ok(messages.includes("OTEL_METRIC_EXPORT_INTERVAL: '15s' is not a positive number of milliseconds; using 60000"), JSON.stringify(messages));
  assert.ok(messages.includes("OTEL_BSP_MAX_EXPORT_BATCH_SIZE: 'lots' is not a non-negative number; the default applies"), JSON.stringify(messages));
});

test("an interval of 0 is refused, and intervals and schedule delays beyond the timer maximum are capped", () => {
  const zero = metricSettingsFromEnv({ OTEL_METRIC_EXPORT_INTERVAL: "0" });
  assert.equal(zero.intervalMs, 60_000);
  assert.ok(zero.problems.includes("OTEL_METRIC_EXPORT_INTERVAL: '0' is not a positive number of milliseconds; using 60000"), JSON.stringify(zero.problems));
  const huge = metricSettingsFromEnv({ OTEL_METRIC_EXPORT_INTERVAL: "3000000000" });
  assert.equal(huge.intervalMs, NO_TIMEOUT_MS);
  assert.deepEqual(huge.problems, []);
  assert.equal(metricSettingsFromEnv({ OTEL_METRIC_EXPORT_INTERVAL: "15000" }).intervalMs, 15_000);
  assert.equal(batchSettingsFromEnv({ OTEL_BSP_SCHEDULE_DELAY: "3000000000" }, "OTEL_BSP").scheduledDelayMs, NO_TIMEOUT_MS);
  assert.equal(batchSettingsFromEnv({ OTEL_BLRP_SCHEDULE_DELAY: "3000000000" }, "OTEL_BLRP").scheduledDelayMs, NO_TIMEOUT_MS);
});

test("a collector slower than the metric interval: ticks that find an export in flight are skipped, collections never overlap", async (t) => {
  const hole = await blackHoleServer();
  t.after(() => hole.close());
  const exporter = createOtlpMetricExporter(resolveOtlpExporterConfig({ OTEL_EXPORTER_OTLP_ENDPOINT: hole.url, OTEL_EXPORTER_OTLP_TIMEOUT: "60000" }, "metrics", undefined));
  const rm: ResourceMetrics = {
    resource: resourceFromAttributes({ "service.name": "ticks" }),
    scopeMetrics: [
      {
        scope: { name: "test" },
        metrics: [
          {
            descriptor: { name: "c", description: "", unit: "1", valueType: ValueType.INT },
            aggregationTemporality: AggregationTemporality.CUMULATIVE,
            dataPointType: DataPointType.SUM,
            isMonotonic: true,
            dataPoints: [{ startTime: [0, 0], endTime: [1, 0], attributes: {}, value: 1 }],
          },
        ],
      },
    ],
  };
  const TIMEOUT_MS = 300;
  let collections = 0;
  let overlapping = 0;
  const drops = new TelemetryDrops();
  const started = Date.now();
  const reader = new PeriodicReader(exporter, {
    intervalMs: 10,
    timeoutMs: TIMEOUT_MS,
    drops,
    warning: undefined,
    collect: () => {
      // The hole never answers: every earlier collection's single point ends as a timeout.
      if (collections - drops.get("metrics", "export_timeout") > 0) overlapping++;
      collections++;
      return [rm];
    },
  });
  await new Promise((r) => setTimeout(r, 1000));
  const elapsed = Date.now() - started;
  await reader.shutdown(50);
  assert.ok(collections >= 1, "the reader collected");
  assert.equal(overlapping, 0, "no collection started while another was exporting");
  // Every collection waits out its timeout before the next tick may collect.
  assert.ok(collections <= Math.ceil(elapsed / TIMEOUT_MS) + 1, `${collections} collections in ${elapsed} ms`);
  assert.ok(hole.connections() >= 1, "the exporter did connect");
});
