// How an upstream attempt failed, decided once from the error undici (or a proxy timer)
// raised. Each class is a shared constant: the error path allocates nothing to classify.
import { ErrorType, Flag } from "./errors.ts";

export class Failure {
  /** OTel error.type. */
  readonly type: string;
  readonly flag: string;
  /** Status the client gets when no response went out yet. */
  readonly status: number;
  /** The `error` field of the JSON body. */
  readonly code: string;
  readonly message: string;
  /** Nothing reached the upstream: the request body is untouched. */
  readonly beforeConnect: boolean;
  /** Worth another attempt for an idempotent request. */
  readonly retryable: boolean;
  /**
   * The request's error.type when this failure is answered with its own status: the type
   * for a 5xx, none for a 4xx, which HTTP semconv counts as the client's error on the
   * server side (the status code says it all).
   */
  readonly serverErrorType: string | undefined;
  /** Envoy's %RESPONSE_CODE_DETAILS% when this failure ends the exchange; unset: the error type. */
  readonly details: string | undefined;

  constructor(type: string, flag: string, status: number, code: string, message: string, beforeConnect: boolean, retryable: boolean, details?: string) {
    this.type = type;
    this.flag = flag;
    this.status = status;
    this.code = code;
    this.message = message;
    this.beforeConnect = beforeConnect;
    this.retryable = retryable;
    this.serverErrorType = status >= 500 ? type : undefined;
    this.details = details;
  }
}

export const Failures = {
  refused: new Failure(ErrorType.connectionRefused, Flag.upstreamConnectFailure, 502, "upstream_connect_failed", "the upstream refused the connection", true, true),
  unreachable: new Failure(ErrorType.hostUnreachable, Flag.upstreamConnectFailure, 502, "upstream_connect_failed", "the upstream host is unreachable", true, true),
  dns: new Failure(ErrorType.dnsError, Flag.upstreamConnectFailure, 503, "upstream_unresolvable", "the upstream host name does not resolve", true, true),
  // Envoy flags both UF (a connection failure); the code tells an untrusted upstream from a broken handshake.
  tlsCertificate: new Failure(
    ErrorType.tlsCertificateInvalid,
    Flag.upstreamConnectFailure,
    502,
    "upstream_tls_failed",
    "the upstream's TLS certificate did not verify against the backend's BackendTLSPolicy",
    true,
    true,
  ),
  tlsHandshake: new Failure(ErrorType.tlsHandshakeFailed, Flag.upstreamConnectFailure, 502, "upstream_tls_failed", "the TLS handshake with the upstream failed", true, true),
  connectTimeout: new Failure(ErrorType.connectTimeout, Flag.upstreamConnectFailure, 504, "upstream_connect_timeout", "connecting to the upstream timed out", true, true),
  reset: new Failure(ErrorType.connectionReset, Flag.upstreamConnectionTermination, 502, "upstream_reset", "the upstream closed the connection before a response", false, true),
  attemptTimeout: new Failure(ErrorType.timeout, Flag.upstreamRequestTimeout, 504, "upstream_timeout", "the upstream did not answer within the backend request timeout", false, true),
  // Envoy resets the stream and retries it as any reset (retryOn reset, 5xx, gateway-error).
  maxStreamDuration: new Failure(
    ErrorType.timeout,
    Flag.upstreamMaxStreamDurationReached,
    504,
    "upstream_max_stream_duration",
    "the upstream stream lasted longer than the backend's maxStreamDuration",
    false,
    true,
    "upstream_max_stream_duration_reached",
  ),
  // The same while the client is still sending its body: Envoy answers 408 then.
  maxStreamDurationMidUpload: new Failure(
    ErrorType.timeout,
    Flag.upstreamMaxStreamDurationReached,
    408,
    "upstream_max_stream_duration",
    "the upstream stream lasted longer than the backend's maxStreamDuration, before the request body was whole",
    false,
    true,
    "upstream_max_stream_duration_reached",
  ),
  protocol: new Failure(ErrorType.upstreamProtocolError, Flag.upstreamProtocolError, 502, "upstream_protocol_error", "the upstream sent an invalid HTTP response", false, false),
  // Envoy's codec refuses such a head as a protocol error, not retried.
  tooManyHeaders: new Failure(
    ErrorType.upstreamProtocolError,
    Flag.upstreamProtocolError,
    502,
    "upstream_protocol_error",
    "the upstream's response head has more header fields than the backend's maxHeadersCount",
    false,
    false,
  ),
  upstreamIdle: new Failure(
    ErrorType.timeout,
    Flag.streamIdleTimeout,
    504,
    "upstream_timeout",
    "the upstream neither read nor sent a byte for longer than the stream idle timeout",
    false,
    // The listener's limit bounds the stream, not one try (Envoy does not retry it either):
    // retrying a silent upstream would make the client wait attempts × streamIdleTimeout.
    false,
  ),
  // Waiting in the pool's queue is silence too; beforeConnect, but a retry would queue again.
  poolWait: new Failure(
    ErrorType.timeout,
    Flag.streamIdleTimeout,
    504,
    "upstream_timeout",
    "no connection to the upstream came free within the stream idle timeout",
    true,
    false,
  ),
  transferCoding: new Failure(
    ErrorType.upstreamProtocolError,
    Flag.upstreamProtocolError,
    502,
    "upstream_protocol_error",
    "the upstream sent a transfer coding other than chunked, which the gateway cannot pass on",
    false,
    false,
  ),
  // Every connection busy and maxPendingRequests already waiting: Envoy's pending-requests circuit breaker.
  overflow: new Failure(ErrorType.upstreamOverflow, Flag.upstreamOverflow, 503, "upstream_overflow", "too many requests are waiting for a connection to the upstream", true, false),
  requestBody: new Failure("400", "", 400, "bad_request_body", "the request body did not match its declared length", false, false),
  other: new Failure(ErrorType.upstreamError, Flag.upstreamConnectFailure, 502, "upstream_error", "the upstream request failed", false, false),
} as const;

