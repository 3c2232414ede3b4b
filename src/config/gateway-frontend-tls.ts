// A Gateway's `spec.tls.frontend`: client certificate validation for its HTTPS ports, a
// `default` and `perPort` overrides (Gateway API v1.4+). A CA that cannot be had is a warning
// and fails that port closed: every client is refused rather than let in unchecked.
import type { CaBundles, CaCertificateRef } from "./ca-bundles.ts";
import { ClientValidation, type ClientValidationMode } from "./client-validation.ts";
import type { ReferenceGrants } from "./reference-grants.ts";
import type { Reporter, Resource, Segments } from "./resources.ts";

const FRONTEND_AT = ["spec", "tls", "frontend"];
const REFUSES_EVERY_CLIENT = "; the ports this validation covers refuse every client until it is fixed";

interface ValidationSpec {
  readonly caCertificateRefs: readonly (CaCertificateRef & { readonly namespace?: string })[];
  readonly mode?: ClientValidationMode;
}

/** The validation of each HTTPS port of `gateway`: undefined for a port without one. */
export type PortValidations = (port: number) => ClientValidation | undefined;

const NONE: PortValidations = () => undefined;

export function frontendValidations(gateway: Resource, httpsPorts: ReadonlySet<number>, reporter: Reporter, bundles: CaBundles, grants: ReferenceGrants): PortValidations {
  const frontend = (gateway.spec["tls"] as Record<string, unknown> | undefined)?.["frontend"] as Record<string, unknown> | undefined;
  if (frontend === undefined) return NONE;
  if (httpsPorts.size === 0) {
    reporter.warn(gateway, FRONTEND_AT, "the Gateway has no HTTPS listener: client certificate validation has nothing to check", "add an HTTPS listener, or remove spec.tls.frontend");
    return NONE;
  }
  const defaultSpec = (frontend["default"] as Record<string, unknown> | undefined)?.["validation"] as ValidationSpec | undefined;
  const fallback = defaultSpec === undefined ? undefined : validation(defaultSpec, [...FRONTEND_AT, "default", "validation"]);
  const byPort = new Map<number, ClientValidation | undefined>();
  ((frontend["perPort"] ?? []) as { port: number; tls: { validation?: ValidationSpec } }[]).forEach((entry, index) => {
    const at = [...FRONTEND_AT, "perPort", index];
    if (byPort.has(entry.port)) {
      reporter.error(gateway, [...at, "port"], `port ${entry.port} has two perPort entries`, "keep one entry per port");
      return;
    }
    if (!httpsPorts.has(entry.port)) {
      reporter.warn(gateway, [...at, "port"], `no HTTPS listener of this Gateway is on port ${entry.port}: this entry has no effect`, "use the port of an HTTPS listener");
    }
    // An entry without validation turns the default off for its port.
    byPort.set(entry.port, entry.tls.validation === undefined ? undefined : validation(entry.tls.validation, [...at, "tls", "validation"]));
  });
  return (port) => (byPort.has(port) ? byPort.get(port) : fallback);

  function validation(spec: ValidationSpec, at: Segments): ClientValidation {
    const refs: string[] = [];
    const pems: string[] = [];
    const problems: string[] = [];
    spec.caCertificateRefs.forEach((ref, index) => {
      const refAt = [...at, "caCertificateRefs", index];
      const namespace = ref.namespace ?? gateway.namespace;
      refs.push(`${ref.kind}/${namespace}/${ref.name}`);
      const target = { group: ref.group ?? "", kind: ref.kind, name: ref.name, namespace };
      if (namespace !== gateway.namespace && !grants.check(reporter, gateway, "gateway.networking.k8s.io", target, refAt, "warning", REFUSES_EVERY_CLIENT)) {
        problems.push(`${ref.kind} ${namespace}/${ref.name} is in another namespace and no ReferenceGrant allows it`);
        return;
      }
      const pem = bundles.pem(gateway, ref, refAt, { namespace, consequence: REFUSES_EVERY_CLIENT });
      if (pem === undefined) problems.push(`${ref.kind} ${namespace}/${ref.name} holds no usable CA certificate`);
      else pems.push(pem);
    });
    const unusable = problems.length === 0 ? undefined : problems.join("; ");
    return new ClientValidation(refs, spec.mode ?? "AllowValidOnly", unusable === undefined ? pems.join("\n") : undefined, unusable);
  }
}
