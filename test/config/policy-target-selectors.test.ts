// kgateway's `targetSelectors` in the config: a TrafficPolicy, HTTPListenerPolicy or
// ListenerPolicy attaches to the objects of its namespace that carry every label asked for,
// a sectionName narrows each selected object to its rule or listener of that name, and the
// exact text of each error and warning.
import assert from "node:assert/strict";
import { test } from "node:test";
import type { RuleModel } from "../../src/config/model.ts";
import { GATEWAY, errors, load, warnings } from "./helpers.ts";

const APP_SERVICE = "---\napiVersion: v1\nkind: Service\nmetadata: {name: app}\nspec: {ports: [{port: 80}]}\n";

/** An HTTPRoute on Gateway `gw` with `labels` (a flow map) and one rule per entry of `rules` (its name, or "" for none). */
const route = (name: string, labels: string, rules: readonly string[]): string =>
  `---\napiVersion: gateway.networking.k8s.io/v1\nkind: HTTPRoute\nmetadata: {name: ${name}, labels: ${labels}}\nspec:\n  parentRefs: [{name: gw}]\n  rules:\n` +
  rules.map((rule, i) => `  - ${rule === "" ? "" : `name: ${rule}\n    `}matches: [{path: {type: PathPrefix, value: /${name}/${i}}}]\n    backendRefs: [{name: app, port: 80}]\n`).join("");

/** Routes `web` (tier public, team a; rules a and unnamed), `docs` (tier public; rule b) and `admin` (tier internal; rule a), all labelled app: shop. */
const ROUTES = GATEWAY + APP_SERVICE + route("web", "{app: shop, tier: public, team: a}", ["a", ""]) + route("docs", "{app: shop, tier: public}", ["b"]) + route("admin", "{app: shop, tier: internal}", ["a"]);

const policy = (kind: string, name: string, selectors: string, body: string, created = "2026-01-01T00:00:00Z"): string =>
  `---\napiVersion: gateway.kgateway.dev/v1alpha1\nkind: ${kind}\nmetadata: {name: ${name}, creationTimestamp: "${created}"}\nspec:\n  targetSelectors: ${selectors}\n${body}`;
const trafficPolicy = (name: string, selectors: string, body: string, created?: string): string => policy("TrafficPolicy", name, selectors, body, created);
const routesWith = (labels: string, section = ""): string => `[{group: gateway.networking.k8s.io, kind: HTTPRoute, matchLabels: ${labels}${section === "" ? "" : `, sectionName: ${section}`}}]`;
const gatewaysWith = (labels: string, section = ""): string => `[{group: gateway.networking.k8s.io, kind: Gateway, matchLabels: ${labels}${section === "" ? "" : `, sectionName: ${section}`}}]`;
const SET_SCOPE = (scope: string): string => `  headerModifiers: {response: {set: [{name: x-scope, value: ${scope}}]}}\n`;
const BASIC_AUTH = '  basicAuth: {users: ["carol:{SHA}qUqP5cyxm6YcTAhz05Hph5gvu9M="]}\n';

/** For each route, for each rule: the policies its filters come from. */
function policiesByRule(text: string): Record<string, (string | undefined)[][]> {
  const { config, diagnostics } = load(text);
  assert.ok(config, diagnostics.map((d) => d.message).join("\n"));
  const policiesOf = (rule: RuleModel): (string | undefined)[] => rule.filters.map((f) => ("policy" in f ? (f.policy as string | undefined) : undefined));
  return Object.fromEntries(config.routes.map((r) => [r.ref.name, r.rules.map(policiesOf)]));
}

test("a selector attaches the policy to each route of its namespace that carries every label asked for", () => {
  assert.deepEqual(policiesByRule(ROUTES + trafficPolicy("p", routesWith("{tier: public}"), SET_SCOPE("p"))), {
    web: [["default/p"], ["default/p"]],
    docs: [["default/p"]],
    admin: [[]],
  });
  assert.deepEqual(policiesByRule(ROUTES + trafficPolicy("p", routesWith("{tier: public, team: a}"), SET_SCOPE("p"))), { web: [["default/p"], ["default/p"]], docs: [[]], admin: [[]] });
  assert.deepEqual(policiesByRule(ROUTES + trafficPolicy("p", routesWith("{app: shop}"), SET_SCOPE("p"))), { web: [["default/p"], ["default/p"]], docs: [["default/p"]], admin: [["default/p"]] });
  assert.deepEqual(warnings(ROUTES + trafficPolicy("p", routesWith("{tier: public}"), SET_SCOPE("p"))), []);

  const elsewhere = ROUTES + trafficPolicy("p", routesWith("{tier: public}"), SET_SCOPE("p")).replace("metadata: {name: p,", "metadata: {name: p, namespace: other,");
  assert.deepEqual(policiesByRule(elsewhere), { web: [[], []], docs: [[]], admin: [[]] }, "a policy in another namespace selects none of these routes");
  assert.deepEqual(warnings(elsewhere), [
    't.yaml:53:86: spec.targetSelectors[0].matchLabels: warning: no HTTPRoute in namespace other carries the labels {"tier":"public"}; this targetSelector has no effect (hint: label the HTTPRoutes the policy is for (metadata.labels), or change matchLabels)',
  ]);
});

