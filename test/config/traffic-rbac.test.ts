// kgateway TrafficPolicy `rbac` in the config: the model it loads to on routes (sectionName
// narrowing, the oldest policy per rule) and Gateways, and the exact text of each error: CEL
// that does not parse, names no variable, is not bool or matches a computed pattern; bad CIDRs;
// a policy without a condition; Gateways sharing a listener with different policies.
import assert from "node:assert/strict";
import { test } from "node:test";
import type { FilterModel, RuleModel } from "../../src/config/model.ts";
import { REDACTED, redactConfigForAdmin } from "../../src/config/redact.ts";
import { ROUTE_ON_SHARED_LISTENER, TO_GATEWAY, TO_RULE_A, TWO_RULE_ROUTE, errors, load, trafficPolicy as policy, warnings } from "./helpers.ts";

const ADMINS = "  rbac:\n    policy: {matchExpressions: [\"request.headers['x-role'] == 'admin'\"], allowedCIDRs: [10.0.0.0/8, '2001:db8::/32'], blockedCIDRs: [10.9.0.0/16]}\n";
const ADMINS_MODEL: FilterModel = {
  type: "Authorization",
  policy: "default/p",
  action: "Allow",
  expressions: ["request.headers['x-role'] == 'admin'"],
  allowedCidrs: ["10.0.0.0/8", "2001:db8::/32"],
  blockedCidrs: ["10.9.0.0/16"],
};

function loaded(text: string): { rules: readonly RuleModel[]; gateway: unknown } {
  const { config, diagnostics } = load(text);
  assert.ok(config, diagnostics.map((d) => d.message).join("\n"));
  return { rules: config.routes[0]!.rules, gateway: config.gateways[0]!.authorization };
}

test("on a route: the rule's Authorization filter, Allow by default; sectionName narrows it; per rule the oldest policy wins whole", () => {
  const { rules, gateway } = loaded(TWO_RULE_ROUTE + policy("p", ADMINS));
  assert.deepEqual(rules.map((r) => r.filters), [[ADMINS_MODEL], [ADMINS_MODEL]]);
  assert.equal(gateway, undefined);
  assert.deepEqual(warnings(TWO_RULE_ROUTE + policy("p", ADMINS)), []);

  const narrowed = loaded(TWO_RULE_ROUTE + policy("p", ADMINS, TO_RULE_A)).rules;
  assert.deepEqual(narrowed.map((r) => r.filters.length), [1, 0]);

  const older = policy("older", "  rbac: {action: Deny, policy: {blockedCIDRs: [192.0.2.0/24]}}\n", undefined, "2025-01-01T00:00:00Z");
  const two = TWO_RULE_ROUTE + policy("p", ADMINS) + older;
  assert.deepEqual(loaded(two).rules[0]!.filters, [{ type: "Authorization", policy: "default/older", action: "Deny", expressions: [], allowedCidrs: [], blockedCidrs: ["192.0.2.0/24"] }]);
  assert.deepEqual(warnings(two), ["t.yaml:35:5: spec.rbac: warning: HTTPRoute default/web already gets rbac from TrafficPolicy default/older, which is older; this one is ignored for it"]);
});

test("on a Gateway: one model for the Gateway, no warning, not copied into the route's rules", () => {
  const { rules, gateway } = loaded(TWO_RULE_ROUTE + policy("p", ADMINS, TO_GATEWAY));
  assert.deepEqual(gateway, ADMINS_MODEL);
  assert.deepEqual(rules.map((r) => r.filters), [[], []]);
  assert.deepEqual(warnings(TWO_RULE_ROUTE + policy("p", ADMINS, TO_GATEWAY)), []);
});

