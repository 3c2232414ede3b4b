// kgateway TrafficPolicy `rbac` end to end, against real upstreams and a real HTTP
// authorization service: a Gateway's policy guards the routes through it and not through
// another Gateway on the same port; a route's policy replaces the Gateway's whole; Allow and
// Deny; client ranges (blocked always refuses, allowed and expressions must both hold); what an
// ExternalAuth check adds is seen; upgrades are refused too; the 403 and its details.
import { after, before, test } from "node:test";
import assert from "node:assert/strict";
import http from "node:http";
import { type RawUpgradeUpstream, startRawUpgradeUpstream, upgradeHead } from "../support/raw-upgrade.ts";
import { type HttpService, startHttpService } from "../support/http-service.ts";
import { type TestUpstream, startUpstream } from "../support/upstreams.ts";
import { type GatewayUnderTest, appRouteYaml, catchAllOnYaml, ask, backendYaml, hostGatewayYaml, ref, startGateway, targetedTrafficPolicyYaml } from "./harness.ts";
import { RecordingTelemetry, responseDetailsOf } from "./recording-telemetry.ts";

let app: TestUpstream;
let raw: RawUpgradeUpstream;
/** Allows every request; its answer's x-role (admin for `Bearer admin`, else user) goes onto the forwarded request. */
let authz: HttpService;
let gw: GatewayUnderTest;
const recorder = new RecordingTelemetry();

const rbac = (body: string): string => `  rbac: ${body}\n`;

/** True for the one request the variables test sends: each variable as the request and its connection show it. */
const EVERY_VARIABLE = [
  "request.method == 'GET' && request.path == '/vars/x?q=1' && request.url_path == '/vars/x' && request.query == 'q=1'",
  "request.host == 'open.example' && request.scheme == 'http' && request.protocol == 'HTTP/1.1'",
  "request.useragent == 'probe' && request.referer == 'https://ref.example/' && request.id == 'req-7' && request.headers['x-two'] == 'a, b'",
  "request.time > timestamp('2026-01-01T00:00:00Z')",
  "source.address == '127.0.0.1' && source.port > 1023 && destination.address == '127.0.0.1' && destination.port > 0",
  "connection.id > 0 && !connection.mtls && connection.tls_version == '' && connection.requested_server_name == ''",
  "route.name == 'vars' && route.namespace == 'default' && route.rule == 'rule-0' && route.gateway == 'default/open' && route.listener == 'web'",
].join(" && ");

