// Policy attachment: TelemetryPolicy (GEP), kgateway ListenerPolicy / HTTPListenerPolicy
// (gateway level) and TrafficPolicy (route level), merged into each gateway's telemetry
// model and listener settings.
import { compileAccessLogFilter } from "../cel/environment.ts";
import { parseEnvoyFormat } from "../format/envoy-operators.ts";
import { checkMatchesPatterns } from "./cel-patterns.ts";
import { accessLogCondition } from "./access-log-conditions.ts";
import { type PolicyCorsModel, policyCors } from "./traffic-cors.ts";
import { parseDuration } from "./duration.ts";
import { fractionRatio } from "./fraction.ts";
import { type LocalRateLimitSpec, localRateLimit } from "./local-rate-limit.ts";
import { type GlobalRateLimitSpec, globalRateLimit } from "./global-rate-limit.ts";
import type { GatewayExtensions } from "./gateway-extensions.ts";
import { type PolicyRetry, type PolicyTimeouts, policyRetry, policyTimeouts, warnGatewayAttemptLongerThanRequest } from "./traffic-retry-timeouts.ts";
import { policyHeaderModifiers } from "./traffic-header-modifiers.ts";
import { policyAuthorization } from "./traffic-rbac.ts";
import { type BasicAuthModel, policyBasicAuth } from "./traffic-basic-auth.ts";
import { type ApiKeyAuthModel, policyApiKeyAuth } from "./traffic-api-key-auth.ts";
import { type JwtAuthModel, policyJwtAuth } from "./traffic-jwt-auth.ts";
import type { SecretStore } from "./secret-store.ts";
import { policyClientAcl } from "./traffic-acl.ts";
import { policyConsistentHash, resolveRouteConsistentHashes } from "./traffic-consistent-hash.ts";
import { policyCsrf } from "./traffic-csrf.ts";
import { policyCompression } from "./traffic-compression.ts";
import { type FaultInjectionPolicyModel, policyFaultInjection } from "./traffic-fault-injection.ts";
import { type BufferModel, policyBuffer } from "./traffic-buffer.ts";
import { type PolicyExternalAuthModel, policyExternalAuth } from "./traffic-ext-auth.ts";
import { type PolicyUrlRewrite, policyUrlRewrite } from "./traffic-url-rewrite.ts";
import { redactUrlCredentials } from "./url-credentials.ts";
import type {
  AccessLogModel,
  AuthorizationModel,
  ClientAclModel,
  CompressionModel,
  CsrfModel,
  FaultInjectionModel,
  GatewayCorsModel,
  CustomAttributeModel,
  ExporterTargetModel,
  ExternalAuthModel,
  FilterModel,
  GatewayTelemetryModel,
  GlobalRateLimitModel,
  ListenerSettings,
  LocalRateLimitModel,
  MetricsModel,
  PolicyHeaderModifiersModel,
  RouteTracingModel,
  RuleModel,
  SamplingModel,
  HeaderModifierModel,
  TracingModel,
} from "./model.ts";
import type { BackendResolver } from "./resolve-backends.ts";
import type { GatewayDraft } from "./resolve-gateways.ts";
import type { RouteDraft } from "./resolve-routes.ts";
import { isListenerScope } from "./listener-scope.ts";
import { resolveProxyProtocolPorts } from "./proxy-protocol-ports.ts";
import { warnUnmatchableHealthCheckPath } from "./health-check-path.ts";
import { checkJsonFormat, reportTemplateErrors } from "./json-format.ts";
import { headerModifier } from "./resolve-filters.ts";
import { accessLogService, warnOtlpServiceFields } from "./access-log-service.ts";
import { ACCESS_CONTROL_SECTIONS, type Attached, type TargetKind, attachPolicies } from "./policy-targets.ts";
import { key } from "./resources.ts";
import type { Reporter, Resource, Segments } from "./resources.ts";
import { gepAttributes, gepLogFields, kgatewayAttributes } from "./value-sources.ts";

const ALWAYS_ON: SamplingModel = { kind: "alwaysOn" };

export const DEFAULT_LISTENER_SETTINGS: ListenerSettings = {
  trustForwardedHeaders: false,
  xffNumTrustedHops: 0,
  skipXffAppend: false,
  maxRequestHeadersBytes: 60 * 1024,
  requestHeadersTimeoutMs: 10_000,
  requestReceiveTimeoutMs: 0,
  keepAliveTimeoutMs: 5_000,
  // Envoy's default: bounds how long a stalled upload (or a silent upstream) holds a pooled
  // upstream connection, without cutting slow but moving transfers.
  streamIdleTimeoutMs: 300_000,
  maxConnections: 0,
  maxRequestsPerConnection: 0,
  maxHeadersCount: 0,
  healthCheckPath: undefined,
  // Envoy overwrites with its own name by default; Tollgate leaves the upstream's Server unless told.
  serverHeader: "PassThrough",
  serverName: "tollgate",
  stripHostPort: "None",
  earlyHeaders: undefined,
  generateRequestId: true,
  // Envoy refuses HTTP/1.0 unless told; Tollgate serves it, as node and most proxies do.
  acceptHttp10: true,
  defaultHostForHttp10: undefined,
};

const KGATEWAY_GROUP = "gateway.kgateway.dev";

export interface PolicyInput {
  readonly telemetryPolicies: readonly Resource[];
  readonly listenerPolicies: readonly Resource[];
  readonly httpListenerPolicies: readonly Resource[];
  readonly trafficPolicies: readonly Resource[];
}

