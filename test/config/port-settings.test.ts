// Gateways serving one port share its listener settings: their ListenerPolicies and
// HTTPListenerPolicies must agree, or one Gateway would silently run with another's (a
// Gateway that trusts no proxy trusting X-Forwarded-For because its neighbour does).
import assert from "node:assert/strict";
import { test } from "node:test";
import { GATEWAY, errors, sameListenerGateway } from "./helpers.ts";

const listenerPolicy = (name: string, targets: readonly string[], body: string): string => `---
apiVersion: gateway.kgateway.dev/v1alpha1
kind: HTTPListenerPolicy
metadata: {name: ${name}}
spec:
  targetRefs: [${targets.map((t) => `{group: gateway.networking.k8s.io, kind: Gateway, name: ${t}}`).join(", ")}]
${body}`;

const TRUST = "  trustForwardedHeaders: true\n  xffNumTrustedHops: 1\n";

test("a Gateway whose listener settings differ from another Gateway's on the same port is an error naming the settings", () => {
  assert.deepEqual(errors(GATEWAY + sameListenerGateway("gw2") + listenerPolicy("trust", ["gw2"], TRUST)), [
    "t.yaml:17:34: spec.listeners[0].port: port 8080 is also served by Gateway default/gw, whose listener settings differ: trustForwardedHeaders true here, false there, xffNumTrustedHops 1 here, 0 there; a port has one set, which requests for this Gateway would not get (hint: target both Gateways with the same ListenerPolicy or HTTPListenerPolicy, or move this listener to a port of its own)",
  ]);
});

test("the same settings on both, or the Gateways on different ports, are fine", () => {
  assert.deepEqual(errors(GATEWAY + sameListenerGateway("gw2") + listenerPolicy("trust", ["gw", "gw2"], TRUST)), []);
  assert.deepEqual(errors(GATEWAY + sameListenerGateway("gw2").replace("port: 8080", "port: 8081") + listenerPolicy("trust", ["gw2"], TRUST)), []);
});