function config(): string {
  return (
    hostGatewayYaml("guarded", "guarded.example") +
    hostGatewayYaml("open", "open.example") +
    hostGatewayYaml("raw", "raw.example") +
    appRouteYaml("shared", ["guarded", "open"], ["/"]) +
    appRouteYaml("covered", ["guarded"], ["/covered"]) +
    appRouteYaml("blocked", ["open"], ["/blocked"]) +
    appRouteYaml("lan", ["open"], ["/lan"]) +
    appRouteYaml("both", ["open"], ["/both"]) +
    appRouteYaml("partners", ["open"], ["/partners"]) +
    appRouteYaml("vars", ["open"], ["/vars"]) +
    appRouteYaml("v6-blocked", ["open"], ["/v6-blocked"]) +
    appRouteYaml("no-leaked", ["open"], ["/no-leaked"]) +
    appRouteYaml("ids", ["open"], ["/ids"]) +
    appRouteYaml("checked", ["open"], ["/checked"], `    filters: [{type: ExternalAuth, externalAuth: {protocol: HTTP, backendRef: ${ref("authz")}, http: {}}}]\n`) +
    catchAllOnYaml("socket", "raw", "raw") +
    targetedTrafficPolicyYaml("admins", "Gateway", "guarded", rbac(`{policy: {matchExpressions: ["request.headers['x-role'] == 'admin'", "source.address == '10.9.9.9'", "dyn(request.headers)['x-role']"]}}`)) +
    targetedTrafficPolicyYaml("no-secrets", "HTTPRoute", "covered", rbac(`{action: Deny, policy: {matchExpressions: ["request.url_path.startsWith('/covered/secret')"]}}`)) +
    targetedTrafficPolicyYaml("blocked", "HTTPRoute", "blocked", rbac(`{policy: {blockedCIDRs: [127.0.0.0/8], matchExpressions: ["true"]}}`)) +
    targetedTrafficPolicyYaml("lan", "HTTPRoute", "lan", rbac(`{policy: {allowedCIDRs: [10.0.0.0/8, "::1/128"], matchExpressions: ["request.method == 'GET'"]}}`)) +
    targetedTrafficPolicyYaml("both", "HTTPRoute", "both", rbac(`{policy: {allowedCIDRs: [127.0.0.1/32], matchExpressions: ["'x-team' in request.headers && request.headers['x-team'] == 'a'"]}}`)) +
    targetedTrafficPolicyYaml("checked", "HTTPRoute", "checked", rbac(`{policy: {matchExpressions: ["request.headers['x-role'] == 'admin'"]}}`)) +
    targetedTrafficPolicyYaml("partners", "HTTPRoute", "partners", rbac(`{policy: {allowedCIDRs: [203.0.113.0/24]}}`)) +
    `---
apiVersion: gateway.kgateway.dev/v1alpha1
kind: HTTPListenerPolicy
metadata: {name: behind-lb, namespace: default}
spec:
  targetRefs: [${["guarded", "open", "raw"].map((name) => `{group: gateway.networking.k8s.io, kind: Gateway, name: ${name}}`).join(", ")}]
  trustForwardedHeaders: true
  xffNumTrustedHops: 1
` +
    targetedTrafficPolicyYaml("vars", "HTTPRoute", "vars", rbac(`{policy: {matchExpressions: [${JSON.stringify(EVERY_VARIABLE)}]}}`)) +
    targetedTrafficPolicyYaml("v6-blocked", "HTTPRoute", "v6-blocked", rbac(`{policy: {blockedCIDRs: ["::/0"]}}`)) +
    targetedTrafficPolicyYaml("no-leaked", "HTTPRoute", "no-leaked", rbac(`{action: Deny, policy: {matchExpressions: ["request.headers['authorization'] == 'Bearer leaked'", "request.useragent == 'BadBot'"]}}`)) +
    targetedTrafficPolicyYaml("ids", "HTTPRoute", "ids", rbac(`{policy: {matchExpressions: ["request.id.size() >= 32"]}}`)) +
    targetedTrafficPolicyYaml("no-evil", "Gateway", "raw", rbac(`{action: Deny, policy: {matchExpressions: ["request.headers['x-evil'] == '1'"]}}`)) +
    backendYaml("app", app.port) +
    backendYaml("authz", authz.port) +
    backendYaml("raw", raw.port)
  );
}

before(async () => {
  app = await startUpstream("app");
  raw = await startRawUpgradeUpstream();
  authz = await startHttpService((req, res) => {
    req.resume();
    res.writeHead(200, { "x-role": req.headers.authorization === "Bearer admin" ? "admin" : "user" }).end();
  });
  gw = await startGateway(config(), recorder);
});

after(async () => {
  await gw.close();
  await app.close();
  await raw.close();
  await authz.close();
});

const chunk = (flat: readonly string[]): string[][] => flat.flatMap((v, i) => (i % 2 === 0 ? [[v, flat[i + 1]!]] : []));

const reached = (prefix: string): number => app.requests.filter((r) => r.url.startsWith(prefix)).length;

async function status(host: string, path: string, headers: Record<string, string> = {}): Promise<number> {
  return (await ask(gw.port, { path, headers: { host, ...headers } })).status;
}

