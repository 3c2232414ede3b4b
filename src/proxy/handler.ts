// The listener's request entry point: capture the start time, read the plan once, build the
// Exchange, route, then answer directly (errors, redirects, direct responses) or hand the
// request to a ProxyCall. onRequestEnd fires exactly once, from the response's close event.
import { applyEarlyHeaders } from "./early-headers.ts";
import { requestTurn } from "./requests-per-connection.ts";
import type { ProxyHeaderFailure } from "./proxy-protocol.ts";
import type { IncomingMessage, ServerResponse } from "node:http";
import type { Duplex } from "node:stream";
import type { CompiledMatch, RuntimePlan } from "../plan/types.ts";
import type { OutgoingHeaders, RequestTelemetry } from "../telemetry/hooks.ts";
import { epochMsAt } from "../telemetry/wall-clock.ts";
import { type CallContext, type CallResponse, ProxyCall } from "./call.ts";
import { clearAnswerStall, endedByStalledConnection, watchAnswerStall } from "./answer-stall.ts";
import { handleClientError } from "./client-errors.ts";
import { kCall, kCutByProxy, kExchange } from "./marks.ts";
import { cutForShutdown } from "./shutdown-cut.ts";
import { ErrorType, Flag, addFlag, errorBody, sendError, writeJson } from "./errors.ts";
import { Exchange } from "./exchange.ts";
import { type RequestFacts, newRequestFacts, readRequestFacts } from "./facts.ts";
import { Failure } from "./failures.ts";
import { HTTP11_UPGRADE, RequestRefusals, expectsContinue, isDeclinedUpgrade, routeRequest } from "./request-checks.ts";
import { type ProxyFilters, applyHeaderOps, proxyFiltersOf, redirectLocation } from "./filters.ts";
import { GuardedTelemetry, type HookWarnSink } from "./guarded-telemetry.ts";
import type { UpstreamPools } from "./pools.ts";
import type { ProxyStats } from "./retry.ts";
import { createUpgradeHandler } from "./upgrade.ts";
import { type CorsPolicy, type PreflightHeaders, isPreflight, removeUpstreamCorsGrant } from "./cors.ts";
import { AuthBodyRead, type BodyReadRefusal } from "./auth-body.ts";
import type { AuthContext } from "./auth-check.ts";
import { type AuthGrant, applyMutations, combinedGrant } from "./auth-grant.ts";
import { type GlobalRateLimitPolicy, jsonRefusalHeaders, rateLimitTimeoutMs, startRateLimitCheck } from "./global-rate-limit.ts";
import { type ExternalAuthPolicy, checkTimeoutMs } from "./external-auth-policy.ts";
import { requestTimeLeftMs } from "./request-time-left.ts";
import { warnContainedBug } from "./contained-bug.ts";
import { WHOLE_BODY_DECODED_MAX, inflateLimit, inflateWhole, requestBodyInflateLimit, requestBodyInvalid } from "./request-decompression.ts";
import type { ContentCoding } from "../config/model.ts";
import type { CompiledBackend } from "../plan/types.ts";
import { startAuthCheck } from "./external-auth.ts";
import { checkCountKey, checksThisRequest, countedVerdicts } from "./external-auth-verdicts.ts";
import type { RuleCountKey } from "./rule-counts.ts";
import type { LocalRateLimit } from "./local-rate-limit.ts";
import { type AuthorizationPolicy, rbacDenialDetails, rbacDenied } from "./authorization.ts";
import { basicAuthChallenge, basicAuthDenial } from "./basic-auth.ts";
import { apiKeyDenial } from "./api-key-auth.ts";
import { startJwtCheck } from "./jwt-auth.ts";
import type { JwksFetchContext } from "./remote-jwks.ts";
import { queryShown, upstreamTargetShown, withoutHiddenQuery } from "./authenticated-identity.ts";
import { aclDenialDetails } from "./client-acl.ts";
import { csrfRefused, csrfRefuses } from "./csrf.ts";
import { type FaultInjectionPolicy, type FaultInjections, isGrpcRequest } from "./fault-injection.ts";
import { delayForFault } from "./fault-delay.ts";
import { clientIpOf } from "./client-ip.ts";
import { type MirrorContext, type MirrorTarget, mirroredRequest, startMirrors } from "./mirror.ts";
import { chooseBackend, requestHasBody, upstreamHeaders, upstreamTarget } from "./upstream-request.ts";
import { HealthCheckDetails, IMMEDIATE_FAIL_HEADER, answerHealthy, asksForHealthCheck, healthCheckFailed } from "./health-check.ts";

export interface ProxyDeps {
  /** Read once per request; the request keeps that plan to the end (reload safety). */
  currentPlan(): RuntimePlan;
  readonly telemetry: RequestTelemetry;
  readonly pools: UpstreamPools;
  /** Retry counters for metrics; GatewayStats satisfies it. */
  readonly stats?: ProxyStats;
  /**
   * Called once per request when its response closed, after the proxy's own bookkeeping
   * (telemetry included). The listener's in-flight tracking uses it instead of a second
   * close listener on every response.
   */
  readonly responseClosed?: (res: ServerResponse) => void;
  /** The gateway's log: a telemetry hook that throws is reported there, once a minute at most. */
  readonly warn?: HookWarnSink;
  /** Whether this listener is draining (from the first step of the gateway's drain on): health checks fail then. */
  readonly draining?: () => boolean;
}

