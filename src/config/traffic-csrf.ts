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
  if (enabled === undefined && shadowed === undefined) {
    // kgateway turns the filter on for percentageEnabled of requests, and that defaults to 0.
    // A 0 written out is left alone: it is how a route turns its Gateway's csrf off.
    reporter.warn(p, at, "csrf checks no request: percentageEnabled defaults to 0 (as in kgateway)", "set percentageEnabled: 100 to refuse cross-origin requests, or percentageShadowed: 100 to count them first");
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
    // An http(s) origin is compared as host[:port], so one written whole would never match;
    // any other (capacitor://localhost, chrome-extension://id) is compared whole, as written.
    if (matcher.kind !== "safeRegex" && /^https?:\/\//i.test(matcher.value)) {
      reporter.warn(p, [...where, matcher.kind], `"${matcher.value}" holds an http(s) scheme, but such origins are matched by their host and port (as in Envoy), so it matches nothing`, "write the host alone, with the port when it is not the scheme's default: app.example.com, or app.example.com:8443");
    }
    additionalOrigins.push(matcher);
  });
  if (!usable) return undefined;
  return { type: "Csrf", policy: key(p), enabledShare: (enabled ?? 0) / 100, shadowShare: (shadowed ?? 0) / 100, additionalOrigins };
}
