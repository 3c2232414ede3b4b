// A problem found while compiling a plan, pointing at the config that caused it.
import type { SourceRef } from "../config/model.ts";

export class PlanCompileError extends Error {
  readonly source: SourceRef;

  constructor(source: SourceRef, message: string, hint?: string) {
    const suffix = hint === undefined ? "" : ` (hint: ${hint})`;
    super(`${source.file}:${source.line}:${source.col}: ${source.path}: ${message}${suffix}`);
    this.name = "PlanCompileError";
    this.source = source;
  }
}
