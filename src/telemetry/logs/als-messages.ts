// The messages of Envoy's gRPC access log service (envoy.service.accesslog.v3.AccessLogService,
// StreamAccessLogs) that the gateway writes, declared by field number for protobufjs. Only the
// fields Tollgate fills are declared: a field left unset is absent on the wire, so this subset
// writes the same bytes as Envoy's full API. The collector suite decodes them with Envoy's own
// generated types (test/peers/ext-authz).
import { encodeMessage, lazyMessagePair, protobufWriter } from "../../proxy/proto-types.ts";

const duration = "google.protobuf.Duration";
const address = "envoy.config.core.v3.Address";

/** ResponseFlags, by Envoy's short name: each is a bool field but UAEX (a message). */
export const RESPONSE_FLAG_FIELDS: Readonly<Record<string, readonly [field: string, id: number]>> = {
  LH: ["failedLocalHealthcheck", 1],
  UH: ["noHealthyUpstream", 2],
  UT: ["upstreamRequestTimeout", 3],
  LR: ["localReset", 4],
  UR: ["upstreamRemoteReset", 5],
  UF: ["upstreamConnectionFailure", 6],
  UC: ["upstreamConnectionTermination", 7],
  UO: ["upstreamOverflow", 8],
  NR: ["noRouteFound", 9],
  DI: ["delayInjected", 10],
  FI: ["faultInjected", 11],
  RL: ["rateLimited", 12],
  RLSE: ["rateLimitServiceError", 14],
  DC: ["downstreamConnectionTermination", 15],
  URX: ["upstreamRetryLimitExceeded", 16],
  SI: ["streamIdleTimeout", 17],
  IH: ["invalidEnvoyRequestHeaders", 18],
  DPE: ["downstreamProtocolError", 19],
  UMSDR: ["upstreamMaxStreamDurationReached", 20],
  RFCF: ["responseFromCacheFilter", 21],
  NFCF: ["noFilterConfigFound", 22],
  DT: ["durationTimeout", 23],
  UPE: ["upstreamProtocolError", 24],
  NC: ["noClusterFound", 25],
  OM: ["overloadManager", 26],
  DF: ["dnsResolutionFailure", 27],
  DR: ["downstreamRemoteReset", 28],
};

const responseFlagFields: Record<string, { type: string; id: number }> = { unauthorizedDetails: { type: "Unauthorized", id: 13 } };
for (const [field, id] of Object.values(RESPONSE_FLAG_FIELDS)) responseFlagFields[field] = { type: "bool", id };

