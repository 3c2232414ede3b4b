// The registry entries of the access-log and metric signals; src/telemetry/registry.ts
// lists them with the rest, and docs/telemetry.md is generated from there.
import type { AttributeEntry, LogRecordEntry, MetricEntry } from "../registry.ts";
import { SEMCONV_VERSION } from "../semconv.ts";

const HTTP_METRICS = `HTTP metrics semconv ${SEMCONV_VERSION}`;
const SERVER_ATTRS = ["http.request.method", "url.scheme", "http.route", "http.response.status_code", "error.type", "network.protocol.version", "tollgate.gateway.name", "tollgate.route.name", "<override attribute name>", "otel.metric.overflow"];

export const METRIC_ENTRIES: MetricEntry[] = [
  { name: "http.server.request.duration", instrument: "histogram", unit: "s", brief: "Duration of HTTP server requests, first byte in to last byte out. Buckets: semconv advice. Exemplars (trace_id, span_id) when measured inside a sampled SERVER span.", semconv: HTTP_METRICS, stability: "stable", attributes: SERVER_ATTRS },
  { name: "http.server.request.body.size", instrument: "histogram", unit: "By", brief: "Request body bytes received from the client.", semconv: HTTP_METRICS, stability: "development", attributes: SERVER_ATTRS },
  { name: "http.server.response.body.size", instrument: "histogram", unit: "By", brief: "Response body bytes sent to the client.", semconv: HTTP_METRICS, stability: "development", attributes: SERVER_ATTRS },
  { name: "http.server.active_requests", instrument: "updowncounter", unit: "{request}", brief: "Requests in flight.", semconv: HTTP_METRICS, stability: "development", attributes: ["http.request.method", "url.scheme", "tollgate.gateway.name", "<override attribute name>", "otel.metric.overflow"] },
  { name: "http.client.request.duration", instrument: "histogram", unit: "s", brief: "Duration of each upstream attempt. Exemplars point at the CLIENT span.", semconv: HTTP_METRICS, stability: "stable", attributes: ["http.request.method", "server.address", "server.port", "http.response.status_code", "error.type", "tollgate.gateway.name", "tollgate.backend.name", "<override attribute name>", "otel.metric.overflow"] },
  { name: "tollgate.config.reloads", instrument: "counter", unit: "{reload}", brief: "Config reload attempts since start, by outcome.", semconv: "tollgate", stability: "stable", attributes: ["outcome"] },
  { name: "tollgate.upstream.open_connections", instrument: "updowncounter", unit: "{connection}", brief: "Open upstream connections, by backend.", semconv: "tollgate", stability: "stable", attributes: ["tollgate.backend.name"] },
  { name: "tollgate.upstream.pending_requests", instrument: "updowncounter", unit: "{request}", brief: "Requests waiting for an upstream connection, by backend: queued while the Backend's connectionPool.maxConnections are all busy, or while their connection opens; Envoy's upstream_rq_pending_active. Past maxPendingRequests the next request is refused with 503 and error.type upstream_overflow.", semconv: "tollgate", stability: "stable", attributes: ["tollgate.backend.name"] },
  { name: "tollgate.upstream.retries", instrument: "counter", unit: "{retry}", brief: "Upstream retries since start, by backend.", semconv: "tollgate", stability: "stable", attributes: ["tollgate.backend.name"] },
  { name: "tollgate.listener.tls_handshake_errors", instrument: "counter", unit: "{handshake}", brief: "TLS handshakes an HTTPS listener failed: no handshake within the listener's requestHeadersTimeout (`timeout`), a name in SNI no listener of the port admits or no certificate for a client without SNI (`no_certificate`), a port that checks client certificates refusing the client's or its lack of one (`client_certificate`), the client closing the connection mid-handshake (`client_closed`), or anything else (`protocol`: plain HTTP, no common protocol or ALPN, a client's alert); by listener port and reason.", semconv: "tollgate", stability: "development", attributes: ["server.port", "reason"] },
  { name: "tollgate.upstream.mirrors_dropped", instrument: "counter", unit: "{request}", brief: "RequestMirror copies not sent because every connection to the mirror backend was busy (`no_free_connection`), or given up mid-body because the mirror backend fell 1 MiB behind the original (`body_overflow`); by backend and reason.", semconv: "tollgate", stability: "development", attributes: ["tollgate.backend.name", "reason"] },
  { name: "tollgate.rate_limit.over_limit", instrument: "counter", unit: "{request}", brief: "Requests a local rate limit (kgateway TrafficPolicy `rateLimit.local`) found without a token, by route and rule (a Gateway's limit counts under each route and rule it refused) and the TrafficPolicy whose limit it was: refused with 429 (`enforced` true) or let through by `percentEnforced` (`enforced` false, shadow mode).", semconv: "tollgate", stability: "development", attributes: ["tollgate.route.name", "tollgate.rule.name", "tollgate.rate_limit.policy", "enforced"] },
  { name: "tollgate.rate_limit.checks", instrument: "counter", unit: "{request}", brief: "Global rate limit checks (kgateway TrafficPolicy `rateLimit.global`) by route, rule, the TrafficPolicy whose limit it was and outcome: under every limit (`ok`), refused with 429 (`over_limit`), or no verdict (the service unreachable, too slow, failing or answering nonsense) with the request let through (`error_allowed`, failOpen) or answered 500 (`error_refused`). Envoy's ratelimit.ok, over_limit, error and failure_mode_allowed. A request that yields no descriptor is not checked and not counted.", semconv: "tollgate", stability: "development", attributes: ["tollgate.route.name", "tollgate.rule.name", "tollgate.rate_limit.policy", "tollgate.rate_limit.outcome"] },
  { name: "tollgate.access_control.denied", instrument: "counter", unit: "{request}", brief: "Requests a kgateway TrafficPolicy `rbac` or `acl` refused, by route and rule (a Gateway's policy counts under each route and rule it refused), the TrafficPolicy that refused them and its kind; Envoy's rbac.denied.", semconv: "tollgate", stability: "development", attributes: ["tollgate.route.name", "tollgate.rule.name", "tollgate.access_control.policy", "tollgate.access_control.kind"] },
  { name: "tollgate.telemetry.dropped", instrument: "counter", unit: "{item}", brief: "Telemetry items produced but never delivered, by signal and reason (queue_full, export_failed, export_timeout, rejected, shutdown).", semconv: "tollgate", stability: "stable", attributes: ["signal", "reason"] },
  { name: "tollgate.access_log.filter.errors", instrument: "counter", unit: "{evaluation}", brief: "Access-log CEL filter evaluations that failed at run time (an error, or a non-bool result); the request was not logged. A warning names the expression at most once a minute.", semconv: "tollgate", stability: "stable", attributes: ["tollgate.gateway.name"] },
  { name: "tollgate.telemetry.hook.errors", instrument: "counter", unit: "{call}", brief: "Telemetry hook calls that threw (a bug, contained): the request went on, its spans, log record or metrics may be incomplete. A warning names the hook and the error at most once a minute.", semconv: "tollgate", stability: "stable", attributes: ["tollgate.telemetry.hook"] },
  { name: "tollgate.build.info", instrument: "gauge", unit: "", brief: "Always 1; the attributes name the build.", semconv: "tollgate", stability: "stable", attributes: ["tollgate.version", "process.runtime.version"] },
];

