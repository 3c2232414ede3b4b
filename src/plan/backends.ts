// Backends and the weighted sets rules pick from.
import type { BackendModel, FilterModel, SourceRef, UpstreamConnectionModel, WeightedBackendModel } from "../config/model.ts";
import type { BackendSet, CompiledBackend, CompiledEndpoint, CompiledFilters, WeightedBackend } from "./types.ts";
import { PlanCompileError } from "./errors.ts";
import type { UpstreamTls } from "../config/upstream-tls.ts";

export function compileBackend(model: BackendModel): CompiledBackend {
  const tls = model.tls;
  const endpoints = model.endpoints.map((e): CompiledEndpoint => {
    const host = stripBrackets(e.host);
    const origin = endpointOrigin(host, e.port, tls === undefined ? "http" : "https");
    // kgateway names every static host of a Backend, an IP literal too (bracketed: a Host value).
    const dnsName = model.kind !== "Backend" ? undefined : e.kind === "fqdn" || !host.includes(":") ? host : `[${host}]`;
    return Object.freeze({ host, port: e.port, origin, tls, connection: model.connection, poolKey: upstreamPoolKey(origin, tls, model.connection), dnsName });
  });
  return Object.freeze({
    key: model.key,
    model,
    displayName: backendDisplayName(model),
    endpoints: Object.freeze(endpoints),
    unresolved: false,
  });
}

/** Stands in for a backendRef that did not resolve, under its display name. */
function unresolvedBackend(displayName: string): CompiledBackend {
  const slash = displayName.indexOf("/");
  const model: BackendModel = { key: `unresolved:${displayName}`, kind: "Backend", name: displayName.slice(slash + 1), namespace: displayName.slice(0, slash), endpoints: [] };
  return Object.freeze({ key: model.key, model, displayName, endpoints: Object.freeze([]), unresolved: true });
}

/** `http://host:port` (`https:` for TLS), IPv6 literals bracketed. */
export function endpointOrigin(host: string, port: number, scheme: "http" | "https" = "http"): string {
  const bare = stripBrackets(host);
  return bare.includes(":") ? `${scheme}://[${bare}]:${port}` : `${scheme}://${bare}:${port}`;
}

/**
 * What the connection pools are keyed by: the origin, for TLS the policy's fingerprint, and
 * the BackendConfigPolicy's connection settings, so two policies' connections to one endpoint
 * (or a reload that changed the CA or a timeout) never share.
 */
export function upstreamPoolKey(origin: string, tls: UpstreamTls | undefined, connection?: UpstreamConnectionModel): string {
  const base = tls === undefined ? origin : `${origin}#${tls.fingerprint}`;
  if (connection === undefined) return base;
  const { connectTimeoutMs: c, idleTimeoutMs: i, maxRequestsPerConnection: r, keepAliveTimeMs: k, keepAliveIntervalMs: ki, keepAliveProbes: kp } = connection;
  return `${base}|c=${c ?? ""};i=${i ?? ""};r=${r ?? ""};k=${k ?? ""},${ki ?? ""},${kp ?? ""}`;
}

/** Backend → `namespace/name`; Service → `namespace/name:port` (a Service name alone does not say which port). */
export function backendDisplayName(model: BackendModel): string {
  const base = `${model.namespace}/${model.name}`;
  if (model.kind === "Backend") return base;
  const colon = model.key.lastIndexOf(":");
  const port = colon > model.key.indexOf("/") ? model.key.slice(colon + 1) : String(model.endpoints[0]?.port ?? "");
  return port === "" ? base : `${base}:${port}`;
}

function stripBrackets(host: string): string {
  return host.startsWith("[") && host.endsWith("]") ? host.slice(1, -1) : host;
}

/**
 * Weighted choice with one Math.random() and no allocation: a binary search over the
 * cumulative weights. An entry of weight 0 owns an empty interval, so it is never chosen.
 */
export class WeightedBackendSet implements BackendSet {
  readonly entries: readonly WeightedBackend[];
  readonly totalWeight: number;
  private readonly cumulative: Float64Array;

  constructor(entries: readonly WeightedBackend[]) {
    this.entries = Object.freeze([...entries]);
    this.cumulative = new Float64Array(entries.length);
    let total = 0;
    for (let i = 0; i < entries.length; i++) {
      total += Math.max(0, entries[i]!.weight);
      this.cumulative[i] = total;
    }
    this.totalWeight = total;
    Object.freeze(this);
  }

  pick(): WeightedBackend | undefined {
    const total = this.totalWeight;
    if (total <= 0) return undefined;
    const cum = this.cumulative;
    const r = Math.random() * total;
    let lo = 0;
    let hi = cum.length - 1;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      if (r < cum[mid]!) hi = mid;
      else lo = mid + 1;
    }
    return this.entries[lo];
  }
}

export function compileBackendSet(
  refs: readonly WeightedBackendModel[],
  backends: ReadonlyMap<string, CompiledBackend>,
  compileFilters: (filters: readonly FilterModel[], backends: ReadonlyMap<string, CompiledBackend>) => CompiledFilters,
  source: SourceRef,
): BackendSet {
  const entries = refs.map((ref): WeightedBackend => {
    const backend = ref.unresolved === undefined ? backends.get(ref.backendKey) : unresolvedBackend(ref.unresolved);
    if (backend === undefined) {
      throw new PlanCompileError(
        source,
        `backendRef ${ref.backendKey} does not resolve to a known backend`,
        "the config stage should have rejected this reference; check the Backend/Service name, namespace and port",
      );
    }
    return Object.freeze({ backend, weight: ref.weight, filters: compileFilters(ref.filters, backends) });
  });
  return new WeightedBackendSet(entries);
}
