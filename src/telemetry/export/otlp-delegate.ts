// One OTLP exporter for any signal: the SDK's export delegates (gRPC or HTTP transport,
// retries, TLS, compression) with the serializer each signal chooses, and each export's
// result carrying what a partial success rejected (partial-success.ts). Only the serializer
// is ever ours; every setting comes from otlp-config.ts.
import { createOtlpHttpExportDelegate, httpAgentFactoryFromOptions } from "@opentelemetry/otlp-exporter-base/node-http";
import { createEmptyMetadata, createInsecureCredentials, createOtlpGrpcExportDelegate, createSslCredentials } from "@opentelemetry/otlp-grpc-exporter-base";
import type { IExporterMetricsHelper, ISerializer } from "@opentelemetry/otlp-transformer";
import type { BatchFormat, ExportResultLike, ItemExporter } from "./batch-queue.ts";
import { type OtlpExporterConfig, isUsableEndpoint, usesTls } from "./otlp-config.ts";
import { EncodedBatch, lendRequest, returnRequest } from "./otlp-proto/request.ts";
import { notingRejections } from "./partial-success.ts";

export interface OtlpSignalWire<T> {
  readonly signal: "TRACES" | "LOGS" | "METRICS";
  /** Appended to a base endpoint for HTTP, e.g. `v1/traces`. */
  readonly httpPath: string;
  readonly grpcService: string;
  readonly grpcPath: string;
  /** otel.component.type values of the OTLP exporter semantic conventions. */
  readonly grpcComponentType: string;
  readonly httpComponentType: string;
  readonly metricsHelper: IExporterMetricsHelper<T>;
  readonly protobuf: ISerializer<T, unknown>;
  readonly json: ISerializer<T, unknown>;
}

export interface OtlpExportDelegate<T> {
  export(items: T, done: (result: ExportResultLike) => void): void;
  shutdown(): Promise<void>;
}

export function createOtlpExportDelegate<T>(config: OtlpExporterConfig, wire: OtlpSignalWire<T>): OtlpExportDelegate<T> {
  // The SDK throws on such a URL, with the URL (credentials and all) in the message. A typo
  // in an environment variable must not stop the gateway: every export fails instead, so
  // what is dropped is counted and reported like any other failed export.
  if (!isUsableEndpoint(config.protocol, config.url)) return refusingDelegate("the OTLP endpoint is not a usable URL");
  if (config.unusable !== undefined) return refusingDelegate(config.unusable);
  const rejections = notingRejections(wire);
  let sdk: OtlpExportDelegate<T>;
  try {
    sdk = createSdkDelegate(config, rejections.wire);
  } catch (error) {
    // Settings otlp-config.ts did not foresee. The transport's message can quote a header
    // value, so only the error's kind is shown.
    return refusingDelegate(`the OTLP ${config.protocol} exporter could not be built from its settings (${(error as Error).name ?? "error"}; check its headers and TLS files)`);
  }
  return {
    export: (items, done) =>
      sdk.export(items, (result) => {
        const rejected = rejections.take();
        done(rejected === undefined || result.code !== 0 ? result : { ...result, rejected });
      }),
    shutdown: () => sdk.shutdown(),
  };
}

/** The SDK's default number of exports in flight at once. */
const SDK_CONCURRENCY_LIMIT = 30;

/**
 * The transport settings are given whole, not through the SDK's legacy option converters:
 * those merge in what they read from `process.env` themselves (headers above all), which
 * would put back a header otlp-headers.ts left out, and make grpc-js throw on it.
 */
function createSdkDelegate<T>(config: OtlpExporterConfig, wire: OtlpSignalWire<T>): OtlpExportDelegate<T> {
  if (config.protocol === "grpc") {
    const metadata = createEmptyMetadata();
    for (const [k, v] of Object.entries(config.headers)) metadata.set(k, v);
    const credentials = grpcCredentials(config);
    return createOtlpGrpcExportDelegate(
      {
        url: grpcTarget(config.url),
        metadata: () => metadata.clone(),
        credentials: () => credentials,
        compression: config.compression,
        timeoutMillis: config.timeoutMs,
        concurrencyLimit: SDK_CONCURRENCY_LIMIT,
      },
      wire.protobuf,
      wire.grpcComponentType,
      wire.metricsHelper,
      undefined,
      wire.grpcService,
      wire.grpcPath,
    );
  }
  const json = config.protocol === "http/json";
  const headers = { ...config.headers, "Content-Type": json ? "application/json" : "application/x-protobuf" };
  return createOtlpHttpExportDelegate(
    {
      url: config.url,
      headers: () => Promise.resolve(headers),
      agentFactory: httpAgentFactoryFromOptions({ keepAlive: true, ca: config.certificate, cert: config.clientCertificate, key: config.clientKey }),
      compression: config.compression,
      timeoutMillis: config.timeoutMs,
      concurrencyLimit: SDK_CONCURRENCY_LIMIT,
    },
    json ? wire.json : wire.protobuf,
    wire.httpComponentType,
    wire.metricsHelper,
    undefined,
  );
}

/** The gRPC channel target: `host:port` as the SDK's transport takes it (no scheme means https), or a unix: URL whole. */
function grpcTarget(endpoint: string): string {
  const trimmed = endpoint.trim();
  const url = /^\w{1,8}:\/\//.test(trimmed) ? trimmed : `https://${trimmed}`;
  const target = new URL(url);
  return target.protocol === "unix:" ? url : target.host;
}

/**
 * A protobuf exporter whose batches are encoded as they are queued. The delegate's serializer
 * borrows a pooled buffer for the request (lendRequest) and the buffer goes back when the
 * delegate reports the export's result: the SDK calls back only once its transport has
 * settled, retries included, so nothing reads the bytes after that. (One exception does not
 * matter: a collector that answers a compressed request before reading all of it can leave
 * the compressor reading a buffer already reused; its output belongs to a request that has
 * its answer and is discarded.)
 */
export function encodedBatchExporter<T>(
  config: OtlpExporterConfig,
  wire: OtlpSignalWire<EncodedBatch | readonly T[]>,
  format: BatchFormat<T, EncodedBatch>,
): ItemExporter<T, EncodedBatch | readonly T[]> {
  const lending: OtlpSignalWire<EncodedBatch | readonly T[]> = {
    ...wire,
    protobuf: {
      serializeRequest: (batch) => (batch instanceof EncodedBatch ? lendRequest(batch) : wire.protobuf.serializeRequest(batch)),
      deserializeResponse: (data) => wire.protobuf.deserializeResponse(data),
    },
  };
  const delegate = createOtlpExportDelegate(config, lending);
  return {
    format,
    export: (batch, done) =>
      delegate.export(batch, (result) => {
        if (batch instanceof EncodedBatch) returnRequest(batch);
        done(result);
      }),
    shutdown: () => delegate.shutdown(),
  };
}

function grpcCredentials(config: OtlpExporterConfig): ReturnType<typeof createInsecureCredentials> {
  if (!usesTls("grpc", config.url, config.insecure)) return createInsecureCredentials();
  return createSslCredentials(config.certificate, config.clientKey, config.clientCertificate);
}

/** Fails every export: the settings cannot be used (reported when the config was read). */
function refusingDelegate<T>(reason: string): OtlpExportDelegate<T> {
  const error = new Error(reason);
  return {
    export(_items: T, done: (result: ExportResultLike) => void): void {
      done({ code: 1, error });
    },
    shutdown: () => Promise.resolve(),
  };
}
