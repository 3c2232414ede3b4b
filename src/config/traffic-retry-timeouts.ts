// kgateway's TrafficPolicy `retry` and `timeouts`, read into the rule models HTTPRoute's own
// `retry` and `timeouts` produce. kgateway's retryOn names Envoy's retry conditions; each is
// mapped to what it means for an HTTP/1.1 upstream, and the ones that cannot happen there
// (HTTP/2 and HTTP/3 streams, gRPC statuses) are warned about rather than silently dropped.
import { scopeListener, throughListener } from "./listener-scope.ts";
import { DEFAULT_RETRY } from "./resolve-routes.ts";
import { parseDuration } from "./duration.ts";
import type { RetryModel, RuleModel } from "./model.ts";
import { type Reporter, type Resource, type Segments, key } from "./resources.ts";

export interface PolicyRetry {
  readonly policy: Resource;
  readonly retry: RetryModel;
  /** retry.perTryTimeout: one attempt's limit, as HTTPRoute's timeouts.backendRequest. */
  readonly perTryTimeoutMs: number | undefined;
}

export interface PolicyTimeouts {
  readonly policy: Resource;
  /** 0 (kgateway: "disables the timeout") reads as none. */
  readonly requestMs: number | undefined;
  /** 0 turns the listener's stream idle limit off for the rule. */
  readonly streamIdleMs: number | undefined;
}

const ALL_5XX = Array.from({ length: 100 }, (_, i) => 500 + i);
const GATEWAY_ERRORS = [502, 503, 504];
/** Envoy's retriable-4xx: 409 Conflict alone. */
const RETRIABLE_4XX = [409];
/** Conditions an HTTP/1.1 upstream without gRPC never meets. */
const NEVER_MET: Readonly<Record<string, string>> = {
  "refused-stream": "an HTTP/2 stream refusal",
  "http3-post-connect-failure": "an HTTP/3 failure",
  cancelled: "a gRPC status",
  "deadline-exceeded": "a gRPC status",
  internal: "a gRPC status",
  "resource-exhausted": "a gRPC status",
  unavailable: "a gRPC status",
};
/** kgateway's floor for perTryTimeout and backoffBaseInterval. */
const MIN_INTERVAL_MS = 1;

export function policyRetry(p: Resource, reporter: Reporter, cfg: Record<string, unknown>): PolicyRetry | undefined {
  const at = ["spec", "retry"];
  const retryOn = (cfg["retryOn"] as string[] | undefined) ?? [];
  const statusCodes = (cfg["statusCodes"] as number[] | undefined) ?? [];
  if (retryOn.length === 0 && statusCodes.length === 0) {
    reporter.error(p, at, "retryOn or statusCodes must be set", "add retryOn: [gateway-error] (or statusCodes: [503])");
    return undefined;
  }
  const codes = new Set<number>();
  let onConnectFailure = false;
  let onReset = false;
  let onRateLimited = false;
  retryOn.forEach((condition, i) => {
    switch (condition) {
      case "5xx":
      case "gateway-error":
        for (const code of condition === "5xx" ? ALL_5XX : GATEWAY_ERRORS) codes.add(code);
        onConnectFailure = onReset = true;
        break;
      case "reset":
        onConnectFailure = onReset = true;
        break;
      // The gateway writes the request as soon as the connection is up, so nothing resets
      // between the two: before the request means before a connection.
      case "reset-before-request":
      case "connect-failure":
        onConnectFailure = true;
        break;
      case "retriable-4xx":
        for (const code of RETRIABLE_4XX) codes.add(code);
        break;
      case "retriable-status-codes":
        if (statusCodes.length === 0) reporter.warn(p, [...at, "retryOn", i], "retriable-status-codes retries the statusCodes, and none are listed", "add statusCodes");
        break;
      case "envoy-ratelimited":
        onRateLimited = true;
        break;
      default:
        reporter.warn(p, [...at, "retryOn", i], `${condition} waits for ${NEVER_MET[condition] ?? "a condition"}, which an HTTP/1.1 upstream never gives; it never triggers a retry`, undefined);
    }
  });
  // kgateway retries the statusCodes in addition to the retryOn conditions.
  for (const code of statusCodes) codes.add(code);
  const perTryTimeoutMs = atLeastOneMs(p, reporter, cfg["perTryTimeout"], [...at, "perTryTimeout"]);
  const backoffMs = atLeastOneMs(p, reporter, cfg["backoffBaseInterval"], [...at, "backoffBaseInterval"]);
  const attempts = (cfg["attempts"] as number | undefined) ?? 1;
  return {
    policy: p,
    retry: { codes: [...codes].sort((a, b) => a - b), attempts: attempts + 1, backoffMs: backoffMs ?? DEFAULT_RETRY.backoffMs, onConnectFailure, onReset, onRateLimited },
    perTryTimeoutMs,
  };
}

