// kgateway TrafficPolicy `acl` in the config: the model on routes and Gateways, and the exact
// text of each error: bad CIDRs, a deny status that cannot carry the answer, deny headers the
// gateway frames or that repeat, bad names; a Gateway targetRef with sectionName.
import assert from "node:assert/strict";
import { test } from "node:test";
import type { FilterModel } from "../../src/config/model.ts";
import { TO_GATEWAY, TWO_RULE_ROUTE, errors, load, trafficPolicy as policy, warnings } from "./helpers.ts";

const OFFICE = "  acl:\n    defaultAction: deny\n    rules:\n    - {name: office, cidrs: [10.0.0.0/8, '::1'], action: allow}\n    - {cidrs: [10.1.0.0/16], action: deny}\n    denyResponse: {statusCode: 451, headers: [{name: X-Why, value: geo}], blockedByHeaderName: X-Blocked-By}\n";
const OFFICE_MODEL: FilterModel = {
  type: "ClientAcl",
  policy: "default/p",
  defaultAction: "deny",
  rules: [
    { name: "office", cidrs: ["10.0.0.0/8", "::1"], action: "allow" },
    { name: undefined, cidrs: ["10.1.0.0/16"], action: "deny" },
  ],
  denyStatus: 451,
  denyHeaders: [{ name: "x-why", value: "geo" }],
  blockedByHeader: "x-blocked-by",
};

test("on a route each rule gets the ClientAcl filter; on a Gateway one model for the Gateway; 403 by default", () => {
  const route = load(TWO_RULE_ROUTE + policy("p", OFFICE)).config!;
  assert.deepEqual(route.routes[0]!.rules.map((r) => r.filters), [[OFFICE_MODEL], [OFFICE_MODEL]]);
  assert.deepEqual(warnings(TWO_RULE_ROUTE + policy("p", OFFICE)), []);
  const gateway = load(TWO_RULE_ROUTE + policy("p", OFFICE, TO_GATEWAY)).config!;
  assert.deepEqual(gateway.gateways[0]!.acl, OFFICE_MODEL);
  assert.deepEqual(gateway.routes[0]!.rules.map((r) => r.filters), [[], []]);
  const plain = load(TWO_RULE_ROUTE + policy("p", "  acl: {defaultAction: allow}\n")).config!;
  assert.deepEqual(plain.routes[0]!.rules[0]!.filters, [{ type: "ClientAcl", policy: "default/p", defaultAction: "allow", rules: [], denyStatus: 403, denyHeaders: [], blockedByHeader: undefined }]);
});

test("bad rules and deny responses are errors at the field", () => {
  const body =
    "  acl:\n    defaultAction: deny\n    rules:\n    - {name: \"bad\\nname\", cidrs: [10.0.0.0/33], action: allow}\n" +
    "    denyResponse: {statusCode: 204, headers: [{name: content-length, value: '3'}, {name: x-a, value: '1'}, {name: X-A, value: '2'}, {name: 'bad name', value: v}], blockedByHeaderName: x-a}\n";
  assert.deepEqual(errors(TWO_RULE_ROUTE + policy("p", body)), [
    "t.yaml:37:14: spec.acl.rules[0].name: the name holds a character no HTTP header may carry (hint: use visible characters, spaces and tabs only: no CR, LF, NUL or other control character, and nothing outside Latin-1)",
    't.yaml:37:35: spec.acl.rules[0].cidrs[0]: invalid CIDR: the prefix length "33" must be a whole number from 0 to 32 (hint: write an address, or an address and a prefix length, such as 10.0.0.0/8 or 2001:db8::/32)',
    "t.yaml:38:32: spec.acl.denyResponse.statusCode: a denial must answer with a 4xx or 5xx status, not 204 (hint: use 403 (the default), or another 4xx such as 451)",
    't.yaml:38:54: spec.acl.denyResponse.headers[0].name: header "content-length" cannot be set on a denial: the gateway writes it from how it frames the answer (hint: remove this entry)',
    't.yaml:38:115: spec.acl.denyResponse.headers[2].name: header "X-A" is listed twice (hint: list each header once)',
    't.yaml:38:140: spec.acl.denyResponse.headers[3].name: "bad name" is not a valid header name (hint: use letters, digits and !#$%&\'*+-.^_`|~ only (an RFC 9110 token))',
    't.yaml:38:185: spec.acl.denyResponse.blockedByHeaderName: "x-a" is also one of headers (hint: name another header)',
  ]);
  assert.deepEqual(errors(TWO_RULE_ROUTE + policy("p", "  acl: {defaultAction: allow, denyResponse: {statusCode: 100}}\n")), [
    "t.yaml:34:58: spec.acl.denyResponse.statusCode: a denial must answer with a 4xx or 5xx status, not 100 (hint: use 403 (the default), or another 4xx such as 451)",
  ]);
  assert.equal(errors(TWO_RULE_ROUTE + policy("p", "  acl: {defaultAction: allow, denyResponse: {statusCode: 301}}\n")).length, 1);
  assert.deepEqual(errors(TWO_RULE_ROUTE + policy("p", "  acl: {rules: [{cidrs: [10.0.0.0/8], action: allow}]}\n")), ['t.yaml:34:8: spec.acl.defaultAction: missing required field (hint: add "defaultAction")']);
});

test("a Gateway targetRef with sectionName gives that listener the acl, which beats the Gateway's there", () => {
  const toListener = "[{group: gateway.networking.k8s.io, kind: Gateway, name: gw, sectionName: http}]";
  const text = TWO_RULE_ROUTE + policy("all", "  acl: {defaultAction: allow}\n", TO_GATEWAY, "2025-01-01T00:00:00Z") + policy("p", "  acl: {defaultAction: deny}\n", toListener);
  assert.deepEqual([errors(text), warnings(text)], [[], []]);
  const gateway = load(text).config!.gateways[0]!;
  assert.equal(gateway.acl?.policy, "default/all");
  assert.equal(gateway.listenerPolicies?.get("http")?.acl?.policy, "default/p");
});

test("a 401, 405 or 407 denial without the header that status needs is warned about", () => {
  assert.deepEqual(warnings(TWO_RULE_ROUTE + policy("p", "  acl: {defaultAction: deny, denyResponse: {statusCode: 401}}\n")), [
    "t.yaml:34:57: spec.acl.denyResponse.statusCode: warning: a 401 answer needs a www-authenticate header, which this denial does not carry (hint: add {name: www-authenticate, value: ...} to headers, or answer 403)",
  ]);
  assert.deepEqual(warnings(TWO_RULE_ROUTE + policy("p", "  acl: {defaultAction: deny, denyResponse: {statusCode: 401, headers: [{name: WWW-Authenticate, value: Basic}]}}\n")), []);
});

test("addBlockedByHeader, the http-acl module's own JSON key and never a TrafficPolicy field, is refused as unknown", () => {
  assert.deepEqual(errors(TWO_RULE_ROUTE + policy("p", "  acl: {defaultAction: deny, denyResponse: {addBlockedByHeader: x-blocked-by}}\n")), [
    't.yaml:34:45: spec.acl.denyResponse.addBlockedByHeader: unknown field "addBlockedByHeader" (hint: valid fields here: statusCode, headers, blockedByHeaderName)',
  ]);
});
