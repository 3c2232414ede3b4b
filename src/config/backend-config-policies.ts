// kgateway's BackendConfigPolicy: how the gateway reaches the Services and Backends a policy
// targets (in its own namespace, by name or by labels): which endpoint takes a request, and
// how connections to them are opened, kept and bounded. Several policies covering one
// backend merge field by field: a policy on the Backend itself, then one on the Service port
// the reference names, then one on the whole Service; within each, the older policy's field.
import { readLoadBalancer } from "./backend-load-balancer.ts";
import { parseDuration } from "./duration.ts";
import { distinctAddressCount } from "./address-key.ts";
import type { BackendModel, LoadBalancerModel, UpstreamConnectionModel } from "./model.ts";
import { BACKEND_GROUP } from "./resolve-backends.ts";
import { type Reporter, type Resource, type Segments, hasLabels, key } from "./resources.ts";
import type { ServicePorts } from "./service-ports.ts";
import { backendTargetId } from "./target-section-port.ts";

/** What the policies give one backend. */
export interface BackendConfig {
  /** The policies that gave any field, `namespace/name`, in the order they were preferred. */
  readonly policies: readonly string[];
  readonly loadBalancer?: LoadBalancerModel;
  /** The policy that gave `loadBalancer`. */
  readonly loadBalancerPolicy?: string;
  readonly connection?: UpstreamConnectionModel;
  /** commonHttpProtocolOptions.maxStreamDuration; 0 = none (a more specific policy lifting a less specific one's). */
  readonly maxStreamDurationMs?: number;
  /** commonHttpProtocolOptions.maxHeadersCount: header fields an upstream's response head may have. */
  readonly maxHeadersCount?: number;
  /** circuitBreakers: the backend's totals, split among its endpoints where the backend is resolved. */
  readonly maxConnections?: number;
  readonly maxPendingRequests?: number;
}

/** One policy's fields, each unset when the policy leaves it to another or the default. */
interface PolicyFields {
  loadBalancer?: LoadBalancerModel;
  connectTimeoutMs?: number;
  idleTimeoutMs?: number;
  maxRequestsPerConnection?: number;
  keepAliveTimeMs?: number;
  keepAliveIntervalMs?: number;
  keepAliveProbes?: number;
  maxStreamDurationMs?: number;
  maxHeadersCount?: number;
  maxConnections?: number;
  maxPendingRequests?: number;
}

/** The longest TCP keep-alive idle time and probe interval Linux accepts (MAX_TCP_KEEPIDLE, MAX_TCP_KEEPINTVL). */
const MAX_KEEPALIVE_SECONDS = 32_767;
/** The most unanswered keep-alive probes Linux accepts (MAX_TCP_KEEPCNT). */
const MAX_KEEPALIVE_PROBES = 127;

/** The fields that make a backend's UpstreamConnectionModel (and its pool key). */
const CONNECTION_FIELDS = ["connectTimeoutMs", "idleTimeoutMs", "maxRequestsPerConnection", "keepAliveTimeMs", "keepAliveIntervalMs", "keepAliveProbes"] as const satisfies readonly (keyof UpstreamConnectionModel & keyof PolicyFields)[];

const FIELD_NAMES: readonly (keyof PolicyFields)[] = ["loadBalancer", ...CONNECTION_FIELDS, "maxStreamDurationMs", "maxHeadersCount", "maxConnections", "maxPendingRequests"];

/** Sections with nothing here to act on, and what that means for traffic. */
const IGNORED_SECTIONS: readonly (readonly [field: string, consequence: string, hint: string])[] = [
  ["dns", "endpoint names are resolved by the system resolver for each new connection", "remove dns"],
  ["perConnectionBufferLimitBytes", "bodies stream through Node's own socket buffers", "remove perConnectionBufferLimitBytes"],
  ["http2ProtocolOptions", "the gateway speaks HTTP/1.1 to upstreams", "remove http2ProtocolOptions"],
  ["healthCheck", "there are no active health checks: every endpoint stays in rotation, and a retry moves on from one that fails", "remove healthCheck, and set TrafficPolicy retry on the routes to ride over a failing endpoint"],
  ["outlierDetection", "no endpoint is ejected: every endpoint stays in rotation, and a retry moves on from one that fails", "remove outlierDetection, and set TrafficPolicy retry on the routes to ride over a failing endpoint"],
  ["upstreamProxyProtocol", "no PROXY protocol header is sent: an upstream that requires one refuses the connections, and the client's address travels in X-Forwarded-For", "remove upstreamProxyProtocol"],
];

