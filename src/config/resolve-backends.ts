// Resolves backendRefs (routes) and collector refs (policies) to BackendModels:
// a Tollgate Backend of the same name and namespace when the file has one, else the
// Service's cluster DNS name.
import type { BackendTlsPolicies } from "./backend-tls-policies.ts";
import { type BackendConfig, type BackendConfigPolicies, backendConfigKey, withBackendConfig } from "./backend-config-policies.ts";
import type { BackendEndpoint, BackendModel, ExporterTargetModel } from "./model.ts";
import type { Severity } from "./diagnostics.ts";
import type { ReferenceGrants } from "./reference-grants.ts";
import { key } from "./resources.ts";
import type { Reporter, Resource, Segments } from "./resources.ts";
import type { UpstreamTls } from "./upstream-tls.ts";

export const BACKEND_GROUP = "gateway.tollgate.dev";

export interface BackendRefSpec {
  readonly group?: string;
  readonly kind?: string;
  readonly name: string;
  readonly namespace?: string;
  readonly port?: number;
}

/** A route backendRef that does not resolve: requests routed to it are answered 500. */
export interface UnresolvedRef {
  /** `namespace/name` (`:port` for a Service), for telemetry and the admin API. */
  readonly unresolved: string;
}

const UNRESOLVED_CONSEQUENCE = "; requests this backendRef would take are answered 500 (Gateway API: ResolvedRefs False)";
const UNMIRRORED_CONSEQUENCE = "; this RequestMirror is left out and requests are not mirrored (Gateway API: ResolvedRefs False)";

export class BackendResolver {
  readonly #backends: ReadonlyMap<string, Resource>;
  readonly #grants: ReferenceGrants;
  readonly #reporter: Reporter;
  readonly #tls: BackendTlsPolicies | undefined;
  readonly #config: BackendConfigPolicies | undefined;
  readonly used = new Map<string, BackendModel>();
  readonly #warnedDnsBalancers = new Set<string>();

  constructor(backends: readonly Resource[], grants: ReferenceGrants, reporter: Reporter, policies: { readonly tls?: BackendTlsPolicies; readonly config?: BackendConfigPolicies } = {}) {
    this.#backends = new Map(backends.map((b) => [key(b), b]));
    this.#grants = grants;
    this.#reporter = reporter;
    this.#tls = policies.tls;
    this.#config = policies.config;
  }

  /** The BackendModel for a ref, recorded as used; undefined (with an error reported) when it cannot resolve. */
  resolve(from: Resource, fromGroup: string, ref: BackendRefSpec, segments: Segments): BackendModel | undefined {
    const result = this.#lookup(from, fromGroup, ref, segments, "error", "");
    return typeof result === "string" ? undefined : result;
  }

  /**
   * A route's backendRef. One that names a kind Tollgate cannot send to, a Backend the file
   * lacks or another namespace without a ReferenceGrant is a warning, not an error: as
   * Gateway API asks, the route stays and the share of requests that ref would take is
   * answered 500. The result is then the ref's display name.
   */
  resolveRouteRef(from: Resource, ref: BackendRefSpec, segments: Segments): BackendModel | UnresolvedRef {
    const result = this.#lookup(from, "gateway.networking.k8s.io", ref, segments, "warning", UNRESOLVED_CONSEQUENCE);
    if (typeof result === "string") return { unresolved: result };
    this.#warnDnsBalancer(from, segments, result);
    return result;
  }

  /**
   * A Service reached by its cluster DNS name is one endpoint (kube-proxy picks the pod): a
   * balancer there has nothing to pick among. Said once per Service port, at the first route
   * reference (the calls to extAuth, rate limit and collectors never use a balancer).
   */
  #warnDnsBalancer(from: Resource, segments: Segments, model: BackendModel): void {
    const lb = model.loadBalancer;
    if (model.kind !== "Service" || lb === undefined || lb.kind === "RoundRobin" || this.#warnedDnsBalancers.has(model.key)) return;
    this.#warnedDnsBalancers.add(model.key);
    this.#reporter.warn(from, segments, `Service ${model.key} is reached by its cluster DNS name, where kube-proxy picks the pod: the ${lb.kind} load balancer of BackendConfigPolicy ${model.loadBalancerPolicy} has one endpoint to pick`, `list the pods' addresses as the endpoints of a ${BACKEND_GROUP} Backend named "${model.name}" to balance among them`);
  }

