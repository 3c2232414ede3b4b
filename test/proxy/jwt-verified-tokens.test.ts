// One provider's verification, below the proxy: the cache of verified tokens (the least
// recently used goes first; a token found there still has its time window checked), and keys
// chosen as jwt_verify_lib chooses them, as issuers publish them.
import assert from "node:assert/strict";
import { test } from "node:test";
import { VerificationKeys } from "../../src/config/jwks.ts";
import type { VerificationKey } from "../../src/config/jwks.ts";
import { JwtFailures } from "../../src/proxy/jwt-failures.ts";
import { JwtProviderVerifier } from "../../src/proxy/jwt-verifier.ts";
import type { JwksFetchContext } from "../../src/proxy/remote-jwks.ts";
import { VerifiedTokens } from "../../src/proxy/verified-tokens.ts";
import { signToken, signingKey } from "../support/jwt-issuer.ts";
import { proxyFiltersOf } from "../../src/proxy/filters.ts";
import { GATEWAY_YAML, backendYaml, compileYaml, ref, routeYaml, targetedTrafficPolicyYaml } from "./harness.ts";
import { type JWTPayload, SignJWT } from "jose";

test("the least recently used token is dropped first; a token over 4 KiB is not kept", () => {
  const keys = {};
  const cache = new VerifiedTokens(2);
  cache.add("a", { payload: { sub: "a" }, keys });
  cache.add("b", { payload: { sub: "b" }, keys });
  assert.deepEqual(cache.get("a")?.payload, { sub: "a" }, "a is now the most recently used");
  cache.add("c", { payload: { sub: "c" }, keys });
  assert.equal(cache.get("b"), undefined);
  assert.deepEqual([cache.get("a")?.payload, cache.get("c")?.payload], [{ sub: "a" }, { sub: "c" }]);
  const long = "x".repeat(4097);
  cache.add(long, { payload: {}, keys });
  assert.equal(cache.get(long), undefined, "Envoy's max_token_size");
});

test("the rules one jwtAuth covers share one policy, and so its verified tokens and keys", () => {
  const plan = compileYaml(
    `${GATEWAY_YAML}${backendYaml("app", 9)}${routeYaml(`    - name: a\n      matches: [{path: {type: PathPrefix, value: /a}}]\n      backendRefs: [${ref("app")}]\n    - name: b\n      matches: [{path: {type: PathPrefix, value: /b}}]\n      backendRefs: [${ref("app")}]\n`)}` +
      `---\napiVersion: gateway.kgateway.dev/v1alpha1\nkind: GatewayExtension\nmetadata: {name: idp, namespace: default}\nspec:\n  jwt:\n    providers: [{name: p, jwks: {local: {inline: ${JSON.stringify(JSON.stringify(signingKey("ES256").jwk))}}}}]\n` +
      targetedTrafficPolicyYaml("edge", "Gateway", "edge", "  jwtAuth: {extensionRef: {name: idp}}\n"),
  );
  const policies = plan.rules.map((r) => proxyFiltersOf(r.filters).jwtAuth);
  assert.equal(policies.length, 2);
  assert.ok(policies[0] !== undefined && policies[0] === policies[1]);
});

test("a token verified once is not verified again, but still expires", async () => {
  const key = signingKey("ES256", "k");
  const other = signingKey("ES256", "k");
  const verifier = new JwtProviderVerifier(
    { name: "p", issuer: "idp", audiences: [], sources: [], claimsToHeaders: [], forwardToken: false, jwks: { type: "Local", keys: new VerificationKeys([key.jwk as VerificationKey]) } },
    new Map(),
    "default/jwt/p",
  );
  const nowMs = Date.now();
  const exp = Math.floor(nowMs / 1000) + 100;
  const token = await signToken(key, { iss: "idp", exp });
  assert.deepEqual(await verifier.verify(token, nowMs, noPools), { iss: "idp", exp });
  assert.deepEqual(await verifier.verify(token, nowMs + 1000, noPools), { iss: "idp", exp }, "from the cache");
  assert.equal(await verifier.verify(token, (exp + 61) * 1000, noPools), JwtFailures.expired, "past exp and the 60 s of skew, the cached token is refused");
  assert.equal(await verifier.verify(await signToken(other, { iss: "idp", exp }), nowMs, noPools), JwtFailures.verificationFails, "another key's token is not taken for a known one");
});

/** Local keys fetch nothing. */
const noPools: JwksFetchContext = { pools: undefined as never, jwksFetches: undefined };
const verifierOf = (keys: readonly Record<string, unknown>[]): JwtProviderVerifier =>
  new JwtProviderVerifier({ name: "p", issuer: undefined, audiences: [], sources: [], claimsToHeaders: [], forwardToken: false, jwks: { type: "Local", keys: new VerificationKeys(keys as VerificationKey[]) } }, new Map(), "default/jwt/p");

test("keys as issuers publish them: key_ops and ext are not held against a token, an empty kid is none", async () => {
  const key = signingKey("RS256", "k1");
  const now = Date.now();
  const published = verifierOf([{ ...key.jwk, key_ops: ["sign", "verify"], ext: "true" }]);
  assert.deepEqual(await published.verify(await signToken(key, { sub: "a" }), now, noPools), { sub: "a" });
  const keyless = signingKey("RS256", "");
  assert.deepEqual(await verifierOf([key.jwk]).verify(await signToken(keyless, { sub: "b" }), now, noPools), JwtFailures.verificationFails, "a token with an empty kid is tried against every key");
  assert.deepEqual(await verifierOf([{ ...key.jwk, kid: "" }]).verify(await signToken(signingKey("RS256", "x"), {}), now, noPools), JwtFailures.verificationFails, "a key with an empty kid fits any token");
  const emptyKid = await new SignJWT({ sub: "c" }).setProtectedHeader({ alg: "RS256", kid: "" }).sign(key.privateKey);
  assert.deepEqual(await verifierOf([key.jwk]).verify(emptyKid, now, noPools), { sub: "c" });
});

test("a key matched by kid and alg but of another type is a failed verification, as jwt_verify_lib counts", async () => {
  const rsa = signingKey("RS256", undefined, false);
  const ec = signingKey("ES256");
  assert.equal(await verifierOf([rsa.jwk]).verify(await signToken(ec, {}), Date.now(), noPools), JwtFailures.verificationFails);
  assert.equal(await verifierOf([{ ...rsa.jwk, alg: "RS256" }]).verify(await signToken(ec, {}), Date.now(), noPools), JwtFailures.kidAlgMismatch, "a key whose alg is another matches nothing");
});

test("registered claims of the wrong type are a payload that does not parse, as jwt_verify_lib reads them", async () => {
  const key = signingKey("ES256", "k");
  const verifier = verifierOf([key.jwk]);
  const now = Date.now();
  // A payload no issuer library would write: jose's types refuse it, so it goes in untyped.
  const wrong: Record<string, unknown>[] = [{ sub: 123 }, { jti: ["a"] }, { iat: "yesterday" }, { exp: -1 }, { nbf: "soon" }, { iss: 1 }, { aud: [1] }];
  for (const claims of wrong) {
    assert.equal(await verifier.verify(await signToken(key, claims as JWTPayload), now, noPools), JwtFailures.payloadParse, JSON.stringify(claims));
  }
  assert.deepEqual(await verifier.verify(await signToken(key, { sub: "a", jti: "j", iat: 1, aud: ["x"] }), now, noPools), { sub: "a", jti: "j", iat: 1, aud: ["x"] });
});
