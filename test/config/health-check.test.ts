// kgateway `healthCheck` (HTTPListenerPolicy, and ListenerPolicy default.httpSettings) in the
// config: the path it sets on a Gateway's listener settings, the oldest policy winning, the
// path's format as kgateway's CRD states it, and the shared-port check.
import assert from "node:assert/strict";
import { test } from "node:test";
import { GATEWAY, errors, load, sameListenerGateway, warnings } from "./helpers.ts";

const policy = (kind: "HTTPListenerPolicy" | "ListenerPolicy", name: string, healthCheck: string, created = "2026-01-01T00:00:00Z", target = "gw"): string => {
  const field = kind === "HTTPListenerPolicy" ? `  healthCheck: ${healthCheck}\n` : `  default:\n    httpSettings:\n      healthCheck: ${healthCheck}\n`;
  return `---\napiVersion: gateway.kgateway.dev/v1alpha1\nkind: ${kind}\nmetadata: {name: ${name}, creationTimestamp: "${created}"}\nspec:\n  targetRefs: [{group: gateway.networking.k8s.io, kind: Gateway, name: ${target}}]\n${field}`;
};

const pathsOf = (text: string): Record<string, string | undefined> => {
  const { config, diagnostics } = load(text);
  assert.ok(config, diagnostics.map((d) => d.message).join("\n"));
  return Object.fromEntries(config.gateways.map((g) => [g.ref.name, g.settings.healthCheckPath]));
};

test("HTTPListenerPolicy and ListenerPolicy httpSettings set the Gateway's health check path; none by default", () => {
  assert.deepEqual(pathsOf(GATEWAY), { gw: undefined });
  assert.deepEqual(pathsOf(GATEWAY + policy("HTTPListenerPolicy", "probes", "{path: /healthz}")), { gw: "/healthz" });
  assert.deepEqual(pathsOf(GATEWAY + policy("ListenerPolicy", "probes", "{path: '/ready?full=1'}")), { gw: "/ready?full=1" });
  assert.deepEqual(warnings(GATEWAY + policy("HTTPListenerPolicy", "probes", "{path: /healthz}")), []);
});

test("two policies setting it: the older wins and the newer is warned about at its field", () => {
  const text = GATEWAY + policy("HTTPListenerPolicy", "newer", "{path: /new}", "2026-02-01T00:00:00Z") + policy("ListenerPolicy", "older", "{path: /old}", "2026-01-01T00:00:00Z");
  assert.deepEqual(pathsOf(text), { gw: "/old" });
  assert.deepEqual(warnings(text), [
    "t.yaml:17:16: spec.healthCheck: warning: healthCheck for Gateway default/gw is already set by ListenerPolicy default/older, which is older; this one is ignored",
  ]);
});

test("the path is checked as kgateway's CRD checks it, with the file position and a hint", () => {
  assert.deepEqual(errors(GATEWAY + policy("HTTPListenerPolicy", "probes", "{path: healthz}")), [
    't.yaml:17:23: spec.healthCheck.path: the string "healthz" does not match ^/[-a-zA-Z0-9@:%.+~#?&/=_]+$ (hint: see docs/configuration.md for this field\'s format)',
  ]);
  assert.equal(errors(GATEWAY + policy("HTTPListenerPolicy", "probes", "{path: /}")).length, 1, "the root alone is no health check path");
  assert.equal(errors(GATEWAY + policy("HTTPListenerPolicy", "probes", "{path: '/health z'}")).length, 1, "a space is not allowed");
  assert.equal(errors(GATEWAY + policy("HTTPListenerPolicy", "probes", `{path: /${"a".repeat(2048)}}`)).length, 1, "at most 2048 characters");
  assert.deepEqual(errors(GATEWAY + policy("HTTPListenerPolicy", "probes", `{path: /${"a".repeat(2047)}}`)), []);
  assert.deepEqual(errors(GATEWAY + policy("HTTPListenerPolicy", "probes", "{}")), ['t.yaml:17:16: spec.healthCheck.path: missing required field (hint: add "path")']);
});

test("Gateways sharing a port must agree on the health check, as on every listener setting", () => {
  const shared = GATEWAY + sameListenerGateway("gw2") + policy("HTTPListenerPolicy", "probes", "{path: /healthz}");
  const found = errors(shared);
  assert.equal(found.length, 1);
  assert.match(found[0]!, /port 8080 is also served by Gateway default\/gw, whose listener settings differ: healthCheckPath none here, \/healthz there/);
  const both = GATEWAY + sameListenerGateway("gw2") + policy("HTTPListenerPolicy", "probes", "{path: /healthz}").replace("targetRefs: [", "targetRefs: [{group: gateway.networking.k8s.io, kind: Gateway, name: gw2}, ");
  assert.deepEqual(errors(both), []);
  assert.deepEqual(pathsOf(both), { gw: "/healthz", gw2: "/healthz" });
});

test("a path no request can match loads with a warning that says what to write", () => {
  assert.deepEqual(warnings(GATEWAY + policy("HTTPListenerPolicy", "probes", "{path: '/health%7Ez'}")), [
    "t.yaml:17:23: spec.healthCheck.path: warning: requests are matched on their normalised path, and /health%7Ez reads as /health~z: health check path /health%7Ez matches no request (hint: write /health~z)",
  ]);
  assert.deepEqual(warnings(GATEWAY + policy("HTTPListenerPolicy", "probes", "{path: '/a//b/./c?x=1'}")), [
    "t.yaml:17:23: spec.healthCheck.path: warning: requests are matched on their normalised path, and /a//b/./c reads as /a/b/c: health check path /a//b/./c?x=1 matches no request (hint: write /a/b/c?x=1)",
  ]);
  assert.deepEqual(warnings(GATEWAY + policy("HTTPListenerPolicy", "probes", "{path: '/healthz#top'}")), [
    "t.yaml:17:23: spec.healthCheck.path: warning: no request target carries a fragment ('#'): health check path /healthz#top matches no request (hint: remove the '#' and what follows it)",
  ]);
  assert.deepEqual(warnings(GATEWAY + policy("HTTPListenerPolicy", "probes", "{path: '/bad%zz'}")), [
    "t.yaml:17:23: spec.healthCheck.path: warning: health check path /bad%zz holds a '%' that starts no escape (or an escaped NUL): a request for it is refused, so it matches no request (hint: write the path as a client sends it)",
  ]);
  assert.deepEqual(warnings(GATEWAY + policy("HTTPListenerPolicy", "probes", "{path: '/api/v1/health%2Fz?probe=lb&x=a:b'}")), [], "an escaped slash stays escaped, as a client sends it");
});
