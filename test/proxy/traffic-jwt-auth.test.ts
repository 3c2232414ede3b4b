// kgateway TrafficPolicy `jwtAuth` end to end, against real upstreams on 127.0.0.1, with tokens
// signed by jose as an identity provider signs them: Envoy's token sources, each check in
// Envoy's order with its words and status (401, 403 for an audience), the Bearer challenge and
// response code details, claims copied to headers (a client's own taken off), the token taken
// off unless forwarded, several providers, AllowMissing, a Gateway's policy and `disable`,
// rbac deciding on a claim, upgrades, and the denial counts.
import { after, before, test } from "node:test";
import assert from "node:assert/strict";
import { SignJWT } from "jose";
import { type RawUpgradeUpstream, startRawUpgradeUpstream, upgradeHead } from "../support/raw-upgrade.ts";
import { type TestUpstream, startUpstream } from "../support/upstreams.ts";
import { jwksOf, nowSeconds, signToken, signingKey } from "../support/jwt-issuer.ts";
import { GATEWAY_YAML, type GatewayUnderTest, ask, backendYaml, ref, routeYaml, startGateway, targetedTrafficPolicyYaml } from "./harness.ts";
import { RecordingTelemetry, responseDetailsOf } from "./recording-telemetry.ts";

const ISSUER = "https://idp.example";
const idp = signingKey("RS256", "idp-1");
const rotated = signingKey("ES256", "idp-2");
const impostor = signingKey("RS256", "idp-1");
const partner = signingKey("EdDSA", undefined, false);
const hmacSecret = Buffer.from("a shared secret of thirty-two bytes!");
const hmacJwk = { kty: "oct", kid: "shared", k: hmacSecret.toString("base64url") };

const toRule = (name: string): string => `[{group: gateway.networking.k8s.io, kind: HTTPRoute, name: r, sectionName: ${name}}]`;
const rule = (name: string, prefix: string, backend = "app"): string => `    - name: ${name}
      matches: [{path: {type: PathPrefix, value: ${prefix}}}]
      backendRefs: [${ref(backend)}]
`;
const extension = (name: string, jwt: string): string => `---\napiVersion: gateway.kgateway.dev/v1alpha1\nkind: GatewayExtension\nmetadata: {name: ${name}, namespace: default}\nspec:\n  jwt:\n${jwt}`;
const rulePolicy = (ruleName: string, body: string): string => targetedTrafficPolicyYaml(ruleName, "HTTPRoute", "r", body).replace(/targetRefs: .*/, `targetRefs: ${toRule(ruleName)}`);

let app: TestUpstream;
let raw: RawUpgradeUpstream;
let gw: GatewayUnderTest;
const recorder = new RecordingTelemetry();

