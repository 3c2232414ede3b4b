// kgateway TrafficPolicy `retry` and `timeouts` in the config: what each retryOn condition
// loads to, kgateway's defaults, precedence of the route's own settings, and the exact text
// of each error and warning.
import assert from "node:assert/strict";
import { test } from "node:test";
import type { RuleModel } from "../../src/config/model.ts";
import { ROUTE_ON_SHARED_LISTENER, TO_GATEWAY, TO_RULE_A, TWO_RULE_ROUTE, errors, load, sameListenerGateway, trafficPolicy, warnings } from "./helpers.ts";

const routes = (): string => TWO_RULE_ROUTE;
const policy = trafficPolicy;

function rules(text: string): readonly RuleModel[] {
  const { config, diagnostics } = load(text);
  assert.ok(config, diagnostics.map((d) => d.message).join("\n"));
  return config.routes[0]!.rules;
}

const retryOf = (retryOn: string, extra = ""): RuleModel["retry"] => rules(routes() + policy("p", `  retry: {retryOn: ${retryOn}${extra}}\n`))[0]!.retry;

test("each retryOn condition loads to the statuses and failures it retries, with kgateway's defaults", () => {
  const defaults = { attempts: 2, backoffMs: 25, onRateLimited: false };
  assert.deepEqual(retryOf("[gateway-error]"), { ...defaults, codes: [502, 503, 504], onConnectFailure: true, onReset: true });
  const fiveXx = retryOf("[5xx]")!;
  assert.deepEqual([fiveXx.codes.length, fiveXx.codes[0], fiveXx.codes.at(-1), fiveXx.onConnectFailure, fiveXx.onReset], [100, 500, 599, true, true]);
  assert.deepEqual(retryOf("[reset]"), { ...defaults, codes: [], onConnectFailure: true, onReset: true });
  assert.deepEqual(retryOf("[connect-failure]"), { ...defaults, codes: [], onConnectFailure: true, onReset: false });
  assert.deepEqual(retryOf("[reset-before-request]"), { ...defaults, codes: [], onConnectFailure: true, onReset: false });
  assert.deepEqual(retryOf("[retriable-4xx]", ", statusCodes: [503, 409]"), { ...defaults, codes: [409, 503], onConnectFailure: false, onReset: false });
  assert.deepEqual(retryOf("[envoy-ratelimited]"), { ...defaults, codes: [], onConnectFailure: false, onReset: false, onRateLimited: true });
  assert.deepEqual(retryOf("[retriable-status-codes]", ", statusCodes: [500]"), { ...defaults, codes: [500], onConnectFailure: false, onReset: false });
});

test("attempts, perTryTimeout, backoffBaseInterval and both timeouts are read; 0s turns a timeout off", () => {
  const text = routes() + policy("p", "  retry: {retryOn: [reset], attempts: 0, perTryTimeout: 1s500ms, backoffBaseInterval: 100ms, retryHostPredicates: [PreviousHosts]}\n  timeouts: {request: 10s, streamIdle: 0s}\n");
  const [a, b] = rules(text);
  assert.deepEqual([a!.retry!.attempts, a!.retry!.backoffMs], [1, 100], "attempts 0: the first try only");
  assert.deepEqual(a!.timeouts, { requestMs: 10_000, backendRequestMs: 1500, streamIdleMs: 0 });
  assert.deepEqual(b!.timeouts, a!.timeouts, "without sectionName every rule of the route");
  assert.deepEqual(warnings(text), []);
  assert.deepEqual(rules(routes() + policy("p", "  timeouts: {request: 0s, streamIdle: 2m}\n"))[0]!.timeouts, { requestMs: undefined, backendRequestMs: undefined, streamIdleMs: 120_000 });
  assert.deepEqual(rules(routes())[0]!.timeouts, { requestMs: undefined, backendRequestMs: undefined, streamIdleMs: undefined }, "no policy: the listener's stream idle limit");
});

