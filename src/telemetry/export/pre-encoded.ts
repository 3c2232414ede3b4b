// An export request already encoded: what the export thread hands the SDK's transport. The
// serializer only passes the bytes through; everything else (retries, TLS, compression,
// partial success, the exporter's own metrics) is the signal's usual wire.
import type { OtlpSignalWire } from "./otlp-delegate.ts";

export interface PreEncodedRequest {
  /** A complete ExportTraceServiceRequest or ExportLogsServiceRequest in protobuf. */
  readonly request: Uint8Array;
  /** Spans or log records in it, for the exporter's item counts. */
  readonly count: number;
}

export function preEncodedWire<T>(wire: OtlpSignalWire<T>): OtlpSignalWire<PreEncodedRequest> {
  return {
    ...wire,
    metricsHelper: { name: wire.metricsHelper.name, countItems: (r) => r.count },
    protobuf: { serializeRequest: (r) => r.request, deserializeResponse: (data) => wire.protobuf.deserializeResponse(data) },
    json: {
      serializeRequest: () => {
        throw new Error("a pre-encoded request is protobuf; http/json exports from the request thread");
      },
      deserializeResponse: (data) => wire.json.deserializeResponse(data),
    },
  };
}
