// Builds the span exporter for one resolved configuration: the SDK's OTLP transport with
// Tollgate's protobuf encoder (the same bytes as the SDK's serializer, at a fraction of the
// cost; see otlp-proto/) or the SDK's JSON serializer for http/json.
import { JsonTraceSerializer, ProtobufTraceSerializer, TraceExporterMetricsHelper } from "@opentelemetry/otlp-transformer";
import { ConsoleSpanExporter, type ReadableSpan } from "@opentelemetry/sdk-trace";
import type { ItemExporter } from "./batch-queue.ts";
import { createOtlpExportDelegate, type OtlpSignalWire } from "./otlp-delegate.ts";
import type { OtlpExporterConfig } from "./otlp-config.ts";
import { encodeTraceExportRequest, prepareTraceExportRequest } from "./otlp-proto/trace.ts";

export const TRACES_WIRE: OtlpSignalWire<ReadableSpan[]> = {
  signal: "TRACES",
  httpPath: "v1/traces",
  grpcService: "TraceExportService",
  grpcPath: "/opentelemetry.proto.collector.trace.v1.TraceService/Export",
  grpcComponentType: "otlp_grpc_span_exporter",
  httpComponentType: "otlp_http_span_exporter",
  metricsHelper: TraceExporterMetricsHelper,
  protobuf: { serializeRequest: encodeTraceExportRequest, deserializeResponse: (data) => ProtobufTraceSerializer.deserializeResponse(data) },
  json: JsonTraceSerializer,
};

export function createOtlpSpanExporter(config: OtlpExporterConfig): ItemExporter<ReadableSpan> {
  const delegate = createOtlpExportDelegate(config, TRACES_WIRE);
  if (config.protocol === "http/json") return delegate;
  return { prepare: prepareTraceExportRequest, export: (items, done) => delegate.export(items, done), shutdown: () => delegate.shutdown() };
}

export function createConsoleSpanExporter(): ItemExporter<ReadableSpan> {
  return new ConsoleSpanExporter();
}
