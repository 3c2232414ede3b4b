// OTLP metric push: the SDK's export delegates (HTTP and gRPC transport, retries, TLS,
// compression) with the exemplar-aware serialisers, driven by a periodic reader that
// collects every OTEL_METRIC_EXPORT_INTERVAL and gives each export
// OTEL_METRIC_EXPORT_TIMEOUT. Failed or timed-out exports count their data points as
// dropped metrics and warn at most once a minute per endpoint.
import { convertLegacyHttpOptions, createOtlpHttpExportDelegate } from "@opentelemetry/otlp-exporter-base/node-http";
import {
  convertLegacyOtlpGrpcOptions,
  createEmptyMetadata,
  createInsecureCredentials,
  createOtlpGrpcExportDelegate,
  createSslCredentials,
} from "@opentelemetry/otlp-grpc-exporter-base";
import { MetricsExporterMetricsHelper } from "@opentelemetry/otlp-transformer";
import type { ResourceMetrics } from "@opentelemetry/sdk-metrics";
import type { TelemetryDrops } from "../export/drops.ts";
import type { OtlpExporterConfig } from "../export/otlp-config.ts";
import type { RateLimitedWarning } from "../export/warnings.ts";
import type { LineSink } from "../logs/stdout-writer.ts";
import { JsonMetricsWithExemplars, ProtobufMetricsWithExemplars } from "./otlp-exemplars.ts";
import { raceTimeout } from "../export/race-timeout.ts";

export interface MetricExporter {
  export(rm: ResourceMetrics, done: (result: { code: number; error?: Error | undefined }) => void): void;
  shutdown(): Promise<void>;
}

export function createOtlpMetricExporter(config: OtlpExporterConfig): MetricExporter {
  const compression = config.compression as never;
  if (config.protocol === "grpc") {
    const metadata = createEmptyMetadata();
    for (const [k, v] of Object.entries(config.headers)) metadata.set(k, v);
    const url = config.url.toLowerCase();
    const plaintext = url.startsWith("http://") || (!url.startsWith("https://") && config.insecure);
    const credentials = plaintext ? createInsecureCredentials() : createSslCredentials(config.certificate, config.clientKey, config.clientCertificate);
    const delegate = createOtlpGrpcExportDelegate(
      convertLegacyOtlpGrpcOptions({ url: config.url, metadata, compression, timeoutMillis: config.timeoutMs, credentials }, "METRICS"),
      ProtobufMetricsWithExemplars,
      "otlp_grpc_metric_exporter",
      MetricsExporterMetricsHelper,
      undefined,
      "MetricsExportService",
      "/opentelemetry.proto.collector.metrics.v1.MetricsService/Export",
    );
    return delegateExporter(delegate);
  }
  const json = config.protocol === "http/json";
  const options = convertLegacyHttpOptions(
    {
      url: config.url,
      headers: { ...config.headers },
      compression,
      timeoutMillis: config.timeoutMs,
      httpAgentOptions: { keepAlive: true, ca: config.certificate, cert: config.clientCertificate, key: config.clientKey },
    },
    "METRICS",
    "v1/metrics",
    { "Content-Type": json ? "application/json" : "application/x-protobuf" },
  );
  const delegate = createOtlpHttpExportDelegate(
    options,
    json ? JsonMetricsWithExemplars : ProtobufMetricsWithExemplars,
    "otlp_http_metric_exporter",
    MetricsExporterMetricsHelper,
    undefined,
  );
  return delegateExporter(delegate);
}

/** The SDK export delegate (transport, retries, serialisation) is the whole exporter. */
function delegateExporter(delegate: { export(rm: ResourceMetrics, cb: (r: { code: number; error?: Error }) => void): void; shutdown(): Promise<void> }): MetricExporter {
  return { export: (rm, done) => delegate.export(rm, done), shutdown: () => delegate.shutdown() };
}