export interface ProxyHandlers {
  request(req: IncomingMessage, res: ServerResponse): void;
  upgrade(req: IncomingMessage, socket: Duplex, head: Buffer): void;
  clientError(err: Error, socket: Duplex): void;
  /** A TLS handshake on an HTTPS port failed (node destroys the socket). */
  tlsError(err: Error): void;
  /** A PROXY protocol port closed a connection for its header. */
  proxyProtocolError(reason: ProxyHeaderFailure): void;
}

type TrackedResponse = CallResponse;

const noRoute = new Failure("404", Flag.noRoute, 404, "no_route", "", false, false);
const corsOriginRefused = new Failure("403", "", 403, "cors_origin_not_allowed", "", false, false);
const rateLimited = new Failure("429", Flag.rateLimited, 429, "local_rate_limited", "", false, false);
const globallyRateLimited = new Failure("429", Flag.rateLimited, 429, "request_rate_limited", "a global rate limit allows no more requests now", false, false);
const rateLimitCheckFailed = new Failure(ErrorType.upstreamError, Flag.rateLimitServiceError, 500, "rate_limiter_error", "", false, false);
/** A body larger than the rule's TrafficPolicy `buffer` takes. */
const bufferTooLarge = new Failure("413", "", 413, "request_body_too_large", "", false, false);
/** Why a body an ExternalAuth check forwards was not read whole; the idle and timeout answers are the proxy's usual ones. */
const bodyRefusals: Readonly<Record<BodyReadRefusal, Failure>> = {
  too_large: new Failure("413", "", 413, "request_body_too_large", "", false, false),
  idle: new Failure(ErrorType.timeout, Flag.streamIdleTimeout, 408, "stream_idle_timeout", "no request body arrived within the stream idle timeout", false, false),
  request_timeout: new Failure(ErrorType.timeout, Flag.upstreamRequestTimeout, 504, "request_timeout", "the route's request timeout ran out while the request body was read", false, false),
};

const noListenerBody = errorBody("no_listener", "no listener is configured on this port");

function noop(): void {}

/**
 * `port` is the listener's port as the config declares it: the key into
 * `plan.listenerByPort`, and the port RequestRedirect uses when the filter sets none.
 */
