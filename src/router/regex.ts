// Every regular expression the router uses is compiled here, once, at plan time.
import type { SourceRef } from "../config/model.ts";
import { PlanCompileError } from "../plan/errors.ts";

/**
 * Gateway API regex matches are full matches, so the pattern is anchored at both ends. The
 * non-capturing group keeps alternations (`a|b`) inside the anchors. No `g`/`y` flag, so
 * `test()` keeps no state between requests.
 */
export function compileFullMatch(pattern: string, source: SourceRef): RegExp {
  try {
    return new RegExp(`^(?:${pattern})$`);
  } catch (err) {
    throw new PlanCompileError(
      source,
      `invalid regular expression ${JSON.stringify(pattern)}: ${(err as Error).message}`,
      "use JavaScript/RE2-compatible syntax; the pattern must match the whole value",
    );
  }
}
