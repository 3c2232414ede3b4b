// kgateway TrafficPolicies that target one listener of a Gateway (a Gateway targetRef with
// sectionName), end to end against a real upstream on 127.0.0.1: the listener's section beats
// the Gateway's through that listener and only there, a listener's `disable` turns the
// Gateway's off there, its timeouts and local rate limit are its own, and a route-level
// policy still beats both.
import { after, before, test } from "node:test";
import assert from "node:assert/strict";
import { createHash } from "node:crypto";
import { type TestUpstream, startUpstream } from "../support/upstreams.ts";
import { type GatewayUnderTest, ask, backendYaml, compileYaml, ref, routeYaml, startGateway, targetedTrafficPolicyYaml } from "./harness.ts";

let app: TestUpstream;
let gw: GatewayUnderTest;

const htpasswd = (user: string, password: string): string => `${user}:{SHA}${createHash("sha1").update(password, "utf8").digest("base64")}`;
const toListener = (name: string): string => `[{group: gateway.networking.k8s.io, kind: Gateway, name: edge, sectionName: ${name}}]`;
const policyOn = (name: string, listener: string, body: string): string => targetedTrafficPolicyYaml(name, "Gateway", "edge", body).replace(/targetRefs: .*/, `targetRefs: ${toListener(listener)}`);

/** Gateway `edge` with one HTTP listener per name on port 8080 (hostname NAME.example), and HTTPRoute `r` on all of them with `rules`. */
function edgeWithRoute(listeners: readonly string[], rules: string): string {
  return `apiVersion: gateway.networking.k8s.io/v1
kind: Gateway
metadata: {name: edge, namespace: default}
spec:
  gatewayClassName: tollgate
  listeners:
${listeners.map((name) => `  - {name: ${name}, protocol: HTTP, port: 8080, hostname: ${name}.example}\n`).join("")}${routeYaml(rules)}`;
}

before(async () => {
  app = await startUpstream("app");
  gw = await startGateway(
    edgeWithRoute(
      ["shop", "status", "other", "metered"],
      `  - name: pinned
    matches: [{path: {type: PathPrefix, value: /pinned}}]
    backendRefs: [${ref("app")}]
  - backendRefs: [${ref("app")}]
`,
    ) +
      backendYaml("app", app.port) +
      targetedTrafficPolicyYaml(
        "edge-wide",
        "Gateway",
        "edge",
        `  headerModifiers: {response: {set: [{name: x-scope, value: gateway}]}}\n  basicAuth: {users: ["${htpasswd("carol", "pw")}"]}\n`,
      ) +
      policyOn("shop-only", "shop", "  headerModifiers: {response: {set: [{name: x-scope, value: shop}]}}\n  timeouts: {request: 100ms}\n") +
      policyOn("metered-only", "metered", "  rateLimit: {local: {tokenBucket: {maxTokens: 1, fillInterval: 1h}}}\n") +
      policyOn("status-open", "status", "  basicAuth: {disable: {}}\n") +
      targetedTrafficPolicyYaml("route-pinned", "HTTPRoute", "r", "  headerModifiers: {response: {set: [{name: x-scope, value: route}]}}\n").replace(
        /targetRefs: .*/,
        "targetRefs: [{group: gateway.networking.k8s.io, kind: HTTPRoute, name: r, sectionName: pinned}]",
      ),
  );
});

after(async () => {
  await gw?.close();
  await app?.close();
});

const carol = `Basic ${Buffer.from("carol:pw").toString("base64")}`;

test("through a listener a policy targets, its section beats the Gateway's; the other listeners keep the Gateway's; a route-level policy beats both", async () => {
  const shop = await ask(gw.port, { path: "/a", headers: { host: "shop.example", authorization: carol } });
  assert.equal(shop.status, 200);
  assert.equal(shop.headers["x-scope"], "shop");
  const other = await ask(gw.port, { path: "/a", headers: { host: "other.example", authorization: carol } });
  assert.equal(other.status, 200);
  assert.equal(other.headers["x-scope"], "gateway");
  const pinned = await ask(gw.port, { path: "/pinned", headers: { host: "other.example", authorization: carol } });
  assert.equal(pinned.headers["x-scope"], "route");
});

test("a listener's disable turns the Gateway's basicAuth off through it alone", async () => {
  assert.equal((await ask(gw.port, { path: "/health", headers: { host: "status.example" } })).status, 200);
  const refused = await ask(gw.port, { path: "/health", headers: { host: "other.example" } });
  assert.equal(refused.status, 401);
  assert.equal(refused.json()["error"], "unauthorized");
  // shop.example's policy says nothing of basicAuth: the Gateway's still applies there.
  assert.equal((await ask(gw.port, { path: "/health", headers: { host: "shop.example" } })).status, 401);
});

test("a listener's timeouts and local rate limit apply through it alone", async () => {
  const slowShop = await ask(gw.port, { path: "/slow/3000", headers: { host: "shop.example", authorization: carol } });
  assert.equal(slowShop.status, 504);
  assert.equal(slowShop.json()["error"], "request_timeout");
  const slowOther = await ask(gw.port, { path: "/slow/300", headers: { host: "other.example", authorization: carol } });
  assert.equal(slowOther.status, 200);

  assert.equal((await ask(gw.port, { path: "/b", headers: { host: "metered.example", authorization: carol } })).status, 200);
  const limited = await ask(gw.port, { path: "/b", headers: { host: "metered.example", authorization: carol } });
  assert.equal(limited.status, 429);
  assert.equal(limited.json()["error"], "local_rate_limited");
  for (let i = 0; i < 3; i++) assert.equal((await ask(gw.port, { path: "/b", headers: { host: "other.example", authorization: carol } })).status, 200);
});

test("a listener's timeouts that change nothing of the rule's own still keep the Gateway's off that listener", () => {
  // The HTTPRoute's own request timeout beats both policies' (as a route-level policy's): the
  // listener's policy leaves the rule as it is, the Gateway's adds its streamIdle.
  const plan = compileYaml(
    edgeWithRoute(
      ["a", "b"],
      `  - timeouts: {request: 1s}
    backendRefs: [${ref("app")}]
`,
    ) +
      backendYaml("app", 9) +
      targetedTrafficPolicyYaml("edge-wide", "Gateway", "edge", "  timeouts: {streamIdle: 5s}\n") +
      policyOn("a-only", "a", "  timeouts: {request: 2s}\n"),
  );
  const byListener = Object.fromEntries(plan.rules.map((r) => [r.listener.name, r.timeouts]));
  assert.deepEqual(byListener, {
    a: { requestMs: 1000, backendRequestMs: undefined, streamIdleMs: undefined },
    b: { requestMs: 1000, backendRequestMs: undefined, streamIdleMs: 5000 },
  });
});
