// The instruments Tollgate records, as the HTTP semconv and the registry name them.
import { DEFAULT_BUCKETS, DURATION_BUCKETS } from "./histograms.ts";
import type { InstrumentDescriptor } from "./store.ts";

export const SERVER_DURATION: InstrumentDescriptor = {
  name: "http.server.request.duration",
  unit: "s",
  description: "Duration of HTTP server requests.",
  kind: "histogram",
  valueType: "double",
  boundaries: DURATION_BUCKETS,
};

export const CLIENT_DURATION: InstrumentDescriptor = {
  name: "http.client.request.duration",
  unit: "s",
  description: "Duration of HTTP client requests.",
  kind: "histogram",
  valueType: "double",
  boundaries: DURATION_BUCKETS,
};

export const ACTIVE_REQUESTS: InstrumentDescriptor = {
  name: "http.server.active_requests",
  unit: "{request}",
  description: "Number of active HTTP server requests.",
  kind: "updowncounter",
  valueType: "int",
};

export const REQUEST_BODY_SIZE: InstrumentDescriptor = {
  name: "http.server.request.body.size",
  unit: "By",
  description: "Size of HTTP server request bodies.",
  kind: "histogram",
  valueType: "int",
  boundaries: DEFAULT_BUCKETS,
};

export const RESPONSE_BODY_SIZE: InstrumentDescriptor = {
  name: "http.server.response.body.size",
  unit: "By",
  description: "Size of HTTP server response bodies.",
  kind: "histogram",
  valueType: "int",
  boundaries: DEFAULT_BUCKETS,
};

export const CONFIG_RELOADS: InstrumentDescriptor = {
  name: "tollgate.config.reloads",
  unit: "{reload}",
  description: "Config reload attempts since start, by outcome.",
  kind: "counter",
  valueType: "int",
};

export const OPEN_CONNECTIONS: InstrumentDescriptor = {
  name: "tollgate.upstream.open_connections",
  unit: "{connection}",
  description: "Open upstream connections, by backend.",
  kind: "updowncounter",
  valueType: "int",
};

export const PENDING_REQUESTS: InstrumentDescriptor = {
  name: "tollgate.upstream.pending_requests",
  unit: "{request}",
  description: "Requests waiting for a free upstream connection, by backend.",
  kind: "updowncounter",
  valueType: "int",
};

export const RETRIES: InstrumentDescriptor = {
  name: "tollgate.upstream.retries",
  unit: "{retry}",
  description: "Upstream retries since start, by backend.",
  kind: "counter",
  valueType: "int",
};

export const MIRRORS_DROPPED: InstrumentDescriptor = {
  name: "tollgate.upstream.mirrors_dropped",
  unit: "{request}",
  description: "RequestMirror copies not sent (no free connection to the mirror backend) or given up mid-body (the mirror backend fell behind), by backend and reason.",
  kind: "counter",
  valueType: "int",
};

export const RATE_LIMITED: InstrumentDescriptor = {
  name: "tollgate.rate_limit.over_limit",
  unit: "{request}",
  description: "Requests a local rate limit (TrafficPolicy rateLimit.local) found over its limit, by route, rule and policy; enforced false counts those let through outside percentEnforced.",
  kind: "counter",
  valueType: "int",
};

export const RATE_LIMIT_CHECKS: InstrumentDescriptor = {
  name: "tollgate.rate_limit.checks",
  unit: "{request}",
  description: "Global rate limit checks (TrafficPolicy rateLimit.global) by route, rule, policy and outcome: ok, over_limit, error_allowed (failOpen) or error_refused.",
  kind: "counter",
  valueType: "int",
};

export const EXT_AUTHZ_CHECKS: InstrumentDescriptor = {
  name: "tollgate.ext_authz.checks",
  unit: "{request}",
  description: "ExternalAuth checks (HTTPRoute filter or TrafficPolicy extAuth) by route, rule, policy and outcome: ok, denied, error_allowed (failOpen), error_refused or not_sampled (percentageEnabled).",
  kind: "counter",
  valueType: "int",
};

export const JWKS_FETCHES: InstrumentDescriptor = {
  name: "tollgate.jwt.jwks_fetches",
  unit: "{fetch}",
  description: "Remote JWKS fetches by JWT provider and outcome: success or failure.",
  kind: "counter",
  valueType: "int",
};

export const ACCESS_DENIED: InstrumentDescriptor = {
  name: "tollgate.access_control.denied",
  unit: "{request}",
  description: "Requests a TrafficPolicy rbac, acl, basicAuth, apiKeyAuth, jwtAuth or csrf refused, by route, rule, policy and kind.",
  kind: "counter",
  valueType: "int",
};

export const CSRF_CHECKS: InstrumentDescriptor = {
  name: "tollgate.csrf.checks",
  unit: "{request}",
  description: "State-changing requests a TrafficPolicy csrf checked (enforced or shadowed), by route, rule, policy and outcome: valid, invalid or missing_origin.",
  kind: "counter",
  valueType: "int",
};

