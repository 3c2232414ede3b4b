// A collector may accept an export only in part (OTLP partial success): its response names
// how many items it rejected and why. The SDK's delegate only hands that to its diag logger
// and reports success; here the rejected items become drops and a warning like any other
// telemetry that never arrived.
import type { TelemetryDrops, TelemetrySignal } from "./drops.ts";
import type { OtlpSignalWire } from "./otlp-delegate.ts";
import type { RateLimitedWarning } from "./warnings.ts";

export interface Rejection {
  /** Items the collector did not accept. */
  readonly count: number;
  /** The collector's reason; may be empty. */
  readonly message: string;
}

/** The rejection in a deserialized Export*ServiceResponse, or undefined when it accepted everything. */
export function rejectionIn(response: unknown): Rejection | undefined {
  const partial = (response as { partialSuccess?: Record<string, unknown> | null } | null | undefined)?.partialSuccess;
  if (partial === undefined || partial === null) return undefined;
  // int64 arrives as a number from protobuf and as a string in proto3 JSON.
  const count = Number(partial["rejectedSpans"] ?? partial["rejectedLogRecords"] ?? partial["rejectedDataPoints"] ?? 0);
  if (!Number.isFinite(count) || count <= 0) return undefined;
  return { count, message: typeof partial["errorMessage"] === "string" ? partial["errorMessage"] : "" };
}

/**
 * The wire, its response deserializers noting each rejection. The SDK deserializes a response
 * and reports the export's result in one synchronous step, so the result callback `take`s the
 * rejection of its own response.
 */
export function notingRejections<T>(wire: OtlpSignalWire<T>): { readonly wire: OtlpSignalWire<T>; take(): Rejection | undefined } {
  let noted: Rejection | undefined;
  const noting = <S extends OtlpSignalWire<T>["protobuf"]>(serializer: S): S => ({
    ...serializer,
    deserializeResponse: (data: Uint8Array) => {
      const response = serializer.deserializeResponse(data);
      noted = rejectionIn(response);
      return response;
    },
  });
  return {
    wire: { ...wire, protobuf: noting(wire.protobuf), json: noting(wire.json) },
    take: () => {
      const rejection = noted;
      noted = undefined;
      return rejection;
    },
  };
}

/** Counts the items a partial success rejected as drops and reports them; returns how many of `items` the collector kept. */
export function acceptedAfter(rejection: Rejection | undefined, items: number, signal: TelemetrySignal, drops: TelemetryDrops, warning: RateLimitedWarning | undefined): number {
  if (rejection === undefined) return items;
  const lost = Math.min(items, rejection.count);
  drops.add(signal, "rejected", lost);
  warning?.failure(signal, lost, `the collector rejected ${lost} of ${items} items${rejection.message === "" ? "" : `: ${rejection.message}`}`);
  return items - lost;
}
