// kgateway TrafficPolicy `basicAuth` end to end, against real upstreams on 127.0.0.1: users
// from the policy and from a Secret, each way of failing (with Envoy's response code details
// and a WWW-Authenticate challenge), the user's name upstream, a Gateway's policy for the
// rules that set none, `disable: {}`, rbac seeing the user, and upgrades.
import { after, before, test } from "node:test";
import assert from "node:assert/strict";
import { createHash } from "node:crypto";
import { rawExchange } from "../support/raw-exchange.ts";
import { type RawUpgradeUpstream, startRawUpgradeUpstream, upgradeHead } from "../support/raw-upgrade.ts";
import { type HttpService, startHttpService } from "../support/http-service.ts";
import { type TestUpstream, startUpstream } from "../support/upstreams.ts";
import { GATEWAY_YAML, type GatewayUnderTest, ask, backendYaml, ref, routeYaml, startGateway, targetedTrafficPolicyYaml } from "./harness.ts";
import { RecordingTelemetry } from "./recording-telemetry.ts";

const htpasswd = (user: string, password: string): string => `${user}:{SHA}${createHash("sha1").update(password, "utf8").digest("base64")}`;
const basic = (user: string, password: string): string => `Basic ${Buffer.from(`${user}:${password}`, "utf8").toString("base64")}`;
const toRule = (name: string): string => `[{group: gateway.networking.k8s.io, kind: HTTPRoute, name: r, sectionName: ${name}}]`;
const rule = (name: string, prefix: string, backend = "app"): string => `    - name: ${name}
      matches: [{path: {type: PathPrefix, value: ${prefix}}}]
      backendRefs: [${ref(backend)}]
`;

let app: TestUpstream;
let raw: RawUpgradeUpstream;
/** Allows every request; records the basicAuth user each check carried. */
let authz: HttpService;
const checkedUsers: (string | undefined)[] = [];
let gw: GatewayUnderTest;
const recorder = new RecordingTelemetry();

before(async () => {
  app = await startUpstream("app");
  raw = await startRawUpgradeUpstream();
  authz = await startHttpService((req, res) => {
    req.resume();
    checkedUsers.push(req.headers["x-envoy-basic-auth-user"] as string | undefined);
    res.writeHead(200).end();
  });
  const secretText = `${htpasswd("bob", "hunter2")}\r\n\n`;
  gw = await startGateway(
    GATEWAY_YAML +
      backendYaml("app", app.port) +
      backendYaml("raw", raw.port) +
      backendYaml("authz", authz.port) +
      routeYaml(
        rule("inline", "/inline") +
          rule("secret", "/secret") +
          rule("gateway", "/gateway") +
          rule("exempt", "/exempt") +
          rule("rbac", "/rbac") +
          rule("deny-john", "/deny-john") +
          rule("socket", "/switch", "raw") +
          rule("checked", "/checked").replace("      backendRefs:", `      filters: [{type: ExternalAuth, externalAuth: {protocol: HTTP, backendRef: ${ref("authz")}, http: {allowedHeaders: [x-envoy-basic-auth-user]}}}]\n      backendRefs:`),
      ) +
      targetedTrafficPolicyYaml("inline", "HTTPRoute", "r", `  basicAuth: {users: ["${htpasswd("alice", "secret")}", "${htpasswd("jöhn", "pässword")}"]}\n`).replace(/targetRefs: .*/, `targetRefs: ${toRule("inline")}`) +
      targetedTrafficPolicyYaml("from-secret", "HTTPRoute", "r", "  basicAuth: {secretRef: {name: htpasswd}}\n").replace(/targetRefs: .*/, `targetRefs: ${toRule("secret")}`) +
      targetedTrafficPolicyYaml("edge-users", "Gateway", "edge", `  basicAuth: {users: ["${htpasswd("carol", "pw")}"]}\n`) +
      targetedTrafficPolicyYaml("open", "HTTPRoute", "r", "  basicAuth: {disable: {}}\n").replace(/targetRefs: .*/, `targetRefs: ${toRule("exempt")}`) +
      targetedTrafficPolicyYaml("no-john", "HTTPRoute", "r", `  basicAuth: {users: ["${htpasswd("jöhn", "pässword")}", "${htpasswd("ann", "pw")}"]}\n  rbac: {action: Deny, policy: {matchExpressions: ["request.headers['x-envoy-basic-auth-user'] == 'jöhn'"]}}\n`).replace(/targetRefs: .*/, `targetRefs: ${toRule("deny-john")}`) +
      targetedTrafficPolicyYaml("alice-only", "HTTPRoute", "r", `  basicAuth: {users: ["${htpasswd("alice", "secret")}", "${htpasswd("bob", "hunter2")}"]}\n  rbac: {policy: {matchExpressions: ["request.headers['x-envoy-basic-auth-user'] == 'alice'"]}}\n`).replace(/targetRefs: .*/, `targetRefs: ${toRule("rbac")}`) +
      // Behind a trusted proxy, whose X-Envoy-* headers go on: the user header must still be the gateway's own.
      `---\napiVersion: gateway.kgateway.dev/v1alpha1\nkind: HTTPListenerPolicy\nmetadata: {name: behind-lb, namespace: default}\nspec:\n  targetRefs: [{group: gateway.networking.k8s.io, kind: Gateway, name: edge}]\n  trustForwardedHeaders: true\n` +
      `---\napiVersion: v1\nkind: Secret\nmetadata: {name: htpasswd, namespace: default}\ntype: Opaque\ndata:\n  .htpasswd: ${Buffer.from(secretText).toString("base64")}\n`,
    recorder,
  );
});

