// Counts telemetry that was produced but never reached a collector, per signal and reason.
// Issue 4 turns these counts into the `tollgate.telemetry.dropped` metric; the admin and
// tests read them directly. Counting is two property lookups and an add, cheap enough for the hot path.

export type TelemetrySignal = "traces" | "logs" | "metrics";

/** Why items were dropped; documented in the registry (src/telemetry/registry.ts). */
export type DropReason =
  /** The bounded queue was full: the exporter is slower than the traffic, or stuck. */
  | "queue_full"
  /** The exporter reported failure (collector down, refused, rejected the payload). */
  | "export_failed"
  /** The exporter did not answer within the export timeout. */
  | "export_timeout"
  /** The collector accepted the export only in part (OTLP partial success) and rejected these. */
  | "rejected"
  /** Still queued when shutdown's time ran out. */
  | "shutdown";

export interface DropCount {
  readonly signal: TelemetrySignal;
  readonly reason: DropReason;
  readonly count: number;
}

interface DropEntry {
  readonly signal: TelemetrySignal;
  readonly reason: DropReason;
  count: number;
}

export class TelemetryDrops {
  /** Looked up by signal, then reason: no key is built per dropped item. */
  readonly #bySignal: Record<TelemetrySignal, Partial<Record<DropReason, DropEntry>>> = { traces: {}, logs: {}, metrics: {} };
  /** The same entries in first-seen order, for snapshots. */
  readonly #entries: DropEntry[] = [];

  add(signal: TelemetrySignal, reason: DropReason, n: number): void {
    if (n <= 0) return;
    const reasons = this.#bySignal[signal];
    const entry = reasons[reason];
    if (entry !== undefined) entry.count += n;
    else {
      const created = { signal, reason, count: n };
      reasons[reason] = created;
      this.#entries.push(created);
    }
  }

  get(signal: TelemetrySignal, reason?: DropReason): number {
    let total = 0;
    for (const e of this.#entries) {
      if (e.signal === signal && (reason === undefined || e.reason === reason)) total += e.count;
    }
    return total;
  }

  snapshot(): DropCount[] {
    return this.#entries.map((e) => ({ signal: e.signal, reason: e.reason, count: e.count }));
  }
}