export interface PolicyResult {
  readonly settings: ReadonlyMap<string, ListenerSettings>;
  readonly telemetry: ReadonlyMap<string, GatewayTelemetryModel>;
  readonly routeTracing: ReadonlyMap<string, RouteTracingModel>;
  /** The CORS filter (or NoCors, for `disable`) a TrafficPolicy gives each rule of a route (by index), by route key; and a Gateway, by gateway key. */
  readonly routeCors: ReadonlyMap<string, ReadonlyMap<number, PolicyCorsModel["filter"]>>;
  readonly gatewayCors: ReadonlyMap<string, GatewayCorsModel | null>;
  /**
   * The rate limit filters a TrafficPolicy gives each rule of a route (by index), by route key:
   * its local limit (or NoLocalRateLimit) and its global one.
   */
  readonly routeRateLimits: ReadonlyMap<string, ReadonlyMap<number, readonly FilterModel[]>>;
  /** The local and global rate limits a TrafficPolicy gives a Gateway, by gateway key; the global one's route and rule are filled in per rule. */
  readonly gatewayRateLimits: ReadonlyMap<string, LocalRateLimitModel | null>;
  readonly gatewayGlobalRateLimits: ReadonlyMap<string, GlobalRateLimitModel>;
  /** The retry and timeouts a TrafficPolicy gives each rule of a route (by index), by route key. */
  readonly routeRetries: ReadonlyMap<string, ReadonlyMap<number, PolicyRetry>>;
  readonly routeTimeouts: ReadonlyMap<string, ReadonlyMap<number, PolicyTimeouts>>;
  /**
   * The `listenerScope` keys of the listeners a TrafficPolicy targets by sectionName. Every
   * map here "by gateway key" holds such keys too, for the sections a listener's policy sets;
   * null there is a listener's `disable` (read them with throughListener).
   */
  readonly targetedListeners: ReadonlySet<string>;
  /** Per Gateway key, its ports whose connections start with a PROXY protocol header (ListenerPolicy `proxyProtocol`). */
  readonly proxyProtocolPorts: ReadonlyMap<string, readonly number[]>;
  /** The retry and timeouts a TrafficPolicy gives a Gateway, for the rules no route-level policy covers, by gateway key. */
  readonly gatewayRetries: ReadonlyMap<string, PolicyRetry>;
  readonly gatewayTimeouts: ReadonlyMap<string, PolicyTimeouts>;
  /** The header modifier filters a TrafficPolicy gives each rule of a route (by index), by route key; and a Gateway, by gateway key. */
  readonly routeHeaderModifiers: ReadonlyMap<string, ReadonlyMap<number, PolicyHeaderModifiersModel>>;
  readonly gatewayHeaderModifiers: ReadonlyMap<string, PolicyHeaderModifiersModel>;
  /** The `rbac` a TrafficPolicy gives each rule of a route (by index), by route key. */
  readonly routeAuthorizations: ReadonlyMap<string, ReadonlyMap<number, AuthorizationModel>>;
  readonly gatewayAuthorizations: ReadonlyMap<string, AuthorizationModel>;
  /** The `acl` a TrafficPolicy gives each rule of a route (by index), by route key. */
  readonly routeClientAcls: ReadonlyMap<string, ReadonlyMap<number, ClientAclModel>>;
  readonly gatewayClientAcls: ReadonlyMap<string, ClientAclModel>;
  /** The `csrf` a TrafficPolicy gives each rule of a route (by index), by route key. */
  readonly routeCsrfs: ReadonlyMap<string, ReadonlyMap<number, CsrfModel>>;
  readonly gatewayCsrfs: ReadonlyMap<string, CsrfModel>;
  /** The `faultInjection` a TrafficPolicy gives each rule of a route (by index; `disable` included), by route key. */
  readonly routeFaultInjections: ReadonlyMap<string, ReadonlyMap<number, FaultInjectionPolicyModel>>;
  readonly gatewayFaultInjections: ReadonlyMap<string, FaultInjectionModel | null>;
  /** The `compression` a TrafficPolicy gives each rule of a route (by index), by route key. */
  readonly routeCompressions: ReadonlyMap<string, ReadonlyMap<number, FilterModel>>;
  readonly gatewayCompressions: ReadonlyMap<string, CompressionModel | null>;
  /** The rules a TrafficPolicy's `autoHostRewrite: true` covers (by index), by route key. */
  readonly routeAutoHostRewrites: ReadonlyMap<string, ReadonlyMap<number, FilterModel>>;
  /** The `buffer` a TrafficPolicy gives each rule of a route (by index), by route key; and a Gateway, by gateway key. */
  readonly routeBuffers: ReadonlyMap<string, ReadonlyMap<number, BufferModel>>;
  readonly gatewayBuffers: ReadonlyMap<string, BufferModel | null>;
  /** The `extAuth` a TrafficPolicy gives each rule of a route (by index), by route key; and a Gateway, by gateway key. */
  readonly routeExternalAuths: ReadonlyMap<string, ReadonlyMap<number, PolicyExternalAuthModel>>;
  readonly gatewayExternalAuths: ReadonlyMap<string, ExternalAuthModel | null>;
  /** The `basicAuth` a TrafficPolicy gives each rule of a route (by index), by route key; and a Gateway, by gateway key. */
  readonly routeBasicAuths: ReadonlyMap<string, ReadonlyMap<number, BasicAuthModel>>;
  readonly gatewayBasicAuths: ReadonlyMap<string, Extract<BasicAuthModel, { type: "BasicAuth" }> | null>;
  /** The `apiKeyAuth` a TrafficPolicy gives each rule of a route (by index), by route key; and a Gateway, by gateway key. */
  readonly routeApiKeyAuths: ReadonlyMap<string, ReadonlyMap<number, ApiKeyAuthModel>>;
  readonly gatewayApiKeyAuths: ReadonlyMap<string, Extract<ApiKeyAuthModel, { type: "ApiKeyAuth" }> | null>;
  /** The `jwtAuth` a TrafficPolicy gives each rule of a route (by index), by route key; and a Gateway, by gateway key. */
  readonly routeJwtAuths: ReadonlyMap<string, ReadonlyMap<number, JwtAuthModel>>;
  readonly gatewayJwtAuths: ReadonlyMap<string, Extract<JwtAuthModel, { type: "JwtAuth" }> | null>;
  /** The merged `consistentHash` of the TrafficPolicies covering each rule of a route (by index), by route key. */
  readonly routeConsistentHashes: ReadonlyMap<string, ReadonlyMap<number, FilterModel>>;
  /** The regex path rewrite a TrafficPolicy gives each rule of a route (by index), by route key. */
  readonly routeUrlRewrites: ReadonlyMap<string, ReadonlyMap<number, PolicyUrlRewrite>>;
}

const ON_MODES = new Set(["On", "Enabled", "ImplementationDefault"]);
const isOn = (mode: unknown): boolean => mode === undefined || ON_MODES.has(String(mode));

