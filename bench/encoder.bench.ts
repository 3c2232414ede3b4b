// OTLP protobuf encoding cost: the SDK's serializers against Tollgate's encoder, on the same
// spans and access log records, in one process. Prints JSON: CPU µs per item.
//   node bench/encoder.bench.ts
import { ProtobufLogsSerializer, ProtobufTraceSerializer } from "@opentelemetry/otlp-transformer";
import type { ReadableLogRecord } from "@opentelemetry/sdk-logs";
import type { ReadableSpan } from "@opentelemetry/sdk-trace";
import type { BatchFormat } from "../src/telemetry/export/batch-queue.ts";
import { ENCODED_LOG_BATCHES, encodeLogsExportRequest } from "../src/telemetry/export/otlp-proto/logs.ts";
import type { EncodedBatch } from "../src/telemetry/export/otlp-proto/request.ts";
import { ENCODED_SPAN_BATCHES, encodeTraceExportRequest } from "../src/telemetry/export/otlp-proto/trace.ts";
import { accessLogRecords, ownSpans } from "../test/telemetry/span-fixtures.ts";

const BATCH = 512;
const ROUNDS = 200;

/** CPU µs per item; fresh items every round, since built attributes are cached on them. */
function measure<T>(make: () => T[], encode: (items: T[]) => unknown): number {
  for (let i = 0; i < 30; i++) encode(make());
  let cpu = 0;
  for (let i = 0; i < ROUNDS; i++) {
    const items = make();
    const start = process.cpuUsage();
    encode(items);
    const used = process.cpuUsage(start);
    cpu += used.user + used.system;
  }
  return Math.round((cpu / ROUNDS / BATCH) * 100) / 100;
}

/** Items encoded into a batch as the export queue does, then the request built from it. */
function queued<T>(items: T[], format: BatchFormat<T, EncodedBatch>): EncodedBatch {
  const batch = format.create();
  for (const item of items) format.add(batch, item);
  return batch;
}

const spans = (): ReadableSpan[] => ownSpans(BATCH / 2);
const logs = (): ReadableLogRecord[] => accessLogRecords(BATCH);

console.log(
  JSON.stringify(
    {
      benchmark: "otlp.protobuf.encode",
      itemsPerBatch: BATCH,
      sdkSpanUs: measure(spans, (s) => ProtobufTraceSerializer.serializeRequest(s)),
      tollgateSpanUs: measure(spans, (s) => encodeTraceExportRequest(queued(s, ENCODED_SPAN_BATCHES))),
      sdkLogRecordUs: measure(logs, (r) => ProtobufLogsSerializer.serializeRequest(r)),
      tollgateLogRecordUs: measure(logs, (r) => encodeLogsExportRequest(queued(r, ENCODED_LOG_BATCHES))),
      node: process.version,
    },
    null,
    2,
  ),
);
