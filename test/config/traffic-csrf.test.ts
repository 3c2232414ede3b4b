// kgateway TrafficPolicy `csrf` in the config: the model on routes and Gateways, the shares,
// the string matchers of additionalOrigins, and the exact text of each error and warning:
// both shares set, a policy that checks nothing, bad matchers, a whole origin where a host
// belongs, a misspelt rule name.
import assert from "node:assert/strict";
import { test } from "node:test";
import type { FilterModel } from "../../src/config/model.ts";
import { TO_GATEWAY, TWO_RULE_ROUTE, errors, load, trafficPolicy as policy, warnings } from "./helpers.ts";

const ENFORCED = "  csrf:\n    percentageEnabled: 100\n    additionalOrigins:\n    - {exact: app.example.com}\n    - {suffix: .Partner.example, ignoreCase: true}\n    - {safeRegex: 'tools-[0-9]+\\.example\\.com:8443'}\n";
const ENFORCED_MODEL: FilterModel = {
  type: "Csrf",
  policy: "default/p",
  enabledShare: 1,
  shadowShare: 0,
  additionalOrigins: [
    { kind: "exact", value: "app.example.com", ignoreCase: false },
    { kind: "suffix", value: ".Partner.example", ignoreCase: true },
    { kind: "safeRegex", value: "tools-[0-9]+\\.example\\.com:8443", ignoreCase: false },
  ],
};

test("on a route each rule gets the Csrf filter; on a Gateway one model for the Gateway", () => {
  const route = load(TWO_RULE_ROUTE + policy("p", ENFORCED)).config!;
  assert.deepEqual(route.routes[0]!.rules.map((r) => r.filters), [[ENFORCED_MODEL], [ENFORCED_MODEL]]);
  assert.deepEqual(warnings(TWO_RULE_ROUTE + policy("p", ENFORCED)), []);
  const gateway = load(TWO_RULE_ROUTE + policy("p", ENFORCED, TO_GATEWAY)).config!;
  assert.deepEqual(gateway.gateways[0]!.csrf, ENFORCED_MODEL);
  assert.deepEqual(gateway.routes[0]!.rules.map((r) => r.filters), [[], []]);
  const shadow = load(TWO_RULE_ROUTE + policy("p", "  csrf: {percentageShadowed: 25}\n")).config!;
  assert.deepEqual(shadow.routes[0]!.rules[0]!.filters, [{ type: "Csrf", policy: "default/p", enabledShare: 0, shadowShare: 0.25, additionalOrigins: [] }]);
});

test("both shares set is an error; a policy that leaves the shares unset is warned about", () => {
  assert.deepEqual(errors(TWO_RULE_ROUTE + policy("p", "  csrf: {percentageEnabled: 50, percentageShadowed: 50}\n")), [
    "t.yaml:34:53: spec.csrf.percentageShadowed: percentageEnabled and percentageShadowed are both set; kgateway takes at most one (hint: keep percentageEnabled to refuse cross-origin requests, or percentageShadowed to only count them)",
  ]);
  assert.deepEqual(warnings(TWO_RULE_ROUTE + policy("p", "  csrf: {additionalOrigins: [{exact: a.example}]}\n")), [
    "t.yaml:34:9: spec.csrf: warning: csrf checks no request: percentageEnabled defaults to 0 (as in kgateway) (hint: set percentageEnabled: 100 to refuse cross-origin requests, or percentageShadowed: 100 to count them first)",
  ]);
  // A 0 written out is a route turning its Gateway's csrf off (kgateway's csrf has no disable).
  assert.deepEqual(warnings(TWO_RULE_ROUTE + policy("p", "  csrf: {percentageEnabled: 0}\n")), []);
  assert.deepEqual(errors(TWO_RULE_ROUTE + policy("p", "  csrf: {percentageEnabled: 101}\n")).length, 1);
});

test("additionalOrigins: one way per matcher, no empty prefix, RE2-safe regexes; a scheme is warned about", () => {
  const body = "  csrf:\n    percentageEnabled: 100\n    additionalOrigins:\n    - {}\n    - {exact: a.example, prefix: b}\n    - {safeRegex: '(a'}\n    - {safeRegex: '(?<=x)y'}\n";
  assert.deepEqual(errors(TWO_RULE_ROUTE + policy("p", body)), [
    "t.yaml:37:7: spec.csrf.additionalOrigins[0]: a string matcher needs one of exact, prefix, suffix, contains or safeRegex (hint: keep the one way this value is matched)",
    "t.yaml:38:7: spec.csrf.additionalOrigins[1]: exact and prefix are set; a string matcher takes exactly one (hint: keep the one way this value is matched)",
    "t.yaml:39:19: spec.csrf.additionalOrigins[2].safeRegex: invalid regular expression: Unterminated group (hint: use ECMAScript regular expression syntax)",
    "t.yaml:40:19: spec.csrf.additionalOrigins[3].safeRegex: the lookaround (?<= is not RE2 syntax (the Gateway API's and Envoy's), and such a pattern can take time exponential in the request to match (hint: rewrite it without backreferences and lookarounds)",
  ]);
  // Envoy refuses an empty prefix or suffix: it would match every origin.
  assert.deepEqual(errors(TWO_RULE_ROUTE + policy("p", "  csrf:\n    percentageEnabled: 100\n    additionalOrigins: [{prefix: ''}]\n")), [
    "t.yaml:36:34: spec.csrf.additionalOrigins[0].prefix: must not be empty (hint: give it a value, or remove the field if it is optional)",
  ]);
  const schemed = "  csrf:\n    percentageEnabled: 100\n    additionalOrigins:\n    - {exact: 'https://app.example.com'}\n    - {safeRegex: 'A.*', ignoreCase: true}\n    - {exact: 'capacitor://localhost'}\n";
  assert.deepEqual(warnings(TWO_RULE_ROUTE + policy("p", schemed)), [
    't.yaml:37:15: spec.csrf.additionalOrigins[0].exact: warning: "https://app.example.com" holds an http(s) scheme, but such origins are matched by their host and port (as in Envoy), so it matches nothing (hint: write the host alone, with the port when it is not the scheme\'s default: app.example.com, or app.example.com:8443)',
    "t.yaml:38:38: spec.csrf.additionalOrigins[1].ignoreCase: warning: ignoreCase does not apply to safeRegex (as in Envoy): the pattern matches case as written (hint: write the pattern to match either case, e.g. [Ee]xample)",
  ]);
});

test("a misspelt rule name is an error for csrf, as for the other access controls", () => {
  const toRule = "[{group: gateway.networking.k8s.io, kind: HTTPRoute, name: web, sectionName: nope}]";
  const found = errors(TWO_RULE_ROUTE + policy("p", "  csrf: {percentageEnabled: 100}\n", toRule));
  assert.equal(found.length, 1);
  assert.match(found[0]!, /spec\.targetRefs\[0\]\.sectionName: HTTPRoute default\/web has no rule named "nope"; csrf applies to no rule through it/);
  // A route's csrf replaces its Gateway's whole for its rules, as kgateway enforces the most specific.
  const both = load(TWO_RULE_ROUTE + policy("gw-wide", "  csrf: {percentageShadowed: 100}\n", TO_GATEWAY) + policy("p", ENFORCED)).config!;
  assert.equal(both.gateways[0]!.csrf?.policy, "default/gw-wide");
  assert.deepEqual(both.routes[0]!.rules[0]!.filters, [ENFORCED_MODEL]);
});