export const FAULT_INJECTIONS: InstrumentDescriptor = {
  name: "tollgate.fault.injections",
  unit: "{request}",
  description: "Faults a TrafficPolicy faultInjection injected, by route, rule, policy and kind: delay, abort, response_rate_limit, or overflow (none, as maxActiveFaults were active).",
  kind: "counter",
  valueType: "int",
};

export const COMPRESSION_RESPONSES: InstrumentDescriptor = {
  name: "tollgate.compression.responses",
  unit: "{response}",
  description: "Upstream responses of rules with a TrafficPolicy responseCompression, by route, rule, policy and outcome: the coding compressed in, or why not.",
  kind: "counter",
  valueType: "int",
};

export const COMPRESSION_BYTES: InstrumentDescriptor = {
  name: "tollgate.compression.bytes",
  unit: "By",
  description: "Response body bytes through TrafficPolicy responseCompression, by route, rule, policy and stage: uncompressed (in) or compressed (out).",
  kind: "counter",
  valueType: "int",
};

export const DECOMPRESSION_REQUESTS: InstrumentDescriptor = {
  name: "tollgate.decompression.requests",
  unit: "{request}",
  description: "Request bodies a TrafficPolicy requestDecompression decoded, by route, rule, policy, coding and outcome: decompressed, invalid, inflate_limit or abandoned.",
  kind: "counter",
  valueType: "int",
};

export const TLS_HANDSHAKE_ERRORS: InstrumentDescriptor = {
  name: "tollgate.listener.tls_handshake_errors",
  unit: "{handshake}",
  description: "TLS handshakes an HTTPS listener failed, by port and reason: timeout, no_certificate, client_certificate, client_closed or protocol.",
  kind: "counter",
  valueType: "int",
};

export const PROXY_PROTOCOL_ERRORS: InstrumentDescriptor = {
  name: "tollgate.listener.proxy_protocol_errors",
  unit: "{connection}",
  description: "Connections a PROXY protocol listener port closed before any request, by port and reason: invalid, timeout or client_closed.",
  kind: "counter",
  valueType: "int",
};

export const TELEMETRY_DROPPED: InstrumentDescriptor = {
  name: "tollgate.telemetry.dropped",
  unit: "{item}",
  description: "Telemetry items produced but never delivered, by signal and reason.",
  kind: "counter",
  valueType: "int",
};

export const ACCESS_LOG_FILTER_ERRORS: InstrumentDescriptor = {
  name: "tollgate.access_log.filter.errors",
  unit: "{evaluation}",
  description: "Access-log CEL filter evaluations that failed at run time (the request was not logged), by gateway.",
  kind: "counter",
  valueType: "int",
};

export const TELEMETRY_HOOK_ERRORS: InstrumentDescriptor = {
  name: "tollgate.telemetry.hook.errors",
  unit: "{call}",
  description: "Telemetry hook calls that threw; the request went on, its telemetry may be incomplete. By hook.",
  kind: "counter",
  valueType: "int",
};

export const BUILD_INFO: InstrumentDescriptor = {
  name: "tollgate.build.info",
  unit: "",
  description: "Tollgate build information; always 1.",
  kind: "gauge",
  valueType: "int",
};

/** Names a TelemetryPolicy metrics override may use, mapped to the instrument they extend. */
export const OVERRIDE_NAME_MAP: Readonly<Record<string, string>> = {
  "http.server.request.duration": SERVER_DURATION.name,
  "http.client.request.duration": CLIENT_DURATION.name,
  "http.server.active_requests": ACTIVE_REQUESTS.name,
  "http.server.request.body.size": REQUEST_BODY_SIZE.name,
  "http.server.response.body.size": RESPONSE_BODY_SIZE.name,
  // Request-count style names (Istio, the GEP's example, Prometheus habits): the request
  // count is the duration histogram's count, so they extend the duration histogram.
  "example.com/http/request_count": SERVER_DURATION.name,
  "gateway.networking.k8s.io/http/request_count": SERVER_DURATION.name,
  request_count: SERVER_DURATION.name,
  requests_total: SERVER_DURATION.name,
  http_requests_total: SERVER_DURATION.name,
  "istio_requests_total": SERVER_DURATION.name,
  "http_server_request_duration_seconds": SERVER_DURATION.name,
  "request_duration": SERVER_DURATION.name,
  "istio_request_duration_milliseconds": SERVER_DURATION.name,
  "http_client_request_duration_seconds": CLIENT_DURATION.name,
  "http_server_active_requests": ACTIVE_REQUESTS.name,
  "request_bytes": REQUEST_BODY_SIZE.name,
  "istio_request_bytes": REQUEST_BODY_SIZE.name,
  "response_bytes": RESPONSE_BODY_SIZE.name,
  "istio_response_bytes": RESPONSE_BODY_SIZE.name,
};

/** Maps an override name; names ending in `/request_count` (any domain) count requests too. */
export function overrideTarget(name: string): string | undefined {
  const direct = OVERRIDE_NAME_MAP[name];
  if (direct !== undefined) return direct;
  if (/\/request_count$/.test(name)) return SERVER_DURATION.name;
  return undefined;
}
