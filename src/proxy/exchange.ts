// One request's facts, filled by the proxy as it goes and read by telemetry at the hooks.
// Classes with every field set in the constructor keep one hidden class on the hot path.
import type { IncomingMessage, ServerResponse } from "node:http";
import type { Socket } from "node:net";
import type { CompiledBackend, CompiledEndpoint, CompiledListener, CompiledMatch, RuntimePlan } from "../plan/types.ts";
import type { ApiKeyAuthPolicy } from "./api-key-auth.ts";
import type { JwtGrant } from "./jwt-auth.ts";
import type { OutgoingHeaders } from "../telemetry/hooks.ts";
import type { HeaderMutation } from "./auth-grant.ts";
import type { CorsPolicy } from "./cors.ts";

export class Exchange {
  /** Epoch ms with sub-ms precision (the monotonic clock anchored to the wall clock: telemetry/wall-clock.ts) at request arrival. */
  readonly startTimeMs: number;
  /** performance.now() at request arrival; durations are perf deltas. */
  readonly startPerfMs: number;
  /** performance.now() when the response finished or the exchange aborted. */
  endPerfMs = 0;
  /** performance.now() when response headers were written. */
  responseStartPerfMs = 0;
  /**
   * performance.now() when the request body was whole (Envoy's "downstream request complete"):
   * right after its head for a body that came with it, else when its last byte went upstream;
   * 0 when unknown or no body.
   */
  requestEndPerfMs = 0;
  /** The answer reached its end (false: the client left, or the gateway cut it, before its last byte). */
  responseWhole = true;

  readonly req: IncomingMessage;
  readonly res: ServerResponse;
  /** The downstream connection, kept because node detaches `req.socket` once a keep-alive response is done. */
  readonly socket: Socket;
  readonly plan: RuntimePlan;
  readonly listener: CompiledListener;
  match: CompiledMatch | undefined = undefined;
  /** The matched rule's CORS filter, which every answer of the rule (errors too) applies. */
  cors: CorsPolicy | undefined = undefined;
  /** The listener's health check path was asked for: the gateway answered it, untraced (Envoy's health check stream). */
  healthCheck = false;
  /** `%RESPONSE_CODE_DETAILS%` of an answer a filter made itself (a CORS preflight); unset otherwise. */
  localReplyDetails: string | undefined = undefined;
  /** What the request waits on before it goes on (an ExternalAuth check, a body read, an injected delay): the request's end cancels it. */
  authCheck: { cancel(cause: string): void } | undefined = undefined;
  /** A fault injection's delay the request waited: the rule's request timeout starts after it, as Envoy's route timeout starts at its router. */
  injectedDelayMs = 0;
  /** A fault injection's response rate limit, in bytes a second; unset when the response is not slowed. */
  responseBytesPerSecond: number | undefined = undefined;
  /** Headers an allowing gRPC ExternalAuth check adds to the client's answer (`response_headers_to_add`). */
  authResponseMutations: readonly HeaderMutation[] | undefined = undefined;
  /** The user a basicAuth policy let in, as header text (x-envoy-basic-auth-user); unset otherwise. */
  basicAuthUser: string | undefined = undefined;
  /** The client an apiKeyAuth policy let in, and that policy; unset otherwise. */
  apiKeyGrant: { readonly policy: ApiKeyAuthPolicy; readonly client: string } | undefined = undefined;
  /** What a jwtAuth policy that let the request in changed (claims, the token's header); unset otherwise. */
  jwtGrant: JwtGrant | undefined = undefined;

  /** Method as received. */
  readonly method: string;
  readonly scheme: "http" | "https";
  /** server.address / server.port as the client addressed us (trusted forwarding headers first). */
  readonly serverAddress: string;
  readonly serverPort: number;
  /** Path without query, as received. */
  readonly path: string;
  /** Query without `?`; '' when absent. */
  readonly query: string;
  /** client.address: the forwarded client when trusted, else the peer. */
  readonly clientAddress: string;
  /** The connection's remote address: the client a PROXY protocol header named, else the socket's peer (Envoy's downstream remote address). */
  readonly peerAddress: string;
  readonly peerPort: number;
  /** The socket's own peer (network.peer.*): the balancer behind a PROXY protocol header, else the same as peerAddress. */
  readonly directPeerAddress: string;
  readonly directPeerPort: number;
  /** `1.0` or `1.1`. */
  readonly protocolVersion: string;
  /** The absolute-form authority or the Host header (see ExchangeFacts). */
  readonly hostHeader: string | undefined;
  /** The request headers as sent upstream (after forwarding rules and filters); unset when none was sent. */
  forwardedHeaders: OutgoingHeaders | undefined = undefined;

  /** Status sent to the client; 0 when none was sent (abort before headers). */
  status = 0;
  /** OTel error.type: a status code as string, or a short cause like `timeout`, `connection_refused`. */
  errorType: string | undefined = undefined;
  /** Envoy response flags, e.g. `UF`, `UT`, `NR`, `DC`, `UH`, `URX`, `UC`; '' when none (rendered `-`). */
  responseFlags = "";
  /**
   * The forwarded upstream response headers as the flat `[name, value, ...]` list written to
   * the client, when no response filter ran; `responseHeaders` is built from it on first read.
   */
  responseHeaderList: readonly (string | string[])[] | undefined = undefined;
  #responseHeaders: Readonly<Record<string, string | string[] | undefined>> | undefined = undefined;
  /** Request body bytes read from the client. */
  bytesReceived = 0;
  /** Response body bytes written to the client. */
  bytesSent = 0;
  /** True when the client went away before the response completed. */
  clientAborted = false;

