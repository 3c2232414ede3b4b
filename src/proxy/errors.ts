// Error answers the proxy writes itself: a status, a short JSON body naming the cause, the
// OTel `error.type` and the Envoy-style response flag. Bodies are small and built only on
// the error path; the happy path never touches this module.
import { PASS_THROUGH, type ServerHeaderSettings, transformServerHeader } from "./server-header.ts";
import type { ServerResponse } from "node:http";
import { ENVOY_RESPONSE_FLAGS } from "../format/envoy-response-flags.ts";
import type { OutgoingHeaders } from "../telemetry/hooks.ts";
import { type HeaderMutation, applyMutations } from "./auth-grant.ts";
import type { Exchange } from "./exchange.ts";
import { headerLines, statusLine } from "./raw-head.ts";

/** Envoy response flags Tollgate sets (docs/proxy.md has the table). */
export const Flag = {
  noRoute: "NR",
  noCluster: "NC",
  noHealthyUpstream: "UH",
  upstreamOverflow: "UO",
  upstreamConnectFailure: "UF",
  upstreamConnectionTermination: "UC",
  upstreamRequestTimeout: "UT",
  upstreamMaxStreamDurationReached: "UMSDR",
  upstreamRetryLimitExceeded: "URX",
  upstreamProtocolError: "UPE",
  downstreamConnectionTermination: "DC",
  streamIdleTimeout: "SI",
  unauthorizedExternalService: "UAEX",
  rateLimited: "RL",
  rateLimitServiceError: "RLSE",
  delayInjected: "DI",
  faultInjected: "FI",
  failedLocalHealthCheck: "LH",
} as const;

/** OTel `error.type` values for causes below HTTP (docs/proxy.md has the table). */
export const ErrorType = {
  timeout: "timeout",
  connectTimeout: "connect_timeout",
  connectionRefused: "connection_refused",
  connectionReset: "connection_reset",
  dnsError: "dns_error",
  hostUnreachable: "host_unreachable",
  noHealthyUpstream: "no_healthy_upstream",
  upstreamOverflow: "upstream_overflow",
  upstreamProtocolError: "upstream_protocol_error",
  /** The upstream's certificate did not verify against its BackendTLSPolicy (trust, expiry, names). */
  tlsCertificateInvalid: "tls_certificate_invalid",
  /** The TLS handshake with the upstream failed otherwise (no common version or cipher, plain HTTP on the port, an alert). */
  tlsHandshakeFailed: "tls_handshake_failed",
  upstreamError: "upstream_error",
  clientAborted: "client_aborted",
  /**
   * An upstream attempt cut because the client stalled: it took no response byte, or sent no
   * request body byte, for streamIdleTimeout. The server side reports `timeout`; the attempt
   * says whose, so backend timeout panels do not count slow clients.
   */
  clientStalled: "client_stalled",
  /** The client's request body did not decode, or inflated past its bound (TrafficPolicy requestDecompression). */
  invalidRequestBody: "invalid_request_body",
  /** The gateway cut the request's connection because its drain ran out of time. */
  gatewayShutdown: "gateway_shutdown",
} as const;

/**
 * Envoy prints `%RESPONSE_FLAGS%` in one fixed order, whatever order they were set in
 * (`UF,URX` for a retried connect failure); log parsers and dashboards match on that text.
 */

export function addFlag(exchange: Exchange, flag: string): void {
  const current = exchange.responseFlags;
  if (current === "") exchange.responseFlags = flag;
  else if (!hasFlag(current, flag)) {
    exchange.responseFlags = [...current.split(","), flag].sort((a, b) => ENVOY_RESPONSE_FLAGS.indexOf(a) - ENVOY_RESPONSE_FLAGS.indexOf(b)).join(",");
  }
}

