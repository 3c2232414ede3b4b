// An HTTPS listener port: node:https terminating TLS with the certificates the current plan
// gives the port, picked per handshake by SNI (see PortTls), and checking client
// certificates when the port has a client validation. A reload swaps both for the
// handshakes after it; connections already open keep their certificates, but one a changed
// client validation no longer admits is closed (see revalidate).
import type * as Http from "node:http";
import type { Server } from "node:http";
import type * as Https from "node:https";
import { randomBytes } from "node:crypto";
import type { SecureContext, Server as TlsServer, TLSSocket } from "node:tls";
import { ClientValidation } from "../config/client-validation.ts";
import { ListenerTlsOptions } from "../config/listener-tls-options.ts";
import type { ListenerTls } from "../config/listener-tls.ts";
import type { PortTls } from "../plan/port-tls.ts";
import type { ProxyHandlers } from "./handler.ts";
import { CLIENT_CERTIFICATE_REFUSED, NO_LISTENER_FOR_NAME } from "./tls-handshake-errors.ts";

const https: typeof Https = process.getBuiltinModule("node:https");

/**
 * The certificates each HTTPS server currently presents, replaced on reload; the client
 * validation its default context (handshakes without SNI) was built with; its open TLS
 * connections.
 */
const current = new WeakMap<Server, { tls: PortTls; fallback: ListenerTls | undefined; defaultValidation: ClientValidation | undefined; readonly open: Set<TLSSocket> }>();

/**
 * The client validation whose CAs verified each connection's certificate (the context SNI
 * picked carries them): a verdict reached under other CAs than the port's current ones is
 * stale, whichever way it went.
 */
const verifiedUnder = new WeakMap<TLSSocket, ClientValidation | undefined>();

/** How long a TLS handshake may take when the listener has no headers timeout (node's default). */
const DEFAULT_HANDSHAKE_TIMEOUT_MS = 120_000;

export function createTlsServer(options: Http.ServerOptions, handlers: ProxyHandlers, tls: PortTls, headersTimeoutMs: number): Server {
  let server: Server | undefined;
  const secure: Https.ServerOptions = {
    ...options,
    ...tls.defaultContextOptions(),
    requestCert: tls.clientValidation !== undefined,
    // The gateway admits or refuses the client itself (refuseUnverifiedClient): Node's own
    // refusal would be silent, uncounted, and blind to AllowInsecureFallback.
    rejectUnauthorized: false,
    // HTTP/1.1 only: the listener is a node:http server behind TLS.
    ALPNProtocols: ["http/1.1"],
    // A handshake is part of receiving the request head: the headers timeout bounds it too,
    // which node's http server starts only once TLS is up.
    handshakeTimeout: headersTimeoutMs > 0 ? headersTimeoutMs : DEFAULT_HANDSHAKE_TIMEOUT_MS,
    // A function, not an arrow: node calls it with the handshake's socket as `this`.
    SNICallback: function (this: TLSSocket, serverName: string, done: (error: Error | null, context?: SecureContext) => void) {
      try {
        const port = current.get(server!)?.tls;
        const chosen = port?.forServerName(serverName);
        if (chosen === undefined) done(Object.assign(new Error(`no HTTPS listener of this port admits ${serverName}`), { code: NO_LISTENER_FOR_NAME }), undefined);
        else {
          verifiedUnder.set(this, port!.clientValidation);
          done(null, chosen.contextFor(serverName));
        }
      } catch (error) {
        // Only this handshake fails; the contexts were checked at load.
        done(error instanceof Error ? error : new Error(String(error)), undefined);
      }
    },
  };
  server = https.createServer(secure, handlers.request) as unknown as Server;
  // Node still destroys the socket; the handler counts the failure.
  server.on("tlsClientError", handlers.tlsError);
  // Ahead of node:http's own listener, so a refused client never gets a request parsed.
  server.prependListener("secureConnection", (socket: TLSSocket) => refuseUnverifiedClient(server!, socket, handlers));
  current.set(server, { tls, fallback: tls.fallback, defaultValidation: tls.clientValidation, open: new Set() });
  return server;
}

/**
 * Closes a connection whose client certificate the port's validation does not admit: none
 * or an unverified one under AllowValidOnly, any under a validation whose CAs could not be
 * had. Counted as a failed handshake (`client_certificate`). A TLS 1.3 client has already
 * sent its request by then; it sees the connection close unanswered.
 */
function refuseUnverifiedClient(server: Server, socket: TLSSocket, handlers: ProxyHandlers): void {
  const state = current.get(server);
  const validation = state?.tls.clientValidation;
  if (!verifiedUnder.has(socket)) verifiedUnder.set(socket, state?.defaultValidation);
  if (validation === undefined || admitted(socket, validation)) {
    // Kept so a reload that tightens the validation can close it (see applyPortTls).
    state?.open.add(socket);
    socket.once("close", () => state?.open.delete(socket));
    return;
  }
  const why =
    validation.unusable ??
    (!ClientValidation.same(verifiedUnder.get(socket), validation)
      ? "the handshake was checked under client validation a reload has since replaced"
      : socket.getPeerCertificate().raw === undefined
        ? "no client certificate"
        : `the client certificate did not verify: ${String(socket.authorizationError)}`);
  handlers.tlsError(Object.assign(new Error(why), { code: CLIENT_CERTIFICATE_REFUSED }));
  socket.destroy();
}

export function servesTls(server: Server): boolean {
  return current.has(server);
}

/** Makes `tls` the certificates of an HTTPS server's next handshakes. */
export function applyPortTls(server: Server, tls: PortTls): void {
  const state = current.get(server);
  if (state === undefined) return;
  const before = state.tls;
  state.tls = tls;
  // Read by node:tls for each new connection (it has no setter).
  (server as unknown as { requestCert: boolean }).requestCert = tls.clientValidation !== undefined;
  if (!ClientValidation.same(before.clientValidation, tls.clientValidation)) revalidate(server, state.open, tls.clientValidation);
  // A new default context would also drop the session tickets clients hold: only on a change.
  const sameDefault = state.fallback === tls.fallback || (tls.fallback?.sameAs(state.fallback) ?? state.fallback === undefined);
  if (sameDefault && ListenerTlsOptions.same(before.options, tls.options)) return;
  // A handshake without SNI gets the server's default context, which is made from options.
  (server as unknown as Https.Server).setSecureContext(tls.defaultContextOptions());
  state.fallback = tls.fallback;
  state.defaultValidation = tls.clientValidation;
}

/**
 * A changed client validation reaches the clients already in: a session resumed from a
 * ticket keeps the verdict of the handshake that issued it, and an open connection keeps
 * its socket. New ticket keys make every client prove itself again (tickets are sealed by
 * the server's first context, whichever context SNI picks), and each open connection the
 * new validation does not admit is closed now, a response in flight to it included.
 */
function revalidate(server: Server, open: Set<TLSSocket>, validation: ClientValidation | undefined): void {
  if (validation === undefined) return;
  (server as unknown as TlsServer).setTicketKeys(randomBytes(48));
  for (const socket of open) {
    if (!admitted(socket, validation)) socket.destroy();
  }
}

/**
 * Whether `socket`'s client passes `validation`: verified under its very CAs, and admitted by
 * its mode. A stale verdict is refused even under AllowInsecureFallback, whose logs would
 * otherwise call the client verified: it reconnects and is checked afresh.
 */
function admitted(socket: TLSSocket, validation: ClientValidation): boolean {
  return ClientValidation.same(verifiedUnder.get(socket), validation) && validation.admits(socket.authorized);
}