test("a Gateway's Allow policy lets matching requests through it, refuses the rest with a 403, and leaves other Gateways on the port alone", async () => {
  assert.equal(await status("guarded.example", "/admin-ok", { "x-role": "admin" }), 200);
  const refused = await ask(gw.port, { path: "/no-role", headers: { host: "guarded.example" } });
  assert.equal(refused.status, 403);
  assert.equal(refused.headers["content-type"], "application/json");
  assert.equal(refused.json()["error"], "rbac_access_denied");
  assert.doesNotMatch(refused.body.toString(), /admins/, "the policy's name is for the access log, not the client");
  assert.equal(await status("guarded.example", "/wrong-role", { "x-role": "user" }), 403, "an expression that yields a string, not true, does not match");
  assert.equal(reached("/no-role") + reached("/wrong-role"), 0);
  assert.equal(await status("open.example", "/no-role-open"), 200);

  const exchange = await recorder.endOf("/no-role");
  assert.equal(responseDetailsOf(exchange), "rbac_access_denied_matched_policy[default/admins]");
  assert.equal(exchange.responseFlags, "");
  assert.equal(exchange.errorType, undefined, "a 403 is the client's error, as any 4xx on the server side");
  const rule = exchange.match!.rule;
  assert.deepEqual(
    [...gw.stats.accessDenials!.entries()].filter(([, , policy]) => policy === "default/admins"),
    [[rule.routeKey, rule.ruleName, "default/admins", "rbac", 2]],
    "each refusal is counted under the route and rule it refused, with the policy and kind",
  );
});

test("a route's policy replaces its Gateway's whole: a Deny policy refuses what it matches and lets the rest through", async () => {
  assert.equal(await status("guarded.example", "/covered/page"), 200, "the Gateway's admin rule does not apply to the route");
  assert.equal(await status("guarded.example", "/covered/secret/x", { "x-role": "admin" }), 403);
  assert.equal(reached("/covered/secret"), 0);
  const exchange = await recorder.endOf("/covered/secret/x");
  assert.equal(responseDetailsOf(exchange), "rbac_access_denied_matched_policy[default/no-secrets]");
});

test("client ranges: a blocked range refuses even what the policy allows, an allowed range must hold beside the expressions", async () => {
  assert.equal(await status("open.example", "/blocked/x"), 403);
  assert.equal(await status("open.example", "/lan/x"), 403, "a GET, but 127.0.0.1 is in neither 10.0.0.0/8 nor ::1/128");
  assert.equal(await status("open.example", "/both/x", { "x-team": "a" }), 200);
  assert.equal(await status("open.example", "/both/y", { "x-team": "b" }), 403);
  assert.equal(await status("open.example", "/both/z"), 403);
  assert.equal(reached("/blocked") + reached("/lan") + reached("/both/y") + reached("/both/z"), 0);
});

test("an IPv6 range holds no IPv4 client, and a forwarded client that is no IP address is judged by the peer", async () => {
  assert.equal(await status("open.example", "/v6-blocked/x"), 200, "::/0 blocks IPv6 clients only");
  // The one trusted hop names "unknown": the peer, 127.0.0.1, is what the blocked range is tested against.
  assert.equal(await status("open.example", "/blocked/x", { "x-forwarded-for": "unknown, 10.0.0.1" }), 403);
  assert.equal(await status("open.example", "/blocked/y", { forwarded: "for=_hidden, for=10.0.0.1" }), 403);
});

test("the decision is on the header values the upstream gets: a repeated Authorization or User-Agent is judged by the first, which is forwarded", async () => {
  const sent = (path: string, rawHeaders: string[]): Promise<number> =>
    new Promise((resolve, reject) => {
      const req = http.request({ host: "127.0.0.1", port: gw.port, path, headers: ["host", "open.example", ...rawHeaders], agent: false }, (res) => {
        res.resume();
        resolve(res.statusCode!);
      });
      req.on("error", reject);
      req.end();
    });
  assert.equal(await sent("/no-leaked/1", ["authorization", "Bearer leaked", "authorization", "x"]), 403);
  assert.equal(await sent("/no-leaked/2", ["user-agent", "BadBot", "user-agent", "curl"]), 403);
  assert.equal(await sent("/no-leaked/3", ["authorization", "x", "authorization", "Bearer leaked"]), 200);
  const forwarded = app.requests.find((r) => r.url === "/no-leaked/3")!.rawHeaders;
  assert.deepEqual(forwarded.filter((_, i) => i % 2 === 1 && forwarded[i - 1]!.toLowerCase() === "authorization"), ["x"], "what was judged is all that went upstream");
  assert.equal(reached("/no-leaked/1") + reached("/no-leaked/2"), 0);
});

