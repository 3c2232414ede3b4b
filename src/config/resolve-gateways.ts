// Gateways and their listeners: protocol support, certificates, duplicates and conflicts, allowedRoutes.
import { ListenerTls } from "./listener-tls.ts";
import type { SecretCertificate } from "./secret-certificate.ts";
import { backendClientCertificate } from "./gateway-backend-tls.ts";
import { frontendValidations } from "./gateway-frontend-tls.ts";
import { listenerTlsOptions } from "./listener-tls-options.ts";
import type { ClientValidation } from "./client-validation.ts";
import type { CaBundles } from "./ca-bundles.ts";
import type { ReferenceGrants } from "./reference-grants.ts";
import type { ListenerModel } from "./model.ts";
import { type CertificateRef, type TlsSecrets, certificateCovers } from "./tls-secrets.ts";
import type { NamespaceSelection } from "./namespace-selection.ts";
import { hostnameProblem } from "./hostnames.ts";
import { SECTION_NAME_HINT, isSectionName } from "./name-formats.ts";
import { key } from "./resources.ts";
import type { Reporter, Resource, Segments } from "./resources.ts";

export interface GatewayDraft {
  readonly resource: Resource;
  readonly listeners: readonly ListenerModel[];
  /** allowedRoutes.kinds per listener name, when restricted. */
  readonly allowedKinds: ReadonlyMap<string, readonly string[]>;
  readonly backendClientCertificate: SecretCertificate | undefined;
}

const NAMESPACE_NAME_LABEL = "kubernetes.io/metadata.name";

/** Where a Gateway's CA references are looked up: `spec.tls.frontend` names ConfigMaps, across namespaces with a ReferenceGrant. */
export interface CaSources {
  readonly bundles: CaBundles;
  readonly grants: ReferenceGrants;
}

