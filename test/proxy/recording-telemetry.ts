// A real implementation of the proxy's RequestTelemetry interface that keeps what it sees:
// the hook order per path, and each finished Exchange.
import type { Exchange, UpstreamAttempt } from "../../src/proxy/exchange.ts";
import type { OutgoingHeaders, RequestTelemetry } from "../../src/telemetry/hooks.ts";
import type { RuntimePlan } from "../../src/plan/types.ts";
import { RequestFacts } from "../../src/telemetry/logs/facts.ts";
import { responseCodeDetails } from "../../src/telemetry/logs/envoy-render.ts";
import { forwardedViewOf } from "../../src/telemetry/logs/logged-request-headers.ts";

export class RecordingTelemetry implements RequestTelemetry {
  readonly events: string[] = [];
  readonly ended: Exchange[] = [];
  /** Every attempt (a check or a mirror copy included) as it ended. */
  readonly endedAttempts: UpstreamAttempt[] = [];
  readonly #waiters: { path: string; resolve: (e: Exchange) => void }[] = [];

  onPlan(_plan: RuntimePlan): void {}

  onRequestStart(exchange: Exchange): void {
    this.events.push(`start ${exchange.path} match=${exchange.match === undefined ? "none" : exchange.match.rule.routeKey}`);
  }

  onAttemptStart(exchange: Exchange, attempt: UpstreamAttempt, headers: OutgoingHeaders): void {
    this.events.push(`attemptStart ${exchange.path} #${attempt.index}`);
    headers.traceparent = `00-0af7651916cd43dd8448eb211c80319c-${String(attempt.index + 1).padStart(16, "0")}-01`;
  }

  onAttemptEnd(exchange: Exchange, attempt: UpstreamAttempt): void {
    this.events.push(`attemptEnd ${exchange.path} #${attempt.index} status=${attempt.status} error=${attempt.errorType ?? "-"}`);
    this.endedAttempts.push(attempt);
  }

  onRequestEnd(exchange: Exchange): void {
    this.events.push(`end ${exchange.path} status=${exchange.status}`);
    this.ended.push(exchange);
    for (let i = this.#waiters.length - 1; i >= 0; i--) {
      if (this.#waiters[i]!.path === exchange.path) this.#waiters.splice(i, 1)[0]!.resolve(exchange);
    }
  }

  /** The exchange for `path` once onRequestEnd ran for it. */
  endOf(path: string): Promise<Exchange> {
    const done = this.ended.find((e) => e.path === path);
    if (done !== undefined) return Promise.resolve(done);
    return new Promise((resolve) => this.#waiters.push({ path, resolve }));
  }

  /** `%RESPONSE_CODE_DETAILS%` of the exchange for `path`, once it ended. */
  async detailsOf(path: string): Promise<string> {
    return responseDetailsOf(await this.endOf(path));
  }

  eventsFor(path: string): string[] {
    return this.events.filter((e) => e.split(" ")[1] === path);
  }
}

/** `%RESPONSE_CODE_DETAILS%` of a finished exchange, as the access log renders it. */
export function responseDetailsOf(exchange: Exchange): string {
  return responseCodeDetails(new RequestFacts(exchange, forwardedViewOf(exchange), [], []));
}