export function resolvePolicies(
  input: PolicyInput,
  gateways: ReadonlyMap<string, GatewayDraft>,
  routes: readonly RouteDraft[],
  backends: BackendResolver,
  extensions: GatewayExtensions,
  secrets: SecretStore,
  reporter: Reporter,
): PolicyResult {
  const gatewayKeys = new Set(gateways.keys());
  const settings = new Map<string, ListenerSettings>();
  const telemetry = new Map<string, GatewayTelemetryModel>();

  // Each policy is interpreted once, even when it targets several gateways.
  const telemetryModels = new Map<Resource, ReturnType<typeof gepPolicy>>();
  for (const p of input.telemetryPolicies) telemetryModels.set(p, gepPolicy(p, reporter));
  const kgModels = new Map<Resource, KgListenerPolicy>();
  for (const p of input.listenerPolicies) kgModels.set(p, kgListenerPolicy(p, ["spec", "default", "httpSettings"], backends, reporter));
  for (const p of input.httpListenerPolicies) kgModels.set(p, kgListenerPolicy(p, ["spec"], backends, reporter));

  const gatewayObjects = new Map([...gateways].map(([gk, g]) => [gk, { resource: g.resource, sections: new Set(g.listeners.map((l) => l.name)) }]));
  const wholeGateways = new Map([["Gateway", { objects: gatewayObjects, sectionName: "ignored" } as const]]);
  const gepByGateway = attachPolicies(input.telemetryPolicies, wholeGateways, reporter).get("Gateway")!;
  const kgByGateway = attachPolicies([...input.listenerPolicies, ...input.httpListenerPolicies], wholeGateways, reporter).get("Gateway")!;

  for (const gk of gatewayKeys) {
    const gep = gepByGateway.get(gk) ?? [];
    for (const loser of gep.slice(1)) {
      reporter.warn(loser.policy, loser.at, `Gateway ${gk} already has TelemetryPolicy ${key(gep[0]!.policy)}, which is older; this policy is ignored for it`, "only one TelemetryPolicy may target a Gateway");
    }
    const g = gep[0] === undefined ? undefined : telemetryModels.get(gep[0].policy);
    const kg = (kgByGateway.get(gk) ?? []).map((a) => ({ ...a, model: kgModels.get(a.policy)! }));

    // kgateway sections: the oldest policy that sets a section wins it.
    const pick = <T>(section: string, get: (m: KgListenerPolicy) => T | undefined): T | undefined => {
      let winner: { policy: Resource; value: T } | undefined;
      for (const a of kg) {
        const v = get(a.model);
        if (v === undefined) continue;
        if (winner === undefined) winner = { policy: a.policy, value: v };
        else reporter.warn(a.policy, [...a.model.base, section], `${section} for Gateway ${gk} is already set by ${a.policy.kind === winner.policy.kind ? "" : winner.policy.kind + " "}${key(winner.policy)}, which is older; this one is ignored`, undefined);
      }
      return winner?.value;
    };

    let tracing: TracingModel | undefined = pick("tracing", (m) => m.tracing);
    if (g?.tracing !== undefined) {
      if (tracing !== undefined) reporter.warn(gep[0]!.policy, ["spec", "tracing"], `Gateway ${gk} also has kgateway tracing; the TelemetryPolicy's tracing takes precedence`, undefined);
      tracing = g.tracing;
    }
    const kgLogs = pick("accessLog", (m) => m.accessLogs) ?? [];
    const accessLogs = [...(g?.accessLogs === undefined ? [] : [g.accessLogs]), ...kgLogs];

    const limit = <K extends keyof KgLimits>(field: K): KgLimits[K] | undefined => pick(field, (m) => m.limits[field]);
    settings.set(gk, listenerSettings(limit));
    telemetry.set(gk, { tracing, accessLogs, metrics: g?.metrics, resourceAttributes: {} });
  }

  const routeObjects = new Map(routes.map((r) => [key(r.resource), { resource: r.resource, sections: new Set(r.rules.flatMap((rule) => (rule.name === undefined ? [] : [rule.name]))) }]));
  const traffic = attachPolicies(
    input.trafficPolicies,
    new Map<string, TargetKind>([
      ["HTTPRoute", { objects: routeObjects, sectionName: "narrow" }],
      ["Gateway", { objects: gatewayObjects, sectionName: "listener" }],
    ]),
    reporter,
  );
  const trafficByRoute = traffic.get("HTTPRoute")!;
  const routeTracing = resolveRouteTracing(trafficByRoute, routes, telemetry, reporter);
  warnUnknownRules(trafficByRoute, routes, reporter);
  // Each policy's cors is checked once, whatever it targets.
  const corsModels = sectionModels(input.trafficPolicies, "cors", (p, cfg) => policyCors(p, reporter, cfg));
  const specs = rateLimitSpecs(input.trafficPolicies, extensions, reporter);
  const routeRateLimits = resolveRouteRateLimits(specs, trafficByRoute, routes, reporter);
  const trafficByGateway = traffic.get("Gateway")!;
  warnRouteOnlySections(trafficByGateway, reporter);
  const gatewayRateLimits = resolveGatewayRateLimits(oldestPerGateway("rateLimit.local", specs.local, trafficByGateway, reporter));
  const gatewayGlobalRateLimits = resolveGatewayGlobalRateLimits(oldestPerGateway("rateLimit.global", specs.global, trafficByGateway, reporter));
  const retries = sectionModels(input.trafficPolicies, "retry", (p, cfg) => policyRetry(p, reporter, cfg));
  const timeouts = sectionModels(input.trafficPolicies, "timeouts", (p, cfg) => policyTimeouts(p, reporter, cfg));
  const headerModifiers = sectionModels(input.trafficPolicies, "headerModifiers", (p, cfg) => policyHeaderModifiers(p, reporter, cfg));
  const urlRewrites = sectionModels(input.trafficPolicies, "urlRewrite", (p, cfg) => policyUrlRewrite(p, reporter, cfg));
  const authorizations = sectionModels(input.trafficPolicies, "rbac", (p, cfg) => policyAuthorization(p, reporter, cfg));
  const clientAcls = sectionModels(input.trafficPolicies, "acl", (p, cfg) => policyClientAcl(p, reporter, cfg));
  const csrfs = sectionModels(input.trafficPolicies, "csrf", (p, cfg) => policyCsrf(p, reporter, cfg));
  // A boolean, not a block: `false` from an older policy keeps a newer one's `true` off the rule.
  const autoHostRewrites = new Map(input.trafficPolicies.filter((p) => typeof p.spec["autoHostRewrite"] === "boolean").map((p) => [p, { on: p.spec["autoHostRewrite"] === true, policy: key(p) }]));
  const compressions = sectionModels(input.trafficPolicies, "compression", (p, cfg) => policyCompression(p, reporter, cfg));
  const faultInjections = sectionModels(input.trafficPolicies, "faultInjection", (p, cfg) => policyFaultInjection(p, reporter, cfg));
  const buffers = sectionModels(input.trafficPolicies, "buffer", (p, cfg) => policyBuffer(p, reporter, cfg));
  const externalAuths = sectionModels(input.trafficPolicies, "extAuth", (p, cfg) => policyExternalAuth(p, reporter, cfg, extensions));
  const basicAuths = sectionModels(input.trafficPolicies, "basicAuth", (p, cfg) => policyBasicAuth(p, reporter, cfg, secrets));
  const apiKeyAuths = sectionModels(input.trafficPolicies, "apiKeyAuth", (p, cfg) => policyApiKeyAuth(p, reporter, cfg, secrets));
  const jwtAuths = sectionModels(input.trafficPolicies, "jwtAuth", (p, cfg) => policyJwtAuth(p, reporter, cfg, extensions));
  const consistentHashes = sectionModels(input.trafficPolicies, "consistentHash", (p, cfg) => policyConsistentHash(p, reporter, cfg));
  const gatewayRetries = oldestPerGateway("retry", retries, trafficByGateway, reporter);
  const gatewayTimeouts = oldestPerGateway("timeouts", timeouts, trafficByGateway, reporter);
  warnGatewayAttemptLongerThanRequest(gatewayRetries, gatewayTimeouts, reporter);
  return {
    settings,
    telemetry,
    targetedListeners: new Set([...trafficByGateway.keys()].filter((k) => !gatewayKeys.has(k))),
    proxyProtocolPorts: resolveProxyProtocolPorts(input.listenerPolicies, kgByGateway, gateways, reporter),
    routeTracing,
    routeCors: resolvePerRule("cors", corsModels, trafficByRoute, routes, reporter, (m) => m.filter),
    gatewayCors: oldestPerGateway("cors", gatewayOnly("cors", "given CORS answers", corsModels, (m) => (m.filter.type === "CORS" ? { policy: m.policy, filter: m.filter } : undefined), trafficByGateway, reporter), trafficByGateway, reporter),
    routeRateLimits,
    gatewayRateLimits,
    gatewayGlobalRateLimits,
    routeRetries: resolvePerRule("retry", retries, trafficByRoute, routes, reporter, (m) => m),
    routeTimeouts: resolvePerRule("timeouts", timeouts, trafficByRoute, routes, reporter, (m) => m),
    gatewayRetries,
    gatewayTimeouts,
    routeHeaderModifiers: resolvePerRule("headerModifiers", headerModifiers, trafficByRoute, routes, reporter, (m) => m),
    gatewayHeaderModifiers: oldestPerGateway("headerModifiers", headerModifiers, trafficByGateway, reporter),
    routeUrlRewrites: resolvePerRule("urlRewrite", urlRewrites, trafficByRoute, routes, reporter, (m) => m),
    routeConsistentHashes: resolveRouteConsistentHashes(consistentHashes, trafficByRoute, routes, backends.used, reporter),
    routeAuthorizations: resolvePerRule("rbac", authorizations, trafficByRoute, routes, reporter, (m) => m),
    gatewayAuthorizations: oldestPerGateway("rbac", authorizations, trafficByGateway, reporter),
    routeClientAcls: resolvePerRule("acl", clientAcls, trafficByRoute, routes, reporter, (m) => m),
    gatewayClientAcls: oldestPerGateway("acl", clientAcls, trafficByGateway, reporter),
    routeCsrfs: resolvePerRule("csrf", csrfs, trafficByRoute, routes, reporter, (m) => m),
    gatewayCsrfs: oldestPerGateway("csrf", csrfs, trafficByGateway, reporter),
    routeAutoHostRewrites: resolvePerRule("autoHostRewrite", autoHostRewrites, trafficByRoute, routes, reporter, (m): FilterModel | undefined => (m.on ? { type: "AutoHostRewrite", policy: m.policy } : undefined)),
    // A policy whose halves are both disabled still wins the rule: that is how a route turns compression off.
    routeCompressions: resolvePerRule("compression", compressions, trafficByRoute, routes, reporter, (m): FilterModel => (m.response === undefined && m.request === undefined ? { type: "NoCompression" } : m)),
    gatewayCompressions: oldestPerGateway("compression", gatewayCompressionsOf(compressions, trafficByGateway, reporter), trafficByGateway, reporter),
    routeFaultInjections: resolvePerRule("faultInjection", faultInjections, trafficByRoute, routes, reporter, (m) => m),
    gatewayFaultInjections: oldestPerGateway(
      "faultInjection",
      gatewayOnly("faultInjection", "given faults", faultInjections, (m) => (m.type === "FaultInjection" ? m : undefined), trafficByGateway, reporter),
      trafficByGateway,
      reporter,
    ),
    routeBuffers: resolvePerRule("buffer", buffers, trafficByRoute, routes, reporter, (m) => m),
    gatewayBuffers: oldestPerGateway("buffer", gatewayOnly("buffer", "buffered", buffers, (m) => (m.type === "Buffer" ? m : undefined), trafficByGateway, reporter), trafficByGateway, reporter),
    routeExternalAuths: resolvePerRule("extAuth", externalAuths, trafficByRoute, routes, reporter, (m) => m),
    gatewayExternalAuths: oldestPerGateway("extAuth", gatewayOnly("extAuth", "checked", externalAuths, (m) => (m.type === "ExternalAuth" ? m : undefined), trafficByGateway, reporter), trafficByGateway, reporter),
    routeBasicAuths: resolvePerRule("basicAuth", basicAuths, trafficByRoute, routes, reporter, (m) => m),
    gatewayBasicAuths: oldestPerGateway("basicAuth", gatewayOnly("basicAuth", "asked for credentials", basicAuths, (m) => (m.type === "BasicAuth" ? m : undefined), trafficByGateway, reporter), trafficByGateway, reporter),
    routeApiKeyAuths: resolvePerRule("apiKeyAuth", apiKeyAuths, trafficByRoute, routes, reporter, (m) => m),
    gatewayApiKeyAuths: oldestPerGateway("apiKeyAuth", gatewayOnly("apiKeyAuth", "asked for an API key", apiKeyAuths, (m) => (m.type === "ApiKeyAuth" ? m : undefined), trafficByGateway, reporter), trafficByGateway, reporter),
    routeJwtAuths: resolvePerRule("jwtAuth", jwtAuths, trafficByRoute, routes, reporter, (m) => m),
    gatewayJwtAuths: oldestPerGateway("jwtAuth", gatewayOnly("jwtAuth", "asked for a token", jwtAuths, (m) => (m.type === "JwtAuth" ? m : undefined), trafficByGateway, reporter), trafficByGateway, reporter),
  };
}

