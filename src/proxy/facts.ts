// Request facts the Exchange records: where the client addressed us, who the client is, the
// path and query. Forwarding headers count only when the listener trusts them. Everything
// here is index arithmetic on strings the parser already produced; no regex.
import type { IncomingMessage } from "node:http";
import type { Socket } from "node:net";
import type { ListenerSettings } from "../config/model.ts";
import type { ExchangeFacts } from "./exchange.ts";
import { stripForwardedUserinfo, withoutUserinfo } from "./forwarded-userinfo.ts";
import { type ForwardedPair, forwardedParam, parseForwarded } from "./forwarded-header.ts";
import { alternateReading, normalizePath, pathNeedsWork } from "../router/path-normalize.ts";
import { ensureRequestId, keepClientRequestId } from "./request-id.ts";
import { proxiedConnectionOf } from "./proxy-protocol.ts";

/** Mutable twin of ExchangeFacts; the Exchange constructor copies it, so one instance serves every request. */
export type MutableFacts = { -readonly [K in keyof ExchangeFacts]: ExchangeFacts[K] };

/** Facts plus the routing inputs the handler needs next. */
export interface RequestFacts extends MutableFacts {
  /** Host header host part: lower-cased, no port, no trailing dot; '' when absent. */
  routeHost: string;
  /** The request target as received when it is origin-form and normal, else path + query rebuilt. */
  target: string;
  /** The path holds a `%` that starts no two-hex-digit escape, or an escaped NUL (`%00`). */
  badEscape: boolean;
  /** The path as servers that decode `%2F` or drop `;params` read it, when that differs. */
  alternatePath: string | undefined;
  /**
   * The host to route on is not a valid authority: empty in an absolute-form target, with
   * userinfo, an unbracketed host with several colons, or a port outside 1-65535.
   */
  badHost: boolean;
}

export function newRequestFacts(): RequestFacts {
  return {
    method: "",
    scheme: "http",
    serverAddress: "",
    serverPort: 0,
    path: "/",
    query: "",
    clientAddress: "",
    peerAddress: "",
    peerPort: 0,
    directPeerAddress: "",
    directPeerPort: 0,
    protocolVersion: "1.1",
    routeHost: "",
    target: "/",
    hostHeader: undefined,
    badEscape: false,
    alternatePath: undefined,
    badHost: false,
  };
}

