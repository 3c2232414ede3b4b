// The ConfigMaps of the config file that a GatewayExtension reads (a JWT provider's keys), found
// by namespace and name, never when the file holds two of one name. A ConfigMap read is in use:
// it is not reported as skipped.
import { type Reporter, type Resource, type Segments, key } from "./resources.ts";

export class ConfigMapStore {
  readonly #byKey = new Map<string, Resource[]>();
  readonly #reporter: Reporter;
  /** `namespace/name` of the ConfigMaps read. */
  readonly read = new Set<string>();

  constructor(configMaps: readonly Resource[], reporter: Reporter) {
    for (const configMap of configMaps) {
      const same = this.#byKey.get(key(configMap));
      if (same === undefined) this.#byKey.set(key(configMap), [configMap]);
      else same.push(configMap);
    }
    this.#reporter = reporter;
  }

  /**
   * The string under `data.<dataKey>` of ConfigMap `namespace/name` (named at `at` in `owner`);
   * undefined after reporting why there is none. `addHint` says how to make it.
   */
  text(owner: Resource, namespace: string, name: string, dataKey: string, at: Segments, addHint: string): { text: string; source: Resource } | undefined {
    const id = `${namespace}/${name}`;
    const found = this.#byKey.get(id);
    if (found === undefined) {
      this.#reporter.error(owner, at, `ConfigMap ${id} is not in the config file`, addHint);
      return undefined;
    }
    if (found.length > 1) {
      this.#reporter.error(owner, at, `the file holds ${found.length} ConfigMaps ${id} (lines ${found.map((f) => f.ref.source.line).join(", ")})`, "keep one of them");
      return undefined;
    }
    const source = found[0]!;
    this.read.add(id);
    const data = (source.doc.value as Record<string, unknown>)["data"];
    const value = data !== null && typeof data === "object" && !Array.isArray(data) ? (data as Record<string, unknown>)[dataKey] : undefined;
    if (typeof value !== "string") {
      this.#reporter.error(source, value === undefined ? (data === undefined ? [] : ["data"]) : ["data", dataKey], value === undefined ? `the ConfigMap has no data.${dataKey}` : `data.${dataKey} must be a string`, addHint);
      return undefined;
    }
    return { text: value, source };
  }
}
