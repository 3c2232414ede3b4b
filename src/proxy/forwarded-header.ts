// The RFC 7239 `Forwarded` header, read the way its grammar says: a quoted-string may hold
// `,`, `;`, `=` and `\`-escaped characters, so splitting on the raw separators reads
// `host="alice:pa;ss@h"` as two parameters and leaves part of a credential behind. Every
// reader of the header (client address, host and proto, userinfo stripping) goes through here.

/** One `name=value` parameter of one element. */
export interface ForwardedPair {
  /** Trimmed and lower-cased: parameter names are case-insensitive. */
  readonly name: string;
  /** Unquoted and unescaped. */
  readonly value: string;
  /** True when the value was written as a quoted-string. */
  readonly quoted: boolean;
  /** Where the value was written in the header (trimmed, quotes included), for rewriting it in place. */
  readonly valueStart: number;
  readonly valueEnd: number;
}

const QUOTE = 34;
const BACKSLASH = 92;
const COMMA = 44;
const SEMICOLON = 59;
const EQUALS = 61;

/** A parsed header: its elements, left to right, each as its parameters. */
export interface ParsedForwarded {
  readonly elements: ForwardedPair[][];
  /**
   * False when a quoted-string never closes, a `"` stands anywhere but at a value's start, or
   * text follows a closing quote. Where such a header splits into elements is anyone's guess:
   * a client can send `for=x;y="` so that the element a proxy appends reads as part of its own.
   */
  readonly wellFormed: boolean;
}

/**
 * Reads the header. Empty list elements are skipped (RFC 9110 §5.6.1); a parameter without
 * `=` is dropped, but its element still counts, so proxy hops are counted as sent. Malformed
 * input never throws: a `"` that does not open a closed quoted-string at a value's start is
 * read as an ordinary character, and the result says the header is not well-formed.
 */
export function parseForwarded(header: string): ParsedForwarded {
  const elements: ForwardedPair[][] = [];
  let pairs: ForwardedPair[] = [];
  let wellFormed = true;
  let elementHasText = false;
  let segmentStart = 0;
  let equals = -1;
  let valueHasText = false;
  let quoteClosed = false;
  const length = header.length;
  let i = 0;
  while (i <= length) {
    const c = i < length ? header.charCodeAt(i) : COMMA;
    if (c === QUOTE && equals >= 0 && !valueHasText) {
      const end = endOfQuoted(header, i);
      if (end >= 0) {
        elementHasText = valueHasText = quoteClosed = true;
        i = end;
        continue;
      }
    }
    if (c === SEMICOLON || c === COMMA) {
      if (equals >= 0) pairs.push(pairAt(header, segmentStart, equals, i));
      if (c === COMMA) {
        if (elementHasText) elements.push(pairs);
        pairs = [];
        elementHasText = false;
      }
      segmentStart = i + 1;
      equals = -1;
      valueHasText = quoteClosed = false;
    } else if (!isSpace(c)) {
      if (c === QUOTE || quoteClosed) wellFormed = false;
      if (c === EQUALS && equals < 0) equals = i;
      else if (equals >= 0) valueHasText = true;
      elementHasText = true;
    }
    i++;
  }
  return { elements, wellFormed };
}

/** The first parameter called `name` (lower-case) in one element, unquoted. */
export function forwardedParam(element: readonly ForwardedPair[] | undefined, name: string): string | undefined {
  if (element === undefined) return undefined;
  for (const pair of element) if (pair.name === name) return pair.value;
  return undefined;
}

/** A value as RFC 7239 wants it written: bare when it is a token, else a quoted-string. */
export function formatForwardedValue(value: string, quote: boolean): string {
  if (!quote && isToken(value)) return value;
  return `"${value.replace(/["\\]/g, "\\$&")}"`;
}

/** Index just past the quoted-string opening at `open`, or -1 when it never closes. */
function endOfQuoted(header: string, open: number): number {
  for (let i = open + 1; i < header.length; i++) {
    const c = header.charCodeAt(i);
    if (c === BACKSLASH) i++;
    else if (c === QUOTE) return i + 1;
  }
  return -1;
}

function pairAt(header: string, start: number, equals: number, end: number): ForwardedPair {
  let valueStart = equals + 1;
  let valueEnd = end;
  while (valueStart < valueEnd && isSpace(header.charCodeAt(valueStart))) valueStart++;
  while (valueEnd > valueStart && isSpace(header.charCodeAt(valueEnd - 1))) valueEnd--;
  const quoted = header.charCodeAt(valueStart) === QUOTE && valueStart < valueEnd;
  return {
    name: header.slice(start, equals).trim().toLowerCase(),
    value: quoted ? unquote(header, valueStart, valueEnd) : header.slice(valueStart, valueEnd),
    quoted,
    valueStart,
    valueEnd,
  };
}

/** The quoted-string's content unescaped; text after its closing quote, or all of an unclosed one, is kept. */
function unquote(header: string, open: number, end: number): string {
  let out = "";
  let i = open + 1;
  while (i < end) {
    const c = header.charCodeAt(i);
    if (c === QUOTE) return out + header.slice(i + 1, end);
    if (c === BACKSLASH && i + 1 < end) i++;
    out += header[i];
    i++;
  }
  return out;
}

function isSpace(c: number): boolean {
  return c === 32 || c === 9;
}

/** RFC 9110 tchar: `!#$%&'*+-.^_\`|~`, digits and letters. */
function isToken(value: string): boolean {
  return /^[!#$%&'*+\-.^_`|~0-9A-Za-z]+$/.test(value);
}
