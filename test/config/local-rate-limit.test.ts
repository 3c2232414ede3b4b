// kgateway TrafficPolicy `rateLimit.local` in the config: what each rule it covers loads to
// (its own bucket key), kgateway's defaults, and the exact text of each error and warning.
import assert from "node:assert/strict";
import { test } from "node:test";
import type { LocalRateLimitModel } from "../../src/config/model.ts";
import { TWO_RULE_ROUTE, errors, load, trafficPolicy, warnings } from "./helpers.ts";

const ROUTES = TWO_RULE_ROUTE;

const policy = (name: string, rateLimit: string, targets?: string, created?: string): string => trafficPolicy(name, `  rateLimit: ${rateLimit}\n`, targets, created);

/** The rate limit filter of each rule of route `web`, '-' where it has none. */
function limitsOfRules(text: string): (LocalRateLimitModel | "-")[] {
  const { config, diagnostics } = load(text);
  assert.ok(config, diagnostics.map((d) => d.message).join("\n"));
  return config.routes[0]!.rules.map((rule) => {
    const limits = rule.filters.filter((f) => f.type === "LocalRateLimit");
    assert.ok(limits.length <= 1, "a rule never gets two rate limits");
    return limits[0] ?? "-";
  });
}

test("a local token bucket gives each rule of the route its own bucket, with kgateway's defaults for tokensPerFill and the percentages", () => {
  const text = ROUTES + policy("limit", "{local: {tokenBucket: {maxTokens: 10, fillInterval: 1m30s}}}");
  const common = { type: "LocalRateLimit", maxTokens: 10, tokensPerFill: 1, fillIntervalMs: 90_000, enabledShare: 1, enforcedShare: 1, policyName: "default/limit", routeName: "default/web" };
  assert.deepEqual(limitsOfRules(text), [
    { ...common, ruleName: "a", bucketKey: "default/limit default/web a" },
    { ...common, ruleName: "rule-1", bucketKey: 'default/limit default/web [["PathPrefix","/b","",[],[]]]' },
  ]);
  assert.deepEqual(warnings(text), []);
  assert.deepEqual(limitsOfRules(ROUTES), ["-", "-"]);
});

test("every field is read: tokensPerFill, percentEnabled and percentEnforced as shares", () => {
  const [a] = limitsOfRules(ROUTES + policy("limit", "{local: {tokenBucket: {maxTokens: 5, tokensPerFill: 2, fillInterval: 500ms}, percentEnabled: 40, percentEnforced: 0}}"));
  assert.ok(a !== undefined && a !== "-");
  assert.deepEqual([a.maxTokens, a.tokensPerFill, a.fillIntervalMs, a.enabledShare, a.enforcedShare], [5, 2, 500, 0.4, 0]);
});

test("sectionName narrows the limit to that rule; of two policies on one rule the older wins, with a warning at the newer", () => {
  const toRuleA = "[{group: gateway.networking.k8s.io, kind: HTTPRoute, name: web, sectionName: a}]";
  const narrowed = limitsOfRules(ROUTES + policy("limit", "{local: {tokenBucket: {maxTokens: 3, fillInterval: 1s}}}", toRuleA));
  assert.equal(narrowed[1], "-");
  assert.equal((narrowed[0] as LocalRateLimitModel).maxTokens, 3);

  const text = ROUTES + policy("newer", "{local: {tokenBucket: {maxTokens: 1, fillInterval: 1s}}}") + policy("older", "{local: {tokenBucket: {maxTokens: 2, fillInterval: 1s}}}", undefined, "2025-01-01T00:00:00Z");
  assert.deepEqual(
    limitsOfRules(text).map((l) => (l === "-" ? l : l.policyName)),
    ["default/older", "default/older"],
  );
  assert.deepEqual(warnings(text), ["t.yaml:34:22: spec.rateLimit.local: warning: HTTPRoute default/web already gets rateLimit.local from TrafficPolicy default/older, which is older; this one is ignored for it"]);
});