/** Raised by the proxy when a response head uses a transfer coding it cannot forward. */
export class UnsupportedTransferCodingError extends Error {
  override name = "UnsupportedTransferCodingError";
}

/**
 * Raised by the proxy when a 204's head frames a body (Transfer-Encoding, or a Content-Length
 * other than 0): the bytes after the head would be read as the next response.
 */
export class BodyOnNoContentError extends Error {
  override name = "BodyOnNoContentError";
}

/** Raised when an upload stalls because the upstream stopped reading it (not the client). */
export class UpstreamIdleError extends Error {
  override name = "UpstreamIdleError";
}

/** Raised when no pooled connection came free within streamIdleTimeout. */
export class PoolWaitError extends Error {
  override name = "PoolWaitError";
}

/** Raised when an upstream's response head has more header fields than the backend's maxHeadersCount. */
export class TooManyHeadersError extends Error {
  override name = "TooManyHeadersError";
}

/** Raised when an attempt's stream outlives the backend's maxStreamDuration (BackendConfigPolicy). */
export class MaxStreamDurationError extends Error {
  override name = "MaxStreamDurationError";
}

/** Raised by the per-attempt timer; undici reports it back as the abort reason. */
export class AttemptTimeoutError extends Error {
  override name = "AttemptTimeoutError";
}

const TLS_HANDSHAKE_MARK = Symbol("tollgate.tlsHandshake");

/** Marks a connect error of a TLS pool: it happened before the handshake completed. */
export function markTlsHandshakeError(error: Error): void {
  (error as Error & { [TLS_HANDSHAKE_MARK]?: true })[TLS_HANDSHAKE_MARK] = true;
}

function duringTlsHandshake(error: Error | null | undefined): boolean {
  return (error as (Error & { [TLS_HANDSHAKE_MARK]?: true }) | null | undefined)?.[TLS_HANDSHAKE_MARK] === true;
}

