// ExternalAuth `forwardBody`: the request body is read whole, up to `maxSize` bytes, before the
// check, which carries it; the upstream then gets the same bytes from that buffer. A larger
// body is refused (413), as Envoy's ext_authz refuses one without `allow_partial_message`:
// Gateway API asks for a 4xx, and a check of half a body would authorise what it never saw.
import type { Exchange } from "./exchange.ts";

export type BodyReadRefusal = "too_large" | "idle" | "request_timeout";
export type BodyReadOutcome = { readonly body: Buffer } | { readonly refused: BodyReadRefusal };

/**
 * The buffer starts at most this large and doubles as bytes arrive, so a client that declares
 * a large body and sends nothing reserves little.
 */
const INITIAL_CAPACITY = 64 * 1024;

/**
 * The body read for a check. The bytes are copied into one buffer as they come, so memory is
 * the limit at most, whatever the chunking (a chunk per byte would otherwise cost a Buffer
 * object each). The request's end (the client left) cancels the read like a running check.
 */
export class AuthBodyRead {
  readonly exchange: Exchange;
  readonly limit: number;
  /** The most the buffer grows to: the declared length, else the limit. */
  readonly capacityCap: number;
  readonly done: (outcome: BodyReadOutcome) => void;
  buffer: Buffer;
  size = 0;
  idleTimer: NodeJS.Timeout | undefined = undefined;
  deadlineTimer: NodeJS.Timeout | undefined = undefined;
  finished = false;
  readonly onData = (chunk: Buffer): void => {
    this.exchange.bytesReceived += chunk.length;
    this.idleTimer?.refresh();
    const size = this.size + chunk.length;
    if (size > this.limit) {
      this.finish({ refused: "too_large" });
      return;
    }
    if (size > this.buffer.length) this.grow(size);
    chunk.copy(this.buffer, this.size);
    this.size = size;
  };
  readonly onEnd = (): void => {
    this.exchange.requestEndPerfMs = performance.now();
    this.finish({ body: this.buffer.subarray(0, this.size) });
  };

  /** `declaredLength`: the request's Content-Length, when it has one (at most `limit`). */
  constructor(exchange: Exchange, limit: number, declaredLength: number | undefined, done: (outcome: BodyReadOutcome) => void) {
    this.exchange = exchange;
    this.limit = limit;
    this.done = done;
    this.capacityCap = declaredLength ?? limit;
    this.buffer = Buffer.allocUnsafe(Math.min(this.capacityCap, INITIAL_CAPACITY));
  }

  /** `idleMs`: the listener's stream idle limit (0 = none); `deadlineMs`: what is left of the rule's request timeout. */
  start(idleMs: number, deadlineMs: number | undefined): void {
    const req = this.exchange.req;
    this.exchange.authCheck = this;
    if (idleMs > 0) this.idleTimer = setTimeout(onBodyIdle, idleMs, this);
    if (deadlineMs !== undefined) this.deadlineTimer = setTimeout(onBodyDeadline, deadlineMs, this);
    req.on("data", this.onData);
    req.on("end", this.onEnd);
  }

  grow(needed: number): void {
    let capacity = Math.max(this.buffer.length, 1);
    while (capacity < needed) capacity *= 2;
    const grown = Buffer.allocUnsafe(Math.min(capacity, Math.max(this.capacityCap, needed)));
    this.buffer.copy(grown, 0, 0, this.size);
    this.buffer = grown;
  }

  /** The request ended first: stop reading, no verdict. */
  cancel(): void {
    this.stop();
  }

  finish(outcome: BodyReadOutcome): void {
    if (this.finished) return;
    this.stop();
    this.done(outcome);
  }

  stop(): void {
    if (this.finished) return;
    this.finished = true;
    if (this.exchange.authCheck === this) this.exchange.authCheck = undefined;
    if (this.idleTimer !== undefined) clearTimeout(this.idleTimer);
    if (this.deadlineTimer !== undefined) clearTimeout(this.deadlineTimer);
    const req = this.exchange.req;
    req.off("data", this.onData);
    req.off("end", this.onEnd);
    // What is left of a refused body stays unread: the answer closes the connection.
    if (!req.complete) req.pause();
  }
}

function onBodyIdle(read: AuthBodyRead): void {
  read.idleTimer = undefined;
  read.finish({ refused: "idle" });
}

function onBodyDeadline(read: AuthBodyRead): void {
  read.deadlineTimer = undefined;
  read.finish({ refused: "request_timeout" });
}
