// The `http.route` attribute of a rule: a low-cardinality template, never the request path.
import type { MatchModel } from "../config/model.ts";
import { normalizePrefix } from "../router/candidate.ts";

/** Exact → the path; PathPrefix `/api` → `/api/*` (`/` → `/*`); RegularExpression → the pattern as written. */
export function matchTemplate(path: MatchModel["path"]): string {
  if (path.type !== "PathPrefix") return path.value;
  const prefix = normalizePrefix(path.value);
  return prefix === "/" ? "/*" : `${prefix}/*`;
}

/**
 * One template per rule. Rules whose matches render the same template (the usual case, e.g.
 * one path with several methods) get it; otherwise the distinct templates in match order,
 * joined by ` | `, still a bounded set per rule.
 */
export function ruleTemplate(matches: readonly MatchModel[]): string {
  const distinct: string[] = [];
  for (const m of matches) {
    const t = matchTemplate(m.path);
    if (!distinct.includes(t)) distinct.push(t);
  }
  return distinct.join(" | ");
}
