// The stream idle limit on a client connection, in one place for every stream that waits on
// a client: a proxied response it stopped reading, the gateway's own answer, an upgrade's
// relayed refusal and an open tunnel. A watch is made only once a client backs up (or a
// tunnel opens), so the common response that fits the socket buffers costs nothing.
import type { Socket } from "node:net";

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

/** A count that moves whenever bytes go either way on `socket`: a tunnel's activity. */
export function bytesMovedBy(socket: Socket): number {
  return socket.bytesRead + bytesTakenBy(socket);
}

/** The stream a StallWatch guards. */
export interface StallSubject {
  /** The wait is over (the stream finished, closed, or no longer backs up): the limit no longer applies. */
  stallWaitOver(): boolean;
  /**
   * Not judged yet: a response pipelined behind another is waiting for that one, which may
   * be waiting for its upstream, not the client, and has a limit of its own.
   */
  stallDeferred(): boolean;
  /** The connection made no progress for the whole limit. */
  cutStalled(): void;
}

/**
 * Runs the limit as Envoy's stream idle timeout does, except that progress on the connection
 * is what counts rather than a drain: a client that reads slower than the gateway's buffer
 * empties is still reading. The timer is checked when it runs out instead of being reset on
 * every byte, which keeps the limit off the per-chunk path.
 */
export class StallWatch {
  readonly socket: Socket;
  readonly idleMs: number;
  readonly subject: StallSubject;
  readonly progressOf: (socket: Socket) => number;
  timer: NodeJS.Timeout | undefined = undefined;
  progressAtWatch = 0;

  /** `idleMs` must be above 0: streamIdleTimeout 0s means no watch at all. */
  constructor(socket: Socket, idleMs: number, subject: StallSubject, progressOf: (socket: Socket) => number = bytesTakenBy) {
    this.socket = socket;
    this.idleMs = idleMs;
    this.subject = subject;
    this.progressOf = progressOf;
  }

  /** Starts the wait, or starts it again from now. */
  watch(): void {
    this.progressAtWatch = this.progressOf(this.socket);
    if (this.timer === undefined) this.timer = setTimeout(onLimitReached, this.idleMs, this);
    else this.timer.refresh();
  }

  stop(): void {
    if (this.timer === undefined) return;
    clearTimeout(this.timer);
    this.timer = undefined;
  }

  /** The timer ran out; it stays this watch's, since `refresh` starts a fired timer again. */
  limitReached(): void {
    if (this.socket.destroyed || this.subject.stallWaitOver()) return;
    if (this.progressOf(this.socket) !== this.progressAtWatch || this.subject.stallDeferred()) {
      this.watch();
      return;
    }
    this.subject.cutStalled();
  }
}

function onLimitReached(watch: StallWatch): void {
  watch.limitReached();
}
