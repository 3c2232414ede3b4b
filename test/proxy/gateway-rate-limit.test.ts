// A kgateway TrafficPolicy `rateLimit.local` on a Gateway, end to end against a real upstream:
// one bucket for every rule served through that Gateway, not through another Gateway on the
// same port; a route's own policy replaces it, and a route's `local: {}` exempts it.
import { test } from "node:test";
import assert from "node:assert/strict";
import { type TestUpstream, startUpstream } from "../support/upstreams.ts";
import { loadConfigText } from "../../src/config/load.ts";
import { formatDiagnostic } from "../../src/config/diagnostics.ts";
import { type GatewayUnderTest, appRouteYaml, ask, backendYaml, compileYaml, hostGatewayYaml, startGateway, targetedTrafficPolicyYaml } from "./harness.ts";

const gateway = hostGatewayYaml;
const route = (name: string, parents: readonly string[], prefix: string): string => appRouteYaml(name, parents, [prefix]);
const policy = (name: string, kind: "Gateway" | "HTTPRoute", target: string, local: string): string => targetedTrafficPolicyYaml(name, kind, target, `  rateLimit: {local: ${local}}\n`);

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
      ["default/other", "rule-0", "default/edge", true, 1],
      ["default/shared", "rule-0", "default/edge", true, 1],
    ],
    "counted under the route and rule each refused request was on, and the Gateway's policy",
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

test("each port of a Gateway has its own bucket, as each port of a kgateway Gateway has its own route configuration", () => {
  const twoPorts = `---
apiVersion: gateway.networking.k8s.io/v1
kind: Gateway
metadata: {name: limited, namespace: default}
spec:
  gatewayClassName: tollgate
  listeners: [{name: web, protocol: HTTP, port: 8080}, {name: alt, protocol: HTTP, port: 8081}]
${route("shared", ["limited"], "/shared")}${policy("edge", "Gateway", "limited", "{tokenBucket: {maxTokens: 1, fillInterval: 1h}}")}${backendYaml("app", 9)}`;
  const plan = compileYaml(twoPorts);
  const limits = [8080, 8081].map((port) => plan.rules.find((r) => r.listener.port === port)!.filters as unknown as { rateLimit: { bucket: object } });
  assert.notEqual(limits[0]!.rateLimit.bucket, limits[1]!.rateLimit.bucket);
});

test("Gateways sharing a listener must take their rate limits from the same policy; a sectionName on a Gateway target limits that listener alone", () => {
  const diagnostics = (text: string): string[] => loadConfigText(text, "t.yaml").diagnostics.filter((d) => d.severity !== "info").map(formatDiagnostic);
  const sameListener = (name: string): string => `---
apiVersion: gateway.networking.k8s.io/v1
kind: Gateway
metadata: {name: ${name}, namespace: default}
spec:
  gatewayClassName: tollgate
  listeners: [{name: web, protocol: HTTP, port: 8080}]
`;
  const shared = sameListener("limited") + sameListener("open") + route("shared", ["open", "limited"], "/shared") + backendYaml("app", 9);
  assert.deepEqual(diagnostics(shared + policy("edge", "Gateway", "limited", "{tokenBucket: {maxTokens: 1, fillInterval: 1h}}")), [
    "t.yaml:14:15: spec.listeners[0]: port 8080 hostname (any) is also served by Gateway default/limited, whose rateLimit.local comes from TrafficPolicy default/edge; HTTPRoute default/shared is on both and would get the rateLimit.local of whichever Gateway the route table picked (hint: give the listeners distinct hostnames or ports, or target both Gateways with the same TrafficPolicy rateLimit.local)",
    "t.yaml:14:15: spec.listeners[0]: warning: port 8080 hostname (any) is also served by Gateway default/limited; the two listeners share one route table, where match precedence and then the older route decide (hint: give the listeners distinct hostnames or ports)",
  ]);
  const both = `---
apiVersion: gateway.kgateway.dev/v1alpha1
kind: TrafficPolicy
metadata: {name: edge, namespace: default}
spec:
  targetRefs: [{group: gateway.networking.k8s.io, kind: Gateway, name: limited}, {group: gateway.networking.k8s.io, kind: Gateway, name: open}]
  rateLimit: {local: {tokenBucket: {maxTokens: 1, fillInterval: 1h}}}
`;
  assert.deepEqual(diagnostics(shared + both).filter((d) => !d.includes("warning")), [], "one policy on both is fine");

  const narrowed = gateway("limited", "a.example") + route("shared", ["limited"], "/shared") + backendYaml("app", 9) + policy("edge", "Gateway", "limited", "{tokenBucket: {maxTokens: 1, fillInterval: 1h}}").replace("name: limited}]", "name: limited, sectionName: web}]");
  const { config, diagnostics: found } = loadConfigText(narrowed, "t.yaml");
  assert.equal(config!.gateways[0]!.rateLimit, undefined, "not the whole Gateway's");
  assert.equal(config!.gateways[0]!.listenerPolicies?.get("web")?.rateLimit?.bucketKey, "default/edge Gateway default/limited listener web", "a bucket of the listener's own");
  assert.deepEqual(found.filter((d) => d.severity === "warning").map(formatDiagnostic), []);
});

test("a rule through two limited Gateways draws on each Gateway's bucket and is counted under each policy apart", async (t) => {
  const app = await startUpstream("app");
  const gw = await startGateway(
    gateway("limited", "a.example") +
      gateway("second", "c.example") +
      route("shared", ["limited", "second"], "/shared") +
      policy("edge", "Gateway", "limited", "{tokenBucket: {maxTokens: 1, fillInterval: 1h}}") +
      policy("edge-two", "Gateway", "second", "{tokenBucket: {maxTokens: 1, fillInterval: 1h}}") +
      backendYaml("app", app.port),
  );
  t.after(async () => {
    await gw.close();
    await app.close();
  });
  const get = async (host: string, path: string): Promise<number> => (await ask(gw.port, { path, headers: { host } })).status;
  assert.deepEqual([await get("a.example", "/shared/1"), await get("c.example", "/shared/2"), await get("a.example", "/shared/3"), await get("c.example", "/shared/4")], [200, 200, 429, 429]);
  assert.deepEqual(
    [...gw.stats.rateLimits!.entries()].sort(),
    [
      ["default/shared", "rule-0", "default/edge", true, 1],
      ["default/shared", "rule-0", "default/edge-two", true, 1],
    ],
  );
});
