// Counts telemetry that was produced but never reached a collector, per signal and reason.
// Issue 4 turns these counts into the `tollgate.telemetry.dropped` metric; the admin and
// tests read them directly. Counting is a map update, cheap enough for the hot path.

export type TelemetrySignal = "traces" | "logs" | "metrics";

/** Why items were dropped; documented in the registry (src/telemetry/registry.ts). */
export type DropReason =
  /** The bounded queue was full: the exporter is slower than the traffic, or stuck. */
  | "queue_full"
  /** The exporter reported failure (collector down, refused, rejected the payload). */
  | "export_failed"
  /** The exporter did not answer within the export timeout. */
  | "export_timeout"
  /** Still queued when shutdown's time ran out. */
  | "shutdown";

export interface DropCount {
  readonly signal: TelemetrySignal;
  readonly reason: DropReason;
  readonly count: number;
}

export class TelemetryDrops {
  readonly #counts = new Map<string, { signal: TelemetrySignal; reason: DropReason; count: number }>();

  add(signal: TelemetrySignal, reason: DropReason, n: number): void {
    if (n <= 0) return;
    const key = signal + "\u0000" + reason;
    const entry = this.#counts.get(key);
    if (entry !== undefined) entry.count += n;
    else this.#counts.set(key, { signal, reason, count: n });
  }

  get(signal: TelemetrySignal, reason?: DropReason): number {
    let total = 0;
    for (const e of this.#counts.values()) {
      if (e.signal === signal && (reason === undefined || e.reason === reason)) total += e.count;
    }
    return total;
  }

  snapshot(): DropCount[] {
    return [...this.#counts.values()].map((e) => ({ signal: e.signal, reason: e.reason, count: e.count }));
  }
}
