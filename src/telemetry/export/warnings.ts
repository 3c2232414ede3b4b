// Export failures are reported at most once per exporter per interval (default one minute),
// naming the endpoint and how much was lost since the last report, so a dead collector
// cannot flood the gateway's log.

export type WarnSink = (message: string, fields: Readonly<Record<string, unknown>>) => void;

export class RateLimitedWarning {
  readonly #endpoint: string;
  readonly #sink: WarnSink;
  readonly #intervalMs: number;
  readonly #now: () => number;
  #lastAt = Number.NEGATIVE_INFINITY;
  #suppressedFailures = 0;
  #suppressedItems = 0;

  constructor(endpoint: string, sink: WarnSink, intervalMs = 60_000, now: () => number = Date.now) {
    this.#endpoint = endpoint;
    this.#sink = sink;
    this.#intervalMs = intervalMs;
    this.#now = now;
  }

  /** Record one failed export of `items` items; emit a warning if the interval allows. */
  failure(signal: string, items: number, cause: string): void {
    this.#suppressedFailures++;
    this.#suppressedItems += items;
    const now = this.#now();
    if (now - this.#lastAt < this.#intervalMs) return;
    this.#lastAt = now;
    this.#sink(`telemetry export to ${this.#endpoint} failed: ${cause}`, {
      signal,
      endpoint: this.#endpoint,
      failedExports: this.#suppressedFailures,
      droppedItems: this.#suppressedItems,
      nextReportAfterMs: this.#intervalMs,
    });
    this.#suppressedFailures = 0;
    this.#suppressedItems = 0;
  }
}

/** The default sink: one JSON line on stderr, the same shape as the gateway's own log. */
export const stderrWarnSink: WarnSink = (message, fields) => {
  process.stderr.write(JSON.stringify({ level: "warn", time: new Date().toISOString(), msg: message, ...fields }) + "\n");
};
