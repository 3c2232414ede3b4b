// Envoy's token bucket as its local rate limit keeps it today: it starts full and refills
// continuously at `tokensPerFill` per `fillInterval`, never beyond `maxTokens`, so a drained
// bucket lets a request through as soon as one whole token has come back. The refill is
// worked out from the clock when a request asks, not by a timer, so an idle bucket costs
// nothing.

const WHOLE_TOKEN_SLACK = 1e-9;

export class TokenBucket {
  readonly maxTokens: number;
  readonly tokensPerFill: number;
  readonly fillIntervalMs: number;
  #tokens: number;
  #refilledAtMs: number;

  constructor(maxTokens: number, tokensPerFill: number, fillIntervalMs: number, nowMs: number) {
    this.maxTokens = maxTokens;
    this.tokensPerFill = tokensPerFill;
    this.fillIntervalMs = fillIntervalMs;
    this.#tokens = maxTokens;
    this.#refilledAtMs = nowMs;
  }

  /** Takes one token if a whole one is there. `nowMs` is monotonic (performance.now()). */
  take(nowMs: number): boolean {
    this.#refill(nowMs);
    // A hair under 1 is a whole token that floating point rounded down.
    if (this.#tokens < 1 - WHOLE_TOKEN_SLACK) return false;
    this.#tokens -= 1;
    return true;
  }

  /** Whole seconds until a whole token is back, at least 1: what Retry-After tells a refused client. */
  secondsToNextToken(nowMs: number): number {
    this.#refill(nowMs);
    return Math.max(1, Math.ceil(((1 - this.#tokens) * this.fillIntervalMs) / this.tokensPerFill / 1000));
  }

  sameSizes(maxTokens: number, tokensPerFill: number, fillIntervalMs: number): boolean {
    return this.maxTokens === maxTokens && this.tokensPerFill === tokensPerFill && this.fillIntervalMs === fillIntervalMs;
  }

  #refill(nowMs: number): void {
    const elapsed = nowMs - this.#refilledAtMs;
    if (elapsed <= 0) return;
    this.#tokens = Math.min(this.maxTokens, this.#tokens + (elapsed * this.tokensPerFill) / this.fillIntervalMs);
    this.#refilledAtMs = nowMs;
  }
}
