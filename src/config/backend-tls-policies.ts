// Gateway API BackendTLSPolicy: which backends the gateway reaches over TLS, and how it
// verifies them. A policy targets Services (and Tollgate Backends) in its own namespace; a
// backendRef resolving to a targeted one gets the policy's UpstreamTls. When two policies
// target one object, the older wins, as Gateway API's conflict rule says.
import type { CaBundles, CaCertificateRef } from "./ca-bundles.ts";
import { hostnameProblem } from "./hostnames.ts";
import { BACKEND_GROUP } from "./resolve-backends.ts";
import { type Reporter, type Resource, key } from "./resources.ts";
import type { ServicePorts } from "./service-ports.ts";
import { backendTargetId } from "./target-section-port.ts";
import { type SubjectAltName, UpstreamTls } from "./upstream-tls.ts";

/**
 * A CA that cannot be read fails its policy closed rather than the whole file, as Gateway API
 * asks: the rest of the gateway keeps serving, and the policy's backends are never reached.
 */
const POLICY_UNUSABLE = "; the BackendTLSPolicy naming it cannot be used, and requests to its backends are answered 502 upstream_tls_failed";

interface TargetRef {
  readonly group?: string;
  readonly kind: string;
  readonly name: string;
  readonly sectionName?: string;
}

interface SubjectAltNameSpec {
  readonly type: "Hostname" | "URI";
  readonly hostname?: string;
  readonly uri?: string;
}

interface Validation {
  readonly caCertificateRefs?: readonly CaCertificateRef[];
  readonly wellKnownCACertificates?: string;
  readonly hostname: string;
  readonly subjectAltNames?: readonly SubjectAltNameSpec[];
}

export class BackendTlsPolicies {
  /**
   * `Service/namespace/name`, `Service/namespace/name:port` (a targetRef's sectionName) or
   * `Backend/namespace/name` → the winning policy's TLS.
   */
  readonly #byTarget = new Map<string, { readonly tls: UpstreamTls; readonly policy: Resource }>();

  /** `policies` in precedence order (oldest first). */
  constructor(policies: readonly Resource[], bundles: CaBundles, services: ServicePorts, reporter: Reporter) {
    for (const policy of policies) {
      const tls = readPolicy(policy, bundles, reporter);
      (policy.spec["targetRefs"] as TargetRef[]).forEach((target, index) => {
        const at = ["spec", "targetRefs", index];
        const group = target.group ?? "";
        const kind = group === "" && target.kind === "Service" ? "Service" : group === BACKEND_GROUP && target.kind === "Backend" ? "Backend" : undefined;
        if (kind === undefined) {
          reporter.warn(policy, [...at, "kind"], `a BackendTLSPolicy applies to Services and ${BACKEND_GROUP} Backends; this targetRef (${group === "" ? "" : `${group}/`}${target.kind}) is ignored`, `target {group: "", kind: Service, name: ...}`);
          return;
        }
        const id = backendTargetId(policy, target, kind, services, reporter, at);
        if (id === undefined) return;
        if (tls === undefined) return;
        const holder = this.#byTarget.get(id);
        if (holder === undefined) this.#byTarget.set(id, { tls, policy });
        else if (holder.policy !== policy) {
          reporter.warn(policy, at, `${kind} ${policy.namespace}/${target.name} already has BackendTLSPolicy ${key(holder.policy)}, which is older; this policy is ignored for it`, "only one BackendTLSPolicy may target a backend");
        }
      });
    }
  }

