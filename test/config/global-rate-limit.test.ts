// kgateway TrafficPolicy `rateLimit.global` and its GatewayExtension in the config: what each
// rule loads to, the extension's defaults and options, how a Gateway's global limit reaches
// the rules served through it, and the exact text of each error and warning.
import assert from "node:assert/strict";
import { test } from "node:test";
import type { GlobalRateLimitModel } from "../../src/config/model.ts";
import { filtersThrough } from "../../src/plan/gateway-filters.ts";
import { ROUTE_ON_SHARED_LISTENER, TO_GATEWAY, TO_RULE_A, TWO_RULE_ROUTE, errors, gatewayExtension, load, trafficPolicy, warnings } from "./helpers.ts";


const RLS = gatewayExtension(
  "rls",
  `  type: RateLimit
  rateLimit:
    grpcService: {backendRef: {name: ratelimit, port: 8081}}
    domain: api
`,
);

const GLOBAL = `{global: {extensionRef: {name: rls}, descriptors: [{entries: [{type: Generic, generic: {key: service, value: api}}, {type: RemoteAddress}]}, {entries: [{type: Header, header: X-User}]}, {entries: [{type: Path}]}]}}`;
const policy = (name: string, rateLimit: string, targets?: string, created?: string): string => trafficPolicy(name, `  rateLimit: ${rateLimit}\n`, targets, created);

/** The global rate limit of each rule of route `web`, '-' where it has none. */
function globalsOfRules(text: string): (GlobalRateLimitModel | "-")[] {
  const { config, diagnostics } = load(text);
  assert.ok(config, diagnostics.map((d) => d.message).join("\n"));
  return config.routes[0]!.rules.map((rule) => {
    const found = rule.filters.filter((f) => f.type === "GlobalRateLimit");
    assert.ok(found.length <= 1, "a rule never gets two global limits");
    return found[0] ?? "-";
  });
}

const DESCRIPTORS = [
  [{ type: "Generic", key: "service", value: "api" }, { type: "RemoteAddress" }],
  [{ type: "Header", key: "X-User", header: "x-user" }],
  [{ type: "Path" }],
];

test("each rule the policy covers asks the extension's service with the policy's descriptors; kgateway's defaults fail open after 100ms, without X-RateLimit headers", () => {
  const text = TWO_RULE_ROUTE + RLS + policy("limit", GLOBAL);
  const common = {
    type: "GlobalRateLimit",
    policyName: "default/limit",
    extension: "default/rls",
    routeName: "default/web",
    backendKey: "default/ratelimit:8081",
    domain: "api",
    descriptors: DESCRIPTORS,
    failOpen: true,
    timeoutMs: 100,
    rateLimitHeaders: false,
  };
  assert.deepEqual(globalsOfRules(text), [
    { ...common, ruleName: "a" },
    { ...common, ruleName: "rule-1" },
  ]);
  assert.deepEqual(errors(text), []);
  assert.deepEqual(warnings(text), []);
});

test("the extension's options: failOpen false, the shorter of timeout and requestTimeout, DraftVersion03 headers; a local limit beside the global one stays", () => {
  const strict = gatewayExtension(
    "rls",
    `  rateLimit:
    grpcService: {backendRef: {name: ratelimit, port: 8081}, requestTimeout: 40ms}
    domain: api
    failOpen: false
    timeout: 250ms
    xRateLimitHeaders: DraftVersion03
`,
  );
  const text = TWO_RULE_ROUTE + strict + policy("limit", GLOBAL.replace("{global:", "{local: {tokenBucket: {maxTokens: 5, fillInterval: 1s}}, global:"), TO_RULE_A);
  const [a, b] = globalsOfRules(text);
  assert.ok(a !== undefined && a !== "-");
  assert.deepEqual([a.failOpen, a.timeoutMs, a.rateLimitHeaders], [false, 40, true]);
  assert.equal(b, "-", "sectionName narrows it to rule a");
  const { config } = load(text);
  assert.deepEqual(
    config!.routes[0]!.rules[0]!.filters.map((f) => f.type),
    ["LocalRateLimit", "GlobalRateLimit"],
  );
});

