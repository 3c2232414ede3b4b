// OTLP protobuf encoding cost: the SDK's serializers against Tollgate's encoder, on the same
// spans and access log records, in one process. Prints JSON: CPU µs per item.
//   node bench/encoder.bench.ts
import { ProtobufLogsSerializer, ProtobufTraceSerializer } from "@opentelemetry/otlp-transformer";
import type { ReadableLogRecord } from "@opentelemetry/sdk-logs";
import type { ReadableSpan } from "@opentelemetry/sdk-trace";
import { encodeLogRecordItem, encodeLogsExportRequest } from "../src/telemetry/export/otlp-proto/logs.ts";
import { encodeSpanItem, encodeTraceExportRequest } from "../src/telemetry/export/otlp-proto/trace.ts";
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

const spans = (): ReadableSpan[] => ownSpans(BATCH / 2);
const logs = (): ReadableLogRecord[] => accessLogRecords(BATCH);

console.log(
  JSON.stringify(
    {
      benchmark: "otlp.protobuf.encode",
      itemsPerBatch: BATCH,
      sdkSpanUs: measure(spans, (s) => ProtobufTraceSerializer.serializeRequest(s)),
      tollgateSpanUs: measure(spans, (s) => encodeTraceExportRequest(s.map(encodeSpanItem))),
      sdkLogRecordUs: measure(logs, (r) => ProtobufLogsSerializer.serializeRequest(r)),
      tollgateLogRecordUs: measure(logs, (r) => encodeLogsExportRequest(r.map(encodeLogRecordItem))),
      node: process.version,
    },
    null,
    2,
  ),
);
