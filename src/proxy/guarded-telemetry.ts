// Telemetry must never break a request: a hook that throws is counted and the request goes on.
import type { OutgoingHeaders, RequestTelemetry } from "../telemetry/hooks.ts";
import type { Exchange, UpstreamAttempt } from "./exchange.ts";

export class GuardedTelemetry {
  readonly #inner: RequestTelemetry;
  /** Hook calls that threw, since start. */
  errors = 0;

  constructor(inner: RequestTelemetry) {
    this.#inner = inner;
  }

  requestStart(exchange: Exchange): void {
    try {
      this.#inner.onRequestStart(exchange);
    } catch {
      this.errors++;
    }
  }

  attemptStart(exchange: Exchange, attempt: UpstreamAttempt, headers: OutgoingHeaders): void {
    try {
      this.#inner.onAttemptStart(exchange, attempt, headers);
    } catch {
      this.errors++;
    }
  }

  attemptEnd(exchange: Exchange, attempt: UpstreamAttempt): void {
    try {
      this.#inner.onAttemptEnd(exchange, attempt);
    } catch {
      this.errors++;
    }
  }

  requestEnd(exchange: Exchange): void {
    try {
      this.#inner.onRequestEnd(exchange);
    } catch {
      this.errors++;
    }
  }
}