const LM: readonly ("logs" | "metrics")[] = ["logs"];
const M: readonly ("logs" | "metrics")[] = ["metrics"];

export const SIGNAL_ATTRIBUTES: AttributeEntry[] = [
  { key: "http.request.body.size", type: "int", brief: "Request body bytes received (access logs).", requirement: "recommended", stability: "development", semconv: `HTTP semconv ${SEMCONV_VERSION}`, signals: LM },
  { key: "http.response.body.size", type: "int", brief: "Response body bytes sent (access logs).", requirement: "recommended", stability: "development", semconv: `HTTP semconv ${SEMCONV_VERSION}`, signals: LM },
  { key: "tollgate.request.duration_ms", type: "double", brief: "Total request duration in milliseconds.", requirement: "required", stability: "stable", semconv: "tollgate", signals: LM },
  { key: "tollgate.response.first_byte_ms", type: "double", brief: "Milliseconds until the first response byte was sent.", requirement: "conditionally_required", condition: "a response was sent", stability: "stable", semconv: "tollgate", signals: LM },
  { key: "tollgate.response.flags", type: "string", brief: "Envoy-style response flags (UF, UT, NR, DC, ...).", requirement: "conditionally_required", condition: "any flag set", stability: "stable", semconv: "tollgate", signals: LM },
  { key: "tollgate.upstream.address", type: "string", brief: "`host:port` of the upstream endpoint of the last attempt.", requirement: "conditionally_required", condition: "an upstream was tried", stability: "stable", semconv: "tollgate", signals: LM },
  { key: "tollgate.upstream.attempts", type: "int", brief: "Upstream attempts, retries included.", requirement: "conditionally_required", condition: "an upstream was tried", stability: "stable", semconv: "tollgate", signals: LM },
  { key: "tollgate.log.name", type: "string", brief: "kgateway `logName` of the access log that emitted the record.", requirement: "conditionally_required", condition: "logName configured", stability: "stable", semconv: "tollgate", signals: LM },
  { key: "<access log field name>", type: "string", brief: "TelemetryPolicy accessLogs fields (Standard, Header, Literal, Metadata) and kgateway attributes, named as configured.", requirement: "opt_in", condition: "configured", stability: "stable", semconv: "policy", signals: LM },
  { key: "<override attribute name>", type: "string", brief: "TelemetryPolicy metrics overrides attributes (Header, Literal, Metadata), named as configured.", requirement: "opt_in", condition: "configured", stability: "stable", semconv: "policy", signals: M },
  { key: "otel.metric.overflow", type: "boolean", brief: "`true` on the one series that collects attribute sets beyond the cardinality limit.", requirement: "conditionally_required", condition: "cardinality limit reached", stability: "stable", semconv: "OTel metrics SDK", signals: M },
  { key: "outcome", type: "string", brief: "`success` or `failure` (tollgate.config.reloads).", requirement: "required", stability: "stable", semconv: "tollgate", signals: M },
  { key: "signal", type: "string", brief: "`traces`, `logs` or `metrics` (tollgate.telemetry.dropped).", requirement: "required", stability: "stable", semconv: "tollgate", signals: M },
  { key: "reason", type: "string", brief: "`queue_full`, `export_failed`, `export_timeout`, `rejected` or `shutdown` (tollgate.telemetry.dropped); `no_free_connection` or `body_overflow` (tollgate.upstream.mirrors_dropped); `timeout`, `no_certificate`, `client_certificate`, `client_closed` or `protocol` (tollgate.listener.tls_handshake_errors).", requirement: "required", stability: "stable", semconv: "tollgate", signals: M },
  { key: "tollgate.rate_limit.policy", type: "string", brief: "`namespace/name` of the TrafficPolicy whose rate limit it was: the route's, or its Gateway's (tollgate.rate_limit.over_limit, tollgate.rate_limit.checks).", requirement: "required", stability: "development", semconv: "tollgate", signals: M },
  { key: "tollgate.access_control.policy", type: "string", brief: "`namespace/name` of the TrafficPolicy whose rbac or acl refused the request (tollgate.access_control.denied).", requirement: "required", stability: "development", semconv: "tollgate", signals: M },
  { key: "tollgate.access_control.kind", type: "string", brief: "`rbac` or `acl` (tollgate.access_control.denied).", requirement: "required", stability: "development", semconv: "tollgate", signals: M },
  { key: "tollgate.rate_limit.outcome", type: "string", brief: "`ok`, `over_limit`, `error_allowed` or `error_refused` (tollgate.rate_limit.checks).", requirement: "required", stability: "development", semconv: "tollgate", signals: M },
  { key: "enforced", type: "boolean", brief: "`true`: the over-limit request was refused with 429; `false`: `percentEnforced` let it through (tollgate.rate_limit.over_limit).", requirement: "required", stability: "development", semconv: "tollgate", signals: M },
  { key: "tollgate.telemetry.hook", type: "string", brief: "`request_start`, `attempt_start`, `attempt_end` or `request_end` (tollgate.telemetry.hook.errors).", requirement: "required", stability: "stable", semconv: "tollgate", signals: M },
  { key: "tollgate.version", type: "string", brief: "Tollgate's package version (tollgate.build.info).", requirement: "required", stability: "stable", semconv: "tollgate", signals: M },
  { key: "process.runtime.version", type: "string", brief: "Node.js version (tollgate.build.info).", requirement: "required", stability: "stable", semconv: "tollgate", signals: M },
];

export const LOG_RECORD_ENTRIES: LogRecordEntry[] = [
  {
    eventName: "tollgate.access",
    brief: "One per request and enabled access log, at response completion or abort. Timestamp = request start; ObservedTimestamp = end. TraceId/SpanId/TraceFlags = the SERVER span's, sampled or not. Severity INFO (1xx-3xx), WARN (4xx), ERROR (5xx, transport failure). Body: the configured Envoy format, else Envoy's default format.",
    semconv: `HTTP semconv ${SEMCONV_VERSION} attribute keys`,
    stability: "stable",
    attributes: [
      "http.request.method", "http.request.method_original", "http.route", "url.path", "url.query", "url.scheme", "server.address", "server.port", "client.address", "network.peer.address",
      "network.peer.port", "network.protocol.version", "user_agent.original", "http.response.status_code", "error.type", "http.request.body.size",
      "http.response.body.size", "tollgate.request.duration_ms", "tollgate.response.first_byte_ms", "tollgate.response.flags", "tollgate.upstream.address",
      "tollgate.upstream.attempts", "tollgate.gateway.name", "tollgate.listener.name", "tollgate.route.name", "tollgate.rule.name", "tollgate.backend.name",
      "tollgate.log.name", "<access log field name>",
    ],
  },
];
