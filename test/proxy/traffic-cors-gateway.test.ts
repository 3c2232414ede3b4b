// kgateway TrafficPolicy `cors` on a Gateway, and `cors.disable` (v2.1) end to end, against a
// real upstream: the Gateway's cors answers preflights and decorates responses on every route
// without CORS of its own; a route's disable leaves its requests to the upstream, untouched;
// a route's own cors replaces the Gateway's; a listener's disable turns it off there.
import { after, before, test } from "node:test";
import assert from "node:assert/strict";
import { type TestUpstream, startUpstream } from "../support/upstreams.ts";
import { type GatewayUnderTest, type Reply, appRouteYaml, ask, backendYaml, hostGatewayYaml, startGateway, targetedTrafficPolicyYaml } from "./harness.ts";

let app: TestUpstream;
let gw: GatewayUnderTest;

const EDGE_CORS = "  cors: {allowOrigins: ['https://app.example'], allowMethods: [PUT], maxAge: 60}\n";

before(async () => {
  app = await startUpstream("app");
  gw = await startGateway(
    hostGatewayYaml("edge", "edge.example") +
      hostGatewayYaml("side", "side.example") +
      appRouteYaml("open", ["edge"], ["/open"]) +
      appRouteYaml("quiet", ["edge"], ["/quiet"]) +
      appRouteYaml("own", ["edge"], ["/own"]) +
      appRouteYaml("side", ["side"], ["/side"]) +
      targetedTrafficPolicyYaml("edge", "Gateway", "edge", EDGE_CORS) +
      targetedTrafficPolicyYaml("quiet", "HTTPRoute", "quiet", "  cors: {disable: {}}\n") +
      targetedTrafficPolicyYaml("own", "HTTPRoute", "own", "  cors: {allowOrigins: ['https://own.example']}\n") +
      targetedTrafficPolicyYaml("side", "Gateway", "side", EDGE_CORS) +
      targetedTrafficPolicyYaml("side-web", "Gateway", "side", "  cors: {disable: {}}\n").replace("name: side}]", "name: side, sectionName: web}]") +
      backendYaml("app", app.port),
  );
});

after(async () => {
  await gw.close();
  await app.close();
});

const preflight = (host: string, path: string, origin: string): Promise<Reply> =>
  ask(gw.port, { method: "OPTIONS", path, headers: { host, origin, "access-control-request-method": "PUT" } });
const reached = (path: string): number => app.requests.filter((r) => r.url === path).length;

test("a Gateway's cors answers preflights and decorates responses on a route without CORS of its own", async () => {
  const pre = await preflight("edge.example", "/open", "https://app.example");
  assert.equal(pre.status, 204);
  assert.equal(pre.headers["access-control-allow-origin"], "https://app.example");
  assert.equal(pre.headers["access-control-allow-methods"], "PUT");
  assert.equal(pre.headers["access-control-max-age"], "60");
  assert.equal(reached("/open"), 0, "a preflight never reaches the upstream");
  const reply = await ask(gw.port, { path: "/open", headers: { host: "edge.example", origin: "https://app.example" } });
  assert.equal(reply.status, 200);
  assert.equal(reply.headers["access-control-allow-origin"], "https://app.example");
  assert.equal(reached("/open"), 1);
  assert.equal((await preflight("edge.example", "/open", "https://evil.example")).status, 403);
});

test("a route's cors.disable turns the Gateway's off: the preflight goes to the upstream and no CORS header is written", async () => {
  const before = reached("/quiet");
  const pre = await preflight("edge.example", "/quiet", "https://app.example");
  assert.equal(pre.status, 200, "forwarded, answered by the upstream");
  assert.equal(pre.headers["access-control-allow-origin"], undefined);
  assert.equal(pre.headers["access-control-allow-methods"], undefined);
  const reply = await ask(gw.port, { path: "/quiet", headers: { host: "edge.example", origin: "https://evil.example" } });
  assert.equal(reply.status, 200, "no origin is refused");
  assert.equal(reply.headers["access-control-allow-origin"], undefined);
  assert.equal(reached("/quiet"), before + 2);
});

test("a route's own cors replaces the Gateway's", async () => {
  assert.equal((await preflight("edge.example", "/own", "https://own.example")).headers["access-control-allow-origin"], "https://own.example");
  assert.equal((await preflight("edge.example", "/own", "https://app.example")).status, 403);
});

test("a listener's cors.disable turns its Gateway's off through that listener", async () => {
  const before = reached("/side");
  const pre = await preflight("side.example", "/side", "https://app.example");
  assert.equal(pre.status, 200);
  assert.equal(pre.headers["access-control-allow-origin"], undefined);
  assert.equal(reached("/side"), before + 1);
});
