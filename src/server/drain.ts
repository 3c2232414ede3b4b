// The graceful drain of a serving process (a single gateway or one cluster worker):
//   1. /readyz turns 503 and responses carry `Connection: close` (the caller flips readiness);
//   2. after the grace period, new connections are refused;
//   3. in-flight requests finish, up to the drain timeout;
//   4. idle keep-alive connections close as they go idle, the rest are cut at the timeout;
//   5. telemetry is flushed and shut down;
//   6. the caller exits 0.
import type { TelemetryRuntime } from "../telemetry/hooks.ts";
import type { Gateway } from "./gateway.ts";
import type { Logger } from "./log.ts";

export interface DrainTiming {
  readonly graceMs: number;
  readonly timeoutMs: number;
  readonly telemetryTimeoutMs: number;
}

export async function drainGateway(gateway: Gateway, telemetry: TelemetryRuntime, timing: DrainTiming, log: Logger): Promise<void> {
  gateway.beginDrain();
  log.info("drain: not ready; new responses carry Connection: close", { graceMs: timing.graceMs, inFlight: gateway.inFlight() });
  await delay(timing.graceMs);

  gateway.stopAccepting();
  const waiting = gateway.inFlight();
  log.info("drain: stopped accepting connections", { inFlight: waiting, timeoutMs: timing.timeoutMs });

  const clean = await gateway.finishInFlight(timing.timeoutMs);
  if (clean) log.info("drain: in-flight requests finished; connections closed");
  else log.warn("drain: timeout reached; remaining connections were cut", { cut: gateway.inFlight() });

  await gateway.closePools().catch((error: unknown) => log.warn("drain: closing upstream pools failed", { error }));
  await telemetry
    .shutdown(timing.telemetryTimeoutMs)
    .then(() => log.info("drain: telemetry flushed"))
    .catch((error: unknown) => log.warn("drain: telemetry shutdown failed", { error }));
}

export function delay(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}
