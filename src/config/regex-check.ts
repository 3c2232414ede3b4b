// The checks every regular expression from the config gets, whether a route matches with it
// or an access-log filter's CEL `matches()` does: valid JavaScript syntax, no RE2 construct
// JavaScript reads differently, no construct RE2 lacks, and no shape that backtracks for
// hours where V8's linear engine cannot take over (a repeat of a repeat, or two repeats that
// can share a run of characters).
import { ambiguousRepeat, hasLinearFallback, nonRe2Construct, overlappingRepeats } from "../router/linear-regex.ts";
import type { Severity } from "./diagnostics.ts";
import { re2OnlyConstruct } from "./re2-only-syntax.ts";

export interface RegexProblem {
  readonly severity: Severity;
  readonly message: string;
  readonly hint: string;
}

const NO_FALLBACK =
  "V8's linear-time engine, which takes over from a match that backtracks too much, cannot run this pattern (it takes no repeat count above 16 and no inline modifier such as (?i:…))";

/** What is wrong with `pattern`, or undefined when nothing is. */
export function regexProblem(pattern: string): RegexProblem | undefined {
  try {
    new RegExp(pattern);
  } catch (err) {
    const reason = (err as Error).message.replace(/^Invalid regular expression: \/.*\/[a-z]*: /s, "");
    return { severity: "error", message: `invalid regular expression: ${reason}`, hint: "use ECMAScript regular expression syntax" };
  }
  const re2Only = re2OnlyConstruct(pattern);
  if (re2Only !== undefined) {
    return {
      severity: "error",
      message: `${re2Only.text} is RE2 syntax that JavaScript, the dialect Tollgate runs patterns in, reads with another meaning`,
      hint: `write ${re2Only.instead}`,
    };
  }
  const construct = nonRe2Construct(pattern);
  if (construct !== undefined) {
    return {
      severity: "error",
      message: `${construct} is not RE2 syntax (the Gateway API's and Envoy's), and such a pattern can take time exponential in the request to match`,
      hint: "rewrite it without backreferences and lookarounds",
    };
  }
  const ambiguous = ambiguousRepeat(pattern);
  const overlap = ambiguous === undefined ? overlappingRepeats(pattern) : undefined;
  if ((ambiguous === undefined && overlap === undefined) || hasLinearFallback(pattern)) return undefined;
  if (ambiguous === undefined) {
    return {
      severity: "error",
      message: `the repeats ${overlap} can split the same run of characters many ways, which can take time polynomial in the request to match, and ${NO_FALLBACK}`,
      hint: "put a character only one of them matches between the two repeats, bound one of them, or keep repeat counts at 16 or below",
    };
  }
  // `(get|post){1,20}` is safe: only overlapping branches backtrack, so an alternation is a warning.
  if (ambiguous.body === "alternation") {
    return {
      severity: "warning",
      message: `the repeated group ${ambiguous.text} can take time exponential in the request to match when its branches overlap, and ${NO_FALLBACK}`,
      hint: "make the branches exclusive, or keep repeat counts at 16 or below",
    };
  }
  return {
    severity: "error",
    message: `the repeated group ${ambiguous.text} repeats a repeat, which can take time exponential in the request to match, and ${NO_FALLBACK}`,
    hint: "drop one of the two repeats (`(a+)+` matches what `a+` does), or keep repeat counts at 16 or below",
  };
}