  backend: CompiledBackend | undefined = undefined;
  readonly attempts: UpstreamAttempt[] = [];

  /** The stream idle limit in force: the matched rule's own (kgateway timeouts.streamIdle), else the listener's. 0: none. */
  streamIdleMs(): number {
    return this.match?.rule.timeouts.streamIdleMs ?? this.listener.settings.streamIdleTimeoutMs;
  }

  /** Upstream response headers as forwarded to the client (after filters); unset for responses the proxy made itself. */
  get responseHeaders(): Readonly<Record<string, string | string[] | undefined>> | undefined {
    if (this.#responseHeaders === undefined && this.responseHeaderList !== undefined) this.#responseHeaders = headerRecord(this.responseHeaderList);
    return this.#responseHeaders;
  }

  set responseHeaders(headers: Readonly<Record<string, string | string[] | undefined>> | undefined) {
    this.#responseHeaders = headers;
    this.responseHeaderList = undefined;
  }

  /** Owned by telemetry: per-request span/sampling state. */
  telemetry: unknown = undefined;

  constructor(
    req: IncomingMessage,
    res: ServerResponse,
    plan: RuntimePlan,
    listener: CompiledListener,
    startTimeMs: number,
    startPerfMs: number,
    facts: ExchangeFacts,
  ) {
    this.req = req;
    this.res = res;
    this.socket = req.socket;
    this.plan = plan;
    this.listener = listener;
    this.startTimeMs = startTimeMs;
    this.startPerfMs = startPerfMs;
    this.method = facts.method;
    this.scheme = facts.scheme;
    this.serverAddress = facts.serverAddress;
    this.serverPort = facts.serverPort;
    this.path = facts.path;
    this.query = facts.query;
    this.clientAddress = facts.clientAddress;
    this.peerAddress = facts.peerAddress;
    this.peerPort = facts.peerPort;
    this.directPeerAddress = facts.directPeerAddress;
    this.directPeerPort = facts.directPeerPort;
    this.protocolVersion = facts.protocolVersion;
    this.hostHeader = facts.hostHeader;
  }
}

/** `[name, value, ...]` → `{ name: value }`; names in the list are unique. */
function headerRecord(list: readonly (string | string[])[]): Record<string, string | string[]> {
  const out: Record<string, string | string[]> = {};
  for (let i = 0; i < list.length; i += 2) out[list[i] as string] = list[i + 1]!;
  return out;
}

export interface ExchangeFacts {
  readonly method: string;
  readonly scheme: "http" | "https";
  readonly serverAddress: string;
  readonly serverPort: number;
  readonly path: string;
  readonly query: string;
  readonly clientAddress: string;
  readonly peerAddress: string;
  readonly peerPort: number;
  readonly directPeerAddress: string;
  readonly directPeerPort: number;
  readonly protocolVersion: string;
  /**
   * The Host the upstream gets: the target's authority for an absolute-form request (RFC
   * 9112 §3.2.2 has a proxy replace the received Host with it), else the Host header.
   */
  readonly hostHeader: string | undefined;
}

export class UpstreamAttempt {
  /** 0 for the first attempt; http.request.resend_count when > 0. */
  readonly index: number;
  readonly backend: CompiledBackend;
  readonly endpoint: CompiledEndpoint;
  /** Method sent upstream (after filters). */
  readonly method: string;
  /** url.full as sent, never with credentials. */
  readonly url: string;
  readonly startTimeMs: number;
  readonly startPerfMs: number;
  endPerfMs = 0;
  /**
   * Envoy's upstream timing, in performance.now() ms (0: not reached): the request head about to
   * be written on the connection, the request's last byte written, the response head read, the
   * response's last byte read.
   */
  requestStartPerfMs = 0;
  requestSentPerfMs = 0;
  responseStartPerfMs = 0;
  responseEndPerfMs = 0;
  /** Upstream status; 0 when none was received. */
  status = 0;
  errorType: string | undefined = undefined;
  peerAddress: string | undefined = undefined;
  peerPort = 0;
  /** Local side of the upstream connection that carried the attempt (Envoy UPSTREAM_LOCAL_ADDRESS); unset before a response. */
  localAddress: string | undefined = undefined;
  localPort = 0;
  /** A RequestMirror copy, not an attempt of the request: its answer goes nowhere and it is not in `Exchange.attempts`. */
  mirror = false;
  /** The ExternalAuth check of the request, not an attempt of it: not in `Exchange.attempts` either. */
  externalAuth = false;
  /** The global rate limit check of the request: not in `Exchange.attempts` either. */
  rateLimitCheck = false;
  /** `service/method` when the attempt is a gRPC call (an ExternalAuth check with protocol GRPC, a global rate limit check). */
  rpcMethod: string | undefined = undefined;
  /** That call's gRPC status code; -1 until it has one. */
  grpcStatus = -1;
  /** Owned by telemetry: the CLIENT span, or only its id when the request is not sampled. */
  telemetry: unknown = undefined;

  constructor(index: number, backend: CompiledBackend, endpoint: CompiledEndpoint, method: string, url: string, startTimeMs: number, startPerfMs: number) {
    this.index = index;
    this.backend = backend;
    this.endpoint = endpoint;
    this.method = method;
    this.url = url;
    this.startTimeMs = startTimeMs;
    this.startPerfMs = startPerfMs;
  }
}
