// An HTTPS listener port: node:https terminating TLS with the certificates the current plan
// gives the port, picked per handshake by SNI (see PortTls). A reload swaps the certificates
// for the handshakes after it; connections already open keep theirs.
import type * as Http from "node:http";
import type { Server } from "node:http";
import type * as Https from "node:https";
import type { ListenerTls } from "../config/listener-tls.ts";
import type { PortTls } from "../plan/port-tls.ts";
import type { ProxyHandlers } from "./handler.ts";
import { NO_LISTENER_FOR_NAME } from "./tls-handshake-errors.ts";

const https: typeof Https = process.getBuiltinModule("node:https");

/** The certificates each HTTPS server currently presents; replaced on reload. */
const current = new WeakMap<Server, { tls: PortTls; fallback: ListenerTls | undefined }>();

/** How long a TLS handshake may take when the listener has no headers timeout (node's default). */
const DEFAULT_HANDSHAKE_TIMEOUT_MS = 120_000;

export function createTlsServer(options: Http.ServerOptions, handlers: ProxyHandlers, tls: PortTls, headersTimeoutMs: number): Server {
  let server: Server | undefined;
  const secure: Https.ServerOptions = {
    ...options,
    ...tls.fallback?.defaultContextOptions(),
    // HTTP/1.1 only: the listener is a node:http server behind TLS.
    ALPNProtocols: ["http/1.1"],
    // A handshake is part of receiving the request head: the headers timeout bounds it too,
    // which node's http server starts only once TLS is up.
    handshakeTimeout: headersTimeoutMs > 0 ? headersTimeoutMs : DEFAULT_HANDSHAKE_TIMEOUT_MS,
    SNICallback: (serverName, done) => {
      try {
        const chosen = current.get(server!)?.tls.forServerName(serverName);
        if (chosen === undefined) done(Object.assign(new Error(`no HTTPS listener of this port admits ${serverName}`), { code: NO_LISTENER_FOR_NAME }), undefined);
        else done(null, chosen.contextFor(serverName));
      } catch (error) {
        // Only this handshake fails; the contexts were checked at load.
        done(error instanceof Error ? error : new Error(String(error)), undefined);
      }
    },
  };
  server = https.createServer(secure, handlers.request) as unknown as Server;
  // Node still destroys the socket; the handler counts the failure.
  server.on("tlsClientError", handlers.tlsError);
  current.set(server, { tls, fallback: tls.fallback });
  return server;
}

export function servesTls(server: Server): boolean {
  return current.has(server);
}

/** Makes `tls` the certificates of an HTTPS server's next handshakes. */
export function applyPortTls(server: Server, tls: PortTls): void {
  const state = current.get(server);
  if (state === undefined) return;
  state.tls = tls;
  // A new default context would also drop the session tickets clients hold: only on a change.
  if (state.fallback === tls.fallback || (tls.fallback?.sameAs(state.fallback) ?? state.fallback === undefined)) return;
  // A handshake without SNI gets the server's default context, which is made from options.
  (server as unknown as Https.Server).setSecureContext(tls.fallback?.defaultContextOptions() ?? {});
  state.fallback = tls.fallback;
}
