// The telemetry contract: every span, attribute, resource attribute, metric and log field
// Tollgate emits, in one place. docs/telemetry.md is generated from this file
// (scripts/gen-telemetry-docs.ts) and a test fails when exported data carries anything
// that is not listed here. Changing an entry that is `stable` is a breaking change: add,
// deprecate, never rename (see the "Change policy" below).
import { SCHEMA_URL, SEMCONV_VERSION } from "./semconv.ts";
import { LOG_RECORD_ENTRIES, METRIC_ENTRIES, SIGNAL_ATTRIBUTES } from "./metrics/registry-entries.ts";

export type Requirement = "required" | "conditionally_required" | "recommended" | "opt_in";
export type Stability = "stable" | "development" | "deprecated";
export type AttributeType = "string" | "int" | "double" | "boolean" | "string[]";
export type Signal = "traces" | "logs" | "metrics";

export interface AttributeEntry {
  /** The key, or a template ending in `<name>` for key families (`http.request.header.<name>`). */
  readonly key: string;
  readonly type: AttributeType;
  readonly brief: string;
  readonly requirement: Requirement;
  /** When conditionally required or opt-in: the condition. */
  readonly condition?: string;
  readonly stability: Stability;
  /** The semantic convention this follows, or `tollgate` for our own namespace. */
  readonly semconv: string;
  readonly signals: readonly Signal[];
  readonly examples?: readonly string[];
}

export interface SpanEntry {
  /** Name pattern. */
  readonly name: string;
  readonly kind: "SERVER" | "CLIENT";
  readonly brief: string;
  readonly semconv: string;
  readonly stability: Stability;
  /** Keys (or templates) from `attributes` this span may carry. */
  readonly attributes: readonly string[];
  readonly status: string;
}

export interface MetricEntry {
  readonly name: string;
  readonly instrument: "counter" | "updowncounter" | "histogram" | "gauge";
  readonly unit: string;
  readonly brief: string;
  readonly semconv: string;
  readonly stability: Stability;
  readonly attributes: readonly string[];
}

export interface LogRecordEntry {
  readonly eventName: string;
  readonly brief: string;
  readonly semconv: string;
  readonly stability: Stability;
  /** Attribute keys (or templates) the record may carry. */
  readonly attributes: readonly string[];
}

export interface TelemetryRegistry {
  readonly semconvVersion: string;
  readonly schemaUrl: string;
  readonly scopeName: string;
  /** The namespace of Tollgate's own attributes. */
  readonly namespace: string;
  readonly resourceAttributes: readonly AttributeEntry[];
  readonly attributes: readonly AttributeEntry[];
  readonly spans: readonly SpanEntry[];
  readonly metrics: readonly MetricEntry[];
  readonly logRecords: readonly LogRecordEntry[];
}

const HTTP = `HTTP semconv ${SEMCONV_VERSION}`;
const RES = `resource semconv ${SEMCONV_VERSION}`;
const RPC = `RPC semconv ${SEMCONV_VERSION}`;
const T: readonly Signal[] = ["traces"];
const TL: readonly Signal[] = ["traces", "logs"];
const TLM: readonly Signal[] = ["traces", "logs", "metrics"];

