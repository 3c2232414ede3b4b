// RegularExpression path values are matched against the normalised request path
// (docs/proxy.md, "Path normalisation") and cannot be normalised themselves. A pattern
// written for raw paths (`%2f`, `%41`, `//`) loads fine and then never matches where it
// spells out such text, which looks like a routing bug at run time. This finds that text.
//
// Only literal runs are read: text outside character classes, with escapes like `\.` or `\/`
// taken as the character they match. A character class, any other escape (`\d`, `\x2f`), a
// group or an alternation ends a run, and a character a quantifier makes optional or
// repeatable is left out of it. Runs inside a lookaround, inside a group that may match
// nothing (`(…)?`, `(…)*`, `(…){0,n}`) or that holds an alternation, and all runs of a
// pattern with a top-level alternation, are dropped. So every run found is text each match of
// the pattern contains: if no normalised path can contain it, the pattern never matches.

import { isUnreserved } from "../router/path-normalize.ts";

const META = "^$.|?*+()[]{}";
const QUANTIFIERS = "?*+{";
/** A modifier group that turns on `i`: `(?i:`, `(?si:`, `(?i-m:`. */
const CASE_INSENSITIVE_GROUP = /\(\?[a-z]*i[a-z]*(-[a-z]*)?:/;

export interface NeverMatchedText {
  /** The literal text, as a request path would have to spell it. */
  readonly text: string;
  /** Why no normalised path holds it. */
  readonly reason: string;
  /** What to write instead. */
  readonly hint: string;
}

/** The first literal text in `pattern` that no normalised request path contains, if any. */
export function neverMatchedText(pattern: string): NeverMatchedText | undefined {
  const caseInsensitive = CASE_INSENSITIVE_GROUP.test(pattern);
  for (const run of literalRuns(pattern)) {
    const found = neverMatchedInRun(run, caseInsensitive);
    if (found !== undefined) return found;
  }
  return undefined;
}

function neverMatchedInRun(run: string, caseInsensitive: boolean): NeverMatchedText | undefined {
  if (run.includes("\\")) return { text: "\\", reason: "a backslash is read as /", hint: "match / instead" };
  if (run.includes("//")) return { text: "//", reason: "runs of / are merged", hint: "match a single /" };
  for (const segment of ["/./", "/../"]) {
    if (run.includes(segment)) return { text: segment, reason: ". and .. segments are resolved", hint: "match the path they resolve to" };
  }
  for (let at = run.indexOf("%"); at >= 0 && at + 2 < run.length; at = run.indexOf("%", at + 1)) {
    const escape = run.slice(at, at + 3);
    if (!/^%[0-9a-fA-F]{2}$/.test(escape)) continue;
    const code = Number.parseInt(escape.slice(1), 16);
    if (code === 0) return { text: escape, reason: "requests with %00 in the path are refused", hint: "remove it" };
    if (isUnreserved(code)) {
      const char = String.fromCharCode(code);
      return { text: escape, reason: `escaped unreserved characters are decoded (${escape} is "${char}")`, hint: `write ${char === "." ? "\\." : char}` };
    }
    const upper = escape.toUpperCase();
    if (escape !== upper && !caseInsensitive) return { text: escape, reason: "the hex of escapes is upper-cased", hint: `write ${upper}` };
  }
  return undefined;
}

/** Literal text of a group or of the whole pattern; an alternation makes none of it required. */
interface Level {
  readonly runs: string[];
  alternation: boolean;
}

/** Maximal runs of literal text in `pattern` that every match must contain (see the file comment). */
export function literalRuns(pattern: string): string[] {
  const levels: Level[] = [{ runs: [], alternation: false }];
  let run = "";
  const end = (): void => {
    if (run !== "") levels.at(-1)!.runs.push(run);
    run = "";
  };
  for (let i = 0; i < pattern.length; ) {
    const ch = pattern[i]!;
    let literal: string | undefined;
    let next = i + 1;
    if (ch === "\\") {
      next = escapeEnd(pattern, i);
      const escaped = pattern[i + 1] ?? "";
      // Only an escaped punctuation character stands for itself; \d, \x2f, \k<n>, \1 do not.
      literal = next === i + 2 && /[^a-zA-Z0-9]/.test(escaped) ? escaped : undefined;
    } else if (ch === "[") {
      next = classEnd(pattern, i);
    } else if (ch === "{") {
      next = i + (QUANTIFIER_BRACES.exec(pattern.slice(i))?.[0].length ?? 1);
    } else if (ch === "(") {
      end();
      if (isLookaround(pattern, i)) {
        next = groupEnd(pattern, i);
      } else {
        next = pattern[i + 1] === "?" ? groupPrefixEnd(pattern, i) : i + 1;
        levels.push({ runs: [], alternation: false });
      }
    } else if (ch === ")") {
      end();
      const group = levels.length > 1 ? levels.pop()! : undefined;
      if (group !== undefined && !group.alternation && !isOptional(pattern, next)) levels.at(-1)!.runs.push(...group.runs);
    } else if (ch === "|") {
      end();
      levels.at(-1)!.alternation = true;
    } else if (!META.includes(ch)) {
      literal = ch;
    }
    if (literal === undefined || (next < pattern.length && QUANTIFIERS.includes(pattern[next]!))) {
      end();
    } else {
      run += literal;
    }
    i = next;
  }
  end();
  const top = levels[0]!;
  return top.alternation ? [] : top.runs;
}

const QUANTIFIER_BRACES = /^\{\d+(,\d*)?\}/;

/** True when what ends at `at` may match nothing: a `?`, `*` or `{0…}` follows it. */
function isOptional(pattern: string, at: number): boolean {
  const next = pattern[at];
  return next === "?" || next === "*" || /^\{0(,\d*)?\}/.test(pattern.slice(at));
}

/** The index just past the escape at `at`: `\xHH`, `\uHHHH`, `\u{…}`, `\cX`, `\k<name>`, `\p{…}`, `\12` or one character. */
function escapeEnd(pattern: string, at: number): number {
  const kind = pattern[at + 1];
  const rest = pattern.slice(at + 2);
  const braced = (open: string, close: string): number => (rest.startsWith(open) ? at + 2 + Math.max(rest.indexOf(close), 0) + 1 : at + 2);
  if (kind === "x") return at + 4;
  if (kind === "u") return rest.startsWith("{") ? braced("{", "}") : at + 6;
  if (kind === "c") return at + 3;
  if (kind === "k") return braced("<", ">");
  if (kind === "p" || kind === "P") return braced("{", "}");
  if (kind !== undefined && kind >= "0" && kind <= "9") return at + 1 + (/^\d+/.exec(pattern.slice(at + 1))?.[0].length ?? 1);
  return at + 2;
}

/** `(?=`, `(?!`, `(?<=` or `(?<!` at `open`. */
function isLookaround(pattern: string, open: number): boolean {
  if (pattern[open + 1] !== "?") return false;
  const kind = pattern.slice(open + 2, open + 4);
  return kind[0] === "=" || kind[0] === "!" || kind === "<=" || kind === "<!";
}

/** Past the prefix of a non-capturing, named or modifier group at `open`, where its body starts. */
function groupPrefixEnd(pattern: string, open: number): number {
  const close = pattern.slice(open + 2).search(pattern[open + 2] === "<" ? />/ : /:/);
  return close < 0 ? pattern.length : open + 2 + close + 1;
}

/** The index just past the group opening at `open`. */
function groupEnd(pattern: string, open: number): number {
  let depth = 0;
  for (let i = open; i < pattern.length; i++) {
    const ch = pattern[i];
    if (ch === "\\") i++;
    else if (ch === "[") i = classEnd(pattern, i) - 1;
    else if (ch === "(") depth++;
    else if (ch === ")" && --depth === 0) return i + 1;
  }
  return pattern.length;
}

/** The index just past the character class opening at `open`. */
function classEnd(pattern: string, open: number): number {
  let i = open + 1;
  if (pattern[i] === "^") i++;
  for (; i < pattern.length; i++) {
    if (pattern[i] === "\\") i++;
    else if (pattern[i] === "]") return i + 1;
  }
  return pattern.length;
}