export function createProxyHandlers(deps: ProxyDeps, port: number): ProxyHandlers {
  const telemetry = new GuardedTelemetry(deps.telemetry, deps.stats?.telemetryHookErrors, deps.warn);
  const ctx: CallContext = { telemetry, pools: deps.pools, stats: deps.stats };
  const mirrorCtx: MirrorContext = { telemetry, pools: deps.pools, mirrorDrops: deps.stats?.mirrorDrops };
  const authCtx: AuthContext = { telemetry, pools: deps.pools };
  const jwksCtx: JwksFetchContext = { pools: deps.pools, jwksFetches: deps.stats?.jwksFetches };
  const facts = newRequestFacts();

  const responseClosed = deps.responseClosed;

  function onResponseClose(this: TrackedResponse): void {
    const exchange = this[kExchange];
    if (exchange !== undefined) endExchange(this, exchange);
    if (responseClosed !== undefined) responseClosed(this);
  }

  function endExchange(res: TrackedResponse, exchange: Exchange): void {
    res[kExchange] = undefined;
    let cut = res[kCutByProxy] === true;
    const call = res[kCall];
    if (call !== undefined) {
      cut ||= call.cutByProxy;
      call.close();
    } else {
      clearAnswerStall(res);
    }
    // A check still running has no one to answer; its span ends before the request's.
    const check = exchange.authCheck;
    if (check !== undefined) check.cancel(cutForShutdown(exchange.req.socket) ? ErrorType.gatewayShutdown : ErrorType.clientAborted);
    exchange.endPerfMs = performance.now();
    if (!res.writableFinished) exchange.responseWhole = false;
    if (!res.writableFinished && !cut && !endedByStalledConnection(exchange)) {
      if (cutForShutdown(exchange.req.socket)) exchange.errorType ??= ErrorType.gatewayShutdown;
      else {
        exchange.clientAborted = true;
        addFlag(exchange, Flag.downstreamConnectionTermination);
        exchange.errorType ??= ErrorType.clientAborted;
      }
    }
    telemetry.requestEnd(exchange);
  }

  function request(req: IncomingMessage, res: ServerResponse): void {
    const startPerfMs = performance.now();
    const startTimeMs = epochMsAt(startPerfMs);
    // The one close listener per response (`close` fires once; `once` would allocate a wrapper).
    res.on("close", onResponseClose);
    const plan = deps.currentPlan();
    const listener = plan.listenerByPort.get(port);
    if (listener === undefined) {
      writeJson(res, 404, noListenerBody);
      return;
    }
    req.on("error", noop);
    const maxRequests = listener.settings.maxRequestsPerConnection;
    if (maxRequests > 0) {
      const turn = requestTurn(req.socket, maxRequests);
      if (turn === "past") {
        // The connection ends after the last allowed answer: node never writes this one.
        res.shouldKeepAlive = false;
        return;
      }
      if (turn === "last") res.shouldKeepAlive = false;
    }
    // Every answer the gateway writes itself carries it; a proxied head sets its own (call.ts).
    if (listener.settings.serverHeader !== "PassThrough") res.setHeader("server", listener.settings.serverName);
    const early = listener.settings.earlyHeaders;
    if (early !== undefined) applyEarlyHeaders(early, req.headers);
    readRequestFacts(req, listener.settings, facts);
    const exchange = new Exchange(req, res, plan, listener, startTimeMs, startPerfMs, facts);
    (res as TrackedResponse)[kExchange] = exchange;
    const healthCheckPath = listener.settings.healthCheckPath;
    if (healthCheckPath !== undefined) {
      if (asksForHealthCheck(healthCheckPath, req, facts)) {
        answerHealthCheck(exchange);
        return;
      }
      // As Envoy's health_check filter while it fails: every other answer tells an Envoy in front to stop sending here.
      if (deps.draining?.() === true) res.setHeader(IMMEDIATE_FAIL_HEADER, "true");
    }

    const routed = routeRequest(req, facts, listener);
    const match = routed instanceof Failure ? undefined : routed;
    exchange.match = match;
    telemetry.requestStart(exchange);

    if (routed instanceof Failure) {
      res.shouldKeepAlive = false;
      // RFC 9110 §15.5.22: a 426 names the protocol to switch to.
      refuse(exchange, routed, routed.message, routed === RequestRefusals.http10 ? HTTP11_UPGRADE : undefined);
      return;
    }
    if (isDeclinedUpgrade(req)) res.shouldKeepAlive = false;
    if (match === undefined) {
      refuse(exchange, noRoute, `no route matches host ${facts.routeHost || "(none)"} path ${exchange.path}`);
      return;
    }
    forward(exchange, match, facts);
  }

  /** Before routing, as Envoy's health_check filter: 200, or 503 once this listener drains. */
  function answerHealthCheck(exchange: Exchange): void {
    exchange.healthCheck = true;
    telemetry.requestStart(exchange);
    endAfterAnswer(exchange);
    if (deps.draining?.() !== true) {
      answerHealthy(exchange);
      return;
    }
    exchange.localReplyDetails = HealthCheckDetails.failed;
    refuse(exchange, healthCheckFailed, healthCheckFailed.message);
  }

  /** The rule's fault injection first, as kgateway puts Envoy's fault filter first; then `admit`. */
  function forward(exchange: Exchange, match: CompiledMatch, requestFacts: RequestFacts): void {
    const rule = match.rule;
    const ruleFilters = proxyFiltersOf(rule.filters);
    const fault = ruleFilters.faultInjection;
    const faults = fault?.draw({ route: rule.routeKey, rule: rule.ruleName, policy: fault.policy }, deps.stats?.faultInjections, exchange.res, true);
    if (faults === undefined) {
      admit(exchange, match, requestFacts, ruleFilters);
      return;
    }
    exchange.responseBytesPerSecond = faults.responseBytesPerSecond;
    const delayMs = faults.delayMs;
    if (delayMs === undefined) {
      if (faults.abort) abortForFault(exchange, fault!, deps.stats?.faultInjections);
      else admit(exchange, match, requestFacts, ruleFilters);
      return;
    }
    // The listener reuses its facts object for the next request while this one waits.
    const facts = { ...requestFacts };
    delayForFault(
      exchange,
      delayMs,
      faults.releaseSlot,
      () => (faults.abort ? abortForFault(exchange, fault!, deps.stats?.faultInjections) : admit(exchange, match, facts, ruleFilters)),
      () => abandonRequest(exchange),
    );
  }

  /** A CORS preflight is answered; then the acl and jwtAuth, then `authenticate`. */
  function admit(exchange: Exchange, match: CompiledMatch, requestFacts: RequestFacts, ruleFilters: ProxyFilters): void {
    const rule = match.rule;
    const cors = ruleFilters.cors;
    if (cors !== undefined) {
      exchange.cors = cors;
      // As in Envoy, the filter answers a preflight before anything else of the rule runs.
      const requestHeaders = exchange.req.headers;
      if (isPreflight(exchange.method, requestHeaders)) {
        answerPreflight(exchange, cors, requestHeaders);
        return;
      }
    }
    const acl = ruleFilters.acl;
    if (acl !== undefined) {
      const blockedBy = acl.denial(clientIpOf(exchange));
      if (blockedBy !== undefined) {
        exchange.localReplyDetails = aclDenialDetails(acl, blockedBy);
        deps.stats?.accessDenials?.count("acl", { route: rule.routeKey, rule: rule.ruleName, policy: acl.policy });
        refuseUnread(exchange, acl.failure, acl.denialHeaders(blockedBy));
        return;
      }
    }
    const jwtAuth = ruleFilters.jwtAuth;
    if (jwtAuth !== undefined) {
      // The listener reuses its facts object for the next request while this one waits.
      const facts = { ...requestFacts };
      startJwtCheck(
        exchange,
        jwtAuth,
        jwksCtx,
        deps.stats?.accessDenials,
        (denied) => {
          if (denied !== undefined) refuseUnread(exchange, denied.failure, denied.challenge);
          else authenticate(exchange, match, facts, ruleFilters);
        },
        () => abandonRequest(exchange),
      );
      return;
    }
    authenticate(exchange, match, requestFacts, ruleFilters);
  }

  /** After jwtAuth: basicAuth, apiKeyAuth, then the ExternalAuth check, each refusing or passing the request on. */
  function authenticate(exchange: Exchange, match: CompiledMatch, requestFacts: RequestFacts, ruleFilters: ProxyFilters): void {
    const rule = match.rule;
    const basicAuth = ruleFilters.basicAuth;
    if (basicAuth !== undefined) {
      const denied = basicAuthDenial(exchange, basicAuth, deps.stats?.accessDenials);
      if (denied !== undefined) {
        refuseUnread(exchange, denied.failure, basicAuthChallenge(exchange));
        return;
      }
    }
    const apiKeyAuth = ruleFilters.apiKeyAuth;
    if (apiKeyAuth !== undefined) {
      const denied = apiKeyDenial(exchange, apiKeyAuth, deps.stats?.accessDenials);
      if (denied !== undefined) {
        refuseUnread(exchange, denied.failure);
        return;
      }
    }
    const auth = ruleFilters.externalAuth;
    if (auth !== undefined) {
      const countKey = checkCountKey(auth, rule.routeKey, rule.ruleName);
      if (checksThisRequest(auth, countKey, deps.stats?.externalAuthChecks)) {
        checkThenForward(exchange, match, requestFacts, ruleFilters, auth, countKey);
        return;
      }
    }
    proceed(exchange, match, requestFacts, ruleFilters, undefined, rule.timeouts.requestMs, undefined);
  }

  /**
   * The rule's ExternalAuth check runs first, as Envoy's ext_authz filter runs before its
   * router: a redirect, direct response or upstream comes only after an allowing answer. The
   * rule's request timeout covers the check (and reading a body it forwards) too.
   */
  function checkThenForward(exchange: Exchange, match: CompiledMatch, requestFacts: RequestFacts, ruleFilters: ProxyFilters, auth: ExternalAuthPolicy, countKey: RuleCountKey): void {
    // The listener reuses its facts object for the next request while this one waits.
    const facts = { ...requestFacts };
    if (auth.forwardBodyBytes === 0 || !requestHasBody(exchange)) {
      check(exchange, match, facts, ruleFilters, auth, countKey, undefined);
      return;
    }
    const limit = auth.forwardBodyBytes;
    // The rule's buffer refuses a larger body later anyway: it is refused now, unread and unchecked.
    const buffer = ruleFilters.bufferBytes;
    const bufferRefuses = buffer !== undefined && buffer < limit;
    const readLimit = bufferRefuses ? buffer : limit;
    const tooLarge = (): void => (bufferRefuses ? refuseOverBuffer(exchange, buffer) : refuseUnreadBody(exchange, bodyRefusals.too_large, limit));
    const declared = declaredLength(exchange);
    if (declared !== undefined && declared > readLimit) {
      // Refused before a byte of it is read (and before any 100 Continue asks for it).
      tooLarge();
      return;
    }
    // The client may wait for 100 Continue before it sends the body the check needs.
    if (expectsContinue(exchange.req)) exchange.res.writeContinue();
    new AuthBodyRead(exchange, readLimit, declared, (outcome) => {
      if ("body" in outcome) check(exchange, match, facts, ruleFilters, auth, countKey, outcome.body);
      else if (outcome.refused === "too_large") tooLarge();
      else refuseUnreadBody(exchange, bodyRefusals[outcome.refused], limit);
    }).start(exchange.streamIdleMs(), requestTimeLeftMs(exchange, match));
  }

  function check(exchange: Exchange, match: CompiledMatch, facts: RequestFacts, ruleFilters: ProxyFilters, auth: ExternalAuthPolicy, countKey: RuleCountKey, body: Buffer | undefined): void {
    const sink = countedVerdicts(auth, countKey, deps.stats?.externalAuthChecks, {
      allow(grant) {
        proceed(exchange, match, facts, ruleFilters, grant, requestTimeLeftMs(exchange, match), body);
      },
      deny(status, headers, denial) {
        endAfterAnswer(exchange);
        relayAnswer(exchange, ruleFilters, "ext_authz_denied", Flag.unauthorizedExternalService, status, headers, denial);
      },
      refuse(failure, message) {
        endAfterAnswer(exchange);
        exchange.localReplyDetails = "ext_authz_error";
        refuse(exchange, failure, message);
      },
      abandon() {
        abandonRequest(exchange);
      },
    });
    startAuthCheck(authCtx, exchange, auth, withoutHiddenQuery(exchange, facts.target), body, checkTimeoutMs(auth, exchange, match), sink);
  }

  /** `body`: the request body, when an ExternalAuth check already read it whole (`forwardBody`). */
  function proceed(
    exchange: Exchange,
    match: CompiledMatch,
    requestFacts: RequestFacts,
    ruleFilters: ProxyFilters,
    grant: AuthGrant | undefined,
    requestTimeoutMs: number | undefined,
    body: Buffer | undefined,
  ): void {
    const rule = match.rule;
    if (grant !== undefined) exchange.authResponseMutations = grant.responseMutations;
    // rbac sees what the ExternalAuth check added, as Envoy's rbac filter runs after ext_authz.
    const authorization = ruleFilters.authorization;
    if (authorization !== undefined && !authorization.allows(exchange, rule, grant)) {
      deny(exchange, authorization);
      return;
    }
    // The rate limits come after the authorization checks, as kgateway and Envoy Gateway order
    // their filters: a request they deny counts against no limit of the clients they let in.
    const globalRateLimit = ruleFilters.globalRateLimit;
    if (globalRateLimit !== undefined) {
      askRateLimitService(exchange, match, requestFacts, ruleFilters, grant, requestTimeoutMs, body, globalRateLimit);
      return;
    }
    dispatch(exchange, match, requestFacts, ruleFilters, grant, requestTimeoutMs, body);
  }

  /**
   * The rule's global rate limit, before its local one, as kgateway orders Envoy's filters
   * (the rate limit stage, then the local limit just before the request is accepted): a
   * request the service refuses takes no local token. The rule's request timeout covers the
   * call too.
   */
  function askRateLimitService(
    exchange: Exchange,
    match: CompiledMatch,
    requestFacts: RequestFacts,
    ruleFilters: ProxyFilters,
    grant: AuthGrant | undefined,
    requestTimeoutMs: number | undefined,
    body: Buffer | undefined,
    policy: GlobalRateLimitPolicy,
  ): void {
    // The listener reuses its facts object for the next request while this one waits.
    const facts = { ...requestFacts };
    const check = startRateLimitCheck(authCtx, exchange, policy, withoutHiddenQuery(exchange, facts.target), grant, rateLimitTimeoutMs(policy, requestTimeLeftMs(exchange, match)), deps.stats?.globalRateLimits, {
      withinLimit(serviceGrant) {
        const combined = combinedGrant(grant, serviceGrant);
        if (combined !== undefined) exchange.authResponseMutations = combined.responseMutations;
        dispatch(exchange, match, facts, ruleFilters, combined, requestTimeLeftMs(exchange, match), body);
      },
      overLimit(headers, denial) {
        // As for a local limit: an unread body is not waited for.
        endAfterAnswer(exchange);
        if (denial === undefined) {
          exchange.localReplyDetails = "request_rate_limited";
          refuse(exchange, globallyRateLimited, globallyRateLimited.message, jsonRefusalHeaders(headers));
        } else relayAnswer(exchange, ruleFilters, "request_rate_limited", Flag.rateLimited, 429, headers, denial);
      },
      checkFailed(message) {
        if (policy.model.failOpen) {
          dispatch(exchange, match, facts, ruleFilters, grant, requestTimeLeftMs(exchange, match), body);
          return;
        }
        exchange.localReplyDetails = "rate_limiter_error";
        endAfterAnswer(exchange);
        refuse(exchange, rateLimitCheckFailed, message);
      },
      abandon() {
        abandonRequest(exchange);
      },
    });
    if (check === undefined) dispatch(exchange, match, requestFacts, ruleFilters, grant, requestTimeoutMs, body);
  }

  /** The rule's local rate limit, its csrf and its buffer; then `route`. */
  function dispatch(
    exchange: Exchange,
    match: CompiledMatch,
    requestFacts: RequestFacts,
    ruleFilters: ProxyFilters,
    grant: AuthGrant | undefined,
    requestTimeoutMs: number | undefined,
    body: Buffer | undefined,
  ): void {
    const rateLimit = ruleFilters.rateLimit;
    if (rateLimit !== undefined && overLimit(exchange, rateLimit)) return;
    const csrf = ruleFilters.csrf;
    if (csrf !== undefined && csrfRefuses(exchange, match.rule, csrf, deps.stats)) {
      refuseUnread(exchange, csrfRefused);
      return;
    }
    const bufferBytes = ruleFilters.bufferBytes;
    if (bufferBytes !== undefined && requestHasBody(exchange)) {
      bufferThenRoute(exchange, match, requestFacts, ruleFilters, grant, requestTimeoutMs, body, bufferBytes);
      return;
    }
    route(exchange, match, requestFacts, ruleFilters, grant, requestTimeoutMs, body);
  }

  /**
   * The rule's TrafficPolicy `buffer`, as Envoy's buffer filter: the body is read whole before
   * the request goes on, after every check that may refuse it (so no client is buffered for
   * nothing), and one larger than the limit is refused with 413. The rule's request timeout
   * covers the read.
   */
  function bufferThenRoute(
    exchange: Exchange,
    match: CompiledMatch,
    requestFacts: RequestFacts,
    ruleFilters: ProxyFilters,
    grant: AuthGrant | undefined,
    requestTimeoutMs: number | undefined,
    body: Buffer | undefined,
    limit: number,
  ): void {
    // An ExternalAuth check that forwards the body read it already, never past this limit.
    if (body !== undefined) {
      route(exchange, match, requestFacts, ruleFilters, grant, requestTimeoutMs, body);
      return;
    }
    const refuseTooLarge = (): void => refuseOverBuffer(exchange, limit);
    const declared = declaredLength(exchange);
    if (declared !== undefined && declared > limit) {
      // Refused before a byte of it is read (and before any 100 Continue asks for it).
      refuseTooLarge();
      return;
    }
    // The listener reuses its facts object for the next request while this one's body comes in.
    const facts = { ...requestFacts };
    if (expectsContinue(exchange.req)) exchange.res.writeContinue();
    new AuthBodyRead(exchange, limit, declared, (outcome) => {
      if ("body" in outcome) route(exchange, match, facts, ruleFilters, grant, requestTimeLeftMs(exchange, match), outcome.body);
      else if (outcome.refused === "too_large") refuseTooLarge();
      else refuseUnreadBody(exchange, bodyRefusals[outcome.refused], limit);
    }).start(exchange.streamIdleMs(), requestTimeLeftMs(exchange, match));
  }

  /** The rule answers itself, or the request goes to a backend (with its mirrors). */
  function route(
    exchange: Exchange,
    match: CompiledMatch,
    requestFacts: RequestFacts,
    ruleFilters: ProxyFilters,
    grant: AuthGrant | undefined,
    requestTimeoutMs: number | undefined,
    body: Buffer | undefined,
  ): void {
    const rule = match.rule;
    if (ruleFilters.terminal) {
      answerTerminal(exchange, ruleFilters, match, requestFacts, port);
      return;
    }
    const chosen = chooseBackend(exchange, rule);
    if (chosen instanceof Failure) {
      refuse(exchange, chosen, chosen.message);
      return;
    }
    const backendFilters = proxyFiltersOf(chosen.filters);
    const headers = upstreamHeaders(exchange, ruleFilters, backendFilters, grant);
    const target = upstreamTargetShown(exchange, upstreamTarget(requestFacts, match, ruleFilters, backendFilters, headers), headers);
    const hasBody = requestHasBody(exchange);
    const decompression = ruleFilters.requestDecompression;
    const coding = hasBody && decompression !== undefined ? decompression.takeCoding(exchange.req.headers, headers) : undefined;
    if (coding === undefined) {
      send(exchange, chosen.backend, ruleFilters, backendFilters, headers, target, hasBody, requestTimeoutMs, body, undefined);
      return;
    }
    if (body === undefined) {
      send(exchange, chosen.backend, ruleFilters, backendFilters, headers, target, hasBody, requestTimeoutMs, undefined, { coding, policy: decompression!.policy });
      return;
    }
    const countKey = { route: rule.routeKey, rule: rule.ruleName, policy: decompression!.policy };
    // The buffer's limit bounds the body it holds, so it bounds the decoded body too.
    const maxBytes = Math.min(inflateLimit(body.length), ruleFilters.bufferBytes ?? WHOLE_BODY_DECODED_MAX);
    inflateWhole(body, coding, maxBytes, (result) => {
      if (exchange.res.destroyed || exchange.res.writableEnded) {
        deps.stats?.decompressions?.count(`${coding} abandoned`, countKey);
        return;
      }
      deps.stats?.decompressions?.count(`${coding} ${typeof result === "string" ? result : "decompressed"}`, countKey);
      try {
        if (typeof result === "string") refuseUndecodable(exchange, coding, result, maxBytes);
        else send(exchange, chosen.backend, ruleFilters, backendFilters, headers, target, hasBody, requestTimeLeftMs(exchange, match), result, undefined);
      } catch (thrown) {
        warnContainedBug("sending a decoded request body failed", thrown);
        abandonRequest(exchange);
      }
    });
  }

  /** The request goes to the chosen backend (with its mirrors); `body` when it was read whole, `inflation` when it streams decoded. */
  function send(
    exchange: Exchange,
    backend: CompiledBackend,
    ruleFilters: ProxyFilters,
    backendFilters: ProxyFilters,
    headers: OutgoingHeaders,
    target: string,
    hasBody: boolean,
    requestTimeoutMs: number | undefined,
    body: Buffer | undefined,
    inflation: ProxyCall["inflation"],
  ): void {
    const rule = exchange.match!.rule;
    const call = new ProxyCall(ctx, exchange, backend, ruleFilters, backendFilters, headers, target, hasBody, rule.retry, rule.timeouts.backendRequestMs);
    call.readBody = body;
    call.inflation = inflation;
    const mirrors = mirrorTargets(ruleFilters.mirrors, backendFilters.mirrors);
    if (mirrors === undefined) {
      call.start(requestTimeoutMs);
      return;
    }
    // The template is taken before the call starts, when telemetry writes the original
    // attempt's traceparent into `headers`. The copies start after the original took its
    // connection or its place in the queue, so a copy to the same pool never goes before it;
    // and, as in Envoy, a request the gateway answered itself (503 overflow) is not mirrored.
    const template = mirroredRequest(exchange, rule.timeouts, target, headers, hasBody, body);
    call.start(requestTimeoutMs);
    if (!call.settled) call.mirrorCopies = startMirrors(mirrorCtx, exchange, mirrors, template);
  }

  function deny(exchange: Exchange, authorization: AuthorizationPolicy): void {
    exchange.localReplyDetails = rbacDenialDetails(authorization);
    const rule = exchange.match!.rule;
    deps.stats?.accessDenials?.count("rbac", { route: rule.routeKey, rule: rule.ruleName, policy: authorization.policy });
    refuseUnread(exchange, rbacDenied);
  }

  /** Answers 429 when the rule's local rate limit has no token for the request. */
  function overLimit(exchange: Exchange, limit: LocalRateLimit): boolean {
    const refusal = limit.check(performance.now(), deps.stats?.rateLimits);
    if (refusal === undefined) return false;
    exchange.localReplyDetails = "local_rate_limited";
    // The body is not read: ending the connection after the answer keeps a refused client
    // from making the gateway read an upload no one wants.
    endAfterAnswer(exchange);
    refuse(exchange, rateLimited, refusal.message, refusal.headers);
    return true;
  }

  const upgrade = createUpgradeHandler(deps, ctx, port);

  function clientError(err: Error, socket: Duplex): void {
    handleClientError(err, socket, deps.currentPlan().listenerByPort.get(port)?.settings, deps.draining?.() === true);
  }

  function tlsError(err: Error): void {
    deps.stats?.tlsHandshakeErrors?.count(port, err);
  }

  function proxyProtocolError(reason: ProxyHeaderFailure): void {
    deps.stats?.proxyProtocolErrors?.count(port, reason);
  }

  return { request, upgrade, clientError, tlsError, proxyProtocolError };
}