test("an empty matchLabels fails the load: kgateway selects nothing with it, a Kubernetes selector everything", () => {
  for (const body of [SET_SCOPE("p"), "  basicAuth: {disable: {}}\n"]) {
    const text = ROUTES + trafficPolicy("p", routesWith("{}"), body);
    assert.deepEqual(errors(text), [
      "t.yaml:53:86: spec.targetSelectors[0].matchLabels: an empty matchLabels selects no HTTPRoute in kgateway, and every one of the namespace in a Kubernetes label selector (hint: name the labels the HTTPRoutes the policy is for carry, e.g. {tier: public})",
    ]);
  }
});

test("a selector's sectionName narrows each selected route to its rule of that name; a selected route without one is passed over, with a warning where it loses an access control", () => {
  const text = ROUTES + trafficPolicy("p", routesWith("{app: shop}", "a"), BASIC_AUTH);
  assert.deepEqual(policiesByRule(text), { web: [["default/p"], []], docs: [[]], admin: [["default/p"]] });
  assert.deepEqual(errors(text), []);
  assert.deepEqual(warnings(text), [
    't.yaml:53:112: spec.targetSelectors[0].sectionName: warning: basicAuth does not apply to HTTPRoute default/docs through this targetSelector: it has no rule named "a" (hint: if it is meant to be guarded, check the rule names, or target it by another reference)',
  ]);
  const headers = ROUTES + trafficPolicy("p", routesWith("{app: shop}", "a"), SET_SCOPE("p"));
  assert.deepEqual(policiesByRule(headers), { web: [["default/p"], []], docs: [[]], admin: [["default/p"]] });
  assert.deepEqual(warnings(headers), [], "nothing guarded is lost: passing over is what the selector says");
});

test("a selector and a targetRef to the same route widen each other; between policies the oldest wins, however each attached", () => {
  const both = ROUTES + trafficPolicy("p", routesWith("{tier: public}"), SET_SCOPE("p")).replace("spec:\n", "spec:\n  targetRefs: [{group: gateway.networking.k8s.io, kind: HTTPRoute, name: web, sectionName: a}]\n");
  assert.deepEqual(policiesByRule(both).web, [["default/p"], ["default/p"]]);
  assert.deepEqual(warnings(both), []);
  const twice = both.replace(", sectionName: a}]", "}]");
  assert.deepEqual(policiesByRule(twice).web, [["default/p"], ["default/p"]]);
  assert.deepEqual(warnings(twice), [], "one policy reaching a route twice is one attachment, not a conflict with itself");

  const older = trafficPolicy("older", routesWith("{team: a}"), SET_SCOPE("older"), "2025-01-01T00:00:00Z");
  const byName = `---\napiVersion: gateway.kgateway.dev/v1alpha1\nkind: TrafficPolicy\nmetadata: {name: named, creationTimestamp: "2026-01-01T00:00:00Z"}\nspec:\n  targetRefs: [{group: gateway.networking.k8s.io, kind: HTTPRoute, name: web}]\n${SET_SCOPE("named")}`;
  assert.deepEqual(policiesByRule(ROUTES + byName + older).web, [["default/older"], ["default/older"]]);
  assert.deepEqual(warnings(ROUTES + byName + older), ["t.yaml:54:20: spec.headerModifiers: warning: HTTPRoute default/web already gets headerModifiers from TrafficPolicy default/older, which is older; this one is ignored for it"]);
});

