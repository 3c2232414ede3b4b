// What is left of a rule's request timeout: the checks a request waits on (ExternalAuth,
// global rate limits), a body read and the upstream call share one budget, counted from the
// request's start, as Gateway API's request timeout covers the whole exchange; a fault
// injection's delay aside, as Envoy's route timeout starts after its fault filter.
import type { CompiledMatch } from "../plan/types.ts";
import type { Exchange } from "./exchange.ts";

/** At least 1 ms; undefined when the rule has no request timeout. */
export function requestTimeLeftMs(exchange: Exchange, match: CompiledMatch): number | undefined {
  const requestMs = match.rule.timeouts.requestMs;
  if (requestMs === undefined || requestMs <= 0) return undefined;
  return Math.max(1, requestMs - (performance.now() - exchange.startPerfMs - exchange.injectedDelayMs));
}
