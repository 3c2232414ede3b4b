// Config problems, reported all at once, each pointing at file, line, column and field path.

export type Severity = "error" | "warning" | "info";

export interface Diagnostic {
  readonly severity: Severity;
  readonly file: string;
  /** 1-based. */
  readonly line: number;
  /** 1-based. */
  readonly col: number;
  /** Field path inside the document, e.g. `spec.rules[0].backendRefs[1].weight`; `-` for the whole file. */
  readonly path: string;
  readonly message: string;
  /** What to do about it. */
  readonly hint: string | undefined;
}

/** `FILE:LINE:COL: path: message (hint: ...)`, the format DESIGN.md fixes for `tollgate validate`. */
export function formatDiagnostic(d: Diagnostic): string {
  const prefix = d.severity === "error" ? "" : `${d.severity}: `;
  const hint = d.hint === undefined ? "" : ` (hint: ${d.hint})`;
  return `${d.file}:${d.line}:${d.col}: ${d.path}: ${prefix}${d.message}${hint}`;
}