/** OpenSSL's certificate verification results, as Node names them in `error.code`. */
const CERTIFICATE_VERIFY_CODES: ReadonlySet<string> = new Set([
  "UNABLE_TO_GET_ISSUER_CERT",
  "UNABLE_TO_GET_ISSUER_CERT_LOCALLY",
  "UNABLE_TO_VERIFY_LEAF_SIGNATURE",
  "UNABLE_TO_DECRYPT_CERT_SIGNATURE",
  "UNABLE_TO_DECODE_ISSUER_PUBLIC_KEY",
  "CERT_SIGNATURE_FAILURE",
  "CERT_NOT_YET_VALID",
  "CERT_HAS_EXPIRED",
  "ERROR_IN_CERT_NOT_BEFORE_FIELD",
  "ERROR_IN_CERT_NOT_AFTER_FIELD",
  "DEPTH_ZERO_SELF_SIGNED_CERT",
  "SELF_SIGNED_CERT_IN_CHAIN",
  "CERT_CHAIN_TOO_LONG",
  "CERT_REVOKED",
  "INVALID_CA",
  "PATH_LENGTH_EXCEEDED",
  "INVALID_PURPOSE",
  "CERT_UNTRUSTED",
  "CERT_REJECTED",
  "HOSTNAME_MISMATCH",
]);

export function classifyUpstreamError(err: Error | null | undefined): Failure {
  if (err instanceof AttemptTimeoutError) return Failures.attemptTimeout;
  if (err instanceof MaxStreamDurationError) return Failures.maxStreamDuration;
  if (err instanceof TooManyHeadersError) return Failures.tooManyHeaders;
  if (err instanceof UnsupportedTransferCodingError) return Failures.transferCoding;
  if (err instanceof BodyOnNoContentError) return Failures.protocol;
  if (err instanceof UpstreamIdleError) return Failures.upstreamIdle;
  if (err instanceof PoolWaitError) return Failures.poolWait;
  const code = (err as { code?: unknown } | null | undefined)?.code;
  switch (code) {
    case "ECONNREFUSED":
      return Failures.refused;
    case "EHOSTUNREACH":
    case "ENETUNREACH":
    case "EHOSTDOWN":
    case "ENETDOWN":
      return Failures.unreachable;
    case "ENOTFOUND":
    case "EAI_AGAIN":
    case "EAI_NONAME":
    case "EAI_FAIL":
      return Failures.dns;
    case "UND_ERR_CONNECT_TIMEOUT":
      return Failures.connectTimeout;
    case "ECONNRESET":
    case "EPIPE":
      // Nothing of the request was sent when the upstream hung up mid-handshake.
      return duringTlsHandshake(err) ? Failures.tlsHandshake : Failures.reset;
    case "UND_ERR_SOCKET":
    case "UND_ERR_CLOSED":
      return Failures.reset;
    // undici's header and body timeouts are set per request to the stream idle limit in force.
    case "UND_ERR_HEADERS_TIMEOUT":
    case "UND_ERR_BODY_TIMEOUT":
      return Failures.upstreamIdle;
    case "UND_ERR_REQ_CONTENT_LENGTH_MISMATCH":
      return Failures.requestBody;
    case "UND_ERR_RES_CONTENT_LENGTH_MISMATCH":
    case "UND_ERR_HEADERS_OVERFLOW":
    case "UND_ERR_INFO":
      return Failures.protocol;
    // undici checks what its parser accepted with asserts (a status below 100, for one).
    case "ERR_ASSERTION":
      return Failures.protocol;
    case "ERR_TLS_CERT_ALTNAME_INVALID":
    case "ERR_TLS_POLICY_UNUSABLE":
      return Failures.tlsCertificate;
    default:
      if (typeof code === "string" && code.startsWith("HPE_")) return Failures.protocol;
      if (typeof code === "string" && CERTIFICATE_VERIFY_CODES.has(code)) return Failures.tlsCertificate;
      if (typeof code === "string" && (code.startsWith("ERR_SSL_") || code.startsWith("ERR_TLS_"))) return Failures.tlsHandshake;
      // undici's HTTPParserError (a control character in a header, a space before the
      // colon) carries no code; its name is the stable part.
      if (err?.name === "HTTPParserError") return Failures.protocol;
      return Failures.other;
  }
}