test("conditions an HTTP/1.1 upstream never meets are warned about; an empty retry is an error", () => {
  const text = routes() + policy("p", "  retry: {retryOn: [refused-stream, unavailable, retriable-status-codes]}\n");
  assert.deepEqual(warnings(text), [
    "t.yaml:34:21: spec.retry.retryOn[0]: warning: refused-stream waits for an HTTP/2 stream refusal, which an HTTP/1.1 upstream never gives; it never triggers a retry",
    "t.yaml:34:37: spec.retry.retryOn[1]: warning: unavailable waits for a gRPC status, which an HTTP/1.1 upstream never gives; it never triggers a retry",
    "t.yaml:34:50: spec.retry.retryOn[2]: warning: retriable-status-codes retries the statusCodes, and none are listed (hint: add statusCodes)",
  ]);
  assert.deepEqual(errors(routes() + policy("p", "  retry: {attempts: 3}\n")), ["t.yaml:34:10: spec.retry: retryOn or statusCodes must be set (hint: add retryOn: [gateway-error] (or statusCodes: [503]))"]);
  assert.deepEqual(errors(routes() + policy("p", "  retry: {retryOn: [reset], perTryTimeout: 0ms}\n")), ["t.yaml:34:44: spec.retry.perTryTimeout: perTryTimeout must be at least 1ms (hint: set a positive duration, or leave the field out)"]);
  assert.match(errors(routes() + policy("p", "  retry: {retryOn: [sometimes]}\n"))[0] ?? "", /^t\.yaml:34:21: spec\.retry\.retryOn\[0\]: the string "sometimes" is not allowed \(hint: one of 5xx, gateway-error, /);
});

test("a per-attempt timeout longer than the request's: refused within one policy, warned across the route and a policy", () => {
  assert.deepEqual(errors(routes() + policy("p", "  retry: {retryOn: [reset], perTryTimeout: 2s}\n  timeouts: {request: 2s}\n")), [
    "t.yaml:34:44: spec.retry.perTryTimeout: retry.perTryTimeout (2s) must be less than timeouts.request (2s) (hint: shorten perTryTimeout, so that a retry fits in the request's time)",
  ]);
  const text = routes().replace("  - name: a\n", "  - name: a\n    timeouts: {request: 1s}\n") + policy("p", "  retry: {retryOn: [reset], perTryTimeout: 3s}\n");
  assert.deepEqual(rules(text)[0]!.timeouts, { requestMs: 1000, backendRequestMs: 3000, streamIdleMs: undefined }, "Envoy lets the request timeout end the attempt");
  assert.deepEqual(warnings(text), [
    "t.yaml:35:44: spec.retry.perTryTimeout: warning: HTTPRoute default/web rule a has a request timeout (1000 ms) shorter than perTryTimeout (3000 ms): it ends the exchange first, so no retry follows a timed-out attempt (hint: shorten perTryTimeout below the request timeout)",
  ]);
});

test("any timeout of the route's own keeps the policy's timeouts.request away, 0s and backendRequest included", () => {
  const backendOnly = routes().replace("  - name: a\n", "  - name: a\n    timeouts: {backendRequest: 3s}\n") + policy("p", "  timeouts: {request: 1s}\n");
  assert.deepEqual(
    rules(backendOnly).map((r) => r.timeouts),
    [
      { requestMs: undefined, backendRequestMs: 3000, streamIdleMs: undefined },
      { requestMs: 1000, backendRequestMs: undefined, streamIdleMs: undefined },
    ],
  );
  assert.deepEqual(warnings(backendOnly), ["t.yaml:35:23: spec.timeouts.request: warning: HTTPRoute default/web rule a sets its own timeouts.backendRequest, which takes precedence over this policy's timeouts.request"]);
  const off = routes().replace("  - name: a\n", "  - name: a\n    timeouts: {request: 0s}\n") + policy("p", "  timeouts: {request: 5s}\n");
  assert.equal(rules(off)[0]!.timeouts.requestMs, 0, "a route that turned its timeout off keeps it off");
  assert.deepEqual(warnings(off), ["t.yaml:35:23: spec.timeouts.request: warning: HTTPRoute default/web rule a sets its own timeouts.request, which takes precedence over this policy's timeouts.request"]);
});

test("the route's own retry and timeouts take precedence, with a warning; sectionName narrows; the older policy wins", () => {
  const own = routes().replace("  - name: a\n", "  - name: a\n    retry: {codes: [500]}\n    timeouts: {request: 9s, backendRequest: 4s}\n");
  const text = own + policy("p", "  retry: {retryOn: [gateway-error], perTryTimeout: 1s}\n  timeouts: {request: 5s, streamIdle: 30s}\n");
  const [a, b] = rules(text);
  assert.deepEqual(a!.retry!.codes, [500]);
  assert.deepEqual(a!.timeouts, { requestMs: 9000, backendRequestMs: 4000, streamIdleMs: 30_000 }, "streamIdle has no HTTPRoute field, so the policy's applies");
  assert.deepEqual(b!.retry!.codes, [502, 503, 504]);
  assert.deepEqual(b!.timeouts, { requestMs: 5000, backendRequestMs: 1000, streamIdleMs: 30_000 });
  assert.deepEqual(warnings(text), [
    "t.yaml:36:10: spec.retry: warning: HTTPRoute default/web rule a sets its own retry, which takes precedence; this policy's retry does not apply to it",
    "t.yaml:37:23: spec.timeouts.request: warning: HTTPRoute default/web rule a sets its own timeouts.request, which takes precedence over this policy's timeouts.request",
  ]);

  const perTry = routes().replace("  - name: a\n", "  - name: a\n    timeouts: {backendRequest: 4s}\n") + policy("p", "  retry: {retryOn: [reset], perTryTimeout: 1s}\n");
  assert.equal(rules(perTry)[0]!.timeouts.backendRequestMs, 4000);
  assert.deepEqual(warnings(perTry), ["t.yaml:35:44: spec.retry.perTryTimeout: warning: HTTPRoute default/web rule a sets its own timeouts.backendRequest, which takes precedence over perTryTimeout"]);

  const toRuleA = "[{group: gateway.networking.k8s.io, kind: HTTPRoute, name: web, sectionName: a}]";
  const narrowed = rules(routes() + policy("p", "  timeouts: {request: 5s}\n", toRuleA));
  assert.deepEqual(narrowed.map((r) => r.timeouts.requestMs), [5000, undefined]);
  const missing = routes() + policy("p", "  timeouts: {request: 5s}\n", "[{group: gateway.networking.k8s.io, kind: HTTPRoute, name: web, sectionName: zz}]");
  assert.deepEqual(warnings(missing), ['t.yaml:33:92: spec.targetRefs[0].sectionName: warning: HTTPRoute default/web has no rule named "zz"; timeouts applies to no rule through it (hint: name a rule of the route: a)']);

  const two = routes() + policy("newer", "  retry: {retryOn: [reset]}\n") + policy("older", "  retry: {retryOn: [5xx]}\n", undefined, "2025-01-01T00:00:00Z");
  assert.deepEqual(rules(two).map((r) => r.retry!.codes.length), [100, 100]);
  assert.deepEqual(warnings(two), ["t.yaml:34:10: spec.retry: warning: HTTPRoute default/web already gets retry from TrafficPolicy default/older, which is older; this one is ignored for it"]);
});

const GATEWAY_RETRY = { codes: [502, 503, 504], attempts: 3, backoffMs: 25, onConnectFailure: true, onReset: true, onRateLimited: false };

test("on a Gateway, retry and timeouts reach every rule through it that nothing route-level covers, silently below the route", () => {
  const onGateway = policy("edge", "  retry: {retryOn: [gateway-error], attempts: 2, perTryTimeout: 500ms}\n  timeouts: {request: 4s, streamIdle: 30s}\n", TO_GATEWAY);
  const [a, b] = rules(routes() + onGateway);
  assert.equal(a!.retry, undefined, "the rule as a route on another Gateway would get it");
  const viaGateway = { retry: GATEWAY_RETRY, timeouts: { requestMs: 4000, backendRequestMs: 500, streamIdleMs: 30_000 } };
  assert.deepEqual(a!.throughGateway, { "default/gw": viaGateway });
  assert.deepEqual(b!.throughGateway, { "default/gw": viaGateway });
  assert.deepEqual(warnings(routes() + onGateway), []);

  // Per section: a route-level policy's retry on rule a keeps the Gateway's retry from it, not its timeouts.
  const routeRetry = policy("mine", "  retry: {retryOn: [reset], perTryTimeout: 200ms}\n", TO_RULE_A);
  const [a2, b2] = rules(routes() + onGateway + routeRetry);
  assert.deepEqual(a2!.retry, { codes: [], attempts: 2, backoffMs: 25, onConnectFailure: true, onReset: true, onRateLimited: false });
  assert.deepEqual(a2!.throughGateway, { "default/gw": { retry: a2!.retry, timeouts: { requestMs: 4000, backendRequestMs: 200, streamIdleMs: 30_000 } } });
  assert.deepEqual(b2!.throughGateway, { "default/gw": viaGateway });

  // The HTTPRoute's own retry and timeouts beat the Gateway's, as they beat a route-level policy's, without a warning.
  const own = routes().replace("  - name: a\n", "  - name: a\n    retry: {codes: [500], attempts: 4}\n    timeouts: {backendRequest: 1s}\n");
  const [a3] = rules(own + onGateway);
  assert.deepEqual(a3!.throughGateway, { "default/gw": { retry: a3!.retry, timeouts: { requestMs: undefined, backendRequestMs: 1000, streamIdleMs: 30_000 } } });
  assert.deepEqual(a3!.retry!.codes, [500]);
  assert.deepEqual(warnings(own + onGateway), []);
  // A route-level policy's override is still warned about, once, though the rule is worked out again for the Gateway.
  assert.deepEqual(warnings(own + onGateway + routeRetry), [
    "t.yaml:44:10: spec.retry: warning: HTTPRoute default/web rule a sets its own retry, which takes precedence; this policy's retry does not apply to it",
  ]);

  // A route policy's request: 0s or empty timeouts still take the section from the Gateway (the empty one warned).
  assert.equal(rules(routes() + onGateway + policy("off", "  timeouts: {request: 0s}\n", TO_RULE_A))[0]!.throughGateway!["default/gw"]!.timeouts.requestMs, undefined);
  const empty = routes() + onGateway + policy("empty", "  timeouts: {}\n", TO_RULE_A);
  assert.equal(rules(empty)[0]!.throughGateway!["default/gw"]!.timeouts.requestMs, undefined);
  assert.deepEqual(warnings(empty), [
    "t.yaml:42:13: spec.timeouts: warning: timeouts sets neither request nor streamIdle: it changes nothing, except that a Gateway's timeouts no longer reach the rules it covers (hint: set request or streamIdle, or remove timeouts)",
  ]);

  // A rule every section of which is route-level is the same through the Gateway.
  const everything = policy("all", "  retry: {retryOn: [reset]}\n  timeouts: {request: 9s}\n", TO_RULE_A);
  assert.equal(rules(routes() + onGateway + everything)[0]!.throughGateway, undefined);
});

test("on a Gateway: the oldest policy wins each section; an attempt longer than the request timeout through it is warned where it is set", () => {
  const older = policy("older", "  retry: {retryOn: [reset]}\n", TO_GATEWAY, "2025-01-01T00:00:00Z");
  const newer = policy("newer", "  retry: {retryOn: [5xx]}\n  timeouts: {request: 2s}\n", TO_GATEWAY);
  const text = routes() + newer + older;
  const via = rules(text)[1]!.throughGateway!["default/gw"]!;
  assert.deepEqual([via.retry!.codes, via.timeouts.requestMs], [[], 2000], "retry from the older, timeouts from the only one that sets them");
  assert.deepEqual(warnings(text), ["t.yaml:34:10: spec.retry: warning: Gateway default/gw already gets retry from TrafficPolicy default/older, which is older; this one is ignored for it"]);

  const longAttempt = routes() + policy("edge", "  timeouts: {request: 1s}\n", TO_GATEWAY) + policy("mine", "  retry: {retryOn: [reset], perTryTimeout: 3s}\n", TO_RULE_A);
  assert.deepEqual(warnings(longAttempt), [
    "t.yaml:41:44: spec.retry.perTryTimeout: warning: HTTPRoute default/web rule a, through Gateway default/gw, has a request timeout (1000 ms) shorter than perTryTimeout (3000 ms): it ends the exchange first, so no retry follows a timed-out attempt (hint: shorten perTryTimeout below the request timeout)",
  ]);

  // Both from the Gateway, in two policies: one warning for the Gateway, whatever the number of rules.
  const bothOnGateway = routes() + policy("tries", "  retry: {retryOn: [reset], perTryTimeout: 3s}\n", TO_GATEWAY) + policy("deadline", "  timeouts: {request: 2s}\n", TO_GATEWAY);
  assert.deepEqual(warnings(bothOnGateway), [
    "t.yaml:34:44: spec.retry.perTryTimeout: warning: Gateway default/gw has a request timeout (2000 ms, from TrafficPolicy default/deadline) shorter than perTryTimeout (3000 ms): it ends the exchange first, so no retry follows a timed-out attempt (hint: shorten perTryTimeout below the request timeout)",
  ]);
  // A listener's timeouts against its Gateway's attempt limit: warned for that listener.
  const toListener = "[{group: gateway.networking.k8s.io, kind: Gateway, name: gw, sectionName: http}]";
  const listenerDeadline = routes() + policy("tries", "  retry: {retryOn: [reset], perTryTimeout: 3s}\n", TO_GATEWAY) + policy("deadline", "  timeouts: {request: 2s}\n", toListener);
  assert.deepEqual(warnings(listenerDeadline), [
    "t.yaml:34:44: spec.retry.perTryTimeout: warning: Gateway default/gw listener http has a request timeout (2000 ms, from TrafficPolicy default/deadline) shorter than perTryTimeout (3000 ms): it ends the exchange first, so no retry follows a timed-out attempt (hint: shorten perTryTimeout below the request timeout)",
  ]);
  // In one policy it is the error it is on a route, and no more.
  const onePolicy = load(routes() + policy("both", "  retry: {retryOn: [reset], perTryTimeout: 3s}\n  timeouts: {request: 2s}\n", TO_GATEWAY)).diagnostics;
  assert.deepEqual(onePolicy.filter((d) => d.severity !== "info").map((d) => [d.severity, d.path]), [["error", "spec.retry.perTryTimeout"]]);
  // The Gateway's long attempt against a rule's own short request timeout is the route's choice.
  const ownShort = routes().replace("  - name: a\n", "  - name: a\n    timeouts: {request: 1s}\n") + policy("tries", "  retry: {retryOn: [reset], perTryTimeout: 3s}\n", TO_GATEWAY);
  assert.deepEqual(warnings(ownShort), []);
  assert.deepEqual(rules(ownShort)[0]!.throughGateway!["default/gw"]!.timeouts, { requestMs: 1000, backendRequestMs: 3000, streamIdleMs: undefined });
});

test("a Gateway's urlRewrite is still warned about and ignored beside its timeouts", () => {
  const text = routes() + policy("p", "  urlRewrite: {pathRegex: {pattern: '^/a', substitution: /b}}\n  timeouts: {request: 1s}\n", TO_GATEWAY);
  assert.deepEqual(warnings(text), [
    "t.yaml:33:16: spec.targetRefs[0]: warning: urlRewrite does not apply to a Gateway (only acl, apiKeyAuth, basicAuth, buffer, compression, cors, csrf, extAuth, faultInjection, headerModifiers, jwtAuth, rateLimit, rbac, retry and timeouts do); it is ignored for Gateway default/gw (hint: target the HTTPRoutes for urlRewrite)",
  ]);
  assert.equal(rules(text)[0]!.throughGateway!["default/gw"]!.timeouts.requestMs, 1000);
});

test("Gateways sharing a listener must take retry and timeouts from the same policy", () => {
  const shared = ROUTE_ON_SHARED_LISTENER;
  const [second, third] = [sameListenerGateway("gw2"), sameListenerGateway("gw3")];
  assert.deepEqual(errors(shared + policy("edge", "  timeouts: {request: 1s}\n", TO_GATEWAY)), [
    "t.yaml:34:15: spec.listeners[0]: port 8080 hostname (any) is also served by Gateway default/gw, whose timeouts comes from TrafficPolicy default/edge; HTTPRoute default/web is on both and would get the timeouts of whichever Gateway the route table picked (hint: give the listeners distinct hostnames or ports, or target both Gateways with the same TrafficPolicy timeouts)",
  ]);
  assert.deepEqual(
    errors(shared + policy("edge", "  retry: {retryOn: [reset]}\n", TO_GATEWAY)).map((e) => e.replace(/^.*whose /, "")),
    ["retry comes from TrafficPolicy default/edge; HTTPRoute default/web is on both and would get the retry of whichever Gateway the route table picked (hint: give the listeners distinct hostnames or ports, or target both Gateways with the same TrafficPolicy retry)"],
  );
  const both = "[{group: gateway.networking.k8s.io, kind: Gateway, name: gw}, {group: gateway.networking.k8s.io, kind: Gateway, name: gw2}]";
  assert.deepEqual(errors(shared + policy("edge", "  retry: {retryOn: [reset]}\n  timeouts: {request: 1s}\n", both)), []);
  // Checked against every Gateway on the listener, not only the first one there.
  const onSecondAndThird = routes().replace("  parentRefs: [{name: gw}]", "  parentRefs: [{name: gw2}, {name: gw3}]") + second + third;
  assert.deepEqual(
    errors(onSecondAndThird + policy("edge", "  timeouts: {request: 1s}\n", "[{group: gateway.networking.k8s.io, kind: Gateway, name: gw3}]")).map((e) => e.replace(/^.*also served by /, "")),
    ["Gateway default/gw2, which has no timeouts; HTTPRoute default/web is on both and would get the timeouts of whichever Gateway the route table picked (hint: give the listeners distinct hostnames or ports, or target both Gateways with the same TrafficPolicy timeouts)"],
  );
  // A route on one of them gets its own Gateway's: nothing to pick between.
  assert.deepEqual(errors(routes() + second + policy("edge", "  retry: {retryOn: [reset]}\n", TO_GATEWAY)), []);
  const [a] = rules(shared + policy("edge", "  retry: {retryOn: [reset]}\n", both));
  assert.deepEqual(Object.keys(a!.throughGateway!), ["default/gw", "default/gw2"]);
});
