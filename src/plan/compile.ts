// ResolvedConfig → RuntimePlan: attach routes to listeners, compile every rule once, build
// one router per bound port. Everything the hot path needs is computed here.
import type {
  FilterModel,
  GatewayModel,
  ListenerModel,
  ObjectRef,
  ResolvedConfig,
  RouteModel,
  RouteParent,
  RuleModel,
} from "../config/model.ts";
import { namespaceSelected } from "../config/namespace-selection.ts";
import { Candidate } from "../router/candidate.ts";
import { effectiveHostnames, normalizeHostname } from "../router/hostnames.ts";
import { ListenerRouter } from "../router/listener-router.ts";
import { CompiledRouter, type RouterEntry } from "../router/router.ts";
import { compileBackend, compileBackendSet } from "./backends.ts";
import { GatewayBackends } from "./gateway-backends.ts";
import { filtersThrough } from "./gateway-filters.ts";
import { listenerScope } from "../config/listener-scope.ts";
import { PortTls } from "./port-tls.ts";
import { matchTemplate } from "./http-route.ts";
import type { BackendSet, CompiledBackend, CompiledFilters, CompiledListener, CompiledRule, RuntimePlan } from "./types.ts";

/** Compiles a rule's or backendRef's filters; `backends` resolves the backendKeys they name (RequestMirror). */
export type FilterCompiler = (filters: readonly FilterModel[], backends: ReadonlyMap<string, CompiledBackend>) => CompiledFilters;

/** A route bound to one listener, with the hostnames it serves there. */
interface Attachment {
  readonly route: RouteModel;
  readonly gateway: GatewayModel;
  readonly listener: ListenerModel;
  readonly hostnames: readonly string[] | "any";
}

export function compilePlan(config: ResolvedConfig, generation: number, compileFilters: FilterCompiler): RuntimePlan {
  const backends = new Map<string, CompiledBackend>();
  for (const b of config.backends) backends.set(b.key, compileBackend(b));
  const gatewayBackends = new GatewayBackends(backends);

  const gateways = [...config.gateways].sort(compareObjects);
  const attachments = attachRoutes(gateways, [...config.routes].sort(compareObjects));

  // A rule attached to several listeners shares its filters and backends, unless their
  // Gateways present different client certificates to TLS backends or add TrafficPolicy
  // filters of their own (a rate limit, header modifiers).
  const perRule = new Map<RuleModel, Map<string, { filters: CompiledFilters; backends: BackendSet }>>();
  const variantIds = new Map<ReadonlyMap<string, CompiledBackend>, number>();
  const rules: CompiledRule[] = [];
  const entriesByPort = new Map<number, Map<string | undefined, RouterEntry[]>>();
  // Every listener gets its table, routes or not: a host it admits is its own (listener isolation).
  for (const g of gateways) for (const l of g.listeners) listenerEntries(entriesByPort, l);
  attachments.forEach((a, attachmentIndex) => {
    const candidates: Candidate[] = [];
    for (const rule of a.route.rules) {
      const reached = gatewayBackends.of(a.gateway);
      const through = filtersThrough(rule, a.gateway.listenerPolicies?.get(a.listener.name) ?? a.gateway, a.listener.port, objectKey(a.route.ref));
      let reachedId = variantIds.get(reached);
      if (reachedId === undefined) variantIds.set(reached, (reachedId = variantIds.size));
      const variant = `${reachedId} ${through.variant}`;
      let variants = perRule.get(rule);
      if (variants === undefined) perRule.set(rule, (variants = new Map()));
      let shared = variants.get(variant);
      if (shared === undefined) {
        shared = {
          filters: compileFilters(through.models, reached),
          backends: compileBackendSet(rule.backends, reached, compileFilters, rule.source),
        };
        variants.set(variant, shared);
      }
      // One compiled rule per `http.route` template: Exact `/login` and PathPrefix `/auth` in
      // one rule report `/login` and `/auth/*`, each keyed apart in spans, metrics and logs.
      // The copies share filters and backends, so they route and proxy as the one rule they are.
      const byTemplate = new Map<string, CompiledRule>();
      const via = rule.throughGateway === undefined ? undefined : (rule.throughGateway[listenerScope(objectKey(a.gateway.ref), a.listener.name)] ?? rule.throughGateway[objectKey(a.gateway.ref)]);
      const { filters, backends: backendSet } = shared;
      matchesOf(rule).forEach((m, i) => {
        const httpRoute = matchTemplate(m.path);
        let compiled = byTemplate.get(httpRoute);
        if (compiled === undefined) {
          compiled = Object.freeze({
            id: rules.length,
            route: a.route,
            model: rule,
            gateway: a.gateway,
            listener: a.listener,
            httpRoute,
            routeKey: objectKey(a.route.ref),
            ruleName: rule.name ?? `rule-${rule.index}`,
            filters,
            backends: backendSet,
            timeouts: via?.timeouts ?? rule.timeouts,
            retry: via === undefined ? rule.retry : via.retry,
            tracing: a.route.tracing,
          });
          rules.push(compiled);
          byTemplate.set(httpRoute, compiled);
        }
        candidates.push(new Candidate(compiled, i, attachmentIndex, m));
      });
    }
    listenerEntries(entriesByPort, a.listener).push({ hostnames: a.hostnames, candidates });
  });

  const gatewaysByPort = new Map<number, GatewayModel[]>();
  for (const g of gateways) {
    for (const l of g.listeners) {
      const list = gatewaysByPort.get(l.port);
      if (list === undefined) gatewaysByPort.set(l.port, [g]);
      else if (!list.includes(g)) list.push(g);
    }
  }
  const listeners: CompiledListener[] = [...gatewaysByPort.keys()]
    .sort((a, b) => a - b)
    .map((port) => {
      const gws = gatewaysByPort.get(port)!;
      const onPort = gws.flatMap((g) => g.listeners.filter((l) => l.port === port));
      return Object.freeze({
        port,
        settings: gws[0]!.settings,
        proxyProtocol: gws[0]!.proxyProtocolPorts.includes(port),
        tls: onPort.some((l) => l.protocol === "HTTPS") ? new PortTls(onPort) : undefined,
        gateways: Object.freeze(gws),
        router: portRouter(entriesByPort.get(port)!),
      });
    });

  return Object.freeze({
    generation,
    config,
    listeners: Object.freeze(listeners),
    listenerByPort: new Map(listeners.map((l) => [l.port, l])),
    rules: Object.freeze(rules),
    backends,
    upstreams: Object.freeze(gatewayBackends.all()),
  });
}