test("a Gateway's global limit reaches each rule without one of its own, named for that rule; a route policy's local limit alone leaves it in place", () => {
  const text = TWO_RULE_ROUTE + RLS + policy("edge", GLOBAL, TO_GATEWAY) + policy("local", "{local: {tokenBucket: {maxTokens: 5, fillInterval: 1s}}}", TO_RULE_A);
  const { config, diagnostics } = load(text);
  assert.ok(config, diagnostics.map((d) => d.message).join("\n"));
  const gateway = config.gateways[0]!;
  assert.equal(gateway.globalRateLimit?.policyName, "default/edge");
  const [a, b] = config.routes[0]!.rules.map((rule) => filtersThrough(rule, gateway, 8080, "default/web"));
  const globalOf = (through: ReturnType<typeof filtersThrough>) => through.models.find((f) => f.type === "GlobalRateLimit") as GlobalRateLimitModel | undefined;
  assert.deepEqual([globalOf(a!)?.ruleName, globalOf(a!)?.routeName, globalOf(b!)?.ruleName], ["a", "default/web", "rule-1"]);
  assert.ok(a!.models.some((f) => f.type === "LocalRateLimit"), "rule a keeps its route's local limit");

  const own = TWO_RULE_ROUTE + RLS + policy("edge", GLOBAL, TO_GATEWAY) + policy("route", GLOBAL.replace("value: api}", "value: route}"), TO_RULE_A);
  const loaded = load(own).config!;
  const ruleA = filtersThrough(loaded.routes[0]!.rules[0]!, loaded.gateways[0]!, 8080, "default/web");
  assert.deepEqual(
    ruleA.models.filter((f) => f.type === "GlobalRateLimit").map((f) => (f as GlobalRateLimitModel).policyName),
    ["default/route"],
    "the route's own global limit replaces the Gateway's",
  );
});

test("a missing GatewayExtension, one of another type and malformed descriptor entries are errors at their fields", () => {
  assert.deepEqual(errors(TWO_RULE_ROUTE + policy("limit", GLOBAL)), [
    "t.yaml:34:38: spec.rateLimit.global.extensionRef: GatewayExtension default/rls is not in the file (hint: add a gateway.kgateway.dev/v1alpha1 GatewayExtension with spec.rateLimit {grpcService, domain}, or fix the name)",
  ]);
  const authExtension = gatewayExtension("rls", "  extAuth: {grpcService: {backendRef: {name: authz, port: 9000}}}\n");
  assert.deepEqual(errors(TWO_RULE_ROUTE + authExtension + policy("limit", GLOBAL)), [
    "t.yaml:40:38: spec.rateLimit.global.extensionRef: GatewayExtension default/rls is of type ExtAuth, not RateLimit (hint: name a GatewayExtension that sets spec.rateLimit)",
  ]);
  const bad = `{global: {extensionRef: {name: rls}, descriptors: [{entries: [{type: Generic}, {type: Path, header: x-a}, {type: Header, header: "bad name"}, {type: Header}]}]}}`;
  assert.deepEqual(errors(TWO_RULE_ROUTE + RLS + policy("limit", bad)), [
    "t.yaml:43:76: spec.rateLimit.global.descriptors[0].entries[0].generic: type Generic needs generic {key, value} (hint: add generic: {key: service, value: api})",
    "t.yaml:43:114: spec.rateLimit.global.descriptors[0].entries[1].header: header is set but type is Path (hint: remove header, or set type: Header)",
    "t.yaml:43:143: spec.rateLimit.global.descriptors[0].entries[2].header: \"bad name\" is not a valid header name (hint: use letters, digits and !#$%&'*+-.^_`|~ only (an RFC 9110 token))",
    "t.yaml:43:156: spec.rateLimit.global.descriptors[0].entries[3].header: type Header needs header: the request header whose value the entry takes (hint: add header: x-user-id)",
  ]);
  assert.deepEqual(errors(TWO_RULE_ROUTE + RLS + policy("limit", "{global: {extensionRef: {name: rls}, descriptors: []}}")), [
    "t.yaml:43:64: spec.rateLimit.global.descriptors: needs at least 1 item(s) (hint: add at least 1 item(s), or remove the field if it is optional)",
  ]);
});

