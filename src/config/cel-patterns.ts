// The `matches()` patterns of a CEL expression, checked as route patterns are (the CEL
// library runs them with JavaScript's RegExp on every evaluation).
import type { ParseResult } from "@marcbachmann/cel-js";
import { matchesPatterns } from "../cel/matches-patterns.ts";
import { regexProblem } from "./regex-check.ts";
import type { Severity } from "./diagnostics.ts";
import type { Reporter, Resource, Segments } from "./resources.ts";

/**
 * Reports each pattern's problem at its place in the expression; a computed pattern, which
 * the config cannot check, is reported with `computedSeverity`. False when one is an error.
 */
export function checkMatchesPatterns(p: Resource, reporter: Reporter, at: Segments, program: ParseResult, computedSeverity: Severity): boolean {
  let usable = true;
  for (const { pattern, offset } of matchesPatterns(program)) {
    if (pattern === undefined) {
      const message = "this matches() pattern is computed, so the config cannot check it, and a pattern built from the request could take time exponential in the request to match";
      reporter.reportInString(computedSeverity, p, at, offset, message, "write the pattern as a string literal");
      usable &&= computedSeverity !== "error";
      continue;
    }
    const problem = regexProblem(pattern);
    if (problem === undefined) continue;
    reporter.reportInString(problem.severity, p, at, offset, `matches(): ${problem.message}`, problem.hint);
    usable &&= problem.severity !== "error";
  }
  return usable;
}