interface TargetRef {
  readonly group?: string;
  readonly kind: string;
  readonly name: string;
  readonly sectionName?: string;
}

interface TargetSelector {
  readonly group?: string;
  readonly kind: string;
  readonly matchLabels: Readonly<Record<string, string>>;
}

export class BackendConfigPolicies {
  /** `Backend/ns/name`, `Service/ns/name:port` or `Service/ns/name` → the policies targeting it, oldest first. */
  readonly #byTarget = new Map<string, { readonly policy: string; readonly fields: PolicyFields }[]>();

  /**
   * `policies` in precedence order (oldest first); `services` and `backends` are the file's,
   * for port names and label selection.
   */
  constructor(policies: readonly Resource[], services: ServicePorts, selectable: { readonly services: readonly Resource[]; readonly backends: readonly Resource[] }, reporter: Reporter) {
    const backendKeys = new Set(selectable.backends.map(key));
    for (const policy of policies) {
      const fields = readFields(policy, reporter);
      const add = (id: string): void => {
        const list = this.#byTarget.get(id) ?? [];
        if (!list.some((entry) => entry.policy === key(policy))) list.push({ policy: key(policy), fields });
        this.#byTarget.set(id, list);
      };
      const refs = (policy.spec["targetRefs"] ?? []) as TargetRef[];
      const selectors = (policy.spec["targetSelectors"] ?? []) as TargetSelector[];
      if (refs.length === 0 && selectors.length === 0) {
        reporter.error(policy, ["spec"], "BackendConfigPolicy attaches to nothing: it has neither targetRefs nor targetSelectors", `targetRefs: [{group: "", kind: Service, name: ...}], or targetSelectors: [{group: "", kind: Service, matchLabels: {...}}]`);
        continue;
      }
      refs.forEach((target, index) => {
        const at = ["spec", "targetRefs", index];
        const kind = targetKind(policy, target, at, reporter);
        if (kind === undefined) return;
        if (kind === "Backend" && !backendKeys.has(`${policy.namespace}/${target.name}`)) {
          if (!reporter.isBroken("Backend", policy.namespace, target.name)) reporter.warn(policy, [...at, "name"], `Backend ${policy.namespace}/${target.name} is not in the file; this targetRef has no effect`, `add a ${BACKEND_GROUP}/v1alpha1 Backend named "${target.name}", or fix the name`);
          return;
        }
        const id = backendTargetId(policy, target, kind, services, reporter, at);
        if (id === undefined) return;
        add(id);
      });
      selectors.forEach((selector, index) => {
        const at = ["spec", "targetSelectors", index];
        const kind = targetKind(policy, selector, at, reporter);
        if (kind === undefined) return;
        if (Object.keys(selector.matchLabels).length === 0) {
          reporter.warn(policy, [...at, "matchLabels"], `an empty matchLabels selects no ${kind} in kgateway, and every one of the namespace in a Kubernetes label selector; this targetSelector has no effect`, `name the labels the ${kind}s the policy is for carry, e.g. {tier: backend}`);
          return;
        }
        const pool = kind === "Service" ? selectable.services : selectable.backends;
        const selected = pool.filter((r) => r.namespace === policy.namespace && hasLabels(r, selector.matchLabels));
        if (selected.length === 0) {
          const where = kind === "Service" ? "(a Service is selected by the labels of its v1 Service manifest in the file)" : "";
          reporter.warn(policy, [...at, "matchLabels"], `no ${kind} in namespace ${policy.namespace} in the file carries the labels ${JSON.stringify(selector.matchLabels)}${where === "" ? "" : " " + where}; this targetSelector has no effect`, `label the ${kind}s the policy is for (metadata.labels), or change matchLabels`);
          return;
        }
        for (const r of selected) {
          add(`${kind}/${r.namespace}/${r.name}`);
          // Its labels were read: it is not listed as skipped.
          if (kind === "Service") services.read.add(key(r));
        }
      });
    }
  }

