// kgateway ListenerPolicy `proxyProtocol` in the config: `default` and `perPort` (which
// replaces the default for its port), the oldest policy winning per port, the ports a
// Gateway expects headers on, the shared-port check, and the exact text of each diagnostic.
import assert from "node:assert/strict";
import { test } from "node:test";
import { errors, load, sameListenerGateway, warnings } from "./helpers.ts";
import { compileConfig } from "../../src/server/config-stage.ts";

/** Gateway `gw` with HTTP listeners on 8080 and 8443 (and Gateway `gw2` sharing 8080, with `shared`). */
const gateways = (shared = false): string =>
  `apiVersion: gateway.networking.k8s.io/v1
kind: Gateway
metadata: {name: gw}
spec:
  gatewayClassName: tollgate
  listeners:
  - {name: http, port: 8080, protocol: HTTP}
  - {name: alt, port: 8443, protocol: HTTP}
` + (shared ? sameListenerGateway("gw2") : "");

const listenerPolicy = (name: string, spec: string, created = "2026-01-01T00:00:00Z", target = "gw"): string =>
  `---\napiVersion: gateway.kgateway.dev/v1alpha1\nkind: ListenerPolicy\nmetadata: {name: ${name}, creationTimestamp: "${created}"}\nspec:\n  targetRefs: [{group: gateway.networking.k8s.io, kind: Gateway, name: ${target}}]\n${spec}`;

const portsOf = (text: string): Record<string, readonly number[]> => {
  const { config, diagnostics } = load(text);
  assert.ok(config, diagnostics.map((d) => d.message).join("\n"));
  return Object.fromEntries(config.gateways.map((g) => [g.ref.name, g.proxyProtocolPorts]));
};

test("default covers every port of the Gateway; a perPort entry replaces it for its port, turning it on or off there", () => {
  assert.deepEqual(portsOf(gateways() + listenerPolicy("nlb", "  default: {proxyProtocol: {}}\n")), { gw: [8080, 8443] });
  assert.deepEqual(portsOf(gateways() + listenerPolicy("nlb", "  default: {proxyProtocol: {}}\n  perPort: [{port: 8443, listener: {}}]\n")), { gw: [8080] });
  assert.deepEqual(portsOf(gateways() + listenerPolicy("nlb", "  perPort: [{port: 8443, listener: {proxyProtocol: {}}}]\n")), { gw: [8443] });
  assert.deepEqual(portsOf(gateways() + listenerPolicy("nlb", "  default: {httpSettings: {idleTimeout: 5s}}\n")), { gw: [] });
  assert.deepEqual(warnings(gateways() + listenerPolicy("nlb", "  default: {proxyProtocol: {}}\n  perPort: [{port: 8443, listener: {}}]\n")), []);
});

test("the compiled port expects headers as its Gateway does", () => {
  const { config } = load(gateways() + listenerPolicy("nlb", "  perPort: [{port: 8443, listener: {proxyProtocol: {}}}]\n"));
  const plan = compileConfig(config!, 1).plan!;
  assert.deepEqual(plan.listeners.map((l) => [l.port, l.proxyProtocol]), [[8080, false], [8443, true]]);
});

test("per port the oldest ListenerPolicy that says anything wins; a newer one saying otherwise is warned about", () => {
  const older = listenerPolicy("older", "  perPort: [{port: 8443, listener: {}}]\n", "2025-01-01T00:00:00Z");
  const newer = listenerPolicy("newer", "  default: {proxyProtocol: {}}\n");
  assert.deepEqual(portsOf(gateways() + newer + older), { gw: [8080] });
  assert.deepEqual(warnings(gateways() + newer + older), [
    "t.yaml:15:28: spec.default.proxyProtocol: warning: ListenerPolicy default/older, which is older, already leaves proxyProtocol off for port 8443 of Gateway default/gw; this one is ignored there (hint: keep one ListenerPolicy's proxyProtocol per Gateway port)",
  ]);
});

test("Gateways sharing a port must agree on it: the load fails naming the difference", () => {
  assert.deepEqual(errors(gateways(true) + listenerPolicy("nlb", "  default: {proxyProtocol: {}}\n")), [
    "t.yaml:15:34: spec.listeners[0].port: port 8080 is also served by Gateway default/gw, whose listener settings differ: proxyProtocol off here, on there; a port has one set, which requests for this Gateway would not get (hint: target both Gateways with the same ListenerPolicy or HTTPListenerPolicy, or move this listener to a port of its own)",
  ]);
  const both = gateways(true) + listenerPolicy("nlb", "  default: {proxyProtocol: {}}\n").replace("name: gw}]", "name: gw}, {group: gateway.networking.k8s.io, kind: Gateway, name: gw2}]");
  assert.deepEqual(errors(both), []);
  assert.deepEqual(portsOf(both), { gw: [8080, 8443], gw2: [8080] });
});

test("what perPort cannot do is reported where it is written", () => {
  assert.deepEqual(errors(gateways() + listenerPolicy("nlb", "  perPort: [{port: 8443, listener: {proxyProtocol: {}}}, {port: 8443, listener: {}}]\n")), [
    "t.yaml:15:65: spec.perPort[1].port: port 8443 already has an entry (perPort[0]) (hint: give each port one entry)",
  ]);
  assert.deepEqual(warnings(gateways() + listenerPolicy("nlb", "  perPort: [{port: 9000, listener: {proxyProtocol: {}}}]\n")), [
    "t.yaml:15:20: spec.perPort[0].port: warning: Gateway default/gw has no listener on port 9000; this entry has no effect there (hint: its listener ports: 8080, 8443)",
  ]);
  assert.deepEqual(warnings(gateways() + listenerPolicy("nlb", "  default: {proxyProtocol: {}, perConnectionBufferLimitBytes: 32768}\n")), [
    "t.yaml:15:63: spec.default.perConnectionBufferLimitBytes: warning: perConnectionBufferLimitBytes has no effect in Tollgate: memory is bounded per request (maxRequestHeadersKb, a route's buffer limits) and by backpressure, not by a per-connection buffer",
  ]);
  assert.match(errors(gateways() + listenerPolicy("nlb", "  default: {proxyProtocol: {v2Only: true}}\n"))[0]!, /spec\.default\.proxyProtocol\.v2Only: unknown field/);
});
