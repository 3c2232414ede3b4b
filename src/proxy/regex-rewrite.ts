// A path rewrite by regex, as Envoy's regex_rewrite runs it (RE2's GlobalReplace): every
// match replaced, left to right, except an empty match right where the previous replaced
// match ended, so `/?$` on `/docs/` adds one index page, not two.
import { compileEveryMatch } from "../router/regex.ts";
import { substitutionParts } from "../config/traffic-url-rewrite.ts";

export class RegexRewrite {
  /** Global and linear-time (`gl`); exec() moves its lastIndex, reset at each use. */
  readonly #pattern: RegExp;
  /** Literal text, and group numbers (0: the whole match). */
  readonly #parts: readonly (string | number)[];

  constructor(pattern: string, substitution: string) {
    this.#pattern = compileEveryMatch(pattern);
    this.#parts = substitutionParts(substitution);
  }

  apply(input: string): string {
    const pattern = this.#pattern;
    pattern.lastIndex = 0;
    let out = "";
    let copied = 0;
    let lastEnd = -1;
    for (let m = pattern.exec(input); m !== null; m = pattern.exec(input)) {
      const start = m.index;
      const end = start + m[0].length;
      if (end === start) {
        pattern.lastIndex = start + 1;
        if (start === lastEnd) continue;
      }
      out += input.slice(copied, start) + this.#expand(m);
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