function hasFlag(flags: string, flag: string): boolean {
  let from = 0;
  for (;;) {
    const at = flags.indexOf(flag, from);
    if (at < 0) return false;
    const end = at + flag.length;
    if ((at === 0 || flags.charCodeAt(at - 1) === 44) && (end === flags.length || flags.charCodeAt(end) === 44)) return true;
    from = at + 1;
  }
}

/** `{"error":"no_route","message":"..."}` as bytes. */
export function errorBody(code: string, message: string): Buffer {
  return Buffer.from(JSON.stringify({ error: code, message }) + "\n");
}

/**
 * Answers the exchange with a JSON error unless response headers already went out; then the
 * only honest signal left is to cut the connection so the client sees an incomplete body.
 * `extraHeaders` go with it (lower-case names).
 */
export function sendError(exchange: Exchange, status: number, code: string, message: string, extraHeaders?: Readonly<OutgoingHeaders>): void {
  const res = exchange.res;
  if (res.headersSent) {
    res.destroy();
    return;
  }
  const body = errorBody(code, message);
  exchange.status = status;
  exchange.responseStartPerfMs = performance.now();
  exchange.bytesSent += body.length;
  const cors = exchange.cors;
  const granted = exchange.authResponseMutations;
  if (cors === undefined && extraHeaders === undefined && granted === undefined) {
    writeJson(res, status, body);
    return;
  }
  const headers = errorHeaders(body.length, extraHeaders, granted);
  // A browser shows a script the gateway's error only with the rule's CORS headers on it.
  cors?.decorate(exchange.req.headers.origin, headers);
  // Last, as Envoy writes its server name: over a service's Server under Overwrite.
  transformServerHeader(exchange.listener.settings, headers);
  res.writeHead(status, headers);
  res.end(body);
}

export function writeJson(res: ServerResponse, status: number, body: Buffer): void {
  res.writeHead(status, errorHeaders(body.length, undefined, undefined));
  res.end(body);
}

/**
 * An error answer's headers: JSON never to be cached, the refusing filter's own (Retry-After),
 * then what an ExternalAuth service that allowed the request asked to add to its answer. As
 * Envoy's ext_authz filter adds those to a local reply of a filter after it (a rate limit, the
 * router's 503), a client the service let in gets them on every answer.
 */
function errorHeaders(length: number, extraHeaders: Readonly<OutgoingHeaders> | undefined, granted: readonly HeaderMutation[] | undefined): OutgoingHeaders {
  const headers: OutgoingHeaders = { "content-type": "application/json", "content-length": String(length), "cache-control": "no-store" };
  if (extraHeaders !== undefined) Object.assign(headers, extraHeaders);
  if (granted !== undefined) applyMutations(granted, headers);
  return headers;
}

/**
 * A complete HTTP/1.1 response for a raw socket (client errors, upgrade failures). `granted`:
 * an allowing ExternalAuth service's answer headers, as on `sendError`'s answers.
 */
export function rawErrorResponse(
  status: number,
  reason: string,
  code: string,
  message: string,
  extraHeaders?: Readonly<OutgoingHeaders>,
  granted?: readonly HeaderMutation[],
): string {
  return rawErrorAnswer(status, reason, code, message, extraHeaders, granted, PASS_THROUGH).text;
}

/** rawErrorResponse's answer, and its head for telemetry; the Server header as `server` says, after the grant. */
export function rawErrorAnswer(
  status: number,
  reason: string,
  code: string,
  message: string,
  extraHeaders: Readonly<OutgoingHeaders> | undefined,
  granted: readonly HeaderMutation[] | undefined,
  server: ServerHeaderSettings,
): { readonly headers: OutgoingHeaders; readonly text: string } {
  const body = JSON.stringify({ error: code, message }) + "\n";
  const headers = errorHeaders(Buffer.byteLength(body), extraHeaders, granted);
  transformServerHeader(server, headers);
  headers["connection"] = "close";
  return { headers, text: statusLine(status, reason) + headerLines(headers) + "\r\n" + body };
}
