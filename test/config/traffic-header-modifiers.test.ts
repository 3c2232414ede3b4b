// kgateway TrafficPolicy `headerModifiers` in the config: the filters it loads to, where they
// go among the rule's own, sectionName narrowing, Gateway targets, and the exact text of each
// error and warning.
import assert from "node:assert/strict";
import { test } from "node:test";
import type { FilterModel, RuleModel } from "../../src/config/model.ts";
import { REDACTED, redactConfigForAdmin } from "../../src/config/redact.ts";
import { ROUTE_ON_SHARED_LISTENER, TO_GATEWAY, TO_RULE_A, TWO_RULE_ROUTE, errors, load, trafficPolicy, warnings } from "./helpers.ts";

const policy = trafficPolicy;
const MODIFIERS = "  headerModifiers:\n    request: {set: [{name: X-Env, value: prod}], add: [{name: x-team, value: web}], remove: [x-debug]}\n    response: {set: [{name: x-served-by, value: edge}]}\n";

function loaded(text: string): { rules: readonly RuleModel[]; gatewayModifiers: unknown } {
  const { config, diagnostics } = load(text);
  assert.ok(config, diagnostics.map((d) => d.message).join("\n"));
  return { rules: config.routes[0]!.rules, gatewayModifiers: config.gateways[0]!.headerModifiers };
}

const POLICY_FILTERS: readonly FilterModel[] = [
  { type: "RequestHeaderModifier", modifier: { set: [{ name: "x-env", value: "prod" }], add: [{ name: "x-team", value: "web" }], remove: ["x-debug"] }, policy: "default/p" },
  { type: "ResponseHeaderModifier", modifier: { set: [{ name: "x-served-by", value: "edge" }], add: [], remove: [] }, policy: "default/p" },
];

test("on a route: request and response modifiers marked with the policy, before the rule's own filters; sectionName narrows them", () => {
  const own = TWO_RULE_ROUTE.replace("  - name: a\n", "  - name: a\n    filters: [{type: RequestHeaderModifier, requestHeaderModifier: {set: [{name: x-env, value: own}]}}]\n");
  const { rules } = loaded(own + policy("p", MODIFIERS));
  assert.deepEqual(rules[0]!.filters, [...POLICY_FILTERS, { type: "RequestHeaderModifier", modifier: { set: [{ name: "x-env", value: "own" }], add: [], remove: [] } }]);
  assert.deepEqual(rules[1]!.filters, POLICY_FILTERS);
  assert.deepEqual(warnings(own + policy("p", MODIFIERS)), []);

  const narrowed = loaded(TWO_RULE_ROUTE + policy("p", MODIFIERS, TO_RULE_A)).rules;
  assert.deepEqual([narrowed[0]!.filters.length, narrowed[1]!.filters.length], [2, 0]);
  const older = policy("older", "  headerModifiers: {response: {remove: [server]}}\n", undefined, "2025-01-01T00:00:00Z");
  const two = TWO_RULE_ROUTE + policy("p", MODIFIERS) + older;
  assert.deepEqual(loaded(two).rules[0]!.filters, [{ type: "ResponseHeaderModifier", modifier: { set: [], add: [], remove: ["server"] }, policy: "default/older" }], "the older policy's whole section, none of the newer's");
  assert.deepEqual(warnings(two), ["t.yaml:35:5: spec.headerModifiers: warning: HTTPRoute default/web already gets headerModifiers from TrafficPolicy default/older, which is older; this one is ignored for it"]);
});

test("on a Gateway: one model for the Gateway, not copied into the route's rules; a credential it sets is redacted in the admin view", () => {
  const { rules, gatewayModifiers } = loaded(TWO_RULE_ROUTE + policy("p", MODIFIERS, TO_GATEWAY));
  assert.deepEqual(gatewayModifiers, { policyName: "default/p", filters: POLICY_FILTERS });
  assert.deepEqual(rules[0]!.filters, []);
  assert.deepEqual(warnings(TWO_RULE_ROUTE + policy("p", MODIFIERS, TO_GATEWAY)), []);

  const credential = load(TWO_RULE_ROUTE + policy("p", "  headerModifiers: {request: {set: [{name: Authorization, value: Bearer s3cret}, {name: x-env, value: prod}]}}\n", TO_GATEWAY)).config!;
  const shown = JSON.stringify(redactConfigForAdmin(credential));
  assert.ok(!shown.includes("s3cret"), shown);
  assert.ok(shown.includes(`{"name":"authorization","value":"${REDACTED}"}`), shown);
  assert.ok(shown.includes('{"name":"x-env","value":"prod"}'), shown);
});

test("an empty modifier is warned about: it changes nothing, yet keeps the Gateway's away", () => {
  const text = TWO_RULE_ROUTE + policy("edge", MODIFIERS, TO_GATEWAY) + policy("p", "  headerModifiers: {request: {}}\n", TO_RULE_A);
  assert.deepEqual(warnings(text), [
    "t.yaml:43:30: spec.headerModifiers.request: warning: this request modifier is empty: it changes no header, yet where this policy applies no other headerModifiers do (a Gateway's, or a newer policy's) (hint: add set, add or remove entries, or leave it out)",
  ]);
});

test("bad modifiers are errors at the field: none set, a name twice, an invalid name, a header the gateway frames", () => {
  assert.deepEqual(errors(TWO_RULE_ROUTE + policy("p", "  headerModifiers: {}\n")), [
    "t.yaml:34:20: spec.headerModifiers: request or response must be set (hint: add request: {set: [{name: x-env, value: prod}]} or a response the same way)",
  ]);
  assert.deepEqual(errors(TWO_RULE_ROUTE + policy("p", "  headerModifiers:\n    request: {set: [{name: x-a, value: '1'}], remove: [X-A, 'bad name']}\n    response: {set: [{name: content-length, value: '3'}]}\n")), [
    't.yaml:35:56: spec.headerModifiers.request.remove[0]: header "X-A" is modified twice (also set.0.name) (hint: a header may appear once across set, add and remove)',
    't.yaml:35:61: spec.headerModifiers.request.remove[1]: "bad name" is not a valid header name (hint: use letters, digits and !#$%&\'*+-.^_`|~ only (an RFC 9110 token))',
    't.yaml:36:29: spec.headerModifiers.response.set[0].name: header "content-length" cannot be set on a response: the gateway writes it from how it frames the body and runs the client connection (hint: remove this entry)',
  ]);
});

test("Gateways sharing a listener must take headerModifiers from the same policy", () => {
  assert.deepEqual(
    errors(ROUTE_ON_SHARED_LISTENER + policy("p", MODIFIERS, TO_GATEWAY)).map((e) => e.replace(/^.*whose /, "")),
    ["headerModifiers comes from TrafficPolicy default/p; HTTPRoute default/web is on both and would get the headerModifiers of whichever Gateway the route table picked (hint: give the listeners distinct hostnames or ports, or target both Gateways with the same TrafficPolicy headerModifiers)"],
  );
});