before(async () => {
  app = await startUpstream("app");
  raw = await startRawUpgradeUpstream();
  const idpProvider = `{name: idp, issuer: "${ISSUER}", audiences: [api.example], jwks: {local: {inline: ${JSON.stringify(jwksOf(idp, rotated))}}}, claimsToHeaders: [{name: sub, header: x-jwt-sub}, {name: org.id, header: x-jwt-org}, {name: level, header: x-jwt-level}, {name: admin, header: x-jwt-admin}, {name: roles, header: x-jwt-roles}]}`;
  const partnerProvider = `{name: partner, issuer: partner, jwks: {local: {configMapRef: {name: partner-keys}}}, tokenSource: {header: {header: x-partner-token}}, forwardToken: true, claimsToHeaders: [{name: sub, header: x-partner-sub}]}`;
  gw = await startGateway(
    GATEWAY_YAML +
      backendYaml("app", app.port) +
      backendYaml("raw", raw.port) +
      extension("idp", `    providers: [${idpProvider}]\n`) +
      extension("both", `    providers: [${idpProvider}, ${partnerProvider}]\n`) +
      extension("optional", `    validationMode: AllowMissing\n    providers: [${idpProvider}]\n`) +
      extension("pem", `    providers: [{name: pem, jwks: {local: {inline: ${JSON.stringify(`issued by the IdP team\n${idp.pem}`)}}}, claimsToHeaders: [{name: sub, header: x-jwt-sub}]}]\n`) +
      extension("hmac", `    providers: [{name: hmac, jwks: {local: {inline: ${JSON.stringify(JSON.stringify({ keys: [hmacJwk, idp.jwk] }))}}}}]\n`) +
      extension("edge", `    providers: [{name: edge, jwks: {local: {inline: ${JSON.stringify(jwksOf(idp))}}}, tokenSource: {queryParameter: token}}]\n`) +
      `---\napiVersion: v1\nkind: ConfigMap\nmetadata: {name: partner-keys, namespace: default}\ndata:\n  jwks: ${JSON.stringify(jwksOf(partner))}\n` +
      routeYaml(
        rule("strict", "/strict") +
          rule("two", "/two") +
          rule("optional", "/optional") +
          rule("gateway", "/gateway") +
          rule("exempt", "/exempt") +
          rule("pem", "/pem") +
          rule("hmac", "/hmac") +
          rule("admins", "/admins") +
          rule("staff", "/staff") +
          rule("socket", "/switch", "raw") +
          rule("moved", "/moved").replace("      backendRefs:", "      filters: [{type: RequestRedirect, requestRedirect: {hostname: other.example, statusCode: 302}}]\n      backendRefs:"),
      ) +
      rulePolicy("strict", "  jwtAuth: {extensionRef: {name: idp}}\n") +
      rulePolicy("two", "  jwtAuth: {extensionRef: {name: both}}\n") +
      rulePolicy("optional", "  jwtAuth: {extensionRef: {name: optional}}\n") +
      rulePolicy("exempt", "  jwtAuth: {disable: {}}\n") +
      rulePolicy("pem", "  jwtAuth: {extensionRef: {name: pem}}\n") +
      rulePolicy("hmac", "  jwtAuth: {extensionRef: {name: hmac}}\n") +
      rulePolicy("admins", `  jwtAuth: {extensionRef: {name: idp}}\n  rbac: {action: Allow, policy: {matchExpressions: ["request.headers['x-jwt-admin'] == 'true'"]}}\n`) +
      rulePolicy("staff", `  jwtAuth: {extensionRef: {name: optional}}\n  rbac: {action: Allow, policy: {matchExpressions: ["'staff' in metadata.filter_metadata['envoy.filters.http.jwt_authn']['payload']['roles'] && metadata.filter_metadata['envoy.filters.http.jwt_authn'].payload.org.id == 'acme'"]}}\n`) +
      rulePolicy("moved", "  jwtAuth: {extensionRef: {name: edge}}\n") +
      targetedTrafficPolicyYaml("edge", "Gateway", "edge", "  jwtAuth: {extensionRef: {name: edge}}\n"),
    recorder,
  );
});

after(async () => {
  await gw.close();
  await raw.close();
  await app.close();
});

const get = (path: string, headers: Record<string, string> = {}) => ask(gw.port, { path, headers: { host: "a.example", ...headers } });
const seen = (url: string) => app.requests.find((r) => r.url === url);
const bearer = (token: string): Record<string, string> => ({ authorization: `Bearer ${token}` });
const good = (claims: Record<string, unknown> = {}) => signToken(idp, { iss: ISSUER, aud: "api.example", sub: "alice", exp: nowSeconds() + 600, ...claims });
const encoded = (value: unknown): string => Buffer.from(JSON.stringify(value)).toString("base64url");

test("no token is refused with 401, a Bearer challenge without an error code, and Envoy's details; nothing reaches the upstream", async () => {
  const missing = await get("/strict/none?x=1", { authorization: "Basic abc" });
  assert.equal(missing.status, 401);
  assert.deepEqual(missing.json(), { error: "unauthorized", message: "JWT authentication failed: Jwt is missing" });
  assert.equal(missing.headers["www-authenticate"], 'Bearer realm="http://a.example/strict/none"');
  assert.equal(responseDetailsOf(await recorder.endOf("/strict/none")), "jwt_authn_access_denied{Jwt_is_missing}");
  assert.equal(app.requests.filter((r) => r.url.startsWith("/strict/none")).length, 0);
});