test("kgateway's local: {} turns the limit off: as the oldest policy on a rule it keeps a newer policy's limit away, with the usual warning", () => {
  const off = ROUTES + policy("off", "{local: {}}", undefined, "2025-01-01T00:00:00Z") + policy("limit", "{local: {tokenBucket: {maxTokens: 1, fillInterval: 1s}}}");
  assert.deepEqual(limitsOfRules(off), ["-", "-"]);
  assert.deepEqual(errors(off), []);
  assert.deepEqual(warnings(off), ["t.yaml:41:22: spec.rateLimit.local: warning: HTTPRoute default/web already gets rateLimit.local from TrafficPolicy default/off, which is older; this one is ignored for it"]);
  const toRuleA = "[{group: gateway.networking.k8s.io, kind: HTTPRoute, name: web, sectionName: a}]";
  const partly = ROUTES + policy("off", "{local: {}}", toRuleA, "2025-01-01T00:00:00Z") + policy("limit", "{local: {tokenBucket: {maxTokens: 1, fillInterval: 1s}}}");
  assert.deepEqual(limitsOfRules(partly).map((l) => (l === "-" ? l : l.ruleName)), ["-", "rule-1"]);
});

test("an unnamed rule's bucket is named by its matches, so inserting a rule before it keeps its bucket", () => {
  const keys = (text: string): string[] => limitsOfRules(text).map((l) => (l === "-" ? l : l.bucketKey));
  const limit = policy("limit", "{local: {tokenBucket: {maxTokens: 1, fillInterval: 1s}}}");
  const before = keys(ROUTES + limit);
  const inserted = ROUTES.replace("  - name: a\n", "  - matches: [{path: {type: Exact, value: /new}}]\n    backendRefs: [{name: app, port: 80}]\n  - name: a\n");
  const after = keys(inserted + limit);
  assert.equal(after.length, 3);
  assert.deepEqual(after.slice(1), before, "rule a by name, the unnamed /b rule by its matches");
  assert.ok(!before.includes(after[0]!), "the new rule gets a bucket of its own");
});

test("a sectionName no rule has is warned once, naming every per-rule section the policy sets", () => {
  const toRuleC = "[{group: gateway.networking.k8s.io, kind: HTTPRoute, name: web, sectionName: c}]";
  assert.deepEqual(warnings(ROUTES + policy("limit", "{local: {tokenBucket: {maxTokens: 1, fillInterval: 1s}}}", toRuleC)), [
    't.yaml:33:92: spec.targetRefs[0].sectionName: warning: HTTPRoute default/web has no rule named "c"; rateLimit applies to no rule through it (hint: name a rule of the route: a)',
  ]);
  // The warning points at the targetRef that names the missing rule, not at the first one.
  const second = "[{group: gateway.networking.k8s.io, kind: HTTPRoute, name: web, sectionName: a}, {group: gateway.networking.k8s.io, kind: HTTPRoute, name: web, sectionName: c}]";
  assert.deepEqual(
    warnings(ROUTES + policy("limit", "{local: {tokenBucket: {maxTokens: 1, fillInterval: 1s}}}", second)).map((w) => w.split(": warning")[0]),
    ["t.yaml:33:172: spec.targetRefs[1].sectionName"],
  );
  const both = ROUTES + policy("limit", "{local: {tokenBucket: {maxTokens: 1, fillInterval: 1s}}}", toRuleC) + '  cors: {allowOrigins: ["https://a.example"]}\n';
  assert.deepEqual(warnings(both), [
    't.yaml:33:92: spec.targetRefs[0].sectionName: warning: HTTPRoute default/web has no rule named "c"; cors and rateLimit apply to no rule through it (hint: name a rule of the route: a)',
  ]);
});

