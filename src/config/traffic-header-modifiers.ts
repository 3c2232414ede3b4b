// kgateway's TrafficPolicy `headerModifiers`: Gateway API header filters for the request and
// the response, read into the filter models an HTTPRoute's RequestHeaderModifier and
// ResponseHeaderModifier produce, marked with the policy they come from. They go before the
// rule's own filters, so that the HTTPRoute's modifier, applied after, takes precedence.
import type { FilterModel, PolicyHeaderModifiersModel } from "./model.ts";
import { headerModifier } from "./resolve-filters.ts";
import { type Reporter, type Resource, key } from "./resources.ts";

export function policyHeaderModifiers(p: Resource, reporter: Reporter, cfg: Record<string, unknown>): PolicyHeaderModifiersModel | undefined {
  const at = ["spec", "headerModifiers"];
  const request = cfg["request"] as Record<string, unknown> | undefined;
  const response = cfg["response"] as Record<string, unknown> | undefined;
  if (request === undefined && response === undefined) {
    reporter.error(p, at, "request or response must be set", "add request: {set: [{name: x-env, value: prod}]} or a response the same way");
    return undefined;
  }
  for (const side of ["request", "response"] as const) {
    const modifier = cfg[side] as Record<string, unknown[] | undefined> | undefined;
    if (modifier === undefined || (modifier["set"]?.length ?? 0) + (modifier["add"]?.length ?? 0) + (modifier["remove"]?.length ?? 0) > 0) continue;
    reporter.warn(p, [...at, side], `this ${side} modifier is empty: it changes no header, yet where this policy applies no other headerModifiers do (a Gateway's, or a newer policy's)`, "add set, add or remove entries, or leave it out");
  }
  const filters: FilterModel[] = [];
  const policy = key(p);
  if (request !== undefined) filters.push({ type: "RequestHeaderModifier", modifier: headerModifier(p, reporter, request, [...at, "request"], true), policy });
  if (response !== undefined) filters.push({ type: "ResponseHeaderModifier", modifier: headerModifier(p, reporter, response, [...at, "response"], false), policy });
  return { policyName: policy, filters };
}

/** Whether a TrafficPolicy's headerModifiers already cover these filters (a Gateway's then stay away). */
export function hasPolicyHeaderModifiers(filters: readonly FilterModel[]): boolean {
  return filters.some((f) => (f.type === "RequestHeaderModifier" || f.type === "ResponseHeaderModifier") && f.policy !== undefined);
}
