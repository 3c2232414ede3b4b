// Every regular expression the router uses is compiled here, once, at plan time.
import type { SourceRef } from "../config/model.ts";
import { PlanCompileError } from "../plan/errors.ts";
// Imported first for its V8 flags: the patterns compiled here fall back to a linear-time engine.
import "./linear-regex.ts";

/**
 * Gateway API regex matches are full matches, so the pattern is anchored at both ends. The
 * non-capturing group keeps alternations (`a|b`) inside the anchors. No `g`/`y` flag, so
 * `test()` keeps no state between requests.
 */
export function compileFullMatch(pattern: string, source: SourceRef): RegExp {
  try {
    return fullMatchRegExp(pattern);
  } catch (err) {
    throw new PlanCompileError(
      source,
      `invalid regular expression ${JSON.stringify(pattern)}: ${(err as Error).message}`,
      "use JavaScript/RE2-compatible syntax; the pattern must match the whole value",
    );
  }
}

/** A full match of a pattern the config checked; throws as `new RegExp` does. */
export function fullMatchRegExp(pattern: string): RegExp {
  return new RegExp(`^(?:${pattern})$`);
}

/**
 * A pattern to search a whole value with, match after match (Envoy's regex_rewrite): `g`,
 * and `l` for V8's linear-time engine alone, since a search from every position can take a
 * backtracking engine quadratic time on shapes a full match runs fast. The config checks
 * that the engine can run it.
 */
export function compileEveryMatch(pattern: string, source: SourceRef): RegExp {
  try {
    return new RegExp(pattern, "gl");
  } catch (err) {
    throw new PlanCompileError(source, `regular expression ${JSON.stringify(pattern)} cannot run on the linear-time engine: ${(err as Error).message}`, "the config check should have refused it; report this");
  }
}

/**
 * The literal text every match of `pattern` must start with, or '' when unknown. Lets the
 * router skip regexes that cannot match a path without running them. Conservative: it
 * stops at the first metacharacter, drops a character a quantifier makes optional, and
 * gives up on a top-level alternation.
 */
export function literalPrefix(pattern: string): string {
  if (hasTopLevelAlternation(pattern)) return "";
  let end = 0;
  while (end < pattern.length && !"\\^$.|?*+()[]{}".includes(pattern[end]!)) end++;
  if (end < pattern.length && "?*{".includes(pattern[end]!)) end--;
  return end <= 0 ? "" : pattern.slice(0, end);
}

function hasTopLevelAlternation(pattern: string): boolean {
  let depth = 0;
  let inClass = false;
  for (let i = 0; i < pattern.length; i++) {
    const ch = pattern[i];
    if (ch === "\\") i++;
    else if (inClass) inClass = ch !== "]";
    else if (ch === "[") inClass = true;
    else if (ch === "(") depth++;
    else if (ch === ")") depth--;
    else if (ch === "|" && depth === 0) return true;
  }
  return false;
}
