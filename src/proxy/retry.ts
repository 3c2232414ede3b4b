// Retry policy pieces: which methods may be repeated and how long to wait before doing so.
import type { RetryModel } from "../config/model.ts";
import type { Failure } from "./failures.ts";
import type { HookErrorCounts } from "./guarded-telemetry.ts";
import type { RateLimitCounts } from "./local-rate-limit.ts";
import type { GlobalRateLimitCounts } from "./global-rate-limit.ts";
import type { AccessDenials } from "./access-denials.ts";
import type { ExternalAuthCounts } from "./external-auth-counts.ts";
import type { JwksFetchCounts } from "./jwks-fetches.ts";
import type { CsrfChecks } from "./csrf-checks.ts";
import type { CompressionBytes, CompressionCounts, DecompressionCounts } from "./compression-counts.ts";
import type { FaultInjections } from "./fault-injection.ts";
import type { MirrorDrops } from "./mirror.ts";
import type { TlsHandshakeErrors } from "./tls-handshake-errors.ts";
import type { ProxyProtocolErrors } from "./proxy-protocol-errors.ts";

/** RFC 9110 §9.2.2 idempotent methods; only these are ever sent twice. */
export function isIdempotent(method: string): boolean {
  switch (method) {
    case "GET":
    case "HEAD":
    case "OPTIONS":
    case "PUT":
    case "DELETE":
    case "TRACE":
      return true;
    default:
      return false;
  }
}

/**
 * Whether the rule's retry asks for another attempt after this answer (its status, or Envoy's
 * rate limit mark). As in Envoy, an answer an Envoy behind the gateway marked overloaded is
 * never retried: a retry would add to the overload.
 */
export function retriesAnswer(retry: RetryModel, status: number, headers: Readonly<Record<string, string | string[] | undefined>>): boolean {
  if (headers["x-envoy-overloaded"] !== undefined) return false;
  return retry.codes.includes(status) || (retry.onRateLimited && headers["x-envoy-ratelimited"] !== undefined);
}

/**
 * Whether a failure without an answer is one the rule retries: a connection never made, or
 * one made that gave no answer (reset, per-attempt timeout). Without a retry policy nothing
 * is retried whatever this says.
 */
export function retriesFailure(retry: RetryModel | undefined, failure: Failure): boolean {
  if (retry === undefined) return true;
  return failure.beforeConnect ? retry.onConnectFailure : retry.onReset;
}

/** The longest wait, as a multiple of the configured base backoff. */
const MAX_BACKOFF_FACTOR = 10;

/**
 * Exponential backoff with equal jitter: for the n-th retry (1-based) the ceiling is
 * base·2^(n−1), capped at 10·base; the wait is half the ceiling plus a random part of the
 * other half, so concurrent retries spread out but never retry at once.
 */
export function backoffDelayMs(baseMs: number, retryNumber: number): number {
  if (baseMs <= 0) return 0;
  const ceiling = Math.min(baseMs * 2 ** (retryNumber - 1), baseMs * MAX_BACKOFF_FACTOR);
  return ceiling / 2 + Math.random() * (ceiling / 2);
}

/** Mutable counters the proxy keeps for metrics (GatewayStats.retries, .telemetryHookErrors). */
export interface ProxyStats {
  /** Retries since start, per backend display name. */
  readonly retries: Map<string, number>;
  /** Telemetry hook calls that threw (and were contained) since start, per hook. */
  readonly telemetryHookErrors: HookErrorCounts;
  /** RequestMirror copies dropped, per mirror backend and reason. */
  readonly mirrorDrops?: MirrorDrops;
  /** TLS handshakes the HTTPS listeners failed, per port and reason. */
  readonly tlsHandshakeErrors?: TlsHandshakeErrors;
  /** Connections the PROXY protocol ports closed for their header, per port and reason. */
  readonly proxyProtocolErrors?: ProxyProtocolErrors;
  /** Requests local rate limits found over their limit, per route, rule and enforcement. */
  readonly rateLimits?: RateLimitCounts;
  /** What global rate limit checks decided, per route, rule, policy and outcome. */
  readonly globalRateLimits?: GlobalRateLimitCounts;
  /** Requests the access controls refused, per route, rule, policy and kind. */
  readonly accessDenials?: AccessDenials;
  /** What ExternalAuth checks decided, per route, rule, policy and outcome. */
  readonly externalAuthChecks?: ExternalAuthCounts;
  /** Remote JWKS fetches, per JWT provider and outcome. */
  readonly jwksFetches?: JwksFetchCounts;
  /** What csrf checks found, per route, rule, policy and outcome. */
  readonly csrfChecks?: CsrfChecks;
  /** Faults injected, per route, rule, policy and kind. */
  readonly faultInjections?: FaultInjections;
  /** Responses of rules with compression, per route, rule, policy and outcome, and their body bytes. */
  readonly compressions?: CompressionCounts;
  readonly compressionBytes?: CompressionBytes;
  /** Decoded request bodies, per route, rule, policy, coding and outcome. */
  readonly decompressions?: DecompressionCounts;
}

export function countRetry(stats: ProxyStats | undefined, backend: string): void {
  if (stats === undefined) return;
  stats.retries.set(backend, (stats.retries.get(backend) ?? 0) + 1);
}
