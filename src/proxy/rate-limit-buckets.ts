// The token buckets of one plan, by key. A reload hands its plan's buckets to the next plan,
// so a bucket whose key and sizes did not change keeps its tokens: a reload for an unrelated
// edit must not refill every limit (Envoy refills on each route configuration change).
import { TokenBucket } from "./token-bucket.ts";

export class RateLimitBuckets {
  /** The previous plan's buckets, until the new plan is compiled. */
  #previous: ReadonlyMap<string, TokenBucket> | undefined;
  readonly #byKey = new Map<string, TokenBucket>();

  constructor(previous?: RateLimitBuckets) {
    this.#previous = previous === undefined ? undefined : previous.#byKey;
  }

  /** The new plan is compiled: the buckets it did not take go with the old plan. */
  settle(): void {
    this.#previous = undefined;
  }

  /** The bucket of `key`: this plan's, else the previous plan's of the same sizes, else a full new one. */
  bucket(key: string, maxTokens: number, tokensPerFill: number, fillIntervalMs: number): TokenBucket {
    let bucket = this.#byKey.get(key);
    if (bucket !== undefined) return bucket;
    const kept = this.#previous?.get(key);
    bucket = kept !== undefined && kept.sameSizes(maxTokens, tokensPerFill, fillIntervalMs) ? kept : new TokenBucket(maxTokens, tokensPerFill, fillIntervalMs, performance.now());
    this.#byKey.set(key, bucket);
    return bucket;
  }
}
