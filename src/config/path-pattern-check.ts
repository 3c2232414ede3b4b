// RegularExpression path values are matched against the normalised request path
// (docs/proxy.md, "Path normalisation") and cannot be normalised themselves. A pattern
// written for raw paths (`%2f`, `%41`, `//`) loads fine and then never matches where it
// spells out such text, which looks like a routing bug at run time. This finds that text.
//
// Only literal runs are read: text outside character classes, with escapes like `\.` or `\/`
// taken as the character they match. A character class, a class escape (`\d`), a group or an
// alternation ends a run, and a character a quantifier makes optional or repeatable is left
// out of it. So every run found is text that any match passing through that part of the
// pattern contains: if no request path can contain it, that part never matches.

import { isUnreserved } from "../router/path-normalize.ts";

const META = "^$.|?*+()[]{}";
const QUANTIFIERS = "?*+{";
/** Escapes that stand for a class of characters or an assertion, not for one character. */
const CLASS_ESCAPES = "dDwWsSbBpPkxuc0123456789";

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
  const caseInsensitive = pattern.includes("(?i");
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

/** Maximal runs of literal text in `pattern` (see the file comment). */
export function literalRuns(pattern: string): string[] {
  const runs: string[] = [];
  let run = "";
  const end = (): void => {
    if (run !== "") runs.push(run);
    run = "";
  };
  for (let i = 0; i < pattern.length; ) {
    const ch = pattern[i]!;
    let literal: string | undefined;
    let next = i + 1;
    if (ch === "\\") {
      const escaped = pattern[i + 1] ?? "";
      literal = escaped !== "" && !CLASS_ESCAPES.includes(escaped) && !/[a-zA-Z]/.test(escaped) ? escaped : undefined;
      next = i + 2;
    } else if (ch === "[") {
      next = classEnd(pattern, i);
    } else if (ch === "{") {
      next = i + (/^\{\d+(,\d*)?\}/.exec(pattern.slice(i))?.[0].length ?? 1);
    } else if (ch === "(" && pattern[i + 1] === "?") {
      next = groupPrefixEnd(pattern, i);
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
  return runs;
}

/**
 * Where reading goes on after a `(?` at `open`: past the prefix of a non-capturing, named or
 * modifier group, whose body is read as usual; past the whole of a lookaround, whose text is
 * not consumed (and in a negative one, must not be there).
 */
function groupPrefixEnd(pattern: string, open: number): number {
  const kind = pattern.slice(open + 2, open + 4);
  if (kind[0] === "=" || kind[0] === "!" || kind === "<=" || kind === "<!") return groupEnd(pattern, open);
  const close = pattern.slice(open + 2).search(kind[0] === "<" ? />/ : /:/);
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
