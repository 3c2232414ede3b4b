// kgateway TrafficPolicy `jwtAuth` and GatewayExtension `jwt` in the config: providers with
// their defaults, keys inline (a JWKS, one JWK, a PEM public key) or from a ConfigMap, on routes
// and Gateways, disable, the names tokens are read from as credentials, and the exact text of
// each error.
import assert from "node:assert/strict";
import { type JsonWebKey, createPublicKey } from "node:crypto";
import { after, before, test } from "node:test";
import { isSensitiveHeader, isSensitiveQueryParam } from "../../src/config/sensitive.ts";
import { redactConfigForAdmin } from "../../src/config/redact.ts";
import { readFetchedJwks, readJwks } from "../../src/config/jwks.ts";
import { type TestPki, createTestPki } from "../support/test-certs.ts";
import { TO_GATEWAY, TO_RULE_A, TWO_RULE_ROUTE, errors, gatewayExtension, lines, load, trafficPolicy, warnings } from "./helpers.ts";
import { jwksOf, signingKey } from "../support/jwt-issuer.ts";

const rsa = signingKey("RS256", "rsa-1");
let pki: TestPki;
before(async () => {
  pki = await createTestPki("tollgate-jwks-");
});
after(async () => {
  await pki.remove();
});
const policy = (body = "{extensionRef: {name: jwt}}", targets?: string): string => trafficPolicy("tokens", `  jwtAuth: ${body}\n`, targets);
/** A GatewayExtension `jwt` with `providers` (YAML flow text). */
const extension = (providers: string, more = ""): string => gatewayExtension("jwt", `  jwt:\n${more}    providers: ${providers}\n`);
const inline = (keys: string): string => `{local: {inline: ${JSON.stringify(keys)}}}`;
const provider = (fields = ""): string => `[{name: idp, issuer: "https://idp.example", jwks: ${inline(jwksOf(rsa))}${fields}}]`;
const bare = (list: string[]): string[] => list.map((e) => e.replace(/^t\.yaml:\d+:\d+: /, "").replace(/ \(hint: .*$/, ""));
/** The keys of a model's first provider, which must be local. */
const localKeys = (model: Record<string, unknown>): unknown => {
  const jwks = (model["providers"] as Record<string, Record<string, unknown>>[])[0]!["jwks"]!;
  assert.equal(jwks["type"], "Local");
  return jwks["keys"];
};
const modelOf = (text: string): Record<string, unknown> => JSON.parse(JSON.stringify(load(text).config!.routes[0]!.rules[0]!.filters[0])) as Record<string, unknown>;

test("a policy's providers go on each rule it covers, with Envoy's token sources by default; a Gateway's and disable are read", () => {
  const text = TWO_RULE_ROUTE + policy() + extension(provider(", audiences: [api], claimsToHeaders: [{name: sub, header: X-Sub}]"));
  assert.deepEqual(errors(text), []);
  assert.deepEqual(modelOf(text), {
    type: "JwtAuth",
    policy: "default/tokens",
    extension: "default/jwt",
    allowMissing: false,
    providers: [
      {
        name: "idp",
        issuer: "https://idp.example",
        audiences: ["api"],
        sources: [{ header: "authorization", prefix: "Bearer " }, { query: "access_token" }],
        claimsToHeaders: [{ claim: "sub", header: "x-sub" }],
        forwardToken: false,
        jwks: { type: "Local", keys: [rsa.jwk] },
      },
    ],
  });
  const custom = modelOf(TWO_RULE_ROUTE + policy() + extension(provider(", tokenSource: {header: {header: X-JWT, prefix: 'Token '}}, forwardToken: true"), "    validationMode: AllowMissing\n"));
  const first = (custom["providers"] as Record<string, unknown>[])[0]!;
  assert.deepEqual([custom["allowMissing"], first["sources"], first["forwardToken"]], [true, [{ header: "x-jwt", prefix: "Token " }], true]);
  const byQuery = modelOf(TWO_RULE_ROUTE + policy() + extension(`[{name: idp, issuer: '', jwks: ${inline(jwksOf(rsa))}, tokenSource: {queryParameter: token}}]`));
  assert.deepEqual([(byQuery["providers"] as Record<string, unknown>[])[0]!["sources"], (byQuery["providers"] as Record<string, unknown>[])[0]!["issuer"]], [[{ query: "token" }], undefined], "an empty issuer accepts any");
  assert.equal(load(TWO_RULE_ROUTE + policy(undefined, TO_GATEWAY) + extension(provider())).config!.gateways[0]!.jwtAuth?.policy, "default/tokens");
  assert.deepEqual(load(TWO_RULE_ROUTE + policy("{disable: {}}", TO_RULE_A)).config!.routes[0]!.rules.map((r) => r.filters), [[{ type: "NoJwtAuth" }], []]);
});

test("keys come as a JWKS, one JWK or a PEM public key (its alg from its type and curve), inline or from a ConfigMap's data.jwks", () => {
  const keysOf = (jwks: string): unknown => localKeys(modelOf(TWO_RULE_ROUTE + policy() + extension(`[{name: idp, jwks: ${jwks}}]`)));
  assert.deepEqual(keysOf(inline(JSON.stringify(rsa.jwk))), [rsa.jwk]);
  const ec = signingKey("ES384");
  const ed = signingKey("EdDSA");
  const fromPem = (pem: string): Record<string, unknown> => (keysOf(inline(pem)) as Record<string, unknown>[])[0]!;
  assert.deepEqual([fromPem(rsa.pem)["alg"], fromPem(ec.pem)["alg"], fromPem(ed.pem)["alg"]], ["RS256", "ES384", "EdDSA"]);
  assert.deepEqual({ ...fromPem(ec.pem) }, { ...ec.publicKey.export({ format: "jwk" }), alg: "ES384", use: "sig" });
  const configMap = `---\napiVersion: v1\nkind: ConfigMap\nmetadata: {name: idp-keys}\ndata:\n  jwks: ${JSON.stringify(jwksOf(rsa, ec))}\n`;
  const fromMap = TWO_RULE_ROUTE + policy() + extension("[{name: idp, jwks: {local: {configMapRef: {name: idp-keys}}}}]") + configMap;
  assert.deepEqual(errors(fromMap), []);
  assert.deepEqual(localKeys(modelOf(fromMap)), [rsa.jwk, ec.jwk]);
  assert.deepEqual(lines(load(fromMap), "info"), lines(load(TWO_RULE_ROUTE), "info"), "a ConfigMap a provider reads is not reported as skipped");
  assert.match(lines(load(TWO_RULE_ROUTE + configMap), "info").join(), /v1\/ConfigMap idp-keys/, "one nothing reads is");
  const privateJwk = { ...(rsa.privateKey.export({ format: "jwk" }) as Record<string, unknown>), kid: "rsa-1" };
  const stripped = TWO_RULE_ROUTE + policy() + extension(`[{name: idp, jwks: ${inline(JSON.stringify({ keys: [privateJwk] }))}}]`);
  assert.deepEqual(bare(warnings(stripped)), ["spec.jwt.providers[0].jwks.local.inline: warning: the key is a private key: only its public part is used"]);
  assert.deepEqual(Object.keys((localKeys(modelOf(stripped)) as Record<string, unknown>[])[0]!).sort(), ["e", "kid", "kty", "n"]);
});

test("keys that could verify nothing are errors at their own position", () => {
  const keyErrors = (keys: string): string[] => bare(errors(TWO_RULE_ROUTE + policy() + extension(`[{name: idp, jwks: ${inline(keys)}}]`)));
  const privatePem = rsa.privateKey.export({ format: "pem", type: "pkcs8" }).toString();
  assert.deepEqual(
    [
      keyErrors("not json"),
      keyErrors('{"keys": []}'),
      keyErrors('{"kid": "x"}'),
      keyErrors(JSON.stringify({ keys: [rsa.jwk, { kty: "RSA", n: "AQAB", e: 5 }] })),
      keyErrors(JSON.stringify({ keys: [{ ...rsa.jwk, alg: "ES256" }] })),
      keyErrors(JSON.stringify({ keys: [{ kty: "oct" }] })),
      keyErrors(JSON.stringify({ keys: [{ kty: "X" }] })),
      keyErrors(privatePem),
    ],
    [
      ["spec.jwt.providers[0].jwks.local.inline: the keys are neither JSON (a JWKS or a JWK) nor a PEM public key"],
      ['spec.jwt.providers[0].jwks.local.inline: "keys" is empty: no token could be verified'],
      ['spec.jwt.providers[0].jwks.local.inline: the JSON is neither a JWKS (no "keys") nor a JWK (no "kty")'],
      [`spec.jwt.providers[0].jwks.local.inline: key 2 is not a usable RSA public key (${rsaError({ kty: "RSA", n: "AQAB", e: 5 })})`],
      ['spec.jwt.providers[0].jwks.local.inline: the key has alg "ES256", which a RSA key cannot verify (RS256, RS384, RS512, PS256, PS384, PS512)'],
      ["spec.jwt.providers[0].jwks.local.inline: the key is an oct key without its k as base64url (the secret, without + / or padding)"],
      ['spec.jwt.providers[0].jwks.local.inline: the key has kty "X"; RSA, EC, OKP and oct keys verify tokens'],
      ["spec.jwt.providers[0].jwks.local.inline: the PEM block is a private key"],
    ],
  );
  const missing = TWO_RULE_ROUTE + policy() + extension("[{name: idp, jwks: {local: {configMapRef: {name: nope}}}}]");
  assert.deepEqual(bare(errors(missing)), ["spec.jwt.providers[0].jwks.local.configMapRef.name: ConfigMap default/nope is not in the config file"]);
  const wrongKey = missing.replace("nope", "idp-keys") + "---\napiVersion: v1\nkind: ConfigMap\nmetadata: {name: idp-keys}\ndata: {keys: x}\n";
  assert.deepEqual(bare(errors(wrongKey)), ["data: the ConfigMap has no data.jwks"]);
});

/** Node's own words for a JWK it cannot import, so the test does not restate them. */
function rsaError(jwk: Record<string, unknown>): string {
  try {
    createPublicKey({ key: jwk as JsonWebKey, format: "jwk" });
  } catch (e) {
    return (e as Error).message;
  }
  throw new Error("the key imports");
}

test("a broken provider list, token source or claim header is an error", () => {
  const jwks = inline(jwksOf(rsa));
  assert.deepEqual(bare(errors(TWO_RULE_ROUTE + policy() + gatewayExtension("jwt", "  jwt: {}\n"))), ["spec.jwt: jwt names no providers, so no token could be verified"]);
  assert.deepEqual(
    bare(
      errors(
        TWO_RULE_ROUTE +
          policy() +
          extension(
            `[{name: a, jwks: ${jwks}}, {name: a, jwks: ${jwks}}, {name: b, jwks: ${jwks}, tokenSource: {}}, {name: c, jwks: ${jwks}, tokenSource: {header: {header: Host}}}, {name: d, jwks: ${jwks}, tokenSource: {queryParameter: 'a&b'}}, {name: e, jwks: ${jwks}, claimsToHeaders: [{name: sub, header: X-Forwarded-For}, {name: sub, header: 'a b'}]}, {name: f, jwks: {}}]`,
          ),
      ),
    ),
    [
      'spec.jwt.providers[1].name: provider "a" is also providers[0]',
      "spec.jwt.providers[2].tokenSource: tokenSource needs header or queryParameter",
      "spec.jwt.providers[3].tokenSource.header.header: Host is a header the gateway frames or sets itself, not one a client sends a token in",
      'spec.jwt.providers[4].tokenSource.queryParameter: "a&b" holds a character a query splits on, so no request could carry it',
      "spec.jwt.providers[5].claimsToHeaders[0].header: X-Forwarded-For is a header the gateway frames or sets itself; a claim there would break or forge the request",
      'spec.jwt.providers[5].claimsToHeaders[1].header: "a b" is not a header name',
      "spec.jwt.providers[6].jwks: jwks needs local or remote",
    ],
  );
  assert.deepEqual(bare(errors(TWO_RULE_ROUTE + policy("{extensionRef: {name: jwt}, disable: {}}") + extension(provider()))), ["spec.jwtAuth: extensionRef and disable are both set; jwtAuth holds exactly one"]);
  assert.deepEqual(bare(errors(TWO_RULE_ROUTE + policy("{extensionRef: {name: other}}") + extension(provider()))), ["spec.jwtAuth.extensionRef: GatewayExtension default/other is not in the file"]);
  const rateLimit = gatewayExtension("rl", "  rateLimit: {grpcService: {backendRef: {name: rls, port: 8081}}, domain: d}\n") + "---\napiVersion: v1\nkind: Service\nmetadata: {name: rls}\nspec: {ports: [{port: 8081}]}\n";
  assert.deepEqual(bare(errors(TWO_RULE_ROUTE + policy("{extensionRef: {name: rl}}") + rateLimit)), ["spec.jwtAuth.extensionRef: GatewayExtension default/rl is of type RateLimit, not JWT"]);
});

test("the header and query parameter a provider reads tokens from become credentials in every view", () => {
  assert.equal(isSensitiveHeader("x-idp-token"), false);
  assert.equal(isSensitiveQueryParam("id_token"), false);
  load(TWO_RULE_ROUTE + policy() + extension(`[{name: a, jwks: ${inline(jwksOf(rsa))}, tokenSource: {header: {header: X-IdP-Token}}}, {name: b, jwks: ${inline(jwksOf(rsa))}, tokenSource: {queryParameter: id_token}}]`));
  assert.equal(isSensitiveHeader("x-idp-token"), true);
  assert.equal(isSensitiveQueryParam("id_token"), true);
});

test("a remote JWKS is fetched through its backendRef; its URL, cache duration (default 5m) and backend are checked", () => {
  const remote = (fields: string): string => TWO_RULE_ROUTE + policy() + extension(`[{name: idp, jwks: {remote: {${fields}}}}]`);
  const jwks = ((modelOf(remote('url: "https://idp.example/keys?v=2", backendRef: {name: idp, port: 443}'))["providers"] as Record<string, unknown>[])[0]!["jwks"]) as Record<string, unknown>;
  assert.deepEqual({ ...jwks, backendKey: typeof jwks["backendKey"] }, { type: "Remote", url: "https://idp.example/keys?v=2", backendKey: "string", cacheDurationMs: 300_000, timeoutMs: 5_000 });
  assert.deepEqual(bare(warnings(remote('url: "https://idp.example/keys?v=2", backendRef: {name: idp, port: 443}'))), [
    `spec.jwt.providers[0].jwks.remote.url: warning: the URL is https, but backend ${String(jwks["backendKey"])} has no BackendTLSPolicy: the keys are fetched over plain HTTP`,
  ]);
  assert.deepEqual(warnings(remote('url: "http://idp/keys", backendRef: {name: idp, port: 80}')), [], "an http URL says what it does");
  const cached = ((modelOf(remote('url: "http://idp/keys", backendRef: {name: idp, port: 80}, cacheDuration: 90s'))["providers"] as Record<string, unknown>[])[0]!["jwks"]) as Record<string, unknown>;
  assert.equal(cached["cacheDurationMs"], 90_000);
  assert.deepEqual(bare(errors(remote('url: "ftp://idp/keys", backendRef: {name: idp}'))), [
    'spec.jwt.providers[0].jwks.remote.url: "ftp://idp/keys" is not an http or https URL',
    "spec.jwt.providers[0].jwks.remote.backendRef.port: a Service reference needs a port",
  ]);
  assert.deepEqual(bare(errors(remote('url: "https://user:pw@idp/keys", backendRef: {name: idp, port: 443}'))), ["spec.jwt.providers[0].jwks.remote.url: the URL holds a user name or password, which the fetch does not send"]);
});

test("keys in the forms issuers publish: PKCS#1 PEM, PEM after other text, a key id to certificate map; encryption keys are left out with a warning", () => {
  const pkcs1 = rsa.publicKey.export({ format: "pem", type: "pkcs1" }).toString();
  const fromPkcs1 = readJwks(pkcs1);
  assert.ok(fromPkcs1.ok && fromPkcs1.keys[0]!["n"] === rsa.jwk["n"] && fromPkcs1.keys[0]!.alg === "RS256");
  const afterText = readJwks(`Bag Attributes: issuer key\n${rsa.pem}`);
  assert.ok(afterText.ok && afterText.keys[0]!["n"] === rsa.jwk["n"], "text before the block is skipped, as kgateway's PEM decoding skips it");
  const certificate = pki.server.cert.toString();
  const map = readJwks(JSON.stringify({ "cert-1": certificate }));
  assert.ok(map.ok && map.keys[0]!.kid === "cert-1" && map.keys[0]!.kty === "EC" && map.keys[0]!.alg === undefined, "Google's x509 form, which Envoy reads; no alg, as Envoy gives the certificate's key none");
  const fetchedMap = readFetchedJwks(JSON.stringify({ "cert-1": certificate }));
  assert.ok(fetchedMap.ok && fetchedMap.keys.length === 1);
  const withEnc = TWO_RULE_ROUTE + policy() + extension(`[{name: idp, jwks: ${inline(JSON.stringify({ keys: [rsa.jwk, { kty: "RSA", n: rsa.jwk["n"], e: "AQAB", use: "enc", alg: "RSA-OAEP" }] }))}}]`);
  assert.deepEqual(errors(withEnc), []);
  assert.deepEqual(bare(warnings(withEnc)), ["spec.jwt.providers[0].jwks.local.inline: warning: key 2 is for encryption (use enc), not signatures: it is left out"]);
  assert.deepEqual(localKeys(modelOf(withEnc)), [rsa.jwk]);
});

test("keys that verify nothing here: short RSA, curves and PEM blocks Envoy does not take", async () => {
  const { generateKeyPairSync } = await import("node:crypto");
  const short = generateKeyPairSync("rsa", { modulusLength: 1024 }).publicKey;
  const k1 = generateKeyPairSync("ec", { namedCurve: "secp256k1" }).publicKey.export({ format: "jwk" });
  const x25519 = generateKeyPairSync("x25519").publicKey.export({ format: "jwk" });
  const p384 = signingKey("ES384");
  const messages = [
    readJwks(JSON.stringify(short.export({ format: "jwk" }))),
    readJwks(JSON.stringify(k1)),
    readJwks(JSON.stringify(x25519)),
    readJwks(pki.server.cert.toString()),
    readJwks(JSON.stringify({ ...p384.jwk, alg: "ES256" })),
    readJwks(JSON.stringify({ kty: "oct", k: "c2VjcmV0+/==" })),
  ].map((r) => (r.ok ? "loaded" : `${r.message} (hint: ${r.hint})`));
  assert.deepEqual(messages, [
    "the key is a 1024-bit RSA key; RSA keys of 2048 bits or more verify tokens (hint: publish the issuer's public signing keys as RFC 7517 JWKs (kty RSA, EC, OKP or oct))",
    'the key is an EC key on curve "secp256k1"; P-256, P-384 and P-521 keys verify tokens (hint: publish the issuer\'s public signing keys as RFC 7517 JWKs (kty RSA, EC, OKP or oct))',
    'the key is an OKP key on curve "X25519"; Ed25519 keys verify tokens (hint: publish the issuer\'s public signing keys as RFC 7517 JWKs (kty RSA, EC, OKP or oct))',
    "the PEM block is a CERTIFICATE, not a public key (hint: give its public key: openssl x509 -in cert.pem -pubkey -noout)",
    "the key is an EC key on P-384 with alg ES256; that curve verifies ES384 (hint: publish the issuer's public signing keys as RFC 7517 JWKs (kty RSA, EC, OKP or oct))",
    "the key is an oct key without its k as base64url (the secret, without + / or padding) (hint: publish the issuer's public signing keys as RFC 7517 JWKs (kty RSA, EC, OKP or oct))",
  ]);
  const fetched = readFetchedJwks(JSON.stringify({ keys: [short.export({ format: "jwk" }), rsa.jwk] }));
  assert.ok(fetched.ok && fetched.keys.length === 1 && fetched.warnings.length === 1, "a fetched set leaves the short key out and keeps the rest");
});

test("the admin API shows an HMAC key without its secret; a URL's password is never echoed", () => {
  const secret = Buffer.from("the-hmac-secret-of-this-provider").toString("base64url");
  const text = TWO_RULE_ROUTE + policy() + extension(`[{name: idp, jwks: ${inline(JSON.stringify({ keys: [{ kty: "oct", kid: "h", k: secret }, rsa.jwk] }))}}]`);
  const shown = JSON.stringify(redactConfigForAdmin(load(text).config!));
  assert.equal(shown.includes(secret), false);
  assert.match(shown, /"kty":"oct","kid":"h","k":"\[REDACTED\]"/);
  assert.ok(shown.includes(String(rsa.jwk["n"])), "public keys are shown whole");
  const leaked = errors(TWO_RULE_ROUTE + policy() + extension('[{name: idp, jwks: {remote: {url: "ftp://svc:hunter2@login.example/jwks.json", backendRef: {name: idp, port: 443}}}}]'));
  assert.equal(leaked.length, 1);
  assert.equal(leaked.join().includes("hunter2"), false);
});
