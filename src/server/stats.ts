// The process's GatewayStats (telemetry/hooks.ts): reload outcomes counted here, retries
// and telemetry hook failures counted by the proxy, open upstream connections and
// pending requests read live from the pools.
import type { HookErrorCounts } from "../proxy/guarded-telemetry.ts";
import { RateLimitCounts } from "../proxy/local-rate-limit.ts";
import { GlobalRateLimitCounts } from "../proxy/global-rate-limit.ts";
import { AccessDenials } from "../proxy/access-denials.ts";
import { CsrfChecks } from "../proxy/csrf-checks.ts";
import { FaultInjections } from "../proxy/fault-injection.ts";
import { CompressionBytes, CompressionCounts, DecompressionCounts } from "../proxy/compression-counts.ts";
import { ExternalAuthCounts } from "../proxy/external-auth-counts.ts";
import { MirrorDrops } from "../proxy/mirror.ts";
import { JwksFetchCounts } from "../proxy/jwks-fetches.ts";
import { TlsHandshakeErrors } from "../proxy/tls-handshake-errors.ts";
import { ProxyProtocolErrors } from "../proxy/proxy-protocol-errors.ts";
import type { GatewayStats } from "../telemetry/hooks.ts";

export interface UpstreamSource {
  openConnections(): Iterable<[backend: string, count: number]>;
  pendingRequests(): Iterable<[backend: string, count: number]>;
}

export class ProcessStats implements GatewayStats {
  readonly reloads = { success: 0, failure: 0 };
  readonly retries = new Map<string, number>();
  readonly telemetryHookErrors: HookErrorCounts = new Map();
  readonly mirrorDrops = new MirrorDrops();
  readonly tlsHandshakeErrors = new TlsHandshakeErrors();
  readonly proxyProtocolErrors = new ProxyProtocolErrors();
  readonly rateLimits = new RateLimitCounts();
  readonly globalRateLimits = new GlobalRateLimitCounts();
  readonly accessDenials = new AccessDenials();
  readonly csrfChecks = new CsrfChecks();
  readonly faultInjections = new FaultInjections();
  readonly compressions = new CompressionCounts();
  readonly compressionBytes = new CompressionBytes();
  readonly decompressions = new DecompressionCounts();
  readonly externalAuthChecks = new ExternalAuthCounts();
  readonly jwksFetches = new JwksFetchCounts();
  #upstreams: UpstreamSource | undefined;

  /** The pools arrive after the stats object is created; until then there are no connections. */
  attachUpstreams(source: UpstreamSource): void {
    this.#upstreams = source;
  }

  openConnections(): Iterable<[backend: string, count: number]> {
    return this.#upstreams?.openConnections() ?? [];
  }

  pendingRequests(): Iterable<[backend: string, count: number]> {
    return this.#upstreams?.pendingRequests() ?? [];
  }
}
