// kgateway TrafficPolicy `rateLimit.global`: before a request of the rule goes anywhere, the
// gateway asks the rate limit service of the policy's GatewayExtension (Envoy's rls protocol,
// RateLimitService/ShouldRateLimit) about the descriptors the request yields. A request that
// yields none is not asked about. The verdict is read in rls-verdict.ts; a call that fails or
// gives no verdict lets the request through when the extension fails open (kgateway's
// default) and is answered 500 otherwise, as Envoy's `failure_mode_deny`.
import { applyEarlyHeaders } from "./early-headers.ts";
import { RuleCounts, type RuleCountKey } from "./rule-counts.ts";
import type { GlobalRateLimitModel, RateLimitDescriptorModel } from "../config/model.ts";
import type { CompiledBackend } from "../plan/types.ts";
import type { AuthContext, CheckSink } from "./auth-check.ts";
import type { AuthGrant } from "./auth-grant.ts";
import type { OutgoingHeaders } from "../telemetry/hooks.ts";
import { clientIpOf } from "./client-ip.ts";
import { ErrorType } from "./errors.ts";
import type { Exchange } from "./exchange.ts";
import { GrpcCheck } from "./grpc-check.ts";
import { applyIdentity } from "./authenticated-identity.ts";
import { asText } from "./header-text.ts";
import { type RateLimitRequestMessage, SHOULD_RATE_LIMIT_PATH, decodeRateLimitResponse, encodeRateLimitRequest } from "./rls-messages.ts";
import { readRlsVerdict } from "./rls-verdict.ts";

/** Where a rate limit check's verdict goes: the plain request path or an upgrade's tunnel. */
export interface RateLimitSink extends CheckSink {
  /** Under every limit: the grant carries the service's headers. */
  withinLimit(grant: AuthGrant | undefined): void;
  /** Over a limit: 429 with these headers, and the service's body when it gave one (else see `jsonRefusalHeaders`). */
  overLimit(headers: OutgoingHeaders, body: Buffer | undefined): void;
}

export type GlobalRateLimitOutcome = "ok" | "over_limit" | "error_allowed" | "error_refused";

/** One rule's global rate limit, compiled. */
export class GlobalRateLimitPolicy {
  readonly backend: CompiledBackend;
  readonly model: GlobalRateLimitModel;
  /** Where its checks count in tollgate.rate_limit.checks. */
  readonly countKey: RuleCountKey;

  constructor(backend: CompiledBackend, model: GlobalRateLimitModel) {
    this.backend = backend;
    this.model = model;
    this.countKey = { route: model.routeName, rule: model.ruleName, policy: model.policyName };
  }
}

/**
 * The service's headers on the gateway's own JSON refusal (when the service sent no body):
 * its Content-Type described a body that is not there.
 */
export function jsonRefusalHeaders(headers: OutgoingHeaders): OutgoingHeaders {
  const { "content-type": _described, ...rest } = headers;
  return rest;
}

/** The check's limit: the extension's timeout, or what is left of the rule's request timeout when that is shorter. */
export function rateLimitTimeoutMs(policy: GlobalRateLimitPolicy, requestTimeLeftMs: number | undefined): number {
  return requestTimeLeftMs === undefined ? policy.model.timeoutMs : Math.min(requestTimeLeftMs, policy.model.timeoutMs);
}

/**
 * Starts the check of `exchange` against `policy`; undefined when the request yields no
 * descriptor, and so is not limited. `target` is path?query as received; `grant` is what an
 * ExternalAuth check set on and removed from the request, which Header entries see, as
 * Envoy's rate limit filter runs after ext_authz.
 */
export function startRateLimitCheck(
  ctx: AuthContext,
  exchange: Exchange,
  policy: GlobalRateLimitPolicy,
  target: string,
  grant: AuthGrant | undefined,
  timeoutMs: number,
  counts: GlobalRateLimitCounts | undefined,
  sink: RateLimitSink,
): RateLimitCheck | undefined {
  const descriptors = descriptorsOf(exchange, policy.model.descriptors, target, grant);
  if (descriptors.length === 0) return undefined;
  const check = new RateLimitCheck(ctx, exchange, sink, policy, counts);
  const request: RateLimitRequestMessage = { domain: policy.model.domain, descriptors };
  check.start(policy.backend, SHOULD_RATE_LIMIT_PATH, () => encodeRateLimitRequest(request), timeoutMs, (attempt) => {
    attempt.rateLimitCheck = true;
  });
  return check;
}

