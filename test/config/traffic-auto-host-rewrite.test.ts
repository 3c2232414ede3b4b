// kgateway TrafficPolicy `autoHostRewrite` in the config: the filter on the rules a policy
// covers, an older policy's `false` keeping a newer one's `true` off, and a Gateway target
// warned about (kgateway honours it on HTTPRoutes only).
import assert from "node:assert/strict";
import { test } from "node:test";
import { TO_GATEWAY, TO_RULE_A, TWO_RULE_ROUTE, load, trafficPolicy as policy, warnings } from "./helpers.ts";

test("true gives the covered rules the AutoHostRewrite filter; sectionName narrows it", () => {
  const all = load(TWO_RULE_ROUTE + policy("p", "  autoHostRewrite: true\n")).config!;
  const on = { type: "AutoHostRewrite", policy: "default/p" };
  assert.deepEqual(all.routes[0]!.rules.map((r) => r.filters), [[on], [on]]);
  const one = load(TWO_RULE_ROUTE + policy("p", "  autoHostRewrite: true\n", TO_RULE_A)).config!;
  assert.deepEqual(one.routes[0]!.rules.map((r) => r.filters), [[on], []]);
});

test("an older policy's false wins over a newer true, with a warning for the newer", () => {
  const toRoute = "[{group: gateway.networking.k8s.io, kind: HTTPRoute, name: web}]";
  const yaml = TWO_RULE_ROUTE + policy("a-off", "  autoHostRewrite: false\n") + policy("b-on", "  autoHostRewrite: true\n", toRoute, "2026-02-01T00:00:00Z");
  assert.deepEqual(load(yaml).config!.routes[0]!.rules.map((r) => r.filters), [[], []]);
  assert.ok(warnings(yaml).some((w) => w.includes("spec.autoHostRewrite: warning: HTTPRoute default/web already gets autoHostRewrite from TrafficPolicy default/a-off, which is older; this one is ignored for it")), warnings(yaml).join("\n"));
});

test("on a Gateway it is ignored with a warning", () => {
  const yaml = TWO_RULE_ROUTE + policy("p", "  autoHostRewrite: true\n", TO_GATEWAY);
  assert.deepEqual(load(yaml).config!.routes[0]!.rules.map((r) => r.filters), [[], []]);
  assert.deepEqual(warnings(yaml), [
    "t.yaml:33:16: spec.targetRefs[0]: warning: autoHostRewrite does not apply to a Gateway (only acl, apiKeyAuth, basicAuth, buffer, compression, cors, csrf, extAuth, faultInjection, headerModifiers, jwtAuth, rateLimit, rbac, retry and timeouts do); it is ignored for Gateway default/gw (hint: target the HTTPRoutes for autoHostRewrite)",
  ]);
});
