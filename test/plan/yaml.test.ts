// Plans compiled from YAML through the real config stage.
import { test } from "node:test";
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { loadConfigText } from "../../src/config/load.ts";
import { compilePlan } from "../../src/plan/compile.ts";
import type { RuntimePlan } from "../../src/plan/types.ts";
import { testFilterCompiler } from "./config-builder.ts";

function compileYaml(text: string): RuntimePlan {
  const { config, diagnostics } = loadConfigText(text, "routes.yaml");
  assert.ok(config, diagnostics.map((d) => `${d.line}:${d.col} ${d.path}: ${d.message}`).join("\n"));
  return compilePlan(config, 7, testFilterCompiler);
}

const GATEWAY = `
apiVersion: gateway.networking.k8s.io/v1
kind: Gateway
metadata: {name: edge, namespace: default}
spec:
  gatewayClassName: tollgate
  listeners:
    - {name: web, protocol: HTTP, port: 8080, hostname: "*.example.com"}
    - {name: admin, protocol: HTTP, port: 9090}
---
apiVersion: gateway.tollgate.dev/v1alpha1
kind: Backend
metadata: {name: app, namespace: default}
spec:
  endpoints:
    - ip: {address: 127.0.0.1, port: 3000}
`;

test("the default config compiles and routes its documented paths", () => {
  const text = readFileSync(new URL("../../config/gateway.yaml", import.meta.url), "utf8");
  const p = compileYaml(text);
  const router = p.listenerByPort.get(8080)!.router;
  const welcome = router.match("127.0.0.1", "GET", "/", "", {});
  assert.equal(welcome?.rule.filters.terminal, true);
  assert.equal(welcome?.rule.httpRoute, "/");
  const example = router.match("127.0.0.1", "GET", "/example/hello", "", {});
  assert.equal(example?.pathType, "PathPrefix");
  assert.equal(example?.rule.httpRoute, `${example?.pathValue.replace(/\/+$/, "")}/*`);
});

test("precedence from YAML: creationTimestamp, then exact over prefix, across routes", () => {
  const p = compileYaml(`${GATEWAY}
---
apiVersion: gateway.networking.k8s.io/v1
kind: HTTPRoute
metadata: {name: zz-old, namespace: default, creationTimestamp: "2024-01-01T00:00:00Z"}
spec:
  parentRefs: [{name: edge, sectionName: web}]
  hostnames: [shop.example.com]
  rules:
    - matches: [{path: {type: PathPrefix, value: /cart}}]
      backendRefs: [{group: gateway.tollgate.dev, kind: Backend, name: app}]
---
apiVersion: gateway.networking.k8s.io/v1
kind: HTTPRoute
metadata: {name: aa-new, namespace: default, creationTimestamp: "2025-01-01T00:00:00Z"}
spec:
  parentRefs: [{name: edge, sectionName: web}]
  hostnames: [shop.example.com]
  rules:
    - name: cart-prefix
      matches: [{path: {type: PathPrefix, value: /cart}}]
      backendRefs: [{group: gateway.tollgate.dev, kind: Backend, name: app}]
    - name: cart-exact
      matches: [{path: {type: Exact, value: /cart/checkout}, method: POST}]
      backendRefs: [{group: gateway.tollgate.dev, kind: Backend, name: app}]
`);
  assert.equal(p.generation, 7);
  const router = p.listenerByPort.get(8080)!.router;
  assert.equal(router.match("shop.example.com", "GET", "/cart/items", "", {})?.rule.routeKey, "default/zz-old");
  const checkout = router.match("shop.example.com", "POST", "/cart/checkout", "", {});
  assert.equal(`${checkout?.rule.routeKey}#${checkout?.rule.ruleName}`, "default/aa-new#cart-exact");
  assert.equal(router.match("other.example.com", "GET", "/cart", "", {}), undefined);
  assert.equal(p.listenerByPort.get(9090)!.router.size, 0, "sectionName web keeps the routes off the admin listener");
  assert.equal(checkout?.rule.backends.pick()?.backend.displayName, "default/app");
  assert.equal(checkout?.rule.backends.pick()?.backend.endpoints[0]?.origin, "http://127.0.0.1:3000");
});

test("a listener whose allowedRoutes.kinds leaves out HTTPRoute serves none, even to a parentRef naming its whole Gateway", () => {
  const admin = "    - {name: admin, protocol: HTTP, port: 9090}";
  assert.ok(GATEWAY.includes(admin));
  const p = compileYaml(`${GATEWAY.replace(admin, "    - {name: admin, protocol: HTTP, port: 9090, allowedRoutes: {kinds: [{kind: GRPCRoute}]}}")}---
apiVersion: gateway.networking.k8s.io/v1
kind: HTTPRoute
metadata: {name: app, namespace: default}
spec:
  parentRefs: [{name: edge}]
  rules:
    - backendRefs: [{name: app, kind: Backend, group: gateway.tollgate.dev, port: 3000}]
`);
  assert.equal(p.listenerByPort.get(8080)!.router.match("a.example.com", "GET", "/app", "", {})?.rule.routeKey, "default/app");
  assert.equal(p.listenerByPort.get(9090)!.router.match("a.example.com", "GET", "/app", "", {}), undefined);
  assert.deepEqual(p.rules.map((r) => r.listener.name), ["web"]);
});

test("equal matches: an older creationTimestamp wins, and routes without one tie on age, so namespace/name decides whatever the file order", () => {
  const routeDoc = (name: string, created?: string): string => `---
apiVersion: gateway.networking.k8s.io/v1
kind: HTTPRoute
metadata: {name: ${name}, namespace: default${created === undefined ? "" : `, creationTimestamp: "${created}"`}}
spec:
  parentRefs: [{name: edge, sectionName: web}]
  rules:
    - matches: [{path: {type: PathPrefix, value: /same}}]
      backendRefs: [{group: gateway.tollgate.dev, kind: Backend, name: app}]
`;
  const winner = (text: string): string | undefined =>
    compileYaml(text).listenerByPort.get(8080)!.router.match("a.example.com", "GET", "/same", "", {})?.rule.routeKey;
  assert.equal(winner(GATEWAY + routeDoc("zeta") + routeDoc("alpha")), "default/alpha");
  assert.equal(winner(GATEWAY + routeDoc("alpha") + routeDoc("zeta")), "default/alpha");
  assert.equal(winner(GATEWAY + routeDoc("zeta", "2024-01-01T00:00:00Z") + routeDoc("alpha")), "default/zeta");
  assert.equal(winner(GATEWAY + routeDoc("alpha", "2025-01-01T00:00:00Z") + routeDoc("zeta", "2024-01-01T00:00:00Z")), "default/zeta");
});
