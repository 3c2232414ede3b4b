// A rule's local rate limit (kgateway TrafficPolicy `rateLimit.local`), as Envoy's
// local_ratelimit filter decides: a request the limit is enabled for takes a token; without
// one it is refused with 429, or, outside the enforced share, let through and only counted.
import type { LocalRateLimitModel } from "../config/model.ts";
import type { RateLimitBuckets } from "./rate-limit-buckets.ts";
import type { TokenBucket } from "./token-bucket.ts";

export type RateLimitVerdict = "pass" | "refuse" | "shadow";

/** What a refused request is answered with, on the request and the upgrade path alike. */
export interface RateLimitRefusal {
  readonly message: string;
  /**
   * RFC 6585's Retry-After, until a token is back. Not `x-envoy-ratelimited`: Envoy's global
   * rate limit sets that, not its local one, and an Envoy in front retries on it.
   */
  readonly headers: Readonly<Record<string, string>>;
}

export class LocalRateLimit {
  readonly bucket: TokenBucket;
  readonly enabledShare: number;
  readonly enforcedShare: number;
  readonly policyName: string;
  readonly routeName: string;
  readonly ruleName: string;

  constructor(model: LocalRateLimitModel, buckets: RateLimitBuckets) {
    this.bucket = buckets.bucket(model.bucketKey, model.maxTokens, model.tokensPerFill, model.fillIntervalMs);
    this.enabledShare = model.enabledShare;
    this.enforcedShare = model.enforcedShare;
    this.policyName = model.policyName;
    this.routeName = model.routeName;
    this.ruleName = model.ruleName;
  }

  /** undefined when the request goes on (counting it when it was over the limit but shadowed). */
  check(nowMs: number, counts: RateLimitCounts | undefined): RateLimitRefusal | undefined {
    const verdict = this.verdict(nowMs);
    if (verdict === "pass") return undefined;
    counts?.count(this, verdict === "refuse");
    if (verdict === "shadow") return undefined;
    const seconds = this.bucket.secondsToNextToken(nowMs);
    return {
      message: `a local rate limit allows no more requests now; retry in ${seconds} s`,
      headers: { "retry-after": String(seconds) },
    };
  }

  verdict(nowMs: number): RateLimitVerdict {
    if (this.enabledShare < 1 && Math.random() >= this.enabledShare) return "pass";
    if (this.bucket.take(nowMs)) return "pass";
    return this.enforcedShare >= 1 || Math.random() < this.enforcedShare ? "refuse" : "shadow";
  }
}

/**
 * Requests a local rate limit found over its limit, per route, rule, the policy whose limit
 * it was (a route's or its Gateway's) and whether they were refused
 * (`tollgate.rate_limit.over_limit`); a shadowed one passed.
 */
export class RateLimitCounts {
  readonly #counts = new Map<string, { policy: string; route: string; rule: string; refused: number; shadowed: number }>();

  count(limit: LocalRateLimit, refused: boolean): void {
    const k = `${limit.policyName} ${limit.routeName} ${limit.ruleName}`;
    let entry = this.#counts.get(k);
    if (entry === undefined) this.#counts.set(k, (entry = { policy: limit.policyName, route: limit.routeName, rule: limit.ruleName, refused: 0, shadowed: 0 }));
    if (refused) entry.refused++;
    else entry.shadowed++;
  }

  *entries(): Iterable<readonly [route: string, rule: string, policy: string, enforced: boolean, count: number]> {
    for (const e of this.#counts.values()) {
      if (e.refused > 0) yield [e.route, e.rule, e.policy, true, e.refused];
      if (e.shadowed > 0) yield [e.route, e.rule, e.policy, false, e.shadowed];
    }
  }
}
