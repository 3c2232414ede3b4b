// Reads the SERVER/CLIENT span a request's tracing half left on the exchange, so access
// logs and exemplars carry the same ids as the spans. The tracer creates the SERVER span
// object for every traced request, sampled or not, so the ids exist either way; a CLIENT
// span object only when sampled, else just the span id it sent upstream.
import type { Exchange, UpstreamAttempt } from "../../proxy/exchange.ts";
import { ClientSpan, ServerSpan } from "../trace/spans.ts";

export function serverSpanOf(ex: Exchange): ServerSpan | undefined {
  const s = ex.telemetry;
  return s instanceof ServerSpan ? s : undefined;
}

export function clientSpanOf(attempt: UpstreamAttempt): ClientSpan | undefined {
  const c = attempt.telemetry;
  return c instanceof ClientSpan ? c : undefined;
}

/** The CLIENT span id an unsampled attempt sent upstream as the parent (no span object was made). */
export function unsampledClientSpanIdOf(attempt: UpstreamAttempt): string | undefined {
  const c = attempt.telemetry;
  return typeof c === "string" ? c : undefined;
}
