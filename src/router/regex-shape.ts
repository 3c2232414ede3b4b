// The shape of a route pattern, as far as backtracking cares: which groups repeat, what their
// bodies hold and which characters each piece can match. Only read at config time, on a
// pattern `new RegExp` has already accepted (JavaScript syntax without flags), for patterns
// V8's linear engine cannot take over (see linear-regex.ts).

/** One piece of a pattern with its repeat: a character, a class, an assertion or a group. */
export interface Atom {
  /** Which characters it matches; for a group, any of its pieces'. */
  readonly matches: (ch: string) => boolean;
  /** The character it stands for when it is one literal character of one case. */
  readonly literal: string | undefined;
  /** A group's alternatives; undefined for anything else. */
  readonly alternatives: readonly Sequence[] | undefined;
  readonly min: number;
  readonly max: number;
  /** The piece with its repeat, as written. */
  readonly text: string;
}

export type Sequence = readonly Atom[];

/** The top-level alternatives of `pattern`. */
export function parsePattern(pattern: string): readonly Sequence[] {
  return new ShapeParser(pattern).alternatives(false);
}

const NOTHING = (): boolean => false;
const LINE_TERMINATORS = "\n\r\u2028\u2029";
const WHITESPACE = /\s/;
const WORD = /\w/;
const DIGIT = /\d/;

class ShapeParser {
  readonly #p: string;
  #i = 0;

  constructor(pattern: string) {
    this.#p = pattern;
  }

  alternatives(ignoreCase: boolean): Sequence[] {
    const out: Atom[][] = [[]];
    while (this.#i < this.#p.length && this.#p[this.#i] !== ")") {
      if (this.#p[this.#i] === "|") {
        this.#i++;
        out.push([]);
      } else out.at(-1)!.push(this.#atom(ignoreCase));
    }
    return out;
  }

  #atom(ignoreCase: boolean): Atom {
    const start = this.#i;
    const ch = this.#p[this.#i]!;
    let piece: Pick<Atom, "matches" | "literal" | "alternatives">;
    if (ch === "(") piece = this.#group(ignoreCase);
    else if (ch === "[") piece = this.#class(ignoreCase);
    else if (ch === "\\") piece = this.#escape(ignoreCase);
    else {
      this.#i++;
      if (ch === ".") piece = { matches: (c) => !LINE_TERMINATORS.includes(c), literal: undefined, alternatives: undefined };
      else if (ch === "^" || ch === "$") piece = { matches: NOTHING, literal: undefined, alternatives: undefined };
      else piece = literal(ch, ignoreCase);
    }
    const repeat = repeatAt(this.#p, this.#i);
    if (repeat !== undefined) this.#i = this.#p[repeat.end] === "?" ? repeat.end + 1 : repeat.end;
    return { ...piece, min: repeat?.min ?? 1, max: repeat?.max ?? 1, text: this.#p.slice(start, this.#i) };
  }

  #group(ignoreCase: boolean): Pick<Atom, "matches" | "literal" | "alternatives"> {
    this.#i++;
    let caseless = ignoreCase;
    // `(?:`, `(?<name>`, `(?i:`, `(?-i:`; lookarounds never get here (the config refuses them).
    const kind = /^\?(?:<[^>=!]*>|([a-z]*)(?:-([a-z]*))?:)/.exec(this.#p.slice(this.#i));
    if (kind !== null) {
      if (kind[1]?.includes("i") === true) caseless = true;
      if (kind[2]?.includes("i") === true) caseless = false;
      this.#i += kind[0].length;
    }
    const alternatives = this.alternatives(caseless);
    this.#i++; // `)`
    return { matches: (c) => alternatives.some((seq) => seq.some((a) => a.matches(c))), literal: undefined, alternatives };
  }

  #class(ignoreCase: boolean): Pick<Atom, "matches" | "literal" | "alternatives"> {
    this.#i++;
    const negated = this.#p[this.#i] === "^";
    if (negated) this.#i++;
    const tests: ((c: string) => boolean)[] = [];
    while (this.#i < this.#p.length && this.#p[this.#i] !== "]") {
      const from = this.#classChar();
      if (this.#p[this.#i] === "-" && this.#p[this.#i + 1] !== "]" && this.#i + 1 < this.#p.length && typeof from === "string") {
        this.#i++;
        const to = this.#classChar();
        if (typeof to === "string") tests.push((c) => c >= from && c <= to);
        else tests.push((c) => c === from || c === "-" || to(c));
      } else tests.push(typeof from === "string" ? (c) => c === from : from);
    }
    this.#i++; // `]`
    const inClass = (c: string): boolean => tests.some((t) => t(c));
    const matches = (c: string): boolean => negated !== (ignoreCase ? [c, c.toLowerCase(), c.toUpperCase()].some(inClass) : inClass(c));
    return { matches, literal: undefined, alternatives: undefined };
  }

  /** One character of a class, or the test of a class escape (`\d`, `\w`, `\s` and their negations). */
  #classChar(): string | ((c: string) => boolean) {
    const ch = this.#p[this.#i]!;
    if (ch !== "\\") {
      this.#i++;
      return ch;
    }
    return this.#escapeBody();
  }

  #escape(ignoreCase: boolean): Pick<Atom, "matches" | "literal" | "alternatives"> {
    const next = this.#p[this.#i + 1];
    if (next === "b" || next === "B") {
      this.#i += 2;
      return { matches: NOTHING, literal: undefined, alternatives: undefined };
    }
    const escaped = this.#escapeBody();
    return typeof escaped === "string" ? literal(escaped, ignoreCase) : { matches: escaped, literal: undefined, alternatives: undefined };
  }

  /** After a `\`: the character it stands for, or a class escape's test. */
  #escapeBody(): string | ((c: string) => boolean) {
    const ch = this.#p[this.#i + 1] ?? "\\";
    this.#i += 2;
    switch (ch) {
      case "d":
        return (c) => DIGIT.test(c);
      case "D":
        return (c) => !DIGIT.test(c);
      case "w":
        return (c) => WORD.test(c);
      case "W":
        return (c) => !WORD.test(c);
      case "s":
        return (c) => WHITESPACE.test(c);
      case "S":
        return (c) => !WHITESPACE.test(c);
      case "n":
        return "\n";
      case "r":
        return "\r";
      case "t":
        return "\t";
      case "f":
        return "\f";
      case "v":
        return "\v";
      case "0":
        return "\0";
      case "x":
      case "u": {
        const digits = ch === "x" ? 2 : 4;
        const hex = this.#p.slice(this.#i, this.#i + digits);
        if (!/^[0-9a-fA-F]+$/.test(hex) || hex.length !== digits) return ch;
        this.#i += digits;
        return String.fromCharCode(Number.parseInt(hex, 16));
      }
      case "c": {
        const letter = this.#p[this.#i];
        if (letter === undefined || !/[a-zA-Z]/.test(letter)) return "\\";
        this.#i++;
        return String.fromCharCode(letter.charCodeAt(0) % 32);
      }
      default:
        return ch;
    }
  }
}

function literal(ch: string, ignoreCase: boolean): Pick<Atom, "matches" | "literal" | "alternatives"> {
  const caseless = ch.toLowerCase() === ch.toUpperCase();
  if (!ignoreCase || caseless) return { matches: (c) => c === ch, literal: ch, alternatives: undefined };
  const lower = ch.toLowerCase();
  return { matches: (c) => c.toLowerCase() === lower, literal: undefined, alternatives: undefined };
}

interface Repeat {
  readonly end: number;
  readonly min: number;
  readonly max: number;
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
