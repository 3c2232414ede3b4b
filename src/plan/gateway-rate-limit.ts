// A Gateway's local rate limit (a TrafficPolicy on the Gateway) reaches each rule served
// through it that a route-level policy neither limits nor exempts: as a filter of that rule,
// named for the rule in metrics, drawing on the Gateway's one bucket.
import type { FilterModel, GatewayModel, RuleModel } from "../config/model.ts";

/** `rule.filters` as requests through `gateway` meet them: the same array when the Gateway adds nothing. */
export function filtersThrough(rule: RuleModel, gateway: GatewayModel, routeKey: string): readonly FilterModel[] {
  const limit = gateway.rateLimit;
  if (limit === undefined || rule.filters.some((f) => f.type === "LocalRateLimit" || f.type === "NoLocalRateLimit")) return rule.filters;
  return [...rule.filters, { ...limit, routeName: routeKey, ruleName: rule.name ?? `rule-${rule.index}` }];
}
