// The target of a backend policy's targetRef (BackendTLSPolicy, BackendConfigPolicy), narrowed
// by its sectionName to a Service port: a port name the file's Service gives, or a port number.
import { BACKEND_GROUP } from "./resolve-backends.ts";
import type { Reporter, Resource, Segments } from "./resources.ts";
import type { ServicePorts } from "./service-ports.ts";

/**
 * The key a backend policy's targetRef files its target under: `Service/ns/name`,
 * `Service/ns/name:port` with a sectionName, or `Backend/ns/name`; undefined (after reporting
 * why) when its sectionName names no port.
 */
export function backendTargetId(policy: Resource, target: { readonly name: string; readonly sectionName?: string }, kind: "Service" | "Backend", services: ServicePorts, reporter: Reporter, at: Segments): string | undefined {
  const id = `${kind}/${policy.namespace}/${target.name}`;
  if (target.sectionName === undefined) return id;
  const port = targetSectionPort(policy, target, kind, services, reporter, [...at, "sectionName"]);
  return port === undefined ? undefined : `${id}:${port}`;
}

/**
 * The Service port a targetRef's sectionName names: by the Service's own port names when the
 * file holds the Service, else a number taken as the port itself (a Kubernetes port name
 * always holds a letter). Undefined, after reporting why, when it names none.
 */
function targetSectionPort(policy: Resource, target: { readonly name: string; readonly sectionName?: string }, kind: "Service" | "Backend", services: ServicePorts, reporter: Reporter, at: Segments): number | undefined {
  const section = target.sectionName!;
  if (kind === "Backend") {
    reporter.error(policy, at, `a ${BACKEND_GROUP} Backend has no sections; sectionName ${JSON.stringify(section)} cannot apply`, "remove sectionName: the policy applies to every endpoint of the Backend");
    return undefined;
  }
  const numbered = /^[0-9]{1,5}$/.test(section) ? Number(section) : undefined;
  const named = services.port(policy.namespace, target.name, section);
  if (typeof named === "number") return named;
  if (numbered !== undefined && numbered >= 1 && numbered <= 65535) return numbered;
  if (typeof named === "object") {
    reporter.error(policy, at, `sectionName ${JSON.stringify(section)} cannot be resolved: the file holds Service ${policy.namespace}/${target.name} ${named.duplicateLines.length} times (lines ${named.duplicateLines.join(", ")})`, "keep one of them");
    return undefined;
  }
  if (named === "no-port") {
    // An error, not a warning: a misspelt port name would leave the port meant in plain text.
    reporter.error(policy, at, `Service ${policy.namespace}/${target.name} has no port named ${JSON.stringify(section)}`, "name one of the Service's spec.ports, or remove sectionName to cover every port");
    return undefined;
  }
  // Without the Service its ports are unknown, and a policy silently left off would send the
  // port's traffic in plain text.
  reporter.error(policy, at, `sectionName ${JSON.stringify(section)} names a port of Service ${policy.namespace}/${target.name}, which is not in the config file`, "add the v1 Service to the file so its port names resolve, set sectionName to the port number, or remove it to cover every port");
  return undefined;
}