test("client ranges test the effective client: the X-Forwarded-For entry the listener's one trusted hop points at, else the peer", async () => {
  // With one trusted hop the client is the entry before the right-most one (Envoy's xff_num_trusted_hops).
  assert.equal(await status("open.example", "/partners/1", { "x-forwarded-for": "203.0.113.7, 10.0.0.1" }), 200);
  assert.equal(await status("open.example", "/partners/2"), 403);
  assert.equal(await status("open.example", "/partners/3", { "x-forwarded-for": "203.0.113.7, 198.51.100.1, 10.0.0.1" }), 403, "203.0.113.7 is only the client's own claim");
  assert.equal(reached("/partners/2") + reached("/partners/3"), 0);
});

test("every variable reads what the request and its connection show", async () => {
  const headers = { "user-agent": "probe", referer: "https://ref.example/", "x-request-id": "req-7" };
  const rawHeaders = ["x-two", "a", "x-two", "b"];
  const seen = (path: string, extra: readonly string[]): Promise<number> =>
    new Promise((resolve, reject) => {
      const req = http.request({ host: "127.0.0.1", port: gw.port, path, headers: [["host", "open.example"], ...Object.entries(headers), ...chunk(extra)].flat(), agent: false }, (res) => {
        res.resume();
        resolve(res.statusCode!);
      });
      req.on("error", reject);
      req.end();
    });
  assert.equal(await seen("/vars/x?q=1", rawHeaders), 200);
  assert.equal(await seen("/vars/x?q=2", rawHeaders), 403);
  assert.equal(await seen("/vars/x?q=1", ["x-two", "a"]), 403, "a repeated header's values are joined, as they are forwarded");
});

test("request.id is the id the gateway generated when the request had none, the one the upstream gets", async () => {
  assert.equal(await status("open.example", "/ids/x"), 200);
  const generated = app.requests.find((r) => r.url === "/ids/x")?.headers["x-request-id"];
  assert.match(String(generated), /^[0-9a-f-]{36}$/);
});

test("the policy sees the headers an ExternalAuth check put on the request, not what the client claimed", async () => {
  assert.equal(await status("open.example", "/checked/1", { authorization: "Bearer admin" }), 200);
  assert.equal(await status("open.example", "/checked/2", { authorization: "Bearer someone", "x-role": "admin" }), 403);
  const forwarded = app.requests.find((r) => r.url === "/checked/1");
  assert.equal(forwarded?.headers["x-role"], "admin");
});

test("an upgrade is decided like any request: a Deny policy refuses the offer it matches with a raw 403", async () => {
  assert.match((await upgradeHead(gw.port, "/switch")).toString("latin1"), /^HTTP\/1\.1 101 /);
  const refused = (await upgradeHead(gw.port, "/switch-evil", { "x-evil": "1" })).toString("latin1");
  assert.match(refused, /^HTTP\/1\.1 403 Forbidden\r\n/);
  assert.doesNotMatch(refused, /x-name/i, "the gateway's own refusal: the upstream (which would also say 403 here) never saw it");
  const exchange = await recorder.endOf("/switch-evil");
  assert.equal(responseDetailsOf(exchange), "rbac_access_denied_matched_policy[default/no-evil]");
  assert.deepEqual(
    [...gw.stats.accessDenials!.entries()].filter(([, , policy]) => policy === "default/no-evil").map(([, , , kind, n]) => [kind, n]),
    [["rbac", 1]],
    "a refused upgrade is counted too",
  );
});