/** A bug while answering after a check: the gateway's own, not the client's doing, so the connection is cut as for a contained bug elsewhere. */
function abandonRequest(exchange: Exchange): void {
  exchange.errorType = ErrorType.upstreamError;
  (exchange.res as TrackedResponse)[kCutByProxy] = true;
  exchange.res.destroy();
}

/** The request's Content-Length, when it declares one. */
function declaredLength(exchange: Exchange): number | undefined {
  const header = exchange.req.headers["content-length"];
  if (header === undefined) return undefined;
  const length = Number(header);
  return Number.isSafeInteger(length) && length >= 0 ? length : undefined;
}

/**
 * A body the check could not take whole: the rest is never read, so the answer says
 * `Connection: close` and node ends the connection after it. Keeping it open would let node
 * parse a request the client sent behind that body and forward it, while the client, having
 * seen the connection end, takes it as lost.
 */
function refuseUnreadBody(exchange: Exchange, failure: Failure, limit: number): void {
  exchange.res.shouldKeepAlive = false;
  refuse(exchange, failure, failure === bodyRefusals.too_large ? `the request body is larger than the ${limit} bytes the authorization check takes` : failure.message);
}

/** A body read whole that did not decode, or decoded past `maxBytes` (TrafficPolicy requestDecompression). */
function refuseUndecodable(exchange: Exchange, coding: ContentCoding, outcome: "invalid" | "inflate_limit", maxBytes: number): void {
  if (outcome === "invalid") {
    exchange.localReplyDetails = "request_decompression_failed";
    refuse(exchange, requestBodyInvalid, `the request body is not valid ${coding} data`);
  } else {
    exchange.localReplyDetails = "request_payload_too_large";
    refuse(exchange, requestBodyInflateLimit, `the decoded request body is larger than ${maxBytes} bytes`);
  }
}

