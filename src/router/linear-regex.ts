// JavaScript regexes backtrack: a route pattern such as `/api/(a+)+b` and a path of 40 `a`s
// would block the event loop for hours, where the Gateway API's reference syntax (RE2) runs
// in time linear in the input. With the second V8 flag a match that backtracks too much is
// run again on V8's linear-time engine (normal matches keep the fast backtracking engine).
// That engine cannot run backreferences or lookarounds, which RE2 does not have either: the
// config refuses those. A pattern it cannot run for another reason (a repeat count above 16,
// an inline modifier) stays on the backtracking engine, so the config refuses such a pattern
// when it nests repeats; the first flag lets the config ask the engine (the `l` flag). The
// flags are process-wide and must be set before the regexes they protect are compiled: every
// module that compiles a pattern from the config imports this one.
import { setFlagsFromString } from "node:v8";

setFlagsFromString("--enable-experimental-regexp-engine");
setFlagsFromString("--enable-experimental-regexp-engine-on-excessive-backtracks");

/** True when V8's linear-time engine can run `pattern` as the router compiles it (see regex.ts). */
export function hasLinearFallback(pattern: string): boolean {
  try {
    new RegExp(`^(?:${pattern})$`, "l");
    return true;
  } catch {
    return false;
  }
}

/** A group that repeats (`*`, `+`, `{n,}`, a count of 2 or more) around a body that can match the same text several ways. */
export interface AmbiguousRepeat {
  /** The group with its repeat, as written (`(a+)+`). */
  text: string;
  /** Whether the body holds a variable repeat (exponential) or only an alternation (exponential when the branches overlap). */
  body: "repeat" | "alternation";
}

interface OpenGroup {
  start: number;
  varies: boolean;
  alternates: boolean;
}

interface Repeat {
  end: number;
  min: number;
  max: number;
}

/**
 * The first repeated group whose body holds a repeat of variable length (`(a+)+`,
 * `(a{1,20})+`) or an alternation (`(a|aa)+`): the shapes that make a backtracking engine
 * take time exponential in the input. A fixed count in the body (`([0-9a-f]{64})+`) matches
 * one way and does not count. A nested group's repeats count for the groups around it.
 */
export function ambiguousRepeat(pattern: string): AmbiguousRepeat | undefined {
  const open: OpenGroup[] = [];
  let inClass = false;
  for (let i = 0; i < pattern.length; i++) {
    const ch = pattern[i];
    if (ch === "\\") {
      i++;
    } else if (inClass) {
      inClass = ch !== "]";
    } else if (ch === "[") {
      inClass = true;
    } else if (ch === "(") {
      open.push({ start: i, varies: false, alternates: false });
      // `(?:`, `(?<name>`, `(?i:`: the `?` opens a group kind, it repeats nothing.
      if (pattern[i + 1] === "?") i++;
    } else if (ch === "|") {
      const group = open.at(-1);
      if (group !== undefined) group.alternates = true;
    } else if (ch === ")") {
      const group = open.pop();
      if (group === undefined) continue;
      const repeat = repeatAt(pattern, i + 1);
      if (repeat !== undefined && repeat.max >= 2 && (group.varies || group.alternates)) {
        return { text: pattern.slice(group.start, repeat.end), body: group.varies ? "repeat" : "alternation" };
      }
      const parent = open.at(-1);
      if (parent === undefined) continue;
      parent.varies ||= group.varies || (repeat !== undefined && repeat.max > repeat.min);
      parent.alternates ||= group.alternates;
    } else {
      const repeat = repeatAt(pattern, i);
      const group = open.at(-1);
      if (repeat !== undefined && repeat.max > repeat.min && group !== undefined) group.varies = true;
    }
  }
  return undefined;
}

/** The repeat (`*`, `+`, `?`, `{n}`, `{n,}`, `{n,m}`) starting at `at`, or undefined for none. */
function repeatAt(pattern: string, at: number): Repeat | undefined {
  switch (pattern[at]) {
    case "*":
      return { end: at + 1, min: 0, max: Infinity };
    case "+":
      return { end: at + 1, min: 1, max: Infinity };
    case "?":
      return { end: at + 1, min: 0, max: 1 };
    case "{": {
      // Outside the u flag a brace that is not a well-formed count is a literal.
      const count = /^\{(\d+)(,(\d*))?\}/.exec(pattern.slice(at, at + 24));
      if (count === null) return undefined;
      const min = Number(count[1]);
      const max = count[2] === undefined ? min : count[3] === "" ? Infinity : Number(count[3]);
      return { end: at + count[0].length, min, max };
    }
    default:
      return undefined;
  }
}

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
