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
import { parsePattern, type Atom, type Sequence } from "./regex-shape.ts";

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

/** True when V8's linear-time engine alone can search a value with `pattern` (see regex.ts compileEveryMatch). */
export function canSearchLinearly(pattern: string): boolean {
  try {
    new RegExp(pattern, "gl");
    return true;
  } catch {
    return false;
  }
}

/** A group that repeats (`*`, `+`, `{n,}`, a count of 2 or more) around a body that can match the same text several ways. */
export interface AmbiguousRepeat {
  /** The group with its repeat, as written (`(a+)+`). */
  text: string;
  /** Whether the body holds a variable repeat (exponential) or an alternation (exponential when the branches overlap). */
  body: "repeat" | "alternation";
}

/**
 * The first repeated group (outermost first, in source order) whose body can split a text
 * into iterations, or one iteration into its pieces, in more than one way: a body with an
 * alternation (`(a|aa)+`, `(?:(?:v\d+|\w+)/)+`), or one whose length varies (`(a+)+`,
 * `(a{1,20})+`). A body whose length varies is safe only in the one shape that splits one
 * way: a single variable repeat of a character or class, no group with alternatives, and a
 * delimiter, a character or class a fixed number of times that nothing else in the body
 * matches (`(?:[a-z0-9]+/)+`, `(?:\d{1,3}\.){3}`, `(?:\w+\W)+`). Two variable repeats
 * (`(?:x*-x*)+`, `(?:/[a-z]+\w*)+`) can trade characters even around a delimiter. A fixed
 * body (`(?:[a-f0-9]{64})+`) matches one way.
 */
export function ambiguousRepeat(pattern: string): AmbiguousRepeat | undefined {
  return firstAmbiguous(parsePattern(pattern));
}

function firstAmbiguous(alternatives: readonly Sequence[]): AmbiguousRepeat | undefined {
  for (const sequence of alternatives) {
    for (const atom of sequence) {
      const body = atom.alternatives;
      if (body === undefined) continue;
      if (atom.max >= 2) {
        if (body.length > 1) return { text: atom.text, body: "alternation" };
        const only = body[0]!;
        if (!splitsOneWay(only)) return { text: atom.text, body: hasVariableRepeat(only) ? "repeat" : "alternation" };
      }
      const inner = firstAmbiguous(body);
      if (inner !== undefined) return inner;
    }
  }
  return undefined;
}

/** Whether a repeated body matches a text, and splits it into iterations, one way only. */
function splitsOneWay(sequence: Sequence): boolean {
  if (!varies(sequence)) return true;
  if (sequence.some((a) => a.alternatives !== undefined && (a.max > a.min || hasAlternation(a.alternatives) || varies(a.alternatives[0]!)))) return false;
  const variable = sequence.filter((a) => a.max > a.min);
  return variable.length === 1 && variable[0]!.alternatives === undefined && hasDelimiter(sequence);
}

/** Whether the pieces' lengths can vary: a variable repeat or an alternation anywhere inside. */
function varies(sequence: Sequence): boolean {
  return sequence.some((a) => a.max > a.min || (a.alternatives !== undefined && (a.alternatives.length > 1 || a.alternatives.some(varies))));
}

function hasAlternation(alternatives: readonly Sequence[]): boolean {
  return alternatives.length > 1 || alternatives.some((seq) => seq.some((a) => a.alternatives !== undefined && hasAlternation(a.alternatives)));
}

function hasVariableRepeat(sequence: Sequence): boolean {
  return sequence.some((a) => a.max > a.min || (a.alternatives !== undefined && a.alternatives.some(hasVariableRepeat)));
}

function hasDelimiter(sequence: Sequence): boolean {
  return sequence.some((d) => {
    if (d.alternatives !== undefined || d.min !== d.max || d.min === 0) return false;
    const delimiters = charactersOf(d);
    if (delimiters.length === 0) return false;
    // Another fixed copy of the same literal is a delimiter too; anything else must not match one.
    return sequence.every((a) => a === d || (d.literal !== undefined && a.literal === d.literal && a.min === a.max) || !delimiters.some((c) => a.matches(c)));
  });
}

/**
 * Two unbounded repeats of a character or class in one sequence that can share a run of
 * some character: both match it, and so does every piece between them that must match
 * something (`a*a*`, `\d+\w*`, `.*x.*`). A failing match tries every split of the run
 * between them, time polynomial in the request (quadratic for a pair, cubic for three).
 * Returns the pair as written (`.*` and `.*`), or undefined.
 */
export function overlappingRepeats(pattern: string): string | undefined {
  return firstOverlap(parsePattern(pattern));
}

function firstOverlap(alternatives: readonly Sequence[]): string | undefined {
  for (const sequence of alternatives) {
    for (let i = 0; i < sequence.length; i++) {
      const first = sequence[i]!;
      if (first.alternatives !== undefined) {
        const inner = firstOverlap(first.alternatives);
        if (inner !== undefined) return inner;
        continue;
      }
      if (first.max !== Infinity) continue;
      let shared = charactersOf(first);
      for (let j = i + 1; j < sequence.length && shared.length > 0; j++) {
        const next = sequence[j]!;
        if (next.alternatives !== undefined) {
          // A group that must match stands between them (what it can match is not traced); an optional one can be skipped.
          if (next.min > 0) break;
          continue;
        }
        if (next.max === Infinity && shared.some((c) => next.matches(c))) return `${first.text} and ${next.text}`;
        if (next.min > 0) shared = shared.filter((c) => next.matches(c));
      }
    }
  }
  return undefined;
}

/** Every UTF-16 code unit `atom` matches (its class may be large: `\W`). */
function charactersOf(atom: Atom): string[] {
  if (atom.literal !== undefined) return [atom.literal];
  const out: string[] = [];
  for (let code = 0; code <= 0xffff; code++) {
    const c = String.fromCharCode(code);
    if (atom.matches(c)) out.push(c);
  }
  return out;
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
