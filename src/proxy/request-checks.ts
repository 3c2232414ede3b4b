// Checks on the request line and headers that node's HTTP/1 parser leaves to the server,
// made before and during routing so that a malformed or ambiguous request can neither pick a
// route nor reach an upstream in a form the client did not mean. The common request pays a
// few property reads and one short loop over the raw header names.
import type { IncomingMessage } from "node:http";
import type { PortTls } from "../plan/port-tls.ts";
import type { CompiledListener, CompiledMatch } from "../plan/types.ts";
import type { RequestFacts } from "./facts.ts";
import { Failure } from "./failures.ts";
import { isChunkedAlone } from "./headers.ts";

const badRequest = (code: string, message: string): Failure => new Failure("400", "", 400, code, message, false, false);

/** The header fields a request may have when the listener sets no count (node's own default). */
export const DEFAULT_MAX_HEADERS_COUNT = 2000;

/** What a 426 to an HTTP/1.0 request offers (RFC 9110 §15.5.22). */
export const HTTP11_UPGRADE: Readonly<Record<string, string>> = { upgrade: "HTTP/1.1" };

export const RequestRefusals = {
  framing: badRequest("invalid_framing", "a request must not carry both Content-Length and Transfer-Encoding"),
  transferCoding: new Failure(
    "501",
    "",
    501,
    "unsupported_transfer_coding",
    "the only transfer coding the gateway accepts on a request is chunked alone",
    false,
    false,
  ),
  fragment: badRequest("invalid_target", "the request target must not contain a fragment (#)"),
  target: badRequest("invalid_target", "the request target must be an absolute path, an absolute URI, or * for OPTIONS"),
  badEscape: badRequest("invalid_path", "every % in the path must start an escape of two hex digits other than %00"),
  ambiguousPath: badRequest(
    "invalid_path",
    "the path picks another route when its escaped slashes (%2F, %5C) are decoded or its ;parameters dropped, or holds both",
  ),
  missingHost: badRequest("missing_host", "an HTTP/1.1 request needs a Host header"),
  duplicateHost: badRequest("invalid_host", "a request must not carry more than one Host header"),
  badHost: badRequest("invalid_host", "the host must be a non-empty name or bracketed IP literal, without userinfo, and any port from 1 to 65535"),
  connect: new Failure("501", "", 501, "unsupported_method", "the gateway does not tunnel CONNECT", false, false),
  http10: new Failure("426", "", 426, "upgrade_required", "the listener does not accept HTTP/1.0 (acceptHttp10 is false)", false, false, "low_version"),
  tooManyHeaders: new Failure(
    "431",
    "",
    431,
    "too_many_headers",
    "the request has more header fields than the listener allows (maxHeadersCount, else 2000)",
    false,
    false,
    "http1.too_many_headers",
  ),
  expectation: new Failure("417", "", 417, "expectation_failed", "the only expectation the gateway meets is 100-continue", false, false),
  misdirected: new Failure(
    "421",
    "",
    421,
    "misdirected_request",
    "the Host belongs to an HTTPS listener other than the one this connection's TLS handshake chose; connect with that name (SNI)",
    false,
    false,
  ),
} as const;

/** Why this request is refused before routing, or undefined when it may be routed. */
export function requestRefusal(req: IncomingMessage, facts: RequestFacts): Failure | undefined {
  if (facts.method === "CONNECT") return RequestRefusals.connect;
  const headers = req.headers;
  const transferEncoding = headers["transfer-encoding"];
  if (transferEncoding !== undefined) {
    if (headers["content-length"] !== undefined) return RequestRefusals.framing;
    // RFC 9112 §6.1: a coding the server does not implement gets 501. Forwarding the
    // de-chunked body without its other codings would hand the upstream bytes it cannot read.
    if (!isChunkedAlone(transferEncoding)) return RequestRefusals.transferCoding;
  }
  // A fragment is never sent in a request (RFC 9110 §7.1); routing on `/admin#x` as if it
  // were a path other than `/admin` would let it past a PathPrefix rule.
  if (req.url !== undefined && req.url.indexOf("#") >= 0) return RequestRefusals.fragment;
  // The asterisk-form is exactly `*` (RFC 9112 §3.2.4): `*?x` is no target at all.
  if (facts.path.charCodeAt(0) !== 47 && !(req.url === "*" && facts.method === "OPTIONS")) return RequestRefusals.target;
  if (facts.badEscape) return RequestRefusals.badEscape;
  if (headers.host === undefined) {
    if (req.httpVersionMinor === 1) return RequestRefusals.missingHost;
  } else if (hostLines(req.rawHeaders) > 1) {
    // RFC 9112 §3.2: node keeps the first Host and drops the rest; an upstream or a cache
    // behind us might pick another, so the request is ambiguous.
    return RequestRefusals.duplicateHost;
  }
  if (facts.badHost) return RequestRefusals.badHost;
  const expect = headers.expect;
  if (expect !== undefined && req.httpVersionMinor === 1 && expect.trim().toLowerCase() !== "100-continue") return RequestRefusals.expectation;
  return undefined;
}

/**
 * The request's route; a refusal when it is malformed, or when the path's other reading
 * (alternateReading in path-normalize.ts) picks another rule: then a server that decodes
 * `%2F` or drops `;params` would serve a resource the matched rule does not guard.
 */
