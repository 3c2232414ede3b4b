// The stream idle limit on what the client takes: progress on a connection, the cut of a
// connection that took nothing for streamIdleTimeout, and that limit for the gateway's own
// answers (errors, redirects, DirectResponse). node puts no limit on a response being
// written, so a client that never reads a DirectResponse larger than the socket buffers
// would hold the connection for good. Proxied responses get the limit in ProxyCall.
import type { ServerResponse } from "node:http";
import type { Socket } from "node:net";
import type { Exchange } from "./exchange.ts";
import { ErrorType, Flag, addFlag } from "./errors.ts";
import { type MarkedResponse, kCutByProxy, kStallTimer } from "./marks.ts";

/** node's stream handle: libuv's count of bytes it holds because the kernel has not taken them yet. */
interface QueueingHandle {
  readonly writeQueueSize?: number;
}

/**
 * A count that moves whenever the kernel takes bytes from `socket`. Writes that completed
 * alone would miss progress inside one large write (a DirectResponse body is one write of
 * its whole size); libuv's queue shrinks as the kernel takes such a write piece by piece,
 * which is also how node's own socket timeout tells a slow write from a stuck one.
 */
export function bytesTakenBy(socket: Socket): number {
  const handle = (socket as unknown as { _handle: QueueingHandle | null })._handle;
  const queued = handle?.writeQueueSize ?? 0;
  return socket.bytesWritten - socket.writableLength - queued;
}

const stalledConnections = new WeakSet<Socket>();

/** Ends a client connection that took no byte for streamIdleTimeout, with every response on it. */
export function cutStalledConnection(socket: Socket): void {
  stalledConnections.add(socket);
  socket.destroy();
}

/** The gateway cut this connection because the client took nothing for streamIdleTimeout. */
export function cutForStall(socket: Socket): boolean {
  return stalledConnections.has(socket);
}

/**
 * The connection was cut for taking nothing: a response pipelined behind the one whose limit
 * ran out ended with it, and ends as a stream idle timeout, not a client abort.
 */
export function endedByStalledConnection(exchange: Exchange): boolean {
  if (!cutForStall(exchange.req.socket)) return false;
  addFlag(exchange, Flag.streamIdleTimeout);
  exchange.errorType ??= ErrorType.timeout;
  return true;
}

/**
 * Called once an answer is ended: when the client has not taken all of it, the connection
 * must take some byte every streamIdleTimeout. `clearAnswerStall` stops the wait when the
 * response closes.
 */
export function watchAnswerStall(exchange: Exchange): void {
  const res = exchange.res as MarkedResponse;
  if (answerTaken(res)) return;
  const idleMs = exchange.listener.settings.streamIdleTimeoutMs;
  if (idleMs <= 0) return;
  res[kStallTimer] = setTimeout(onAnswerStalled, idleMs, exchange, idleMs, bytesTakenBy(exchange.req.socket));
}

/**
 * The ended response needs no stall limit: it is gone, or written out whole into the kernel
 * already, as almost every small answer is.
 */
export function answerTaken(res: ServerResponse): boolean {
  return res.destroyed || res.writableFinished || (res.socket !== null && res.writableLength === 0);
}

export function clearAnswerStall(res: MarkedResponse): void {
  const timer = res[kStallTimer];
  if (timer === undefined) return;
  clearTimeout(timer);
  res[kStallTimer] = undefined;
}

/**
 * Progress on the connection, not this answer's own, is what counts, as for proxied
 * responses. An answer pipelined behind another is not judged until it has the socket: the
 * response ahead may be waiting for its upstream, not for the client, and has a limit of its
 * own.
 */
function onAnswerStalled(exchange: Exchange, idleMs: number, takenAtWatch: number): void {
  const res = exchange.res as MarkedResponse;
  res[kStallTimer] = undefined;
  const socket = exchange.req.socket;
  if (res.writableFinished || res.destroyed || socket.destroyed) return;
  const taken = bytesTakenBy(socket);
  if (taken !== takenAtWatch || res.socket === null) {
    res[kStallTimer] = setTimeout(onAnswerStalled, idleMs, exchange, idleMs, taken);
    return;
  }
  addFlag(exchange, Flag.streamIdleTimeout);
  exchange.errorType = ErrorType.timeout;
  res[kCutByProxy] = true;
  res.destroy();
  cutStalledConnection(socket);
}