/** A body over the rule's buffer: the rest is never read, so the connection ends after the answer. */
function refuseOverBuffer(exchange: Exchange, limit: number): void {
  exchange.localReplyDetails = "request_payload_too_large";
  exchange.res.shouldKeepAlive = false;
  refuse(exchange, bufferTooLarge, `the request body is larger than the ${limit} bytes the route buffers`);
}

/** The rule's mirrors, then the chosen backendRef's. */
function mirrorTargets(rule: readonly MirrorTarget[] | undefined, backend: readonly MirrorTarget[] | undefined): readonly MirrorTarget[] | undefined {
  if (backend === undefined) return rule;
  return rule === undefined ? backend : [...rule, ...backend];
}

/**
 * A refusal sent before the request body was read: the connection ends after it, as Envoy
 * ends an HTTP/1 connection after a local reply to an unfinished request, rather than read
 * an upload nobody wants.
 */
function endAfterAnswer(exchange: Exchange): void {
  if (requestHasBody(exchange) && !exchange.req.complete) exchange.res.shouldKeepAlive = false;
}

function refuse(exchange: Exchange, failure: Failure, message: string, extraHeaders?: Readonly<OutgoingHeaders>): void {
  if (failure.details !== undefined) exchange.localReplyDetails ??= failure.details;
  sendError(exchange, failure.status, failure.code, message, extraHeaders);
  exchange.errorType = failure.serverErrorType;
  if (failure.flag !== "") addFlag(exchange, failure.flag);
  watchAnswerStall(exchange);
}

