// A kgateway TrafficPolicy `rateLimit.local` on a Gateway, end to end against a real upstream:
// one bucket for every rule served through that Gateway, not through another Gateway on the
// same port; a route's own policy replaces it, and a route's `local: {}` exempts it.
import { test } from "node:test";
import assert from "node:assert/strict";
import { type TestUpstream, startUpstream } from "../support/upstreams.ts";
import { type GatewayUnderTest, ask, backendYaml, compileYaml, ref, startGateway } from "./harness.ts";

const gateway = (name: string, hostname: string): string => `---
apiVersion: gateway.networking.k8s.io/v1
kind: Gateway
metadata: {name: ${name}, namespace: default}
spec:
  gatewayClassName: tollgate
  listeners: [{name: web, protocol: HTTP, port: 8080, hostname: ${hostname}}]
`;

const route = (name: string, parents: readonly string[], prefix: string): string => `---
apiVersion: gateway.networking.k8s.io/v1
kind: HTTPRoute
metadata: {name: ${name}, namespace: default}
spec:
  parentRefs: [${parents.map((p) => `{name: ${p}}`).join(", ")}]
  rules:
  - matches: [{path: {type: PathPrefix, value: ${prefix}}}]
    backendRefs: [${ref("app")}]
`;

const policy = (name: string, kind: "Gateway" | "HTTPRoute", target: string, local: string, extra = ""): string => `---
apiVersion: gateway.kgateway.dev/v1alpha1
kind: TrafficPolicy
metadata: {name: ${name}, namespace: default}
spec:
  targetRefs: [{group: gateway.networking.k8s.io, kind: ${kind}, name: ${target}}]
  rateLimit: {local: ${local}}
${extra}`;

function config(app: TestUpstream, gatewayTokens = 2): string {
  return (
    gateway("limited", "a.example") +
    gateway("open", "b.example") +
    route("shared", ["limited", "open"], "/shared") +
    route("other", ["limited"], "/other") +
    route("own", ["limited"], "/own") +
    route("exempt", ["limited"], "/exempt") +
    policy("edge", "Gateway", "limited", `{tokenBucket: {maxTokens: ${gatewayTokens}, fillInterval: 1h}}`) +
    policy("own", "HTTPRoute", "own", "{tokenBucket: {maxTokens: 1, fillInterval: 1h}}") +
    policy("exempt", "HTTPRoute", "exempt", "{}") +
    backendYaml("app", app.port)
  );
}

async function rig(t: { after(fn: () => Promise<void>): void }): Promise<{ app: TestUpstream; gw: GatewayUnderTest; get(host: string, path: string): Promise<number> }> {
  const app = await startUpstream("app");
  const gw = await startGateway(config(app));
  t.after(async () => {
    await gw.close();
    await app.close();
  });
  return { app, gw, get: async (host, path) => (await ask(gw.port, { path, headers: { host } })).status };
}

test("one bucket for every route served through the Gateway, and none for another Gateway on the same port", async (t) => {
  const { gw, get } = await rig(t);
  assert.deepEqual([await get("a.example", "/shared/1"), await get("a.example", "/other/1"), await get("a.example", "/shared/2"), await get("a.example", "/other/2")], [200, 200, 429, 429]);
  for (let i = 0; i < 3; i++) assert.equal(await get("b.example", `/shared/open-${i}`), 200, "the same route through the other Gateway is not limited");
  assert.deepEqual(
    [...gw.stats.rateLimits!.entries()].sort(),
    [
      ["default/other", "rule-0", true, 1],
      ["default/shared", "rule-0", true, 1],
    ],
    "counted under the route and rule each refused request was on",
  );
});

test("a route's own policy replaces the Gateway's limit, and a route's local: {} exempts it", async (t) => {
  const { get } = await rig(t);
  assert.deepEqual([await get("a.example", "/own/1"), await get("a.example", "/own/2")], [200, 429], "the route's own bucket of 1");
  assert.deepEqual([await get("a.example", "/shared/1"), await get("a.example", "/shared/2")], [200, 200], "the Gateway's bucket was not spent by /own");
  assert.equal(await get("a.example", "/shared/3"), 429);
  for (let i = 0; i < 3; i++) assert.equal(await get("a.example", `/exempt/${i}`), 200);
});

test("a reload keeps the Gateway's bucket when it did not change", async (t) => {
  const { app, gw, get } = await rig(t);
  assert.deepEqual([await get("a.example", "/shared/1"), await get("a.example", "/shared/2"), await get("a.example", "/shared/3")], [200, 200, 429]);
  gw.plan = compileYaml(config(app) + route("late", ["limited"], "/late"), 2, gw.plan);
  assert.equal(await get("a.example", "/late/1"), 429, "a route added later draws on the same, empty bucket");
  gw.plan = compileYaml(config(app, 3), 3, gw.plan);
  assert.equal(await get("a.example", "/shared/4"), 200, "resized: a new full bucket");
});
