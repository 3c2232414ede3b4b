// Where a serving process gets its telemetry. Each process (a single gateway, or each
// cluster worker, identified by TOLLGATE_WORKER_ID) owns one TelemetryRuntime built from
// the OTEL_* environment. When telemetry also renders its instruments for Prometheus, it
// exposes that as `metrics` (a MetricsEndpoint) and /metrics serves it; otherwise /metrics
// serves the fallback exposition of GatewayStats.
import type { MetricsEndpoint } from "../admin/metrics-endpoint.ts";
import { envBool } from "../telemetry/env.ts";
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
  /** Defaults to process.env. */
  readonly env?: NodeJS.ProcessEnv;
}

/** What telemetry may add to its runtime to take over GET /metrics. */
interface WithMetricsEndpoint {
  readonly metrics?: MetricsEndpoint;
}

export async function setUpTelemetry(context: TelemetryContext): Promise<TelemetrySetup> {
  const env = context.env ?? process.env;
  // OTEL_SDK_DISABLED=true turns every signal off, whatever the policy file says. The SDK,
  // its exporters and gRPC are then never loaded: about 300 modules and tens of MB of a
  // process that would never use them.
  if (envBool(env, "OTEL_SDK_DISABLED", false)) return { runtime: noopTelemetry, metrics: undefined };
  const { createTelemetry } = await import("../telemetry/index.ts");
  const log = context.log.child({ component: "telemetry" });
  const runtime = createTelemetry({
    env,
    stats: context.stats,
    ...(context.workerId === undefined ? {} : { workerId: context.workerId }),
    warn: (message, fields) => log.warn(message, fields),
  });
  const metrics = (runtime as WithMetricsEndpoint).metrics;
  return { runtime, metrics: typeof metrics?.render === "function" ? metrics : undefined };
}
