// A regex and its substitution, as Envoy's RegexMatchAndSubstitute takes them (urlRewrite's
// pathRegex, a consistent hash header's regexRewrite): RE2 syntax, run on V8's linear-time
// engine, and a substitution whose escapes name groups the pattern has.
import { canSearchLinearly } from "../router/linear-regex.ts";
import { regexProblem } from "./regex-check.ts";
import type { Reporter, Resource, Segments } from "./resources.ts";

/** Reports what is wrong at `at` (its `pattern` and `substitution`); true when both are usable. */
export function checkRegexSubstitution(p: Resource, reporter: Reporter, at: Segments, pattern: string, substitution: string, what: string): boolean {
  const problem = regexProblem(pattern);
  if (problem?.severity === "error") {
    reporter.error(p, [...at, "pattern"], problem.message, problem.hint);
    return false;
  }
  // A rewrite searches the whole value from every position, which takes a backtracking
  // engine quadratic time even on shapes a full match runs fast; so it runs on V8's
  // linear-time engine alone, as RE2 would (and the fallback warnings do not apply).
  if (!canSearchLinearly(pattern)) {
    reporter.error(p, [...at, "pattern"], `${what} runs on V8's linear-time engine, which cannot run this pattern (it takes no repeat count above 16 and no inline modifier such as (?i:…))`, "use a smaller repeat count, or spell the alternatives out");
    return false;
  }
  // A pattern that also matches '' reports its group count in the match's length.
  const groups = new RegExp(`${pattern}|`).exec("")!.length - 1;
  const escape = badEscape(substitution, groups);
  if (escape !== undefined) {
    reporter.error(p, [...at, "substitution"], escape, "write \\1 to \\9 for a group of the pattern, \\0 for the whole match, \\\\ for a backslash");
    return false;
  }
  return true;
}

function badEscape(substitution: string, groups: number): string | undefined {
  for (let i = 0; i < substitution.length; i++) {
    if (substitution[i] !== "\\") continue;
    const next = substitution[i + 1];
    if (next === "\\") {
      i++;
      continue;
    }
    if (next !== undefined && next >= "0" && next <= "9") {
      if (Number(next) > groups) return `\\${next} names group ${next}, and the pattern has ${groups === 0 ? "no groups" : groups === 1 ? "1 group" : `${groups} groups`}`;
      i++;
      continue;
    }
    return next === undefined ? "the substitution ends with a lone backslash" : `\\${next} is not a substitution escape`;
  }
  return undefined;
}
