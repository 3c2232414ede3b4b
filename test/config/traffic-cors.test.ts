// kgateway TrafficPolicy `cors` on Gateways and listeners, and `cors.disable` (v2.1): what each
// rule gets through its Gateway, what a route-level disable turns off, and the exact text of
// each warning (the other fields beside disable, a disable on a whole Gateway).
import assert from "node:assert/strict";
import { test } from "node:test";
import type { CorsModel, FilterModel } from "../../src/config/model.ts";
import { filtersThrough } from "../../src/plan/gateway-filters.ts";
import { ROUTE_ON_SHARED_LISTENER, TO_GATEWAY, TO_RULE_A, TWO_RULE_ROUTE, errors, load, trafficPolicy as policy, warnings } from "./helpers.ts";

const EDGE_CORS: CorsModel = {
  type: "CORS",
  allowOrigins: ["https://app.example"],
  allowCredentials: false,
  allowMethods: [],
  allowHeaders: [],
  exposeHeaders: [],
  maxAgeSeconds: 5,
};
const ON_GATEWAY = policy("edge", "  cors: {allowOrigins: ['https://app.example']}\n", TO_GATEWAY, "2025-01-01T00:00:00Z");
const TO_LISTENER = "[{group: gateway.networking.k8s.io, kind: Gateway, name: gw, sectionName: http}]";

/** The CORS-related filters each rule of route `web` meets through Gateway `gw` (or its listener `http`). */
function corsThrough(text: string, listener?: string): FilterModel[][] {
  const { config, diagnostics } = load(text);
  assert.ok(config, diagnostics.map((d) => d.message).join("\n"));
  const gateway = config.gateways[0]!;
  const policies = listener === undefined ? gateway : (gateway.listenerPolicies?.get(listener) ?? gateway);
  return config.routes[0]!.rules.map((rule) => filtersThrough(rule, policies, 8080, "default/web").models.filter((f) => f.type === "CORS" || f.type === "NoCors"));
}

test("a Gateway's cors reaches every rule without CORS of its own; the Gateway's policy sets the rules' filters apart", () => {
  assert.deepEqual([errors(TWO_RULE_ROUTE + ON_GATEWAY), warnings(TWO_RULE_ROUTE + ON_GATEWAY)], [[], []]);
  const config = load(TWO_RULE_ROUTE + ON_GATEWAY).config!;
  assert.deepEqual(config.gateways[0]!.cors, { policy: "default/edge", filter: EDGE_CORS });
  assert.deepEqual(config.routes[0]!.rules.map((r) => r.filters), [[], []], "the routes' own rules carry nothing: the Gateway's comes at compile time");
  assert.deepEqual(corsThrough(TWO_RULE_ROUTE + ON_GATEWAY), [[EDGE_CORS], [EDGE_CORS]]);
  assert.equal(filtersThrough(config.routes[0]!.rules[0]!, config.gateways[0]!, 8080, "default/web").variant.includes("default/edge"), true);
});

test("a route's cors.disable turns the Gateway's off for the rules it covers; a route's own cors replaces it", () => {
  const text = TWO_RULE_ROUTE + ON_GATEWAY + policy("off", "  cors: {disable: {}}\n", TO_RULE_A);
  assert.deepEqual([errors(text), warnings(text)], [[], []]);
  assert.deepEqual(
    load(text).config!.routes[0]!.rules.map((r) => r.filters),
    [[{ type: "NoCors" }], []],
  );
  assert.deepEqual(corsThrough(text), [[{ type: "NoCors" }], [EDGE_CORS]]);
  const own = TWO_RULE_ROUTE + ON_GATEWAY + policy("own", "  cors: {allowOrigins: ['https://other.example']}\n", TO_RULE_A);
  assert.deepEqual(corsThrough(own).map((filters) => filters.map((f) => (f.type === "CORS" ? f.allowOrigins : []))), [[["https://other.example"]], [["https://app.example"]]]);
});

test("a rule's own HTTPRoute CORS filter beats the Gateway's cors", () => {
  const withFilter = TWO_RULE_ROUTE.replace(
    "    matches: [{path: {type: PathPrefix, value: /a}}]\n",
    "    matches: [{path: {type: PathPrefix, value: /a}}]\n    filters: [{type: CORS, cors: {allowOrigins: ['https://own.example']}}]\n",
  );
  const [a, b] = corsThrough(withFilter + ON_GATEWAY);
  assert.deepEqual(a!.map((f) => (f as CorsModel).allowOrigins), [["https://own.example"]]);
  assert.deepEqual(b, [EDGE_CORS]);
});

test("a listener's cors.disable turns the Gateway's off through that listener; on a whole Gateway it turns nothing off (warned)", () => {
  const text = TWO_RULE_ROUTE + ON_GATEWAY + policy("open", "  cors: {disable: {}}\n", TO_LISTENER);
  assert.deepEqual([errors(text), warnings(text)], [[], []]);
  assert.deepEqual(corsThrough(text, "http"), [[], []]);
  const whole = TWO_RULE_ROUTE + ON_GATEWAY + policy("g", "  cors: {disable: {}}\n", TO_GATEWAY);
  assert.deepEqual(warnings(whole), [
    "t.yaml:41:19: spec.cors.disable: warning: cors.disable turns off nothing on Gateway default/gw: a Gateway's cors is the one a route's, or a listener's, disable turns off (hint: target the HTTPRoutes whose rules should not be given CORS answers, or the listener by sectionName)",
  ]);
  assert.deepEqual(load(whole).config!.gateways[0]!.cors?.policy, "default/edge", "the older policy's cors stays");
});

test("fields beside disable load with a warning, as kgateway drops them (there is no CRD rule against them); a bad one still fails, as the CRD validates it", () => {
  const text = TWO_RULE_ROUTE + policy("p", "  cors: {disable: {}, allowOrigins: ['https://a.example'], maxAge: 60}\n");
  assert.deepEqual(errors(text), []);
  assert.deepEqual(warnings(text), [
    "t.yaml:34:37: spec.cors.allowOrigins: warning: allowOrigins and maxAge have no effect with disable: the rules get no CORS (kgateway drops them too) (hint: remove them, or disable in a policy of its own)",
  ]);
  assert.deepEqual(load(text).config!.routes[0]!.rules.map((r) => r.filters), [[{ type: "NoCors" }], [{ type: "NoCors" }]]);
  assert.deepEqual(errors(TWO_RULE_ROUTE + policy("p", "  cors: {disable: {}, allowOrigins: ['ftp://a.example']}\n")), [
    't.yaml:34:38: spec.cors.allowOrigins[0]: "ftp://a.example" is not a CORS origin (hint: only http and https origins are allowed, in lower case; write scheme://host[:port], e.g. https://app.example.com, https://*.example.com or "*")',
  ]);
});

test("Gateways sharing a listener, with a route on both, must take cors from the same policy", () => {
  assert.deepEqual(errors(ROUTE_ON_SHARED_LISTENER + ON_GATEWAY), [
    "t.yaml:34:15: spec.listeners[0]: port 8080 hostname (any) is also served by Gateway default/gw, whose cors comes from TrafficPolicy default/edge; HTTPRoute default/web is on both and would get the cors of whichever Gateway the route table picked (hint: give the listeners distinct hostnames or ports, or target both Gateways with the same TrafficPolicy cors)",
  ]);
});