// ---------------------------------------------------------------- GEP TelemetryPolicy

function gepPolicy(p: Resource, reporter: Reporter): { tracing: TracingModel | undefined; accessLogs: AccessLogModel | undefined; metrics: MetricsModel | undefined } {
  const t = p.spec["tracing"] as Record<string, any> | undefined;
  let tracing: TracingModel | undefined;
  if (t !== undefined) {
    const at = ["spec", "tracing"];
    const ratio = fractionRatio(p, reporter, t["samplingRate"], [...at, "samplingRate"], "a sampling rate");
    const pb = t["parentBasedSampling"] as Record<string, any> | undefined;
    const parentRatio = fractionRatio(p, reporter, pb?.["samplingRate"], [...at, "parentBasedSampling", "samplingRate"], "a sampling rate");
    const sampling: SamplingModel | undefined =
      t["samplingRate"] === undefined && pb === undefined
        ? undefined
        : { kind: "fraction", ratio, parentBased: pb === undefined ? true : isOn(pb["mode"]), parentRatio: parentRatio ?? 1 };
    tracing = {
      enabled: isOn(t["mode"]),
      provider: gepProvider(p, reporter, t["provider"], [...at, "provider"]),
      serviceName: undefined,
      sampling,
      attributes: gepAttributes(p, reporter, t["customAttributes"], [...at, "customAttributes"]),
      upstreamSpans: true,
      source: reporter.source(p, at),
    };
  }
  const m = p.spec["metrics"] as Record<string, any> | undefined;
  const metrics: MetricsModel | undefined =
    m === undefined
      ? undefined
      : {
          enabled: isOn(m["mode"]),
          overrides: ((m["overrides"] ?? []) as Record<string, any>[]).map((o, i) => ({
            name: String(o["name"]),
            attributes: gepAttributes(p, reporter, o["attributes"], ["spec", "metrics", "overrides", i, "attributes"]),
          })),
          source: reporter.source(p, ["spec", "metrics"]),
        };
  const l = p.spec["accessLogs"] as Record<string, any> | undefined;
  let accessLogs: AccessLogModel | undefined;
  if (l !== undefined) {
    const at = ["spec", "accessLogs"];
    accessLogs = {
      enabled: isOn(l["mode"]),
      sink: { kind: "otlp", target: undefined },
      filter: celFilter(p, reporter, l["matches"], [...at, "matches"]),
      fields: gepLogFields(p, reporter, l["fields"], [...at, "fields"]),
      body: undefined,
      logName: undefined,
      attributes: [],
      resourceAttributes: {},
      source: reporter.source(p, at),
    };
  }
  return { tracing, accessLogs, metrics };
}

function gepProvider(p: Resource, reporter: Reporter, provider: Record<string, any> | undefined, at: Segments): ExporterTargetModel | undefined {
  const endpoint = provider?.["endpoint"] as string | undefined;
  if (endpoint === undefined) return undefined;
  const withScheme = /^[a-z][a-z0-9+.-]*:\/\//i.test(endpoint) ? endpoint : `http://${endpoint}`;
  let url: URL;
  try {
    url = new URL(withScheme);
  } catch {
    // Shown as written, less any credentials: a password holding `/` is what makes it unparseable.
    const shown = redactUrlCredentials(withScheme).slice(withScheme.length - endpoint.length);
    reporter.error(p, [...at, "endpoint"], `"${shown}" is not a host:port or URL`, "write e.g. otel-collector.monitoring.svc:4317");
    return undefined;
  }
  if (url.protocol !== "http:" && url.protocol !== "https:") {
    reporter.error(p, [...at, "endpoint"], `unsupported scheme ${url.protocol}`, "use http:// or https://, or host:port");
    return undefined;
  }
  const protocol = (provider?.["protocol"] as ExporterTargetModel["protocol"] | undefined) ?? (url.port === "4318" ? "http/protobuf" : "grpc");
  return { endpoint: withScheme.replace(/\/$/, ""), protocol, source: reporter.source(p, [...at, "endpoint"]) };
}

function celFilter(p: Resource, reporter: Reporter, expr: string | undefined, at: Segments): AccessLogModel["filter"] {
  if (expr === undefined) return undefined;
  const compiled = compileAccessLogFilter(expr);
  if (!compiled.ok) {
    reporter.errorInString(p, at, compiled.offset, `invalid CEL filter: ${compiled.message}`, "variables: request, response, connection, upstream, route (see docs/configuration.md)");
    return undefined;
  }
  const usable = checkMatchesPatterns(p, reporter, at, compiled.program, "warning");
  return usable ? { expression: expr, source: reporter.source(p, at) } : undefined;
}

// ---------------------------------------------------------------- kgateway listener policies

interface KgLimits {
  readonly xffNumTrustedHops: number | undefined;
  readonly useRemoteAddress: boolean | undefined;
  readonly trustForwardedHeaders: boolean | undefined;
  readonly maxRequestHeadersKb: number | undefined;
  readonly idleTimeout: number | undefined;
  readonly requestHeadersTimeout: number | undefined;
  readonly requestTimeout: number | undefined;
  readonly streamIdleTimeout: number | undefined;
  readonly maxConnections: number | undefined;
  readonly maxRequestsPerConnection: number | undefined;
  readonly maxHeadersCount: number | undefined;
  /** The health check's path (kgateway's `healthCheck.path`). */
  readonly healthCheck: string | undefined;
  readonly serverHeaderTransformation: ListenerSettings["serverHeader"] | undefined;
  readonly serverName: string | undefined;
  readonly stripHostPortMode: "MatchingPort" | "AnyPort" | undefined;
  readonly skipXFFAppend: boolean | undefined;
  readonly acceptHttp10: boolean | undefined;
  readonly defaultHostForHttp10: string | undefined;
  readonly generateRequestId: boolean | undefined;
  readonly earlyRequestHeaderModifier: HeaderModifierModel | undefined;
}

interface KgListenerPolicy {
  readonly base: Segments;
  readonly tracing: TracingModel | undefined;
  readonly accessLogs: AccessLogModel[] | undefined;
  readonly limits: KgLimits;
}