/**
 * A fault injection's abort, with Envoy's details and FI flag: its status and JSON body, or to
 * a gRPC request with a grpcStatus, HTTP 200 with the status in the head (trailers-only).
 */
function abortForFault(exchange: Exchange, fault: FaultInjectionPolicy, counts: FaultInjections | undefined): void {
  const rule = exchange.match!.rule;
  counts?.count("abort", { route: rule.routeKey, rule: rule.ruleName, policy: fault.policy });
  exchange.localReplyDetails = "fault_filter_abort";
  if (fault.grpcStatus === undefined || !isGrpcRequest(exchange.req.headers["content-type"])) {
    refuseUnread(exchange, fault.abortFailure!);
    return;
  }
  endAfterAnswer(exchange);
  addFlag(exchange, Flag.faultInjected);
  exchange.status = 200;
  exchange.responseStartPerfMs = performance.now();
  exchange.res.writeHead(200, { ...fault.grpcAbortHeaders(), "content-length": "0" });
  exchange.res.end();
  watchAnswerStall(exchange);
}

/** An access control's refusal: as for a refused rate limit, an unread body is not waited for. */
function refuseUnread(exchange: Exchange, failure: Failure, extraHeaders?: Readonly<OutgoingHeaders>): void {
  endAfterAnswer(exchange);
  refuse(exchange, failure, failure.message, extraHeaders);
}

