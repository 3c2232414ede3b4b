// kgateway's TrafficPolicy `csrf` (Envoy's CSRF filter): which share of requests is checked and
// refused, which is checked in shadow only, and the origins allowed besides the request's own.
import type { CsrfModel, StringMatcherModel } from "./model.ts";
import { type Reporter, type Resource, key } from "./resources.ts";
import { stringMatcher } from "./string-matchers.ts";

export function policyCsrf(p: Resource, reporter: Reporter, cfg: Record<string, unknown>): CsrfModel | undefined {
  const at = ["spec", "csrf"];
  const enabled = cfg["percentageEnabled"] as number | undefined;
  const shadowed = cfg["percentageShadowed"] as number | undefined;
  if (enabled !== undefined && shadowed !== undefined) {
    reporter.error(p, [...at, "percentageShadowed"], "percentageEnabled and percentageShadowed are both set; kgateway takes at most one", "keep percentageEnabled to refuse cross-origin requests, or percentageShadowed to only count them");
    return undefined;
  }
  if ((enabled ?? 0) === 0 && (shadowed ?? 0) === 0) {
    // kgateway turns the filter on for percentageEnabled of requests, and that defaults to 0.
    reporter.warn(p, at, "csrf checks no request: percentageEnabled defaults to 0 (as in kgateway), and percentageShadowed is not above 0", "set percentageEnabled: 100 to refuse cross-origin requests, or percentageShadowed: 100 to count them first");
  }
  let usable = true;
  const additionalOrigins: StringMatcherModel[] = [];
  ((cfg["additionalOrigins"] as Record<string, unknown>[] | undefined) ?? []).forEach((m, i) => {
    const where = [...at, "additionalOrigins", i];
    const matcher = stringMatcher(p, reporter, m, where);
    if (matcher === undefined) {
      usable = false;
      return;
    }
    // The filter compares host[:port]; an origin written whole would never match.
    if (matcher.kind !== "safeRegex" && matcher.value.includes("://")) {
      reporter.warn(p, [...where, matcher.kind], `"${matcher.value}" holds a scheme, but additional origins are matched against the origin's host and port (as in Envoy), so it matches nothing`, "write the host alone, with the port when it is not the scheme's default: app.example.com, or app.example.com:8443");
    }
    additionalOrigins.push(matcher);
  });
  if (!usable) return undefined;
  return { type: "Csrf", policy: key(p), enabledShare: (enabled ?? 0) / 100, shadowShare: (shadowed ?? 0) / 100, additionalOrigins };
}