function kgListenerPolicy(p: Resource, base: Segments, backends: BackendResolver, reporter: Reporter): KgListenerPolicy {
  let s: Record<string, any> = p.spec;
  for (const seg of base.slice(1)) s = (s?.[seg as string] ?? undefined) as Record<string, any>;
  s = s ?? {};
  const t = s["tracing"] as Record<string, any> | undefined;
  let tracing: TracingModel | undefined;
  if (t !== undefined) {
    const at = [...base, "tracing"];
    const otel = t["provider"]?.["openTelemetry"] as Record<string, any> | undefined;
    const provider = otel === undefined ? undefined : backends.exporter(p, KGATEWAY_GROUP, otel["grpcService"]["backendRef"], [...at, "provider", "openTelemetry", "grpcService", "backendRef"]);
    const percentFields = ["clientSampling", "randomSampling", "overallSampling"].filter((f) => t[f] !== undefined);
    const anySampling = percentFields.length > 0;
    // kgateway v2.1's sampler: with one, Envoy's OpenTelemetry tracer takes its decision instead of its own.
    const alwaysOn = otel?.["sampler"]?.["alwaysOnConfig"] !== undefined;
    if (alwaysOn) for (const f of percentFields) warnNoEffect(p, reporter, [...at, f], f, "the provider's AlwaysOn sampler traces every request, as Envoy's tracer lets a configured sampler decide");
    if (t["verbose"] === true) warnNoEffect(p, reporter, [...at, "verbose"], "verbose", "spans carry no per-event annotations");
    if (t["maxPathTagLength"] !== undefined) warnNoEffect(p, reporter, [...at, "maxPathTagLength"], "maxPathTagLength", "url.path and url.full are never truncated; OTEL_SPAN_ATTRIBUTE_VALUE_LENGTH_LIMIT bounds every attribute");
    if (otel !== undefined) warnOtlpServiceFields(p, otel["grpcService"], [...at, "provider", "openTelemetry", "grpcService"], reporter, "TRACES");
    warnOtherResourceDetectors(p, reporter, otel?.["resourceDetectors"] as readonly Record<string, unknown>[] | undefined, [...at, "provider", "openTelemetry", "resourceDetectors"]);
    tracing = {
      enabled: true,
      provider,
      serviceName: otel?.["serviceName"] as string | undefined,
      sampling: alwaysOn ? ALWAYS_ON : anySampling ? { kind: "percentages", client: t["clientSampling"] ?? 100, random: t["randomSampling"] ?? 100, overall: t["overallSampling"] ?? 100 } : undefined,
      attributes: kgatewayAttributes(p, reporter, t["attributes"], [...at, "attributes"]),
      upstreamSpans: t["spawnUpstreamSpan"] ?? true,
      source: reporter.source(p, at),
    };
  }
  const logs = s["accessLog"] as Record<string, any>[] | undefined;
  const accessLogs = logs?.map((l, i) => kgAccessLog(p, l, [...base, "accessLog", i], backends, reporter)).filter((l): l is AccessLogModel => l !== undefined);
  const dur = (field: string, allowZero: boolean): number | undefined => {
    const v = s[field] as string | undefined;
    if (v === undefined) return undefined;
    const ms = parseDuration(v);
    if (ms === 0 && !allowZero) reporter.error(p, [...base, field], `${field} must be greater than 0`, "e.g. 5s");
    return ms;
  };
  const limits: KgLimits = {
    xffNumTrustedHops: s["xffNumTrustedHops"],
    useRemoteAddress: s["useRemoteAddress"],
    trustForwardedHeaders: s["trustForwardedHeaders"],
    maxRequestHeadersKb: s["maxRequestHeadersKb"],
    idleTimeout: dur("idleTimeout", false),
    requestHeadersTimeout: dur("requestHeadersTimeout", false),
    requestTimeout: dur("requestTimeout", true),
    streamIdleTimeout: dur("streamIdleTimeout", true),
    maxConnections: s["maxConnections"],
    maxRequestsPerConnection: s["maxRequestsPerConnection"],
    maxHeadersCount: s["maxHeadersCount"],
    healthCheck: s["healthCheck"]?.["path"],
    serverHeaderTransformation: s["serverHeaderTransformation"],
    serverName: s["serverName"],
    stripHostPortMode: s["stripHostPortMode"],
    skipXFFAppend: s["skipXFFAppend"],
    acceptHttp10: s["acceptHttp10"],
    generateRequestId: s["generateRequestId"],
    defaultHostForHttp10: defaultHost(p, reporter, s["defaultHostForHttp10"], [...base, "defaultHostForHttp10"]),
    earlyRequestHeaderModifier: s["earlyRequestHeaderModifier"] === undefined ? undefined : headerModifier(p, reporter, s["earlyRequestHeaderModifier"], [...base, "earlyRequestHeaderModifier"], true, true),
  };
  if (s["preserveExternalRequestId"] === false) warnNoEffect(p, reporter, [...base, "preserveExternalRequestId"], "preserveExternalRequestId: false", "a client's X-Request-Id is always kept (Envoy replaces it on edge requests)");
  const uuid = s["uuidRequestIdConfig"] as Record<string, boolean | undefined> | undefined;
  for (const field of ["packTraceReason", "useRequestIdForTraceSampling"]) {
    if (uuid?.[field] === true) warnNoEffect(p, reporter, [...base, "uuidRequestIdConfig", field], field, "X-Request-Id is a plain random UUID, and trace sampling never reads it");
  }
  if (s["http2ProtocolOptions"] !== undefined) warnNoEffect(p, reporter, [...base, "http2ProtocolOptions"], "http2ProtocolOptions", "listeners serve HTTP/1.1; a client's HTTP/2 preface is refused with 505");
  warnUnmatchableHealthCheckPath(p, reporter, limits.healthCheck, [...base, "healthCheck", "path"]);
  warnUpgradesNotForwarded(p, reporter, s["upgradeConfig"]?.["enabledUpgrades"] as readonly string[] | undefined, [...base, "upgradeConfig", "enabledUpgrades"]);
  if (s["preserveHttp1HeaderCase"] === true) warnNoEffect(p, reporter, [...base, "preserveHttp1HeaderCase"], "preserveHttp1HeaderCase", "header names are forwarded lower-case both ways, as HTTP/2 and Envoy's default write them");
  if (limits.trustForwardedHeaders === false && limits.useRemoteAddress === false) {
    reporter.error(p, [...base, "useRemoteAddress"], "useRemoteAddress: false trusts X-Forwarded-For, but trustForwardedHeaders is false", "set only one of them");
  }
  if (limits.trustForwardedHeaders === false && (limits.xffNumTrustedHops ?? 0) > 0) {
    reporter.error(p, [...base, "xffNumTrustedHops"], "xffNumTrustedHops needs trusted forwarding headers, but trustForwardedHeaders is false", "remove one of them");
  }
  return { base, tracing, accessLogs, limits };
}

/**
 * kgateway adds `enabledUpgrades` to the upgrades its Envoy allows. Tollgate forwards every
 * Upgrade protocol a route's upstream may accept already, but h2c (declined, the request goes
 * on as HTTP/1.1) and CONNECT (refused with 501): those two are warned about.
 */
function warnUpgradesNotForwarded(p: Resource, reporter: Reporter, upgrades: readonly string[] | undefined, at: Segments): void {
  upgrades?.forEach((upgrade, i) => {
    const name = upgrade.trim().toLowerCase();
    if (name === "connect") reporter.warn(p, [...at, i], "CONNECT is not tunnelled by Tollgate: a CONNECT request is answered 501", "remove it; other upgrades need no entry");
    else if (name === "h2c") reporter.warn(p, [...at, i], "an h2c upgrade is declined by Tollgate: the request goes upstream as HTTP/1.1", "remove it; other upgrades need no entry");
  });
}

/**
 * Envoy's `environmentResourceDetector` reads OTEL_RESOURCE_ATTRIBUTES, which Tollgate always
 * applies; any other detector (Dynatrace, per-process) has no Tollgate counterpart.
 */
function warnOtherResourceDetectors(p: Resource, reporter: Reporter, detectors: readonly Record<string, unknown>[] | undefined, at: Segments): void {
  detectors?.forEach((detector, i) => {
    const names = Object.keys(detector);
    if (names.length === 1 && names[0] === "environmentResourceDetector") return;
    warnNoEffect(p, reporter, [...at, i], names.join(", ") || "an empty resource detector", "Tollgate's resource is OTEL_RESOURCE_ATTRIBUTES, the K8S_* variables and the policy's serviceName (environmentResourceDetector is what it always does)");
  });
}

/** defaultHostForHttp10, whose port the schema leaves up to 99999: a Host every request without one would be refused for is an error. */
function defaultHost(p: Resource, reporter: Reporter, value: string | undefined, at: Segments): string | undefined {
  if (value === undefined) return undefined;
  const port = /:(\d+)$/.exec(value)?.[1];
  if (port !== undefined && Number(port) > 65535) {
    reporter.error(p, at, `port ${port} is out of range (1-65535)`, "give the host a port from 1 to 65535, or none");
    return undefined;
  }
  return value;
}

/** A kgateway field Tollgate reads but cannot honour: the file loads, and says what happens instead. */
function warnNoEffect(p: Resource, reporter: Reporter, at: Segments, field: string, instead: string): void {
  reporter.warn(p, at, `${field} has no effect in Tollgate: ${instead}`, undefined);
}

