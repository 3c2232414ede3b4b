// The facts of one finished request that access logs need, copied from the Exchange at
// the end hook so the Exchange (and its sockets) can be released before export. Header
// values are captured only for the names some access log of the gateway renders.
import { downstreamLocalOf } from "../../proxy/facts.ts";
import type { CompiledEndpoint, CompiledRule } from "../../plan/types.ts";
import type { Exchange } from "../../proxy/exchange.ts";
import { headerValue } from "../metrics/value-sources.ts";
import { type HeaderBag, responseHeadersOf } from "../response-headers.ts";
import { serverSpanOf } from "../metrics/trace-context.ts";
import { shownHeaderValue } from "../trace/attributes.ts";
import { connectionIdOf } from "./connection-id.ts";
import { type DownstreamTls, downstreamTlsOf } from "./downstream-tls.ts";
import { loggedRequestHeader } from "./logged-request-headers.ts";

const NONE: readonly (string | undefined)[] = [];

/** ms from the exchange's start to a performance.now() mark; -1 for a mark not reached (0). */
function sinceStart(mark: number | undefined, startPerfMs: number): number {
  return mark === undefined || mark === 0 ? -1 : Math.max(0, mark - startPerfMs);
}

export class RequestFacts {
  readonly startTimeMs: number;
  readonly observedTimeMs: number;
  readonly durationMs: number;
  /** ms from arrival to the first response byte; -1 when no response was sent. */
  readonly responseStartMs: number;
  /** ms from arrival to the last request byte (0 without a body); -1 when the body was never read whole. */
  readonly requestDurationMs: number;
  /**
   * Whole ms from the end of the request (its last byte) to the upstream response head, as
   * Envoy's router measures `x-envoy-upstream-service-time`; -1 when no upstream response was
   * forwarded, or it came before the request was whole.
   */
  readonly upstreamServiceTimeMs: number;
  /**
   * The last upstream attempt's timing, in ms from arrival (-1: not reached), as Envoy's
   * upstream timing: its request head written, its last request byte written, its response
   * head read, its last response byte read.
   */
  readonly upstreamTxStartMs: number;
  readonly upstreamTxEndMs: number;
  readonly upstreamRxStartMs: number;
  readonly upstreamRxEndMs: number;
  /** The answer reached its last byte (false: the client left, or the gateway cut it). */
  readonly responseWhole: boolean;
  /** Process-unique id of the downstream connection. */
  readonly connectionId: number;
  /** The downstream connection's TLS (an HTTPS listener); undefined for plain HTTP. */
  readonly downstreamTls: DownstreamTls | undefined;
  readonly method: string;
  readonly path: string;
  readonly query: string;
  readonly scheme: string;
  readonly protocolVersion: string;
  readonly status: number;
  readonly errorType: string | undefined;
  readonly responseFlags: string;
  readonly bytesReceived: number;
  readonly bytesSent: number;
  readonly serverAddress: string;
  readonly serverPort: number;
  readonly clientAddress: string;
  readonly peerAddress: string;
  readonly peerPort: number;
  /** The socket's own peer: the balancer behind a PROXY protocol header. */
  readonly directPeerAddress: string;
  readonly directPeerPort: number;
  readonly localAddress: string;
  readonly localPort: number;
  readonly userAgent: string | undefined;
  readonly backendName: string | undefined;
  /** The last upstream attempt's endpoint; formatted as `host:port` only at export time. */
  readonly upstreamEndpoint: CompiledEndpoint | undefined;
  /** Local address and port of the connection the last attempt used; '' / 0 when unknown. */
  readonly upstreamLocalAddress: string;
  readonly upstreamLocalPort: number;
  readonly upstreamAttempts: number;
  readonly matched: boolean;
  /** Set when a filter answered itself (a CORS preflight): `%RESPONSE_CODE_DETAILS%`. */
  readonly localReplyDetails: string | undefined;
  readonly rule: CompiledRule | undefined;
  readonly listenerName: string | undefined;
  /** '' when the request was not traced (tracing disabled for its route). */
  readonly traceId: string;
  readonly spanId: string;
  readonly traceFlags: number;
  readonly clientAborted: boolean;
  /** Values of GatewayLogs.requestHeaders / responseHeaders, in that order. */
  readonly requestHeaders: readonly (string | undefined)[];
  readonly responseHeaders: readonly (string | undefined)[];

