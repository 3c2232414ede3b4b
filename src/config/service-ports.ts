// The port names of the core Services in the file. Gateway API policies name a Service port
// by its name (a targetRef's `sectionName`), while routes reach Services by port number: the
// Service manifest, when the file holds it, is what ties the two together.
import type { KindSchema } from "./schema.ts";
import { type Resource, key } from "./resources.ts";

/** Stands for core Services in the resource list; only their `spec.ports` are read. */
export const SERVICE_KIND: KindSchema = { apiVersions: ["v1"], kind: "Service", spec: {}, description: "Kubernetes Service: its port names, for a BackendTLSPolicy sectionName" };

export class ServicePorts {
  /** `namespace/name` → port name → port number. */
  readonly #ports = new Map<string, ReadonlyMap<string, number>>();
  /** `namespace/name` of Services the file holds more than once → their lines. */
  readonly #duplicates = new Map<string, number[]>();
  /** `namespace/name` of the Services whose ports a policy looked up: they are not reported as skipped. */
  readonly read = new Set<string>();

  constructor(services: readonly Resource[]) {
    const lines = new Map<string, number[]>();
    for (const service of services) {
      const id = key(service);
      const seen = lines.get(id);
      if (seen === undefined) lines.set(id, [service.ref.source.line]);
      else seen.push(service.ref.source.line);
      this.#ports.set(id, namedPorts(service));
    }
    for (const [id, at] of lines) if (at.length > 1) this.#duplicates.set(id, at);
  }

  /**
   * The number of the port `sectionName` names on Service `namespace/name`, or why there is
   * none: the file has no such Service, holds it twice (the lines), or it has no such port.
   */
  port(namespace: string, name: string, sectionName: string): number | "absent" | "no-port" | { readonly duplicateLines: readonly number[] } {
    const id = `${namespace}/${name}`;
    const ports = this.#ports.get(id);
    if (ports === undefined) return "absent";
    this.read.add(id);
    const duplicateLines = this.#duplicates.get(id);
    if (duplicateLines !== undefined) return { duplicateLines };
    return ports.get(sectionName) ?? "no-port";
  }
}

function namedPorts(service: Resource): Map<string, number> {
  const spec = (service.doc.value as Record<string, unknown>)["spec"];
  const ports = spec !== null && typeof spec === "object" ? (spec as Record<string, unknown>)["ports"] : undefined;
  const out = new Map<string, number>();
  if (!Array.isArray(ports)) return out;
  for (const port of ports) {
    if (port === null || typeof port !== "object") continue;
    const { name, port: number } = port as Record<string, unknown>;
    if (typeof name === "string" && typeof number === "number" && Number.isInteger(number)) out.set(name, number);
  }
  return out;
}
