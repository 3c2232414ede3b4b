// One finished request as Envoy's HTTPAccessLogEntry (envoy.data.accesslog.v3), the entry a
// kgateway `grpcService` access log streams: the same facts the other sinks read, in the
// fields Envoy's gRPC access logger fills. Compiled once per log: the request and response
// headers the log names are read through the same captures (and redactions) as %REQ()% and
// %RESP()% in a format string.
import type { AccessLogServiceModel } from "../../config/model.ts";
import { compileHeaderValue, type HeaderIndex, pathWithQuery, responseCodeDetails } from "./envoy-render.ts";
import { ACCESS_LOG_TYPE_DOWNSTREAM_END, RESPONSE_FLAG_FIELDS } from "./als-messages.ts";
import type { RequestFacts } from "./facts.ts";

/** The entry as protobufjs takes it (camelCase fields). */
export type AlsEntry = Record<string, unknown>;
export type AlsEntryRender = (f: RequestFacts) => AlsEntry;

/** envoy.config.core.v3.RequestMethod; any other method is METHOD_UNSPECIFIED (0). */
export const REQUEST_METHODS: Readonly<Record<string, number>> = { GET: 1, HEAD: 2, POST: 3, PUT: 4, DELETE: 5, CONNECT: 6, OPTIONS: 7, TRACE: 8, PATCH: 9 };
/** HTTPAccessLogEntry.HTTPVersion by network.protocol.version. */
export const HTTP_VERSIONS: Readonly<Record<string, number>> = { "1.0": 1, "1.1": 2, "2": 3, "2.0": 3, "3": 4, "3.0": 4 };
/** TLSProperties.TLSVersion by OpenSSL's name. */
export const TLS_VERSIONS: Readonly<Record<string, number>> = { TLSv1: 1, "TLSv1.1": 2, "TLSv1.2": 3, "TLSv1.3": 4 };
/** ResponseFlags.Unauthorized.Reason.EXTERNAL_SERVICE. */
const UNAUTHORIZED_EXTERNAL_SERVICE = 1;

type HeaderRead = (f: RequestFacts) => string | undefined;

function headerRead(kind: "requestHeader" | "responseHeader", header: string, index: HeaderIndex, allowSensitive: ReadonlySet<string>): HeaderRead {
  const part = kind === "requestHeader" ? { kind, header, fallback: undefined, withoutQuery: false, maxLength: undefined } : { kind, header, fallback: undefined, maxLength: undefined };
  return compileHeaderValue(part, index, allowSensitive);
}

function headerMap(names: readonly string[], reads: readonly HeaderRead[], f: RequestFacts): Record<string, string> | undefined {
  let out: Record<string, string> | undefined;
  for (let i = 0; i < names.length; i++) {
    const v = reads[i]!(f);
    if (v !== undefined) (out ??= {})[names[i]!] = v;
  }
  return out;
}

function address(host: string, port: number): { socketAddress: { address: string; portValue: number } } | undefined {
  return host === "" ? undefined : { socketAddress: { address: host, portValue: port } };
}

function seconds(ms: number): { seconds: number; nanos: number } {
  const whole = Math.floor(ms / 1000);
  return { seconds: whole, nanos: Math.min(999_999_999, Math.round((ms - whole * 1000) * 1e6)) };
}

/** ResponseFlags for `%RESPONSE_FLAGS%` (comma-separated short names); undefined without flags. */
export function responseFlagsMessage(flags: string): Record<string, unknown> | undefined {
  if (flags === "") return undefined;
  const out: Record<string, unknown> = {};
  for (const flag of flags.split(",")) {
    if (flag === "UAEX") out["unauthorizedDetails"] = { reason: UNAUTHORIZED_EXTERNAL_SERVICE };
    else {
      const field = RESPONSE_FLAG_FIELDS[flag];
      // DO (drop overload) has no field in the message.
      if (field !== undefined) out[field[0]] = true;
    }
  }
  return out;
}

