// Builds the SDK span exporter for one resolved configuration. The OTLP wire format is the
// official exporters' own: we only choose which one and hand it every setting explicitly.
import { OTLPTraceExporter as GrpcTraceExporter } from "@opentelemetry/exporter-trace-otlp-grpc";
import { OTLPTraceExporter as ProtoTraceExporter } from "@opentelemetry/exporter-trace-otlp-proto";
import { OTLPTraceExporter as JsonTraceExporter } from "@opentelemetry/exporter-trace-otlp-http";
import { createEmptyMetadata, createInsecureCredentials, createSslCredentials } from "@opentelemetry/otlp-grpc-exporter-base";
import { ConsoleSpanExporter, type ReadableSpan, type SpanExporter } from "@opentelemetry/sdk-trace";
import type { OtlpExporterConfig } from "./otlp-config.ts";
import type { ItemExporter } from "./batch-queue.ts";

export function createOtlpSpanExporter(config: OtlpExporterConfig): SpanExporter {
  const compression = config.compression as never;
  if (config.protocol === "grpc") {
    const metadata = createEmptyMetadata();
    for (const [k, v] of Object.entries(config.headers)) metadata.set(k, v);
    return new GrpcTraceExporter({
      url: config.url,
      metadata,
      compression,
      timeoutMillis: config.timeoutMs,
      credentials: grpcCredentials(config),
    });
  }
  const options = {
    url: config.url,
    headers: { ...config.headers },
    compression,
    timeoutMillis: config.timeoutMs,
    httpAgentOptions: {
      keepAlive: true,
      ca: config.certificate,
      cert: config.clientCertificate,
      key: config.clientKey,
    },
  };
  return config.protocol === "http/json" ? new JsonTraceExporter(options) : new ProtoTraceExporter(options);
}

/** OTLP gRPC rule: the scheme decides TLS; without a scheme, OTEL_EXPORTER_OTLP_INSECURE does. */
function grpcCredentials(config: OtlpExporterConfig): ReturnType<typeof createInsecureCredentials> {
  const url = config.url.toLowerCase();
  const plaintext = url.startsWith("http://") || (!url.startsWith("https://") && config.insecure);
  if (plaintext) return createInsecureCredentials();
  return createSslCredentials(config.certificate, config.clientKey, config.clientCertificate);
}

export function createConsoleSpanExporter(): ItemExporter<ReadableSpan> {
  return new ConsoleSpanExporter();
}