  /** `forwarded` is forwardedViewOf(ex); only the values named are kept from it. */
  constructor(ex: Exchange, forwarded: HeaderBag, requestHeaderNames: readonly string[], responseHeaderNames: readonly string[]) {
    const end = ex.endPerfMs > 0 ? ex.endPerfMs : performance.now();
    this.startTimeMs = ex.startTimeMs;
    this.durationMs = Math.max(0, end - ex.startPerfMs);
    this.observedTimeMs = ex.startTimeMs + this.durationMs;
    this.responseStartMs = ex.responseStartPerfMs > 0 ? Math.max(0, ex.responseStartPerfMs - ex.startPerfMs) : -1;
    this.requestDurationMs =
      ex.requestEndPerfMs > 0 ? Math.max(0, ex.requestEndPerfMs - ex.startPerfMs) : ex.req.complete && ex.bytesReceived === 0 ? 0 : -1;
    this.method = ex.method;
    this.path = ex.path;
    this.query = ex.query;
    this.scheme = ex.scheme;
    this.protocolVersion = ex.protocolVersion;
    this.status = ex.status;
    this.errorType = ex.errorType;
    this.responseFlags = ex.responseFlags;
    this.bytesReceived = ex.bytesReceived;
    this.bytesSent = ex.bytesSent;
    this.serverAddress = ex.serverAddress;
    this.serverPort = ex.serverPort;
    this.clientAddress = ex.clientAddress;
    this.peerAddress = ex.peerAddress;
    this.peerPort = ex.peerPort;
    this.directPeerAddress = ex.directPeerAddress;
    this.directPeerPort = ex.directPeerPort;
    const socket = ex.socket;
    this.connectionId = connectionIdOf(socket);
    this.downstreamTls = downstreamTlsOf(socket);
    // Behind a PROXY protocol header, the address the client connected to at the balancer (as Envoy restores it).
    const local = downstreamLocalOf(socket);
    this.localAddress = local.address;
    this.localPort = local.port;
    // user_agent.original is what the client sent, whatever a filter forwarded.
    this.userAgent = ex.req.headers["user-agent"];
    this.backendName = ex.backend?.displayName;
    const attempts = ex.attempts;
    const last = attempts.length > 0 ? attempts[attempts.length - 1] : undefined;
    this.upstreamEndpoint = last?.endpoint;
    this.upstreamLocalAddress = last?.localAddress ?? "";
    this.upstreamLocalPort = last === undefined ? 0 : last.localPort;
    this.upstreamAttempts = attempts.length;
    const start = ex.startPerfMs;
    this.upstreamTxStartMs = sinceStart(last?.requestStartPerfMs, start);
    this.upstreamTxEndMs = sinceStart(last?.requestSentPerfMs, start);
    // The answer is the last attempt's only when its status is the one sent (not a gateway-made 502 after it).
    const upstreamAnswered = last !== undefined && last.status > 0 && last.status === ex.status && this.responseStartMs >= 0;
    // The answer's marks count only when the client got that answer (not one the gateway made
    // after it: a retry's timeout, a refused 204 with a body).
    this.upstreamRxStartMs = upstreamAnswered ? sinceStart(last.responseStartPerfMs, start) : -1;
    this.upstreamRxEndMs = upstreamAnswered ? sinceStart(last.responseEndPerfMs, start) : -1;
    this.responseWhole = ex.responseWhole;
    this.upstreamServiceTimeMs =
      upstreamAnswered && this.requestDurationMs >= 0 && this.responseStartMs >= this.requestDurationMs ? Math.floor(this.responseStartMs - this.requestDurationMs) : -1;
    this.matched = ex.match !== undefined;
    this.localReplyDetails = ex.localReplyDetails;
    this.rule = ex.match?.rule;
    this.listenerName = ex.match?.rule.listener.name ?? ex.listener.gateways[0]?.listeners.find((l) => l.port === ex.listener.port)?.name;
    const span = serverSpanOf(ex);
    this.traceId = span?.traceId ?? "";
    this.spanId = span?.spanId ?? "";
    this.traceFlags = span === undefined ? 0 : span.traceFlags;
    this.clientAborted = ex.clientAborted;
    const req: (string | undefined)[] = [];
    for (let i = 0; i < requestHeaderNames.length; i++) req.push(loggedRequestHeader(ex, forwarded, requestHeaderNames[i]!));
    this.requestHeaders = req;
    if (responseHeaderNames.length > 0) {
      const res: (string | undefined)[] = [];
      const rh = responseHeadersOf(ex);
      for (let i = 0; i < responseHeaderNames.length; i++) {
        const name = responseHeaderNames[i]!;
        const value = headerValue(rh, name);
        res.push(value === undefined ? value : shownHeaderValue(name, value));
      }
      this.responseHeaders = res;
    } else this.responseHeaders = NONE;
  }

  /** `host:port` of the last upstream attempt's endpoint. */
  get upstreamHost(): string | undefined {
    const ep = this.upstreamEndpoint;
    return ep === undefined ? undefined : `${ep.host}:${ep.port}`;
  }
}