after(async () => {
  await gw.close();
  await raw.close();
  await authz.close();
  await app.close();
});

const reached = (prefix: string): number => app.requests.filter((r) => r.url.startsWith(prefix)).length;
const details = (path: string): Promise<string> => recorder.detailsOf(path);
const get = (path: string, headers: Record<string, string> = {}) => ask(gw.port, { path, headers: { host: "a.example", ...headers } });

test("a request without credentials gets 401 with a Basic challenge for the URL it asked for, and never reaches the upstream", async () => {
  const quoted = await rawExchange(gw.port, 'GET /inline/say"hi" HTTP/1.1\r\nHost: a.example\r\nConnection: close\r\n\r\n');
  assert.match(quoted, /\r\nwww-authenticate: Basic realm="http:\/\/a\.example\/inline\/say\\"hi\\""\r\n/i, "a quote in the path cannot end the realm");
  const refused = await get("/inline/page?q=1");
  assert.equal(refused.status, 401);
  assert.equal(refused.headers["www-authenticate"], 'Basic realm="http://a.example/inline/page"');
  const long = await get(`/inline/${"x".repeat(400)}`);
  assert.equal(long.headers["www-authenticate"], `Basic realm="http://a.example${`/inline/${"x".repeat(400)}`.slice(0, 256)}"`, "the path cut at 256 characters, as Envoy does");
  assert.equal(refused.headers["content-type"], "application/json");
  assert.deepEqual(refused.json(), { error: "unauthorized", message: "user authentication failed: the request has no username and password (Authorization: Basic)" });
  assert.equal(reached("/inline/page"), 0);
  assert.equal(await details("/inline/page"), "no_credential_for_basic_auth");
  const exchange = await recorder.endOf("/inline/page");
  assert.equal(exchange.errorType, undefined, "a 401 is the client's error, as any 4xx on the server side");
});