/** Gateway `gw` (labels edge: "yes") with listeners http (8080) and status (8081), and Gateway `gw` in namespace `other` with the same labels. */
const LABELLED_GATEWAYS =
  GATEWAY.replace("  name: gw\n", '  name: gw\n  labels: {edge: "yes"}\n').replace("    protocol: HTTP\n", "    protocol: HTTP\n  - {name: status, port: 8081, protocol: HTTP}\n") +
  '---\napiVersion: gateway.networking.k8s.io/v1\nkind: Gateway\nmetadata: {name: gw, namespace: other, labels: {edge: "yes"}}\nspec:\n  gatewayClassName: tollgate\n  listeners: [{name: http, port: 9090, protocol: HTTP}]\n';

test("Gateways: a selector attaches to those of the policy's namespace alone; with sectionName, to that listener of each", () => {
  const whole = load(LABELLED_GATEWAYS + trafficPolicy("edge", gatewaysWith('{edge: "yes"}'), SET_SCOPE("gateway"))).config!;
  const byKey = new Map(whole.gateways.map((g) => [`${g.ref.namespace}/${g.ref.name}`, g]));
  assert.equal(byKey.get("default/gw")!.headerModifiers?.policyName, "default/edge");
  assert.equal(byKey.get("other/gw")!.headerModifiers, undefined);

  const listener = load(LABELLED_GATEWAYS + trafficPolicy("status", gatewaysWith('{edge: "yes"}', "status"), SET_SCOPE("status"))).config!;
  const gw = listener.gateways.find((g) => g.ref.namespace === "default")!;
  assert.equal(gw.headerModifiers, undefined);
  assert.deepEqual([...(gw.listenerPolicies ?? new Map()).keys()], ["status"]);
  assert.equal(gw.listenerPolicies!.get("status")!.headerModifiers?.policyName, "default/status");
});

test("HTTPListenerPolicy and ListenerPolicy: a selector sets the listener settings of each Gateway it selects", () => {
  const http = policy("HTTPListenerPolicy", "h", gatewaysWith('{edge: "yes"}'), "  idleTimeout: 7s\n");
  const listener = policy("ListenerPolicy", "l", gatewaysWith('{edge: "yes"}'), "  default: {httpSettings: {requestHeadersTimeout: 3s}}\n");
  const { config } = load(LABELLED_GATEWAYS + http + listener);
  const gw = config!.gateways.find((g) => g.ref.namespace === "default")!;
  assert.deepEqual([gw.settings.keepAliveTimeoutMs, gw.settings.requestHeadersTimeoutMs], [7000, 3000]);
  const elsewhere = config!.gateways.find((g) => g.ref.namespace === "other")!;
  assert.deepEqual([elsewhere.settings.keepAliveTimeoutMs, elsewhere.settings.requestHeadersTimeoutMs], [5000, 10_000]);
});