function kgAccessLog(p: Resource, l: Record<string, any>, at: Segments, backends: BackendResolver, reporter: Reporter): AccessLogModel | undefined {
  const otel = l["openTelemetry"] as Record<string, any> | undefined;
  const file = l["fileSink"] as Record<string, any> | undefined;
  const service = l["grpcService"] as Record<string, any> | undefined;
  const sinks = [otel === undefined ? [] : ["openTelemetry"], file === undefined ? [] : ["fileSink"], service === undefined ? [] : ["grpcService"]].flat();
  if (sinks.length !== 1) {
    reporter.error(
      p,
      at,
      sinks.length === 0 ? "an access log needs openTelemetry, fileSink or grpcService" : `an access log has one of openTelemetry, fileSink and grpcService, not ${sinks.join(" and ")}`,
      sinks.length === 0 ? "add openTelemetry (export over OTLP), fileSink (write to stdout) or grpcService (Envoy's access log service)" : "split it into one access log for each",
    );
    return undefined;
  }
  // A lone celFilter is the CEL filter TelemetryPolicy's `matches` is too; any other condition is kgateway's.
  const given = l["filter"] as Record<string, unknown> | undefined;
  const onlyCel = given === undefined || (Object.keys(given).length === 1 && given["celFilter"] !== undefined);
  const filter = onlyCel ? celFilter(p, reporter, l["filter"]?.["celFilter"]?.["match"], [...at, "filter", "celFilter", "match"]) : undefined;
  const condition = onlyCel ? undefined : accessLogCondition(p, given, [...at, "filter"], reporter);
  if (file !== undefined) {
    const body = envoyBody(p, reporter, file["stringFormat"], [...at, "fileSink", "stringFormat"]);
    const json = file["jsonFormat"] as Record<string, unknown> | undefined;
    if (json !== undefined && body !== undefined) {
      reporter.error(p, [...at, "fileSink", "jsonFormat"], "a fileSink has either stringFormat or jsonFormat, not both", "keep one of them");
    }
    const jsonBody = json === undefined ? undefined : checkJsonFormat(p, reporter, json, [...at, "fileSink", "jsonFormat"]);
    return {
      enabled: true,
      sink: { kind: "stdout" },
      filter,
      ...(condition === undefined ? {} : { condition }),
      fields: [],
      body: jsonBody === undefined ? body : undefined,
      ...(jsonBody === undefined ? {} : { jsonBody }),
      logName: undefined,
      attributes: [],
      resourceAttributes: {},
      source: reporter.source(p, at),
    };
  }
  if (service !== undefined) {
    const sat = [...at, "grpcService"];
    const als = accessLogService(p, service, sat, backends, reporter);
    if (als === undefined) return undefined;
    return {
      enabled: true,
      sink: { kind: "grpc", target: als },
      filter,
      ...(condition === undefined ? {} : { condition }),
      fields: [],
      body: undefined,
      logName: als.logName,
      attributes: [],
      resourceAttributes: {},
      source: reporter.source(p, at),
    };
  }
  const oat = [...at, "openTelemetry"];
  const grpc = otel!["grpcService"] as Record<string, any>;
  warnOtlpServiceFields(p, grpc, [...oat, "grpcService"], reporter);
  const target = backends.exporter(p, KGATEWAY_GROUP, grpc["backendRef"], [...oat, "grpcService", "backendRef"]);
  // kgateway documents logName next to grpcService; some guides nest it inside. Accept both.
  const outer = otel!["logName"] as string | undefined;
  const inner = grpc["logName"] as string | undefined;
  if (outer !== undefined && inner !== undefined && outer !== inner) {
    reporter.error(p, [...oat, "grpcService", "logName"], `logName is set twice with different values ("${outer}" and "${inner}")`, "keep one");
  }
  const attributes = keyValues(p, reporter, otel!["attributes"], [...oat, "attributes"]);
  const resourceAttributes: Record<string, string | number | boolean> = {};
  for (const a of keyValues(p, reporter, otel!["resourceAttributes"], [...oat, "resourceAttributes"])) {
    if (a.value.from === "literal") resourceAttributes[a.name] = a.value.typed ?? a.value.value;
  }
  return {
    enabled: true,
    sink: { kind: "otlp", target },
    filter,
    ...(condition === undefined ? {} : { condition }),
    fields: [],
    body: envoyBody(p, reporter, otel!["body"], [...oat, "body"]),
    logName: outer ?? inner,
    attributes,
    resourceAttributes,
    source: reporter.source(p, at),
  };
}

function envoyBody(p: Resource, reporter: Reporter, body: string | undefined, at: Segments): string | undefined {
  if (body === undefined) return undefined;
  reportTemplateErrors(p, reporter, parseEnvoyFormat(body), at);
  return body;
}

function keyValues(p: Resource, reporter: Reporter, list: { values?: { key: string; value: Record<string, unknown> }[] } | undefined, at: Segments): CustomAttributeModel[] {
  return (list?.values ?? []).flatMap((kv, i) => {
    const vals = Object.values(kv.value).filter((v) => v !== undefined);
    if (vals.length !== 1) {
      reporter.error(p, [...at, "values", i, "value"], "a value needs exactly one of stringValue, boolValue, intValue, doubleValue", vals.length === 0 ? "add one, e.g. stringValue: edge" : "keep one of them");
      return [];
    }
    const raw = vals[0];
    const text = String(raw);
    if (parseEnvoyFormat(text).parts.some((part) => part.kind !== "literal")) {
      reporter.warn(p, [...at, "values", i, "value"], "command operators in attribute values are not rendered; the value is used as written", "use body for per-request values");
    }
    const typed = typeof raw === "number" || typeof raw === "boolean" ? raw : undefined;
    return [{ name: kv.key, value: typed === undefined ? { from: "literal" as const, value: text } : { from: "literal" as const, value: text, typed } }];
  });
}

function listenerSettings(limit: <K extends keyof KgLimits>(field: K) => KgLimits[K] | undefined): ListenerSettings {
  const hops = limit("xffNumTrustedHops");
  const explicitTrust = limit("trustForwardedHeaders");
  const useRemote = limit("useRemoteAddress");
  const d = DEFAULT_LISTENER_SETTINGS;
  return {
    trustForwardedHeaders: explicitTrust ?? (useRemote === false || (hops ?? 0) > 0),
    xffNumTrustedHops: hops ?? d.xffNumTrustedHops,
    skipXffAppend: limit("skipXFFAppend") ?? d.skipXffAppend,
    maxRequestHeadersBytes: (limit("maxRequestHeadersKb") ?? d.maxRequestHeadersBytes / 1024) * 1024,
    requestHeadersTimeoutMs: limit("requestHeadersTimeout") ?? d.requestHeadersTimeoutMs,
    requestReceiveTimeoutMs: limit("requestTimeout") ?? d.requestReceiveTimeoutMs,
    keepAliveTimeoutMs: limit("idleTimeout") ?? d.keepAliveTimeoutMs,
    streamIdleTimeoutMs: limit("streamIdleTimeout") ?? d.streamIdleTimeoutMs,
    maxConnections: limit("maxConnections") ?? d.maxConnections,
    maxRequestsPerConnection: limit("maxRequestsPerConnection") ?? d.maxRequestsPerConnection,
    maxHeadersCount: limit("maxHeadersCount") ?? d.maxHeadersCount,
    healthCheckPath: limit("healthCheck") ?? d.healthCheckPath,
    // kgateway's Envoy overwrites by default: a name given alone is written on every answer there.
    serverHeader: limit("serverHeaderTransformation") ?? (limit("serverName") === undefined ? d.serverHeader : "Overwrite"),
    serverName: limit("serverName") ?? d.serverName,
    stripHostPort: limit("stripHostPortMode") ?? d.stripHostPort,
    earlyHeaders: limit("earlyRequestHeaderModifier") ?? d.earlyHeaders,
    generateRequestId: limit("generateRequestId") ?? d.generateRequestId,
    acceptHttp10: limit("acceptHttp10") ?? d.acceptHttp10,
    defaultHostForHttp10: limit("defaultHostForHttp10") ?? d.defaultHostForHttp10,
  };
}

// ---------------------------------------------------------------- TrafficPolicy (route tracing)

const MAX_ROUTE_ATTRIBUTES = 16;

