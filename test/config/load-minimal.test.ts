import assert from "node:assert/strict";
import { test } from "node:test";
import { loadConfigText } from "../../src/config/load.ts";

const MINIMAL = `apiVersion: gateway.networking.k8s.io/v1
kind: Gateway
metadata:
  name: gw
spec:
  gatewayClassName: tollgate
  listeners:
  - name: http
    port: 8080
    protocol: HTTP
---
apiVersion: gateway.networking.k8s.io/v1
kind: HTTPRoute
metadata:
  name: web
spec:
  parentRefs:
  - name: gw
  rules:
  - backendRefs:
    - name: echo
      port: 80
---
apiVersion: gateway.tollgate.dev/v1alpha1
kind: Backend
metadata:
  name: echo
spec:
  endpoints:
  - ip: {address: 127.0.0.1, port: 9000}
`;

test("a minimal Gateway + HTTPRoute + Backend resolves", () => {
  const { config, diagnostics } = loadConfigText(MINIMAL, "gw.yaml");
  assert.deepEqual(diagnostics, []);
  assert.ok(config);
  assert.equal(config.gateways.length, 1);
  assert.equal(config.gateways[0]!.listeners[0]!.port, 8080);
  assert.equal(config.routes.length, 1);
  const rule = config.routes[0]!.rules[0]!;
  assert.deepEqual(rule.matches[0]!.path, { type: "PathPrefix", value: "/" });
  assert.deepEqual(rule.backends, [{ weight: 1, backendKey: "default/echo", filters: [] }]);
  assert.deepEqual(config.backends, [{ key: "default/echo", kind: "Backend", name: "echo", namespace: "default", endpoints: [{ host: "127.0.0.1", port: 9000, kind: "ip" }] }]);
});

test("empty documents are skipped as kubectl skips them: a leading or trailing `---`, one holding only comments, an explicit null", () => {
  const text = `---\n${MINIMAL}---\n---\n# rendered by helm template: nothing here\n---\nnull\n---\n`;
  const { config, diagnostics } = loadConfigText(text, "gw.yaml");
  assert.deepEqual(diagnostics, []);
  assert.ok(config);
  assert.equal(config.routes.length, 1);
  assert.equal(config.backends.length, 1);
});

test("YAML merge keys (`<<: *anchor`) are resolved, as kubectl's decoder does", () => {
  const text = `apiVersion: gateway.networking.k8s.io/v1
kind: Gateway
metadata:
  name: gw
spec:
  gatewayClassName: tollgate
  listeners:
  - &http {name: http, port: 8080, protocol: HTTP}
  - <<: *http
    name: admin
    port: 8081
`;
  const { config, diagnostics } = loadConfigText(text, "gw.yaml");
  assert.deepEqual(diagnostics, []);
  assert.ok(config);
  assert.deepEqual(
    config.gateways[0]!.listeners.map((l) => [l.name, l.port, l.protocol]),
    [
      ["http", 8080, "HTTP"],
      ["admin", 8081, "HTTP"],
    ],
  );
});