export function readRequestFacts(req: IncomingMessage, settings: ListenerSettings, into: RequestFacts): RequestFacts {
  const headers = req.headers;
  const socket = req.socket;
  into.method = req.method ?? "GET";
  into.protocolVersion = req.httpVersion;
  into.directPeerAddress = normalizeAddress(socket.remoteAddress ?? "");
  into.directPeerPort = socket.remotePort ?? 0;
  const proxied = proxiedConnectionOf(socket);
  if (proxied === undefined) {
    into.peerAddress = into.directPeerAddress;
    into.peerPort = into.directPeerPort;
  } else {
    into.peerAddress = proxied.source.address;
    into.peerPort = proxied.source.port;
  }

  let url = req.url ?? "/";
  // An HTTP/1.0 request needs no Host: the listener's defaultHostForHttp10 stands in for it.
  if (headers.host === undefined && settings.defaultHostForHttp10 !== undefined && req.httpVersionMinor === 0) headers.host = settings.defaultHostForHttp10;
  const receivedHost = headers.host;
  let host = receivedHost;
  let badHost = host !== undefined && !isValidAuthority(host, false);
  if (url.charCodeAt(0) !== 47 && url !== "*") {
    // absolute-form (`GET http://host/path`): the authority in the target wins over Host.
    const authorityStart = url.indexOf("://");
    if (authorityStart > 0) {
      const pathStart = url.indexOf("/", authorityStart + 3);
      const authorityEnd = pathStart < 0 ? url.length : pathStart;
      const queryInAuthority = url.indexOf("?", authorityStart + 3);
      const end = queryInAuthority >= 0 && queryInAuthority < authorityEnd ? queryInAuthority : authorityEnd;
      const named = withoutUserinfo(url.slice(authorityStart + 3, end));
      // A `?` before any `/` starts the query: `http://host?a=/b` asks for `/` with `a=/b`.
      const rest = end < authorityEnd || pathStart < 0 ? `/${url.slice(end)}` : url.slice(pathStart);
      badHost = !isValidAuthority(named, true);
      if (!badHost) {
        host = named;
        url = rest;
      } else {
        // A password holding `/` or `?` ends the authority early (`http://alice:pa/ss@host/`
        // reads as host `alice`, port `pa`), so the cut authority may be a credential and
        // the rest of the target may hold the rest of it. The request is refused; what is
        // reported is the received Host and, when the rest holds an `@`, a redacted path.
        url = rest.indexOf("@") < 0 ? rest : REDACTED_TARGET;
      }
    } else if (url.indexOf("@") >= 0) {
      // authority-form (`CONNECT user:pass@host:443`), refused, or another refused target:
      // what is reported never carries the userinfo.
      url = withoutUserinfo(url);
    }
  }
  // userinfo (`user:pass@`) is a credential: it never becomes the host we route, forward or
  // report, even from a Host header that is refused for carrying it. Telemetry that reads the
  // received headers (captured `host`, header attributes) sees the Host without it too.
  if (badHost && host !== undefined) host = withoutUserinfo(host);
  if (receivedHost !== undefined && receivedHost.indexOf("@") >= 0) headers.host = withoutUserinfo(receivedHost);
  // Before anything reads it, as Envoy's connection manager strips it before its filters:
  // routing, the upstream's Host and telemetry all see the host without the port. The port
  // matched is the one the client reached (behind a PROXY header, the one it names).
  if (settings.stripHostPort !== "None" && host !== undefined && !badHost) {
    const colon = portColon(host);
    if (colon > 0 && colon < host.length - 1 && (settings.stripHostPort === "AnyPort" || parsePort(host.slice(colon + 1)) === downstreamLocalOf(socket).port)) {
      // The Host header changes only when it is what is routed: an absolute-form target's
      // authority must not stand in for a Host the client never sent.
      if (host === receivedHost) headers.host = host.slice(0, colon);
      host = host.slice(0, colon);
    }
  }
  into.target = url;
  const q = url.indexOf("?");
  const path = q < 0 ? url : url.slice(0, q);
  into.query = q < 0 ? "" : url.slice(q + 1);
  // Routing, telemetry and the upstream all see the normalised path, so no two of them can
  // disagree on which resource was asked for.
  const work = pathNeedsWork(path);
  const normal = work ? normalizePath(path) : path;
  into.badEscape = normal === undefined;
  into.path = normal ?? path;
  into.alternatePath = work && normal !== undefined ? alternateReading(normal) : undefined;
  if (into.path !== path) into.target = q < 0 ? into.path : `${into.path}${url.slice(q)}`;

  into.routeHost = host === undefined ? "" : routeHostOf(host);
  into.hostHeader = host;
  into.badHost = badHost;

  // A trusted proxy in front may say https over a plain connection.
  let scheme = connectionScheme(socket);
  let authority = host;
  let clientAddress = into.peerAddress;
  let forwardedPort = 0;
  // On every listener: one that does not trust them still lets CEL and header capture read them.
  stripForwardedUserinfo(headers);
  if (settings.generateRequestId) ensureRequestId(headers);
  else keepClientRequestId(headers);
  if (settings.trustForwardedHeaders) {
    const xfh = firstListValue(headers["x-forwarded-host"]);
    const xfp = firstListValue(headers["x-forwarded-proto"]);
    // A Forwarded that is not well-formed is not trusted: its elements cannot be told apart.
    // Nor is it passed on, where a lenient parser could read an element a client forged.
    const parsed = headers.forwarded === undefined ? undefined : parseForwarded(headers.forwarded);
    const forwarded = parsed?.wellFormed === true ? parsed.elements : undefined;
    if (parsed !== undefined && !parsed.wellFormed) delete headers.forwarded;
    // The HTTP semconv orders the sources Forwarded, then X-Forwarded-*, then Host.
    const forwardedHost = forwardedParam(forwarded?.[0], "host");
    const forwardedProto = forwardedParam(forwarded?.[0], "proto");
    if (forwardedHost !== undefined) authority = forwardedHost;
    else if (xfh !== undefined) authority = xfh;
    const proto = forwardedProto ?? xfp;
    if (proto !== undefined && proto.toLowerCase() === "https") scheme = "https";
    const xfPort = firstListValue(headers["x-forwarded-port"]);
    if (xfPort !== undefined) forwardedPort = parsePort(xfPort);
    const client = trustedClient(headers["x-forwarded-for"], forwarded, settings.xffNumTrustedHops);
    if (client !== undefined && client !== "") clientAddress = client;
  }
  into.scheme = scheme;
  into.clientAddress = clientAddress;
  if (authority === undefined || authority === "") {
    // Behind a PROXY protocol header, the address the client reached at the balancer.
    const local = downstreamLocalOf(socket);
    into.serverAddress = local.address;
    into.serverPort = local.port;
  } else {
    const colon = portColon(authority);
    if (colon < 0) {
      into.serverAddress = stripBrackets(authority);
      into.serverPort = forwardedPort !== 0 ? forwardedPort : scheme === "https" ? 443 : 80;
    } else {
      into.serverAddress = stripBrackets(authority.slice(0, colon));
      into.serverPort = parsePort(authority.slice(colon + 1));
    }
  }
  return into;
}

/** What a refused absolute-form target with an invalid authority and an `@` after it reports. */
const REDACTED_TARGET = "/REDACTED";

/** Lower-case host without port, brackets or trailing dot, as the router wants it. */
export function routeHostOf(host: string): string {
  const colon = portColon(host);
  let name = colon < 0 ? host : host.slice(0, colon);
  name = stripBrackets(name);
  if (name.charCodeAt(name.length - 1) === 46) name = name.slice(0, -1);
  return name.toLowerCase();
}

