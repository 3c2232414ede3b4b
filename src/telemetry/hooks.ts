// The one narrow interface through which the proxy reaches telemetry. The proxy calls
// these in order for every request; telemetry keeps whatever state it needs on
// `exchange.telemetry` / `attempt.telemetry`. Every hook must return quickly: no export
// work, no JSON serialisation, no AsyncLocalStorage.
import type { Exchange, UpstreamAttempt } from "../proxy/exchange.ts";
import type { HookErrorCounts } from "../proxy/guarded-telemetry.ts";
import type { RateLimitCounts } from "../proxy/local-rate-limit.ts";
import type { GlobalRateLimitCounts } from "../proxy/global-rate-limit.ts";
import type { AccessDenials } from "../proxy/access-denials.ts";
import type { CsrfChecks } from "../proxy/csrf-checks.ts";
import type { CompressionBytes, CompressionCounts, DecompressionCounts } from "../proxy/compression-counts.ts";
import type { FaultInjections } from "../proxy/fault-injection.ts";
import type { ExternalAuthCounts } from "../proxy/external-auth-counts.ts";
import type { JwksFetchCounts } from "../proxy/jwks-fetches.ts";
import type { MirrorDrops } from "../proxy/mirror.ts";
import type { TlsHandshakeErrors } from "../proxy/tls-handshake-errors.ts";
import type { ProxyProtocolErrors } from "../proxy/proxy-protocol-errors.ts";
import type { RuntimePlan } from "../plan/types.ts";

/** Outgoing upstream headers as undici takes them. */
export type OutgoingHeaders = Record<string, string | string[]>;

export interface RequestTelemetry {
  /** A new plan is live: precompute per-rule attribute blocks, samplers, filters, exporters. */
  onPlan(plan: RuntimePlan): void;
  /** After routing (exchange.match may be undefined), before any upstream work. */
  onRequestStart(exchange: Exchange): void;
  /**
   * Before each upstream attempt. Starts the CLIENT span and writes the propagation
   * headers (traceparent, tracestate, baggage, b3...) into `headers`, replacing any
   * incoming ones, so the upstream sees the CLIENT span as its parent.
   */
  onAttemptStart(exchange: Exchange, attempt: UpstreamAttempt, headers: OutgoingHeaders): void;
  onAttemptEnd(exchange: Exchange, attempt: UpstreamAttempt): void;
  /** Response completed or aborted: end spans, emit the access log, record metrics. */
  onRequestEnd(exchange: Exchange): void;
}

/** Gateway-level facts telemetry turns into instruments (issue 4). */
export interface GatewayStats {
  /** Config reload outcomes since start. */
  readonly reloads: { success: number; failure: number };
  /** Upstream retries since start, per backend display name. */
  readonly retries: Map<string, number>;
  /** RequestMirror copies dropped since start, per mirror backend display name and reason. */
  readonly mirrorDrops?: MirrorDrops;
  /** TLS handshakes the HTTPS listeners failed since start, per config port and reason. */
  readonly tlsHandshakeErrors?: TlsHandshakeErrors;
  /** Connections the PROXY protocol ports closed for a missing, malformed or late header since start, per config port and reason. */
  readonly proxyProtocolErrors?: ProxyProtocolErrors;
  /** Requests local rate limits found over their limit since start, per route, rule, policy and enforcement. */
  readonly rateLimits?: RateLimitCounts;
  /** What global rate limit checks decided since start, per route, rule, policy and outcome. */
  readonly globalRateLimits?: GlobalRateLimitCounts;
  /** Requests the access controls (rbac, acl, jwtAuth, basicAuth, apiKeyAuth, csrf) refused since start, per route, rule, policy and kind. */
  readonly accessDenials?: AccessDenials;
  /** What csrf checks found since start, per route, rule, policy and outcome. */
  readonly csrfChecks?: CsrfChecks;
  /** Faults injected since start (and requests maxActiveFaults spared), per route, rule, policy and kind. */
  readonly faultInjections?: FaultInjections;
  /** Responses of rules with TrafficPolicy compression since start, per route, rule, policy and outcome (a coding, or why not). */
  readonly compressions?: CompressionCounts;
  /** Response body bytes through compressors since start, per route, rule, policy and stage (uncompressed, compressed). */
  readonly compressionBytes?: CompressionBytes;
  /** Request bodies TrafficPolicy requestDecompression decoded since start, per route, rule, policy, coding and outcome. */
  readonly decompressions?: DecompressionCounts;
  /** What ExternalAuth checks decided since start, per route, rule, policy and outcome. */
  readonly externalAuthChecks?: ExternalAuthCounts;
  /** Remote JWKS fetches since start, per JWT provider and outcome. */
  readonly jwksFetches?: JwksFetchCounts;
  /** Telemetry hook calls that threw (contained by the proxy) since start, per hook name. */
  readonly telemetryHookErrors: HookErrorCounts;
  /** Open upstream connections right now, per backend display name. */
  openConnections(): Iterable<[backend: string, count: number]>;
  /** Requests waiting for a free upstream connection right now, per backend display name. */
  pendingRequests(): Iterable<[backend: string, count: number]>;
}

/** Telemetry as the server lifecycle sees it. */
export interface TelemetryRuntime extends RequestTelemetry {
  /** Flush every queue, bounded by the given time; never throws. */
  flush(timeoutMs: number): Promise<void>;
  shutdown(timeoutMs: number): Promise<void>;
}

/** Telemetry that does nothing; used when OTEL_SDK_DISABLED=true and in proxy-only tests. */
export const noopTelemetry: TelemetryRuntime = {
  onPlan() {},
  onRequestStart() {},
  onAttemptStart() {},
  onAttemptEnd() {},
  onRequestEnd() {},
  async flush() {},
  async shutdown() {},
};
