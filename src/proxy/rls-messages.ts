// The messages of Envoy's rate limit service (envoy.service.ratelimit.v3.RateLimitService/
// ShouldRateLimit) that the gateway writes and reads, declared by field number for protobufjs.
// Only the fields Tollgate uses are declared: protobuf skips the others on decode.
import { encodeMessage, lazyMessagePair } from "./proto-types.ts";

const descriptor = {
  nested: {
    google: { nested: { protobuf: { nested: { Duration: { fields: { seconds: { type: "int64", id: 1 }, nanos: { type: "int32", id: 2 } } } } } } },
    envoy: {
      nested: {
        config: {
          nested: {
            core: { nested: { v3: { nested: { HeaderValue: { fields: { key: { type: "string", id: 1 }, value: { type: "string", id: 2 }, rawValue: { type: "bytes", id: 3 } } } } } } },
          },
        },
        extensions: {
          nested: {
            common: {
              nested: {
                ratelimit: {
                  nested: {
                    v3: {
                      nested: {
                        RateLimitDescriptor: {
                          fields: { entries: { rule: "repeated", type: "Entry", id: 1 } },
                          nested: { Entry: { fields: { key: { type: "string", id: 1 }, value: { type: "string", id: 2 } } } },
                        },
                      },
                    },
                  },
                },
              },
            },
          },
        },
        service: {
          nested: {
            ratelimit: {
              nested: {
                v3: {
                  nested: {
                    RateLimitRequest: {
                      fields: {
                        domain: { type: "string", id: 1 },
                        descriptors: { rule: "repeated", type: "envoy.extensions.common.ratelimit.v3.RateLimitDescriptor", id: 2 },
                      },
                    },
                    RateLimitResponse: {
                      fields: {
                        // Code, read as its number: 0 UNKNOWN, 1 OK, 2 OVER_LIMIT.
                        overallCode: { type: "int32", id: 1 },
                        statuses: { rule: "repeated", type: "DescriptorStatus", id: 2 },
                        responseHeadersToAdd: { rule: "repeated", type: "envoy.config.core.v3.HeaderValue", id: 3 },
                        requestHeadersToAdd: { rule: "repeated", type: "envoy.config.core.v3.HeaderValue", id: 4 },
                        rawBody: { type: "bytes", id: 5 },
                      },
                      nested: {
                        // Unit, read as its number: 1 SECOND, 2 MINUTE, 3 HOUR, 4 DAY, 5 MONTH, 6 YEAR, 7 WEEK.
                        RateLimit: { fields: { name: { type: "string", id: 3 }, requestsPerUnit: { type: "uint32", id: 1 }, unit: { type: "int32", id: 2 } } },
                        DescriptorStatus: {
                          fields: {
                            code: { type: "int32", id: 1 },
                            currentLimit: { type: "RateLimit", id: 2 },
                            limitRemaining: { type: "uint32", id: 3 },
                            durationUntilReset: { type: "google.protobuf.Duration", id: 4 },
                          },
                        },
                      },
                    },
                  },
                },
              },
            },
          },
        },
      },
    },
  },
};

const types = lazyMessagePair(descriptor, "envoy.service.ratelimit.v3.RateLimitRequest", "envoy.service.ratelimit.v3.RateLimitResponse");

/** The gRPC method a rate limit check calls. */
export const SHOULD_RATE_LIMIT_PATH = "/envoy.service.ratelimit.v3.RateLimitService/ShouldRateLimit";

/** RateLimitResponse.Code OVER_LIMIT (OK is 1, UNKNOWN 0). */
export const RLS_OVER_LIMIT = 2;

export interface RateLimitRequestMessage {
  readonly domain: string;
  readonly descriptors: readonly { readonly entries: readonly { readonly key: string; readonly value: string }[] }[];
}

export interface HeaderValueMessage {
  readonly key: string;
  readonly value: string;
  readonly rawValue: Uint8Array;
}

/** protobufjs reads an int64 as a number, or as a Long when it is past 2^53. */
export type Int64 = number | { toNumber(): number };

export interface DescriptorStatusMessage {
  readonly code: number;
  readonly currentLimit?: { readonly name: string; readonly requestsPerUnit: number; readonly unit: number } | null;
  readonly limitRemaining: number;
  readonly durationUntilReset?: { readonly seconds: Int64; readonly nanos: number } | null;
}

export interface RateLimitResponseMessage {
  readonly overallCode: number;
  readonly statuses: readonly DescriptorStatusMessage[];
  readonly responseHeadersToAdd: readonly HeaderValueMessage[];
  readonly requestHeadersToAdd: readonly HeaderValueMessage[];
  readonly rawBody: Uint8Array;
}

export function encodeRateLimitRequest(request: RateLimitRequestMessage): Buffer {
  return encodeMessage(types().request, request);
}

/** Throws on bytes that are not a RateLimitResponse. */
export function decodeRateLimitResponse(bytes: Buffer): RateLimitResponseMessage {
  return types().response.decode(bytes) as unknown as RateLimitResponseMessage;
}
