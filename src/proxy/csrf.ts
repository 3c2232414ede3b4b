// A rule's csrf (kgateway TrafficPolicy `csrf`, Envoy's CSRF filter): a request that changes
// state (POST, PUT, DELETE, PATCH) must come from the origin it is sent to, or from one of the
// additional origins. The source is the Origin header's host and port, else the Referer's;
// the target is the host the request is served for (the Host header, or an absolute-form
// target's authority, as routing reads it), both without the scheme's default port. A request without
// either header is refused too: a browser sends Origin on every cross-origin POST.
// Checked after authentication, authorization and the rate limits (kgateway runs the filter in
// its route stage), before the buffer, so a refused request is never buffered.
import type { IncomingHttpHeaders } from "node:http";
import type { CsrfModel } from "../config/model.ts";
import type { CompiledRule } from "../plan/types.ts";
import type { Exchange } from "./exchange.ts";
import { Failure } from "./failures.ts";
import type { ProxyStats } from "./retry.ts";
import { type StringMatch, compileStringMatcher } from "./string-match.ts";

/** How a checked request's source origin compared (`tollgate.csrf.checks`). */
export type CsrfOutcome = "valid" | "invalid" | "missing_origin";

export interface CsrfVerdict {
  readonly outcome: CsrfOutcome;
  /** False for a valid request, and for an invalid one the policy only shadows. */
  readonly refused: boolean;
}

const STATE_CHANGING = new Set(["POST", "PUT", "DELETE", "PATCH"]);

/** Envoy's answer: 403 and "Invalid origin" (here in the gateway's JSON body). */
export const csrfRefused = new Failure("403", "", 403, "csrf_origin_mismatch", "Invalid origin", false, false);

export class CsrfPolicy {
  /** `namespace/name` of the TrafficPolicy. */
  readonly policy: string;
  readonly #enabledShare: number;
  readonly #shadowShare: number;
  readonly #additionalOrigins: readonly StringMatch[];

  constructor(model: CsrfModel) {
    this.policy = model.policy;
    this.#enabledShare = model.enabledShare;
    this.#shadowShare = model.shadowShare;
    this.#additionalOrigins = model.additionalOrigins.map(compileStringMatcher);
  }

  /** undefined when the request is not checked: not sampled, or a method that changes nothing. */
  check(method: string, headers: IncomingHttpHeaders, host: string | undefined, scheme: "http" | "https"): CsrfVerdict | undefined {
    // kgateway sets at most one of the shares: the other is 0 and draws nothing.
    const enforced = sampled(this.#enabledShare);
    const shadowed = sampled(this.#shadowShare);
    if (!enforced && !shadowed) return undefined;
    if (!STATE_CHANGING.has(method)) return undefined;
    const source = sourceOrigin(headers);
    const outcome: CsrfOutcome = source === "" ? "missing_origin" : this.#allows(source, host, scheme) ? "valid" : "invalid";
    return { outcome, refused: outcome !== "valid" && enforced };
  }

  #allows(source: string, host: string | undefined, scheme: "http" | "https"): boolean {
    if (source === targetOrigin(host, scheme)) return true;
    return this.#additionalOrigins.some((matches) => matches(source));
  }
}

function sampled(share: number): boolean {
  return share >= 1 || (share > 0 && Math.random() < share);
}

/** The Origin header's host and port; else the Referer's; '' when neither is set. */
function sourceOrigin(headers: IncomingHttpHeaders): string {
  const origin = hostAndPort(headers.origin);
  return origin !== "" ? origin : hostAndPort(headers.referer);
}

function targetOrigin(host: string | undefined, scheme: "http" | "https"): string {
  return host === undefined || host === "" ? "" : hostAndPort(`${scheme}://${host}`);
}

/**
 * An http(s) URL's host, lower-cased, with its port unless it is the scheme's default; any
 * other value as it is (an opaque `Origin: null` compares unequal to every host).
 */
function hostAndPort(value: string | undefined): string {
  if (value === undefined || value === "") return "";
  const url = URL.parse(value);
  if (url === null || (url.protocol !== "http:" && url.protocol !== "https:")) return value;
  return url.host;
}

/**
 * Checks the request against the rule's csrf and counts what it found; true when the request
 * is refused (its response code details and the denial counted), false when it goes on.
 */
export function csrfRefuses(exchange: Exchange, rule: CompiledRule, csrf: CsrfPolicy, stats: ProxyStats | undefined): boolean {
  const verdict = csrf.check(exchange.method, exchange.req.headers, exchange.hostHeader, exchange.scheme);
  if (verdict === undefined) return false;
  const key = { route: rule.routeKey, rule: rule.ruleName, policy: csrf.policy };
  stats?.csrfChecks?.count(verdict.outcome, key);
  if (!verdict.refused) return false;
  exchange.localReplyDetails = "csrf_origin_mismatch";
  stats?.accessDenials?.count("csrf", key);
  return true;
}
