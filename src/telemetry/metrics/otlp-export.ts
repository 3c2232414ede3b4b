// OTLP metric push: the SDK's export delegates (HTTP and gRPC transport, retries, TLS,
// compression) with the exemplar-aware serialisers, driven by a periodic reader that
// collects every OTEL_METRIC_EXPORT_INTERVAL and gives each export
// OTEL_METRIC_EXPORT_TIMEOUT. Failed or timed-out exports, and the points a collector
// rejects in a partial success, count as dropped metrics and warn at most once a minute per
// endpoint.
import { MetricsExporterMetricsHelper } from "@opentelemetry/otlp-transformer";
import type { ResourceMetrics } from "@opentelemetry/sdk-metrics";
import type { TelemetryDrops } from "../export/drops.ts";
import type { OtlpExporterConfig } from "../export/otlp-config.ts";
import { createOtlpExportDelegate, type OtlpSignalWire } from "../export/otlp-delegate.ts";
import type { RateLimitedWarning } from "../export/warnings.ts";
import type { ExportResultLike } from "../export/batch-queue.ts";
import { acceptedAfter, type Rejection } from "../export/partial-success.ts";
import { writeLinesOrFail, type LineSink } from "../logs/stdout-writer.ts";
import { JsonMetricsWithExemplars, ProtobufMetricsWithExemplars } from "./otlp-exemplars.ts";
import { raceTimeout } from "../export/race-timeout.ts";

export interface MetricExporter {
  export(rm: ResourceMetrics, done: (result: ExportResultLike) => void): void;
  shutdown(): Promise<void>;
}

const METRICS_WIRE: OtlpSignalWire<ResourceMetrics> = {
  signal: "METRICS",
  httpPath: "v1/metrics",
  grpcService: "MetricsExportService",
  grpcPath: "/opentelemetry.proto.collector.metrics.v1.MetricsService/Export",
  grpcComponentType: "otlp_grpc_metric_exporter",
  httpComponentType: "otlp_http_metric_exporter",
  metricsHelper: MetricsExporterMetricsHelper,
  protobuf: ProtobufMetricsWithExemplars,
  json: JsonMetricsWithExemplars,
};

export function createOtlpMetricExporter(config: OtlpExporterConfig): MetricExporter {
  return createOtlpExportDelegate(config, METRICS_WIRE);
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
      writeLinesOrFail(sink, out, done);
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
    // A tick that finds the previous collection still exporting (a slow collector) is
    // skipped: the next one carries what it would have, and exports never pile up.
    this.#timer = setInterval(() => {
      if (this.#inFlight === undefined) void this.collectAndExport();
    }, options.intervalMs);
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
      const finish = (ok: boolean, reason: "export_failed" | "export_timeout", cause: string, rejected?: Rejection): void => {
        if (settled) return;
        settled = true;
        clearTimeout(timer);
        if (ok) this.exported += acceptedAfter(rejected, points, "metrics", this.#o.drops, this.#o.warning);
        else {
          this.#o.drops.add("metrics", reason, points);
          this.#o.warning?.failure("metrics", points, cause);
        }
        resolve();
      };
      const timer = setTimeout(() => finish(false, "export_timeout", `no answer within ${this.#o.timeoutMs} ms`), this.#o.timeoutMs);
      timer.unref();
      try {
        this.#exporter.export(rm, (r) => finish(r.code === 0, "export_failed", r.error?.message ?? "export failed", r.rejected));
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