const descriptor = {
  nested: {
    google: {
      nested: {
        protobuf: {
          nested: {
            Timestamp: { fields: { seconds: { type: "int64", id: 1 }, nanos: { type: "int32", id: 2 } } },
            Duration: { fields: { seconds: { type: "int64", id: 1 }, nanos: { type: "int32", id: 2 } } },
            UInt32Value: { fields: { value: { type: "uint32", id: 1 } } },
          },
        },
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
                    Node: {
                      fields: {
                        id: { type: "string", id: 1 },
                        cluster: { type: "string", id: 2 },
                        userAgentName: { type: "string", id: 6 },
                        userAgentVersion: { type: "string", id: 7 },
                      },
                    },
                  },
                },
              },
            },
          },
        },
        data: {
          nested: {
            accesslog: {
              nested: {
                v3: {
                  nested: {
                    AccessLogCommon: {
                      fields: {
                        downstreamRemoteAddress: { type: address, id: 2 },
                        downstreamLocalAddress: { type: address, id: 3 },
                        tlsProperties: { type: "TLSProperties", id: 4 },
                        startTime: { type: "google.protobuf.Timestamp", id: 5 },
                        timeToLastRxByte: { type: duration, id: 6 },
                        timeToFirstUpstreamTxByte: { type: duration, id: 7 },
                        timeToLastUpstreamTxByte: { type: duration, id: 8 },
                        timeToFirstUpstreamRxByte: { type: duration, id: 9 },
                        timeToLastUpstreamRxByte: { type: duration, id: 10 },
                        timeToFirstDownstreamTxByte: { type: duration, id: 11 },
                        timeToLastDownstreamTxByte: { type: duration, id: 12 },
                        upstreamRemoteAddress: { type: address, id: 13 },
                        upstreamLocalAddress: { type: address, id: 14 },
                        upstreamCluster: { type: "string", id: 15 },
                        responseFlags: { type: "ResponseFlags", id: 16 },
                        routeName: { type: "string", id: 19 },
                        downstreamDirectRemoteAddress: { type: address, id: 20 },
                        duration: { type: duration, id: 23 },
                        upstreamRequestAttemptCount: { type: "uint32", id: 24 },
                        streamId: { type: "string", id: 26 },
                        accessLogType: { type: "int32", id: 33 },
                      },
                    },
                    ResponseFlags: {
                      fields: responseFlagFields,
                      nested: { Unauthorized: { fields: { reason: { type: "int32", id: 1 } } } },
                    },
                    TLSProperties: {
                      fields: {
                        tlsVersion: { type: "int32", id: 1 },
                        tlsCipherSuite: { type: "google.protobuf.UInt32Value", id: 2 },
                        tlsSniHostname: { type: "string", id: 3 },
                        peerCertificateProperties: { type: "CertificateProperties", id: 5 },
                      },
                      nested: {
                        CertificateProperties: {
                          fields: {
                            subjectAltName: { rule: "repeated", type: "SubjectAltName", id: 1 },
                            subject: { type: "string", id: 2 },
                            issuer: { type: "string", id: 3 },
                          },
                          nested: { SubjectAltName: { oneofs: { san: { oneof: ["uri", "dns"] } }, fields: { uri: { type: "string", id: 1 }, dns: { type: "string", id: 2 } } } },
                        },
                      },
                    },
                    HTTPRequestProperties: {
                      fields: {
                        requestMethod: { type: "int32", id: 1 },
                        scheme: { type: "string", id: 2 },
                        authority: { type: "string", id: 3 },
                        path: { type: "string", id: 5 },
                        userAgent: { type: "string", id: 6 },
                        referer: { type: "string", id: 7 },
                        forwardedFor: { type: "string", id: 8 },
                        requestId: { type: "string", id: 9 },
                        originalPath: { type: "string", id: 10 },
                        requestBodyBytes: { type: "uint64", id: 12 },
                        requestHeaders: { keyType: "string", type: "string", id: 13 },
                      },
                    },
                    HTTPResponseProperties: {
                      fields: {
                        responseCode: { type: "google.protobuf.UInt32Value", id: 1 },
                        responseBodyBytes: { type: "uint64", id: 3 },
                        responseHeaders: { keyType: "string", type: "string", id: 4 },
                        responseCodeDetails: { type: "string", id: 6 },
                      },
                    },
                    HTTPAccessLogEntry: {
                      fields: {
                        commonProperties: { type: "AccessLogCommon", id: 1 },
                        protocolVersion: { type: "int32", id: 2 },
                        request: { type: "HTTPRequestProperties", id: 3 },
                        response: { type: "HTTPResponseProperties", id: 4 },
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
            accesslog: {
              nested: {
                v3: {
                  nested: {
                    StreamAccessLogsMessage: {
                      fields: { identifier: { type: "Identifier", id: 1 }, httpLogs: { type: "HTTPAccessLogEntries", id: 2 } },
                      nested: {
                        Identifier: { fields: { node: { type: "envoy.config.core.v3.Node", id: 1 }, logName: { type: "string", id: 2 } } },
                        HTTPAccessLogEntries: { fields: { logEntry: { rule: "repeated", type: "envoy.data.accesslog.v3.HTTPAccessLogEntry", id: 1 } } },
                      },
                    },
                    StreamAccessLogsResponse: { fields: {} },
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

const types = lazyMessagePair(descriptor, "envoy.service.accesslog.v3.StreamAccessLogsMessage", "envoy.service.accesslog.v3.StreamAccessLogsResponse");

/** The client-streaming method entries are sent on. */
export const STREAM_ACCESS_LOGS_PATH = "/envoy.service.accesslog.v3.AccessLogService/StreamAccessLogs";

/** envoy.data.accesslog.v3.AccessLogType.DownstreamEnd: the entry of a finished request. */
export const ACCESS_LOG_TYPE_DOWNSTREAM_END = 6;

/**
 * A message's bytes at most, but for one entry larger alone: gRPC servers refuse messages
 * over 4 MiB by default, so a batch of large entries goes as several messages on its stream.
 */
export const MAX_MESSAGE_BYTES = 1024 * 1024;

/** StreamAccessLogsMessage field tags (length-delimited): identifier = 1, http_logs = 2; HTTPAccessLogEntries.log_entry = 1. */
const IDENTIFIER_TAG = (1 << 3) | 2;
const HTTP_LOGS_TAG = (2 << 3) | 2;
const LOG_ENTRY_TAG = (1 << 3) | 2;

/** One HTTPAccessLogEntry (plain fields, camelCase) as wire bytes. */
export function encodeAccessLogEntry(entry: object): Buffer {
  return encodeMessage(types().request.lookupType("envoy.data.accesslog.v3.HTTPAccessLogEntry"), entry);
}

/**
 * The StreamAccessLogsMessages of one stream: the entries (encoded) in order, grouped so that
 * each message stays under MAX_MESSAGE_BYTES; the Identifier (plain fields) goes in the first
 * only, as Envoy sends it once per stream.
 */
export function encodeStreamAccessLogsMessages(identifier: object, entries: readonly Buffer[]): Buffer[] {
  const identifierBytes = encodeMessage(types().request.lookupType("envoy.service.accesslog.v3.StreamAccessLogsMessage.Identifier"), identifier);
  const messages: Buffer[] = [];
  let group: Buffer[] = [];
  let size = identifierBytes.length;
  const flush = (): void => {
    const writer = protobufWriter();
    if (messages.length === 0) writer.uint32(IDENTIFIER_TAG).bytes(identifierBytes);
    writer.uint32(HTTP_LOGS_TAG).fork();
    for (const entry of group) writer.uint32(LOG_ENTRY_TAG).bytes(entry);
    writer.ldelim();
    const bytes = writer.finish();
    messages.push(Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength));
    group = [];
    size = 0;
  };
  for (const entry of entries) {
    // Each entry costs its bytes, a tag and a length of up to five bytes.
    if (group.length > 0 && size + entry.length + 6 > MAX_MESSAGE_BYTES) flush();
    group.push(entry);
    size += entry.length + 6;
  }
  if (group.length > 0) flush();
  return messages;
}