  /**
   * The TLS for a backend reached through a ref with `port` (a Service port; undefined for a
   * Backend ref). A Tollgate Backend answers to policies targeting it as a Backend or as the
   * Service of the same name (a Service ref resolves to it). The most specific target wins:
   * the Backend itself, then the Service's port (a sectionName), then the whole Service.
   */
  forBackend(kind: "Backend" | "Service", namespace: string, name: string, port: number | undefined): UpstreamTls | undefined {
    const service = `Service/${namespace}/${name}`;
    const found = (kind === "Backend" ? this.#byTarget.get(`Backend/${namespace}/${name}`) : undefined) ?? (port === undefined ? undefined : this.#byTarget.get(`${service}:${port}`)) ?? this.#byTarget.get(service);
    return found?.tls;
  }
}

function readPolicy(policy: Resource, bundles: CaBundles, reporter: Reporter): UpstreamTls | undefined {
  const validation = policy.spec["validation"] as Validation;
  const at = ["spec", "validation"];
  const options = policy.spec["options"] as Record<string, string> | undefined;
  if (options !== undefined && Object.keys(options).length > 0) {
    reporter.warn(policy, ["spec", "options"], "BackendTLSPolicy options are implementation-specific and Tollgate reads none; they are ignored", "remove options");
  }
  let broken = false;
  const hostnameIssue = hostnameProblem(validation.hostname);
  if (hostnameIssue !== undefined || validation.hostname.startsWith("*.")) {
    reporter.error(policy, [...at, "hostname"], `hostname ${JSON.stringify(validation.hostname)} cannot be sent as SNI: ${hostnameIssue ?? "a wildcard is not a server name"}`, "set the DNS name the upstream's certificate is issued for, e.g. api.internal.example.com");
    broken = true;
  }
  const refs = validation.caCertificateRefs ?? [];
  const wellKnown = validation.wellKnownCACertificates;
  if (refs.length > 0 && wellKnown !== undefined) {
    reporter.error(policy, [...at, "wellKnownCACertificates"], "caCertificateRefs and wellKnownCACertificates are both set; Gateway API allows one", "keep caCertificateRefs to trust your own CA, or wellKnownCACertificates: System for public CAs");
    broken = true;
  } else if (refs.length === 0 && wellKnown === undefined) {
    reporter.report("error", policy, at, "validation names no CA: set caCertificateRefs or wellKnownCACertificates", "add caCertificateRefs: [{group: \"\", kind: ConfigMap, name: ...}] or wellKnownCACertificates: System", { atKey: true });
    broken = true;
  }
  const pems = refs.map((ref, index) => bundles.pem(policy, ref, [...at, "caCertificateRefs", index], { namespace: policy.namespace, consequence: POLICY_UNUSABLE }));
  const subjectAltNames = readSubjectAltNames(policy, validation.subjectAltNames ?? [], reporter);
  if (broken || subjectAltNames === undefined) return undefined;
  // Past here the policy is well-formed, and a CA that cannot be had fails it closed (each
  // reason was reported where it lies), as Gateway API asks: the rest of the file serves.
  let unusable: string | undefined;
  if (pems.some((p) => p === undefined)) unusable = "a CA certificate reference did not resolve";
  else if (wellKnown !== undefined && wellKnown !== "System") {
    reporter.warn(policy, [...at, "wellKnownCACertificates"], `wellKnownCACertificates ${JSON.stringify(wellKnown)} is not a CA set Tollgate knows; the policy cannot be used, and requests to its backends are answered 502 upstream_tls_failed`, "set wellKnownCACertificates: System, or name your CA in caCertificateRefs");
    unusable = `wellKnownCACertificates ${JSON.stringify(wellKnown)} is not known`;
  }
  const trust = wellKnown === undefined ? { refs: refs.map((r) => `${r.kind}/${policy.namespace}/${r.name}`) } : { wellKnown };
  const caPem = wellKnown === undefined && unusable === undefined ? pems.join("\n") : undefined;
  return new UpstreamTls(key(policy), validation.hostname, trust, caPem, subjectAltNames, unusable);
}

function readSubjectAltNames(policy: Resource, specs: readonly SubjectAltNameSpec[], reporter: Reporter): SubjectAltName[] | undefined {
  const names: SubjectAltName[] = [];
  let broken = false;
  specs.forEach((spec, index) => {
    const at = ["spec", "validation", "subjectAltNames", index];
    const field = spec.type === "URI" ? "uri" : "hostname";
    const other = spec.type === "URI" ? "hostname" : "uri";
    const value = spec[field];
    // The CRD's rules take an empty string for an absent field.
    if (spec[other] !== undefined && spec[other] !== "") {
      reporter.error(policy, [...at, other], `a subjectAltName of type ${spec.type} takes ${field}, not ${other}`, `remove ${other}, or set type: ${spec.type === "URI" ? "Hostname" : "URI"}`);
      broken = true;
      return;
    }
    if (value === undefined) {
      reporter.report("error", policy, at, `a subjectAltName of type ${spec.type} needs ${field}`, `add ${field}: ...`, { atKey: true });
      broken = true;
      return;
    }
    const problem = spec.type === "URI" ? uriProblem(value) : hostnameProblem(value);
    if (problem !== undefined) {
      reporter.error(policy, [...at, field], `${field} ${JSON.stringify(value)} is not valid: ${problem}`, spec.type === "URI" ? "write an absolute URI, e.g. spiffe://cluster.local/ns/default/sa/api" : "write a DNS name, e.g. api.example.com or *.example.com");
      broken = true;
      return;
    }
    names.push({ type: spec.type, value });
  });
  return broken ? undefined : names;
}

function uriProblem(value: string): string | undefined {
  if (!/^[a-z][a-z0-9+.-]*:/i.test(value)) return "a URI starts with a scheme (spiffe:, https:, ...)";
  return URL.canParse(value) ? undefined : "it does not parse as a URI";
}
