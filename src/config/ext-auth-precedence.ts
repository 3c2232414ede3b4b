// A rule's HTTPRoute ExternalAuth filter is its check, so the extAuth of a Gateway's
// TrafficPolicy does not run for it. The platform team that owns the Gateway and the route's
// author may be different people: the replacement is warned about rule by rule, where a
// route-level extAuth or `disable: {}` states it in a policy.
import { listenerScope, throughListener } from "./listener-scope.ts";
import type { ExternalAuthModel } from "./model.ts";
import type { RouteDraft } from "./resolve-routes.ts";
import type { Reporter } from "./resources.ts";

/** `gatewayExtAuth`: by gateway key and listener scope key, null where a listener's policy turns it off. */
export function warnGatewayExtAuthReplaced(routes: readonly RouteDraft[], gatewayExtAuth: ReadonlyMap<string, ExternalAuthModel | null>, reporter: Reporter): void {
  for (const route of routes) {
    const replaced = replacedChecks(route, gatewayExtAuth);
    if (replaced.size === 0) continue;
    for (const rule of route.rules) {
      if (!rule.filters.some((f) => f.type === "ExternalAuth")) continue;
      for (const [where, policyName] of replaced) {
        reporter.warn(
          route.resource,
          ["spec", "rules", rule.index, "filters"],
          `rule ${rule.name ?? rule.index} is checked by its own ExternalAuth filter; the extAuth of ${where} (TrafficPolicy ${policyName}) does not apply to it`,
          "remove the filter to keep that check; a rule meant to differ says so in a route TrafficPolicy extAuth",
        );
      }
    }
  }
}

/**
 * The Gateway checks a filter replaces, by where they come from: through each listener the
 * route is on, its own policy's (a `disable` there replaces nothing), else its Gateway's.
 */
function replacedChecks(route: RouteDraft, gatewayExtAuth: ReadonlyMap<string, ExternalAuthModel | null>): Map<string, string> {
  const out = new Map<string, string>();
  for (const p of route.parents) {
    const listeners = p.listenerNames;
    if (listeners === undefined) {
      const whole = gatewayExtAuth.get(p.gatewayKey);
      if (whole) out.set(`Gateway ${p.gatewayKey}`, whole.policyName);
      continue;
    }
    for (const listener of listeners) {
      const own = gatewayExtAuth.has(listenerScope(p.gatewayKey, listener));
      const model = throughListener(gatewayExtAuth, p.gatewayKey, listener);
      if (model !== undefined) out.set(own ? `listener ${listener} of Gateway ${p.gatewayKey}` : `Gateway ${p.gatewayKey}`, model.policyName);
    }
  }
  return out;
}
