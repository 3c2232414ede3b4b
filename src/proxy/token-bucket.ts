// Envoy's token bucket: it starts full and gains `tokensPerFill` at each whole fill interval,
// never beyond `maxTokens`. Fills are counted from the clock when a request asks, not by a
// timer, so an idle bucket costs nothing.

export class TokenBucket {
  readonly maxTokens: number;
  readonly tokensPerFill: number;
  readonly fillIntervalMs: number;
  #tokens: number;
  #nextFillMs: number;

  constructor(maxTokens: number, tokensPerFill: number, fillIntervalMs: number, nowMs: number) {
    this.maxTokens = maxTokens;
    this.tokensPerFill = tokensPerFill;
    this.fillIntervalMs = fillIntervalMs;
    this.#tokens = maxTokens;
    this.#nextFillMs = nowMs + fillIntervalMs;
  }

  /** Takes one token if there is one. `nowMs` is monotonic (performance.now()). */
  take(nowMs: number): boolean {
    if (nowMs >= this.#nextFillMs) this.#fill(nowMs);
    if (this.#tokens === 0) return false;
    this.#tokens--;
    return true;
  }

  /** Whole seconds until the next fill, at least 1: what Retry-After tells a refused client. */
  secondsToNextFill(nowMs: number): number {
    return Math.max(1, Math.ceil((this.#nextFillMs - nowMs) / 1000));
  }

  sameSizes(maxTokens: number, tokensPerFill: number, fillIntervalMs: number): boolean {
    return this.maxTokens === maxTokens && this.tokensPerFill === tokensPerFill && this.fillIntervalMs === fillIntervalMs;
  }

  #fill(nowMs: number): void {
    const fills = Math.floor((nowMs - this.#nextFillMs) / this.fillIntervalMs) + 1;
    this.#tokens = Math.min(this.maxTokens, this.#tokens + fills * this.tokensPerFill);
    this.#nextFillMs += fills * this.fillIntervalMs;
  }
}
