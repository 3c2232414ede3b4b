// kgateway's TrafficPolicy `retry` and `timeouts` on a Gateway: they reach every rule served
// through it, below everything route-level. Per section, a rule a route-level TrafficPolicy
// covers keeps that policy's; one it does not gets the Gateway's, which then meets the
// HTTPRoute's own settings exactly as a route-level policy would. A route on several
// Gateways may so get different answers per Gateway: each is kept by gateway key, and by
// listener scope key for a listener a policy targets by sectionName.
import { listenerScope, throughListener } from "./listener-scope.ts";
import type { RouteParent, RuleModel, RuleRetryAndTimeouts, RuleTimeouts } from "./model.ts";
import type { Reporter, Resource } from "./resources.ts";
import { type PolicyRetry, type PolicyTimeouts, withPolicyRetryAndTimeouts } from "./traffic-retry-timeouts.ts";

export interface RetryAndTimeoutsPolicies {
  /** By rule index, from route-level TrafficPolicies. */
  readonly routeRetries: ReadonlyMap<number, PolicyRetry> | undefined;
  readonly routeTimeouts: ReadonlyMap<number, PolicyTimeouts> | undefined;
  /** By gateway key, and by `listenerScope` key for a listener a policy targets alone. */
  readonly gatewayRetries: ReadonlyMap<string, PolicyRetry>;
  readonly gatewayTimeouts: ReadonlyMap<string, PolicyTimeouts>;
}

/**
 * `rules` with their policies' retry and timeouts, and what differs through each Gateway of
 * `parents`, or through one of its listeners that a policy targets by sectionName.
 */
export function withRetryAndTimeouts(route: Resource, rules: readonly RuleModel[], parents: readonly RouteParent[], policies: RetryAndTimeoutsPolicies, reporter: Reporter): readonly RuleModel[] {
  const served = withPolicyRetryAndTimeouts(route, rules, policies.routeRetries, policies.routeTimeouts, reporter);
  const through = served.map((): Record<string, RuleRetryAndTimeouts> => ({}));
  for (const { scope, gatewayKey, listener } of scopesOf(parents, policies)) {
    const retry = listener === undefined ? policies.gatewayRetries.get(gatewayKey) : throughListener(policies.gatewayRetries, gatewayKey, listener);
    const timeouts = listener === undefined ? policies.gatewayTimeouts.get(gatewayKey) : throughListener(policies.gatewayTimeouts, gatewayKey, listener);
    if (retry === undefined && timeouts === undefined) continue;
    // A route being overridden is the hierarchy working, so the Gateway's policy stays quiet about it.
    const quiet = new Set([retry?.policy, timeouts?.policy].filter((p) => p !== undefined));
    const viaGateway = withPolicyRetryAndTimeouts(route, rules, below(policies.routeRetries, retry, rules), below(policies.routeTimeouts, timeouts, rules), reporter, { gateway: scope, policies: quiet });
    viaGateway.forEach((rule, i) => {
      const own = served[i]!;
      // A listener's entry is kept even when it matches the rule's own: without it, the
      // listener would fall back to its Gateway's entry.
      if (listener !== undefined || rule.retry !== own.retry || !sameTimeouts(rule.timeouts, own.timeouts)) through[i]![scope] = { retry: rule.retry, timeouts: rule.timeouts };
    });
  }
  return served.map((rule, i) => (Object.keys(through[i]!).length === 0 ? rule : { ...rule, throughGateway: through[i] }));
}

interface Scope {
  /** The gateway key, or a listener's `listenerScope` key. */
  readonly scope: string;
  readonly gatewayKey: string;
  readonly listener: string | undefined;
}

/** Each Gateway of `parents` once, and each listener the route is on that a policy targets by sectionName. */
function scopesOf(parents: readonly RouteParent[], policies: RetryAndTimeoutsPolicies): Scope[] {
  const scopes = new Map<string, Scope>();
  for (const p of parents) {
    scopes.set(p.gatewayKey, { scope: p.gatewayKey, gatewayKey: p.gatewayKey, listener: undefined });
    for (const listener of p.listenerNames ?? []) {
      const scope = listenerScope(p.gatewayKey, listener);
      if (policies.gatewayRetries.has(scope) || policies.gatewayTimeouts.has(scope)) scopes.set(scope, { scope, gatewayKey: p.gatewayKey, listener });
    }
  }
  return [...scopes.values()];
}

/** The route-level models, with the Gateway's for each rule they leave uncovered. */
function below<M>(routeLevel: ReadonlyMap<number, M> | undefined, gatewayLevel: M | undefined, rules: readonly RuleModel[]): ReadonlyMap<number, M> | undefined {
  if (gatewayLevel === undefined) return routeLevel;
  const out = new Map(routeLevel);
  for (const rule of rules) if (!out.has(rule.index)) out.set(rule.index, gatewayLevel);
  return out;
}

function sameTimeouts(a: RuleTimeouts, b: RuleTimeouts): boolean {
  return a.requestMs === b.requestMs && a.backendRequestMs === b.backendRequestMs && a.streamIdleMs === b.streamIdleMs;
}
