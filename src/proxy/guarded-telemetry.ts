// Telemetry must never break a request: a hook that throws is contained and the request goes
// on. Its telemetry may then be incomplete (a span never ended, a record never written), so a
// failure is never silent either: every one is counted per hook (GatewayStats, exported as
// `tollgate.telemetry.hook.errors`) and one warning per minute names the hook and the error.
import type { OutgoingHeaders, RequestTelemetry } from "../telemetry/hooks.ts";
import type { Exchange, UpstreamAttempt } from "./exchange.ts";

/** The hooks as they are named in the metric's `tollgate.telemetry.hook` attribute. */
export type TelemetryHookName = "request_start" | "attempt_start" | "attempt_end" | "request_end";

/** Where failures are counted: the process's GatewayStats, shared by every listener. */
export type HookErrorCounts = Map<TelemetryHookName, number>;

export type HookWarnSink = (message: string, fields: Readonly<Record<string, unknown>>) => void;

/** Stack lines kept in the warning: enough to find the frame, not a log flood. */
const STACK_LINES = 6;

export class GuardedTelemetry {
  readonly #inner: RequestTelemetry;
  readonly #counts: HookErrorCounts;
  readonly #warn: HookWarnSink | undefined;
  readonly #intervalMs: number;
  readonly #now: () => number;
  #lastWarnAt = Number.NEGATIVE_INFINITY;
  #unreported = 0;

  constructor(
    inner: RequestTelemetry,
    counts: HookErrorCounts = new Map(),
    warn?: HookWarnSink,
    intervalMs = 60_000,
    now: () => number = Date.now,
  ) {
    this.#inner = inner;
    this.#counts = counts;
    this.#warn = warn;
    this.#intervalMs = intervalMs;
    this.#now = now;
  }

  requestStart(exchange: Exchange): void {
    try {
      this.#inner.onRequestStart(exchange);
    } catch (error) {
      this.#failed("request_start", error);
    }
  }

  attemptStart(exchange: Exchange, attempt: UpstreamAttempt, headers: OutgoingHeaders): void {
    try {
      this.#inner.onAttemptStart(exchange, attempt, headers);
    } catch (error) {
      this.#failed("attempt_start", error);
    }
  }

  attemptEnd(exchange: Exchange, attempt: UpstreamAttempt): void {
    try {
      this.#inner.onAttemptEnd(exchange, attempt);
    } catch (error) {
      this.#failed("attempt_end", error);
    }
  }

  requestEnd(exchange: Exchange): void {
    try {
      this.#inner.onRequestEnd(exchange);
    } catch (error) {
      this.#failed("request_end", error);
    }
  }

  #failed(hook: TelemetryHookName, error: unknown): void {
    this.#counts.set(hook, (this.#counts.get(hook) ?? 0) + 1);
    this.#unreported++;
    if (this.#warn === undefined) return;
    const now = this.#now();
    if (now - this.#lastWarnAt < this.#intervalMs) return;
    this.#lastWarnAt = now;
    const err = error instanceof Error ? error : new Error(String(error));
    this.#warn(`telemetry hook ${hook} threw; the request went on, its telemetry may be incomplete: ${err.message}`, {
      hook,
      errorType: err.name,
      stack: (err.stack ?? "").split("\n").slice(0, STACK_LINES).join("\n"),
      failedCalls: this.#unreported,
      nextReportAfterMs: this.#intervalMs,
    });
    this.#unreported = 0;
  }
}
