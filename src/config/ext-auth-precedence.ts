// A rule's HTTPRoute ExternalAuth filter is its check, so the extAuth of a Gateway's
// TrafficPolicy does not run for it. The platform team that owns the Gateway and the route's
// author may be different people: the replacement is warned about rule by rule, where a
// route-level extAuth or `disable: {}` states it in a policy.
import { listenerScope } from "./listener-scope.ts";
import type { ExternalAuthModel } from "./model.ts";
import type { RouteDraft } from "./resolve-routes.ts";
import type { Reporter } from "./resources.ts";

/** `gatewayExtAuth`: by gateway key and listener scope key, null where a listener's policy turns it off. */
export function warnGatewayExtAuthReplaced(routes: readonly RouteDraft[], gatewayExtAuth: ReadonlyMap<string, ExternalAuthModel | null>, reporter: Reporter): void {
  for (const route of routes) {
    // A Gateway's scopes: the whole Gateway, and each listener a policy may target alone.
    const scopes = route.parents.flatMap((p) => [p.gatewayKey, ...(p.listenerNames ?? []).map((l) => listenerScope(p.gatewayKey, l))]);
    const checked = [...new Set(scopes)].filter((scope) => (gatewayExtAuth.get(scope) ?? undefined) !== undefined);
    if (checked.length === 0) continue;
    for (const rule of route.rules) {
      if (!rule.filters.some((f) => f.type === "ExternalAuth")) continue;
      for (const gk of checked) {
        reporter.warn(
          route.resource,
          ["spec", "rules", rule.index, "filters"],
          `rule ${rule.name ?? rule.index} is checked by its own ExternalAuth filter; Gateway ${gk}'s extAuth (TrafficPolicy ${gatewayExtAuth.get(gk)!.policyName}) does not apply to it`,
          "remove the filter to keep the Gateway's check; a rule meant to differ says so in a route TrafficPolicy extAuth",
        );
      }
    }
  }
}