export function policyTimeouts(p: Resource, reporter: Reporter, cfg: Record<string, unknown>): PolicyTimeouts {
  const ms = (value: unknown): number | undefined => (value === undefined ? undefined : parseDuration(String(value)));
  if (cfg["request"] === undefined && cfg["streamIdle"] === undefined) {
    reporter.warn(p, ["spec", "timeouts"], "timeouts sets neither request nor streamIdle: it changes nothing, except that a Gateway's timeouts no longer reach the rules it covers", "set request or streamIdle, or remove timeouts");
  }
  const requestMs = ms(cfg["request"]);
  // kgateway's CRD rule, for the two fields of one policy.
  const perTry = (p.spec["retry"] as Record<string, unknown> | undefined)?.["perTryTimeout"];
  const perTryMs = ms(perTry);
  if (requestMs !== undefined && requestMs > 0 && perTryMs !== undefined && perTryMs >= requestMs) {
    reporter.error(p, ["spec", "retry", "perTryTimeout"], `retry.perTryTimeout (${String(perTry)}) must be less than timeouts.request (${String(cfg["request"])})`, "shorten perTryTimeout, so that a retry fits in the request's time");
  }
  return { policy: p, requestMs: requestMs === 0 ? undefined : requestMs, streamIdleMs: ms(cfg["streamIdle"]) };
}

/**
 * A rule's retry and timeouts with its TrafficPolicy's, in kgateway's precedence: the route's
 * own `retry` replaces the policy's whole, its own `timeouts.backendRequest` replaces
 * perTryTimeout, and any timeout of its own keeps the policy's request timeout away. Each
 * override is warned about at the policy, unless it is the Gateway's `through` names.
 */
