// Builds the span exporter for one resolved configuration: the SDK's OTLP transport with
// Tollgate's protobuf encoder (the same bytes as the SDK's serializer, at a fraction of the
// cost; see otlp-proto/) or the SDK's JSON serializer for http/json.
import { JsonTraceSerializer, ProtobufTraceSerializer } from "@opentelemetry/otlp-transformer";
import type { ReadableSpan } from "@opentelemetry/sdk-trace";
import type { ItemExporter } from "./batch-queue.ts";
import { createOtlpExportDelegate, encodedBatchExporter, type OtlpSignalWire } from "./otlp-delegate.ts";
import type { OtlpExporterConfig } from "./otlp-config.ts";
import { EncodedBatch } from "./otlp-proto/request.ts";
import { ENCODED_SPAN_BATCHES, encodeTraceExportRequest, type TraceExportBatch } from "./otlp-proto/trace.ts";

export const TRACES_WIRE: OtlpSignalWire<TraceExportBatch> = {
  signal: "TRACES",
  httpPath: "v1/traces",
  grpcService: "TraceExportService",
  grpcPath: "/opentelemetry.proto.collector.trace.v1.TraceService/Export",
  grpcComponentType: "otlp_grpc_span_exporter",
  httpComponentType: "otlp_http_span_exporter",
  metricsHelper: { name: "span", countItems: (batch) => (batch instanceof EncodedBatch ? batch.count : batch.length) },
  protobuf: { serializeRequest: encodeTraceExportRequest, deserializeResponse: (data) => ProtobufTraceSerializer.deserializeResponse(data) },
  // http/json exporters keep array batches (no format), so their batches are spans.
  json: JsonTraceSerializer as OtlpSignalWire<TraceExportBatch>["json"],
};

/** Protobuf exporters encode each span into its batch as it is queued; http/json keeps the spans for the SDK's JSON serializer. */
export function createOtlpSpanExporter(config: OtlpExporterConfig): ItemExporter<ReadableSpan, TraceExportBatch> {
  if (config.protocol === "http/json") return createOtlpExportDelegate(config, TRACES_WIRE) as ItemExporter<ReadableSpan, TraceExportBatch>;
  return encodedBatchExporter(config, TRACES_WIRE, ENCODED_SPAN_BATCHES);
}
