// The token bucket's arithmetic on a clock the test sets: Envoy's continuous refill, the cap
// at maxTokens, and the wait it reports to a refused client.
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

test("a bucket starts full, refills at tokensPerFill per fillInterval as time passes, whole tokens only, never beyond maxTokens", () => {
  // 100 tokens an hour: one every 36 s, as current Envoy refills, not 100 at once on the hour.
  const bucket = new TokenBucket(100, 100, 3_600_000, 0);
  assert.equal(drain(bucket, 0), 100);
  assert.equal(drain(bucket, 35_999), 0, "not a whole token yet");
  assert.equal(drain(bucket, 36_000), 1);
  assert.equal(drain(bucket, 36_000 + 3 * 36_000 + 18_000), 3, "three and a half tokens came back: three are whole");
  assert.equal(drain(bucket, 36_000 + 4 * 36_000), 1, "the half kept counts toward the next");
  assert.equal(drain(bucket, 100_000_000), 100, "a long idle fills it to maxTokens, no more");

  const tenths = new TokenBucket(1, 1, 100, 0);
  assert.equal(drain(tenths, 0), 1);
  let whole = 0;
  for (let t = 10; t <= 1000; t += 10) whole += drain(tenths, t);
  assert.equal(whole, 10, "a hundred reads of a tenth each add up to ten whole tokens, floating point or not");
});

test("secondsToNextToken rounds up to whole seconds and says at least 1", () => {
  const bucket = new TokenBucket(1, 1, 90_000, 0);
  assert.equal(drain(bucket, 0), 1);
  assert.equal(bucket.secondsToNextToken(0), 90);
  assert.equal(bucket.secondsToNextToken(45_000), 45);
  assert.equal(bucket.secondsToNextToken(89_001), 1);
  const quick = new TokenBucket(1, 1, 50, 0);
  assert.equal(drain(quick, 0), 1);
  assert.equal(quick.secondsToNextToken(10), 1);
  const many = new TokenBucket(10, 5, 60_000, 0);
  assert.equal(drain(many, 0), 10);
  assert.equal(many.secondsToNextToken(0), 12, "five a minute: one every 12 s");
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
  // Once settled, a plan's buckets are its own: the previous plan's map is let go.
  const fourth = new RateLimitBuckets(first);
  fourth.settle();
  assert.notEqual(fourth.bucket("p r a", 2, 1, 1000), a, "a key first asked for after settle() is a new bucket");
  assert.equal(new RateLimitBuckets(fourth).bucket("p r a", 2, 1, 1000), fourth.bucket("p r a", 2, 1, 1000), "and the next plan takes it over");
});
