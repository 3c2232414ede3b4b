// kgateway's HTTPListenerPolicy healthCheck: Envoy's health_check filter without pass-through.
// A request whose target is exactly the configured path is answered here, before routing,
// whatever its host or method: 200 while the gateway serves, 503 once it drains, so the load
// balancer in front stops sending new connections during the drain's grace period.
import type { IncomingMessage } from "node:http";
import type { Exchange } from "./exchange.ts";
import { Flag } from "./errors.ts";
import type { RequestFacts } from "./facts.ts";
import { Failure } from "./failures.ts";
import { watchAnswerStall } from "./answer-stall.ts";
import { requestRefusal } from "./request-checks.ts";

export const healthCheckFailed = new Failure("503", Flag.failedLocalHealthCheck, 503, "health_check_failed", "the gateway is draining", false, false);

/**
 * What Envoy's health_check filter adds to every other answer while it fails: an Envoy in
 * front that health-checks this gateway takes it out at once, on ordinary traffic.
 */
export const IMMEDIATE_FAIL_HEADER = "x-envoy-immediate-health-check-fail";

/** Envoy's %RESPONSE_CODE_DETAILS% for the two answers. */
export const HealthCheckDetails = { ok: "health_check_ok", failed: "health_check_failed" } as const;

/** The request asks for the listener's health check: exactly its path, and nothing the gateway refuses whatever the path. */
export function asksForHealthCheck(path: string | undefined, req: IncomingMessage, facts: RequestFacts): boolean {
  return path !== undefined && facts.target === path && requestRefusal(req, facts) === undefined;
}

/** Envoy's answer to a passing check: 200 with no body. */
export function answerHealthy(exchange: Exchange): void {
  exchange.localReplyDetails = HealthCheckDetails.ok;
  exchange.status = 200;
  exchange.responseStartPerfMs = performance.now();
  exchange.res.writeHead(200, { "content-length": "0" });
  exchange.res.end();
  watchAnswerStall(exchange);
}
