// A fault injection's response rate limit (Envoy's fault filter response_rate_limit): the
// upstream's body reaches the client at most `bytesPerSecond`, released every 50 ms as Envoy's
// stream rate limiter does, so a slow network is simulated rather than a stall and a burst.
// While more than a second's worth (at least 64 KiB) waits, the upstream is paused: the
// gateway never holds much more than that for one response.
const TICK_MS = 50;
const MIN_HIGH_WATER = 64 * 1024;

export interface ThrottledSink {
  /** Writes to the client; false when it should wait for `drained`. */
  write(chunk: Buffer): boolean;
  pauseUpstream(): void;
  resumeUpstream(): void;
}

export class ResponseThrottle {
  readonly #perTick: number;
  readonly #highWater: number;
  readonly #sink: ThrottledSink;
  readonly #queue: Buffer[] = [];
  #queued = 0;
  /** Bytes the rate allows now; fractional, as a slow rate allows less than a byte a tick. */
  #allowance = 0;
  #timer: NodeJS.Timeout | undefined = undefined;
  #clientFull = false;
  #upstreamPaused = false;
  #finished: (() => void) | undefined = undefined;
  #stopped = false;

  constructor(bytesPerSecond: number, sink: ThrottledSink) {
    this.#perTick = (bytesPerSecond * TICK_MS) / 1000;
    this.#highWater = Math.max(MIN_HIGH_WATER, bytesPerSecond);
    this.#sink = sink;
  }

  get queuedBytes(): number {
    return this.#queued;
  }

  push(chunk: Buffer): void {
    if (this.#stopped || chunk.length === 0) return;
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

  /** The client took what it had been given. */
  drained(): void {
    this.#clientFull = false;
  }

  /** The response closed: nothing more is sent. */
  stop(): void {
    this.#stopped = true;
    this.#queue.length = 0;
    this.#queued = 0;
    this.#finished = undefined;
    if (this.#timer !== undefined) clearInterval(this.#timer);
    this.#timer = undefined;
  }

  tick(): void {
    if (this.#clientFull) return;
    // A tick's worth at most: what a stalled client did not take is not sent in a burst later.
    this.#allowance = Math.min(this.#allowance + this.#perTick, Math.max(this.#perTick, 1));
    let allowed = Math.floor(this.#allowance);
    while (allowed > 0 && this.#queued > 0) {
      const head = this.#queue[0]!;
      const slice = head.length <= allowed ? head : head.subarray(0, allowed);
      if (slice === head) this.#queue.shift();
      else this.#queue[0] = head.subarray(allowed);
      this.#queued -= slice.length;
      this.#allowance -= slice.length;
      allowed -= slice.length;
      if (!this.#sink.write(slice)) {
        this.#clientFull = true;
        break;
      }
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
