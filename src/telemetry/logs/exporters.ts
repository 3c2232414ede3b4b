// Where access LogRecords go: the official OTLP log exporters (gRPC, http/protobuf,
// http/json) with every setting resolved by export/otlp-config.ts, or the stdout JSON sink.
import { OTLPLogExporter as GrpcLogExporter } from "@opentelemetry/exporter-logs-otlp-grpc";
import { OTLPLogExporter as JsonLogExporter } from "@opentelemetry/exporter-logs-otlp-http";
import { OTLPLogExporter as ProtoLogExporter } from "@opentelemetry/exporter-logs-otlp-proto";
import { createEmptyMetadata, createInsecureCredentials, createSslCredentials } from "@opentelemetry/otlp-grpc-exporter-base";
import type { ReadableLogRecord } from "@opentelemetry/sdk-logs";
import type { ExportResultLike, ItemExporter } from "../export/batch-queue.ts";
import type { OtlpExporterConfig } from "../export/otlp-config.ts";
import type { LineSink } from "./stdout-writer.ts";

export function createOtlpLogExporter(config: OtlpExporterConfig): ItemExporter<ReadableLogRecord> {
  const compression = config.compression as never;
  if (config.protocol === "grpc") {
    const metadata = createEmptyMetadata();
    for (const [k, v] of Object.entries(config.headers)) metadata.set(k, v);
    const url = config.url.toLowerCase();
    const plaintext = url.startsWith("http://") || (!url.startsWith("https://") && config.insecure);
    return new GrpcLogExporter({
      url: config.url,
      metadata,
      compression,
      timeoutMillis: config.timeoutMs,
      credentials: plaintext ? createInsecureCredentials() : createSslCredentials(config.certificate, config.clientKey, config.clientCertificate),
    });
  }
  const options = {
    url: config.url,
    headers: { ...config.headers },
    compression,
    timeoutMillis: config.timeoutMs,
    httpAgentOptions: { keepAlive: true, ca: config.certificate, cert: config.clientCertificate, key: config.clientKey },
  };
  return config.protocol === "http/json" ? new JsonLogExporter(options) : new ProtoLogExporter(options);
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
        if (sink.write(stdoutJsonLines(items))) done({ code: 0 });
        else done({ code: 1, error: new Error(`stdout is not keeping up (${sink.backlog} bytes still buffered)`) });
      } catch (err) {
        done({ code: 1, error: err as Error });
      }
    },
    shutdown: async () => {},
  };
}
