// The stream idle limit for the gateway's own answers (errors, redirects, DirectResponse),
// and the mark of a connection cut for taking nothing. node puts no limit on a response being
// written, so a client that never reads a DirectResponse larger than the socket buffers
// would hold the connection for good. Proxied responses get the limit in ProxyCall.
import type { ServerResponse } from "node:http";
import type { Socket } from "node:net";
import type { Exchange } from "./exchange.ts";
import { ErrorType, Flag, addFlag } from "./errors.ts";
import { type MarkedResponse, kCutByProxy, kStallWatch } from "./marks.ts";
import { StallWatch, type StallSubject } from "./stall-watch.ts";

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
  const idleMs = exchange.streamIdleMs();
  if (idleMs <= 0) return;
  const watch = new StallWatch(exchange.req.socket, idleMs, new AnswerStall(exchange));
  res[kStallWatch] = watch;
  watch.watch();
}

/**
 * The ended response needs no stall limit: it is gone, or written out whole into the kernel
 * already, as almost every small answer is.
 */
export function answerTaken(res: ServerResponse): boolean {
  return res.destroyed || res.writableFinished || (res.socket !== null && res.writableLength === 0);
}

export function clearAnswerStall(res: MarkedResponse): void {
  const watch = res[kStallWatch];
  if (watch === undefined) return;
  watch.stop();
  res[kStallWatch] = undefined;
}

/** An ended answer the client has not taken yet. */
class AnswerStall implements StallSubject {
  readonly exchange: Exchange;

  constructor(exchange: Exchange) {
    this.exchange = exchange;
  }

  stallWaitOver(): boolean {
    const res = this.exchange.res;
    return res.writableFinished || res.destroyed;
  }

  stallDeferred(): boolean {
    return this.exchange.res.socket === null;
  }

  cutStalled(): void {
    const exchange = this.exchange;
    const res = exchange.res as MarkedResponse;
    res[kStallWatch] = undefined;
    addFlag(exchange, Flag.streamIdleTimeout);
    exchange.errorType = ErrorType.timeout;
    res[kCutByProxy] = true;
    res.destroy();
    cutStalledConnection(exchange.req.socket);
  }
}