/**
 * RFC 9110 §4.2.1 / RFC 3986 §3.2: an http authority names a host, and its port, when
 * present, is a number from 1 to 65535 (an empty port is allowed). An empty Host header is
 * legal for origin-form requests (RFC 9112 §3.2); an empty host in an absolute-form target
 * is not.
 */
function isValidAuthority(authority: string, absoluteForm: boolean): boolean {
  if (authority === "") return !absoluteForm;
  // userinfo never belongs in Host; a bare IPv6 literal must be bracketed (RFC 3986 §3.2.2),
  // else `a.example:1:2` routes as one host and reads as `a.example` upstream.
  if (authority.indexOf("@") >= 0) return false;
  if (authority.charCodeAt(0) !== 91 && authority.indexOf(":") !== authority.lastIndexOf(":")) return false;
  if (authority.charCodeAt(0) === 91) {
    // A bracketed literal is closed, not empty, and followed by nothing but a port.
    const close = authority.indexOf("]");
    if (close < 2 || (close !== authority.length - 1 && authority.charCodeAt(close + 1) !== 58)) return false;
  }
  const colon = portColon(authority);
  if (colon === 0) return false;
  if (colon < 0 || colon === authority.length - 1) return true;
  const port = authority.slice(colon + 1);
  if (port.length > 5) return false;
  for (let i = 0; i < port.length; i++) {
    const code = port.charCodeAt(i);
    if (code < 48 || code > 57) return false;
  }
  const n = Number(port);
  return n >= 1 && n <= 65535;
}

/** Index of the `:` before a port, or -1; IPv6 literals are bracketed. */
function portColon(authority: string): number {
  const colon = authority.lastIndexOf(":");
  if (colon < 0) return -1;
  if (authority.charCodeAt(0) === 91) {
    const close = authority.indexOf("]");
    return colon > close ? colon : -1;
  }
  // An unbracketed address with several colons is a bare IPv6 literal, not host:port.
  return authority.indexOf(":") === colon ? colon : -1;
}

function stripBrackets(host: string): string {
  return host.charCodeAt(0) === 91 && host.charCodeAt(host.length - 1) === 93 ? host.slice(1, -1) : host;
}

function parsePort(text: string): number {
  const n = Number(text.trim());
  return Number.isInteger(n) && n > 0 && n < 65536 ? n : 0;
}

/** `::ffff:10.0.0.1` → `10.0.0.1`, so dual-stack listeners report plain IPv4 peers. */
/**
 * The address the client connected to: behind a PROXY protocol header, the destination it
 * names (Envoy restores it as the local address), else the socket's own.
 */
export function downstreamLocalOf(socket: Socket): { readonly address: string; readonly port: number } {
  return proxiedConnectionOf(socket)?.destination ?? { address: normalizeAddress(socket.localAddress ?? ""), port: socket.localPort ?? 0 };
}

export function normalizeAddress(address: string): string {
  return address.length > 7 && address.startsWith("::ffff:") && address.indexOf(".") > 0 ? address.slice(7) : address;
}

function firstListValue(value: string | string[] | undefined): string | undefined {
  if (value === undefined) return undefined;
  const text = typeof value === "string" ? value : value[0];
  if (text === undefined) return undefined;
  const comma = text.indexOf(",");
  const first = (comma < 0 ? text : text.slice(0, comma)).trim();
  return first === "" ? undefined : first;
}

/**
 * The client as trusted proxies report it: skip `hops` entries from the right of
 * X-Forwarded-For (0 = the right-most entry, the address the proxy in front of us saw);
 * a shorter list yields its left-most entry. Without X-Forwarded-For, RFC 7239 `for=`.
 */
function trustedClient(xff: string | string[] | undefined, forwarded: ForwardedPair[][] | undefined, hops: number): string | undefined {
  if (xff !== undefined) {
    const list = (typeof xff === "string" ? xff : xff.join(",")).split(",");
    const index = Math.max(0, list.length - 1 - hops);
    return stripForwardedAddress(list[index]!.trim());
  }
  if (forwarded !== undefined) {
    const value = forwardedParam(forwarded[Math.max(0, forwarded.length - 1 - hops)], "for");
    return value === undefined ? undefined : stripForwardedAddress(value);
  }
  return undefined;
}

/** `for="[2001:db8::1]:4711"` → `2001:db8::1`; `192.0.2.1:80` → `192.0.2.1`. */
function stripForwardedAddress(value: string): string {
  let v = value;
  if (v.charCodeAt(0) === 34 && v.charCodeAt(v.length - 1) === 34) v = v.slice(1, -1);
  if (v.charCodeAt(0) === 91) {
    const close = v.indexOf("]");
    return close > 0 ? v.slice(1, close) : v;
  }
  const colon = v.indexOf(":");
  return colon > 0 && v.indexOf(":", colon + 1) < 0 ? v.slice(0, colon) : normalizeAddress(v);
}

/** The scheme the client spoke to the gateway: https on an HTTPS listener's TLS socket. */
export function connectionScheme(socket: object): "http" | "https" {
  return (socket as { encrypted?: boolean }).encrypted === true ? "https" : "http";
}
