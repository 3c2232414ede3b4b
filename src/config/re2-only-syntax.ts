// RE2 syntax (the Gateway API's and Envoy's regex dialect) that JavaScript reads without
// complaint but with another meaning: `[[:digit:]]` is a class of `[:digt` then a `]`,
// `\pL` is `pL`, `\Q.\E` is `Q.E`, `\A` and `\z` are letters, `[]a]` never matches, `[^]a]`
// is any character then `a]`. A pattern ported from Envoy would load and then match
// something else, so the load names the construct instead.

export interface Re2OnlyConstruct {
  /** The construct as written, e.g. `[:digit:]`. */
  readonly text: string;
  /** What to write in JavaScript syntax instead. */
  readonly instead: string;
}

/** RE2's POSIX classes, as JavaScript class contents (ASCII, as in RE2). */
const POSIX_CLASSES: Readonly<Record<string, string>> = {
  alnum: "0-9A-Za-z",
  alpha: "A-Za-z",
  ascii: "\\x00-\\x7F",
  blank: "\\t ",
  cntrl: "\\x00-\\x1F\\x7F",
  digit: "0-9",
  graph: "!-~",
  lower: "a-z",
  print: " -~",
  punct: "!-\\/:-@\\[-`{-~",
  space: "\\t\\n\\v\\f\\r ",
  upper: "A-Z",
  word: "0-9A-Za-z_",
  xdigit: "0-9A-Fa-f",
};

const POSIX_CLASS = /^\[:(\^?)([a-z]+):\]/;

/** The first RE2-only construct in `pattern`, or undefined when there is none. */
export function re2OnlyConstruct(pattern: string): Re2OnlyConstruct | undefined {
  let inClass = false;
  for (let i = 0; i < pattern.length; i++) {
    const ch = pattern[i];
    if (ch === "\\") {
      const found = re2Escape(pattern, i);
      if (found !== undefined) return found;
      i++;
    } else if (inClass) {
      if (ch === "[") {
        const posix = POSIX_CLASS.exec(pattern.slice(i));
        const contents = posix === null ? undefined : POSIX_CLASSES[posix[2]!];
        if (posix !== null && contents !== undefined) {
          return {
            text: posix[0],
            instead: posix[1] === "" ? `its characters inside the class, \`${contents}\`` : `a negated class of \`${contents}\` (RE2's [:^${posix[2]}:])`,
          };
        }
      }
      inClass = ch !== "]";
    } else if (ch === "[") {
      // RE2 reads a `]` right after `[` as a literal; JavaScript, as a class matching nothing.
      if (pattern[i + 1] === "]") return { text: "[]", instead: "`\\]` for a `]` inside the class" };
      inClass = true;
      if (pattern[i + 1] === "^") {
        // RE2 reads `[^]a]` as a negated class holding `]`; JavaScript, as any character then
        // `a]`. A `[^]` with no `]` after it is JavaScript's any-character class, which RE2
        // cannot parse, so nobody wrote it for RE2.
        if (pattern[i + 2] === "]" && unescapedIndexOf(pattern, "]", i + 3) !== -1) {
          return { text: "[^]", instead: "`[^\\]…]` for a negated class holding `]`, or `[\\s\\S]` for any character" };
        }
        i++;
      }
    }
  }
  return undefined;
}

function unescapedIndexOf(pattern: string, ch: string, from: number): number {
  for (let i = from; i < pattern.length; i++) {
    if (pattern[i] === "\\") i++;
    else if (pattern[i] === ch) return i;
  }
  return -1;
}

function re2Escape(pattern: string, at: number): Re2OnlyConstruct | undefined {
  const next = pattern[at + 1];
  switch (next) {
    case "p":
    case "P": {
      const name = pattern[at + 2] === "{" ? pattern.slice(at + 2, pattern.indexOf("}", at) + 1 || undefined) : (pattern[at + 2] ?? "");
      return { text: `\\${next}${name}`, instead: "the characters listed in a class (Unicode property classes need a flag Gateway API patterns cannot set)" };
    }
    case "Q": {
      const end = pattern.indexOf("\\E", at + 2);
      return { text: end === -1 ? pattern.slice(at) : pattern.slice(at, end + 2), instead: "the text with each metacharacter escaped by `\\`" };
    }
    case "A":
      return { text: "\\A", instead: "`^` (a pattern is matched whole anyway)" };
    case "z":
      return { text: "\\z", instead: "`$` (a pattern is matched whole anyway)" };
    case "C":
      return { text: "\\C", instead: "`.` or `[^]`" };
    case "x":
      if (pattern[at + 2] === "{") {
        const close = pattern.indexOf("}", at);
        const hex = close === -1 ? "" : pattern.slice(at + 3, close);
        const instead = /^[0-9A-Fa-f]{1,4}$/.test(hex) ? `\`\\u${hex.padStart(4, "0")}\`` : "`\\uXXXX` (a code point above U+FFFF is two `\\u` escapes)";
        return { text: close === -1 ? "\\x{" : pattern.slice(at, close + 1), instead };
      }
      return undefined;
    default:
      return undefined;
  }
}
