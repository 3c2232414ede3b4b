// Gateway-level instruments, observed at collection time from GatewayStats and the drop
// counters: nothing is recorded on the request path for them.
import type { GatewayStats } from "../hooks.ts";
import type { TelemetryDrops } from "../export/drops.ts";
import { TOLLGATE_VERSION } from "../version.ts";
import {
  ACCESS_LOG_FILTER_ERRORS,
  BUILD_INFO,
  CONFIG_RELOADS,
  MIRRORS_DROPPED,
  OPEN_CONNECTIONS,
  PENDING_REQUESTS,
  RATE_LIMITED,
  RATE_LIMIT_CHECKS,
  ACCESS_DENIED,
  CSRF_CHECKS,
  COMPRESSION_BYTES,
  COMPRESSION_RESPONSES,
  DECOMPRESSION_REQUESTS,
  FAULT_INJECTIONS,
  EXT_AUTHZ_CHECKS,
  JWKS_FETCHES,
  RETRIES,
  TELEMETRY_DROPPED,
  TELEMETRY_HOOK_ERRORS,
  TLS_HANDSHAKE_ERRORS,
  PROXY_PROTOCOL_ERRORS,
} from "./instruments.ts";
import type { ObservableInstrument } from "./store.ts";

/** Failed access-log filter evaluations per gateway name (LogsSignal.filterErrors). */
export type FilterErrorSource = () => Iterable<readonly [gatewayName: string, count: number]>;

