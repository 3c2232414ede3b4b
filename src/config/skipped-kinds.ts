// Which skipped documents deserve a warning. A manifest set holds many kinds Tollgate has no
// use for (ConfigMaps, Deployments, another mesh's Gateway), and those are only listed at
// `info`. But a document in one of the API groups Tollgate reads was written for a gateway:
// if Tollgate skips it, traffic the user configured is not served, so say so, with the
// version Tollgate reads or the kind that was probably meant.
import { closest } from "./did-you-mean.ts";
import { IMPLEMENTED_KINDS } from "./schema.ts";

/** Kinds of those groups that configure what runs the gateway, not its traffic: nothing is lost by skipping them. */
const DEPLOYMENT_KINDS: ReadonlySet<string> = new Set(["GatewayClass", "GatewayParameters"]);

/** Real kinds of those groups that Tollgate does not implement: never taken for a misspelling. */
const KNOWN_UNIMPLEMENTED: ReadonlySet<string> = new Set([
  "GRPCRoute",
  "TLSRoute",
  "TCPRoute",
  "UDPRoute",
  "BackendLBPolicy",
  "ListenerSet",
  "XListenerSet",
  "XBackendTrafficPolicy",
]);

function groupOf(apiVersion: string): string {
  const slash = apiVersion.indexOf("/");
  return slash < 0 ? "" : apiVersion.slice(0, slash);
}

const IMPLEMENTED_GROUPS: ReadonlySet<string> = new Set(IMPLEMENTED_KINDS.flatMap((k) => k.apiVersions.map(groupOf)));

export interface SkippedKindWarning {
  /** The field the warning points at: the apiVersion of a kind Tollgate reads elsewhere, else the kind. */
  readonly field: "apiVersion" | "kind";
  readonly message: string;
  readonly hint: string;
  /** An error when skipping the document would weaken security, not only leave traffic unserved. */
  readonly severity: "error" | "warning";
}

/** The warning for a document of a kind/apiVersion Tollgate does not read; undefined when an info line is enough. */
export function skippedKindWarning(apiVersion: string, kind: string): SkippedKindWarning | undefined {
  const group = groupOf(apiVersion);
  if (!IMPLEMENTED_GROUPS.has(group) || DEPLOYMENT_KINDS.has(kind)) return undefined;
  if (kind === "BackendTLSPolicy" && group === "gateway.networking.k8s.io") {
    // Gateway API: a backend must never be reached in plain text for want of its policy.
    return {
      field: "apiVersion",
      message: `${kind} ${apiVersion} is not read, and skipping it would send its backends' traffic without TLS`,
      hint: "write it as gateway.networking.k8s.io/v1: targetRef becomes targetRefs, tls becomes validation, caCertRefs becomes caCertificateRefs, wellKnownCACerts becomes wellKnownCACertificates",
      severity: "error",
    };
  }
  const message = `${kind} ${apiVersion} is not implemented; this document is skipped`;
  const warning = skippedKindReport(kind, group, message);
  // A BackendTLSPolicy that is skipped leaves its backends in plain text.
  if (kind === "BackendTLSPolicy" || warning.hint === "did you mean kind: BackendTLSPolicy?") {
    return { ...warning, message: `${message}, and if it is a BackendTLSPolicy its backends' traffic goes without TLS`, severity: "error" };
  }
  return warning;
}

function skippedKindReport(kind: string, group: string, message: string): SkippedKindWarning {
  const versions = IMPLEMENTED_KINDS.filter((k) => k.kind === kind).flatMap((k) => k.apiVersions);
  if (versions.length > 0) return { field: "apiVersion", message, hint: `Tollgate reads ${kind} as ${versions.join(" or ")}`, severity: "warning" };
  const inGroup = IMPLEMENTED_KINDS.filter((k) => k.apiVersions.some((v) => groupOf(v) === group)).map((k) => k.kind);
  const guess = KNOWN_UNIMPLEMENTED.has(kind) ? undefined : closest(kind, inGroup);
  if (guess !== undefined) return { field: "kind", message, hint: `did you mean kind: ${guess}?`, severity: "warning" };
  return { field: "kind", message, hint: `Tollgate implements ${inGroup.join(", ")} in ${group}`, severity: "warning" };
}
