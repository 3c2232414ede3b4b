// kgateway TrafficPolicy `acl` end to end, against real upstreams and a real HTTP
// authorization service: the longest matching client range decides whatever the rules'
// order, else the default action; the deny response's status and headers and the blocked-by
// header; a route's acl replacing its Gateway's; a refused client costing no authorization
// call; upgrades refused too.
import { after, before, test } from "node:test";
import assert from "node:assert/strict";
import { RequestFacts } from "../../src/telemetry/logs/facts.ts";
import { responseCodeDetails } from "../../src/telemetry/logs/envoy-render.ts";
import { forwardedViewOf } from "../../src/telemetry/logs/logged-request-headers.ts";
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
  "{defaultAction: allow, rules: [{name: loopback, cidrs: [127.0.0.0/8], action: allow}, {name: me, cidrs: [10.9.9.9, 127.0.0.1/32], action: deny}], denyResponse: {statusCode: 451, headers: [{name: X-Why, value: geo}], addBlockedByHeader: X-Blocked-By}}",
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
const details = async (path: string): Promise<string> => {
  const exchange = await recorder.endOf(path);
  return responseCodeDetails(new RequestFacts(exchange, forwardedViewOf(exchange), [], []));
};

test("the longest matching range decides whatever the rules' order; the deny response carries its status, headers and what blocked", async () => {
  const refused = await ask(gw.port, { path: "/desk", headers: { host: "office.example" } });
  assert.equal(refused.status, 451);
  assert.equal(refused.json()["error"], "acl_denied");
  assert.equal(refused.headers["x-why"], "geo");
  assert.equal(refused.headers["x-blocked-by"], "me");
  assert.equal(reached("/desk"), 0);
  assert.equal(await details("/desk"), "acl_denied[default/office:me]");
  assert.equal((await recorder.endOf("/desk")).errorType, undefined);
});

test("a single address is a one-address range; with no rule matching the default action decides, named `default`", async () => {
  assert.equal((await ask(gw.port, { path: "/front", headers: { host: "lobby.example" } })).status, 200);
  const closed = await ask(gw.port, { path: "/closed/x", headers: { host: "lobby.example" } });
  assert.equal(closed.status, 403);
  assert.equal(closed.headers["x-blocked-by"], undefined, "no blocked-by header unless asked for");
  assert.equal(await details("/closed/x"), "acl_denied[default/closed:default]");
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
});