export function gatewayInstruments(stats: GatewayStats | undefined, drops: TelemetryDrops, filterErrors?: FilterErrorSource): ObservableInstrument[] {
  const out: ObservableInstrument[] = [
    { descriptor: BUILD_INFO, observe: () => [[{ "tollgate.version": TOLLGATE_VERSION, "process.runtime.version": process.versions.node }, 1]] },
    {
      descriptor: TELEMETRY_DROPPED,
      observe: () => drops.snapshot().map((d) => [{ signal: d.signal, reason: d.reason }, d.count] as const),
    },
  ];
  if (filterErrors !== undefined) {
    out.push({ descriptor: ACCESS_LOG_FILTER_ERRORS, observe: () => [...filterErrors()].map(([gateway, n]) => [{ "tollgate.gateway.name": gateway }, n] as const) });
  }
  if (stats !== undefined) {
    out.push(
      {
        descriptor: CONFIG_RELOADS,
        observe: () => [
          [{ outcome: "success" }, stats.reloads.success],
          [{ outcome: "failure" }, stats.reloads.failure],
        ],
      },
      { descriptor: RETRIES, observe: () => [...stats.retries].map(([backend, n]) => [{ "tollgate.backend.name": backend }, n] as const) },
      {
        descriptor: MIRRORS_DROPPED,
        observe: () => [...(stats.mirrorDrops?.entries() ?? [])].map(([backend, reason, n]) => [{ "tollgate.backend.name": backend, reason }, n] as const),
      },
      {
        descriptor: RATE_LIMITED,
        observe: () =>
          [...(stats.rateLimits?.entries() ?? [])].map(([route, rule, policy, enforced, n]) => [{ "tollgate.route.name": route, "tollgate.rule.name": rule, "tollgate.rate_limit.policy": policy, enforced }, n] as const),
      },
      {
        descriptor: RATE_LIMIT_CHECKS,
        observe: () =>
          [...(stats.globalRateLimits?.entries() ?? [])].map(
            ([route, rule, policy, outcome, n]) => [{ "tollgate.route.name": route, "tollgate.rule.name": rule, "tollgate.rate_limit.policy": policy, "tollgate.rate_limit.outcome": outcome }, n] as const,
          ),
      },
      {
        descriptor: JWKS_FETCHES,
        observe: () => [...(stats.jwksFetches?.entries() ?? [])].map(([provider, outcome, n]) => [{ "tollgate.jwt.provider": provider, "tollgate.jwt.jwks_fetch.outcome": outcome }, n] as const),
      },
      {
        descriptor: EXT_AUTHZ_CHECKS,
        observe: () =>
          [...(stats.externalAuthChecks?.entries() ?? [])].map(
            ([route, rule, policy, outcome, n]) =>
              [{ "tollgate.route.name": route, "tollgate.rule.name": rule, ...(policy === "" ? {} : { "tollgate.ext_authz.policy": policy }), "tollgate.ext_authz.outcome": outcome }, n] as const,
          ),
      },
      {
        descriptor: ACCESS_DENIED,
        observe: () =>
          [...(stats.accessDenials?.entries() ?? [])].map(
            ([route, rule, policy, kind, n]) => [{ "tollgate.route.name": route, "tollgate.rule.name": rule, "tollgate.access_control.policy": policy, "tollgate.access_control.kind": kind }, n] as const,
          ),
      },
      {
        descriptor: CSRF_CHECKS,
        observe: () =>
          [...(stats.csrfChecks?.entries() ?? [])].map(
            ([route, rule, policy, outcome, n]) => [{ "tollgate.route.name": route, "tollgate.rule.name": rule, "tollgate.csrf.policy": policy, "tollgate.csrf.outcome": outcome }, n] as const,
          ),
      },
      {
        descriptor: FAULT_INJECTIONS,
        observe: () =>
          [...(stats.faultInjections?.entries() ?? [])].map(
            ([route, rule, policy, kind, n]) => [{ "tollgate.route.name": route, "tollgate.rule.name": rule, "tollgate.fault.policy": policy, "tollgate.fault.kind": kind }, n] as const,
          ),
      },
      {
        descriptor: COMPRESSION_RESPONSES,
        observe: () =>
          [...(stats.compressions?.entries() ?? [])].map(
            ([route, rule, policy, outcome, n]) => [{ "tollgate.route.name": route, "tollgate.rule.name": rule, "tollgate.compression.policy": policy, "tollgate.compression.outcome": outcome }, n] as const,
          ),
      },
      {
        descriptor: COMPRESSION_BYTES,
        observe: () =>
          [...(stats.compressionBytes?.entries() ?? [])].map(
            ([route, rule, policy, stage, n]) => [{ "tollgate.route.name": route, "tollgate.rule.name": rule, "tollgate.compression.policy": policy, "tollgate.compression.stage": stage }, n] as const,
          ),
      },
      {
        descriptor: DECOMPRESSION_REQUESTS,
        observe: () =>
          [...(stats.decompressions?.byCoding() ?? [])].map(
            ([route, rule, policy, coding, outcome, n]) =>
              [{ "tollgate.route.name": route, "tollgate.rule.name": rule, "tollgate.compression.policy": policy, "tollgate.decompression.encoding": coding, "tollgate.decompression.outcome": outcome }, n] as const,
          ),
      },
      {
        descriptor: TLS_HANDSHAKE_ERRORS,
        observe: () => [...(stats.tlsHandshakeErrors?.entries() ?? [])].map(([port, reason, n]) => [{ "server.port": port, reason }, n] as const),
      },
      {
        descriptor: PROXY_PROTOCOL_ERRORS,
        observe: () => [...(stats.proxyProtocolErrors?.entries() ?? [])].map(([port, reason, n]) => [{ "server.port": port, reason }, n] as const),
      },
      { descriptor: OPEN_CONNECTIONS, observe: () => [...stats.openConnections()].map(([backend, n]) => [{ "tollgate.backend.name": backend }, n] as const) },
      { descriptor: PENDING_REQUESTS, observe: () => [...stats.pendingRequests()].map(([backend, n]) => [{ "tollgate.backend.name": backend }, n] as const) },
      { descriptor: TELEMETRY_HOOK_ERRORS, observe: () => [...stats.telemetryHookErrors].map(([hook, n]) => [{ "tollgate.telemetry.hook": hook }, n] as const) },
    );
  }
  return out;
}
