// kgateway TrafficPolicy `acl` end to end, against real upstreams and a real HTTP
// authorization service: the longest matching client range decides whatever the rules'
// order, else the default action; the deny response's status and headers and the blocked-by
// header; a route's acl replacing its Gateway's; a refused client costing no authorization
// call; upgrades refused too.
import { after, before, test } from "node:test";
import assert from "node:assert/strict";
import { type HttpService, startHttpService } from "../support/http-service.ts";
import { type RawUpgradeUpstream, headLines, startRawUpgradeUpstream, upgradeHead } from "../support/raw-upgrade.ts";
import { type TestUpstream, startUpstream } from "../support/upstreams.ts";
import { type GatewayUnderTest, appRouteYaml, catchAllOnYaml, ask, backendYaml, hostGatewayYaml, ref, startGateway, targetedTrafficPolicyYaml } from "./harness.ts";
import { RecordingTelemetry } from "./recording-telemetry.ts";

let app: TestUpstream;
let raw: RawUpgradeUpstream;
let authz: HttpService;
let authzChecks = 0;
let gw: GatewayUnderTest;
const recorder = new RecordingTelemetry();

const acl = (body: string): string => `  acl: ${body}\n`;
// The /8 allow comes first: a first-match reading would let 127.0.0.1 in, the longest prefix does not.
const OFFICE = acl(
  "{defaultAction: allow, rules: [{name: loopback, cidrs: [127.0.0.0/8], action: allow}, {name: me, cidrs: [10.9.9.9, 127.0.0.1/32], action: deny}], denyResponse: {statusCode: 451, headers: [{name: X-Why, value: geo}], blockedByHeaderName: X-Blocked-By}}",
);

before(async () => {
  app = await startUpstream("app");
  raw = await startRawUpgradeUpstream();
  authz = await startHttpService((req, res) => {
    authzChecks++;
    req.resume();
    res.writeHead(200).end();
  });
  gw = await startGateway(
    hostGatewayYaml("office", "office.example") +
      hostGatewayYaml("lobby", "lobby.example") +
      hostGatewayYaml("raw", "raw.example") +
      appRouteYaml("desk", ["office"], ["/"]) +
      appRouteYaml("exempt", ["office"], ["/exempt"]) +
      appRouteYaml("front", ["lobby"], ["/"]) +
      appRouteYaml("closed", ["lobby"], ["/closed"]) +
      appRouteYaml("checked", ["lobby"], ["/checked"], `    filters: [{type: ExternalAuth, externalAuth: {protocol: HTTP, backendRef: ${ref("authz")}, http: {}}}]\n`) +
      catchAllOnYaml("socket", "raw", "raw") +
      targetedTrafficPolicyYaml("office", "Gateway", "office", OFFICE) +
      targetedTrafficPolicyYaml("exempt", "HTTPRoute", "exempt", acl("{defaultAction: allow}")) +
      targetedTrafficPolicyYaml("front", "HTTPRoute", "front", acl("{defaultAction: deny, rules: [{cidrs: ['127.0.0.1'], action: allow}]}")) +
      targetedTrafficPolicyYaml("closed", "HTTPRoute", "closed", acl("{defaultAction: deny, rules: [{name: lan, cidrs: [10.0.0.0/8], action: allow}]}")) +
      targetedTrafficPolicyYaml("checked", "HTTPRoute", "checked", acl("{defaultAction: deny}")) +
      appRouteYaml("tie", ["lobby"], ["/tie"]) +
      appRouteYaml("v6", ["lobby"], ["/v6"]) +
      targetedTrafficPolicyYaml("tie", "HTTPRoute", "tie", acl("{defaultAction: allow, rules: [{name: first, cidrs: [127.0.0.1/32], action: deny}, {name: second, cidrs: [127.0.0.1], action: allow}], denyResponse: {blockedByHeaderName: x-blocked-by}}")) +
      targetedTrafficPolicyYaml("v6", "HTTPRoute", "v6", acl("{defaultAction: deny, rules: [{name: lab, cidrs: ['2001:db8::/32'], action: allow}, {name: lab-printers, cidrs: ['2001:db8:0:9::/64'], action: deny}, {name: v4-office, cidrs: ['::ffff:198.51.100.0/120'], action: allow}]}")) +
      `---
apiVersion: gateway.kgateway.dev/v1alpha1
kind: HTTPListenerPolicy
metadata: {name: behind-lb, namespace: default}
spec:
  targetRefs: [${["office", "lobby", "raw"].map((name) => `{group: gateway.networking.k8s.io, kind: Gateway, name: ${name}}`).join(", ")}]
  xffNumTrustedHops: 1
` +
      targetedTrafficPolicyYaml("raw", "Gateway", "raw", acl("{defaultAction: deny, denyResponse: {headers: [{name: x-why, value: closed}]}}")) +
      backendYaml("app", app.port) +
      backendYaml("authz", authz.port) +
      backendYaml("raw", raw.port),
    recorder,
  );
});