const resourceAttributes: AttributeEntry[] = [
  { key: "service.name", type: "string", brief: "`<gateway>.<namespace>` unless OTEL_RESOURCE_ATTRIBUTES, OTEL_SERVICE_NAME or the policy (serviceName, resource attributes) say otherwise, later winning.", requirement: "required", stability: "stable", semconv: RES, signals: TLM, examples: ["http.kgateway-system"] },
  { key: "service.namespace", type: "string", brief: "The Gateway's namespace (else K8S_NAMESPACE_NAME, else `default`).", requirement: "required", stability: "stable", semconv: RES, signals: TLM },
  { key: "service.version", type: "string", brief: "Tollgate's package version.", requirement: "required", stability: "stable", semconv: RES, signals: TLM },
  { key: "service.instance.id", type: "string", brief: "K8S_POD_UID when set, else a random UUID per process; with `--workers`, suffixed `-worker-<id>` so every worker is a distinct instance.", requirement: "required", stability: "stable", semconv: RES, signals: TLM },
  { key: "host.name", type: "string", brief: "os.hostname().", requirement: "required", stability: "development", semconv: RES, signals: TLM },
  { key: "host.arch", type: "string", brief: "CPU architecture in semconv spelling (amd64, arm64, ...).", requirement: "required", stability: "development", semconv: RES, signals: TLM },
  { key: "process.pid", type: "int", brief: "Process id.", requirement: "required", stability: "development", semconv: RES, signals: TLM },
  { key: "process.executable.name", type: "string", brief: "Basename of the Node executable.", requirement: "required", stability: "development", semconv: RES, signals: TLM },
  { key: "process.runtime.name", type: "string", brief: "`nodejs`.", requirement: "required", stability: "development", semconv: RES, signals: TLM },
  { key: "process.runtime.version", type: "string", brief: "Node.js version.", requirement: "required", stability: "development", semconv: RES, signals: TLM },
  { key: "process.runtime.description", type: "string", brief: "`Node.js`.", requirement: "required", stability: "development", semconv: RES, signals: TLM },
  { key: "telemetry.sdk.name", type: "string", brief: "`opentelemetry`.", requirement: "required", stability: "stable", semconv: RES, signals: TLM },
  { key: "telemetry.sdk.language", type: "string", brief: "`nodejs`.", requirement: "required", stability: "stable", semconv: RES, signals: TLM },
  { key: "telemetry.sdk.version", type: "string", brief: "Version of the OpenTelemetry JS SDK in use.", requirement: "required", stability: "stable", semconv: RES, signals: TLM },
  { key: "telemetry.distro.name", type: "string", brief: "`tollgate`.", requirement: "required", stability: "development", semconv: RES, signals: TLM },
  { key: "telemetry.distro.version", type: "string", brief: "Tollgate's package version.", requirement: "required", stability: "development", semconv: RES, signals: TLM },
  { key: "container.id", type: "string", brief: "From /proc/self/cgroup, or /proc/self/mountinfo outside Kubernetes (there it names the pod sandbox).", requirement: "conditionally_required", condition: "running in a container", stability: "development", semconv: RES, signals: TLM },
  { key: "k8s.pod.name", type: "string", brief: "Env K8S_POD_NAME (Downward API metadata.name).", requirement: "conditionally_required", condition: "env set", stability: "development", semconv: RES, signals: TLM },
  { key: "k8s.pod.uid", type: "string", brief: "Env K8S_POD_UID (Downward API metadata.uid).", requirement: "conditionally_required", condition: "env set", stability: "development", semconv: RES, signals: TLM },
  { key: "k8s.namespace.name", type: "string", brief: "Env K8S_NAMESPACE_NAME (Downward API metadata.namespace).", requirement: "conditionally_required", condition: "env set", stability: "development", semconv: RES, signals: TLM },
  { key: "k8s.node.name", type: "string", brief: "Env K8S_NODE_NAME (Downward API spec.nodeName).", requirement: "conditionally_required", condition: "env set", stability: "development", semconv: RES, signals: TLM },
  { key: "k8s.container.name", type: "string", brief: "Env K8S_CONTAINER_NAME.", requirement: "conditionally_required", condition: "env set", stability: "development", semconv: RES, signals: TLM },
  { key: "k8s.deployment.name", type: "string", brief: "Env K8S_DEPLOYMENT_NAME.", requirement: "conditionally_required", condition: "env set", stability: "development", semconv: RES, signals: TLM },
  { key: "k8s.cluster.name", type: "string", brief: "Env K8S_CLUSTER_NAME.", requirement: "conditionally_required", condition: "env set", stability: "development", semconv: RES, signals: TLM },
  { key: "<any key from OTEL_RESOURCE_ATTRIBUTES or the policy>", type: "string", brief: "User-supplied resource attributes, passed through as written. OTEL_RESOURCE_ATTRIBUTES is all or nothing: a member that is not key=value or fails percent-decoding discards the whole variable, with a warning on stderr.", requirement: "opt_in", condition: "configured", stability: "stable", semconv: "OTel SDK environment", signals: TLM },
];

