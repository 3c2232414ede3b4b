// The node:http server behind one listener port (node:https for an HTTPS port), with the
// listener's limits applied: header size (431), headers and request receive timeouts (408),
// keep-alive timeout and max connections (the header count is the proxy's). Limits and
// certificates change in place on reload; the socket stays bound.
import type * as Http from "node:http";
import type { IncomingMessage, Server } from "node:http";
import type { PortTls } from "../plan/port-tls.ts";
import type { ListenerSettings } from "../config/model.ts";
import type { ProxyHandlers } from "./handler.ts";
import { http } from "./node-http.ts";
import { closeByLingering } from "./linger.ts";
import { deferConnectionHandling, expectProxyHeaders } from "./proxy-protocol.ts";
import { forwardedUpgrade } from "./request-checks.ts";
import { applyPortTls, createTlsServer } from "./tls-listener.ts";

export type { ProxyHandlers } from "./handler.ts";

/** Upper bound for how often node checks connections for the headers/request timeouts. */
const MAX_CHECK_INTERVAL_MS = 1_000;
const MIN_CHECK_INTERVAL_MS = 50;
/** How long a PROXY header may take when the listener has no headers timeout (Envoy's listener filter timeout). */
const PROXY_HEADER_TIMEOUT_MS = 15_000;

export function createListenerServer(settings: ListenerSettings, handlers: ProxyHandlers, tls?: PortTls, proxyProtocol = false): Server {
  const timeouts = effectiveTimeouts(settings);
  const options: Http.ServerOptions = {
    maxHeaderSize: settings.maxRequestHeadersBytes,
    headersTimeout: timeouts.headersTimeout,
    requestTimeout: timeouts.requestTimeout,
    keepAliveTimeout: settings.keepAliveTimeoutMs,
    // Node checks both timeouts on this period; a slow check would let slowloris linger.
    connectionsCheckingInterval: checkInterval(timeouts.headersTimeout, timeouts.requestTimeout),
    // A missing Host is answered by the proxy with a JSON 400, not by node's plain one.
    requireHostHeader: false,
    noDelay: true,
    // An upgrade offering only h2c is a plain request the client also offers to speak
    // HTTP/2 on; the gateway declines the offer and proxies the request, body included.
    shouldUpgradeCallback: acceptsUpgrade,
  };
  const server = tls === undefined ? http.createServer(options, handlers.request) : createTlsServer(options, handlers, tls, timeouts.headersTimeout);
  // Before any other connection listener: only node's own wait for a PROXY header.
  deferConnectionHandling(server, handlers.proxyProtocolError, tls !== undefined);
  // Registering checkContinue makes node leave `100 Continue` to the proxy, which sends it
  // only when the request is really forwarded.
  server.on("checkContinue", handlers.request);
  // Without it node answers other expectations with a bare 417 that no telemetry sees.
  server.on("checkExpectation", handlers.request);
  server.on("upgrade", handlers.upgrade);
  // Without a listener node closes a CONNECT without a word; the upgrade path answers it
  // (501) with telemetry like any refused request.
  server.on("connect", handlers.upgrade);
  server.on("clientError", handlers.clientError);
  // The socket node:http serves: the TLS socket on an HTTPS port, not the TCP one under it.
  // On a PROXY protocol port it runs at accept, before the header: it only replaces
  // destroySoon, which nothing calls on a socket node has not been handed yet.
  server.on(tls === undefined ? "connection" : "secureConnection", closeByLingering);
  applyListenerSettings(server, settings, undefined, proxyProtocol);
  return server;
}

function acceptsUpgrade(req: IncomingMessage): boolean {
  return forwardedUpgrade(req.headers.upgrade) !== undefined;
}

/** Applies (re)loaded settings to a running server; new values govern new checks and connections. */
export function applyListenerSettings(server: Server, settings: ListenerSettings, tls?: PortTls, proxyProtocol = false): void {
  if (tls !== undefined) applyPortTls(server, tls);
  // The header is the first thing a connection sends: the headers timeout bounds it too.
  expectProxyHeaders(server, proxyProtocol ? { timeoutMs: settings.requestHeadersTimeoutMs > 0 ? settings.requestHeadersTimeoutMs : PROXY_HEADER_TIMEOUT_MS } : undefined);
  const timeouts = effectiveTimeouts(settings);
  // Read by node for every new connection's parser, so a reload applies to new connections.
  (server as Server & { maxHeaderSize: number }).maxHeaderSize = settings.maxRequestHeadersBytes;
  server.headersTimeout = timeouts.headersTimeout;
  server.requestTimeout = timeouts.requestTimeout;
  server.keepAliveTimeout = settings.keepAliveTimeoutMs;
  // 0 means unlimited in the config, but node 24 takes 0 literally and refuses everything.
  server.maxConnections = settings.maxConnections > 0 ? settings.maxConnections : Infinity;
  // node refuses a head over its count with a bare parser error, no request and no telemetry,
  // and each connection keeps the count it opened with across reloads: node counts nothing,
  // and routeRequest answers 431 too_many_headers against the count in force.
  server.maxHeadersCount = 0;
}

/** node requires headersTimeout ≤ requestTimeout whenever the latter is on. */
function effectiveTimeouts(settings: ListenerSettings): { headersTimeout: number; requestTimeout: number } {
  const requestTimeout = Math.max(0, settings.requestReceiveTimeoutMs);
  let headersTimeout = Math.max(0, settings.requestHeadersTimeoutMs);
  if (requestTimeout > 0 && headersTimeout > requestTimeout) headersTimeout = requestTimeout;
  return { headersTimeout, requestTimeout };
}

function checkInterval(headersTimeout: number, requestTimeout: number): number {
  const shortest = Math.min(headersTimeout > 0 ? headersTimeout : Infinity, requestTimeout > 0 ? requestTimeout : Infinity);
  if (shortest === Infinity) return MAX_CHECK_INTERVAL_MS;
  return Math.max(MIN_CHECK_INTERVAL_MS, Math.min(MAX_CHECK_INTERVAL_MS, Math.floor(shortest / 4)));
}
