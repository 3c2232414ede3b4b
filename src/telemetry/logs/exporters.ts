// Where access LogRecords go: OTLP (gRPC, http/protobuf with Tollgate's protobuf encoder,
// http/json with the SDK's serializer) with every setting resolved by
// export/otlp-config.ts, or the stdout JSON sink.
import { JsonLogsSerializer, ProtobufLogsSerializer } from "@opentelemetry/otlp-transformer";
import type { ReadableLogRecord } from "@opentelemetry/sdk-logs";
import type { ExportResultLike, ItemExporter } from "../export/batch-queue.ts";
import { createOtlpExportDelegate, encodedBatchExporter, type OtlpSignalWire } from "../export/otlp-delegate.ts";
import type { OtlpExporterConfig } from "../export/otlp-config.ts";
import { ENCODED_LOG_BATCHES, encodeLogsExportRequest, type LogsExportBatch } from "../export/otlp-proto/logs.ts";
import { EncodedBatch } from "../export/otlp-proto/request.ts";
import { writeLinesOrFail, type LineSink } from "./stdout-writer.ts";

export const LOGS_WIRE: OtlpSignalWire<LogsExportBatch> = {
  signal: "LOGS",
  httpPath: "v1/logs",
  grpcService: "LogsExportService",
  grpcPath: "/opentelemetry.proto.collector.logs.v1.LogsService/Export",
  grpcComponentType: "otlp_grpc_log_exporter",
  httpComponentType: "otlp_http_log_exporter",
  metricsHelper: { name: "log", countItems: (batch) => (batch instanceof EncodedBatch ? batch.count : batch.length) },
  protobuf: { serializeRequest: encodeLogsExportRequest, deserializeResponse: (data) => ProtobufLogsSerializer.deserializeResponse(data) },
  // http/json exporters keep array batches (no format), so their batches are log records.
  json: JsonLogsSerializer as OtlpSignalWire<LogsExportBatch>["json"],
};

/** Protobuf exporters encode each record into its batch as it is queued; http/json keeps the records for the SDK's JSON serializer. */
export function createOtlpLogExporter(config: OtlpExporterConfig): ItemExporter<ReadableLogRecord, LogsExportBatch> {
  if (config.protocol === "http/json") return createOtlpExportDelegate(config, LOGS_WIRE) as ItemExporter<ReadableLogRecord, LogsExportBatch>;
  return encodedBatchExporter(config, LOGS_WIRE, ENCODED_LOG_BATCHES);
}

function hrToIso(t: readonly [number, number]): string {
  const ms = t[0] * 1000 + Math.floor(t[1] / 1e6);
  const iso = new Date(ms).toISOString();
  // Keep microseconds: 2024-01-01T00:00:00.123456Z.
  return `${iso.slice(0, -1)}${String(Math.floor((t[1] % 1e6) / 1e3)).padStart(3, "0")}Z`;
}

/**
 * One JSON object per line on stdout, for `kubectl logs`. Trace context sits at the top
 * level as `trace_id`, `span_id` and `trace_flags` (hex), the field names the OpenTelemetry
 * "Trace Context in Non-OTLP Log Formats" spec gives; serialisation happens in the batch
 * export, never on the request path.
 */
export function stdoutJsonLines(records: readonly ReadableLogRecord[]): string {
  let out = "";
  for (const r of records) {
    const line: Record<string, unknown> = {
      timestamp: hrToIso(r.hrTime),
      observed_timestamp: hrToIso(r.hrTimeObserved),
      severity_text: r.severityText,
      severity_number: r.severityNumber,
      event_name: r.eventName,
      body: r.body,
    };
    const sc = r.spanContext;
    if (sc !== undefined) {
      line["trace_id"] = sc.traceId;
      line["span_id"] = sc.spanId;
      line["trace_flags"] = (sc.traceFlags & 0xff).toString(16).padStart(2, "0");
    }
    line["attributes"] = r.attributes;
    const res = r.resource.attributes;
    line["resource"] = { "service.name": res["service.name"], "service.namespace": res["service.namespace"], "service.instance.id": res["service.instance.id"] };
    out += JSON.stringify(line) + "\n";
  }
  return out;
}

export function createStdoutLogExporter(sink: LineSink): ItemExporter<ReadableLogRecord> {
  return {
    export(items: ReadableLogRecord[], done: (result: ExportResultLike) => void): void {
      try {
        writeLinesOrFail(sink, stdoutJsonLines(items), done);
      } catch (err) {
        done({ code: 1, error: err as Error });
      }
    },
    shutdown: async () => {},
  };
}