/**
 * OTEL_METRICS_EXPORTER=console: every collection as JSON lines on stdout, one per metric,
 * through the same bounded stdout writer as the access logs (a stalled reader makes the
 * export fail and count its points as dropped; memory never grows).
 */
export function createConsoleMetricExporter(sink: LineSink): MetricExporter {
  return {
    export(rm, done) {
      const res = rm.resource.attributes;
      const resource = { "service.name": res["service.name"], "service.namespace": res["service.namespace"], "service.instance.id": res["service.instance.id"] };
      let out = "";
      for (const sm of rm.scopeMetrics) {
        for (const m of sm.metrics) {
          out += JSON.stringify({ metric: m.descriptor, dataPointType: m.dataPointType, aggregationTemporality: m.aggregationTemporality, dataPoints: m.dataPoints, scope: sm.scope.name, resource }) + "\n";
        }
      }
      if (sink.write(out)) done({ code: 0 });
      else done({ code: 1, error: new Error(`stdout is not keeping up (${sink.backlog} bytes still buffered)`) });
    },
    shutdown: async () => {},
  };
}

export interface PeriodicReaderOptions {
  readonly intervalMs: number;
  readonly timeoutMs: number;
  readonly drops: TelemetryDrops;
  readonly warning: RateLimitedWarning | undefined;
  /** Everything to export now: one ResourceMetrics per resource. */
  readonly collect: () => ResourceMetrics[];
}

export class PeriodicReader {
  readonly #exporter: MetricExporter;
  readonly #o: PeriodicReaderOptions;
  readonly #timer: NodeJS.Timeout;
  #inFlight: Promise<void> | undefined = undefined;
  #closed = false;
  /** Data points acknowledged by the collector; for tests and the admin. */
  exported = 0;

  constructor(exporter: MetricExporter, options: PeriodicReaderOptions) {
    this.#exporter = exporter;
    this.#o = options;
    this.#timer = setInterval(() => void this.collectAndExport(), options.intervalMs);
    this.#timer.unref();
  }

  /** Collect and export once; a collection still in flight makes this one wait for it. */
  async collectAndExport(): Promise<void> {
    if (this.#closed) return;
    if (this.#inFlight !== undefined) await this.#inFlight;
    const work = this.#run();
    this.#inFlight = work;
    try {
      await work;
    } finally {
      if (this.#inFlight === work) this.#inFlight = undefined;
    }
  }

  async #run(): Promise<void> {
    for (const rm of this.#o.collect()) {
      const points = rm.scopeMetrics.reduce((n, sm) => n + sm.metrics.reduce((k, m) => k + m.dataPoints.length, 0), 0);
      if (points === 0) continue;
      await this.#exportOne(rm, points);
    }
  }

  #exportOne(rm: ResourceMetrics, points: number): Promise<void> {
    return new Promise<void>((resolve) => {
      let settled = false;
      const finish = (ok: boolean, reason: "export_failed" | "export_timeout", cause: string): void => {
        if (settled) return;
        settled = true;
        clearTimeout(timer);
        if (ok) this.exported += points;
        else {
          this.#o.drops.add("metrics", reason, points);
          this.#o.warning?.failure("metrics", points, cause);
        }
        resolve();
      };
      const timer = setTimeout(() => finish(false, "export_timeout", `no answer within ${this.#o.timeoutMs} ms`), this.#o.timeoutMs);
      timer.unref();
      try {
        this.#exporter.export(rm, (r) => finish(r.code === 0, "export_failed", r.error?.message ?? "export failed"));
      } catch (err) {
        finish(false, "export_failed", (err as Error).message);
      }
    });
  }

  async shutdown(timeoutMs: number): Promise<void> {
    clearInterval(this.#timer);
    await raceTimeout(this.collectAndExport(), timeoutMs);
    this.#closed = true;
    await raceTimeout(this.#exporter.shutdown().catch(() => undefined), timeoutMs);
  }
}
