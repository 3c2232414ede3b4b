// A listener port whose ListenerPolicy asks for the PROXY protocol (Envoy's proxy_protocol
// listener filter): node's own handling of a connection (node:http's parser, or node:tls's
// handshake) starts only once the header a load balancer writes first has been read off the
// socket, and the client it names is the connection's remote address from then on. A
// connection whose header is malformed, missing or late is closed without a byte (no HTTP
// answer can carry the failure) and counted.
import type { Server, Socket } from "node:net";
import { type ProxiedConnection, type ProxyHeaderRead, readProxyHeader } from "./proxy-header.ts";

export type ProxyHeaderFailure = "invalid" | "timeout" | "client_closed";

type ConnectionListener = (socket: Socket) => void;

interface PortState {
  /** node's own connection handling, deferred while a header is awaited. */
  readonly own: readonly ConnectionListener[];
  readonly failed: (reason: ProxyHeaderFailure) => void;
  /** node:tls takes the bytes after the header from the socket's buffer as it wraps it; node:http needs the stream flowing. */
  readonly servesTls: boolean;
  /** Set while the port expects headers. */
  intercept: ConnectionListener | undefined;
  /** Connections whose header has not come yet: node does not know them, so a drain closes them here. */
  readonly awaiting: Map<Socket, () => void>;
  timeoutMs: number;
}

const ports = new WeakMap<Server, PortState>();
const proxiedConnections = new WeakMap<object, ProxiedConnection>();
/** Until a header names a client, no request needs the lookup. */
let anyProxied = false;

/**
 * Takes over node's connection handling of a server just created, so the PROXY protocol can
 * be turned on and off by `expectProxyHeaders` as reloads change the port's policy.
 */
export function deferConnectionHandling(server: Server, failed: (reason: ProxyHeaderFailure) => void, servesTls: boolean): void {
  ports.set(server, { own: server.listeners("connection") as ConnectionListener[], failed, servesTls, intercept: undefined, timeoutMs: 0, awaiting: new Map() });
}

/**
 * Whether new connections to the port must start with a PROXY header, read within
 * `timeoutMs`; connections already past theirs are not touched. Off, node handles
 * connections directly, at no cost.
 */
export function expectProxyHeaders(server: Server, expect: { readonly timeoutMs: number } | undefined): void {
  const state = ports.get(server);
  if (state === undefined) throw new Error("expectProxyHeaders: deferConnectionHandling was not called for this server");
  if (expect === undefined) {
    if (state.intercept === undefined) return;
    server.removeListener("connection", state.intercept);
    for (const listener of state.own) server.on("connection", listener);
    state.intercept = undefined;
    return;
  }
  state.timeoutMs = expect.timeoutMs;
  if (state.intercept !== undefined) return;
  for (const listener of state.own) server.removeListener("connection", listener);
  state.intercept = (socket) => awaitHeader(server, socket, state);
  server.on("connection", state.intercept);
}

/**
 * Closes the connections still waiting for their header, as a drain closes idle keep-alive
 * ones: no request has come on them. Not counted as failures: the gateway closed them.
 */
export function closeConnectionsAwaitingHeaders(server: Server): void {
  const state = ports.get(server);
  if (state === undefined) return;
  for (const close of [...state.awaiting.values()]) close();
}

/** What a PROXY header said of this connection (for a TLS socket, of the TCP one under it), if it named a client. */
export function proxiedConnectionOf(socket: object): ProxiedConnection | undefined {
  if (!anyProxied) return undefined;
  return proxiedConnections.get(socket) ?? proxiedConnections.get((socket as { _parent?: object })._parent ?? socket);
}

function awaitHeader(server: Server, socket: Socket, state: PortState): void {
  // Chunks are joined only when a header could be complete: a v2 header may declare 64 KiB,
  // and joining at every read of a trickle would cost the square of its size.
  const chunks: Buffer[] = [];
  let bytes = 0;
  let needs = 0;
  const timer = setTimeout(() => fail("timeout"), state.timeoutMs);
  const onData = (chunk: Buffer): void => {
    chunks.push(chunk);
    bytes += chunk.length;
    if (bytes < needs) return;
    const received = chunks.length === 1 ? chunks[0]! : Buffer.concat(chunks, bytes);
    chunks.length = 0;
    chunks.push(received);
    let read: ProxyHeaderRead;
    try {
      read = readProxyHeader(received);
    } catch {
      // Bytes any client sends must never take the process down.
      read = { kind: "invalid", why: "a header the decoder could not read" };
    }
    if (read.kind === "incomplete") {
      needs = read.needs ?? 0;
      return;
    }
    if (read.kind === "invalid") return fail("invalid");
    stop();
    // Held until node's handling is in place, so no byte after the header is read past it.
    socket.pause();
    if (read.connection !== undefined) {
      proxiedConnections.set(socket, read.connection);
      anyProxied = true;
    }
    if (received.length > read.length) socket.unshift(received.subarray(read.length));
    for (const listener of state.own) listener.call(server, socket);
    // node:http's parser takes later reads from the handle itself; the bytes unshifted above
    // reach it as the stream flows again, ahead of any later read. node:tls has read them out
    // of the buffer into the TLS layer already: flowing, the TCP socket would lose later ones.
    if (!state.servesTls) socket.resume();
  };
  const onEnd = (): void => fail("client_closed");
  const onError = (): void => fail("client_closed");
  function stop(): void {
    state.awaiting.delete(socket);
    clearTimeout(timer);
    socket.off("data", onData);
    socket.off("end", onEnd);
    socket.off("error", onError);
  }
  function close(): void {
    stop();
    // A reset arriving while the socket is torn down must not become an uncaught error.
    socket.on("error", ignore);
    socket.destroy();
  }
  function fail(reason: ProxyHeaderFailure): void {
    close();
    state.failed(reason);
  }
  socket.on("data", onData);
  socket.on("end", onEnd);
  socket.on("error", onError);
  state.awaiting.set(socket, close);
}

function ignore(): void {}
