// A path rewrite by regex, as Envoy's regex_rewrite runs it (RE2's GlobalReplace): every
// match replaced, left to right, except an empty match right where the previous replaced
// match ended, so `/?$` on `/docs/` adds one index page, not two.
import type { SourceRef } from "../config/model.ts";
import { compileEveryMatch } from "../router/regex.ts";
import { substitutionParts } from "../config/traffic-url-rewrite.ts";

/**
 * Each search may read to the end of the path even on the linear-time engine (`a.*b|a` on a
 * run of `a`s), so a crafted path with a match per character would cost the square of its
 * length. Past this many replacements the rest of the path is left as it is.
 */
export const MAX_REPLACEMENTS = 64;

export class RegexRewrite {
  /** Global and linear-time (`gl`); exec() moves its lastIndex, reset at each use. */
  readonly #pattern: RegExp;
  /** Literal text, and group numbers (0: the whole match). */
  readonly #parts: readonly (string | number)[];

  constructor(pattern: string, substitution: string, source: SourceRef) {
    this.#pattern = compileEveryMatch(pattern, source);
    this.#parts = substitutionParts(substitution);
  }

  apply(input: string): string {
    const pattern = this.#pattern;
    pattern.lastIndex = 0;
    let out = "";
    let copied = 0;
    let lastEnd = -1;
    let replaced = 0;
    for (let m = pattern.exec(input); m !== null && replaced < MAX_REPLACEMENTS; m = pattern.exec(input)) {
      const start = m.index;
      const end = start + m[0].length;
      if (end === start) {
        pattern.lastIndex = start + 1;
        if (start === lastEnd) continue;
      }
      out += input.slice(copied, start) + this.#expand(m);
      replaced++;
      copied = end;
      lastEnd = end;
    }
    return out + input.slice(copied);
  }

  #expand(m: RegExpExecArray): string {
    let text = "";
    for (const part of this.#parts) text += typeof part === "string" ? part : (m[part] ?? "");
    return text;
  }
}
