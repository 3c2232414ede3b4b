// The names an expression spells out: its string literals and the fields it selects. The
// admin view uses them to tell an rbac expression that reads a credential header (whose
// literals are then likely the credential) from one that does not.
import { Environment } from "@marcbachmann/cel-js";
import type { ASTNode } from "@marcbachmann/cel-js";

// The syntax the config's environments accept (`.?name`, `[?key]`); parsing needs no variables.
const syntax = new Environment({ enableOptionalTypes: true });

/** Every string literal and selected field name of `expr`; undefined when it does not parse. */
export function expressionNames(expr: string): string[] | undefined {
  let ast: ASTNode;
  try {
    ast = syntax.parse(expr).ast;
  } catch {
    return undefined;
  }
  const names: string[] = [];
  collect(ast, names);
  return names;
}

function collect(value: unknown, names: string[]): void {
  if (Array.isArray(value)) {
    for (const item of value) collect(item, names);
    return;
  }
  if (typeof value !== "object" || value === null || !("op" in value) || !("args" in value)) return;
  const node = value as ASTNode;
  if (node.op === "value" && typeof node.args === "string") names.push(node.args);
  else if ((node.op === "." || node.op === ".?") && Array.isArray(node.args) && typeof node.args[1] === "string") names.push(node.args[1]);
  collect(node.args, names);
}