  /**
   * A RequestMirror's backendRef. One that does not resolve is a warning, and the mirror is
   * left out: Gateway API has the implementation drop it and keep serving the route.
   */
  resolveMirrorRef(from: Resource, ref: BackendRefSpec, segments: Segments): BackendModel | undefined {
    const result = this.#lookup(from, "gateway.networking.k8s.io", ref, segments, "warning", UNMIRRORED_CONSEQUENCE);
    return typeof result === "string" ? undefined : result;
  }

  /** The model, or the ref's display name when it does not resolve (reported at `severity`). */
  #lookup(from: Resource, fromGroup: string, ref: BackendRefSpec, segments: Segments, severity: Severity, consequence: string): BackendModel | string {
    const group = ref.group ?? "";
    const kind = ref.kind ?? "Service";
    const namespace = ref.namespace ?? from.namespace;
    const isService = group === "" && kind === "Service";
    const isBackend = group === BACKEND_GROUP && kind === "Backend";
    const displayName = isService && ref.port !== undefined ? `${namespace}/${ref.name}:${ref.port}` : `${namespace}/${ref.name}`;
    if (!isService && !isBackend) {
      this.#reporter.report(severity, from, [...segments, "kind"], `unsupported backend kind ${group === "" ? "" : group + "/"}${kind}${consequence}`, `use a Service (group "") or a ${BACKEND_GROUP} Backend`);
      return displayName;
    }
    if (!this.#grants.check(this.#reporter, from, fromGroup, { group, kind, name: ref.name, namespace }, segments, severity, consequence)) return displayName;
    const backend = this.#backends.get(`${namespace}/${ref.name}`);
    if (backend !== undefined) {
      const port = isService ? ref.port : undefined;
      const config = this.#config?.forBackend("Backend", namespace, ref.name, port);
      const model = withBackendConfig(withTls(backendModel(backend), this.#tls?.forBackend("Backend", namespace, ref.name, port)), config);
      // One Backend is one set of pools, whatever Service port a reference names. Reached
      // with a policy through one reference and without through another, it keeps the
      // policy (fail closed: a port a policy covers is never reached in plain text); with
      // two policies, the first.
      const first = this.used.get(model.key);
      if (first === undefined) {
        if (config !== undefined) this.#warnPoolOverride(from, segments, backend, config);
        this.used.set(model.key, model);
        return model;
      }
      let kept = first;
      if (first.tls !== model.tls) {
        const policyOf = (m: BackendModel): string => (m.tls === undefined ? "no BackendTLSPolicy" : `BackendTLSPolicy ${m.tls.policy}`);
        kept = first.tls === undefined ? model : first;
        this.#reporter.warn(from, segments, `Backend ${model.key} is reached with ${policyOf(first)} through an earlier reference and with ${policyOf(model)} through this one; every reference to it uses ${policyOf(kept)}`, "target the Backend (or the whole Service) with one BackendTLSPolicy");
      }
      const configDiffers = backendConfigKey(first) !== backendConfigKey(model);
      if (configDiffers) {
        const policyOf = (m: BackendModel): string => (m.configPolicies === undefined ? "no BackendConfigPolicy" : `BackendConfigPolicy ${m.configPolicies.join(" and ")}`);
        this.#reporter.warn(from, segments, `Backend ${model.key} is reached with ${policyOf(first)} through an earlier reference and with ${policyOf(model)} through this one; every reference to it uses ${kept === first ? "the first" : "this one"}`, "target the Backend (or the whole Service) with the BackendConfigPolicy, not one Service port");
      }
      // A later reference kept for its TLS brings its own policy: said unless the first said it.
      if (kept !== first && config !== undefined && configDiffers) this.#warnPoolOverride(from, segments, backend, config);
      this.used.set(model.key, kept);
      return kept;
    }
    if (this.#reporter.isBroken("Backend", namespace, ref.name)) return displayName;
    if (isBackend) {
      this.#reporter.report(severity, from, [...segments, "name"], `Backend ${namespace}/${ref.name} is not defined in the file${consequence}`, `add a ${BACKEND_GROUP}/v1alpha1 Backend named "${ref.name}" in namespace "${namespace}"`);
      return displayName;
    }
    if (ref.port === undefined) {
      // The Gateway API CRD refuses this too: it is a schema error, never a 500.
      this.#reporter.report("error", from, [...segments, "port"], "a Service reference needs a port", "add port: <service port>", { missing: true });
      return displayName;
    }
    const model = withBackendConfig(
      withTls(
        {
          key: `${namespace}/${ref.name}:${ref.port}`,
          kind: "Service",
          name: ref.name,
          namespace,
          endpoints: [{ host: `${ref.name}.${namespace}.svc.cluster.local`, port: ref.port, kind: "fqdn" }],
        },
        this.#tls?.forBackend("Service", namespace, ref.name, ref.port),
      ),
      this.#config?.forBackend("Service", namespace, ref.name, ref.port),
    );
    this.used.set(model.key, model);
    return model;
  }

  /** A Backend's own connectionPool is more specific than a policy's circuitBreakers: said once, where the Backend is first used. */
  #warnPoolOverride(from: Resource, segments: Segments, backend: Resource, config: BackendConfig): void {
    const pool = (backend.spec["connectionPool"] ?? {}) as Record<string, unknown>;
    const overridden = (["maxConnections", "maxPendingRequests"] as const).filter((field) => pool[field] !== undefined && config[field] !== undefined);
    if (overridden.length === 0) return;
    this.#reporter.warn(from, segments, `Backend ${key(backend)} sets connectionPool.${overridden.join(" and ")}, which ${overridden.length === 1 ? "is" : "are"} used rather than the circuitBreakers of BackendConfigPolicy ${config.policies.join(" and ")}`, "set the limit in one place");
  }

  /**
   * A collector reference as an OTLP gRPC exporter target; `tlsHint` says how to get TLS to it
   * (a BackendTLSPolicy is not read for telemetry).
   */
  exporter(from: Resource, fromGroup: string, ref: BackendRefSpec, segments: Segments, tlsHint = OTLP_TLS_HINT): ExporterTargetModel | undefined {
    const model = this.resolve(from, fromGroup, ref, segments);
    const ep = model?.endpoints[0];
    if (ep === undefined) return undefined;
    if (model !== undefined && model.endpoints.length > 1) {
      this.#reporter.warn(from, segments, `Backend ${model.namespace}/${model.name} has ${model.endpoints.length} endpoints; the collector exporter uses the first`);
    }
    if (model?.tls !== undefined) {
      this.#reporter.warn(from, segments, `BackendTLSPolicy ${model.tls.policy} targets this collector, but telemetry export does not read BackendTLSPolicy: it is sent without TLS`, tlsHint);
    }
    if (model?.configPolicies !== undefined) {
      this.#reporter.warn(from, segments, `BackendConfigPolicy ${model.configPolicies.join(" and ")} targets this collector, but telemetry export does not read BackendConfigPolicy: the exporter's own timeouts and connection apply`, "configure the exporter with OTEL_EXPORTER_OTLP_TIMEOUT and the other OTEL_EXPORTER_OTLP_* variables");
    }
    const host = ep.kind === "ip" && ep.host.includes(":") ? `[${ep.host}]` : ep.host;
    return { endpoint: `http://${host}:${ep.port}`, protocol: "grpc", source: this.#reporter.source(from, segments) };
  }
}

const OTLP_TLS_HINT = "configure the exporter's TLS with OTEL_EXPORTER_OTLP_CERTIFICATE and an https:// OTEL_EXPORTER_OTLP_ENDPOINT";

function withTls(model: BackendModel, tls: UpstreamTls | undefined): BackendModel {
  return tls === undefined ? model : { ...model, tls };
}

function backendModel(r: Resource): BackendModel {
  const endpoints: BackendEndpoint[] = (r.spec["endpoints"] as { fqdn?: { hostname: string; port: number }; ip?: { address: string; port: number } }[]).flatMap(
    (e): BackendEndpoint[] => {
      if (e.fqdn !== undefined) return [{ host: e.fqdn.hostname.toLowerCase(), port: e.fqdn.port, kind: "fqdn" }];
      if (e.ip !== undefined) return [{ host: e.ip.address, port: e.ip.port, kind: "ip" }];
      return [];
    },
  );
  const pool = r.spec["connectionPool"] as { maxConnections?: number; maxPendingRequests?: number } | undefined;
  const model: BackendModel = { key: key(r), kind: "Backend", name: r.name, namespace: r.namespace, endpoints };
  return {
    ...model,
    ...(pool?.maxConnections === undefined ? {} : { maxConnections: pool.maxConnections }),
    ...(pool?.maxPendingRequests === undefined ? {} : { maxPendingRequests: pool.maxPendingRequests }),
  };
}