function tlsProperties(f: RequestFacts): Record<string, unknown> | undefined {
  const tls = f.downstreamTls;
  if (tls === undefined) return undefined;
  const peer = tls.peer;
  return {
    tlsVersion: TLS_VERSIONS[tls.version] ?? 0,
    tlsCipherSuite: tls.cipherNumber === undefined ? undefined : { value: tls.cipherNumber },
    tlsSniHostname: tls.serverName,
    peerCertificateProperties:
      peer === undefined
        ? undefined
        : { subject: peer.subject, issuer: peer.issuer, subjectAltName: [...peer.uriSans.map((uri) => ({ uri })), ...peer.dnsSans.map((dns) => ({ dns }))] },
  };
}

export function compileAlsEntry(service: AccessLogServiceModel, index: HeaderIndex, allowSensitive: ReadonlySet<string>): AlsEntryRender {
  const read = (name: string): HeaderRead => headerRead("requestHeader", name, index, allowSensitive);
  const authority = read(":authority");
  const referer = read("referer");
  const forwardedFor = read("x-forwarded-for");
  const requestId = read("x-request-id");
  const originalPath = read("x-envoy-original-path");
  const requestNames = service.requestHeaders;
  const requestReads = requestNames.map(read);
  const responseNames = service.responseHeaders;
  const responseReads = responseNames.map((name) => headerRead("responseHeader", name, index, allowSensitive));
  return (f) => {
    const ep = f.upstreamEndpoint;
    const common: Record<string, unknown> = {
      downstreamRemoteAddress: address(f.peerAddress, f.peerPort),
      downstreamLocalAddress: address(f.localAddress, f.localPort),
      tlsProperties: tlsProperties(f),
      startTime: seconds(f.startTimeMs),
      timeToLastRxByte: f.requestDurationMs < 0 ? undefined : seconds(f.requestDurationMs),
      timeToFirstUpstreamTxByte: f.upstreamTxStartMs < 0 ? undefined : seconds(f.upstreamTxStartMs),
      timeToLastUpstreamTxByte: f.upstreamTxEndMs < 0 ? undefined : seconds(f.upstreamTxEndMs),
      timeToFirstUpstreamRxByte: f.upstreamRxStartMs < 0 ? undefined : seconds(f.upstreamRxStartMs),
      timeToLastUpstreamRxByte: f.upstreamRxEndMs < 0 ? undefined : seconds(f.upstreamRxEndMs),
      timeToFirstDownstreamTxByte: f.responseStartMs < 0 ? undefined : seconds(f.responseStartMs),
      // The last byte went out when the exchange ended, unless it never finished sending.
      timeToLastDownstreamTxByte: f.responseStartMs < 0 || !f.responseWhole ? undefined : seconds(f.durationMs),
      upstreamRemoteAddress: ep === undefined ? undefined : address(ep.host, ep.port),
      upstreamLocalAddress: address(f.upstreamLocalAddress, f.upstreamLocalPort),
      upstreamCluster: f.backendName,
      responseFlags: responseFlagsMessage(f.responseFlags),
      routeName: f.rule?.routeKey,
      downstreamDirectRemoteAddress: address(f.directPeerAddress, f.directPeerPort),
      duration: seconds(f.durationMs),
      upstreamRequestAttemptCount: f.upstreamAttempts > 0 ? f.upstreamAttempts : undefined,
      streamId: requestId(f),
      accessLogType: ACCESS_LOG_TYPE_DOWNSTREAM_END,
    };
    return {
      commonProperties: common,
      protocolVersion: HTTP_VERSIONS[f.protocolVersion] ?? 0,
      request: {
        requestMethod: REQUEST_METHODS[f.method] ?? 0,
        scheme: f.scheme,
        authority: authority(f),
        path: pathWithQuery(f),
        userAgent: f.userAgent,
        referer: referer(f),
        forwardedFor: forwardedFor(f),
        requestId: requestId(f),
        originalPath: originalPath(f),
        requestBodyBytes: f.bytesReceived,
        requestHeaders: headerMap(requestNames, requestReads, f),
      },
      response: {
        responseCode: f.status > 0 ? { value: f.status } : undefined,
        responseBodyBytes: f.bytesSent,
        responseHeaders: headerMap(responseNames, responseReads, f),
        responseCodeDetails: responseCodeDetails(f),
      },
    };
  };
}
