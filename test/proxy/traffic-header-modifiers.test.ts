// kgateway TrafficPolicy `headerModifiers` end to end, against a real upstream that echoes the
// request headers it got: a Gateway's modifiers reach routes through it and not through
// another Gateway on the same port; a route-level policy's replace the Gateway's whole; the
// HTTPRoute's own filter applies after a policy's, so it has the last word on a name.
import { after, before, test } from "node:test";
import assert from "node:assert/strict";
import { type TestUpstream, startUpstream } from "../support/upstreams.ts";
import { type GatewayUnderTest, appRouteYaml, ask, backendYaml, hostGatewayYaml, startGateway, targetedTrafficPolicyYaml } from "./harness.ts";

let app: TestUpstream;
let gw: GatewayUnderTest;

const GATEWAY_MODIFIERS = `  headerModifiers:
    request: {set: [{name: x-env, value: prod}], remove: [x-debug]}
    response: {set: [{name: x-served-by, value: edge}]}
`;
const OWN_FILTERS = `    filters:
    - {type: RequestHeaderModifier, requestHeaderModifier: {set: [{name: x-env, value: own}, {name: x-debug, value: route}]}}
    - {type: ResponseHeaderModifier, responseHeaderModifier: {add: [{name: x-served-by, value: route}]}}
`;

before(async () => {
  app = await startUpstream("app");
  gw = await startGateway(
    hostGatewayYaml("edge", "edge.example") +
      hostGatewayYaml("plain", "plain.example") +
      hostGatewayYaml("other", "other.example") +
      appRouteYaml("shared", ["edge", "plain", "other"], ["/"]) +
      appRouteYaml("covered", ["edge"], ["/covered"]) +
      appRouteYaml("own", ["edge"], ["/own"], OWN_FILTERS) +
      targetedTrafficPolicyYaml("edge", "Gateway", "edge", GATEWAY_MODIFIERS) +
      targetedTrafficPolicyYaml("other", "Gateway", "other", "  headerModifiers: {request: {set: [{name: x-env, value: other}]}}\n") +
      targetedTrafficPolicyYaml("team", "HTTPRoute", "covered", "  headerModifiers: {request: {add: [{name: x-team, value: checkout}]}}\n") +
      backendYaml("app", app.port),
  );
});

after(async () => {
  await gw.close();
  await app.close();
});

async function through(host: string, path: string): Promise<{ upstream: Record<string, unknown>; response: Record<string, unknown> }> {
  const reply = await ask(gw.port, { path, headers: { host, "x-debug": "client", "x-env": "client" } });
  assert.equal(reply.status, 200);
  return { upstream: reply.json()["headers"] as Record<string, unknown>, response: reply.headers };
}

test("a Gateway's modifiers change requests and responses through it, not through other Gateways on the same port", async () => {
  const edge = await through("edge.example", "/x");
  assert.equal(edge.upstream["x-env"], "prod");
  assert.equal(edge.upstream["x-debug"], undefined);
  assert.equal(edge.response["x-served-by"], "edge");

  const plain = await through("plain.example", "/x");
  assert.deepEqual([plain.upstream["x-env"], plain.upstream["x-debug"], plain.response["x-served-by"]], ["client", "client", undefined]);
  const other = await through("other.example", "/x");
  assert.deepEqual([other.upstream["x-env"], other.upstream["x-debug"], other.response["x-served-by"]], ["other", "client", undefined]);
});

test("a route policy's headerModifiers replace the Gateway's whole, the response side included", async () => {
  const covered = await through("edge.example", "/covered");
  assert.deepEqual([covered.upstream["x-team"], covered.upstream["x-env"], covered.upstream["x-debug"], covered.response["x-served-by"]], ["checkout", "client", "client", undefined]);
});

test("the HTTPRoute's own filters apply after the Gateway's: its set of a removed name wins, its add appends", async () => {
  const own = await through("edge.example", "/own");
  assert.equal(own.upstream["x-env"], "own");
  assert.equal(own.upstream["x-debug"], "route", "the Gateway removes the client's x-debug, then the route sets its own");
  assert.equal(own.response["x-served-by"], "edge,route");
});
