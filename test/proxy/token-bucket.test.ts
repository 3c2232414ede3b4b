// The token bucket's arithmetic on a clock the test sets: Envoy's whole-interval fills, the
// cap at maxTokens, and the wait it reports to a refused client.
import assert from "node:assert/strict";
import { test } from "node:test";
import { TokenBucket } from "../../src/proxy/token-bucket.ts";
import { RateLimitBuckets } from "../../src/proxy/rate-limit-buckets.ts";

/** How many tokens `bucket` hands out at `nowMs` before it refuses. */
function drain(bucket: TokenBucket, nowMs: number): number {
  let taken = 0;
  while (bucket.take(nowMs)) taken++;
  return taken;
}

test("a bucket starts full, gains tokensPerFill at each whole interval only, and never holds more than maxTokens", () => {
  const bucket = new TokenBucket(5, 2, 1000, 10_000);
  assert.equal(drain(bucket, 10_000), 5);
  assert.equal(drain(bucket, 10_999), 0, "no fill before a whole interval");
  assert.equal(drain(bucket, 11_000), 2);
  assert.equal(drain(bucket, 13_500), 4, "two more fills by 13 000");
  assert.equal(drain(bucket, 14_000), 2, "the fill at 14 000 still comes on time after a late read");
  assert.equal(drain(bucket, 100_000), 5, "eighty-six fills add up to maxTokens, no more");
});

test("secondsToNextFill rounds up to whole seconds and says at least 1", () => {
  const bucket = new TokenBucket(1, 1, 90_000, 0);
  assert.equal(bucket.secondsToNextFill(0), 90);
  assert.equal(bucket.secondsToNextFill(89_001), 1);
  assert.equal(bucket.secondsToNextFill(89_999.5), 1);
  const fast = new TokenBucket(1, 1, 50, 0);
  assert.equal(fast.secondsToNextFill(10), 1);
});

test("a plan's buckets: one per key, the previous plan's kept at the same sizes, a new one for new sizes", () => {
  const first = new RateLimitBuckets();
  const a = first.bucket("p r a", 2, 1, 1000);
  assert.equal(first.bucket("p r a", 2, 1, 1000), a, "rules compiled twice share the key's bucket");
  assert.notEqual(first.bucket("p r b", 2, 1, 1000), a);
  const second = new RateLimitBuckets(first);
  assert.equal(second.bucket("p r a", 2, 1, 1000), a);
  assert.notEqual(second.bucket("p r b", 3, 1, 1000), first.bucket("p r b", 2, 1, 1000));
  const third = new RateLimitBuckets(second);
  assert.notEqual(third.bucket("p r a", 2, 1, 2000), a, "a new interval is a new bucket");
});