/** RequestRedirect or DirectResponse: the rule answers without an upstream. */
function answerTerminal(exchange: Exchange, filters: ProxyFilters, match: CompiledMatch, facts: RequestFacts, port: number): void {
  const res = exchange.res;
  const redirect = filters.redirect;
  exchange.responseStartPerfMs = performance.now();
  if (redirect !== undefined) {
    const host = facts.routeHost === "" ? exchange.serverAddress : facts.routeHost;
    const location = redirectLocation(redirect, exchange.scheme, host, port, exchange.path, queryShown(exchange), match);
    exchange.status = redirect.statusCode;
    if (filters.responseHeaders === undefined && filters.cors === undefined && exchange.authResponseMutations === undefined) {
      res.writeHead(redirect.statusCode, { location, "content-length": "0" });
    } else {
      const headers: Record<string, string | string[]> = { location, "content-length": "0" };
      decorateAnswer(exchange, filters, headers);
      res.writeHead(redirect.statusCode, headers);
    }
    res.end();
    watchAnswerStall(exchange);
    return;
  }
  const direct = filters.direct!;
  exchange.status = direct.status;
  exchange.bytesSent += direct.body.length;
  if (filters.responseHeaders === undefined && filters.cors === undefined && exchange.authResponseMutations === undefined) {
    res.writeHead(direct.status, direct.headers);
  } else {
    const headers: Record<string, string | string[]> = { ...direct.headers };
    decorateAnswer(exchange, filters, headers);
    res.writeHead(direct.status, headers);
  }
  if (direct.status >= 500) exchange.errorType = String(direct.status);
  res.end(exchange.method === "HEAD" ? undefined : direct.body);
  watchAnswerStall(exchange);
}

