// A rule's HTTPRoute ExternalAuth filter is its check, so the extAuth of a Gateway's
// TrafficPolicy does not run for it. The platform team that owns the Gateway and the route's
// author may be different people: the replacement is warned about rule by rule, where a
// route-level extAuth or `disable: {}` states it in a policy.
import type { ExternalAuthModel } from "./model.ts";
import type { RouteDraft } from "./resolve-routes.ts";
import type { Reporter } from "./resources.ts";

export function warnGatewayExtAuthReplaced(routes: readonly RouteDraft[], gatewayExtAuth: ReadonlyMap<string, ExternalAuthModel>, reporter: Reporter): void {
  for (const route of routes) {
    const checked = [...new Set(route.parents.map((p) => p.gatewayKey))].filter((gk) => gatewayExtAuth.has(gk));
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