function resolveRouteTracing(
  byRoute: ReadonlyMap<string, readonly Attached[]>,
  routes: readonly RouteDraft[],
  telemetry: ReadonlyMap<string, GatewayTelemetryModel>,
  reporter: Reporter,
): Map<string, RouteTracingModel> {
  const out = new Map<string, RouteTracingModel>();
  const routeByKey = new Map(routes.map((r) => [key(r.resource), r]));
  for (const [rk, attached] of byRoute) {
    const withTracing = attached.filter((a) => a.policy.spec["tracing"] !== undefined);
    for (const a of withTracing) {
      if (a.sections === undefined) continue;
      reporter.warn(a.policy, [...a.sections.at, "sectionName"], "sectionName is not supported for tracing; the policy's tracing applies to the whole HTTPRoute", "remove sectionName, or move tracing to a policy without it");
    }
    const winner = withTracing[0];
    if (winner === undefined) continue;
    for (const loser of withTracing.slice(1)) {
      reporter.warn(loser.policy, ["spec", "tracing"], `HTTPRoute ${rk} already gets tracing from TrafficPolicy ${key(winner.policy)}, which is older; this one is ignored for it`, undefined);
    }
    const p = winner.policy;
    const t = p.spec["tracing"] as Record<string, any>;
    const at = ["spec", "tracing"];
    const others = Object.keys(t).filter((k) => k !== "disable");
    if (t["disable"] !== undefined) {
      if (others.length > 0) reporter.error(p, [...at, "disable"], `disable is exclusive with every other tracing field (found ${others.join(", ")})`, "remove disable, or the other fields");
      out.set(rk, { disabled: true, sampling: undefined, attributes: [], source: reporter.source(p, at) });
      continue;
    }
    const own = kgatewayAttributes(p, reporter, t["attributes"], [...at, "attributes"]);
    const route = routeByKey.get(rk)!;
    const parentAttrs = route.parents.map((parent) => telemetry.get(parent.gatewayKey)?.tracing?.attributes ?? []);
    const listenerAttrs = parentAttrs[0] ?? [];
    if (parentAttrs.some((a) => JSON.stringify(a) !== JSON.stringify(listenerAttrs))) {
      reporter.warn(p, [...at, "attributes"], `HTTPRoute ${rk} attaches to gateways with different tracing attributes; the route's attributes are merged with those of its first parent`, undefined);
    }
    const merged = new Map<string, CustomAttributeModel>(listenerAttrs.map((a) => [a.name, a]));
    for (const a of own) merged.set(a.name, a);
    if (merged.size > MAX_ROUTE_ATTRIBUTES) {
      reporter.error(p, [...at, "attributes"], `with the listener's attributes the route has ${merged.size} span attributes; at most ${MAX_ROUTE_ATTRIBUTES} are allowed`, "drop some attributes");
    }
    const anySampling = ["clientSampling", "randomSampling", "overallSampling"].some((f) => t[f] !== undefined);
    out.set(rk, {
      disabled: false,
      sampling: anySampling ? { client: t["clientSampling"], random: t["randomSampling"], overall: t["overallSampling"] } : undefined,
      attributes: [...merged.values()],
      source: reporter.source(p, at),
    });
  }
  return out;
}

// ---------------------------------------------------------------- TrafficPolicy (per rule)

/** Each TrafficPolicy's `section`, read once whatever it targets. */
function sectionModels<M>(policies: readonly Resource[], section: string, read: (p: Resource, cfg: Record<string, unknown>) => M | undefined): Map<Resource, M> {
  const models = new Map<Resource, M>();
  for (const p of policies) {
    const cfg = p.spec[section] as Record<string, unknown> | undefined;
    if (cfg === undefined) continue;
    const model = read(p, cfg);
    if (model !== undefined) models.set(p, model);
  }
  return models;
}

/**
 * The TrafficPolicies' `rateLimit.local` and `rateLimit.global`, each checked once whatever it
 * targets. They are resolved apart, as kgateway merges them: the oldest policy with a local
 * limit and the oldest with a global one may be two policies.
 */
interface RateLimitSpecs {
  readonly local: ReadonlyMap<Resource, LocalRateLimitSpec>;
  readonly global: ReadonlyMap<Resource, GlobalRateLimitSpec>;
}

function rateLimitSpecs(policies: readonly Resource[], extensions: GatewayExtensions, reporter: Reporter): RateLimitSpecs {
  const local = new Map<Resource, LocalRateLimitSpec>();
  const global = new Map<Resource, GlobalRateLimitSpec>();
  for (const p of policies) {
    const cfg = p.spec["rateLimit"] as Record<string, unknown> | undefined;
    if (cfg === undefined) continue;
    const localSpec = localRateLimit(p, reporter, cfg);
    if (localSpec !== undefined) local.set(p, localSpec);
    const globalCfg = cfg["global"] as Record<string, unknown> | undefined;
    const globalSpec = globalCfg === undefined ? undefined : globalRateLimit(p, reporter, globalCfg, extensions);
    if (globalSpec !== undefined) global.set(p, globalSpec);
  }
  return { local, global };
}

/**
 * kgateway's TrafficPolicy `rateLimit` on routes. Each rule a local limit covers gets a bucket
 * of its own, rather than one the route's rules would share; `local: {}` leaves the rule
 * without a local limit, its Gateway's included. A global limit asks its service per request.
 */
function resolveRouteRateLimits(
  specs: RateLimitSpecs,
  byRoute: ReadonlyMap<string, readonly Attached[]>,
  routes: readonly RouteDraft[],
  reporter: Reporter,
): Map<string, Map<number, readonly FilterModel[]>> {
  const locals = resolvePerRule("rateLimit.local", specs.local, byRoute, routes, reporter, (local, routeKey, rule): FilterModel => {
    if (local === "off") return { type: "NoLocalRateLimit" };
    return { type: "LocalRateLimit", ...local, routeName: routeKey, ruleName: rule.name ?? `rule-${rule.index}`, bucketKey: `${local.policyName} ${routeKey} ${rule.name ?? matchesKey(rule)}` };
  });
  const globals = resolvePerRule("rateLimit.global", specs.global, byRoute, routes, reporter, (global, routeKey, rule): FilterModel => globalRateLimitModel(global, routeKey, rule.name ?? `rule-${rule.index}`));
  const out = new Map<string, Map<number, FilterModel[]>>();
  for (const byRule of [locals, globals]) {
    for (const [routeKey, models] of byRule) {
      let merged = out.get(routeKey);
      if (merged === undefined) out.set(routeKey, (merged = new Map()));
      for (const [index, model] of models) merged.set(index, [...(merged.get(index) ?? []), model]);
    }
  }
  return out;
}

export function globalRateLimitModel(spec: GlobalRateLimitSpec, routeName: string, ruleName: string): GlobalRateLimitModel {
  const provider = spec.provider;
  return {
    type: "GlobalRateLimit",
    policyName: spec.policyName,
    extension: provider.name,
    routeName,
    ruleName,
    backendKey: provider.backendKey,
    domain: provider.domain,
    descriptors: spec.descriptors,
    failOpen: provider.failOpen,
    timeoutMs: provider.timeoutMs,
    rateLimitHeaders: provider.rateLimitHeaders,
  };
}

/**
 * The models of `section` a Gateway can take, null for a `disable: {}`. It turns off what a
 * higher level gives: through a listener a policy targets by sectionName, the Gateway's
 * section. A Gateway has no higher level, so there it is warned about and left out (it would
 * otherwise, as the oldest, keep a newer policy's section off the Gateway).
 */
function gatewayOnly<M, G extends M>(section: string, exempted: string, models: ReadonlyMap<Resource, M>, enabled: (model: M) => G | undefined, byGateway: ReadonlyMap<string, readonly Attached[]>, reporter: Reporter): Map<Resource, G | null> {
  const kept = new Map<Resource, G | null>();
  for (const [policy, model] of models) kept.set(policy, enabled(model) ?? null);
  for (const [gk, attached] of byGateway) {
    if (isListenerScope(gk)) continue;
    for (const a of attached) {
      if (kept.get(a.policy) !== null) continue;
      // extAuth may say it as kgateway v2.0 did, `enablement: DisableAll`.
      const field = (a.policy.spec[section] as Record<string, unknown>)["disable"] === undefined && section === "extAuth" ? "enablement" : "disable";
      reporter.warn(a.policy, ["spec", section, field], `${section}.${field} turns off nothing on Gateway ${gk}: a Gateway's ${section} is the one a route's, or a listener's, disable turns off`, `target the HTTPRoutes whose rules should not be ${exempted}, or the listener by sectionName`);
    }
  }
  return kept;
}

