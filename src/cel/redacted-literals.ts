// An rbac expression for the admin view: every string literal that is a value replaced, the
// names it looks up kept (`request.headers['x-role'] == "[REDACTED]"`). An access-control
// expression compares the request with what it expects, and what it expects may be a token,
// a cookie, a signature in a query: the view shows the shape of the check, never its values.
import { Environment } from "@marcbachmann/cel-js";
import type { ASTNode } from "@marcbachmann/cel-js";

// The syntax the config's environments accept (`.?name`, `[?key]`); parsing needs no variables.
const syntax = new Environment({ enableOptionalTypes: true });

/** `expr` with its value literals replaced by `placeholder`; `placeholder` alone when it does not parse. */
export function withRedactedLiterals(expr: string, placeholder: string): string {
  let ast: ASTNode;
  try {
    ast = syntax.parse(expr).ast;
  } catch {
    return placeholder;
  }
  const ranges: { start: number; end: number }[] = [];
  collect(ast, ranges, false);
  let out = "";
  let at = 0;
  for (const range of ranges.sort((a, b) => a.start - b.start)) {
    out += `${expr.slice(at, range.start)}${JSON.stringify(placeholder)}`;
    at = range.end;
  }
  // With the values gone, a `//` left can only start a comment, which may quote one.
  return (out + expr.slice(at)).replace(/\/\/[^\n]*/g, "");
}

function isFieldSelection(value: unknown): boolean {
  return typeof value === "object" && value !== null && "op" in value && (value as ASTNode).op === ".";
}

function collect(value: unknown, ranges: { start: number; end: number }[], isName: boolean): void {
  if (Array.isArray(value)) {
    for (const item of value) collect(item, ranges, false);
    return;
  }
  if (typeof value !== "object" || value === null || !("op" in value) || !("args" in value)) return;
  const node = value as ASTNode;
  if (node.op === "value") {
    if ((typeof node.args === "string" || node.args instanceof Uint8Array) && !isName) ranges.push({ start: node.start, end: node.end });
    return;
  }
  const args = node.args as unknown[];
  // A map key looked up (`headers['x-role']`, `headers[?'x']`) or tested (`'x' in headers`) is a name.
  if ((node.op === "[]" || node.op === "[?]") && Array.isArray(args)) {
    collect(args[0], ranges, false);
    collect(args[1], ranges, true);
    return;
  }
  // `'x' in request.headers` tests a key; `'x' in [...]` or in a computed list compares a value.
  if (node.op === "in" && Array.isArray(args)) {
    collect(args[0], ranges, isFieldSelection(args[1]));
    collect(args[1], ranges, false);
    return;
  }
  collect(node.args, ranges, false);
}