const attributes: AttributeEntry[] = [
  { key: "http.request.method", type: "string", brief: "Known method, or `_OTHER` (list overridable with OTEL_INSTRUMENTATION_HTTP_KNOWN_METHODS).", requirement: "required", stability: "stable", semconv: HTTP, signals: TLM, examples: ["GET", "_OTHER"] },
  { key: "http.request.method_original", type: "string", brief: "The method as received, when it differs from http.request.method.", requirement: "conditionally_required", condition: "method is not the canonical known form", stability: "stable", semconv: HTTP, signals: TL },
  { key: "http.route", type: "string", brief: "The low-cardinality template of the match that routed the request (see docs/routing.md).", requirement: "conditionally_required", condition: "a rule matched", stability: "stable", semconv: HTTP, signals: TLM, examples: ["/api/*", "/users/{id}"] },
  { key: "http.response.status_code", type: "int", brief: "Status sent to the client (server) or received from the upstream (client).", requirement: "conditionally_required", condition: "a response was sent or received", stability: "stable", semconv: HTTP, signals: TLM },
  { key: "http.request.resend_count", type: "int", brief: "Attempt index when the upstream request is a retry.", requirement: "recommended", condition: "retry", stability: "stable", semconv: HTTP, signals: T },
  { key: "http.request.header.<name>", type: "string[]", brief: "Captured request header values (lower-case name), only for names configured; Authorization, Proxy-Authorization and Cookie only with explicit opt-in.", requirement: "opt_in", stability: "stable", semconv: HTTP, signals: T },
  { key: "http.response.header.<name>", type: "string[]", brief: "Captured response header values; Set-Cookie only with explicit opt-in.", requirement: "opt_in", stability: "stable", semconv: HTTP, signals: T },
  { key: "url.path", type: "string", brief: "Request path as routed and forwarded: dot segments resolved, repeated slashes merged, escaped unreserved characters decoded (docs/proxy.md, Path normalisation).", requirement: "required", stability: "stable", semconv: HTTP, signals: ["traces", "logs"] },
  { key: "url.query", type: "string", brief: "Query without `?`, sensitive parameters (AWSAccessKeyId, Signature, sig, X-Goog-Signature, SigV4 X-Amz-Signature, X-Amz-Credential, X-Amz-Security-Token, RFC 6750 access_token, the names TOLLGATE_SENSITIVE_QUERY_PARAMS adds, the query parameters TrafficPolicy apiKeyAuth policies read keys from, and those JWT providers read tokens from) redacted to REDACTED.", requirement: "conditionally_required", condition: "query present", stability: "stable", semconv: HTTP, signals: ["traces", "logs"] },
  { key: "url.scheme", type: "string", brief: "`http` or `https` as the client used.", requirement: "required", stability: "stable", semconv: HTTP, signals: TLM },
  { key: "url.full", type: "string", brief: "Upstream URL as sent (client), never with user:password, sensitive query parameters redacted.", requirement: "required", stability: "stable", semconv: HTTP, signals: T },
  { key: "server.address", type: "string", brief: "Server: host the client addressed (trusted Forwarded/X-Forwarded-Host, else Host). Client: upstream host.", requirement: "recommended", stability: "stable", semconv: HTTP, signals: TLM },
  { key: "server.port", type: "int", brief: "Port matching server.address.", requirement: "recommended", stability: "stable", semconv: HTTP, signals: TLM },
  { key: "client.address", type: "string", brief: "Forwarded client when forwarding headers are trusted, else the client a PROXY protocol header names, else the peer.", requirement: "recommended", stability: "stable", semconv: HTTP, signals: ["traces", "logs"] },
  { key: "network.peer.address", type: "string", brief: "Socket peer: the downstream client, or the balancer in front of a PROXY protocol listener (server span), or the upstream endpoint (client span).", requirement: "recommended", stability: "stable", semconv: HTTP, signals: ["traces", "logs"] },
  { key: "network.peer.port", type: "int", brief: "Port matching network.peer.address.", requirement: "recommended", stability: "stable", semconv: HTTP, signals: ["traces", "logs"] },
  { key: "network.protocol.version", type: "string", brief: "HTTP version of the downstream connection.", requirement: "recommended", stability: "stable", semconv: HTTP, signals: TLM, examples: ["1.1"] },
  { key: "user_agent.original", type: "string", brief: "User-Agent header.", requirement: "recommended", stability: "stable", semconv: HTTP, signals: ["traces", "logs"] },
  { key: "error.type", type: "string", brief: "Status code as string for error statuses, or a short cause (`timeout`, `connection_refused`, ...).", requirement: "conditionally_required", condition: "the request failed", stability: "stable", semconv: HTTP, signals: TLM },
  { key: "tollgate.gateway.name", type: "string", brief: "`namespace/name` of the Gateway that served the request.", requirement: "required", stability: "stable", semconv: "tollgate", signals: TLM, examples: ["kgateway-system/http"] },
  { key: "tollgate.listener.name", type: "string", brief: "Gateway listener name.", requirement: "conditionally_required", condition: "a rule matched", stability: "stable", semconv: "tollgate", signals: TL },
  { key: "tollgate.route.name", type: "string", brief: "`namespace/name` of the HTTPRoute.", requirement: "conditionally_required", condition: "a rule matched", stability: "stable", semconv: "tollgate", signals: TLM },
  { key: "tollgate.rule.name", type: "string", brief: "The rule's `name`, else `rule-<index>`.", requirement: "conditionally_required", condition: "a rule matched", stability: "stable", semconv: "tollgate", signals: TLM },
  { key: "tollgate.backend.name", type: "string", brief: "Backend display name (`namespace/name`, `:port` for Services).", requirement: "conditionally_required", condition: "an upstream was chosen", stability: "stable", semconv: "tollgate", signals: TLM },
  { key: "tollgate.mirror", type: "boolean", brief: "True on the CLIENT span of a RequestMirror copy (its answer is ignored); absent on the request's own attempts.", requirement: "conditionally_required", condition: "a RequestMirror copy", stability: "development", semconv: "tollgate", signals: T },
  { key: "tollgate.ext_authz", type: "boolean", brief: "True on the CLIENT span of a request's ExternalAuth check (sent to the authorization service before anything else of the rule runs); absent on the request's own attempts.", requirement: "conditionally_required", condition: "an ExternalAuth check", stability: "development", semconv: "tollgate", signals: T },
  { key: "tollgate.rate_limit_check", type: "boolean", brief: "True on the CLIENT span of a request's global rate limit check (the call to the rate limit service of a TrafficPolicy's `rateLimit.global`); absent on the request's own attempts.", requirement: "conditionally_required", condition: "a global rate limit check", stability: "development", semconv: "tollgate", signals: T },
  { key: "rpc.system", type: "string", brief: "`grpc` on the CLIENT span of an ExternalAuth check with protocol GRPC or a global rate limit check.", requirement: "required", condition: "a gRPC call", stability: "development", semconv: RPC, signals: T, examples: ["grpc"] },
  { key: "rpc.service", type: "string", brief: "The called service's full name.", requirement: "recommended", condition: "a gRPC call", stability: "development", semconv: RPC, signals: T, examples: ["envoy.service.auth.v3.Authorization"] },
  { key: "rpc.method", type: "string", brief: "The called method.", requirement: "recommended", condition: "a gRPC call", stability: "development", semconv: RPC, signals: T, examples: ["Check"] },
  { key: "rpc.grpc.status_code", type: "int", brief: "The call's gRPC status (0 OK; the client library's code when no answer came, 1 CANCELLED when the gateway gave the call up).", requirement: "required", condition: "a gRPC call that ended", stability: "development", semconv: RPC, signals: T, examples: ["0", "14"] },
  { key: "<policy attribute name>", type: "string", brief: "Custom span attributes from TelemetryPolicy customAttributes or kgateway tracing attributes (literal, header, metadata, environment), named as configured.", requirement: "opt_in", condition: "configured", stability: "stable", semconv: "policy", signals: T },
];

