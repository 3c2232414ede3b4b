// kgateway policies attached by labels (`targetSelectors`), end to end against a real
// upstream on 127.0.0.1: a TrafficPolicy's basicAuth guards the routes carrying its labels
// and no other, a selector's sectionName exempts one rule of each selected route, and a
// Gateway selector's sectionName reaches one listener.
import { after, before, test } from "node:test";
import assert from "node:assert/strict";
import { createHash } from "node:crypto";
import { type TestUpstream, startUpstream } from "../support/upstreams.ts";
import { type GatewayUnderTest, ask, backendYaml, ref, startGateway } from "./harness.ts";

let app: TestUpstream;
let gw: GatewayUnderTest;

const htpasswd = (user: string, password: string): string => `${user}:{SHA}${createHash("sha1").update(password, "utf8").digest("base64")}`;
const carol = `Basic ${Buffer.from("carol:pw").toString("base64")}`;

/** An HTTPRoute on Gateway `edge` with `labels`, one rule per [name ("" for none), path prefix]. */
const labelledRoute = (name: string, labels: string, rules: readonly (readonly [string, string])[]): string => `---
apiVersion: gateway.networking.k8s.io/v1
kind: HTTPRoute
metadata: {name: ${name}, namespace: default, labels: ${labels}}
spec:
  parentRefs: [{name: edge}]
  rules:
${rules.map(([rule, prefix]) => `  - ${rule === "" ? "" : `name: ${rule}\n    `}matches: [{path: {type: PathPrefix, value: ${prefix}}}]\n    backendRefs: [${ref("app")}]\n`).join("")}`;

const selectingPolicy = (name: string, selector: string, body: string): string => `---
apiVersion: gateway.kgateway.dev/v1alpha1
kind: TrafficPolicy
metadata: {name: ${name}, namespace: default}
spec:
  targetSelectors: [${selector}]
${body}`;

before(async () => {
  app = await startUpstream("app");
  gw = await startGateway(
    `apiVersion: gateway.networking.k8s.io/v1
kind: Gateway
metadata: {name: edge, namespace: default, labels: {tier: edge}}
spec:
  gatewayClassName: tollgate
  listeners:
  - {name: public, protocol: HTTP, port: 8080, hostname: public.example}
  - {name: status, protocol: HTTP, port: 8080, hostname: status.example}
` +
      backendYaml("app", app.port) +
      labelledRoute("shop", "{auth: required}", [["", "/shop"]]) +
      labelledRoute("docs", "{auth: required}", [["open", "/docs/open"], ["", "/docs"]]) +
      labelledRoute("health", "{auth: none}", [["", "/health"]]) +
      selectingPolicy("sign-in", "{group: gateway.networking.k8s.io, kind: HTTPRoute, matchLabels: {auth: required}}", `  basicAuth: {users: ["${htpasswd("carol", "pw")}"]}\n`) +
      selectingPolicy("open-docs", "{group: gateway.networking.k8s.io, kind: HTTPRoute, matchLabels: {auth: required}, sectionName: open}", "  basicAuth: {disable: {}}\n") +
      selectingPolicy("status-header", "{group: gateway.networking.k8s.io, kind: Gateway, matchLabels: {tier: edge}, sectionName: status}", "  headerModifiers: {response: {set: [{name: x-listener, value: status}]}}\n"),
  );
});

after(async () => {
  await gw?.close();
  await app?.close();
});

const get = (path: string, host: string, headers: Record<string, string> = {}) => ask(gw.port, { path, headers: { host, ...headers } });

test("basicAuth from a selector guards every route carrying its labels, and no other", async () => {
  const refused = await get("/shop", "public.example");
  assert.equal(refused.status, 401);
  assert.equal(refused.json()["error"], "unauthorized");
  assert.equal((await get("/shop", "public.example", { authorization: carol })).status, 200);
  assert.equal((await get("/docs/guide", "public.example")).status, 401);
  assert.equal((await get("/docs/guide", "public.example", { authorization: carol })).status, 200);
  const open = await get("/health", "public.example");
  assert.equal(open.status, 200);
  assert.equal(open.json()["url"], "/health");
});

test("a selector's sectionName exempts the rule of that name on each selected route that has one", async () => {
  const exempt = await get("/docs/open/page", "public.example");
  assert.equal(exempt.status, 200);
  assert.equal(exempt.json()["url"], "/docs/open/page");
  assert.equal((await get("/shop/open", "public.example")).status, 401, "shop has no rule named open: still guarded");
});

test("a Gateway selector with sectionName reaches that listener of the selected Gateway alone", async () => {
  const status = await get("/health", "status.example");
  assert.equal(status.status, 200);
  assert.equal(status.headers["x-listener"], "status");
  const other = await get("/health", "public.example");
  assert.equal(other.status, 200);
  assert.equal(other.headers["x-listener"], undefined);
});
