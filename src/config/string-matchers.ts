// kgateway's StringMatcher (Envoy's type.matcher.v3.StringMatcher): exactly one of exact,
// prefix, suffix, contains and safeRegex. Checked here so the proxy compiles only matchers
// known to be good; a safeRegex gets every check a route's regex gets.
import type { StringMatcherModel } from "./model.ts";
import { regexProblem } from "./regex-check.ts";
import type { Reporter, Resource, Segments } from "./resources.ts";

const KINDS = ["exact", "prefix", "suffix", "contains", "safeRegex"] as const;

/** The matcher at `at`, or undefined (an error reported) when it sets no way, several, or a bad regex. */
export function stringMatcher(r: Resource, reporter: Reporter, m: Record<string, unknown>, at: Segments): StringMatcherModel | undefined {
  const set = KINDS.filter((k) => m[k] !== undefined);
  if (set.length !== 1) {
    reporter.error(r, at, set.length === 0 ? "a string matcher needs one of exact, prefix, suffix, contains or safeRegex" : `${set.join(" and ")} are set; a string matcher takes exactly one`, "keep the one way this value is matched");
    return undefined;
  }
  const kind = set[0]!;
  const value = m[kind] as string;
  const ignoreCase = m["ignoreCase"] === true;
  if (kind === "safeRegex") {
    const problem = regexProblem(value);
    if (problem !== undefined) {
      reporter.report(problem.severity, r, [...at, "safeRegex"], problem.message, problem.hint);
      if (problem.severity === "error") return undefined;
    }
    if (ignoreCase) reporter.warn(r, [...at, "ignoreCase"], "ignoreCase does not apply to safeRegex (as in Envoy): the pattern matches case as written", "write the pattern to match either case, e.g. [Ee]xample");
  }
  return { kind, value, ignoreCase };
}