after(async () => {
  await gw.close();
  await app.close();
  await raw.close();
  await authz.close();
});

const reached = (prefix: string): number => app.requests.filter((r) => r.url.startsWith(prefix)).length;
const details = (path: string): Promise<string> => recorder.detailsOf(path);

test("the longest matching range decides whatever the rules' order; the deny response carries its status, headers and what blocked", async () => {
  const refused = await ask(gw.port, { path: "/desk", headers: { host: "office.example" } });
  assert.equal(refused.status, 451);
  assert.equal(refused.json()["error"], "acl_denied");
  assert.equal(refused.headers["x-why"], "geo");
  assert.equal(refused.headers["x-blocked-by"], "me");
  assert.equal(reached("/desk"), 0);
  assert.equal(await details("/desk"), "acl_denied[default/office:me]");
  const exchange = await recorder.endOf("/desk");
  assert.equal(exchange.errorType, undefined);
  const rule = exchange.match!.rule;
  assert.deepEqual(
    [...gw.stats.accessDenials!.entries()].filter(([, , policy]) => policy === "default/office"),
    [[rule.routeKey, rule.ruleName, "default/office", "acl", 1]],
  );
});

test("a single address is a one-address range; with no rule matching the default action decides, named `default`", async () => {
  assert.equal((await ask(gw.port, { path: "/front", headers: { host: "lobby.example" } })).status, 200);
  const closed = await ask(gw.port, { path: "/closed/x", headers: { host: "lobby.example" } });
  assert.equal(closed.status, 403);
  assert.equal(closed.headers["x-blocked-by"], undefined, "no blocked-by header unless asked for");
  assert.equal(await details("/closed/x"), "acl_denied[default/closed:default]");
});

test("two rules on the same range: the one listed first decides", async () => {
  const tie = await ask(gw.port, { path: "/tie/x", headers: { host: "lobby.example" } });
  assert.equal(tie.status, 403);
  assert.equal(tie.headers["x-blocked-by"], "first");
});

test("IPv6 clients by the longest IPv6 range; an IPv4-mapped client in any spelling is judged as IPv4", async () => {
  const from = async (client: string, path: string): Promise<number> => (await ask(gw.port, { path, headers: { host: "lobby.example", "x-forwarded-for": `${client}, 10.0.0.1` } })).status;
  assert.equal(await from("2001:db8:0:1::5", "/v6/a"), 200);
  assert.equal(await from("2001:db8:0:9::5", "/v6/b"), 403, "the /64 deny is longer than the /32 allow");
  assert.equal(await from("2001:db9::5", "/v6/c"), 403);
  assert.equal(await from("198.51.100.7", "/v6/d"), 200, "an IPv4-mapped range is its IPv4 range");
  // The office Gateway denies 127.0.0.1/32: every spelling of it as a mapped address is denied too.
  for (const spelling of ["::ffff:127.0.0.1", "::ffff:7f00:1", "0:0:0:0:0:ffff:127.0.0.1", "[::ffff:127.0.0.1]"]) {
    const reply = await ask(gw.port, { path: "/desk", headers: { host: "office.example", "x-forwarded-for": `${spelling}, 10.0.0.1` } });
    assert.equal(reply.status, 451, spelling);
  }
  const forwarded = await ask(gw.port, { path: "/desk", headers: { host: "office.example", forwarded: 'for="[::ffff:127.0.0.1]:80", for=10.0.0.1' } });
  assert.equal(forwarded.status, 451);
});

test("a route's acl replaces its Gateway's whole", async () => {
  assert.equal((await ask(gw.port, { path: "/exempt/x", headers: { host: "office.example" } })).status, 200);
});

test("a refused client costs no authorization call: the acl is decided before the ExternalAuth check", async () => {
  const before = authzChecks;
  assert.equal((await ask(gw.port, { path: "/checked/x", headers: { host: "lobby.example" } })).status, 403);
  assert.equal(authzChecks, before);
});

test("an upgrade offer from a refused client gets the raw denial with the policy's headers", async () => {
  const head = await upgradeHead(gw.port, "/switch");
  assert.match(head.toString("latin1"), /^HTTP\/1\.1 403 Forbidden\r\n/);
  assert.ok(headLines(head).includes("x-why: closed"), head.toString("latin1"));
  assert.equal(await details("/switch"), "acl_denied[default/raw:default]");
  assert.deepEqual(
    [...gw.stats.accessDenials!.entries()].filter(([, , policy]) => policy === "default/raw").map(([, , , kind, n]) => [kind, n]),
    [["acl", 1]],
    "a refused upgrade is counted too",
  );
});
