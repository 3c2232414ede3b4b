// ExternalAuth `forwardBody`: the request body is read whole, up to `maxSize` bytes, before the
// check, which carries it; the upstream then gets the same bytes from that buffer. A larger
// body is refused (413), as Envoy's ext_authz refuses one without `allow_partial_message`:
// Gateway API asks for a 4xx, and a check of half a body would authorise what it never saw.
import type { Exchange } from "./exchange.ts";

export type BodyReadOutcome = { readonly body: Buffer } | { readonly refused: "too_large" | "timed_out" };

/** The body read for a check; the request's end (the client left) cancels it like a running check. */
export class AuthBodyRead {
  readonly exchange: Exchange;
  readonly limit: number;
  readonly done: (outcome: BodyReadOutcome) => void;
  chunks: Buffer[] = [];
  size = 0;
  timer: NodeJS.Timeout | undefined = undefined;
  finished = false;
  readonly onData = (chunk: Buffer): void => {
    this.size += chunk.length;
    if (this.size > this.limit) {
      this.finish({ refused: "too_large" });
      return;
    }
    this.chunks.push(chunk);
  };
  readonly onEnd = (): void => {
    this.exchange.requestEndPerfMs = performance.now();
    this.finish({ body: this.chunks.length === 1 ? this.chunks[0]! : Buffer.concat(this.chunks, this.size) });
  };

  constructor(exchange: Exchange, limit: number, done: (outcome: BodyReadOutcome) => void) {
    this.exchange = exchange;
    this.limit = limit;
    this.done = done;
  }

  start(timeoutMs: number): void {
    const req = this.exchange.req;
    this.exchange.authCheck = this;
    this.timer = setTimeout(onBodyReadTimeout, timeoutMs, this);
    req.on("data", this.onData);
    req.on("end", this.onEnd);
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
    if (this.timer !== undefined) clearTimeout(this.timer);
    const req = this.exchange.req;
    req.off("data", this.onData);
    req.off("end", this.onEnd);
    // What is left of a refused body stays unread: the answer closes the connection.
    if (!req.complete) req.pause();
  }
}

function onBodyReadTimeout(read: AuthBodyRead): void {
  read.timer = undefined;
  read.finish({ refused: "timed_out" });
}