/** The descriptors, in order; one with a Header entry the request lacks is left out, as Envoy leaves it. */
function descriptorsOf(exchange: Exchange, models: readonly RateLimitDescriptorModel[], target: string, grant: AuthGrant | undefined): RateLimitRequestMessage["descriptors"] {
  const out: { entries: { key: string; value: string }[] }[] = [];
  let headers: OutgoingHeaders | undefined;
  for (const model of models) {
    const entries: { key: string; value: string }[] = [];
    for (const entry of model) {
      switch (entry.type) {
        case "Generic":
          entries.push({ key: entry.key, value: entry.value });
          break;
        case "Header": {
          headers ??= headersAfterGrant(exchange, grant);
          const value = Object.hasOwn(headers, entry.header) ? headers[entry.header] : undefined;
          if (value === undefined) break;
          entries.push({ key: entry.key, value: asText(typeof value === "string" ? value : value[0]!) });
          break;
        }
        case "RemoteAddress":
          entries.push({ key: "remote_address", value: clientIpOf(exchange).address });
          break;
        case "Path":
          entries.push({ key: "path", value: asText(target) });
          break;
      }
    }
    if (entries.length === model.length) out.push({ entries });
  }
  return out;
}

/**
 * The request's headers by lower-case name, each with its first value as the client sent it
 * (a repeated header's first, as Envoy's request_headers action reads it), as the
 * authentication policies left them (a client id is the gateway's, a hidden key gone), then
 * with what the ExternalAuth grant set or removed.
 */
function headersAfterGrant(exchange: Exchange, grant: AuthGrant | undefined): OutgoingHeaders {
  const raw = exchange.req.rawHeaders;
  // No prototype: a client's `__proto__` header is a name like any other.
  const headers = Object.create(null) as OutgoingHeaders;
  for (let i = 0; i < raw.length; i += 2) {
    const name = raw[i]!.toLowerCase();
    if (!Object.hasOwn(headers, name)) headers[name] = raw[i + 1]!;
  }
  // The raw lines are as the client sent them: the listener's early changes come first.
  const early = exchange.listener.settings.earlyHeaders;
  if (early !== undefined) applyEarlyHeaders(early, headers);
  applyIdentity(exchange, headers);
  grant?.applyTo(headers);
  return headers;
}

export class RateLimitCheck extends GrpcCheck<RateLimitSink> {
  readonly service = "the rate limit service";
  readonly checkName = "the rate limit check";
  readonly policy: GlobalRateLimitPolicy;
  readonly counts: GlobalRateLimitCounts | undefined;

  constructor(ctx: AuthContext, exchange: Exchange, sink: RateLimitSink, policy: GlobalRateLimitPolicy, counts: GlobalRateLimitCounts | undefined) {
    super(ctx, exchange, sink);
    this.policy = policy;
    this.counts = counts;
  }

  failedCallMessage(name: string): string {
    return `the rate limit service failed the check (gRPC ${name})`;
  }

  /** No verdict: counted, then failed open or closed as the extension says (the sink decides what each means). */
  override fail(message: string, errorType: string = ErrorType.upstreamError): void {
    if (!this.done) this.counts?.count(this.policy.model.failOpen ? "error_allowed" : "error_refused", this.policy.countKey);
    super.fail(message, errorType);
  }

  answeredOk(answer: Buffer): void {
    let verdict;
    try {
      verdict = readRlsVerdict(decodeRateLimitResponse(answer), this.policy.model.rateLimitHeaders);
    } catch {
      this.fail("the rate limit service's answer is not a RateLimitResponse", ErrorType.upstreamProtocolError);
      return;
    }
    if (verdict.kind === "invalid") {
      this.fail(verdict.message, ErrorType.upstreamProtocolError);
      return;
    }
    this.end(undefined);
    this.counts?.count(verdict.kind, this.policy.countKey);
    if (verdict.kind === "ok") this.verdict(() => this.sink.withinLimit(verdict.grant));
    else this.verdict(() => this.sink.overLimit(verdict.headers, verdict.body));
  }
}

/**
 * What global rate limit checks decided, per route, rule, the policy whose limit it was and
 * the outcome (`tollgate.rate_limit.checks`), as Envoy counts `ratelimit.ok`, `over_limit`,
 * `error` and `failure_mode_allowed`.
 */
export class GlobalRateLimitCounts extends RuleCounts<GlobalRateLimitOutcome> {}