test("another scheme, credentials that are not base64 of user:password, and a wrong password or user are each refused with their own details", async () => {
  const cases: [path: string, authorization: string, details: string, message: string][] = [
    ["/inline/bearer", "Bearer abc", "invalid_scheme_for_basic_auth", "the Authorization header does not use the Basic scheme"],
    ["/inline/basicx", "Basicx YWxpY2U6c2VjcmV0", "invalid_scheme_for_basic_auth", "the Authorization header does not use the Basic scheme"],
    ["/inline/garbage", "Basic !!!", "invalid_format_for_basic_auth", "the Basic credentials are not base64 of username:password"],
    // Lenient base64 decoding would skip the `!` and find alice:secret; as in Envoy, it is no base64.
    ["/inline/junk", "Basic YWxpY2U6c2VjcmV0!", "invalid_format_for_basic_auth", "the Basic credentials are not base64 of username:password"],
    ["/inline/stray", "Basic YWxpY2U6c2VjcmV0A", "invalid_format_for_basic_auth", "the Basic credentials are not base64 of username:password"],
    ["/inline/padded", "Basic YWxpY2U6c2VjcmV0==", "invalid_format_for_basic_auth", "the Basic credentials are not base64 of username:password"],
    ["/inline/latin1-name", `Basic ${Buffer.from([0x61, 0xff, 0x3a, 0x70]).toString("base64")}`, "invalid_format_for_basic_auth", "the Basic credentials' username is not UTF-8"],
    ["/inline/no-colon", `Basic ${Buffer.from("alice").toString("base64")}`, "invalid_format_for_basic_auth", "the Basic credentials are not base64 of username:password"],
    ["/inline/wrong-password", basic("alice", "Secret"), "invalid_credential_for_basic_auth", "invalid username/password combination"],
    ["/inline/unknown-user", basic("mallory", "secret"), "invalid_credential_for_basic_auth", "invalid username/password combination"],
    ["/inline/other-rule-user", basic("bob", "hunter2"), "invalid_credential_for_basic_auth", "invalid username/password combination"],
  ];
  for (const [path, authorization, expected, message] of cases) {
    const refused = await get(path, { authorization });
    assert.equal(refused.status, 401, path);
    assert.equal(refused.json()["message"], `user authentication failed: ${message}`, path);
    assert.match(String(refused.headers["www-authenticate"]), /^Basic realm="/, path);
    assert.equal(await details(path), expected, path);
  }
  assert.equal(reached("/inline/"), 0);
});

test("the right credentials go through with the user's name upstream, replacing one a trusted proxy sent; the Authorization header goes on too", async () => {
  const reply = await get("/inline/ok", { authorization: basic("alice", "secret"), "x-envoy-basic-auth-user": "root" });
  assert.equal(reply.status, 200);
  const seen = app.requests.find((r) => r.url === "/inline/ok")!;
  assert.equal(seen.headers["x-envoy-basic-auth-user"], "alice");
  assert.equal(seen.headers["authorization"], basic("alice", "secret"));
  // RFC 9110: the scheme is case-insensitive; a password may hold a colon.
  assert.equal((await get("/inline/lower", { authorization: `basic  ${Buffer.from("alice:secret").toString("base64")}` })).status, 200);
  // Padding may be left out, as Envoy decodes it.
  assert.equal((await get("/inline/unpadded", { authorization: basic("alice", "secret").replace(/=+$/, "") })).status, 200);
});

test("a UTF-8 name and password log in, and the name goes upstream as the bytes it arrived as", async () => {
  assert.equal((await get("/inline/utf8", { authorization: basic("jöhn", "pässword") })).status, 200);
  const seen = app.requests.find((r) => r.url === "/inline/utf8")!;
  assert.equal(Buffer.from(String(seen.headers["x-envoy-basic-auth-user"]), "latin1").toString("utf8"), "jöhn");
});

test("users from a Secret's htpasswd text (CRLF and blank lines) log in where its policy applies, and only there", async () => {
  assert.equal((await get("/secret/ok", { authorization: basic("bob", "hunter2") })).status, 200);
  assert.equal((await get("/secret/alice", { authorization: basic("alice", "secret") })).status, 401);
});

test("the Gateway's basicAuth covers the rules whose policy sets none; a route's replaces it whole, and disable: {} exempts a rule", async () => {
  assert.equal((await get("/gateway/none")).status, 401);
  assert.equal((await get("/gateway/carol", { authorization: basic("carol", "pw") })).status, 200);
  assert.equal((await get("/inline/carol", { authorization: basic("carol", "pw") })).status, 401, "the route's own users, not the Gateway's");
  assert.equal((await get("/exempt/anyone")).status, 200);
  assert.equal(app.requests.find((r) => r.url === "/exempt/anyone")!.headers["x-envoy-basic-auth-user"], undefined);
  assert.equal((await get("/exempt/claimed", { "x-envoy-basic-auth-user": "root" })).status, 200);
  assert.equal(app.requests.find((r) => r.url === "/exempt/claimed")!.headers["x-envoy-basic-auth-user"], "root", "where no basicAuth runs, a trusted proxy's header goes on as it came");
});

test("rbac runs after basicAuth and sees the user it let in", async () => {
  assert.equal((await get("/rbac/alice", { authorization: basic("alice", "secret") })).status, 200);
  const bob = await get("/rbac/bob", { authorization: basic("bob", "hunter2") });
  assert.equal(bob.status, 403);
  assert.equal(bob.json()["error"], "rbac_access_denied");
  assert.equal((await get("/rbac/nobody")).status, 401, "authentication first: no credentials is 401, not 403");
  assert.equal((await get("/deny-john/x", { authorization: basic("jöhn", "pässword") })).status, 403, "rbac reads the UTF-8 name as the text an expression writes");
  assert.equal((await get("/deny-john/y", { authorization: basic("ann", "pw") })).status, 200);
});

test("a rule with an ExternalAuth check asks for credentials first: no call for a refused client, the user in the check", async () => {
  assert.equal((await get("/checked/none")).status, 401);
  assert.deepEqual(checkedUsers, [], "no credentials, no call to the authorization service");
  assert.equal((await get("/checked/alice", { authorization: basic("carol", "pw") })).status, 200);
  assert.deepEqual(checkedUsers, ["carol"]);
});

test("an upgrade needs credentials too: refused raw with the challenge, let through with them", async () => {
  const refused = (await upgradeHead(gw.port, "/switch")).toString("latin1");
  assert.match(refused, /^HTTP\/1\.1 401 Unauthorized\r\n/);
  assert.match(refused, /\r\nwww-authenticate: Basic realm="http:\/\/raw\.example\/switch"\r\n/i);
  const wrong = (await upgradeHead(gw.port, "/switch/wrong", { authorization: basic("carol", "nope") })).toString("latin1");
  assert.match(wrong, /^HTTP\/1\.1 401 Unauthorized\r\n/);
  const upgraded = (await upgradeHead(gw.port, "/switch", { authorization: basic("carol", "pw") })).toString("latin1");
  assert.match(upgraded, /^HTTP\/1\.1 101 /);
  assert.match(upgraded, /\r\nx-seen-user: carol\r\n/i, "the upstream got the user");
});

test("each refusal is counted under its route, rule and policy, with kind basic_auth", () => {
  const counted = [...gw.stats.accessDenials!.entries()].filter(([, , , kind]) => kind === "basic_auth");
  const byRulePolicy = Object.fromEntries(counted.map(([, ruleName, policy, , n]) => [`${ruleName} ${policy}`, n]));
  assert.deepEqual(byRulePolicy, {
    "inline default/inline": 15,
    "secret default/from-secret": 1,
    "gateway default/edge-users": 1,
    "rbac default/alice-only": 1,
    "socket default/edge-users": 2,
    "checked default/edge-users": 1,
  });
});
