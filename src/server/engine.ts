// The one place the server lifecycle reaches into config, plan and proxy. Everything else
// in src/server talks to this narrow shape, so the lifecycle can be read (and reasoned
// about) without the details of loading, compiling or proxying.
import type { Server, ServerResponse } from "node:http";
import type { ResolvedConfig } from "../config/model.ts";
import type { CompiledListener, RuntimePlan } from "../plan/types.ts";
import type { GatewayStats, TelemetryRuntime } from "../telemetry/hooks.ts";
import { redactConfigForAdmin } from "../config/redact.ts";
import { compileConfig, loadConfig, type CompileResult, type LoadResult } from "./config-stage.ts";
import { createProxyHandlers, type ProxyHandlers } from "../proxy/handler.ts";
import { applyListenerSettings, createListenerServer } from "../proxy/listener.ts";
import { UpstreamPools } from "../proxy/pools.ts";
import { prepareKeyedTable } from "../proxy/load-balancer.ts";
import { servesTls } from "../proxy/tls-listener.ts";

/** The entry points a gateway listener dispatches to. */
export type ListenerHandlers = ProxyHandlers;

export type { CompileResult, LoadResult };

/** The upstream connection pools; they outlive plans so warm connections survive a reload. */
export type Pools = UpstreamPools;

export interface ProxyDeps {
  readonly currentPlan: () => RuntimePlan;
  readonly telemetry: TelemetryRuntime;
  readonly stats: GatewayStats;
  /** The listener's in-flight tracking, told when each response closed. */
  readonly responseClosed?: (res: ServerResponse) => void;
  /** Where a telemetry hook that throws is reported (rate-limited by the proxy). */
  readonly warn?: (message: string, fields: Readonly<Record<string, unknown>>) => void;
  /** Whether the listener drains (its health checks answer 503 then). */
  readonly draining?: () => boolean;
}

export interface Engine {
  load(path: string): Promise<LoadResult>;
  /** `previous`: the plan serving now; state that outlives a reload (rate limit buckets) passes from it. */
  compile(config: ResolvedConfig, generation: number, previous?: RuntimePlan): CompileResult;
  redact(config: ResolvedConfig): unknown;
  createPools(): Pools;
  /** After a swap: close the pools of origins the new plan no longer uses. */
  retainPools(pools: Pools, plan: RuntimePlan): void;
  /** Open upstream connections per backend display name, for GatewayStats. */
  openConnections(pools: Pools, plan: RuntimePlan | undefined): Iterable<[backend: string, count: number]>;
  /** Requests waiting for a free upstream connection per backend display name, for GatewayStats. */
  pendingRequests(pools: Pools, plan: RuntimePlan | undefined): Iterable<[backend: string, count: number]>;
  /** Handlers for one config listener port; they read `deps.currentPlan()` once per request. */
  createHandlers(deps: ProxyDeps, pools: Pools, configPort: number): ListenerHandlers;
  /** A plain HTTP server for an HTTP port, an HTTPS one (TLS terminated) for an HTTPS port. */
  createServer(listener: CompiledListener, handlers: ListenerHandlers): Server;
  /** A reload's limits and certificates for a running server. */
  applySettings(server: Server, listener: CompiledListener): void;
  /** Whether the server terminates TLS (a running port keeps its protocol). */
  servesTls(server: Server): boolean;
}

export const engine: Engine = {
  load: loadConfig,
  compile: compileConfig,
  redact(config) {
    return redactConfigForAdmin(config);
  },
  createPools() {
    return new UpstreamPools();
  },
  retainPools(pools, plan) {
    const origins = new Set<string>();
    const limits = new Map<string, Set<number | undefined>>();
    for (const backend of plan.upstreams) {
      // Built now, at the reload, rather than by the first request to the backend: a context
      // holding the well-known CAs takes tens of milliseconds.
      if (backend.model.tls !== undefined && backend.model.tls.unusable === undefined) void backend.model.tls.connectOptions;
      prepareKeyedTable(backend);
      for (const e of backend.endpoints) {
        origins.add(e.poolKey);
        let used = limits.get(e.poolKey);
        if (used === undefined) limits.set(e.poolKey, (used = new Set()));
        used.add(backend.model.maxConnections);
      }
    }
    pools.retain(origins, limits);
  },
  openConnections(pools, plan) {
    return perBackend(plan, pools.openConnections());
  },
  pendingRequests(pools, plan) {
    return perBackend(plan, pools.pendingRequests());
  },
  createHandlers(deps, pools, configPort) {
    return createProxyHandlers(
      { currentPlan: deps.currentPlan, telemetry: deps.telemetry, pools, stats: deps.stats, responseClosed: deps.responseClosed, warn: deps.warn, draining: deps.draining },
      configPort,
    );
  },
  createServer(listener, handlers) {
    return createListenerServer(listener.settings, handlers, listener.tls, listener.proxyProtocol);
  },
  applySettings(server, listener) {
    applyListenerSettings(server, listener.settings, listener.tls, listener.proxyProtocol);
  },
  servesTls(server) {
    return servesTls(server);
  },
};

/** Per-origin counts summed over each backend's endpoints, by backend display name. */
function perBackend(plan: RuntimePlan | undefined, perOrigin: Iterable<[origin: string, count: number]>): [string, number][] {
  if (plan === undefined) return [];
  const byOrigin = new Map(perOrigin);
  // A backend compiled again for a Gateway's client certificate counts under the same name.
  const byName = new Map<string, number>();
  for (const backend of plan.upstreams) {
    let count = byName.get(backend.displayName) ?? 0;
    for (const e of backend.endpoints) count += byOrigin.get(e.poolKey) ?? 0;
    byName.set(backend.displayName, count);
  }
  return [...byName];
}