export function resolveGateway(r: Resource, reporter: Reporter, secrets: TlsSecrets, cas: CaSources): GatewayDraft {
  const listeners: ListenerModel[] = [];
  const allowedKinds = new Map<string, readonly string[]>();
  const names = new Map<string, number>();
  const portHosts = new Map<string, number>();
  const portProtocols = new Map<number, { protocol: string; index: number }>();
  const clientCertificate = backendClientCertificate(r, reporter, secrets);
  const httpsPorts = new Set((r.spec["listeners"] as Record<string, unknown>[]).filter((l) => l["protocol"] === "HTTPS").map((l) => Number(l["port"])));
  const clientValidation = frontendValidations(r, httpsPorts, reporter, cas.bundles, cas.grants);
  (r.spec["listeners"] as Record<string, any>[]).forEach((l, i) => {
    const at = ["spec", "listeners", i];
    const name = String(l["name"]);
    const protocol = String(l["protocol"]);
    if (!isSectionName(name)) reporter.error(r, [...at, "name"], `"${name}" is not a valid listener name`, SECTION_NAME_HINT);
    if (names.has(name)) reporter.error(r, [...at, "name"], `duplicate listener name "${name}" (also listeners[${names.get(name)}])`, "give every listener a unique name");
    else names.set(name, i);
    if (protocol === "TLS") {
      reporter.error(r, [...at, "protocol"], "TLS listeners (TLSRoute, passthrough) are not supported yet", "use protocol: HTTPS to terminate TLS at the gateway");
      return;
    }
    if (protocol !== "HTTP" && protocol !== "HTTPS") {
      reporter.error(r, [...at, "protocol"], `protocol ${protocol} is not supported`, "use protocol: HTTP or HTTPS");
      return;
    }
    const hostname = l["hostname"] as string | undefined;
    if (hostname !== undefined) {
      const problem = hostnameProblem(hostname);
      if (problem !== undefined) reporter.error(r, [...at, "hostname"], `invalid hostname "${hostname}": ${problem}`, "use e.g. example.com or *.example.com");
    }
    const port = Number(l["port"]);
    const onPort = portProtocols.get(port);
    if (onPort === undefined) portProtocols.set(port, { protocol, index: i });
    else if (onPort.protocol !== protocol) {
      reporter.error(r, [...at, "protocol"], `listener "${name}" serves ${protocol} on port ${port}, where listeners[${onPort.index}] serves ${onPort.protocol}`, "a port speaks one protocol: move one of them to another port");
    }
    let tls: ListenerTls | undefined;
    if (protocol === "HTTPS") {
      tls = listenerTls(r, l["tls"] as Record<string, any> | undefined, [...at, "tls"], reporter, secrets, clientValidation(port));
      if (tls === undefined) return;
      if (hostname !== undefined && !tls.certificates.some((c) => certificateCovers(c, hostname.toLowerCase()))) {
        reporter.warn(r, [...at, "hostname"], `no certificate of listener "${name}" is valid for ${hostname}: clients that check the name will refuse the handshake`, `add a certificate whose subjectAltName covers ${hostname} to tls.certificateRefs`);
      }
    } else if (l["tls"] !== undefined) reporter.error(r, [...at, "tls"], "tls is not supported on an HTTP listener", "remove tls, or use protocol: HTTPS");
    const phKey = `${String(l["port"])}|${hostname ?? ""}`;
    const other = portHosts.get(phKey);
    if (other !== undefined) {
      reporter.error(r, [...at, "port"], `listener "${name}" conflicts with listeners[${other}]: same port ${String(l["port"])} and hostname ${hostname ?? "(any)"}`, "change the port or the hostname of one of them");
    } else portHosts.set(phKey, i);
    const ns = (l["allowedRoutes"]?.["namespaces"] ?? {}) as Record<string, any>;
    let from = (ns["from"] ?? "Same") as "Same" | "All" | "Selector";
    let allowedNamespaces: NamespaceSelection = NO_NAMESPACE;
    if (from === "Selector") {
      const selected = selectorNamespaces(r, reporter, ns["selector"], [...at, "allowedRoutes", "namespaces"]);
      // A selector that narrows nothing (empty, or only `Exists`) selects every namespace.
      if (selected.only === undefined && selected.except.length === 0) from = "All";
      else allowedNamespaces = selected;
    } else if (ns["selector"] !== undefined) {
      reporter.warn(r, [...at, "allowedRoutes", "namespaces", "selector"], `selector is ignored when from is ${from}`, "set from: Selector or remove the selector");
    }
    const kinds = l["allowedRoutes"]?.["kinds"] as { group?: string; kind: string }[] | undefined;
    if (kinds !== undefined) {
      const list = kinds.filter((k) => (k.group ?? "gateway.networking.k8s.io") === "gateway.networking.k8s.io").map((k) => k.kind);
      allowedKinds.set(name, list);
      if (!list.includes("HTTPRoute")) reporter.warn(r, [...at, "allowedRoutes", "kinds"], "this listener admits no HTTPRoutes", "add {kind: HTTPRoute} to allowedRoutes.kinds");
    }
    listeners.push({
      name,
      port,
      protocol,
      tls,
      hostname,
      allowedRoutesFrom: from,
      allowedNamespaces,
      source: reporter.source(r, at),
    });
  });
  return { resource: r, listeners, allowedKinds, backendClientCertificate: clientCertificate };
}

const NO_NAMESPACE: NamespaceSelection = { only: [], except: [] };

/** An HTTPS listener's `tls`: Terminate with at least one usable certificate; undefined after reporting why not. */
function listenerTls(r: Resource, tls: Record<string, any> | undefined, at: Segments, reporter: Reporter, secrets: TlsSecrets, clientValidation: ClientValidation | undefined): ListenerTls | undefined {
  if (tls === undefined) {
    reporter.error(r, at.slice(0, -1), "an HTTPS listener needs tls with certificateRefs", "add tls: {mode: Terminate, certificateRefs: [{kind: Secret, name: ...}]}");
    return undefined;
  }
  if (tls["mode"] === "Passthrough") {
    reporter.error(r, [...at, "mode"], "Passthrough is for TLS listeners (TLSRoute), which are not supported yet; an HTTPS listener terminates TLS", "use mode: Terminate");
    return undefined;
  }
  if (tls["frontendValidation"] !== undefined) {
    reporter.error(
      r,
      [...at, "frontendValidation"],
      "a listener's frontendValidation (Gateway API before v1.4) is not read: client certificate validation binds to a port, not a listener",
      "move it to the Gateway's spec.tls.frontend: {default: {validation: {caCertificateRefs: [...]}}}, or perPort for this port",
    );
    return undefined;
  }
  const options = listenerTlsOptions(r, tls["options"] as Record<string, string> | undefined, [...at, "options"], reporter);
  if (options === null) return undefined;
  const refs = (tls["certificateRefs"] ?? []) as CertificateRef[];
  if (refs.length === 0) {
    reporter.error(r, tls["certificateRefs"] === undefined ? at : [...at, "certificateRefs"], "an HTTPS listener that terminates TLS needs at least one certificate", "add certificateRefs: [{kind: Secret, name: ...}] naming a kubernetes.io/tls Secret");
    return undefined;
  }
  const certificates: SecretCertificate[] = [];
  refs.forEach((ref, i) => {
    const certificate = secrets.certificate(r, ref, [...at, "certificateRefs", i]);
    if (certificate !== undefined) certificates.push(certificate);
  });
  if (certificates.length !== refs.length) return undefined;
  const listenerTls = new ListenerTls(certificates, clientValidation, options);
  const problem = listenerTls.check();
  if (problem !== undefined) {
    reporter.error(r, [...at, "certificateRefs"], `the listener's certificates cannot be served: ${problem}`, "check that each Secret's tls.key belongs to its tls.crt");
    return undefined;
  }
  return listenerTls;
}