test("what a selector cannot do is warned about where it is written; a lost access control fails the load", () => {
  assert.deepEqual(warnings(ROUTES + trafficPolicy("p", routesWith("{tier: nope}"), SET_SCOPE("p"))), [
    't.yaml:53:86: spec.targetSelectors[0].matchLabels: warning: no HTTPRoute in namespace default carries the labels {"tier":"nope"}; this targetSelector has no effect (hint: label the HTTPRoutes the policy is for (metadata.labels), or change matchLabels)',
  ]);
  assert.deepEqual(warnings(ROUTES + trafficPolicy("p", "[{group: \"\", kind: Service, matchLabels: {}}]", SET_SCOPE("p"))), [
    "t.yaml:53:21: spec.targetSelectors[0]: warning: TrafficPolicy here can target a HTTPRoute or a Gateway only; this targetSelector (/Service) is ignored (hint: kind: HTTPRoute or Gateway, group: gateway.networking.k8s.io)",
  ]);
  assert.deepEqual(warnings(ROUTES + trafficPolicy("p", routesWith("{tier: public}", "c"), SET_SCOPE("p"))), [
    't.yaml:53:115: spec.targetSelectors[0].sectionName: warning: no HTTPRoute this targetSelector selects (default/docs, default/web) has a rule named "c"; this targetSelector has no effect (hint: name a rule the selected routes have (spec.rules[].name), or remove sectionName to cover their rules)',
  ]);
  assert.deepEqual(errors(ROUTES + trafficPolicy("p", routesWith("{tier: public}", "c"), BASIC_AUTH)), [
    't.yaml:53:115: spec.targetSelectors[0].sectionName: no HTTPRoute this targetSelector selects (default/docs, default/web) has a rule named "c"; basicAuth applies to no rule through it (hint: name a rule the selected routes have (spec.rules[].name), or remove sectionName to cover their rules)',
  ]);
  assert.deepEqual(errors(ROUTES + trafficPolicy("p", routesWith("{tier: public}", "c"), "  basicAuth: {disable: {}}\n")), [
    't.yaml:53:115: spec.targetSelectors[0].sectionName: no HTTPRoute this targetSelector selects (default/docs, default/web) has a rule named "c"; basicAuth applies to no rule through it (hint: name a rule the selected routes have (spec.rules[].name), or remove sectionName to cover their rules)',
  ], "as for a targetRef's rule name, a disable too");
  assert.deepEqual(errors(ROUTES + trafficPolicy("p", routesWith("{tier: pubic}"), BASIC_AUTH)), [
    't.yaml:53:86: spec.targetSelectors[0].matchLabels: no HTTPRoute in namespace default carries the labels {"tier":"pubic"}; basicAuth applies to nothing through it (hint: label the HTTPRoutes the policy is for (metadata.labels), or change matchLabels)',
  ], "a misspelt label would leave the routes meant unguarded");
  const broken = ROUTES.replace("{app: shop, tier: internal}", "{app: shop, tier: 1}");
  assert.deepEqual(warnings(broken + trafficPolicy("p", routesWith("{tier: internal}"), SET_SCOPE("p"))), [], "a route that failed the schema may be the one meant: its own error says enough");
  assert.equal(errors(broken + trafficPolicy("p", routesWith("{tier: internal}"), SET_SCOPE("p"))).length, 1);
  assert.deepEqual(errors(LABELLED_GATEWAYS + trafficPolicy("p", gatewaysWith('{edge: "yes"}', "admin"), BASIC_AUTH)), [
    't.yaml:25:112: spec.targetSelectors[0].sectionName: no Gateway this targetSelector selects (default/gw) has a listener named "admin"; basicAuth applies to no listener through it (hint: name one of the Gateway\'s spec.listeners, or remove sectionName to cover the whole Gateway)',
  ]);
  // A disable opens nothing: a missing listener is a warning, kgateway v2.0's extAuth spelling too.
  for (const disabling of ["  extAuth: {disable: {}}\n", "  extAuth: {enablement: DisableAll}\n"]) {
    const text = LABELLED_GATEWAYS + trafficPolicy("p", gatewaysWith('{edge: "yes"}', "admin"), disabling);
    assert.deepEqual(errors(text), [], disabling);
    assert.equal(warnings(text).filter((w) => w.includes('has a listener named "admin"; this targetSelector has no effect')).length, 1, disabling);
  }
  assert.deepEqual(warnings(LABELLED_GATEWAYS + policy("HTTPListenerPolicy", "h", gatewaysWith('{edge: "yes"}', "http"), "  idleTimeout: 7s\n")), [
    "t.yaml:25:112: spec.targetSelectors[0].sectionName: warning: sectionName is not supported; the policy applies to the whole Gateway (hint: remove sectionName)",
  ]);
});

test("a kgateway policy with neither targetRefs nor targetSelectors fails the load; a TelemetryPolicy takes no selectors", () => {
  const bare = "---\napiVersion: gateway.kgateway.dev/v1alpha1\nkind: TrafficPolicy\nmetadata: {name: t}\nspec:\n  timeouts: {request: 1s}\n";
  assert.deepEqual(errors(GATEWAY + bare), [
    "t.yaml:16:3: spec: TrafficPolicy attaches to nothing: it has neither targetRefs nor targetSelectors (hint: targetRefs: [{group: gateway.networking.k8s.io, kind: HTTPRoute, name: ...}], or targetSelectors: [{group: gateway.networking.k8s.io, kind: HTTPRoute, matchLabels: {...}}])",
  ]);
  const bareListener = "---\napiVersion: gateway.kgateway.dev/v1alpha1\nkind: HTTPListenerPolicy\nmetadata: {name: h}\nspec:\n  idleTimeout: 7s\n";
  assert.equal(errors(GATEWAY + bareListener).length, 1);
  assert.match(errors(GATEWAY + bareListener)[0]!, /spec: HTTPListenerPolicy attaches to nothing/);
  const telemetry = "---\napiVersion: gateway.networking.x-k8s.io/v1alpha1\nkind: TelemetryPolicy\nmetadata: {name: tp}\nspec:\n  targetRefs: [{group: gateway.networking.k8s.io, kind: Gateway, name: gw}]\n  targetSelectors: [{kind: Gateway, matchLabels: {}}]\n";
  assert.equal(errors(GATEWAY + telemetry).length, 1);
  assert.match(errors(GATEWAY + telemetry)[0]!, /^t\.yaml:17:3: spec\.targetSelectors: unknown field "targetSelectors"/);
});