const spans: SpanEntry[] = [
  {
    name: "{http.request.method} {http.route}",
    kind: "SERVER",
    brief: "One per downstream request; `{http.request.method}` alone when no rule matched (never the raw path).",
    semconv: HTTP,
    stability: "stable",
    attributes: [
      "http.request.method", "http.request.method_original", "http.route", "http.response.status_code", "http.request.header.<name>", "http.response.header.<name>",
      "url.path", "url.query", "url.scheme", "server.address", "server.port", "client.address", "network.peer.address", "network.peer.port",
      "network.protocol.version", "user_agent.original", "error.type", "tollgate.gateway.name", "tollgate.listener.name", "tollgate.route.name",
      "tollgate.rule.name", "tollgate.backend.name", "<policy attribute name>",
    ],
    status: "ERROR for 5xx or transport failure; UNSET otherwise (4xx stays UNSET).",
  },
  {
    name: "{http.request.method}",
    kind: "CLIENT",
    brief: "One per upstream attempt, one per RequestMirror copy (`tollgate.mirror`) and one per ExternalAuth check (`tollgate.ext_authz`), child of the SERVER span; the upstream sees it as its parent.",
    semconv: HTTP,
    stability: "stable",
    attributes: [
      "http.request.method", "http.request.method_original", "http.request.resend_count", "http.response.status_code", "http.request.header.<name>",
      "url.full", "server.address", "server.port", "network.peer.address", "network.peer.port", "error.type", "tollgate.gateway.name",
      "tollgate.route.name", "tollgate.rule.name", "tollgate.backend.name", "tollgate.mirror", "tollgate.ext_authz", "<policy attribute name>",
    ],
    status: "ERROR for 4xx, 5xx or failure.",
  },
  {
    name: "{rpc.service}/{rpc.method}",
    kind: "CLIENT",
    brief: "One per ExternalAuth check with protocol GRPC (`envoy.service.auth.v3.Authorization/Check`, `tollgate.ext_authz`) and one per global rate limit check (`envoy.service.ratelimit.v3.RateLimitService/ShouldRateLimit`, `tollgate.rate_limit_check`), child of the SERVER span; the service sees it as its parent. The HTTP/2 request that carried the call is described on it too (`POST`, the method's URL, status 200 once the service answered).",
    semconv: RPC,
    stability: "development",
    attributes: [
      "rpc.system", "rpc.service", "rpc.method", "rpc.grpc.status_code", "http.request.method", "http.response.status_code", "url.full", "server.address", "server.port",
      "network.peer.address", "network.peer.port", "error.type", "tollgate.gateway.name", "tollgate.route.name", "tollgate.rule.name", "tollgate.backend.name", "tollgate.ext_authz",
      "tollgate.rate_limit_check",
    ],
    status: "ERROR for any gRPC status but OK (error.type: the status's name, or `timeout`), or when the call failed.",
  },
];

