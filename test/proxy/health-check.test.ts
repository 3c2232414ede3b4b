// kgateway HTTPListenerPolicy healthCheck (Envoy's health_check filter, no pass-through),
// end to end against a real upstream on 127.0.0.1: the gateway answers the exact path itself
// on any host and method, 200 while it serves and 503 once its listener drains; every other
// target, a near miss included, is routed as usual.
import { after, before, test } from "node:test";
import assert from "node:assert/strict";
import { createHash } from "node:crypto";
import { type TestUpstream, startUpstream } from "../support/upstreams.ts";
import { rawExchange } from "../support/raw-exchange.ts";
import { GATEWAY_YAML, type GatewayUnderTest, ask, backendYaml, catchAllRouteYaml, compileYaml, startGateway, targetedTrafficPolicyYaml } from "./harness.ts";

let app: TestUpstream;
let gw: GatewayUnderTest;
let draining = false;

const healthCheckPolicy = (path: string): string => `---
apiVersion: gateway.kgateway.dev/v1alpha1
kind: HTTPListenerPolicy
metadata: {name: probes, namespace: default}
spec:
  targetRefs: [{group: gateway.networking.k8s.io, kind: Gateway, name: edge}]
  healthCheck: {path: "${path}"}
`;

const configWith = (policy: string): string => GATEWAY_YAML + backendYaml("app", app.port) + catchAllRouteYaml("app") + policy;

before(async () => {
  app = await startUpstream("app");
  gw = await startGateway(configWith(healthCheckPolicy("/healthz")), undefined, undefined, () => draining);
});

after(async () => {
  await gw?.close();
  await app?.close();
});

const upstreamSaw = (target: string): number => app.requests.filter((r) => r.url === target).length;

test("the health check path is answered by the gateway on any host and method: 200, no body", async () => {
  draining = false;
  for (const [method, host] of [["GET", "shop.example"], ["HEAD", "unknown.example"], ["POST", "127.0.0.1"]] as const) {
    const reply = await ask(gw.port, { method, path: "/healthz", headers: { host } });
    assert.equal(reply.status, 200, `${method} ${host}`);
    assert.equal(reply.headers["content-length"], "0");
    assert.equal(reply.body.length, 0);
  }
  assert.equal(upstreamSaw("/healthz"), 0, "nothing reaches the upstream");
});

test("requests the gateway refuses are refused on the health check path too, before it answers", async () => {
  draining = false;
  const missingHost = await rawExchange(gw.port, "GET /healthz HTTP/1.1\r\nConnection: close\r\n\r\n");
  assert.match(missingHost, /^HTTP\/1\.1 400 /);
  assert.match(missingHost, /"error":"missing_host"/);
  const twoHosts = await rawExchange(gw.port, "GET /healthz HTTP/1.1\r\nHost: a.example\r\nHost: b.example\r\nConnection: close\r\n\r\n");
  assert.match(twoHosts, /^HTTP\/1\.1 400 /);
  const fragment = await rawExchange(gw.port, "GET /healthz#x HTTP/1.1\r\nHost: a.example\r\nConnection: close\r\n\r\n");
  assert.match(fragment, /^HTTP\/1\.1 400 /);
});

test("the health check matches the target as the router reads it, normalised", async () => {
  draining = false;
  for (const target of ["//healthz", "/%68ealthz", "/x/../healthz"]) {
    const reply = await ask(gw.port, { path: target });
    assert.equal(reply.status, 200, target);
    assert.equal(reply.headers["content-length"], "0", target);
  }
  assert.equal(app.requests.filter((r) => r.url.endsWith("healthz")).length, 0);
});

test("only the exact target is the health check: a query, a trailing slash or another case is routed", async () => {
  draining = false;
  for (const target of ["/healthz?verbose=1", "/healthz/", "/HEALTHZ", "/healthz-extra"]) {
    const reply = await ask(gw.port, { path: target });
    assert.equal(reply.status, 200, target);
    assert.equal(reply.headers["x-upstream"], "app", `${target} went upstream`);
    assert.equal(upstreamSaw(target), 1, target);
  }
});

test("while the listener drains the health check answers 503 with a JSON body; other requests still go through, carrying Envoy's immediate-fail header", async () => {
  assert.equal((await ask(gw.port, { path: "/before-drain" })).headers["x-envoy-immediate-health-check-fail"], undefined, "not while serving");
  draining = true;
  try {
    const reply = await ask(gw.port, { path: "/healthz" });
    assert.equal(reply.status, 503);
    assert.deepEqual(reply.json(), { error: "health_check_failed", message: "the gateway is draining" });
    assert.equal(reply.headers["content-type"], "application/json");
    assert.equal(reply.headers["cache-control"], "no-store");
    assert.equal(reply.headers["x-envoy-immediate-health-check-fail"], undefined, "as in Envoy, the failing check's own answer says it with its status");
    const routed = await ask(gw.port, { path: "/during-drain" });
    assert.equal(routed.status, 200);
    assert.equal(routed.headers["x-envoy-immediate-health-check-fail"], "true");
    assert.equal(upstreamSaw("/during-drain"), 1);
    const refused = await ask(gw.port, { path: "/healthz", headers: { expect: "something-else" } });
    assert.equal(refused.status, 417, "a request the gateway refuses is refused on the health check path too");
    assert.equal(refused.headers["x-envoy-immediate-health-check-fail"], "true");
  } finally {
    draining = false;
  }
  assert.equal((await ask(gw.port, { path: "/healthz" })).status, 200, "the listener's own word decides, request by request");
});

