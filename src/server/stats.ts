// The process's GatewayStats (telemetry/hooks.ts): reload outcomes counted here, retries
// and telemetry hook failures counted by the proxy, open upstream connections read live from the pools.
import type { HookErrorCounts } from "../proxy/guarded-telemetry.ts";
import type { GatewayStats } from "../telemetry/hooks.ts";

export interface OpenConnectionsSource {
  openConnections(): Iterable<[backend: string, count: number]>;
}

export class ProcessStats implements GatewayStats {
  readonly reloads = { success: 0, failure: 0 };
  readonly retries = new Map<string, number>();
  readonly telemetryHookErrors: HookErrorCounts = new Map();
  #connections: OpenConnectionsSource | undefined;

  /** The pools arrive after the stats object is created; until then there are no connections. */
  attachConnections(source: OpenConnectionsSource): void {
    this.#connections = source;
  }

  openConnections(): Iterable<[backend: string, count: number]> {
    return this.#connections?.openConnections() ?? [];
  }
}