export const TELEMETRY_REGISTRY: TelemetryRegistry = {
  semconvVersion: SEMCONV_VERSION,
  schemaUrl: SCHEMA_URL,
  scopeName: "tollgate",
  namespace: "tollgate.",
  resourceAttributes,
  attributes: [...attributes, ...SIGNAL_ATTRIBUTES],
  spans,
  metrics: METRIC_ENTRIES,
  logRecords: LOG_RECORD_ENTRIES,
};

/** Whether `key` is a registered attribute for `signal` (templates match by prefix). */
export function isRegisteredAttribute(key: string, signal: Signal): boolean {
  return TELEMETRY_REGISTRY.attributes.some((a) => a.signals.includes(signal) && keyMatches(a.key, key));
}

export function isRegisteredResourceAttribute(key: string): boolean {
  return TELEMETRY_REGISTRY.resourceAttributes.some((a) => keyMatches(a.key, key));
}

/** A span name is registered when it is a known method alone or followed by a route. */
export function spanNameShape(name: string): "method" | "method route" | "rpc" | "other" {
  if (/^[A-Za-z_][\w.]*\/[A-Za-z_]\w*$/.test(name)) return "rpc";
  const sp = name.indexOf(" ");
  const method = sp < 0 ? name : name.slice(0, sp);
  if (!/^(?:[A-Z]+|_OTHER|HTTP)$/.test(method)) return "other";
  return sp < 0 ? "method" : "method route";
}

function keyMatches(pattern: string, key: string): boolean {
  if (pattern.startsWith("<")) return false;
  if (pattern.endsWith(".<name>")) {
    const prefix = pattern.slice(0, -"<name>".length);
    return key.startsWith(prefix) && key.length > prefix.length;
  }
  return pattern === key;
}
