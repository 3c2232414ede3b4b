// The messages of Envoy's ext_authz gRPC service (envoy.service.auth.v3.Authorization/Check)
// that the gateway writes and reads, declared by field number for protobufjs. Only the fields
// Tollgate uses are declared: protobuf skips the others on decode, and a field left unset is
// absent on the wire, so this subset reads and writes the same bytes as Envoy's full API.
import { encodeMessage, lazyMessagePair } from "./proto-types.ts";

const headerValue = { fields: { key: { type: "string", id: 1 }, value: { type: "string", id: 2 }, rawValue: { type: "bytes", id: 3 } } };
const headerValueOption = {
  fields: {
    header: { type: "HeaderValue", id: 1 },
    // google.protobuf.BoolValue: unset and false differ (unset defers to appendAction).
    append: { type: "google.protobuf.BoolValue", id: 2 },
    // HeaderValueOption.HeaderAppendAction, read as its number.
    appendAction: { type: "int32", id: 3 },
    keepEmptyValue: { type: "bool", id: 4 },
  },
};

const descriptor = {
  nested: {
    google: {
      nested: {
        protobuf: {
          nested: {
            Timestamp: { fields: { seconds: { type: "int64", id: 1 }, nanos: { type: "int32", id: 2 } } },
            BoolValue: { fields: { value: { type: "bool", id: 1 } } },
          },
        },
        rpc: { nested: { Status: { fields: { code: { type: "int32", id: 1 }, message: { type: "string", id: 2 } } } } },
      },
    },
    envoy: {
      nested: {
        config: {
          nested: {
            core: {
              nested: {
                v3: {
                  nested: {
                    SocketAddress: { fields: { address: { type: "string", id: 2 }, portValue: { type: "uint32", id: 3 } } },
                    Address: { fields: { socketAddress: { type: "SocketAddress", id: 1 } } },
                    HeaderValue: headerValue,
                    HeaderValueOption: headerValueOption,
                  },
                },
              },
            },
          },
        },
        type: { nested: { v3: { nested: { HttpStatus: { fields: { code: { type: "int32", id: 1 } } } } } } },
        service: {
          nested: {
            auth: {
              nested: {
                v3: {
                  nested: {
                    AttributeContext: {
                      fields: {
                        source: { type: "Peer", id: 1 },
                        destination: { type: "Peer", id: 2 },
                        request: { type: "Request", id: 4 },
                        contextExtensions: { keyType: "string", type: "string", id: 10 },
                      },
                      nested: {
                        Peer: { fields: { address: { type: "envoy.config.core.v3.Address", id: 1 } } },
                        Request: { fields: { time: { type: "google.protobuf.Timestamp", id: 1 }, http: { type: "HttpRequest", id: 2 } } },
                        HttpRequest: {
                          fields: {
                            id: { type: "string", id: 1 },
                            method: { type: "string", id: 2 },
                            headers: { keyType: "string", type: "string", id: 3 },
                            path: { type: "string", id: 4 },
                            host: { type: "string", id: 5 },
                            scheme: { type: "string", id: 6 },
                            size: { type: "int64", id: 9 },
                            protocol: { type: "string", id: 10 },
                            body: { type: "string", id: 11 },
                            rawBody: { type: "bytes", id: 12 },
                          },
                        },
                      },
                    },
                    CheckRequest: { fields: { attributes: { type: "AttributeContext", id: 1 } } },
                    DeniedHttpResponse: {
                      fields: {
                        status: { type: "envoy.type.v3.HttpStatus", id: 1 },
                        headers: { rule: "repeated", type: "envoy.config.core.v3.HeaderValueOption", id: 2 },
                        body: { type: "string", id: 3 },
                      },
                    },
                    OkHttpResponse: {
                      fields: {
                        headers: { rule: "repeated", type: "envoy.config.core.v3.HeaderValueOption", id: 2 },
                        headersToRemove: { rule: "repeated", type: "string", id: 5 },
                        responseHeadersToAdd: { rule: "repeated", type: "envoy.config.core.v3.HeaderValueOption", id: 6 },
                      },
                    },
                    CheckResponse: {
                      fields: {
                        status: { type: "google.rpc.Status", id: 1 },
                        deniedResponse: { type: "DeniedHttpResponse", id: 2 },
                        okResponse: { type: "OkHttpResponse", id: 3 },
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

const types = lazyMessagePair(descriptor, "envoy.service.auth.v3.CheckRequest", "envoy.service.auth.v3.CheckResponse");

/** The gRPC method the check calls. */
export const CHECK_METHOD_PATH = "/envoy.service.auth.v3.Authorization/Check";

export interface PeerMessage {
  readonly address: { readonly socketAddress: { readonly address: string; readonly portValue: number } };
}

export interface CheckRequestMessage {
  readonly attributes: {
    readonly source: PeerMessage;
    readonly destination: PeerMessage;
    readonly request: {
      readonly time: { readonly seconds: number; readonly nanos: number };
      readonly http: {
        readonly id: string;
        readonly method: string;
        readonly headers: Readonly<Record<string, string>>;
        readonly path: string;
        readonly host: string;
        readonly scheme: string;
        readonly size: number;
        readonly protocol: string;
        readonly body?: string;
        readonly rawBody?: Buffer;
      };
    };
    /** kgateway TrafficPolicy extAuth.contextExtensions; absent for none. */
    readonly contextExtensions?: Readonly<Record<string, string>>;
  };
}

export interface HeaderValueOptionMessage {
  readonly header?: { readonly key: string; readonly value: string; readonly rawValue: Uint8Array } | null;
  readonly append?: { readonly value: boolean } | null;
  readonly appendAction: number;
  readonly keepEmptyValue: boolean;
}

export interface CheckResponseMessage {
  readonly status?: { readonly code: number; readonly message: string } | null;
  readonly deniedResponse?: {
    readonly status?: { readonly code: number } | null;
    readonly headers: readonly HeaderValueOptionMessage[];
    readonly body: string;
  } | null;
  readonly okResponse?: {
    readonly headers: readonly HeaderValueOptionMessage[];
    readonly headersToRemove: readonly string[];
    readonly responseHeadersToAdd: readonly HeaderValueOptionMessage[];
  } | null;
}

export function encodeCheckRequest(request: CheckRequestMessage): Buffer {
  return encodeMessage(types().request, request);
}

/** Throws on bytes that are not a CheckResponse. */
export function decodeCheckResponse(bytes: Buffer): CheckResponseMessage {
  return types().response.decode(bytes) as unknown as CheckResponseMessage;
}
