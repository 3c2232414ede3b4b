// Where a serving process gets its telemetry. Each process (a single gateway, or each
// cluster worker, identified by TOLLGATE_WORKER_ID) owns one TelemetryRuntime and,
// optionally, the MetricsEndpoint that renders its instruments for /metrics. Without a
// telemetry-provided endpoint, /metrics serves the fallback exposition of GatewayStats.
import type { MetricsEndpoint } from "../admin/metrics-endpoint.ts";
import { noopTelemetry, type GatewayStats, type TelemetryRuntime } from "../telemetry/hooks.ts";
import type { Logger } from "./log.ts";

export interface TelemetrySetup {
  readonly runtime: TelemetryRuntime;
  readonly metrics: MetricsEndpoint | undefined;
}

export interface TelemetryContext {
  readonly stats: GatewayStats;
  readonly workerId: number | undefined;
  readonly version: string;
  readonly log: Logger;
}

export async function setUpTelemetry(_context: TelemetryContext): Promise<TelemetrySetup> {
  return { runtime: noopTelemetry, metrics: undefined };
}
