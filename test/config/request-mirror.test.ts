// RequestMirror in the config: what loads, the share it compiles to, and the exact text of
// each error and warning.
import assert from "node:assert/strict";
import { test } from "node:test";
import type { FilterModel } from "../../src/config/model.ts";
import { WEB_ROUTE, errors, load, warnings } from "./helpers.ts";

const route = (filters: string, extra = ""): string => `${WEB_ROUTE}  rules:
  - filters:
${filters}    backendRefs:
    - {name: app, port: 80}
${extra}`;

const mirror = (body: string): string => `    - type: RequestMirror
      requestMirror:
${body}`;

function ruleFilters(text: string): readonly FilterModel[] {
  const { config, diagnostics } = load(text);
  assert.ok(config, diagnostics.map((d) => d.message).join("\n"));
  return config.routes[0]!.rules[0]!.filters;
}

test("a mirror to a Service loads with share 1; percent and fraction set the share; several mirrors may share a rule", () => {
  const filters = ruleFilters(
    route(
      mirror("        backendRef: {name: shadow, port: 8080}\n") +
        mirror("        backendRef: {name: shadow, port: 8081}\n        percent: 20\n") +
        mirror("        backendRef: {name: shadow, port: 8082}\n        fraction: {numerator: 1, denominator: 8}\n") +
        mirror("        backendRef: {name: shadow, port: 8083}\n        fraction: {numerator: 30}\n"),
    ),
  );
  assert.deepEqual(filters, [
    { type: "RequestMirror", backendKey: "default/shadow:8080", share: 1 },
    { type: "RequestMirror", backendKey: "default/shadow:8081", share: 0.2 },
    { type: "RequestMirror", backendKey: "default/shadow:8082", share: 0.125 },
    { type: "RequestMirror", backendKey: "default/shadow:8083", share: 0.3 },
  ]);
  // The mirror's backend is part of the config, so its pool is kept across reloads.
  assert.ok(load(route(mirror("        backendRef: {name: shadow, port: 8080}\n"))).config!.backends.some((b) => b.key === "default/shadow:8080"));
});

test("percent and fraction together, and a fraction above 1, are errors at their field", () => {
  assert.deepEqual(errors(route(mirror("        backendRef: {name: shadow, port: 80}\n        percent: 10\n        fraction: {numerator: 1}\n"))), [
    "t.yaml:25:19: spec.rules[0].filters[0].requestMirror.fraction: percent and fraction are both set (hint: keep one of them: percent: 10 or fraction: {numerator: 1, denominator: 10})",
  ]);
  // The backendRef is checked too, so one load reports every problem of the filter.
  const both = route(mirror("        backendRef: {name: other, namespace: elsewhere, port: 80}\n        percent: 10\n        fraction: {numerator: 1}\n"));
  assert.equal(errors(both).length, 1);
  assert.match(warnings(both).join("\n"), /requestMirror\.backendRef: warning: reference to Service elsewhere\/other crosses namespaces/);
  assert.deepEqual(errors(route(mirror("        backendRef: {name: shadow, port: 80}\n        fraction: {numerator: 3, denominator: 2}\n"))), [
    "t.yaml:24:31: spec.rules[0].filters[0].requestMirror.fraction.numerator: numerator 3 is greater than denominator 2 (hint: a mirrored share is at most 100%: use a numerator ≤ 2)",
  ]);
  assert.deepEqual(errors(route(mirror("        backendRef: {name: shadow, port: 80}\n        percent: 101\n"))), [
    "t.yaml:24:18: spec.rules[0].filters[0].requestMirror.percent: 101 is out of range: must be <= 100 (hint: use 100 or less)",
  ]);
});

test("a mirror needs a backendRef, and a Service backendRef needs its port", () => {
  assert.deepEqual(errors(route(mirror("        percent: 5\n"))), [
    't.yaml:23:9: spec.rules[0].filters[0].requestMirror.backendRef: missing required field (hint: add "backendRef")',
  ]);
  assert.deepEqual(errors(route(mirror("        backendRef: {name: shadow}\n"))), [
    "t.yaml:23:21: spec.rules[0].filters[0].requestMirror.backendRef.port: a Service reference needs a port (hint: add port: <service port>)",
  ]);
});

test("a mirror whose backendRef does not resolve is left out with a warning; the route still loads", () => {
  const text = route(
    mirror("        backendRef: {group: gateway.tollgate.dev, kind: Backend, name: gone}\n") +
      mirror("        backendRef: {name: other, namespace: elsewhere, port: 80}\n"),
  );
  assert.deepEqual(errors(text), []);
  assert.deepEqual(warnings(text), [
    't.yaml:23:72: spec.rules[0].filters[0].requestMirror.backendRef.name: warning: Backend default/gone is not defined in the file; this RequestMirror is left out and requests are not mirrored (Gateway API: ResolvedRefs False) (hint: add a gateway.tollgate.dev/v1alpha1 Backend named "gone" in namespace "default")',
    't.yaml:26:21: spec.rules[0].filters[1].requestMirror.backendRef: warning: reference to Service elsewhere/other crosses namespaces and no ReferenceGrant in "elsewhere" allows it; this RequestMirror is left out and requests are not mirrored (Gateway API: ResolvedRefs False) (hint: add a ReferenceGrant in namespace "elsewhere" with from: [{group: gateway.networking.k8s.io, kind: HTTPRoute, namespace: default}] and to: [{group: "", kind: Service, name: other}])',
  ]);
  assert.deepEqual(ruleFilters(text), []);
});

test("a mirror beside a RequestRedirect never runs: a warning says so", () => {
  const text = route(`    - type: RequestRedirect
      requestRedirect: {hostname: example.org}
${mirror("        backendRef: {name: shadow, port: 80}\n")}`);
  assert.deepEqual(errors(text), []);
  assert.ok(
    warnings(text).includes(
      "t.yaml:21:5: spec.rules[0].filters: warning: RequestMirror never runs: a RequestRedirect or DirectResponse filter answers without an upstream request to copy (hint: remove the RequestMirror or the answering filter)",
    ),
    warnings(text).join("\n"),
  );
});
