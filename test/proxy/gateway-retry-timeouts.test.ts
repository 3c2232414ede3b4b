// kgateway TrafficPolicy `retry` and `timeouts` on a Gateway, end to end against a real
// upstream: they reach a route through that Gateway and not through another Gateway on the
// same port, and everything route-level (the HTTPRoute's own retry, a route policy's
// timeouts) takes precedence per section.
import { after, before, test } from "node:test";
import assert from "node:assert/strict";
import { type TestUpstream, startUpstream } from "../support/upstreams.ts";
import { type GatewayUnderTest, appRouteYaml, ask, backendYaml, hostGatewayYaml, startGateway, targetedTrafficPolicyYaml } from "./harness.ts";

const gateway = hostGatewayYaml;
const route = appRouteYaml;
const policy = targetedTrafficPolicyYaml;

let app: TestUpstream;
let gw: GatewayUnderTest;

before(async () => {
  app = await startUpstream("app");
  gw = await startGateway(
    gateway("edge", "edge.example") +
      gateway("plain", "plain.example") +
      route("shared", ["edge", "plain"], ["/"]) +
      route("own-retry", ["edge"], ["/flaky/own503", "/flaky/own500"], "    retry: {codes: [500], attempts: 2, backoff: 1ms}\n") +
      route("own-timeouts", ["edge"], ["/flaky/cov", "/slow/801"]) +
      policy("edge", "Gateway", "edge", "  retry: {retryOn: [gateway-error], attempts: 2, backoffBaseInterval: 1ms}\n  timeouts: {request: 300ms}\n") +
      policy("covered", "HTTPRoute", "own-timeouts", "  timeouts: {request: 5s}\n") +
      backendYaml("app", app.port),
  );
});

after(async () => {
  await gw.close();
  await app.close();
});

const get = (host: string, path: string) => ask(gw.port, { path, headers: { host } });
const seen = (prefix: string): number => app.requests.filter((r) => r.url.startsWith(prefix)).length;

test("a route through the Gateway gets its retry; through another Gateway on the same port it does not", async () => {
  const retried = await get("edge.example", "/flaky/edge/1/503");
  assert.equal(retried.status, 200);
  assert.equal(retried.json()["attempt"], 2);

  const plain = await get("plain.example", "/flaky/plain/1/503");
  assert.equal(plain.status, 503);
  assert.equal(seen("/flaky/plain/"), 1);
});

test("a route through the Gateway gets its request timeout; through the other Gateway the slow answer arrives", async () => {
  assert.equal((await get("edge.example", "/slow/800")).status, 504);
  assert.equal((await get("plain.example", "/slow/800")).status, 200);
});

test("the HTTPRoute's own retry replaces the Gateway's whole", async () => {
  // The Gateway's gateway-error would retry this 503; the route's own retry only retries 500.
  assert.equal((await get("edge.example", "/flaky/own503/1/503")).status, 503);
  assert.equal(seen("/flaky/own503/"), 1);
  const own = await get("edge.example", "/flaky/own500/1/500");
  assert.equal(own.status, 200);
  assert.equal(seen("/flaky/own500/"), 2);
});

test("a route policy's timeouts replace the Gateway's, and the Gateway's retry still applies", async () => {
  assert.equal((await get("edge.example", "/slow/801")).status, 200);
  const retried = await get("edge.example", "/flaky/cov/1/502");
  assert.equal(retried.status, 200);
  assert.equal(seen("/flaky/cov/"), 2);
});