/**
 * A file-based gateway knows no namespace labels, except the one Kubernetes sets on every
 * namespace: `kubernetes.io/metadata.name`. Selectors on it name namespaces directly, with
 * every operator (`In`, `NotIn`, `Exists`, `DoesNotExist`). As in any Kubernetes label
 * selector every term must hold: each one narrows the set, and a term on another label,
 * which a file cannot evaluate, leaves no namespace.
 */
function selectorNamespaces(r: Resource, reporter: Reporter, selector: Record<string, any> | undefined, at: (string | number)[]): NamespaceSelection {
  if (selector === undefined) {
    reporter.error(r, [...at, "selector"], "from: Selector needs a selector", `select namespaces by the ${NAMESPACE_NAME_LABEL} label`);
    return NO_NAMESPACE;
  }
  let only: string[] | undefined;
  const except = new Set<string>();
  let unevaluable = false;
  const narrow = (names: readonly string[]): void => {
    only = only === undefined ? [...new Set(names)] : only.filter((n) => names.includes(n));
  };
  const cannotEvaluate = (path: (string | number)[], label: string): void => {
    narrow([]);
    unevaluable = true;
    reporter.warn(r, [...at, "selector", ...path], `namespace label "${label}" cannot be evaluated from a file, so this selector matches no namespace`, `select by ${NAMESPACE_NAME_LABEL}, the label every namespace has`);
  };
  const matchLabels = (selector["matchLabels"] ?? {}) as Record<string, string>;
  for (const [label, value] of Object.entries(matchLabels)) {
    if (label === NAMESPACE_NAME_LABEL) narrow([value]);
    else cannotEvaluate(["matchLabels", label], label);
  }
  ((selector["matchExpressions"] ?? []) as { key: string; operator: string; values?: string[] }[]).forEach((e, i) => {
    const values = e.values ?? [];
    const valuesWanted = e.operator === "In" || e.operator === "NotIn";
    if (valuesWanted !== values.length > 0) {
      // The Kubernetes API server refuses such a requirement outright.
      reporter.error(r, [...at, "selector", "matchExpressions", i, "values"], `operator ${e.operator} ${valuesWanted ? "needs at least one value" : "takes no values"}`, valuesWanted ? "list the namespaces in values" : "remove values");
      narrow([]);
      return;
    }
    if (e.key !== NAMESPACE_NAME_LABEL) return cannotEvaluate(["matchExpressions", i], e.key);
    if (e.operator === "In") narrow(values);
    else if (e.operator === "NotIn") for (const v of values) except.add(v);
    // Every namespace has its name label.
    else if (e.operator === "DoesNotExist") narrow([]);
  });
  const selection: NamespaceSelection = { only: only?.filter((n) => !except.has(n)), except: only === undefined ? [...except] : [] };
  if (selection.only !== undefined && selection.only.length === 0 && !unevaluable) {
    reporter.warn(r, [...at, "selector"], "no namespace satisfies every term of this selector, so it matches none", "every term of a label selector must hold");
  }
  return selection;
}

export function gatewayKey(r: Resource): string {
  return key(r);
}
