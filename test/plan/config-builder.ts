// A small typed builder for ResolvedConfig objects, so router and plan tests can state
// exactly the routes they need without going through YAML.
import type {
  BackendModel,
  FilterModel,
  GatewayModel,
  ListenerModel,
  ListenerSettings,
  MatchModel,
  PathMatchType,
  ResolvedConfig,
  RouteModel,
  RouteParent,
  RuleModel,
  SourceRef,
  ValueMatchType,
  WeightedBackendModel,
} from "../../src/config/model.ts";
import type { CompiledFilters } from "../../src/plan/types.ts";
import { compilePlan } from "../../src/plan/compile.ts";
import type { RuntimePlan } from "../../src/plan/types.ts";

export function src(path = "-"): SourceRef {
  return { file: "test.yaml", line: 1, col: 1, path };
}

export const DEFAULT_SETTINGS: ListenerSettings = {
  trustForwardedHeaders: false,
  xffNumTrustedHops: 0,
  skipXffAppend: false,
  maxRequestHeadersBytes: 16384,
  requestHeadersTimeoutMs: 10000,
  requestReceiveTimeoutMs: 0,
  keepAliveTimeoutMs: 5000,
  streamIdleTimeoutMs: 300000,
  maxConnections: 0,
  maxRequestsPerConnection: 0,
  maxHeadersCount: 0,
  healthCheckPath: undefined,
  serverHeader: "PassThrough",
  serverName: "tollgate",
  stripHostPort: "None",
  earlyHeaders: undefined,
  generateRequestId: true,
  acceptHttp10: true,
  defaultHostForHttp10: undefined,
};

export interface ListenerSpec {
  name?: string;
  port?: number;
  hostname?: string;
  allowedRoutesFrom?: ListenerModel["allowedRoutesFrom"];
  /** The namespaces a Selector admits; `except` only with `allowedNamespaces` unset (every namespace less these). */
  allowedNamespaces?: string[];
  exceptNamespaces?: string[];
}

export function gateway(name: string, listeners: ListenerSpec[], opts: { namespace?: string; createdMs?: number } = {}): GatewayModel {
  return {
    ref: { kind: "Gateway", name, namespace: opts.namespace ?? "default", creationTimestampMs: opts.createdMs ?? 0, source: src() },
    gatewayClassName: "tollgate",
    listeners: listeners.map((l, i) => ({
      name: l.name ?? `http-${i}`,
      port: l.port ?? 8080,
      protocol: "HTTP",
      tls: undefined,
      hostname: l.hostname,
      allowedRoutesFrom: l.allowedRoutesFrom ?? "All",
      allowedNamespaces: { only: l.exceptNamespaces === undefined ? (l.allowedNamespaces ?? []) : l.allowedNamespaces, except: l.exceptNamespaces ?? [] },
      source: src(`spec.listeners[${i}]`),
    })),
    settings: DEFAULT_SETTINGS,
    telemetry: { tracing: undefined, accessLogs: [], metrics: undefined, resourceAttributes: {} },
    backendClientCertificate: undefined,
    proxyProtocolPorts: [],
  };
}

export interface MatchSpec {
  path?: { type: PathMatchType; value: string };
  method?: string;
  headers?: { name: string; value: string; type?: ValueMatchType }[];
  query?: { name: string; value: string; type?: ValueMatchType }[];
}

export function match(spec: MatchSpec = {}): MatchModel {
  return {
    path: spec.path ?? { type: "PathPrefix", value: "/" },
    method: spec.method,
    headers: (spec.headers ?? []).map((h) => ({ type: h.type ?? "Exact", name: h.name.toLowerCase(), value: h.value })),
    queryParams: (spec.query ?? []).map((q) => ({ type: q.type ?? "Exact", name: q.name, value: q.value })),
    source: src("spec.rules[0].matches[0]"),
  };
}

export const exact = (value: string, rest: Omit<MatchSpec, "path"> = {}): MatchModel => match({ ...rest, path: { type: "Exact", value } });
export const prefix = (value: string, rest: Omit<MatchSpec, "path"> = {}): MatchModel =>
  match({ ...rest, path: { type: "PathPrefix", value } });
export const regex = (value: string, rest: Omit<MatchSpec, "path"> = {}): MatchModel =>
  match({ ...rest, path: { type: "RegularExpression", value } });

export interface RuleSpec {
  name?: string;
  matches?: MatchModel[];
  filters?: FilterModel[];
  backends?: WeightedBackendModel[];
}

export interface RouteSpec {
  namespace?: string;
  createdMs?: number;
  parents?: RouteParent[];
  hostnames?: string[];
  rules: RuleSpec[];
}

export function route(name: string, spec: RouteSpec): RouteModel {
  return {
    ref: { kind: "HTTPRoute", name, namespace: spec.namespace ?? "default", creationTimestampMs: spec.createdMs ?? 0, source: src() },
    parents: spec.parents ?? [{ gatewayKey: "default/gw", sectionName: undefined, port: undefined }],
    hostnames: spec.hostnames ?? [],
    rules: spec.rules.map(
      (r, index): RuleModel => ({
        index,
        name: r.name,
        matches: r.matches ?? [prefix("/")],
        filters: r.filters ?? [],
        backends: r.backends ?? [{ weight: 1, backendKey: "default/echo:80", filters: [] }],
        timeouts: { requestMs: undefined, backendRequestMs: undefined, streamIdleMs: undefined },
        retry: undefined,
        source: src(`spec.rules[${index}]`),
      }),
    ),
    tracing: undefined,
  };
}

export function parent(gatewayKey: string, sectionName?: string, port?: number): RouteParent {
  return { gatewayKey, sectionName, port };
}

export function serviceBackend(name: string, port: number, namespace = "default"): BackendModel {
  return {
    key: `${namespace}/${name}:${port}`,
    kind: "Service",
    name,
    namespace,
    endpoints: [{ host: `${name}.${namespace}.svc.cluster.local`, port, kind: "fqdn" }],
  };
}

export function config(parts: { gateways: GatewayModel[]; routes: RouteModel[]; backends?: BackendModel[] }): ResolvedConfig {
  return {
    files: ["/tmp/test.yaml"],
    gateways: parts.gateways,
    routes: parts.routes,
    backends: parts.backends ?? [serviceBackend("echo", 80)],
    skippedKinds: [],
    warnings: [],
  };
}

/** Marks redirects and direct responses terminal, as the proxy's filter compiler does. */
export function testFilterCompiler(filters: readonly FilterModel[]): CompiledFilters {
  return { terminal: filters.some((f) => f.type === "RequestRedirect" || f.type === "DirectResponse") };
}

export function plan(parts: { gateways: GatewayModel[]; routes: RouteModel[]; backends?: BackendModel[] }): RuntimePlan {
  return compilePlan(config(parts), 1, testFilterCompiler);
}

/** The routeKey/ruleName/match index that wins a request on `port`, or "none". */
export function winner(
  p: RuntimePlan,
  req: { host?: string; method?: string; path: string; query?: string; headers?: Record<string, string | string[]>; port?: number },
): string {
  const listener = p.listenerByPort.get(req.port ?? 8080);
  if (listener === undefined) return "no-listener";
  const m = listener.router.match(req.host ?? "example.com", req.method ?? "GET", req.path, req.query ?? "", req.headers ?? {});
  return m === undefined ? "none" : `${m.rule.routeKey}`;
}