test("bad expressions are errors at their place in the string: syntax, an unknown variable, a non-bool result, a computed matches() pattern", () => {
  const expression = (expr: string): string[] => errors(TWO_RULE_ROUTE + policy("p", `  rbac: {policy: {matchExpressions: [${JSON.stringify(expr)}]}}\n`));
  const hint = "(hint: variables: request, source, destination, connection, route, metadata (see docs/configuration.md))";
  assert.deepEqual(expression("request.method == "), [`t.yaml:34:57: spec.rbac.policy.matchExpressions[0]: invalid CEL expression: Unexpected token: EOF (at character 19) ${hint}`]);
  assert.deepEqual(expression("claims.sub == 'y'"), [`t.yaml:34:39: spec.rbac.policy.matchExpressions[0]: invalid CEL expression: Unknown variable: claims (at character 1) ${hint}`]);
  assert.deepEqual(expression("metadata.filter_metadata['envoy.filters.http.jwt_authn']['payload']['sub'] == 'y'"), [], "the verified JWT payload, where kgateway users read it");
  assert.deepEqual(expression("metadata.filters == 'y'").length, 1, "metadata holds filter_metadata only");
  assert.deepEqual(expression("request.method"), [`t.yaml:34:38: spec.rbac.policy.matchExpressions[0]: invalid CEL expression: the expression must be a bool expression, this one is string ${hint}`]);
  assert.deepEqual(expression("request.path.matches(request.headers['x-p'])"), [
    "t.yaml:34:60: spec.rbac.policy.matchExpressions[0]: this matches() pattern is computed, so the config cannot check it, and a pattern built from the request could take time exponential in the request to match (at character 22) (hint: write the pattern as a string literal)",
  ]);
  assert.deepEqual(expression("source.address.startsWith('10.') && connection.mtls && request.time > timestamp('2026-01-01T00:00:00Z')"), []);
});

test("bad CIDRs, a policy without a condition and an unknown action are errors at the field", () => {
  const hint = "(hint: write an address and a prefix length, such as 10.0.0.0/8 or 2001:db8::/32)";
  assert.deepEqual(errors(TWO_RULE_ROUTE + policy("p", "  rbac: {policy: {allowedCIDRs: [10.0.0.0/33, 300.1.1.1/8, 'fe80::/129'], blockedCIDRs: [not-an-ip]}}\n")), [
    `t.yaml:34:34: spec.rbac.policy.allowedCIDRs[0]: invalid CIDR: the prefix length "33" must be a whole number from 0 to 32 ${hint}`,
    `t.yaml:34:47: spec.rbac.policy.allowedCIDRs[1]: invalid CIDR: "300.1.1.1" is not an IPv4 or IPv6 address ${hint}`,
    `t.yaml:34:60: spec.rbac.policy.allowedCIDRs[2]: invalid CIDR: the prefix length "129" must be a whole number from 0 to 128 ${hint}`,
    `t.yaml:34:90: spec.rbac.policy.blockedCIDRs[0]: invalid CIDR: "not-an-ip" is not an IPv4 or IPv6 address ${hint}`,
  ]);
  assert.deepEqual(errors(TWO_RULE_ROUTE + policy("p", "  rbac: {policy: {}}\n")), [
    "t.yaml:34:18: spec.rbac.policy: the policy sets no condition: one of matchExpressions, allowedCIDRs or blockedCIDRs is needed (hint: add matchExpressions: [\"request.headers['x-role'] == 'admin'\"] or allowedCIDRs: [10.0.0.0/8])",
  ]);
  assert.deepEqual(errors(TWO_RULE_ROUTE + policy("p", "  rbac: {action: Log, policy: {matchExpressions: ['true']}}\n")), ['t.yaml:34:18: spec.rbac.action: the string "Log" is not allowed (hint: one of Allow, Deny)']);
});

test("Gateways sharing a listener must take rbac from the same policy", () => {
  assert.deepEqual(
    errors(ROUTE_ON_SHARED_LISTENER + policy("p", "  rbac: {policy: {matchExpressions: ['true']}}\n", TO_GATEWAY)).map((e) => e.replace(/^.*whose /, "")),
    ["rbac comes from TrafficPolicy default/p; HTTPRoute default/web is on both and would get the rbac of whichever Gateway the route table picked (hint: give the listeners distinct hostnames or ports, or target both Gateways with the same TrafficPolicy rbac)"],
  );
});

