// The RuntimePlan: an immutable, compiled form of a ResolvedConfig. The proxy reads only
// this on the hot path. A reload compiles a new plan and swaps one reference; requests
// already running keep the plan object they started with.
import type { UpstreamTls } from "../config/upstream-tls.ts";
import type { IncomingHttpHeaders } from "node:http";
import type { PortTls } from "./port-tls.ts";
import type {
  BackendModel,
  GatewayModel,
  ListenerModel,
  ListenerSettings,
  ResolvedConfig,
  RuleTimeouts,
  RetryModel,
  RouteModel,
  RouteTracingModel,
  RuleModel,
  UpstreamConnectionModel,
} from "../config/model.ts";

export interface RuntimePlan {
  /** Increments on every successful reload; 1 for the first plan. */
  readonly generation: number;
  readonly config: ResolvedConfig;
  /** One per bound port; gateways sharing a port share one listener and one router. */
  readonly listeners: readonly CompiledListener[];
  readonly listenerByPort: ReadonlyMap<number, CompiledListener>;
  /** Every rule of the plan; `rules[r.id] === r`, so telemetry can index per-rule state by id. */
  readonly rules: readonly CompiledRule[];
  /** Every backend by key, as a Gateway without a client certificate reaches it. */
  readonly backends: ReadonlyMap<string, CompiledBackend>;
  /**
   * Every compiled backend the plan's rules and filters may use: `backends`, and the copies
   * compiled for Gateways that present a client certificate to TLS backends.
   */
  readonly upstreams: readonly CompiledBackend[];
}

export interface CompiledListener {
  readonly port: number;
  /** Settings of the first gateway (by precedence) that declares this port. */
  readonly settings: ListenerSettings;
  /** An HTTPS port's certificates by SNI; undefined for an HTTP port (a port serves one protocol). */
  readonly tls: PortTls | undefined;
  /** Each connection starts with a PROXY protocol header (a ListenerPolicy's `proxyProtocol`; the Gateways on the port agree). */
  readonly proxyProtocol: boolean;
  readonly gateways: readonly GatewayModel[];
  readonly router: Router;
}

export interface Router {
  /**
   * host: lower-cased, port and trailing dot stripped. path: the request path without query.
   * rawQuery: the text after `?`, '' when absent. Returns the winning match or undefined.
   * Must not compile regexes or allocate per call beyond what a match needs.
   */
  match(host: string, method: string, path: string, rawQuery: string, headers: IncomingHttpHeaders): CompiledMatch | undefined;
  /** Number of (hostname × match) entries, for /routes and the micro-benchmark. */
  readonly size: number;
  /** A JSON-friendly description of the table, in match order, for the admin `/routes`. */
  describe(): unknown;
}

export interface CompiledMatch {
  readonly rule: CompiledRule;
  /** The path match that won, for URLRewrite/RequestRedirect ReplacePrefixMatch. */
  readonly pathType: "Exact" | "PathPrefix" | "RegularExpression";
  readonly pathValue: string;
}

/** Filters in the form the proxy executes; produced by src/proxy/filters.ts at compile time. */
export interface CompiledFilters {
  /** True when the rule answers without an upstream (redirect or direct response). */
  readonly terminal: boolean;
}

export interface CompiledRule {
  /** Dense index into RuntimePlan.rules. */
  readonly id: number;
  readonly route: RouteModel;
  readonly model: RuleModel;
  readonly gateway: GatewayModel;
  readonly listener: ListenerModel;
  /**
   * Low-cardinality `http.route` template, see docs/routing.md for how prefixes and regexes
   * render. A rule whose matches render several templates compiles to one CompiledRule per
   * template; the copies share `model`, filters and backends.
   */
  readonly httpRoute: string;
  /** `namespace/route-name` and the rule's name or index, for telemetry and logs. */
  readonly routeKey: string;
  readonly ruleName: string;
  readonly filters: CompiledFilters;
  readonly backends: BackendSet;
  readonly timeouts: RuleTimeouts;
  readonly retry: RetryModel | undefined;
  readonly tracing: RouteTracingModel | undefined;
}

export interface CompiledEndpoint {
  readonly host: string;
  readonly port: number;
  /** `http://host:port`, or `https://` when a BackendTLSPolicy applies: what telemetry's url.full starts with. */
  readonly origin: string;
  /** The BackendTLSPolicy's TLS (SNI, trust, names), undefined for plain HTTP. */
  readonly tls: UpstreamTls | undefined;
  /** The BackendConfigPolicy's connection settings; undefined = the gateway's defaults. */
  readonly connection: UpstreamConnectionModel | undefined;
  /** The connection pool's key: the origin, plus the TLS fingerprint and connection settings. */
  readonly poolKey: string;
  /**
   * The name TrafficPolicy autoHostRewrite sends as Host: a Backend endpoint's fqdn, or its IP
   * (kgateway names every static host); undefined for a Service, whose endpoints are its pods
   * in kgateway, with no hostname for Envoy to rewrite to.
   */
  readonly dnsName: string | undefined;
}

export interface CompiledBackend {
  readonly key: string;
  readonly model: BackendModel;
  /** Low-cardinality name for telemetry: `namespace/name` (+`:port` for Services). */
  readonly displayName: string;
  readonly endpoints: readonly CompiledEndpoint[];
  /** A backendRef that did not resolve (no endpoints): requests picking it get 500. */
  readonly unresolved: boolean;
}

export interface WeightedBackend {
  readonly backend: CompiledBackend;
  readonly weight: number;
  readonly filters: CompiledFilters;
}

export interface BackendSet {
  readonly entries: readonly WeightedBackend[];
  /** Total weight; 0 means no backend can be chosen (503). */
  readonly totalWeight: number;
  /** Weighted pick; undefined when totalWeight is 0 or there are no entries. */
  pick(): WeightedBackend | undefined;
}