test("a valid token lets the request in: its claims go upstream in their headers, a client's own are taken off, and so is the token", async () => {
  const token = await good({ org: { id: "acme" }, level: 3, admin: false, roles: ["a", "b"] });
  const ok = await get("/strict/ok", { ...bearer(token), "x-jwt-sub": "mallory", "x-jwt-roles": "forged" });
  assert.equal(ok.status, 200);
  const upstream = seen("/strict/ok")!;
  assert.deepEqual([upstream.headers["x-jwt-sub"], upstream.headers["x-jwt-org"], upstream.headers["x-jwt-level"], upstream.headers["x-jwt-admin"]], ["alice", "acme", "3", "false"], "a string, a nested claim, a number and a boolean");
  assert.equal(upstream.headers["x-jwt-roles"], undefined, "a list claim adds no header, and the client's forged one is gone");
  assert.equal(upstream.headers["authorization"], undefined, "the token's header does not go on (forwardToken is false)");
  const fractional = await get("/strict/fraction", bearer(await good({ level: 1.5 })));
  assert.equal(fractional.status, 200);
  assert.equal(seen("/strict/fraction")!.headers["x-jwt-level"], "1.500000", "as Envoy prints a number with a fraction");
  assert.equal((await get("/strict/rotated", bearer(await signToken(rotated, { iss: ISSUER, aud: ["other", "https://api.example/"] })))).status, 200, "any key of the set by kid; an audience matches without its scheme and trailing slash");
});

test("the access_token query parameter is read too, and taken off the forwarded request", async () => {
  assert.equal((await get(`/strict/q?a=1&access_token=${await good()}&b=2`)).status, 200);
  assert.ok(seen("/strict/q?a=1&b=2"), "the token is gone from the query, the rest kept in order");
});

test("each check in Envoy's order, with its words: format, header, issuer, time (60 s of skew), audience (403), key, signature", async () => {
  const now = nowSeconds();
  const cases: [string, Record<string, string>, number, string][] = [
    ["format", bearer("abc.def"), 401, "Jwt is not in the form of Header.Payload.Signature"],
    ["parts", bearer("a.b.c.d"), 401, "Jwt is not in the form of Header.Payload.Signature"],
    ["badjson", bearer(`${encoded("x").slice(0, 3)}.${encoded({})}.c2ln`), 401, "Jwt header is an invalid Base64url input or an invalid JSON"],
    ["none", bearer(`${encoded({ alg: "none" })}.${encoded({ iss: ISSUER })}.`), 401, "Jwt header [alg] field value is invalid"],
    ["payload", bearer(`${encoded({ alg: "RS256" })}.${Buffer.from("not json").toString("base64url")}.c2ln`), 401, "Jwt payload is an invalid Base64 or an invalid JSON"],
    ["issuer", bearer(await good({ iss: "https://other.example" })), 401, "Jwt issuer is not configured"],
    ["expired", bearer(await good({ exp: now - 120, aud: "nobody" })), 401, "Jwt is expired"],
    ["early", bearer(await good({ nbf: now + 120 })), 401, "Jwt not yet valid"],
    ["audience", bearer(await good({ aud: "other.example" })), 403, "Audiences in Jwt are not allowed"],
    ["kid", bearer(await signToken(signingKey("RS256", "unknown"), { iss: ISSUER, aud: "api.example" })), 401, "Jwks doesn't have key to match kid or alg from Jwt"],
    ["signature", bearer(await signToken(impostor, { iss: ISSUER, aud: "api.example" })), 401, "Jwt verification fails"],
    ["two", { ...bearer(await good()), "x-other": "1" }, 200, ""],
  ];
  for (const [name, headers, status, message] of cases) {
    const path = `/strict/check-${name}`;
    const reply = await get(name === "two" ? `${path}?access_token=${await signToken(impostor, { iss: ISSUER, aud: "api.example" })}` : `${path}?q=1`, headers);
    if (name === "two") {
      assert.equal(reply.status, 401, "every token the request carries must verify: a good header does not carry a bad query token");
      assert.equal(reply.json()["message"], "JWT authentication failed: Jwt verification fails");
      continue;
    }
    assert.equal(reply.status, status, name);
    assert.deepEqual(reply.json(), { error: status === 403 ? "forbidden" : "unauthorized", message: `JWT authentication failed: ${message}` }, name);
    assert.equal(reply.headers["www-authenticate"], `Bearer realm="http://a.example/strict/check-${name}", error="invalid_token"`, name);
    assert.equal(responseDetailsOf(await recorder.endOf(path)), `jwt_authn_access_denied{${message.replace(/ /g, "_")}}`, name);
  }
  assert.equal((await get("/strict/skew", bearer(await good({ exp: now - 30, nbf: now + 30 })))).status, 200, "within the 60 s Envoy allows for clock skew");
});