  /**
   * What a backend reached through a reference with `port` (a Service port; undefined for a
   * Backend reference) is given. A Tollgate Backend answers to policies targeting it as a
   * Backend or as the Service of the same name (a Service reference resolves to it).
   */
  forBackend(kind: "Backend" | "Service", namespace: string, name: string, port: number | undefined): BackendConfig | undefined {
    const service = `Service/${namespace}/${name}`;
    const lists = [kind === "Backend" ? this.#byTarget.get(`Backend/${namespace}/${name}`) : undefined, port === undefined ? undefined : this.#byTarget.get(`${service}:${port}`), this.#byTarget.get(service)];
    const ordered = lists.flatMap((list) => list ?? []);
    if (ordered.length === 0) return undefined;
    const merged: PolicyFields = {};
    const policies: string[] = [];
    let loadBalancerPolicy: string | undefined;
    for (const field of FIELD_NAMES) {
      const giver = ordered.find((entry) => entry.fields[field] !== undefined);
      if (giver === undefined) continue;
      (merged as Record<string, unknown>)[field] = giver.fields[field];
      if (!policies.includes(giver.policy)) policies.push(giver.policy);
      if (field === "loadBalancer") loadBalancerPolicy = giver.policy;
    }
    if (policies.length === 0) return undefined;
    const connection: { -readonly [F in (typeof CONNECTION_FIELDS)[number]]?: number } = {};
    for (const field of CONNECTION_FIELDS) if (merged[field] !== undefined) connection[field] = merged[field];
    return {
      policies,
      ...(merged.loadBalancer === undefined ? {} : { loadBalancer: merged.loadBalancer, loadBalancerPolicy: loadBalancerPolicy! }),
      ...(Object.keys(connection).length === 0 ? {} : { connection }),
      ...(merged.maxStreamDurationMs === undefined ? {} : { maxStreamDurationMs: merged.maxStreamDurationMs }),
      ...(merged.maxHeadersCount === undefined ? {} : { maxHeadersCount: merged.maxHeadersCount }),
      ...(merged.maxConnections === undefined ? {} : { maxConnections: merged.maxConnections }),
      ...(merged.maxPendingRequests === undefined ? {} : { maxPendingRequests: merged.maxPendingRequests }),
    };
  }
}

/** Service (group "") or a Tollgate Backend; anything else is warned about and skipped. */
function targetKind(policy: Resource, target: { readonly group?: string; readonly kind: string }, at: Segments, reporter: Reporter): "Service" | "Backend" | undefined {
  const group = target.group ?? "";
  if (group === "" && target.kind === "Service") return "Service";
  if (group === BACKEND_GROUP && target.kind === "Backend") return "Backend";
  const hint = target.kind === "Backend" ? `Tollgate's Backends are group ${BACKEND_GROUP}: write group: ${BACKEND_GROUP}` : `target {group: "", kind: Service, name: ...} or {group: ${BACKEND_GROUP}, kind: Backend, name: ...}`;
  reporter.warn(policy, at, `a BackendConfigPolicy applies to Services and ${BACKEND_GROUP} Backends; this target (${group === "" ? "" : `${group}/`}${target.kind}) is ignored`, hint);
  return undefined;
}

function readFields(policy: Resource, reporter: Reporter): PolicyFields {
  const spec = policy.spec;
  const fields: PolicyFields = {};
  if (spec["tls"] !== undefined) {
    // Ignored, it would send in plain text what the policy asks to encrypt.
    reporter.error(policy, ["spec", "tls"], "BackendConfigPolicy tls is not implemented, and ignoring it would reach the backends without TLS", "give the backends TLS with a gateway.networking.k8s.io/v1 BackendTLSPolicy (validation.hostname and caCertificateRefs)");
  }
  for (const [field, consequence, hint] of IGNORED_SECTIONS) {
    if (spec[field] !== undefined) reporter.warn(policy, ["spec", field], `${field} is not read: ${consequence}`, hint);
  }
  const connectTimeout = durationOf(spec["connectTimeout"]);
  if (connectTimeout === 0) reporter.error(policy, ["spec", "connectTimeout"], "connectTimeout must be more than 0", "set a time such as 5s, or remove connectTimeout for the gateway's default (10s)");
  else if (connectTimeout !== undefined) fields.connectTimeoutMs = connectTimeout;
  readKeepalive(policy, spec["tcpKeepalive"] as Record<string, unknown> | undefined, fields, reporter);
  readHttpOptions(policy, spec, fields, reporter);
  const lb = spec["loadBalancer"] as Record<string, unknown> | undefined;
  if (lb !== undefined) {
    const model = readLoadBalancer(policy, lb, reporter);
    if (model !== undefined) fields.loadBalancer = model;
  }
  const breakers = spec["circuitBreakers"] as Record<string, number | boolean> | undefined;
  if (breakers !== undefined) {
    if (typeof breakers["maxConnections"] === "number") fields.maxConnections = breakers["maxConnections"];
    if (typeof breakers["maxPendingRequests"] === "number") fields.maxPendingRequests = breakers["maxPendingRequests"];
    for (const field of ["maxRequests", "maxRetries"]) {
      if (breakers[field] !== undefined) reporter.warn(policy, ["spec", "circuitBreakers", field], `circuitBreakers.${field} is not read: requests are bounded by maxConnections and maxPendingRequests alone`, `remove ${field}`);
    }
    if (Object.keys(breakers).every((k) => k === "trackRemaining")) {
      reporter.report("error", policy, ["spec", "circuitBreakers"], "circuitBreakers sets no threshold", "set maxConnections, maxPendingRequests, maxRequests or maxRetries", { atKey: true });
    }
  }
  return fields;
}

function readKeepalive(policy: Resource, keepalive: Record<string, unknown> | undefined, fields: PolicyFields, reporter: Reporter): void {
  if (keepalive === undefined) return;
  const at = ["spec", "tcpKeepalive"];
  const time = keepaliveSeconds(policy, keepalive, "keepAliveTime", reporter);
  if (time !== undefined) fields.keepAliveTimeMs = time;
  const interval = keepaliveSeconds(policy, keepalive, "keepAliveInterval", reporter);
  if (interval !== undefined) fields.keepAliveIntervalMs = interval;
  const probes = keepalive["keepAliveProbes"] as number | undefined;
  // Linux takes 1 to 127 (TCP_KEEPCNT), and Node drops a refusal: its default would apply unsaid.
  if (probes !== undefined && (probes < 1 || probes > MAX_KEEPALIVE_PROBES)) reporter.error(policy, [...at, "keepAliveProbes"], `keepAliveProbes must be 1 to ${MAX_KEEPALIVE_PROBES}, what Linux accepts`, "set keepAliveProbes: 9 (the Linux default), or remove it for Node's 10");
  else if (probes !== undefined) fields.keepAliveProbes = probes;
  if ((interval !== undefined || fields.keepAliveProbes !== undefined) && !runtimeSetsKeepAliveProbes()) {
    reporter.warn(policy, at, `Node ${process.versions.node} sets only the keep-alive idle time: keepAliveInterval and keepAliveProbes take effect from Node 24.19 on (Node's 1s and 10 apply until then)`, "run the gateway on Node 24.19 or later, as its image does");
  }
}

/** Whether this Node's socket.setKeepAlive takes a probe interval and count (added in 24.19). */
export function runtimeSetsKeepAliveProbes(version: string = process.versions.node): boolean {
  const [major = 0, minor = 0] = version.split(".").map(Number);
  return major > 24 || (major === 24 && minor >= 19);
}

/**
 * A keep-alive time in milliseconds, whole seconds from 1 s to 32767 s: Linux's TCP_KEEPIDLE and
 * TCP_KEEPINTVL take seconds in that range, and Node drops a refusal, so the kernel's default
 * would apply unsaid. Undefined (after an error) when out of range or unset.
 */
function keepaliveSeconds(policy: Resource, keepalive: Record<string, unknown>, field: "keepAliveTime" | "keepAliveInterval", reporter: Reporter): number | undefined {
  const ms = durationOf(keepalive[field]);
  if (ms === undefined) return undefined;
  if (ms < 1000 || ms > MAX_KEEPALIVE_SECONDS * 1000 || ms % 1000 !== 0) {
    reporter.error(policy, ["spec", "tcpKeepalive", field], `${field} must be whole seconds from 1s to ${MAX_KEEPALIVE_SECONDS}s (9h6m7s), what Linux accepts`, `set ${field} in seconds, e.g. 30s`);
    return undefined;
  }
  return ms;
}

function readHttpOptions(policy: Resource, spec: Record<string, unknown>, fields: PolicyFields, reporter: Reporter): void {
  const common = spec["commonHttpProtocolOptions"] as Record<string, unknown> | undefined;
  if (common !== undefined) {
    const at = ["spec", "commonHttpProtocolOptions"];
    const idle = durationOf(common["idleTimeout"]);
    if (idle !== undefined) fields.idleTimeoutMs = idle;
    const perConnection = common["maxRequestsPerConnection"] as number | undefined;
    if (perConnection !== undefined && perConnection > 0) fields.maxRequestsPerConnection = perConnection;
    const headersCount = common["maxHeadersCount"] as number | undefined;
    if (headersCount !== undefined) fields.maxHeadersCount = headersCount;
    const underscores = common["headersWithUnderscoresAction"];
    // Envoy reads it from a listener's options only: on a cluster it changes nothing.
    if (underscores !== undefined && underscores !== "Allow") reporter.warn(policy, [...at, "headersWithUnderscoresAction"], `headersWithUnderscoresAction ${String(underscores)} does nothing on a backend (Envoy ignores it in a cluster's options too): request headers with underscores in their names are forwarded as they came`, "remove headersWithUnderscoresAction");
    const streamDuration = durationOf(common["maxStreamDuration"]);
    if (streamDuration !== undefined) fields.maxStreamDurationMs = streamDuration;
  }
  const http1 = spec["http1ProtocolOptions"] as Record<string, unknown> | undefined;
  for (const field of Object.keys(http1 ?? {})) {
    reporter.warn(policy, ["spec", "http1ProtocolOptions", field], `http1ProtocolOptions.${field} is not read`, `remove ${field}`);
  }
}

function durationOf(value: unknown): number | undefined {
  return typeof value === "string" ? parseDuration(value) : undefined;
}

/**
 * The backend with what its policies give it. circuitBreakers bound the whole backend, as
 * Envoy's bound a cluster; the gateway bounds each endpoint, so the totals are split evenly
 * among the endpoint addresses (at least one each). A Backend's own connectionPool is more
 * specific and wins.
 */
export function withBackendConfig(model: BackendModel, config: BackendConfig | undefined): BackendModel {
  if (config === undefined) return model;
  const addresses = Math.max(1, distinctAddressCount(model.endpoints));
  const share = (total: number | undefined): number | undefined => (total === undefined ? undefined : Math.max(1, Math.floor(total / addresses)));
  const maxConnections = model.maxConnections ?? share(config.maxConnections);
  const maxPendingRequests = model.maxPendingRequests ?? share(config.maxPendingRequests);
  return {
    ...model,
    configPolicies: config.policies,
    ...(config.loadBalancer === undefined ? {} : { loadBalancer: config.loadBalancer, loadBalancerPolicy: config.loadBalancerPolicy! }),
    ...(config.connection === undefined ? {} : { connection: config.connection }),
    ...(config.maxStreamDurationMs === undefined || config.maxStreamDurationMs === 0 ? {} : { maxStreamDurationMs: config.maxStreamDurationMs }),
    ...(config.maxHeadersCount === undefined ? {} : { maxHeadersCount: config.maxHeadersCount }),
    ...(maxConnections === undefined ? {} : { maxConnections }),
    ...(maxPendingRequests === undefined ? {} : { maxPendingRequests }),
  };
}

/** What tells two configurations of one backend apart (the policies' names aside). */
export function backendConfigKey(model: BackendModel): string {
  return JSON.stringify([model.loadBalancer, model.connection, model.maxStreamDurationMs, model.maxHeadersCount, model.maxConnections, model.maxPendingRequests]);
}
