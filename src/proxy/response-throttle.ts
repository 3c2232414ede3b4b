// A fault injection's response rate limit (Envoy's fault filter response_rate_limit): the
// upstream's body reaches the client at most `bytesPerSecond`, a slice every 50 ms as Envoy's
// stream rate limiter releases it, so a slow network is simulated rather than a stall and a
// burst. A slice is written whatever the socket says (as Envoy writes past its watermark),
// unless the client has not taken the previous two: then the rate is the client's, and a
// client that takes nothing is cut by the stream idle limit as any stalled client is. While
// more than a second's worth waits (64 KiB to 1 MiB), the upstream is paused, so the gateway
// holds at most about twice that per response.
const TICK_MS = 50;
const MIN_HIGH_WATER = 64 * 1024;
const MAX_HIGH_WATER = 1024 * 1024;

export interface ThrottledSink {
  write(chunk: Buffer): void;
  /** The client stopped taking what it was given: its stall is watched. */
  clientBackedUp(): void;
  /** The client took it: the throttle writes again. */
  clientCaughtUp(): void;
  /** Bytes written and not yet taken by the client. */
  pendingBytes(): number;
  pauseUpstream(): void;
  resumeUpstream(): void;
}

export class ResponseThrottle {
  readonly #perTick: number;
  /** What the client may have pending before a slice waits for it. */
  readonly #pendingLimit: number;
  readonly #highWater: number;
  readonly #sink: ThrottledSink;
  readonly #queue: Buffer[] = [];
  #queued = 0;
  /** Bytes the rate allows now; the fraction a slow rate leaves is carried to the next tick. */
  #allowance = 0;
  #timer: NodeJS.Timeout | undefined = undefined;
  #upstreamPaused = false;
  #finished: (() => void) | undefined = undefined;
  #waitingForClient = false;

  constructor(bytesPerSecond: number, sink: ThrottledSink) {
    this.#perTick = (bytesPerSecond * TICK_MS) / 1000;
    this.#pendingLimit = Math.min(Math.max(2 * this.#perTick, 16 * 1024), MAX_HIGH_WATER);
    this.#highWater = Math.min(Math.max(MIN_HIGH_WATER, bytesPerSecond), MAX_HIGH_WATER);
    this.#sink = sink;
  }

  get queuedBytes(): number {
    return this.#queued;
  }

  push(chunk: Buffer): void {
    if (chunk.length === 0) return;
    this.#queue.push(chunk);
    this.#queued += chunk.length;
    this.#timer ??= setInterval(onTick, TICK_MS, this);
    if (this.#queued > this.#highWater && !this.#upstreamPaused) {
      this.#upstreamPaused = true;
      this.#sink.pauseUpstream();
    }
  }

  /** The upstream's body is whole: `done` runs once every byte went to the client. */
  finish(done: () => void): void {
    if (this.#queued === 0) done();
    else this.#finished = done;
  }

  /** The response closed: nothing more is sent. */
  stop(): void {
    this.#queue.length = 0;
    this.#queued = 0;
    this.#finished = undefined;
    if (this.#timer !== undefined) clearInterval(this.#timer);
    this.#timer = undefined;
  }

  tick(): void {
    // Unused allowance does not pile up into a burst: at most one slice and the carried fraction.
    this.#allowance = Math.min(this.#allowance + this.#perTick, this.#perTick + 1);
    if (this.#sink.pendingBytes() > this.#pendingLimit) {
      if (!this.#waitingForClient) {
        this.#waitingForClient = true;
        this.#sink.clientBackedUp();
      }
      return;
    }
    if (this.#waitingForClient) {
      this.#waitingForClient = false;
      this.#sink.clientCaughtUp();
    }
    let allowed = Math.floor(this.#allowance);
    while (allowed > 0 && this.#queued > 0) {
      const head = this.#queue[0]!;
      const slice = head.length <= allowed ? head : head.subarray(0, allowed);
      if (slice === head) this.#queue.shift();
      else this.#queue[0] = head.subarray(allowed);
      this.#queued -= slice.length;
      this.#allowance -= slice.length;
      allowed -= slice.length;
      this.#sink.write(slice);
    }
    if (this.#upstreamPaused && this.#queued <= this.#highWater / 2) {
      this.#upstreamPaused = false;
      this.#sink.resumeUpstream();
    }
    if (this.#queued > 0) return;
    clearInterval(this.#timer);
    this.#timer = undefined;
    const finished = this.#finished;
    this.#finished = undefined;
    finished?.();
  }
}

function onTick(throttle: ResponseThrottle): void {
  throttle.tick();
}
