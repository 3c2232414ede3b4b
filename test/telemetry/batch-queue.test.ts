// The export queue in front of a real OTLP/gRPC exporter: several full batches in flight at
// once to a collector that answers, a bound on them when the collector never answers, and
// every item either acknowledged or counted as dropped.
import { test } from "node:test";
import assert from "node:assert/strict";
import type { ReadableSpan } from "@opentelemetry/sdk-trace";
import { BatchQueue, MAX_CONCURRENT_EXPORTS } from "../../src/telemetry/export/batch-queue.ts";
import { TelemetryDrops } from "../../src/telemetry/export/drops.ts";
import { resolveOtlpExporterConfig } from "../../src/telemetry/export/otlp-config.ts";
import { createOtlpSpanExporter } from "../../src/telemetry/export/span-exporter.ts";
import { blackHoleServer, startOtlpReceiver } from "../support/otlp-receiver.ts";
import { ownSpans } from "./span-fixtures.ts";

function queueFor(url: string, drops: TelemetryDrops, maxQueueSize: number, exportTimeoutMs: number): BatchQueue<ReadableSpan> {
  const config = resolveOtlpExporterConfig({ OTEL_EXPORTER_OTLP_ENDPOINT: url, OTEL_EXPORTER_OTLP_PROTOCOL: "grpc", OTEL_EXPORTER_OTLP_TIMEOUT: String(exportTimeoutMs) }, "traces", undefined);
  return new BatchQueue(createOtlpSpanExporter(config), {
    signal: "traces",
    maxQueueSize,
    maxExportBatchSize: 100,
    scheduledDelayMs: 60_000,
    exportTimeoutMs,
    drops,
    warning: undefined,
  });
}

const tick = (): Promise<void> => new Promise((resolve) => setImmediate(resolve));

test("a healthy collector receives every span, full batches sent without waiting for the schedule", async () => {
  const receiver = await startOtlpReceiver("grpc");
  const drops = new TelemetryDrops();
  const queue = queueFor(receiver.url, drops, 2048, 10_000);
  try {
    const spans = ownSpans(500);
    for (const s of spans) queue.push(s);
    await tick();
    assert.equal(queue.inFlight, MAX_CONCURRENT_EXPORTS, "several batches in flight at once");
    const received = await receiver.waitForSpans((all) => all.length >= 1000, 15_000);
    assert.equal(received.length, 1000);
    assert.equal(new Set(received.map((s) => s.spanId)).size, 1000);
    assert.deepEqual(drops.snapshot(), []);
    await queue.flush(5_000);
    assert.equal(queue.exported, 1000);
    assert.equal(queue.length, 0);
  } finally {
    await queue.shutdown(2_000);
    await receiver.close();
  }
});

test("a collector that never answers holds at most the concurrent batches; the rest is dropped and counted", async () => {
  const hole = await blackHoleServer();
  const drops = new TelemetryDrops();
  const queue = queueFor(hole.url, drops, 1000, 60_000);
  try {
    const spans = ownSpans(1000);
    for (const s of spans.slice(0, 1000)) queue.push(s);
    await tick();
    assert.equal(queue.inFlight, MAX_CONCURRENT_EXPORTS);
    assert.equal(queue.length, 1000 - MAX_CONCURRENT_EXPORTS * 100);
    for (const s of spans.slice(1000)) queue.push(s);
    await tick();
    assert.equal(queue.inFlight, MAX_CONCURRENT_EXPORTS, "no more exports start while the first ones hang");
    assert.equal(queue.length, 1000);
    assert.equal(drops.get("traces", "queue_full"), 1000 - MAX_CONCURRENT_EXPORTS * 100);
  } finally {
    await queue.shutdown(300);
    await hole.close();
  }
  // Nothing vanished: everything pushed is acknowledged or counted.
  assert.equal(queue.exported + drops.get("traces"), 2000);
});