/**
 * The compressions of a Gateway, null for one whose halves are all disabled: as a `disable`
 * in gatewayOnly, it turns off the Gateway's compression through a listener, and nothing on
 * the Gateway itself.
 */
function gatewayCompressionsOf(models: ReadonlyMap<Resource, CompressionModel>, byGateway: ReadonlyMap<string, readonly Attached[]>, reporter: Reporter): Map<Resource, CompressionModel | null> {
  const kept = new Map([...models].map(([p, m]) => [p, m.response !== undefined || m.request !== undefined ? m : null]));
  for (const [gk, attached] of byGateway) {
    if (isListenerScope(gk)) continue;
    for (const a of attached) {
      if (kept.get(a.policy) !== null) continue;
      reporter.warn(a.policy, ["spec", "compression"], `compression with every half disabled turns off nothing on Gateway ${gk}: a Gateway's compression is the one a route's, or a listener's, disable turns off`, "target the HTTPRoutes whose rules should not be compressed, or the listener by sectionName");
    }
  }
  return kept;
}

/** TrafficPolicy sections kgateway honours on routes alone: on a Gateway they are warned about and ignored. */
function warnRouteOnlySections(byGateway: ReadonlyMap<string, readonly Attached[]>, reporter: Reporter): void {
  for (const [gk, attached] of byGateway) {
    for (const a of attached) {
      for (const section of ["autoHostRewrite", "consistentHash", "tracing", "urlRewrite"]) {
        if (a.policy.spec[section] === undefined) continue;
        reporter.warn(a.policy, a.at, `${section} does not apply to a Gateway (only acl, apiKeyAuth, basicAuth, buffer, compression, cors, csrf, extAuth, faultInjection, headerModifiers, jwtAuth, rateLimit, rbac, retry and timeouts do); it is ignored for Gateway ${gk}`, `target the HTTPRoutes for ${section}`);
      }
    }
  }
}

/**
 * kgateway's TrafficPolicy `rateLimit.local` on a Gateway: one bucket for all the Gateway's
 * traffic that no route-level policy limits (or exempts) itself.
 */
function resolveGatewayRateLimits(winners: ReadonlyMap<string, LocalRateLimitSpec | null>): Map<string, LocalRateLimitModel | null> {
  const out = new Map<string, LocalRateLimitModel | null>();
  for (const [gk, local] of winners) {
    // `local: {}` through a listener turns the Gateway's limit off there; on a Gateway it limits nothing.
    if (local === "off" || local === null) {
      if (isListenerScope(gk)) out.set(gk, null);
    } else out.set(gk, { type: "LocalRateLimit", ...local, routeName: "", ruleName: "", bucketKey: `${local.policyName} Gateway ${gk}` });
  }
  return out;
}

/**
 * kgateway's TrafficPolicy `rateLimit.global` on a Gateway: every rule served through it that
 * no route-level policy gives a global limit asks the Gateway's service.
 */
function resolveGatewayGlobalRateLimits(winners: ReadonlyMap<string, GlobalRateLimitSpec>): Map<string, GlobalRateLimitModel> {
  const out = new Map<string, GlobalRateLimitModel>();
  for (const [gk, global] of winners) out.set(gk, globalRateLimitModel(global, "", ""));
  return out;
}

/**
 * One TrafficPolicy section per Gateway, and per listener a policy targets by sectionName:
 * the oldest policy that sets it wins (`local: {}` included). A null model (a `disable`) wins
 * only through a listener, where it turns the Gateway's section off.
 */
function oldestPerGateway<M>(section: string, models: ReadonlyMap<Resource, M>, byGateway: ReadonlyMap<string, readonly Attached[]>, reporter: Reporter): Map<string, M> {
  const out = new Map<string, M>();
  for (const [gk, attached] of byGateway) {
    const listener = isListenerScope(gk);
    let winner: Resource | undefined;
    for (const a of attached) {
      const model = models.get(a.policy);
      if (model === undefined || (model === null && !listener)) continue;
      if (winner !== undefined) {
        reporter.warn(a.policy, ["spec", ...section.split(".")], `Gateway ${gk} already gets ${section} from TrafficPolicy ${key(winner)}, which is older; this one is ignored for it`, undefined);
        continue;
      }
      winner = a.policy;
      out.set(gk, model);
    }
  }
  return out;
}

/**
 * What names an unnamed rule's bucket: its matches, which a reload that inserts or reorders
 * rules does not change, where its index would hand one rule's tokens to another.
 */
function matchesKey(rule: RuleModel): string {
  return JSON.stringify(rule.matches.map((m) => [m.path.type, m.path.value, m.method ?? "", m.headers, m.queryParams]));
}

/** The per-rule sections of a TrafficPolicy, in the order warnings name them. */
const PER_RULE_SECTIONS = ["acl", "apiKeyAuth", "autoHostRewrite", "basicAuth", "buffer", "compression", "consistentHash", "cors", "csrf", "extAuth", "faultInjection", "headerModifiers", "jwtAuth", "rateLimit", "rbac", "retry", "timeouts", "urlRewrite"] as const;

/**
 * A targetRef's sectionName that names no rule of the route, warned once per policy
 * whatever per-rule sections it sets (tracing has its own warning: it covers whole routes).
 */
function warnUnknownRules(byRoute: ReadonlyMap<string, readonly Attached[]>, routes: readonly RouteDraft[], reporter: Reporter): void {
  const routeByKey = new Map(routes.map((r) => [key(r.resource), r]));
  for (const [rk, attached] of byRoute) {
    const rules = routeByKey.get(rk)!.rules;
    for (const a of attached) {
      const set = PER_RULE_SECTIONS.filter((section) => a.policy.spec[section] !== undefined);
      if (a.sections === undefined || set.length === 0) continue;
      for (const [name, at] of a.sections.names) {
        if (rules.some((rule) => rule.name === name)) continue;
        const what = set.length === 1 ? `${set[0]} applies` : `${set.join(" and ")} apply`;
        // A misspelt rule name would leave the rule without the access control it was meant to get.
        const severity = set.some((section) => (ACCESS_CONTROL_SECTIONS as readonly string[]).includes(section)) ? "error" : "warning";
        reporter.report(severity, a.policy, [...at, "sectionName"], `HTTPRoute ${rk} has no rule named "${name}"; ${what} to no rule through it`, `name a rule of the route: ${rules.map((r) => r.name).filter((n) => n !== undefined).join(", ") || "(its rules have no names)"}`);
      }
    }
  }
}

/**
 * One TrafficPolicy section per rule: a targetRef's sectionName narrows the policy to the
 * rule of that name, and per rule the oldest policy that covers it wins.
 */
function resolvePerRule<M, T>(
  section: string,
  models: ReadonlyMap<Resource, M>,
  byRoute: ReadonlyMap<string, readonly Attached[]>,
  routes: readonly RouteDraft[],
  reporter: Reporter,
  forRule: (model: M, routeKey: string, rule: RuleModel) => T | undefined,
): Map<string, Map<number, T>> {
  const routeByKey = new Map(routes.map((r) => [key(r.resource), r]));
  const out = new Map<string, Map<number, T>>();
  for (const [rk, attached] of byRoute) {
    const rules = routeByKey.get(rk)!.rules;
    const byRule = new Map<number, T>();
    const winners = new Map<number, Resource>();
    for (const a of attached) {
      const model = models.get(a.policy);
      if (model === undefined) continue;
      const covered = rules.filter((rule) => a.sections === undefined || (rule.name !== undefined && a.sections.names.has(rule.name)));
      const older = covered.map((rule) => winners.get(rule.index)).find((w) => w !== undefined);
      if (older !== undefined && covered.every((rule) => winners.has(rule.index))) {
        reporter.warn(a.policy, ["spec", ...section.split(".")], `HTTPRoute ${rk} already gets ${section} from TrafficPolicy ${key(older)}, which is older; this one is ignored for it`, undefined);
        continue;
      }
      for (const rule of covered) {
        if (winners.has(rule.index)) continue;
        // A rule the winning policy gives nothing (`local: {}`) still has its winner.
        winners.set(rule.index, a.policy);
        const given = forRule(model, rk, rule);
        if (given !== undefined) byRule.set(rule.index, given);
      }
    }
    if (byRule.size > 0) out.set(rk, byRule);
  }
  return out;
}