export function routeRequest(req: IncomingMessage, facts: RequestFacts, listener: CompiledListener): CompiledMatch | Failure | undefined {
  // First, as Envoy's codec refuses these before any filter sees the request.
  const settings = listener.settings;
  if (req.rawHeaders.length > (settings.maxHeadersCount > 0 ? settings.maxHeadersCount : DEFAULT_MAX_HEADERS_COUNT) * 2) return RequestRefusals.tooManyHeaders;
  if (!settings.acceptHttp10 && req.httpVersionMinor === 0) return RequestRefusals.http10;
  const refusal = requestRefusal(req, facts);
  if (refusal !== undefined) return refusal;
  if (listener.tls !== undefined && isMisdirected(req, facts, listener.tls)) return RequestRefusals.misdirected;
  const router = listener.router;
  // `OPTIONS *` asks about the server, not a resource: no rule serves it (a RegularExpression
  // would match `*`, and no upstream client can send that target on). Envoy answers 404 too.
  if (facts.path === "*") return undefined;
  const match = router.match(facts.routeHost, facts.method, facts.path, facts.query, req.headers);
  const alternate = facts.alternatePath;
  if (alternate === undefined) return match;
  // Servers disagree on the order: nginx decodes %2F and keeps `;`, Tomcat drops `;params`
  // (up to the next `/` or `;`) before decoding. With both in one path there are more
  // readings than one; such a path is refused rather than routed on any of them.
  if (hasEscapedSlash(facts.path) && facts.path.indexOf(";") >= 0) return RequestRefusals.ambiguousPath;
  // The same rule, whichever of its `http.route` copies: it filters and proxies the same.
  if (router.match(facts.routeHost, facts.method, alternate, facts.query, req.headers)?.rule.model !== match?.rule.model) {
    return RequestRefusals.ambiguousPath;
  }
  return match;
}

/**
 * On an HTTPS port, whether the Host picks another listener, with other certificates, than
 * the one the connection's handshake was made for (by its SNI name, or none). A client that
 * reuses a connection for another name (HTTP/2 coalescing, a Host that differs from the name
 * it connected with) would otherwise reach routes of a listener whose certificate it never
 * checked; as the Gateway API asks, it gets 421 and can connect again with that name.
 */
function isMisdirected(req: IncomingMessage, facts: RequestFacts, tls: PortTls): boolean {
  if (facts.routeHost === "") return false;
  const byHost = tls.forServerName(facts.routeHost);
  if (byHost === undefined) return false;
  const socket = req.socket as { servername?: unknown; isSessionReused?: () => boolean };
  const serverName = socket.servername;
  // A TLS 1.2 session resumed from a ticket skips SNI on the server: the listener it was made
  // for is not known, and such a connection is never refused for it.
  if (typeof serverName !== "string" && socket.isSessionReused?.() === true) return false;
  const byHandshake = typeof serverName === "string" && serverName !== "" ? tls.forServerName(serverName) : tls.fallback;
  return byHandshake !== byHost && !byHost.sameAs(byHandshake);
}

/**
 * True when the client waits for `100 Continue` before sending its body. HTTP/1.0 has no
 * interim responses, so its Expect is ignored (RFC 9110 §10.1.1).
 */
export function expectsContinue(req: IncomingMessage): boolean {
  return req.headers.expect !== undefined && req.httpVersionMinor === 1;
}

/**
 * The protocols of an Upgrade header the gateway forwards: every token but `h2c`. The h2c
 * upgrade (RFC 7540 §3.2) is optional and is declined, so that a client cannot open an
 * unrouted HTTP/2 connection to the upstream through us; undefined when nothing is left.
 */
export function forwardedUpgrade(value: string | undefined): string | undefined {
  if (value === undefined) return undefined;
  if (value.indexOf(",") < 0) return isH2c(value) ? undefined : value;
  const kept = value.split(",").filter((token) => token.trim() !== "" && !isH2c(token));
  return kept.length === 0 ? undefined : kept.map((token) => token.trim()).join(", ");
}

/**
 * True when node's parser read the request as an upgrade (an Upgrade header and `upgrade`
 * among the Connection tokens) that shouldUpgradeCallback declined: node drops whatever the
 * client pipelined behind it, so its connection must close after the response. An Upgrade
 * header without `Connection: upgrade` is a plain request, and keeps its connection.
 */
export function isDeclinedUpgrade(req: IncomingMessage): boolean {
  const connection = req.headers.connection;
  if (req.headers.upgrade === undefined || connection === undefined) return false;
  for (const token of connection.split(",")) if (token.trim().toLowerCase() === "upgrade") return true;
  return false;
}

function hasEscapedSlash(path: string): boolean {
  return path.indexOf("%2F") >= 0 || path.indexOf("%5C") >= 0;
}

function isH2c(token: string): boolean {
  return token.trim().toLowerCase() === "h2c";
}

function hostLines(raw: string[]): number {
  let count = 0;
  for (let i = 0; i < raw.length; i += 2) {
    const name = raw[i]!;
    if (name.length === 4 && (name === "Host" || name === "host" || name.toLowerCase() === "host")) count++;
  }
  return count;
}