test("several providers: any one lets the request in, each with its own sources, claims and forwarding; the failure told is about the token", async () => {
  const partnerToken = await signToken(partner, { iss: "partner", sub: "globex" });
  assert.equal((await get("/two/partner", { "x-partner-token": partnerToken, "x-jwt-sub": "forged" })).status, 200);
  const upstream = seen("/two/partner")!;
  assert.deepEqual([upstream.headers["x-partner-sub"], upstream.headers["x-partner-token"], upstream.headers["x-jwt-sub"]], ["globex", partnerToken, undefined], "the partner's claim, its token forwarded, and no other provider's claim header from the client");
  assert.equal((await get("/two/idp", bearer(await good()))).status, 200);
  assert.equal(seen("/two/idp")!.headers["x-jwt-sub"], "alice");
  const forged = await get("/two/forged", bearer(await signToken(impostor, { iss: ISSUER, aud: "api.example" })));
  assert.equal(forged.json()["message"], "JWT authentication failed: Jwt verification fails", "not the other provider's missing token");
  assert.equal((await get("/two/none")).json()["message"], "JWT authentication failed: Jwt is missing");
});

test("AllowMissing lets a request without a token in, never one with a bad token", async () => {
  assert.equal((await get("/optional/anonymous", { "x-jwt-sub": "mallory" })).status, 200);
  assert.equal(seen("/optional/anonymous")!.headers["x-jwt-sub"], undefined, "a client's claim header goes even when no token was checked");
  assert.equal((await get("/optional/bad", bearer(await good({ exp: nowSeconds() - 600 })))).status, 401);
  assert.equal((await get("/optional/good", bearer(await good()))).status, 200);
  assert.equal(seen("/optional/good")!.headers["x-jwt-sub"], "alice");
});

test("a Gateway's jwtAuth covers rules whose policy sets none; a route's replaces it, and disable: {} exempts a rule", async () => {
  const token = await signToken(idp, { sub: "edge" });
  assert.equal((await get(`/gateway/x?token=${token}`)).status, 200);
  assert.ok(seen("/gateway/x"), "the query token is taken off");
  assert.equal((await get("/gateway/y")).status, 401);
  assert.equal((await get(`/strict/edge?token=${token}`)).status, 401, "the route's own providers, not the Gateway's");
  assert.equal((await get("/exempt/anyone")).status, 200);
});

test("rbac decides on a verified claim, which a client cannot forge", async () => {
  assert.equal((await get("/admins/a", bearer(await good({ admin: true })))).status, 200);
  assert.equal((await get("/admins/b", { ...bearer(await good({ admin: false })), "x-jwt-admin": "true" })).status, 403);
});

test("rbac reads the verified payload as Envoy's metadata, where kgateway users read claims; without a token there is none", async () => {
  assert.equal((await get("/staff/a", bearer(await good({ roles: ["staff"], org: { id: "acme" } })))).status, 200);
  assert.equal((await get("/staff/b", bearer(await good({ roles: ["guest"], org: { id: "acme" } })))).status, 403);
  assert.equal((await get("/staff/c")).status, 403, "AllowMissing let it in without a token: no payload, so the expression does not match");
});

test("a redirect carries no token on to where it points", async () => {
  const moved = await get(`/moved/a?token=${await signToken(idp, {})}&x=1`);
  assert.equal(moved.status, 302);
  assert.equal(moved.headers["location"], "http://other.example:8080/moved/a?x=1");
});

