// A serving process: telemetry, stats and a Gateway wired together. A single-process
// gateway and each cluster worker build one; they differ only in who owns the ops/admin
// listeners and where reload and drain commands come from.
import { fallbackMetrics } from "../admin/fallback-metrics.ts";
import type { MetricsEndpoint } from "../admin/metrics-endpoint.ts";
import type { TelemetryRuntime } from "../telemetry/hooks.ts";
import { startWallClockSync } from "../telemetry/wall-clock.ts";
import type { RunContext } from "./context.ts";
import { drainGateway } from "./drain.ts";
import { engine } from "./engine.ts";
import { Gateway, type ListenerBinding } from "./gateway.ts";
import { ProcessStats } from "./stats.ts";
import { setUpTelemetry } from "./telemetry-setup.ts";

export interface ServingProcess {
  readonly gateway: Gateway;
  readonly telemetry: TelemetryRuntime;
  readonly metrics: MetricsEndpoint;
  /** Runs drain steps 2-5 (the caller has flipped readiness); resolves when it is safe to exit. */
  drain(): Promise<void>;
}

export async function createServingProcess(
  context: RunContext,
  resolvePort: (configPort: number) => Promise<number>,
  onListenersChanged: (listeners: readonly ListenerBinding[]) => void,
): Promise<ServingProcess> {
  const { settings, log } = context;
  const stats = new ProcessStats();
  const stopClockSync = startWallClockSync((correctionMs) => {
    const fields = { correctionMs: Math.round(correctionMs) };
    const message = "the wall clock moved against the monotonic clock; telemetry timestamps follow it from now on";
    // NTP's first sync steps by milliseconds; a second or more is worth an operator's look.
    if (Math.abs(correctionMs) >= 1000) log.warn(message, fields);
    else log.debug(message, fields);
  });
  const telemetry = await setUpTelemetry({ stats, workerId: settings.workerId, version: context.version, log });
  const gateway = new Gateway({
    configPath: context.configPath,
    listenerHost: settings.listenerHost,
    resolvePort,
    engine,
    telemetry: telemetry.runtime,
    stats,
    log,
    removedListenerTimeoutMs: settings.drainTimeoutMs,
    startNeedsListeners: settings.workerSiblingsServe,
    startPortProtocols: settings.workerSiblingsServe ? settings.workerSiblingProtocols : undefined,
    onListenersChanged,
  });
  const metrics = telemetry.metrics ?? fallbackMetrics(stats, { version: context.version }, () => gateway.generation);
  let draining: Promise<void> | undefined;
  return {
    gateway,
    telemetry: telemetry.runtime,
    metrics,
    drain() {
      draining ??= drainGateway(
        gateway,
        telemetry.runtime,
        { graceMs: settings.drainGraceMs, timeoutMs: settings.drainTimeoutMs, telemetryTimeoutMs: settings.telemetryShutdownTimeoutMs },
        log,
      ).finally(stopClockSync);
      return draining;
    },
  };
}