test("a GatewayExtension is checked whether or not a policy names it: one block, a type that matches it, a reachable service and a time limit above zero; authority and retry are warned about", () => {
  assert.deepEqual(errors(TWO_RULE_ROUTE + gatewayExtension("none", "  type: RateLimit\n")), [
    "t.yaml:33:3: spec: a GatewayExtension needs one of extAuth, extProc, rateLimit, jwt or oauth2 (hint: keep the one this extension is for)",
  ]);
  assert.deepEqual(errors(TWO_RULE_ROUTE + RLS.replace("type: RateLimit", "type: ExtAuth")), [
    "t.yaml:33:9: spec.type: type ExtAuth does not match rateLimit, which is set (hint: write type: RateLimit, or remove type (kgateway deprecated it))",
  ]);
  const unreachable = gatewayExtension("rls", "  rateLimit:\n    grpcService: {backendRef: {group: gateway.tollgate.dev, kind: Backend, name: missing}}\n    domain: api\n    timeout: 0s\n");
  assert.deepEqual(errors(TWO_RULE_ROUTE + unreachable), [
    't.yaml:34:82: spec.rateLimit.grpcService.backendRef.name: Backend default/missing is not defined in the file (hint: add a gateway.tollgate.dev/v1alpha1 Backend named "missing" in namespace "default")',
    "t.yaml:36:14: spec.rateLimit.timeout: a rate limit call cannot have a zero time limit (hint: use at least 1ms; kgateway's default is 100ms)",
  ]);
  const noted = RLS.replace("grpcService: {backendRef: {name: ratelimit, port: 8081}}", "grpcService: {backendRef: {name: ratelimit, port: 8081}, authority: rls.internal, retry: {attempts: 2}}");
  assert.deepEqual(warnings(TWO_RULE_ROUTE + noted), [
    "t.yaml:35:73: spec.rateLimit.grpcService.authority: warning: authority is not applied: calls carry the service's host as their :authority (hint: remove authority, or point backendRef at the name the service expects)",
    "t.yaml:35:94: spec.rateLimit.grpcService.retry: warning: retry is not applied: a failed call is not repeated (failOpen decides what the request gets) (hint: remove retry)",
  ]);
  assert.deepEqual(errors(TWO_RULE_ROUTE + RLS.replace("    domain: api\n", "    domain: api\n    descriptors: []\n")), [
    't.yaml:37:5: spec.rateLimit.descriptors: unknown field "descriptors" (hint: valid fields here: grpcService, domain, failOpen, timeout, xRateLimitHeaders)',
  ]);
});

test("local and global limits are resolved apart, as kgateway merges them: an older local-only policy and a newer global-only one both apply", () => {
  const text = TWO_RULE_ROUTE + RLS + policy("local", "{local: {tokenBucket: {maxTokens: 5, fillInterval: 1s}}}", undefined, "2025-01-01T00:00:00Z") + policy("global", GLOBAL);
  const { config, diagnostics } = load(text);
  assert.ok(config, diagnostics.map((d) => d.message).join("\n"));
  assert.deepEqual(
    config.routes[0]!.rules.map((rule) => rule.filters.map((f) => f.type)),
    [
      ["LocalRateLimit", "GlobalRateLimit"],
      ["LocalRateLimit", "GlobalRateLimit"],
    ],
  );
  assert.deepEqual(warnings(text), []);
  const twoGlobals = TWO_RULE_ROUTE + RLS + policy("older", GLOBAL, undefined, "2025-01-01T00:00:00Z") + policy("newer", GLOBAL);
  assert.deepEqual(
    globalsOfRules(twoGlobals).map((g) => (g === "-" ? g : g.policyName)),
    ["default/older", "default/older"],
  );
  assert.deepEqual(warnings(twoGlobals), [
    "t.yaml:50:23: spec.rateLimit.global: warning: HTTPRoute default/web already gets rateLimit.global from TrafficPolicy default/older, which is older; this one is ignored for it",
  ]);
});

test("Gateways sharing a listener with a route on both must take their global limits from the same policy", () => {
  const text = ROUTE_ON_SHARED_LISTENER + RLS + policy("edge", GLOBAL, TO_GATEWAY);
  assert.deepEqual(errors(text), [
    "t.yaml:34:15: spec.listeners[0]: port 8080 hostname (any) is also served by Gateway default/gw, whose rateLimit.global comes from TrafficPolicy default/edge; HTTPRoute default/web is on both and would get the rateLimit.global of whichever Gateway the route table picked (hint: give the listeners distinct hostnames or ports, or target both Gateways with the same TrafficPolicy rateLimit.global)",
  ]);
});
