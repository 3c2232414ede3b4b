// JavaScript regexes backtrack: a route pattern such as `/api/(a+)+b` and a path of 40 `a`s
// would block the event loop for hours, where the Gateway API's reference syntax (RE2) runs
// in time linear in the input. With this V8 flag a match that backtracks too much is run
// again on V8's linear-time engine (normal matches keep the fast backtracking engine). That
// engine cannot run backreferences or lookarounds, which RE2 does not have either: the config
// refuses those. (A pattern it cannot run for another reason, a repeat count above its limit,
// stays on the backtracking engine.) The flag is process-wide and must be set before the
// regexes it protects are compiled: every module that compiles a pattern from the config
// imports this one.
import { setFlagsFromString } from "node:v8";

setFlagsFromString("--enable-experimental-regexp-engine-on-excessive-backtracks");

/**
 * The backreference or lookaround in `pattern`, which RE2 does not have and which keeps a
 * match on the backtracking engine however long it takes; undefined when there is none.
 * Other patterns V8's linear engine cannot run (a counted repeat above its limit, such as
 * `{64}`; inline modifiers) are RE2 syntax and stay allowed: they only lack the fallback.
 */
export function nonRe2Construct(pattern: string): string | undefined {
  let inClass = false;
  for (let i = 0; i < pattern.length; i++) {
    const ch = pattern[i];
    if (ch === "\\") {
      const next = pattern[i + 1] ?? "";
      // Inside a class `\1` is an octal escape, not a backreference.
      if (!inClass && ((next >= "1" && next <= "9") || (next === "k" && pattern[i + 2] === "<"))) return `the backreference \\${next}`;
      i++;
    } else if (inClass) {
      inClass = ch !== "]";
    } else if (ch === "[") {
      inClass = true;
    } else if (ch === "(" && pattern[i + 1] === "?") {
      const kind = pattern.startsWith("(?<=", i) || pattern.startsWith("(?<!", i) ? pattern.slice(i, i + 4) : pattern.startsWith("(?=", i) || pattern.startsWith("(?!", i) ? pattern.slice(i, i + 3) : undefined;
      if (kind !== undefined) return `the lookaround ${kind}`;
    }
  }
  return undefined;
}