test("the admin view shows each expression's shape, the names it looks up, and none of the values it compares with", () => {
  const expressions = [
    "request.headers['Authorization'] == 'Bearer s3cret'",
    "request.headers.cookie.contains('session=abc')",
    "request.headers.?authorization.orValue('') == 'Bearer opt1'",
    "request.headers[?'cookie'].orValue('') == 'sid=opt2'",
    "request.url_path == '/public'",
    "bytes(request.headers['x-api-key']) == b'bytes1'",
    "'inlist1' in [request.headers['x-api-key']] // was: comment1",
  ];
  const body = `  rbac:\n    policy: {matchExpressions: ${JSON.stringify(expressions)}}\n`;
  const shown = JSON.stringify(redactConfigForAdmin(load(TWO_RULE_ROUTE + policy("p", body, TO_GATEWAY)).config!));
  for (const secret of ["s3cret", "session=abc", "opt1", "opt2", "bytes1", "inlist1", "comment1"]) assert.ok(!shown.includes(secret), shown);
  const r = JSON.stringify(REDACTED);
  assert.deepEqual((JSON.parse(shown) as { gateways: { authorization: { expressions: string[] } }[] }).gateways[0]!.authorization.expressions, [
    `request.headers['Authorization'] == ${r}`,
    `request.headers.cookie.contains(${r})`,
    `request.headers.?authorization.orValue(${r}) == ${r}`,
    `request.headers[?'cookie'].orValue(${r}) == ${r}`,
    `request.url_path == ${r}`,
    `bytes(request.headers['x-api-key']) == ${r}`,
    `${r} in [request.headers['x-api-key']] `,
  ]);
  assert.ok(shown.includes('"policy":"default/p","action":"Allow"'), shown);
});

test("a route sectionName that names no rule fails the load for rbac, which would otherwise cover nothing", () => {
  assert.deepEqual(errors(TWO_RULE_ROUTE + policy("p", "  rbac: {policy: {matchExpressions: ['false']}}\n", TO_RULE_A.replace("sectionName: a", "sectionName: admn"))), [
    't.yaml:33:92: spec.targetRefs[0].sectionName: HTTPRoute default/web has no rule named "admn"; rbac applies to no rule through it (hint: name a rule of the route: a)',
  ]);
});

test("a Gateway targetRef with sectionName gives that listener the rbac, not the whole Gateway; a listener the Gateway lacks fails the load", () => {
  const toListener = (section: string): string => `[{group: gateway.networking.k8s.io, kind: Gateway, name: gw, sectionName: ${section}}]`;
  const text = TWO_RULE_ROUTE + policy("p", ADMINS, toListener("http"));
  assert.deepEqual([errors(text), warnings(text)], [[], []]);
  const gateway = load(text).config!.gateways[0]!;
  assert.equal(gateway.authorization, undefined);
  assert.deepEqual(gateway.listenerPolicies?.get("http")?.authorization, ADMINS_MODEL);
  // A misspelt listener would leave the one meant open: an error, as for a rule name.
  assert.deepEqual(errors(TWO_RULE_ROUTE + policy("p", ADMINS, toListener("https"))), [
    `t.yaml:33:89: spec.targetRefs[0].sectionName: Gateway default/gw has no listener named "https"; rbac applies to no listener through it (hint: name one of the Gateway's spec.listeners, or remove sectionName to cover the whole Gateway)`,
  ]);
  // Without an access control the targetRef only has no effect.
  const modifiers = TWO_RULE_ROUTE + policy("p", "  headerModifiers: {request: {set: [{name: x, value: y}]}}\n", toListener("https"));
  assert.deepEqual(errors(modifiers), []);
  assert.deepEqual(warnings(modifiers), [
    `t.yaml:33:89: spec.targetRefs[0].sectionName: warning: Gateway default/gw has no listener named "https"; this targetRef has no effect (hint: name one of the Gateway's spec.listeners, or remove sectionName to cover the whole Gateway)`,
  ]);
  assert.equal(load(modifiers).config!.gateways[0]!.listenerPolicies, undefined);
});

test("an IPv6 range wider than /96 that holds the IPv4-mapped block is warned about: mapped clients are judged as IPv4", () => {
  assert.deepEqual(warnings(TWO_RULE_ROUTE + policy("p", "  rbac: {policy: {blockedCIDRs: ['::/0', '2001:db8::/32', '::ffff:0:0/96']}}\n")), [
    "t.yaml:34:34: spec.rbac.policy.blockedCIDRs[0]: warning: this IPv6 range holds the IPv4-mapped block ::ffff:0:0/96, but a client forwarded as ::ffff:a.b.c.d is judged as its IPv4 address, which IPv6 ranges never hold (hint: list the IPv4 range too (0.0.0.0/0 for all of them))",
  ]);
});
