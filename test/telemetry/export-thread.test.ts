// TOLLGATE_TELEMETRY_EXPORT_THREAD's exporters: batches are encoded on the request thread as
// they are queued, the finished request crosses to the export thread, and the SDK's transport
// there delivers it to a real OTLP receiver (decoded with the official protos), over gRPC and
// http/protobuf, for requests small enough to share Node's buffer pool and large ones that own
// their memory. The thread exists while an exporter is open and ends with the last one.
import { test } from "node:test";
import assert from "node:assert/strict";
import { readdirSync, readFileSync } from "node:fs";
import type { ReadableSpan } from "@opentelemetry/sdk-trace";
import type { ExportResultLike, ItemExporter } from "../../src/telemetry/export/batch-queue.ts";
import { EXPORT_THREAD_NAME, threadedLogExporter, threadedSpanExporter } from "../../src/telemetry/export/export-thread.ts";
import { resolveOtlpExporterConfig } from "../../src/telemetry/export/otlp-config.ts";
import { ENCODED_LOG_BATCHES } from "../../src/telemetry/export/otlp-proto/logs.ts";
import type { EncodedBatch } from "../../src/telemetry/export/otlp-proto/request.ts";
import { ENCODED_SPAN_BATCHES } from "../../src/telemetry/export/otlp-proto/trace.ts";
import { startOtlpReceiver } from "../support/otlp-receiver.ts";
import { accessLogRecords, ownSpans } from "./span-fixtures.ts";

function threadNames(): string[] {
  const names: string[] = [];
  for (const task of readdirSync("/proc/self/task")) {
    try {
      names.push(readFileSync(`/proc/self/task/${task}/comm`, "utf8").trim());
    } catch {
      // The thread ended while we listed them.
    }
  }
  return names;
}

function exportBatch<T>(exporter: ItemExporter<T, unknown>, batch: unknown): Promise<ExportResultLike> {
  return new Promise((resolve) => exporter.export(batch, resolve));
}

async function until(condition: () => boolean, what: string, timeoutMs = 5000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!condition()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

function encodedSpans(spans: readonly ReadableSpan[]): EncodedBatch {
  const batch = ENCODED_SPAN_BATCHES.create();
  for (const span of spans) ENCODED_SPAN_BATCHES.add(batch, span);
  return batch;
}

for (const transport of ["grpc", "http"] as const) {
  const protocol = transport === "grpc" ? "grpc" : "http/protobuf";
  test(`export thread over ${protocol}: small and large span batches and a log batch arrive intact; the thread ends with the last exporter`, async (t) => {
    const rx = await startOtlpReceiver(transport);
    t.after(() => rx.close());
    const env = { OTEL_EXPORTER_OTLP_ENDPOINT: rx.url, OTEL_EXPORTER_OTLP_PROTOCOL: protocol };
    assert.ok(!threadNames().includes(EXPORT_THREAD_NAME), "no export thread before an exporter exists");

    const spanExporter = threadedSpanExporter(resolveOtlpExporterConfig(env, "traces", undefined));
    const logExporter = threadedLogExporter(resolveOtlpExporterConfig(env, "logs", undefined));
    // On failure too, so a leftover thread does not fail the next test's checks.
    t.after(() => Promise.all([spanExporter.shutdown(), logExporter.shutdown()]));
    // Items are encoded into their batch on this thread as they are queued.
    assert.equal(spanExporter.format, ENCODED_SPAN_BATCHES);
    assert.equal(logExporter.format, ENCODED_LOG_BATCHES);

    // One span (a request of a few hundred bytes, which shares Node's buffer pool) and 400 (its own buffer).
    const small = ownSpans(1);
    const large = ownSpans(400);
    assert.deepEqual(await exportBatch(spanExporter, encodedSpans(small)), { code: 0 });
    assert.ok(threadNames().includes(EXPORT_THREAD_NAME), `a thread named ${EXPORT_THREAD_NAME} exports`);
    assert.deepEqual(await exportBatch(spanExporter, encodedSpans(large)), { code: 0 });
    const records = accessLogRecords(50);
    const logBatch = ENCODED_LOG_BATCHES.create();
    for (const r of records) ENCODED_LOG_BATCHES.add(logBatch, r);
    assert.deepEqual(await exportBatch(logExporter, logBatch), { code: 0 });

    const sent = [...small, ...large];
    const received = await rx.waitForSpans((s) => s.length >= sent.length);
    assert.equal(received.length, sent.length);
    assert.deepEqual(
      received.map((s) => `${s.traceId}/${s.spanId}/${s.name}`),
      sent.map((s) => `${s.spanContext().traceId}/${s.spanContext().spanId}/${s.name}`),
    );
    const logs = await rx.waitForLogs((l) => l.length >= records.length);
    assert.deepEqual(
      logs.map((l) => l.spanId),
      // A record without a span context has an empty span_id on the wire.
      records.map((r) => r.spanContext?.spanId ?? ""),
    );
    assert.ok(rx.requests.length >= 3 && rx.requests.every((r) => r.transport === transport));

    await spanExporter.shutdown();
    assert.deepEqual(await exportBatch(spanExporter, encodedSpans(ownSpans(1))), { code: 1, error: new Error("exporter is shut down") });
    assert.ok(threadNames().includes(EXPORT_THREAD_NAME), "the log exporter still uses the thread");
    await logExporter.shutdown();
    await until(() => !threadNames().includes(EXPORT_THREAD_NAME), "the export thread to end");
  });
}

test("export thread: http/json exporters stay on the request thread with the SDK's JSON serializer", () => {
  const env = { OTEL_EXPORTER_OTLP_ENDPOINT: "http://127.0.0.1:4318", OTEL_EXPORTER_OTLP_PROTOCOL: "http/json" };
  const spans = threadedSpanExporter(resolveOtlpExporterConfig(env, "traces", undefined));
  const logs = threadedLogExporter(resolveOtlpExporterConfig(env, "logs", undefined));
  // No encoded-batch format: the queue hands them arrays of items, as in process.
  assert.equal(spans.format, undefined);
  assert.equal(logs.format, undefined);
  assert.ok(!threadNames().includes(EXPORT_THREAD_NAME));
  return Promise.all([spans.shutdown(), logs.shutdown()]).then(() => undefined);
});
