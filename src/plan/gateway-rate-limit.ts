// A Gateway's local rate limit (a TrafficPolicy on the Gateway) reaches each rule served
// through it that a route-level policy neither limits nor exempts: as a filter of that rule,
// named for the rule in metrics, drawing on one bucket per Gateway and port (as kgateway
// gives each port of a Gateway its own route configuration, and so its own bucket).
import type { FilterModel, GatewayModel, RuleModel } from "../config/model.ts";

export interface FiltersThrough {
  /** `rule.filters` as requests through the Gateway meet them: the same array when it adds nothing. */
  readonly models: readonly FilterModel[];
  /** What sets these filters apart from the rule's own: '' or the Gateway bucket's key. */
  readonly variant: string;
}

export function filtersThrough(rule: RuleModel, gateway: GatewayModel, port: number, routeKey: string): FiltersThrough {
  const limit = gateway.rateLimit;
  if (limit === undefined || rule.filters.some((f) => f.type === "LocalRateLimit" || f.type === "NoLocalRateLimit")) return { models: rule.filters, variant: "" };
  const bucketKey = `${limit.bucketKey} port ${port}`;
  return { models: [...rule.filters, { ...limit, bucketKey, routeName: routeKey, ruleName: rule.name ?? `rule-${rule.index}` }], variant: bucketKey };
}