/**
 * A service's refusal, relayed as it wrote it (its status, headers and body), with the rule's
 * response filters, as Envoy relays an ext_authz denial or a rate limit service's body.
 */
function relayAnswer(exchange: Exchange, filters: ProxyFilters, details: string, flag: string, status: number, headers: Record<string, string | string[]>, body: Buffer): void {
  exchange.localReplyDetails = details;
  addFlag(exchange, flag);
  exchange.status = status;
  exchange.responseStartPerfMs = performance.now();
  // RFC 9110 §6.4.1: these answers end at their head, whatever the service sent after it.
  const bodyless = exchange.method === "HEAD" || status === 204 || status === 304;
  if (!bodyless) headers["content-length"] = String(body.length);
  // The rule's CORS filter owns its cross-origin policy, on a denial as on an upstream's answer.
  if (filters.cors !== undefined) removeUpstreamCorsGrant(headers);
  decorateAnswer(exchange, filters, headers);
  exchange.res.writeHead(status, headers);
  if (!bodyless) exchange.bytesSent += body.length;
  exchange.res.end(bodyless ? undefined : body);
  watchAnswerStall(exchange);
}

/** ResponseHeaderModifier, an ExternalAuth service's answer headers, then CORS, as on a proxied response. */
function decorateAnswer(exchange: Exchange, filters: ProxyFilters, headers: Record<string, string | string[]>): void {
  if (filters.responseHeaders !== undefined) applyHeaderOps(filters.responseHeaders, headers);
  if (exchange.authResponseMutations !== undefined) applyMutations(exchange.authResponseMutations, headers);
  filters.cors?.decorate(exchange.req.headers.origin, headers);
  // Overwrite beats a route's modifier here too; otherwise the Server set at the start stands.
  if (exchange.listener.settings.serverHeader === "Overwrite") headers["server"] = exchange.listener.settings.serverName;
}

/**
 * A preflight never reaches the upstream: an allowed origin gets 204 with the filter's
 * Access-Control-* headers; any other gets a 403, which tells the browser (and the access
 * log) that the cross-origin request is refused.
 */
function answerPreflight(exchange: Exchange, cors: CorsPolicy, headers: PreflightHeaders): void {
  const origin = headers.origin;
  if (!cors.allows(origin)) {
    exchange.localReplyDetails = "cors_origin_not_allowed";
    refuse(exchange, corsOriginRefused, `origin ${origin} is not allowed by the route's CORS filter`);
    return;
  }
  exchange.localReplyDetails = "cors_response";
  exchange.status = 204;
  exchange.responseStartPerfMs = performance.now();
  exchange.res.writeHead(204, cors.preflightHeaders(origin, headers["access-control-request-method"], headers["access-control-request-headers"]));
  exchange.res.end();
  watchAnswerStall(exchange);
}
