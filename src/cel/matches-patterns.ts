// The regular expressions a CEL filter's `matches()` calls run. The CEL library compiles them
// per evaluation with JavaScript's RegExp, so the config checks them as it checks route
// patterns; a pattern that is not a string literal can only be pointed out.
import type { ASTNode } from "@marcbachmann/cel-js";
import type { AccessLogFilterProgram } from "./environment.ts";

export interface MatchesPattern {
  /** The pattern, or undefined when the expression computes it. */
  readonly pattern: string | undefined;
  /** Where the pattern argument starts in the expression (0-based). */
  readonly offset: number;
}

/** Every `s.matches(p)` in the filter, in source order. */
export function matchesPatterns(program: AccessLogFilterProgram): MatchesPattern[] {
  const found: MatchesPattern[] = [];
  visit(program.ast, found);
  return found.sort((a, b) => a.offset - b.offset);
}

function visit(node: ASTNode, found: MatchesPattern[]): void {
  // The library has only the receiver form (`s.matches(p)`), not the global `matches(s, p)`.
  if (node.op === "rcall" && node.args[0] === "matches" && node.args[2].length === 1) note(node.args[2][0]!, found);
  visitArgs(node.args, found);
}

/** Every AST node in an operator's payload, however it nests them (lists, map entries). */
function visitArgs(args: unknown, found: MatchesPattern[]): void {
  if (Array.isArray(args)) for (const arg of args) visitArgs(arg, found);
  else if (isNode(args)) visit(args, found);
}

function isNode(value: unknown): value is ASTNode {
  return typeof value === "object" && value !== null && "op" in value && "args" in value;
}

function note(argument: ASTNode, found: MatchesPattern[]): void {
  found.push({ pattern: argument.op === "value" && typeof argument.args === "string" ? argument.args : undefined, offset: argument.start });
}
