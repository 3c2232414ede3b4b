// kgateway's TrafficPolicy `cors`: the HTTPRoute CORS filter's fields, or (v2.1) `disable: {}`,
// which turns off the CORS a less specific policy (a Gateway's, a listener's) gives the rules.
// kgateway has no rule against `disable` beside the other fields: it builds a disabled policy
// and drops them, so they load with a warning rather than fail.
import { corsFilter } from "./cors-filter.ts";
import type { CorsModel, FilterModel } from "./model.ts";
import { type Reporter, type Resource, key } from "./resources.ts";

export interface PolicyCorsModel {
  /** `namespace/name` of the TrafficPolicy. */
  readonly policy: string;
  readonly filter: CorsModel | Extract<FilterModel, { type: "NoCors" }>;
}

export function policyCors(p: Resource, reporter: Reporter, cfg: Record<string, unknown>): PolicyCorsModel {
  const at = ["spec", "cors"];
  if (cfg["disable"] === undefined) return { policy: key(p), filter: corsFilter(p, reporter, cfg, at) };
  const ignored = Object.keys(cfg).filter((field) => field !== "disable");
  if (ignored.length > 0) {
    // Dropped, but the CRD still validates them (an origin's format, say), so a bad one fails here too.
    corsFilter(p, reporter, cfg, at);
    reporter.warn(p, [...at, ignored[0]!], `${ignored.join(" and ")} ${ignored.length === 1 ? "has" : "have"} no effect with disable: the rules get no CORS (kgateway drops them too)`, "remove them, or disable in a policy of its own");
  }
  return { policy: key(p), filter: { type: "NoCors" } };
}