/** The router entries of the listeners on `listener`'s port with its hostname (several Gateways' listeners may share one). */
function listenerEntries(byPort: Map<number, Map<string | undefined, RouterEntry[]>>, listener: ListenerModel): RouterEntry[] {
  let byHostname = byPort.get(listener.port);
  if (byHostname === undefined) byPort.set(listener.port, (byHostname = new Map()));
  const hostname = listener.hostname === undefined ? undefined : normalizeHostname(listener.hostname);
  let entries = byHostname.get(hostname);
  if (entries === undefined) byHostname.set(hostname, (entries = []));
  return entries;
}

/** One router for a port whose listeners share a hostname (the usual case); else the listener is picked first. */
function portRouter(byHostname: ReadonlyMap<string | undefined, RouterEntry[]>): CompiledRouter | ListenerRouter {
  if (byHostname.size === 1) return new CompiledRouter([...byHostname.values()][0]!);
  return new ListenerRouter(new Map([...byHostname].map(([hostname, entries]) => [hostname, new CompiledRouter(entries)])));
}

/**
 * Every (route, listener) pair that Gateway API attaches: the parentRef names the gateway,
 * sectionName/port narrow it to listeners, allowedRoutes admits the route's namespace and
 * the listener and route hostnames intersect.
 */
function attachRoutes(gateways: readonly GatewayModel[], routes: readonly RouteModel[]): Attachment[] {
  const byKey = new Map(gateways.map((g) => [objectKey(g.ref), g]));
  const out: Attachment[] = [];
  for (const route of routes) {
    const seen = new Set<ListenerModel>();
    for (const parent of route.parents) {
      const gateway = byKey.get(parent.gatewayKey);
      if (gateway === undefined) continue;
      for (const listener of gateway.listeners) {
        if (seen.has(listener) || !parentSelects(parent, listener)) continue;
        if (!namespaceAllowed(listener, gateway, route)) continue;
        const hostnames = effectiveHostnames(listener.hostname, route.hostnames);
        if (hostnames !== "any" && hostnames.length === 0) continue;
        seen.add(listener);
        out.push({ route, gateway, listener, hostnames });
      }
    }
  }
  return out;
}

function parentSelects(parent: RouteParent, listener: ListenerModel): boolean {
  // The config stage's verdict, allowedRoutes.kinds included, where it ran.
  if (parent.listenerNames !== undefined && !parent.listenerNames.includes(listener.name)) return false;
  if (parent.sectionName !== undefined && parent.sectionName !== listener.name) return false;
  if (parent.port !== undefined && parent.port !== listener.port) return false;
  return true;
}

function namespaceAllowed(listener: ListenerModel, gateway: GatewayModel, route: RouteModel): boolean {
  switch (listener.allowedRoutesFrom) {
    case "All":
      return true;
    case "Same":
      return route.ref.namespace === gateway.ref.namespace;
    case "Selector":
      return namespaceSelected(listener.allowedNamespaces, route.ref.namespace);
  }
}

const ROOT_PREFIX_MATCHES = new WeakMap<RuleModel, RuleModel["matches"]>();

/** The model promises at least one match; a rule without any still means `PathPrefix /`. */
function matchesOf(rule: RuleModel): RuleModel["matches"] {
  if (rule.matches.length !== 0) return rule.matches;
  let synthesized = ROOT_PREFIX_MATCHES.get(rule);
  if (synthesized === undefined) {
    synthesized = [{ path: { type: "PathPrefix", value: "/" }, method: undefined, headers: [], queryParams: [], source: rule.source }];
    ROOT_PREFIX_MATCHES.set(rule, synthesized);
  }
  return synthesized;
}

function objectKey(ref: ObjectRef): string {
  return `${ref.namespace}/${ref.name}`;
}

/** Oldest first, then `namespace/name`: the order Gateway API uses to break ties. */
function compareObjects(a: { readonly ref: ObjectRef }, b: { readonly ref: ObjectRef }): number {
  const age = a.ref.creationTimestampMs - b.ref.creationTimestampMs;
  if (age !== 0) return age;
  const ka = objectKey(a.ref);
  const kb = objectKey(b.ref);
  return ka < kb ? -1 : ka > kb ? 1 : 0;
}
