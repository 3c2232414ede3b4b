// The documents of a config file as typed resources, and the reporter every check uses to
// produce positioned diagnostics.
import type { Diagnostic, Severity } from "./diagnostics.ts";
import type { ObjectRef, SourceRef } from "./model.ts";
import type { KindSchema } from "./schema.ts";
import { formatPath, nodeAt } from "./yaml-source.ts";
import type { ParsedFile, SourceDocument } from "./yaml-source.ts";

export type Segments = readonly (string | number)[];

export interface Resource {
  readonly kind: string;
  readonly apiVersion: string;
  readonly schema: KindSchema;
  readonly name: string;
  readonly namespace: string;
  /** Explicit creationTimestamp as epoch ms, or undefined. */
  readonly createdMs: number | undefined;
  readonly ref: ObjectRef;
  readonly doc: SourceDocument;
  readonly file: ParsedFile;
  // Validated against the kind's schema before any code reads it.
  readonly spec: Record<string, any>;
}

/**
 * Absent creationTimestamp: newer than any explicit one, and the same age as each other, so
 * `namespace/name` orders them. That is what a cluster does with one applied file: the API
 * server stamps its resources in the same second.
 */
const NO_TIMESTAMP_MS = 8.64e15;

export function precedenceMs(createdMs: number | undefined): number {
  return createdMs ?? NO_TIMESTAMP_MS;
}

/** Gateway API precedence: oldest first, then namespace/name. */
export function byPrecedence(a: Resource, b: Resource): number {
  const d = a.ref.creationTimestampMs - b.ref.creationTimestampMs;
  if (d !== 0) return d;
  const ka = `${a.namespace}/${a.name}`;
  const kb = `${b.namespace}/${b.name}`;
  return ka < kb ? -1 : ka > kb ? 1 : 0;
}

/** Kubernetes label selection: every label asked for, with the same value (none asked: every resource). */
export function hasLabels(r: Resource, matchLabels: Readonly<Record<string, string>>): boolean {
  const metadata = (r.doc.value as Record<string, unknown>)["metadata"] as Record<string, unknown> | undefined;
  const own = metadata?.["labels"];
  const labels = own !== null && typeof own === "object" ? (own as Record<string, unknown>) : {};
  return Object.entries(matchLabels).every(([name, value]) => labels[name] === value);
}

export function key(r: { namespace: string; name: string }): string {
  return `${r.namespace}/${r.name}`;
}

export class Reporter {
  readonly diagnostics: Diagnostic[] = [];
  /** `Kind/namespace/name` of documents that failed the schema: references to them are not reported again. */
  readonly broken = new Set<string>();
  readonly #reported = new Set<string>();

  isBroken(kind: string, namespace: string, name: string): boolean {
    return this.broken.has(`${kind}/${namespace}/${name}`);
  }

  /** Whether some document of `kind` in `namespace` failed the schema (a selector might have meant it). */
  hasBroken(kind: string, namespace: string): boolean {
    const prefix = `${kind}/${namespace}/`;
    for (const id of this.broken) if (id.startsWith(prefix)) return true;
    return false;
  }

  at(file: ParsedFile, doc: SourceDocument, segments: Segments, opts: { atKey?: boolean; missing?: boolean } = {}): { line: number; col: number } {
    const found = nodeAt(doc.doc, segments);
    const node = opts.atKey && found.keyNode !== undefined ? found.keyNode : found.node;
    return file.position(node?.range?.[0] ?? 0);
  }

  report(severity: Severity, r: Resource, segments: Segments, message: string, hint?: string, opts: { atKey?: boolean; missing?: boolean } = {}): void {
    const { line, col } = this.at(r.file, r.doc, segments, opts);
    // A check run once per Gateway a route is served through finds the same thing each time.
    const identity = `${severity} ${r.file.file}:${line}:${col} ${message}`;
    if (this.#reported.has(identity)) return;
    this.#reported.add(identity);
    this.diagnostics.push({ severity, file: r.file.file, line, col, path: formatPath(segments) || "-", message, hint });
  }

  error(r: Resource, segments: Segments, message: string, hint?: string): void {
    this.report("error", r, segments, message, hint);
  }

  warn(r: Resource, segments: Segments, message: string, hint?: string): void {
    this.report("warning", r, segments, message, hint);
  }

  source(r: Resource, segments: Segments): SourceRef {
    const { line, col } = this.at(r.file, r.doc, segments);
    return { file: r.file.file, line, col, path: formatPath(segments) };
  }

  /** 1-based position of a character inside a string value, when the scalar is on one line. */
  inString(r: Resource, segments: Segments, offset: number): { line: number; col: number } {
    const found = nodeAt(r.doc.doc, segments);
    const node = found.node as { range?: [number, number, number]; type?: string; source?: string } | undefined;
    const base = r.file.position(node?.range?.[0] ?? 0);
    const type = node?.type;
    if (type === "PLAIN") return { line: base.line, col: base.col + offset };
    if (type === "QUOTE_DOUBLE" || type === "QUOTE_SINGLE") return { line: base.line, col: base.col + 1 + offset };
    return base;
  }

  errorInString(r: Resource, segments: Segments, offset: number | undefined, message: string, hint?: string): void {
    this.reportInString("error", r, segments, offset, message, hint);
  }

  reportInString(severity: Severity, r: Resource, segments: Segments, offset: number | undefined, message: string, hint?: string): void {
    const { line, col } = offset === undefined ? this.at(r.file, r.doc, segments) : this.inString(r, segments, offset);
    const where = offset === undefined ? "" : ` (at character ${offset + 1})`;
    this.diagnostics.push({ severity, file: r.file.file, line, col, path: formatPath(segments), message: message + where, hint });
  }

  hasErrors(): boolean {
    return this.diagnostics.some((d) => d.severity === "error");
  }
}