test("a local limit without tokenBucket and a fill interval under 50ms are errors; an empty rateLimit is a warning", () => {
  assert.deepEqual(errors(ROUTES + policy("limit", "{local: {percentEnabled: 50}}")), [
    "t.yaml:34:22: spec.rateLimit.local: percentEnabled needs a tokenBucket (hint: add tokenBucket {maxTokens: 10, tokensPerFill: 10, fillInterval: 1s}, or write local: {} to turn the limit off)",
  ]);
  assert.deepEqual(errors(ROUTES + policy("limit", "{local: {tokenBucket: {maxTokens: 1, fillInterval: 49ms}}}")), [
    "t.yaml:34:65: spec.rateLimit.local.tokenBucket.fillInterval: fillInterval must be at least 50ms (hint: for a finer rate, raise tokensPerFill and maxTokens over a longer interval)",
  ]);
  assert.deepEqual(warnings(ROUTES + policy("limit", "{}")), [
    "t.yaml:34:14: spec.rateLimit: warning: rateLimit sets neither a local nor a global limit: it limits nothing (hint: add local.tokenBucket {maxTokens, fillInterval}, or global {descriptors, extensionRef})",
  ]);
  assert.deepEqual(limitsOfRules(ROUTES + policy("limit", "{}")), ["-", "-"]);
});

test("the schema refuses what kgateway's CRD refuses: maxTokens 0, tokensPerFill 0, a percentage over 100, a malformed interval", () => {
  const problems = errors(ROUTES + policy("limit", "{local: {tokenBucket: {maxTokens: 0, tokensPerFill: 0, fillInterval: 1sec}, percentEnforced: 101}}"));
  assert.deepEqual(
    problems.map((p) => p.split(": ")[1]),
    ["spec.rateLimit.local.tokenBucket.maxTokens", "spec.rateLimit.local.tokenBucket.tokensPerFill", "spec.rateLimit.local.tokenBucket.fillInterval", "spec.rateLimit.local.percentEnforced"],
  );
  assert.match(problems[2]!, /"1sec" is not a Gateway API duration/);
});

test("on a Gateway: one model with the Gateway's bucket key; the oldest policy wins; cors and tracing there are warned and ignored", () => {
  const onGateway = (name: string, rateLimit: string, created: string, extra = ""): string => `---
apiVersion: gateway.kgateway.dev/v1alpha1
kind: TrafficPolicy
metadata: {name: ${name}, creationTimestamp: "${created}"}
spec:
  targetRefs: [{group: gateway.networking.k8s.io, kind: Gateway, name: gw}]
  rateLimit: ${rateLimit}
${extra}`;
  const text = ROUTES + onGateway("newer", "{local: {tokenBucket: {maxTokens: 9, fillInterval: 1s}}}", "2026-02-01T00:00:00Z", '  urlRewrite: {pathRegex: {pattern: "^/a", substitution: "/b"}}\n') + onGateway("older", "{local: {tokenBucket: {maxTokens: 5, fillInterval: 1s}}}", "2025-01-01T00:00:00Z");
  const { config } = load(text);
  assert.deepEqual(config!.gateways[0]!.rateLimit, {
    type: "LocalRateLimit",
    maxTokens: 5,
    tokensPerFill: 1,
    fillIntervalMs: 1000,
    enabledShare: 1,
    enforcedShare: 1,
    policyName: "default/older",
    routeName: "",
    ruleName: "",
    bucketKey: "default/older Gateway default/gw",
  });
  assert.deepEqual(limitsOfRules(text), ["-", "-"], "the routes' rules get it at compile time, per Gateway");
  assert.deepEqual(warnings(text), [
    't.yaml:33:16: spec.targetRefs[0]: warning: urlRewrite does not apply to a Gateway (only acl, apiKeyAuth, basicAuth, buffer, compression, cors, csrf, extAuth, faultInjection, headerModifiers, jwtAuth, rateLimit, rbac, retry and timeouts do); it is ignored for Gateway default/gw (hint: target the HTTPRoutes for urlRewrite)',
    "t.yaml:34:22: spec.rateLimit.local: warning: Gateway default/gw already gets rateLimit.local from TrafficPolicy default/older, which is older; this one is ignored for it",
  ]);
  // Another kind still is not a target.
  assert.deepEqual(warnings(ROUTES + policy("limit", "{local: {tokenBucket: {maxTokens: 1, fillInterval: 1s}}}", "[{group: '', kind: Service, name: app}]")), [
    "t.yaml:33:16: spec.targetRefs[0]: warning: TrafficPolicy here can target a HTTPRoute or a Gateway only; this targetRef (/Service) is ignored (hint: kind: HTTPRoute or Gateway, group: gateway.networking.k8s.io)",
  ]);
});