export function withPolicyRetryAndTimeouts(
  route: Resource,
  rules: readonly RuleModel[],
  retries: ReadonlyMap<number, PolicyRetry> | undefined,
  timeouts: ReadonlyMap<number, PolicyTimeouts> | undefined,
  reporter: Reporter,
  /**
   * The Gateway (by key) the rules are worked out for, and its policies among the models: a
   * route overriding them is the hierarchy at work, not worth a warning.
   */
  through?: { readonly gateway: string; readonly policies: ReadonlySet<Resource> },
): readonly RuleModel[] {
  if (retries === undefined && timeouts === undefined) return rules;
  const quiet = through?.policies ?? new Set<Resource>();
  return rules.map((rule) => {
    const policyRetry = retries?.get(rule.index);
    const policyTimeouts = timeouts?.get(rule.index);
    if (policyRetry === undefined && policyTimeouts === undefined) return rule;
    const ruleName = `HTTPRoute ${key(route)} rule ${rule.name ?? `#${rule.index}`}`;
    let { requestMs, backendRequestMs } = rule.timeouts;
    let retry = rule.retry;
    let perTryFrom: Resource | undefined;
    let requestFrom: Resource | undefined;
    if (policyRetry !== undefined) {
      if (retry !== undefined) {
        if (!quiet.has(policyRetry.policy)) reporter.warn(policyRetry.policy, ["spec", "retry"], `${ruleName} sets its own retry, which takes precedence; this policy's retry does not apply to it`, undefined);
      } else {
        retry = policyRetry.retry;
        if (policyRetry.perTryTimeoutMs !== undefined) {
          if (backendRequestMs !== undefined) {
            if (!quiet.has(policyRetry.policy)) reporter.warn(policyRetry.policy, ["spec", "retry", "perTryTimeout"], `${ruleName} sets its own timeouts.backendRequest, which takes precedence over perTryTimeout`, undefined);
          } else [backendRequestMs, perTryFrom] = [policyRetry.perTryTimeoutMs, policyRetry.policy];
        }
      }
    }
    if (policyTimeouts?.requestMs !== undefined) {
      // As kgateway, where any timeout of the rule's sets the route's: the policy fills none.
      const own = rule.timeouts.requestMs !== undefined ? "timeouts.request" : rule.timeouts.backendRequestMs !== undefined ? "timeouts.backendRequest" : undefined;
      if (own !== undefined) {
        if (!quiet.has(policyTimeouts.policy)) reporter.warn(policyTimeouts.policy, ["spec", "timeouts", "request"], `${ruleName} sets its own ${own}, which takes precedence over this policy's timeouts.request`, undefined);
      } else [requestMs, requestFrom] = [policyTimeouts.requestMs, policyTimeouts.policy];
    }
    // One policy's pair was checked as it was read (kgateway's CRD rule); across objects Envoy
    // lets the request timeout end a longer attempt, so a warning says which one will. A
    // Gateway's perTryTimeout is the route's business to override, and against the Gateway's
    // own request timeout it is warned about once (warnGatewayAttemptLongerThanRequest).
    const gatewayPerTry = perTryFrom !== undefined && quiet.has(perTryFrom);
    if (requestMs !== undefined && requestMs > 0 && backendRequestMs !== undefined && backendRequestMs > requestMs && perTryFrom !== undefined && perTryFrom !== requestFrom && !gatewayPerTry) {
      const where = requestFrom !== undefined && quiet.has(requestFrom) ? `${ruleName}, through Gateway ${through!.gateway},` : ruleName;
      reporter.warn(perTryFrom, ["spec", "retry", "perTryTimeout"], `${where} has a request timeout (${requestMs} ms) shorter than perTryTimeout (${backendRequestMs} ms): it ends the exchange first, so no retry follows a timed-out attempt`, "shorten perTryTimeout below the request timeout");
    }
    return { ...rule, retry, timeouts: { requestMs, backendRequestMs, streamIdleMs: policyTimeouts?.streamIdleMs ?? rule.timeouts.streamIdleMs } };
  });
}

/** A Gateway whose retry and timeouts come from two policies, the attempt outlasting the request. */
export function warnGatewayAttemptLongerThanRequest(retries: ReadonlyMap<string, PolicyRetry>, timeouts: ReadonlyMap<string, PolicyTimeouts>, reporter: Reporter): void {
  // Per Gateway, and per listener a policy targets, with what it takes from its Gateway.
  for (const gk of new Set([...retries.keys(), ...timeouts.keys()])) {
    const listener = scopeListener(gk);
    const retry = listener === undefined ? retries.get(gk) : throughListener(retries, listener.gatewayKey, listener.listener);
    const timeout = listener === undefined ? timeouts.get(gk) : throughListener(timeouts, listener.gatewayKey, listener.listener);
    if (retry === undefined) continue;
    const requestMs = timeout?.requestMs;
    const perTryMs = retry.perTryTimeoutMs;
    // Within one policy it is an error already (policyTimeouts).
    if (timeout === undefined || timeout.policy === retry.policy || requestMs === undefined || requestMs <= 0 || perTryMs === undefined || perTryMs <= requestMs) continue;
    reporter.warn(retry.policy, ["spec", "retry", "perTryTimeout"], `Gateway ${gk} has a request timeout (${requestMs} ms, from TrafficPolicy ${key(timeout.policy)}) shorter than perTryTimeout (${perTryMs} ms): it ends the exchange first, so no retry follows a timed-out attempt`, "shorten perTryTimeout below the request timeout");
  }
}

function atLeastOneMs(p: Resource, reporter: Reporter, value: unknown, at: Segments): number | undefined {
  if (value === undefined) return undefined;
  const ms = parseDuration(String(value));
  if (ms !== undefined && ms < MIN_INTERVAL_MS) {
    reporter.error(p, at, `${String(at.at(-1))} must be at least 1ms`, "set a positive duration, or leave the field out");
    return undefined;
  }
  return ms;
}
