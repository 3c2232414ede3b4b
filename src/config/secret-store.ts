// The Secrets of the config file, found by what names them: across namespaces only with a
// ReferenceGrant, and never when the file holds two of the same name (which one a cluster
// would hold is unknown). What a Secret must contain is for the caller to check.
import type { ReferenceGrants } from "./reference-grants.ts";
import { type Reporter, type Resource, type Segments, hasLabels, key } from "./resources.ts";

export interface SecretRef {
  readonly name: string;
  /** Default: the namespace of the object that names the Secret. */
  readonly namespace?: string | undefined;
}

export class SecretStore {
  readonly #secrets = new Map<string, Resource[]>();
  readonly #grants: ReferenceGrants;
  readonly #reporter: Reporter;

  constructor(secrets: readonly Resource[], grants: ReferenceGrants, reporter: Reporter) {
    for (const secret of secrets) {
      const same = this.#secrets.get(key(secret));
      if (same === undefined) this.#secrets.set(key(secret), [secret]);
      else same.push(secret);
    }
    this.#grants = grants;
    this.#reporter = reporter;
  }

  /**
   * The Secret `ref` (at `at` in `owner`, whose API group is `ownerGroup`) names; undefined
   * after reporting why there is none. `addHint` says how to make the Secret that is missing.
   */
  find(owner: Resource, ownerGroup: string, ref: SecretRef, at: Segments, addHint: string): Resource | undefined {
    const namespace = ref.namespace ?? owner.namespace;
    if (!this.#grants.check(this.#reporter, owner, ownerGroup, { group: "", kind: "Secret", name: ref.name, namespace }, at)) return undefined;
    const id = `${namespace}/${ref.name}`;
    const found = this.#secrets.get(id);
    if (found === undefined) {
      this.#reporter.error(owner, [...at, "name"], `Secret ${id} is not in the config file`, addHint);
      return undefined;
    }
    if (found.length > 1) {
      this.#reporter.error(owner, [...at, "name"], `the file holds ${found.length} Secrets ${id} (lines ${found.map((f) => f.ref.source.line).join(", ")})`, "keep one of them");
      return undefined;
    }
    return found[0];
  }

  /** The Secrets of `namespace` whose labels hold every one of `labels`, in the file's order. */
  withLabels(namespace: string, labels: Readonly<Record<string, string>>): Resource[] {
    const out: Resource[] = [];
    for (const [id, found] of this.#secrets) {
      if (!id.startsWith(`${namespace}/`)) continue;
      for (const secret of found) {
        if (hasLabels(secret, labels)) out.push(secret);
      }
    }
    return out.sort((a, b) => a.ref.source.line - b.ref.source.line);
  }
}
