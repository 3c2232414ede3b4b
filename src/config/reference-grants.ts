// ReferenceGrant checks: a reference into another namespace needs a grant there.
import type { Severity } from "./diagnostics.ts";
import type { Reporter, Resource, Segments } from "./resources.ts";

export interface GrantTarget {
  readonly group: string;
  readonly kind: string;
  readonly name: string;
  readonly namespace: string;
}

export class ReferenceGrants {
  readonly #grants: readonly Resource[];

  constructor(grants: readonly Resource[]) {
    this.#grants = grants;
  }

  allows(from: Resource, fromGroup: string, to: GrantTarget): boolean {
    if (from.namespace === to.namespace) return true;
    return this.#grants.some(
      (g) =>
        g.namespace === to.namespace &&
        (g.spec["from"] as { group: string; kind: string; namespace: string }[]).some(
          (f) => f.group === fromGroup && f.kind === from.kind && f.namespace === from.namespace,
        ) &&
        (g.spec["to"] as { group: string; kind: string; name?: string }[]).some(
          (t) => t.group === to.group && t.kind === to.kind && (t.name === undefined || t.name === "" || t.name === to.name),
        ),
    );
  }

  /**
   * Whether allowed. A missing grant is reported at `severity`, `consequence` appended,
   * naming exactly the grant that would allow it.
   */
  check(reporter: Reporter, from: Resource, fromGroup: string, to: GrantTarget, segments: Segments, severity: Severity = "error", consequence = ""): boolean {
    if (this.allows(from, fromGroup, to)) return true;
    const toGroup = to.group === "" ? '""' : to.group;
    reporter.report(
      severity,
      from,
      segments,
      `reference to ${to.kind} ${to.namespace}/${to.name} crosses namespaces and no ReferenceGrant in "${to.namespace}" allows it${consequence}`,
      `add a ReferenceGrant in namespace "${to.namespace}" with from: [{group: ${fromGroup}, kind: ${from.kind}, namespace: ${from.namespace}}] and to: [{group: ${toGroup}, kind: ${to.kind}, name: ${to.name}}]`,
    );
    return false;
  }
}
