// Backend spec.connectionPool.maxConnections and maxPendingRequests: load into the model, are
// validated with a positioned error, and a Backend without them leaves the gateway defaults in charge.
import assert from "node:assert/strict";
import { test } from "node:test";
import { GATEWAY, errors, lines, load } from "./helpers.ts";

const withBackend = (spec: string): string => `${GATEWAY}---
apiVersion: gateway.tollgate.dev/v1alpha1
kind: Backend
metadata: {name: api, namespace: default}
spec:
  endpoints:
  - ip: {address: 10.0.0.7, port: 8080}
${spec}---
apiVersion: gateway.networking.k8s.io/v1
kind: HTTPRoute
metadata: {name: r, namespace: default}
spec:
  parentRefs: [{name: gw}]
  rules:
  - backendRefs: [{group: gateway.tollgate.dev, kind: Backend, name: api}]
`;

test("connectionPool.maxConnections reaches the backend model", () => {
  const result = load(withBackend("  connectionPool:\n    maxConnections: 32\n"));
  assert.deepEqual(lines(result, "error"), []);
  const backend = result.config?.backends.find((b) => b.name === "api");
  assert.equal(backend?.maxConnections, 32);
});

test("connectionPool.maxPendingRequests reaches the backend model, 0 included", () => {
  for (const value of [0, 5000]) {
    const result = load(withBackend(`  connectionPool:\n    maxPendingRequests: ${value}\n`));
    assert.deepEqual(lines(result, "error"), []);
    const backend = result.config?.backends.find((b) => b.name === "api");
    assert.equal(backend?.maxPendingRequests, value);
    assert.equal(backend?.maxConnections, undefined);
  }
});

test("a negative maxPendingRequests is an error at its position", () => {
  const found = errors(withBackend("  connectionPool:\n    maxPendingRequests: -1\n"));
  assert.equal(found.length, 1, found.join("\n"));
  assert.match(found[0] as string, /^t\.yaml:\d+:\d+: .*connectionPool\.maxPendingRequests: /);
});

test("a Backend without connectionPool carries no limit (the gateway default applies)", () => {
  const result = load(withBackend(""));
  assert.deepEqual(lines(result, "error"), []);
  const backend = result.config?.backends.find((b) => b.name === "api");
  assert.ok(backend);
  assert.equal(backend.maxConnections, undefined);
  assert.equal("maxConnections" in backend, false);
  assert.equal("maxPendingRequests" in backend, false);
});

test("maxConnections below 1 is an error at its position", () => {
  const found = errors(withBackend("  connectionPool:\n    maxConnections: 0\n"));
  assert.equal(found.length, 1, found.join("\n"));
  assert.match(found[0] as string, /^t\.yaml:\d+:\d+: .*connectionPool\.maxConnections: /);
  assert.match(found[0] as string, />= 1|minimum|at least/i);
});

test("an unknown connectionPool field is an error naming it", () => {
  const found = errors(withBackend("  connectionPool:\n    maxConnection: 8\n"));
  assert.equal(found.length, 1, found.join("\n"));
  assert.match(found[0] as string, /connectionPool/);
  assert.match(found[0] as string, /maxConnection\b/);
});
