// The per-provider cache of verified tokens: the least recently used goes first, and a token
// found there still has its time window checked, so it expires as any other.
import assert from "node:assert/strict";
import { test } from "node:test";
import { VerificationKeys } from "../../src/config/jwks.ts";
import type { VerificationKey } from "../../src/config/jwks.ts";
import { JwtFailures } from "../../src/proxy/jwt-failures.ts";
import { JwtProviderVerifier } from "../../src/proxy/jwt-verifier.ts";
import type { UpstreamPools } from "../../src/proxy/pools.ts";
import { VerifiedTokens } from "../../src/proxy/verified-tokens.ts";
import { signToken, signingKey } from "../support/jwt-issuer.ts";

test("the least recently used token is dropped first", () => {
  const cache = new VerifiedTokens(2);
  cache.add("a", { sub: "a" });
  cache.add("b", { sub: "b" });
  assert.deepEqual(cache.get("a"), { sub: "a" }, "a is now the most recently used");
  cache.add("c", { sub: "c" });
  assert.equal(cache.get("b"), undefined);
  assert.deepEqual([cache.get("a"), cache.get("c")], [{ sub: "a" }, { sub: "c" }]);
});

test("a token verified once is not verified again, but still expires", async () => {
  const key = signingKey("ES256", "k");
  const other = signingKey("ES256", "k");
  const verifier = new JwtProviderVerifier(
    { name: "p", issuer: "idp", audiences: [], sources: [], claimsToHeaders: [], forwardToken: false, jwks: { type: "Local", keys: new VerificationKeys([key.jwk as VerificationKey]) } },
    new Map(),
  );
  const nowMs = Date.now();
  const exp = Math.floor(nowMs / 1000) + 100;
  const token = await signToken(key, { iss: "idp", exp });
  const noPools = undefined as unknown as UpstreamPools;
  assert.deepEqual(await verifier.verify(token, nowMs, noPools), { iss: "idp", exp });
  assert.deepEqual(await verifier.verify(token, nowMs + 1000, noPools), { iss: "idp", exp }, "from the cache");
  assert.equal(await verifier.verify(token, (exp + 61) * 1000, noPools), JwtFailures.expired, "past exp and the 60 s of skew, the cached token is refused");
  assert.equal(await verifier.verify(await signToken(other, { iss: "idp", exp }), nowMs, noPools), JwtFailures.verificationFails, "another key's token is not taken for a known one");
});
