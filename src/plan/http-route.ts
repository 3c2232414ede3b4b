// The `http.route` attribute of a match: a low-cardinality template, never the request path.
import type { MatchModel } from "../config/model.ts";
import { normalizePrefix } from "../router/candidate.ts";

/** Exact → the path; PathPrefix `/api` → `/api/*` (`/` → `/*`); RegularExpression → the pattern as written. */
export function matchTemplate(path: MatchModel["path"]): string {
  if (path.type !== "PathPrefix") return path.value;
  const prefix = normalizePrefix(path.value);
  return prefix === "/" ? "/*" : `${prefix}/*`;
}
