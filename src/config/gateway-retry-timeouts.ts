// kgateway's TrafficPolicy `retry` and `timeouts` on a Gateway: they reach every rule served
// through it, below everything route-level. Per section, a rule a route-level TrafficPolicy
// covers keeps that policy's; one it does not gets the Gateway's, which then meets the
// HTTPRoute's own settings exactly as a route-level policy would. A route on several
// Gateways may so get different answers per Gateway: each is kept by gateway key.
import type { RuleModel, RuleRetryAndTimeouts, RuleTimeouts } from "./model.ts";
import type { Reporter, Resource } from "./resources.ts";
import { type PolicyRetry, type PolicyTimeouts, withPolicyRetryAndTimeouts } from "./traffic-retry-timeouts.ts";

export interface RetryAndTimeoutsPolicies {
  /** By rule index, from route-level TrafficPolicies. */
  readonly routeRetries: ReadonlyMap<number, PolicyRetry> | undefined;
  readonly routeTimeouts: ReadonlyMap<number, PolicyTimeouts> | undefined;
  /** By gateway key. */
  readonly gatewayRetries: ReadonlyMap<string, PolicyRetry>;
  readonly gatewayTimeouts: ReadonlyMap<string, PolicyTimeouts>;
}

/** `rules` with their policies' retry and timeouts, and what differs through each of `gatewayKeys`. */
export function withRetryAndTimeouts(route: Resource, rules: readonly RuleModel[], gatewayKeys: readonly string[], policies: RetryAndTimeoutsPolicies, reporter: Reporter): readonly RuleModel[] {
  const served = withPolicyRetryAndTimeouts(route, rules, policies.routeRetries, policies.routeTimeouts, reporter);
  const through = served.map((): Record<string, RuleRetryAndTimeouts> => ({}));
  for (const gk of new Set(gatewayKeys)) {
    const retry = policies.gatewayRetries.get(gk);
    const timeouts = policies.gatewayTimeouts.get(gk);
    if (retry === undefined && timeouts === undefined) continue;
    // A route being overridden is the hierarchy working, so the Gateway's policy stays quiet about it.
    const quiet = new Set([retry?.policy, timeouts?.policy].filter((p) => p !== undefined));
    const viaGateway = withPolicyRetryAndTimeouts(route, rules, below(policies.routeRetries, retry, rules), below(policies.routeTimeouts, timeouts, rules), reporter, { gateway: gk, policies: quiet });
    viaGateway.forEach((rule, i) => {
      const own = served[i]!;
      if (rule.retry !== own.retry || !sameTimeouts(rule.timeouts, own.timeouts)) through[i]![gk] = { retry: rule.retry, timeouts: rule.timeouts };
    });
  }
  return served.map((rule, i) => (Object.keys(through[i]!).length === 0 ? rule : { ...rule, throughGateway: through[i] }));
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