test("an upgrade needs a token too, and is refused with the same challenge", async () => {
  const refused = (await upgradeHead(gw.port, "/switch")).toString("latin1");
  assert.match(refused, /^HTTP\/1\.1 401 Unauthorized\r\n/);
  assert.match(refused, /\r\nwww-authenticate: Bearer realm="http:\/\/raw\.example\/switch"\r\n/i);
  const token = await signToken(idp, {});
  const opened = (await upgradeHead(gw.port, `/switch?token=${token}&room=7`)).toString("latin1");
  assert.match(opened, /^HTTP\/1\.1 101 /);
  assert.match(opened, /\r\nx-seen-target: \/switch\?room=7\r\n/i, "the upgrade's upstream target has no token");
});

test("a key without a kid verifies a token with one (a PEM key has none), as jwt_verify_lib matches kids", async () => {
  assert.equal((await get("/pem/a", bearer(await good()))).status, 200);
  assert.equal(seen("/pem/a")!.headers["x-jwt-sub"], "alice");
  assert.equal((await get("/pem/b", bearer(await signToken(impostor, {})))).json()["message"], "JWT authentication failed: Jwt verification fails");
});

test("an HMAC key verifies HS256 tokens; an RSA key's public bytes used as an HMAC secret verify nothing", async () => {
  const hs = await new SignJWT({ sub: "svc" }).setProtectedHeader({ alg: "HS256", kid: "shared" }).sign(hmacSecret);
  assert.equal((await get("/hmac/a", bearer(hs))).status, 200);
  const confused = await new SignJWT({ sub: "mallory" }).setProtectedHeader({ alg: "HS256" }).sign(Buffer.from(idp.pem));
  assert.equal((await get("/hmac/b", bearer(confused))).json()["message"], "JWT authentication failed: Jwt verification fails", "HS256 is checked against oct keys only");
  const wrongKid = await new SignJWT({}).setProtectedHeader({ alg: "HS256", kid: "other" }).sign(hmacSecret);
  assert.equal((await get("/hmac/c", bearer(wrongKid))).json()["message"], "JWT authentication failed: Jwks doesn't have key to match kid or alg from Jwt");
});

test("a token present but malformed is refused, never taken as missing: AllowMissing lets none of these through", async () => {
  const forged = await signToken(impostor, { iss: ISSUER, aud: "api.example" });
  for (const [path, headers] of [
    [`/optional/empty-first?access_token=&access_token=${await good()}`, {}],
    ["/optional/junk-before", { authorization: `Bearer !${forged}` }],
    ["/optional/junk-after", { authorization: `Bearer ${await good()} ${forged}` }],
    ["/optional/no-token-chars", { authorization: "Bearer !!!" }],
    ["/optional/lowercase", { authorization: `bearer ${forged}` }],
  ] as const) {
    const reply = await get(path, headers);
    assert.equal(reply.status, 401, path);
  }
  assert.equal(app.requests.filter((r) => r.url.startsWith("/optional/empty-first") || r.url.startsWith("/optional/junk") || r.url.startsWith("/optional/no-token") || r.url.startsWith("/optional/lowercase")).length, 0);
  assert.equal((await get("/strict/lowercase", { authorization: `bearer ${await good()}` })).status, 200, "the scheme is case-insensitive (RFC 9110)");
  const partnerToken = await signToken(partner, { iss: "partner", sub: "globex" });
  assert.equal((await get("/two/trailing", { "x-partner-token": `${partnerToken} ${forged}` })).status, 401, "a header without a prefix is the token whole");
});

test("a claim holding a control character adds no header; the request goes on", async () => {
  assert.equal((await get("/strict/control", bearer(await good({ sub: "a\u0001b", level: 7 })))).status, 200);
  const upstream = seen("/strict/control")!;
  assert.deepEqual([upstream.headers["x-jwt-sub"], upstream.headers["x-jwt-level"]], [undefined, "7"]);
});

test("each refusal is counted under its route, rule and policy, with kind jwt_auth", () => {
  const counted = [...gw.stats.accessDenials!.entries()].filter(([, , , kind]) => kind === "jwt_auth");
  assert.deepEqual(Object.fromEntries(counted.map(([, ruleName, policy, , n]) => [`${ruleName} ${policy}`, n])), {
    "strict default/strict": 14,
    "two default/two": 3,
    "optional default/optional": 6,
    "pem default/pem": 1,
    "hmac default/hmac": 2,
    "gateway default/edge": 1,
    "socket default/edge": 1,
  });
});