test("during the drain the answers to upgrade offers and to requests that do not parse carry the drain signal too", async () => {
  const offer = (path: string): string => `GET ${path} HTTP/1.1\r\nHost: gw.example\r\nConnection: Upgrade\r\nUpgrade: websocket\r\n\r\n`;
  const signal = /\r\nx-envoy-immediate-health-check-fail: true\r\n/i;
  draining = false;
  assert.doesNotMatch(await rawExchange(gw.port, offer("/ws")), signal);
  assert.doesNotMatch(await rawExchange(gw.port, "NOT-HTTP\r\n\r\n"), signal);
  draining = true;
  try {
    // The upstream declines this offer (no Sec-WebSocket-Key) with its own 400, which is relayed.
    const relayed = await rawExchange(gw.port, offer("/ws"));
    assert.match(relayed, /^HTTP\/1\.1 400 /);
    assert.match(relayed, /Sec-WebSocket-Key/);
    assert.match(relayed, signal);
    const refused = await rawExchange(gw.port, "NOT-HTTP\r\n\r\n");
    assert.match(refused, /^HTTP\/1\.1 400 /);
    assert.match(refused, signal);
    const malformedUpgrade = await rawExchange(gw.port, offer("/ws#x"));
    assert.match(malformedUpgrade, /^HTTP\/1\.1 400 /);
    assert.match(malformedUpgrade, /"error":"/, "the gateway's own refusal");
    assert.match(malformedUpgrade, signal);
    assert.doesNotMatch(await rawExchange(gw.port, offer("/healthz")), signal, "not the failing check's own answer");
  } finally {
    draining = false;
  }
});

test("a health check with a body still coming is answered at once and its connection closed, as for other local replies", async () => {
  draining = false;
  const answer = await rawExchange(gw.port, "POST /healthz HTTP/1.1\r\nHost: gw.example\r\nContent-Length: 100\r\n\r\npartial");
  assert.match(answer, /^HTTP\/1\.1 200 OK\r\n/);
  assert.match(answer, /\r\nconnection: close\r\n/i);
  assert.match(answer, /\r\ncontent-length: 0\r\n/i);
});

test("an upgrade offer for the health check path gets the health check's answer, not a tunnel", async () => {
  const offer = "GET /healthz HTTP/1.1\r\nHost: gw.example\r\nConnection: Upgrade\r\nUpgrade: websocket\r\nSec-WebSocket-Version: 13\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n\r\n";
  draining = false;
  const healthy = await rawExchange(gw.port, offer);
  assert.match(healthy, /^HTTP\/1\.1 200 OK\r\n/);
  assert.match(healthy, /\r\ncontent-length: 0\r\n/i);
  assert.match(healthy, /\r\nconnection: close\r\n/i);
  draining = true;
  try {
    const failing = await rawExchange(gw.port, offer);
    assert.match(failing, /^HTTP\/1\.1 503 Service Unavailable\r\n/);
    assert.match(failing, /"error":"health_check_failed"/);
  } finally {
    draining = false;
  }
  assert.equal(upstreamSaw("/healthz"), 0, "no upgrade reached the upstream");
});

test("a configured query is part of the path; a reload without healthCheck routes the path again", async (t) => {
  const plan = gw.plan;
  t.after(() => (gw.plan = plan));
  gw.plan = compileYaml(configWith(healthCheckPolicy("/ready?full=1")), 2);
  const answered = await ask(gw.port, { path: "/ready?full=1" });
  assert.equal(answered.status, 200);
  assert.equal(answered.headers["content-length"], "0");
  assert.equal(answered.headers["x-upstream"], undefined, "answered by the gateway");
  assert.equal(upstreamSaw("/ready?full=1"), 0);
  assert.equal((await ask(gw.port, { path: "/ready" })).headers["x-upstream"], "app");
  assert.equal((await ask(gw.port, { path: "/healthz" })).headers["x-upstream"], "app", "the old path is routed again");

  gw.plan = compileYaml(configWith(""), 3);
  assert.equal((await ask(gw.port, { path: "/ready?full=1" })).headers["x-upstream"], "app");
  assert.equal(upstreamSaw("/ready?full=1"), 1);
});

test("the Gateway's TrafficPolicies (here basicAuth) do not reach the health check: a load balancer cannot log in", async (t) => {
  const plan = gw.plan;
  t.after(() => (gw.plan = plan));
  const user = `carol:{SHA}${createHash("sha1").update("pw", "utf8").digest("base64")}`;
  gw.plan = compileYaml(configWith(healthCheckPolicy("/healthz") + targetedTrafficPolicyYaml("locked", "Gateway", "edge", `  basicAuth: {users: ["${user}"]}\n`)), 2);
  assert.equal((await ask(gw.port, { path: "/locked" })).status, 401);
  const probe = await ask(gw.port, { path: "/healthz" });
  assert.equal(probe.status, 200);
  assert.equal(probe.headers["www-authenticate"], undefined);
});
