// Upgrade requests (WebSocket and any other `Upgrade:` protocol): route like any request,
// forward the upgrade through undici, relay the upstream's 101 and then pipe raw bytes
// both ways until either side closes. A refusal from the upstream is relayed as is.
import type { IncomingMessage } from "node:http";
import type { Socket } from "node:net";
import type { Duplex } from "node:stream";
import type { Dispatcher } from "undici";
import type { CompiledBackend, CompiledMatch } from "../plan/types.ts";
import type { OutgoingHeaders } from "../telemetry/hooks.ts";
import { epochMsAt } from "../telemetry/wall-clock.ts";
import type { CallContext } from "./call.ts";
import { warnContainedBug } from "./contained-bug.ts";
import { applyEarlyHeaders } from "./early-headers.ts";
import { requestTurn } from "./requests-per-connection.ts";
import { endAndLinger } from "./linger.ts";
import { ErrorType, Flag, addFlag, rawErrorAnswer, rawErrorResponse } from "./errors.ts";
import { Exchange, UpstreamAttempt } from "./exchange.ts";
import { type RequestFacts, newRequestFacts, normalizeAddress, readRequestFacts } from "./facts.ts";
import { type AuthGrant, applyMutations, combinedGrant } from "./auth-grant.ts";
import { jsonRefusalHeaders, rateLimitTimeoutMs, startRateLimitCheck } from "./global-rate-limit.ts";
import { rbacDenialDetails, rbacDenied } from "./authorization.ts";
import { aclDenialDetails } from "./client-acl.ts";
import { csrfRefused, csrfRefuses } from "./csrf.ts";
import type { FaultInjectionPolicy } from "./fault-injection.ts";
import { delayForFault } from "./fault-delay.ts";
import { basicAuthChallenge, basicAuthDenial } from "./basic-auth.ts";
import { apiKeyDenial } from "./api-key-auth.ts";
import { startJwtCheck } from "./jwt-auth.ts";
import { queryShown, upstreamTargetShown, withoutHiddenQuery } from "./authenticated-identity.ts";
import { clientIpOf } from "./client-ip.ts";
import { checkTimeoutMs } from "./external-auth-policy.ts";
import { requestTimeLeftMs } from "./request-time-left.ts";
import { startAuthCheck } from "./external-auth.ts";
import { checkCountKey, checksThisRequest, countedVerdicts } from "./external-auth-verdicts.ts";
import { Failure, Failures, MaxStreamDurationError, TooManyHeadersError, classifyUpstreamError } from "./failures.ts";
import { type ProxyFilters, applyHeaderOps, proxyFiltersOf, redirectLocation } from "./filters.ts";
import type { ProxyDeps } from "./handler.ts";
import { removeUpstreamCorsGrant } from "./cors.ts";
import { headerLines, reasonPhrase, statusLine } from "./raw-head.ts";
import { connectionTokens, headerFieldCount, isHopByHop } from "./headers.ts";
import { http } from "./node-http.ts";
import { type LocalAwareHandler, type PoolEntry, type PoolWaiter, type UpstreamLocal, startGranted } from "./pools.ts";
import { HTTP11_UPGRADE, RequestRefusals, forwardedUpgrade, routeRequest } from "./request-checks.ts";
import { chooseEndpoint } from "./load-balancer.ts";
import { hashesRequests } from "../config/backend-load-balancer.ts";
import { addSetCookies } from "./consistent-hash.ts";
import { StallWatch, type StallSubject, bytesMovedBy, bytesTakenBy } from "./stall-watch.ts";
import { cutForShutdown } from "./shutdown-cut.ts";
import { HealthCheckDetails, IMMEDIATE_FAIL_HEADER, asksForHealthCheck, healthCheckFailed } from "./health-check.ts";
import { transformServerHeader } from "./server-header.ts";
import { autoHostBase, chooseBackend, rewriteHostFor, upstreamHeaders, upstreamTarget } from "./upstream-request.ts";

const kTunnel = Symbol("tollgate.tunnel");

interface TunnelSocket extends Duplex {
  [kTunnel]?: Tunnel;
}

const clientGone = new Error("client closed the connection");
const clientStalled = new Error("the client took no response byte within the stream idle timeout");
const streamDurationReached = new MaxStreamDurationError("the upgrade outlived the backend's maxStreamDuration");
const tooManyHeaders = new TooManyHeadersError("the upstream's response head has more header fields than maxHeadersCount");

export function createUpgradeHandler(
  deps: ProxyDeps,
  ctx: CallContext,
  port: number,
): (req: IncomingMessage, socket: Duplex, head: Buffer) => void {
  const facts = newRequestFacts();
  return function upgrade(req: IncomingMessage, socket: Duplex, head: Buffer): void {
    const startPerfMs = performance.now();
    const startTimeMs = epochMsAt(startPerfMs);
    const plan = deps.currentPlan();
    const listener = plan.listenerByPort.get(port);
    socket.on("error", destroyOnError);
    if (listener === undefined) {
      socket.end(rawErrorResponse(404, "Not Found", "no_listener", "no listener is configured on this port"));
      return;
    }
    // Pipelined past the connection's last allowed request: never served, as a plain request
    // would not be; the connection ends after that request's answer.
    const maxRequests = listener.settings.maxRequestsPerConnection;
    if (maxRequests > 0 && requestTurn(socket as Socket, maxRequests) === "past") return;
    const early = listener.settings.earlyHeaders;
    if (early !== undefined) applyEarlyHeaders(early, req.headers);
    readRequestFacts(req, listener.settings, facts);
    const exchange = new Exchange(req, new http.ServerResponse(req), plan, listener, startTimeMs, startPerfMs, facts);
    const healthCheckPath = listener.settings.healthCheckPath;
    if (asksForHealthCheck(healthCheckPath, req, facts)) {
      exchange.healthCheck = true;
      const tunnel = new Tunnel(ctx, exchange, socket as TunnelSocket, head);
      ctx.telemetry.requestStart(exchange);
      tunnel.answerHealthCheck(deps.draining?.() === true);
      return;
    }
    const routed = routeRequest(req, facts, listener);
    const match = routed instanceof Failure ? undefined : routed;
    exchange.match = match;
    const tunnel = new Tunnel(ctx, exchange, socket as TunnelSocket, head);
    // As for plain requests: while the listener's health check fails, every answer says so.
    if (healthCheckPath !== undefined && deps.draining?.() === true) tunnel.signalsDrain = true;
    ctx.telemetry.requestStart(exchange);
    if (routed instanceof Failure) {
      tunnel.refuseWith(routed, routed === RequestRefusals.http10 ? HTTP11_UPGRADE : undefined);
      return;
    }
    if (match === undefined) {
      tunnel.refuse(404, "Not Found", "no_route", `no route matches host ${facts.routeHost || "(none)"} path ${exchange.path}`, "404", Flag.noRoute);
      return;
    }
    const ruleFilters = proxyFiltersOf(match.rule.filters);
    // The rule's fault injection first, as for requests.
    const fault = ruleFilters.faultInjection;
    // A tunnel is never slowed: no response rate limit is drawn for it.
    const faults = fault?.draw({ route: match.rule.routeKey, rule: match.rule.ruleName, policy: fault.policy }, ctx.stats?.faultInjections, socket, false);
    if (faults === undefined) {
      admit(tunnel, match, facts, ruleFilters, port);
      return;
    }
    const delayMs = faults.delayMs;
    if (delayMs === undefined) {
      // Only an abort is left to an upgrade with no delay.
      abortForFault(tunnel, fault!);
      return;
    }
    // The listener reuses its facts object for the next request while this one waits.
    const kept = { ...facts };
    delayForFault(exchange, delayMs, faults.releaseSlot, () => (faults.abort ? abortForFault(tunnel, fault!) : admit(tunnel, match, kept, ruleFilters, port)), () => abandonTunnel(tunnel));
  };
}

/** An upgrade offer aborted by a fault injection gets the abort's status raw (a gRPC abort's 200: no upgrade). */
function abortForFault(tunnel: Tunnel, fault: FaultInjectionPolicy): void {
  const rule = tunnel.exchange.match!.rule;
  tunnel.ctx.stats?.faultInjections?.count("abort", { route: rule.routeKey, rule: rule.ruleName, policy: fault.policy });
  const failure = fault.abortFailure!;
  tunnel.exchange.localReplyDetails = "fault_filter_abort";
  tunnel.refuse(failure.status, reasonPhrase(failure.status), failure.code, failure.message, failure.type, failure.flag);
}

/** The acl and jwtAuth, then `authenticate`. */
function admit(tunnel: Tunnel, match: CompiledMatch, facts: RequestFacts, ruleFilters: ProxyFilters, port: number): void {
  const exchange = tunnel.exchange;
  const ctx = tunnel.ctx;
  const acl = ruleFilters.acl;
  const blockedBy = acl?.denial(clientIpOf(exchange));
  if (acl !== undefined && blockedBy !== undefined) {
    exchange.localReplyDetails = aclDenialDetails(acl, blockedBy);
    ctx.stats?.accessDenials?.count("acl", { route: match.rule.routeKey, rule: match.rule.ruleName, policy: acl.policy });
    tunnel.refuse(acl.failure.status, reasonPhrase(acl.failure.status), acl.failure.code, acl.failure.message, acl.failure.type, "", acl.denialHeaders(blockedBy));
    return;
  }
  const jwtAuth = ruleFilters.jwtAuth;
  if (jwtAuth === undefined) {
    authenticate(tunnel, match, facts, ruleFilters, port);
    return;
  }
  // The listener reuses its facts object for the next request while this one waits.
  const kept = { ...facts };
  startJwtCheck(
    exchange,
    jwtAuth,
    { pools: ctx.pools, jwksFetches: ctx.stats?.jwksFetches },
    ctx.stats?.accessDenials,
    (denied) => {
      if (denied === undefined) authenticate(tunnel, match, kept, ruleFilters, port);
      else tunnel.refuse(denied.failure.status, reasonPhrase(denied.failure.status), denied.failure.code, denied.failure.message, denied.failure.type, "", denied.challenge);
    },
    () => abandonTunnel(tunnel),
  );
}

/** After jwtAuth: basicAuth, apiKeyAuth, then the ExternalAuth check, each refusing or passing the upgrade on. */
function authenticate(tunnel: Tunnel, match: CompiledMatch, facts: RequestFacts, ruleFilters: ProxyFilters, port: number): void {
  const { ctx, exchange } = tunnel;
  const basicAuth = ruleFilters.basicAuth;
  const denied = basicAuth === undefined ? undefined : basicAuthDenial(exchange, basicAuth, ctx.stats?.accessDenials);
  if (denied !== undefined) {
    tunnel.refuse(401, reasonPhrase(401), denied.failure.code, denied.failure.message, denied.failure.type, "", basicAuthChallenge(exchange));
    return;
  }
  const apiKeyAuth = ruleFilters.apiKeyAuth;
  const keyDenied = apiKeyAuth === undefined ? undefined : apiKeyDenial(exchange, apiKeyAuth, ctx.stats?.accessDenials);
  if (keyDenied !== undefined) {
    tunnel.refuse(401, reasonPhrase(401), keyDenied.failure.code, keyDenied.failure.message, keyDenied.failure.type, "");
    return;
  }
  const auth = ruleFilters.externalAuth;
  if (auth === undefined) {
    proceed(tunnel, match, facts, ruleFilters, undefined, port);
    return;
  }
  const counts = ctx.stats?.externalAuthChecks;
  const key = checkCountKey(auth, match.rule.routeKey, match.rule.ruleName);
  if (!checksThisRequest(auth, key, counts)) {
    proceed(tunnel, match, facts, ruleFilters, undefined, port);
    return;
  }
  // An upgrade is checked as any request of the rule is, before anything else of it runs.
  const kept = { ...facts };
  // An upgrade's check carries no body: a request that upgrades has none to forward.
  const sink = countedVerdicts(auth, key, counts, {
    allow: (grant) => proceed(tunnel, match, kept, ruleFilters, grant, port),
    deny: (status, headers, body) => tunnel.relayAnswer(ruleFilters, "ext_authz_denied", Flag.unauthorizedExternalService, status, headers, body),
    refuse: (failure, message) => {
      exchange.localReplyDetails = "ext_authz_error";
      tunnel.refuse(failure.status, reasonPhrase(failure.status), failure.code, message, failure.type, failure.flag);
    },
    abandon: () => abandonTunnel(tunnel),
  });
  startAuthCheck(ctx, exchange, auth, withoutHiddenQuery(exchange, kept.target), undefined, checkTimeoutMs(auth, exchange, match), sink);
}

function proceed(tunnel: Tunnel, match: CompiledMatch, facts: RequestFacts, ruleFilters: ProxyFilters, grant: AuthGrant | undefined, port: number): void {
  const exchange = tunnel.exchange;
  if (grant !== undefined) exchange.authResponseMutations = grant.responseMutations;
  // As for plain requests: rbac after the ExternalAuth check, then the global rate limit, then the local one.
  const authorization = ruleFilters.authorization;
  if (authorization !== undefined && !authorization.allows(exchange, match.rule, grant)) {
    exchange.localReplyDetails = rbacDenialDetails(authorization);
    tunnel.ctx.stats?.accessDenials?.count("rbac", { route: match.rule.routeKey, rule: match.rule.ruleName, policy: authorization.policy });
    tunnel.refuseWith(rbacDenied);
    return;
  }
  const policy = ruleFilters.globalRateLimit;
  if (policy === undefined) {
    open(tunnel, match, facts, ruleFilters, grant, port);
    return;
  }
  // The listener reuses its facts object for the next request while this one waits.
  const kept = { ...facts };
  const check = startRateLimitCheck(tunnel.ctx, exchange, policy, withoutHiddenQuery(exchange, kept.target), grant, rateLimitTimeoutMs(policy, requestTimeLeftMs(exchange, match)), tunnel.ctx.stats?.globalRateLimits, {
    withinLimit: (serviceGrant) => {
      const combined = combinedGrant(grant, serviceGrant);
      if (combined !== undefined) exchange.authResponseMutations = combined.responseMutations;
      open(tunnel, match, kept, ruleFilters, combined, port);
    },
    overLimit: (headers, body) => {
      if (body === undefined) {
        exchange.localReplyDetails = "request_rate_limited";
        tunnel.refuse(429, "Too Many Requests", "request_rate_limited", "a global rate limit allows no more requests now", "429", Flag.rateLimited, jsonRefusalHeaders(headers));
      } else tunnel.relayAnswer(ruleFilters, "request_rate_limited", Flag.rateLimited, 429, headers, body);
    },
    checkFailed: (message) => {
      if (policy.model.failOpen) {
        open(tunnel, match, kept, ruleFilters, grant, port);
        return;
      }
      exchange.localReplyDetails = "rate_limiter_error";
      tunnel.refuse(500, "Internal Server Error", "rate_limiter_error", message, ErrorType.upstreamError, Flag.rateLimitServiceError);
    },
    abandon: () => {
      exchange.errorType = ErrorType.upstreamError;
      tunnel.responding = true;
      tunnel.client.destroy();
    },
  });
  if (check === undefined) open(tunnel, match, facts, ruleFilters, grant, port);
}

/** The rule's local rate limit and its csrf; then the rule answers itself, or the upgrade goes to a backend. */
function open(tunnel: Tunnel, match: CompiledMatch, facts: RequestFacts, ruleFilters: ProxyFilters, grant: AuthGrant | undefined, port: number): void {
  const exchange = tunnel.exchange;
  const refusal = ruleFilters.rateLimit?.check(performance.now(), tunnel.ctx.stats?.rateLimits);
  if (refusal !== undefined) {
    exchange.localReplyDetails = "local_rate_limited";
    tunnel.refuse(429, "Too Many Requests", "local_rate_limited", refusal.message, "429", Flag.rateLimited, refusal.headers);
    return;
  }
  const csrf = ruleFilters.csrf;
  if (csrf !== undefined && csrfRefuses(exchange, match.rule, csrf, tunnel.ctx.stats)) {
    tunnel.refuseWith(csrfRefused);
    return;
  }
  if (ruleFilters.terminal) {
    tunnel.answerTerminal(ruleFilters, match, facts.routeHost === "" ? exchange.serverAddress : facts.routeHost, port);
    return;
  }
  const chosen = chooseBackend(exchange, match.rule);
  if (chosen instanceof Failure) {
    tunnel.refuseWith(chosen);
    return;
  }
  const backendFilters = proxyFiltersOf(chosen.filters);
  tunnel.ruleFilters = ruleFilters;
  tunnel.backendFilters = backendFilters;
  const headers = upstreamHeaders(exchange, ruleFilters, backendFilters, grant);
  tunnel.autoHost = autoHostBase(ruleFilters, backendFilters, headers);
  tunnel.connect(chosen.backend, headers, upstreamTargetShown(exchange, upstreamTarget(facts, match, ruleFilters, backendFilters, headers), headers), forwardedUpgrade(exchange.req.headers.upgrade) ?? "websocket");
}

/** A bug while authorizing: the client's connection is closed, as nothing sensible can be sent. */
function abandonTunnel(tunnel: Tunnel): void {
  tunnel.exchange.errorType = ErrorType.upstreamError;
  tunnel.responding = true;
  tunnel.client.destroy();
}

function destroyOnError(this: Duplex): void {
  this.destroy();
}

class Tunnel implements Dispatcher.DispatchHandler, StallSubject, PoolWaiter, LocalAwareHandler {
  readonly ctx: CallContext;
  readonly exchange: Exchange;
  readonly client: TunnelSocket;
  readonly head: Buffer;
  attempt: UpstreamAttempt | undefined = undefined;
  /** The pool the upgrade goes through, and its request once it has a connection slot. */
  entry: PoolEntry | undefined = undefined;
  dispatchOptions: Dispatcher.DispatchOptions | undefined = undefined;
  holdsSlot = false;
  upstreamLocal: UpstreamLocal | undefined = undefined;
  nextWaiter: PoolWaiter | undefined = undefined;
  previousWaiter: PoolWaiter | undefined = undefined;
  queued = false;
  /** Runs while the upgrade waits for a connection slot. */
  queueTimer: NodeJS.Timeout | undefined = undefined;
  /** The backend's maxStreamDuration, from the connection to the tunnel's close. */
  streamTimer: NodeJS.Timeout | undefined = undefined;
  controller: Dispatcher.DispatchController | undefined = undefined;
  upstream: TunnelSocket | undefined = undefined;
  /** Bytes the client socket had moved when the tunnel opened. */
  readBase = 0;
  writtenBase = 0;
  /** The Upgrade value sent upstream: its 101 must pick one of these. */
  offered = "";
  /** Response bytes already went to the client. */
  responding = false;
  /** The listener's health check fails (a drain): every head carries Envoy's immediate-fail header. */
  signalsDrain = false;
  attemptDone = false;
  ended = false;
  /**
   * The stream idle limit: on a relayed non-101 answer once it backs up on the client, and on
   * the open tunnel from the 101 on.
   */
  stall: StallWatch | undefined = undefined;
  drainListening = false;
  /**
   * Their ResponseHeaderModifiers apply to what the upstream answers, 101 or not; on a CORS
   * rule the upstream's Access-Control grant is removed from it first.
   */
  ruleFilters: ProxyFilters | undefined = undefined;
  backendFilters: ProxyFilters | undefined = undefined;
  /** TrafficPolicy autoHostRewrite: the Host sent to an endpoint with no name (a Service's). */
  autoHost: { readonly host: string | string[] | undefined } | undefined = undefined;
  /** TrafficPolicy consistentHash: the cookies made for the upgrade's key, set on the upstream's answer. */
  affinityCookies: string[] | undefined = undefined;

  constructor(ctx: CallContext, exchange: Exchange, client: TunnelSocket, head: Buffer) {
    this.ctx = ctx;
    this.exchange = exchange;
    this.client = client;
    this.head = head;
    client[kTunnel] = this;
    client.on("close", onClientClose);
  }

  refuse(status: number, reason: string, code: string, message: string, errorType: string, flag: string, extraHeaders?: Readonly<OutgoingHeaders>): void {
    const exchange = this.exchange;
    exchange.status = status;
    // As for plain requests: a 4xx refusal is the client's error, not the server's.
    if (status >= 500) exchange.errorType = errorType;
    if (flag !== "") addFlag(exchange, flag);
    exchange.responseStartPerfMs = performance.now();
    const extra = this.signalsDrain ? { ...extraHeaders, [IMMEDIATE_FAIL_HEADER]: "true" } : extraHeaders;
    const { headers, text } = rawErrorAnswer(status, reason, code, message, extra, exchange.authResponseMutations, exchange.listener.settings);
    exchange.responseHeaders = headers;
    exchange.bytesSent += Buffer.byteLength(text);
    this.responding = true;
    this.endClient(text);
  }

  /** The listener's health check path, asked for with an upgrade offer: answered as without one, and not upgraded. */
  answerHealthCheck(draining: boolean): void {
    const exchange = this.exchange;
    if (draining) {
      exchange.localReplyDetails = HealthCheckDetails.failed;
      const failed = healthCheckFailed;
      this.refuse(failed.status, reasonPhrase(failed.status), failed.code, failed.message, failed.type, failed.flag);
      return;
    }
    exchange.localReplyDetails = HealthCheckDetails.ok;
    exchange.status = 200;
    exchange.responseStartPerfMs = performance.now();
    this.responding = true;
    const headers: Record<string, string> = { "content-length": "0", connection: "close" };
    transformServerHeader(exchange.listener.settings, headers);
    exchange.responseHeaders = headers;
    this.client.write(statusLine(200, reasonPhrase(200)) + headerLines(headers) + "\r\n", "latin1");
    this.endClient(undefined);
  }

  refuseWith(failure: Failure, extraHeaders?: Readonly<OutgoingHeaders>): void {
    if (failure.details !== undefined) this.exchange.localReplyDetails ??= failure.details;
    this.refuse(failure.status, reasonPhrase(failure.status), failure.code, failure.message, failure.type, failure.flag, extraHeaders);
  }

  answerTerminal(filters: ProxyFilters, match: CompiledMatch, host: string, port: number): void {
    const exchange = this.exchange;
    const headers: Record<string, string | string[]> = {};
    let status: number;
    let body: Buffer | undefined;
    if (filters.redirect !== undefined) {
      status = filters.redirect.statusCode;
      headers.location = redirectLocation(filters.redirect, exchange.scheme, host, port, exchange.path, queryShown(exchange), match);
      headers["content-length"] = "0";
    } else {
      const direct = filters.direct!;
      status = direct.status;
      Object.assign(headers, direct.headers);
      body = direct.body;
    }
    if (filters.responseHeaders !== undefined) applyHeaderOps(filters.responseHeaders, headers);
    if (exchange.authResponseMutations !== undefined) applyMutations(exchange.authResponseMutations, headers);
    this.finishHead(headers);
    headers.connection = "close";
    exchange.responseHeaders = headers;
    exchange.status = status;
    exchange.responseStartPerfMs = performance.now();
    this.responding = true;
    this.client.write(statusLine(status, reasonPhrase(status)) + headerLines(headers) + "\r\n", "latin1");
    if (body !== undefined) exchange.bytesSent += body.length;
    this.endClient(body);
  }

  /** A service's refusal (an ExternalAuth denial, a rate limit service's body), relayed as it wrote it. */
  relayAnswer(filters: ProxyFilters, details: string, flag: string, status: number, headers: Record<string, string | string[]>, body: Buffer): void {
    const exchange = this.exchange;
    exchange.localReplyDetails = details;
    addFlag(exchange, flag);
    exchange.status = status;
    const bodyless = exchange.method === "HEAD" || status === 204 || status === 304;
    if (!bodyless) headers["content-length"] = String(body.length);
    this.ruleFilters = filters;
    this.applyResponseFilters(headers);
    headers.connection = "close";
    exchange.responseHeaders = headers;
    exchange.responseStartPerfMs = performance.now();
    this.responding = true;
    this.client.write(statusLine(status, reasonPhrase(status)) + headerLines(headers) + "\r\n", "latin1");
    if (!bodyless) exchange.bytesSent += body.length;
    this.endClient(bodyless ? undefined : body);
  }

  /**
   * Rule then backend ResponseHeaderModifier, as on a plain proxied response. On a CORS rule
   * the upstream's grant is removed first, as on any response of the rule; the filter adds
   * nothing, since browsers apply no CORS to an upgrade.
   */
  private applyResponseFilters(answer: Record<string, string | string[]>, fromUpstream = false): void {
    if (this.ruleFilters?.cors !== undefined) removeUpstreamCorsGrant(answer);
    const ruleOps = this.ruleFilters?.responseHeaders;
    const backendOps = this.backendFilters?.responseHeaders;
    // The consistentHash cookies go on the upstream's answers only, before the route's
    // header modifiers, as Envoy's router adds them.
    if (fromUpstream && this.affinityCookies !== undefined) addSetCookies(answer, this.affinityCookies);
    if (ruleOps !== undefined) applyHeaderOps(ruleOps, answer);
    if (backendOps !== undefined) applyHeaderOps(backendOps, answer);
    const authMutations = this.exchange.authResponseMutations;
    if (authMutations !== undefined) applyMutations(authMutations, answer);
    this.finishHead(answer);
  }

  /** What the gateway writes last on every head it relays or makes: its Server, and the drain signal. */
  private finishHead(headers: Record<string, string | string[]>): void {
    transformServerHeader(this.exchange.listener.settings, headers);
    if (this.signalsDrain) headers[IMMEDIATE_FAIL_HEADER] = "true";
  }

  connect(backend: CompiledBackend, headers: OutgoingHeaders, path: string, protocol: string): void {
    this.offered = protocol;
    // A WebSocket keeps to its key's endpoint as a request does: affinity matters most to long-lived sessions.
    const key = hashesRequests(backend.model.loadBalancer) ? this.ruleFilters?.consistentHash?.keyOf(this.exchange) : undefined;
    this.affinityCookies = key?.setCookies;
    const endpoint = chooseEndpoint(backend, key?.hash, 0, this.ctx.pools)!;
    let entry: PoolEntry;
    try {
      entry = this.ctx.pools.entry(endpoint, backend.model.maxConnections);
    } catch {
      this.refuse(503, "Service Unavailable", "no_healthy_upstream", "the upstream pools are shut down", ErrorType.noHealthyUpstream, Flag.noHealthyUpstream);
      return;
    }
    if (entry.full(backend.model.maxPendingRequests)) {
      this.refuseWith(Failures.overflow);
      return;
    }
    // Only once a connection may be had, as for a request: a refused upgrade logs the Host it was sent with.
    if (this.autoHost !== undefined) rewriteHostFor(endpoint, this.autoHost, headers);
    const exchange = this.exchange;
    const now = performance.now();
    const attempt = new UpstreamAttempt(0, backend, endpoint, exchange.method, endpoint.origin + path, epochMsAt(now), now);
    this.attempt = attempt;
    exchange.attempts.push(attempt);
    this.ctx.telemetry.attemptStart(exchange, attempt, headers);
    if (entry.peerAddress !== undefined) {
      attempt.peerAddress = entry.peerAddress;
      attempt.peerPort = entry.peerPort;
    }
    // The wait for the upstream's 101 is bounded like any response head (streamIdleTimeout).
    const idleMs = exchange.streamIdleMs();
    this.entry = entry;
    this.dispatchOptions = { path, method: exchange.method as Dispatcher.HttpMethod, headers, upgrade: protocol, headersTimeout: idleMs };
    if (entry.takeSlot(this)) {
      startGranted(this);
      return;
    }
    // An upgrade holds a pooled connection until its 101, so it waits its turn like any request.
    if (idleMs > 0) this.queueTimer = setTimeout(onTunnelQueueWaitTimeout, idleMs, this);
  }

  /** A connection slot is the upgrade's, at once or when its turn in the queue came. */
  slotGranted(): void {
    this.stopQueueTimer();
    this.holdsSlot = true;
    this.entry!.pool.dispatch(this.dispatchOptions!, this);
  }

  /** Its grant threw: the slot goes back and the client gets a 502, as when undici fails the upgrade. */
  slotFailed(error: Error): void {
    this.controller?.abort(error);
    this.onResponseError(null, error);
  }

  /** undici let the request go (upgraded, answered or failed): the connection slot passes on. */
  releaseSlot(): void {
    if (!this.holdsSlot) return;
    this.holdsSlot = false;
    this.entry!.releaseSlot();
  }

  stopQueueTimer(): void {
    if (this.queueTimer === undefined) return;
    clearTimeout(this.queueTimer);
    this.queueTimer = undefined;
  }

  /** No connection slot came free within streamIdleTimeout: 504 upstream_timeout (SI), as for a plain request. */
  onQueueWaitTimeout(): void {
    this.queueTimer = undefined;
    if (this.ended || !this.queued) return;
    this.entry!.leaveQueue(this);
    this.settleAttempt(Failures.poolWait.type);
    this.refuseWith(Failures.poolWait);
  }

  settleAttempt(errorType: string | undefined): void {
    if (this.attemptDone || this.attempt === undefined) return;
    this.attemptDone = true;
    this.stopStreamTimer();
    this.attempt.endPerfMs = performance.now();
    if (errorType !== undefined) this.attempt.errorType = errorType;
    this.ctx.telemetry.attemptEnd(this.exchange, this.attempt);
  }

  // ------------------------------------------------------------ undici handler

  onRequestStart(controller: Dispatcher.DispatchController): void {
    this.controller = controller;
    if (this.ended) {
      controller.abort(clientGone);
      return;
    }
    // An upgrade has no body: undici writes the whole request head now.
    if (this.attempt !== undefined) this.attempt.requestStartPerfMs = performance.now();
    const streamLimitMs = this.attempt?.backend.model.maxStreamDurationMs;
    if (streamLimitMs !== undefined) this.streamTimer = setTimeout(onTunnelMaxStreamDuration, streamLimitMs, this);
  }

  stopStreamTimer(): void {
    if (this.streamTimer === undefined) return;
    clearTimeout(this.streamTimer);
    this.streamTimer = undefined;
  }

  /**
   * The backend's maxStreamDuration ran out. An open tunnel is closed both ways, as Envoy
   * resets an upgraded stream: the upgrade itself succeeded, so this is no error (the flag
   * says why it closed). Before that it is a failed attempt: a 408, or a cut relayed answer.
   * Envoy's codec never sees an upgrade request end (what follows its head is the tunnel's),
   * so it answers as for a client still sending: 408.
   */
  onMaxStreamDuration(): void {
    this.streamTimer = undefined;
    if (this.ended || this.attemptDone) return;
    const failure = Failures.maxStreamDurationMidUpload;
    if (this.upstream !== undefined) {
      addFlag(this.exchange, failure.flag);
      this.exchange.localReplyDetails = failure.details;
      this.client.destroy();
      return;
    }
    // Settled first, so the abort's onResponseError returns.
    this.failAttempt(streamDurationReached);
    this.controller?.abort(streamDurationReached);
  }

  onRequestSent(): void {
    if (this.attempt !== undefined) this.attempt.requestSentPerfMs = performance.now();
  }

  // undici destroys the upgraded socket on what onRequestUpgrade throws, and swallows what
  // onResponseError throws: either way the client would never be answered, and a bug would
  // look like an upstream fault.
  onRequestUpgrade(_controller: Dispatcher.DispatchController, statusCode: number, headers: Record<string, string | string[] | undefined>, socket: Duplex): void {
    // The upgraded socket leaves undici's pool: its connection slot is free again, but the
    // upstream stays busy with the tunnel until it closes.
    this.releaseSlot();
    const origin = this.attempt?.endpoint.origin;
    if (origin !== undefined) {
      const pools = this.ctx.pools;
      pools.tunnelOpened(origin);
      socket.once("close", () => pools.tunnelClosed(origin));
    }
    try {
      this.openTunnel(statusCode, headers, socket);
    } catch (thrown) {
      socket.destroy();
      this.containBug("opening an upgrade tunnel failed", thrown);
    }
  }

  /** Reports a bug in handling the upgrade, gives the attempt up and answers the client anyway: a 502, or a cut once a head went out. */
  containBug(what: string, thrown: unknown): void {
    warnContainedBug(what, thrown);
    try {
      // Settled first: the abort calls onResponseError at once, which then returns.
      this.settleAttempt(ErrorType.upstreamError);
      this.controller?.abort(thrown instanceof Error ? thrown : new Error(String(thrown)));
      this.upstream?.destroy();
      if (this.ended) return;
      if (this.responding) {
        this.exchange.errorType = ErrorType.upstreamError;
        this.client.destroy();
      } else {
        this.refuseWith(Failures.other);
      }
    } catch (second) {
      warnContainedBug("answering the client after a bug failed", second);
      this.client.destroy();
    }
  }

  openTunnel(statusCode: number, headers: Record<string, string | string[] | undefined>, socket: Duplex): void {
    const upstream = socket as TunnelSocket;
    if (this.ended) {
      upstream.destroy();
      return;
    }
    if (this.exceedsHeaderCount(headers)) {
      upstream.destroy();
      this.failAttempt(tooManyHeaders);
      return;
    }
    if (!isOffered(this.offered, headers.upgrade)) {
      // RFC 9110 §7.8: a 101 switches to a protocol the client asked for. Any other (h2c
      // above all) would leave an unrouted tunnel to the upstream.
      upstream.destroy();
      this.settleAttempt(Failures.protocol.type);
      this.refuseWith(Failures.protocol);
      return;
    }
    const exchange = this.exchange;
    const attempt = this.attempt!;
    attempt.status = statusCode;
    const remote = (socket as { remoteAddress?: string }).remoteAddress;
    if (remote !== undefined) {
      attempt.peerAddress = normalizeAddress(remote);
      attempt.peerPort = (socket as { remotePort?: number }).remotePort ?? 0;
    }
    exchange.status = statusCode;
    const now = performance.now();
    attempt.responseStartPerfMs = now;
    exchange.responseStartPerfMs = now;
    this.responding = true;
    this.upstream = upstream;
    upstream[kTunnel] = this;
    upstream.on("error", destroyOnError);
    upstream.on("close", onUpstreamClose);
    const client = this.client;
    const bytes = client as unknown as { bytesRead?: number; bytesWritten?: number };
    this.readBase = (bytes.bytesRead ?? 0) - this.head.length;
    // Upgrade and Connection belong in a 101; other hop-by-hop headers, and the ones the
    // upstream's Connection names for this hop only, still do not.
    const listed = connectionTokens(headers.connection);
    const answer: Record<string, string | string[]> = {};
    for (const name in headers) {
      if (name !== "upgrade" && name !== "connection" && (isHopByHop(name) || (listed !== undefined && listed.includes(name)))) continue;
      answer[name] = headers[name]!;
    }
    this.applyResponseFilters(answer, true);
    // The switch is the upstream's: a modifier can neither drop nor rewrite it.
    for (const name of SWITCH_HEADERS) {
      const value = headers[name];
      if (value === undefined) delete answer[name];
      else answer[name] = value;
    }
    exchange.responseHeaders = answer;
    client.write(statusLine(statusCode, "Switching Protocols") + headerLines(answer) + "\r\n", "latin1");
    this.writtenBase = bytes.bytesWritten ?? 0;
    if (this.head.length > 0) upstream.write(this.head);
    client.pipe(upstream);
    upstream.pipe(client);
    client.resume();
    // As Envoy's stream idle timeout on upgraded streams: a tunnel that moves no byte either
    // way for the limit is closed, so a peer gone without a FIN does not hold two sockets.
    // Both ends count: an upstream that takes a large upload slowly is still taking it.
    const idleMs = exchange.streamIdleMs();
    if (idleMs > 0) {
      const upstreamSocket = upstream as Duplex as Socket;
      this.stall = new StallWatch(client as Duplex as Socket, idleMs, this, (clientSocket) => bytesMovedBy(clientSocket) + bytesTakenBy(upstreamSocket));
      this.stall.watch();
    }
  }

  onResponseStart(controller: Dispatcher.DispatchController, statusCode: number, headers: Record<string, string | string[] | undefined>, statusText?: string): void {
    if (this.ended || statusCode < 200) return;
    if (this.exceedsHeaderCount(headers)) {
      // Settled first, so the abort's onResponseError returns.
      this.failAttempt(tooManyHeaders);
      controller.abort(tooManyHeaders);
      return;
    }
    const exchange = this.exchange;
    this.attempt!.status = statusCode;
    if (statusCode >= 400) this.attempt!.errorType = String(statusCode);
    exchange.status = statusCode;
    if (statusCode >= 500) exchange.errorType = String(statusCode);
    const now = performance.now();
    this.attempt!.responseStartPerfMs = now;
    exchange.responseStartPerfMs = now;
    this.responding = true;
    // undici decodes the reason phrase as UTF-8 and the head goes out as latin1: a character
    // such as U+010D would become a CR. Only a plain ASCII phrase is passed on.
    const head = statusLine(statusCode, statusText !== undefined && PLAIN_REASON.test(statusText) ? statusText : reasonPhrase(statusCode));
    const answer: Record<string, string | string[]> = {};
    for (const name in headers) {
      const value = headers[name];
      if (value === undefined || isHopByHop(name) || name === "content-length") continue;
      answer[name] = value;
    }
    this.applyResponseFilters(answer, true);
    // Without Content-Length or chunking the body runs to the end of the connection.
    answer.connection = "close";
    exchange.responseHeaders = answer;
    this.client.write(head + headerLines(answer) + "\r\n", "latin1");
  }

  onResponseData(controller: Dispatcher.DispatchController, chunk: Buffer): void {
    if (this.ended) return;
    this.exchange.bytesSent += chunk.length;
    if (this.client.write(chunk)) return;
    // Backpressure, as for any proxied response: without it a client that does not read would
    // have the gateway hold the whole body in memory.
    controller.pause();
    if (!this.drainListening) {
      this.drainListening = true;
      this.client.on("drain", onClientDrain);
    }
    this.watchClient();
  }

  /** The backend's maxHeadersCount, which an upstream's head (101 or not) must keep to. */
  exceedsHeaderCount(headers: Readonly<Record<string, string | string[] | undefined>>): boolean {
    const maxHeaders = this.attempt?.backend.model.maxHeadersCount;
    return maxHeaders !== undefined && headerFieldCount(headers) > maxHeaders;
  }

  /** The stream idle limit for a client that stopped taking a relayed answer. */
  watchClient(): void {
    const idleMs = this.exchange.streamIdleMs();
    if (idleMs <= 0) return;
    this.stall ??= new StallWatch(this.client as Duplex as Socket, idleMs, this);
    this.stall.watch();
  }

  stallWaitOver(): boolean {
    // A relayed answer is waited on only while it backs up; an open tunnel until it closes.
    return this.ended || (this.upstream === undefined && this.client.writableLength === 0);
  }

  stallDeferred(): boolean {
    return false;
  }

  cutStalled(): void {
    addFlag(this.exchange, Flag.streamIdleTimeout);
    if (this.upstream === undefined) {
      this.exchange.errorType = ErrorType.timeout;
      this.settleAttempt(ErrorType.clientStalled);
      this.controller?.abort(clientStalled);
    }
    // An idle tunnel is no failure: the upgrade succeeded, and closing quiet sessions is the
    // limit's job. The close listener reports it.
    this.client.destroy();
  }

  onResponseEnd(): void {
    this.releaseSlot();
    if (this.attempt !== undefined) this.attempt.responseEndPerfMs = performance.now();
    this.settleAttempt(undefined);
    this.endClient(undefined);
  }

  onResponseError(_controller: Dispatcher.DispatchController | null, err: Error): void {
    this.releaseSlot();
    if (this.ended || this.attemptDone) return;
    try {
      this.failAttempt(err);
    } catch (thrown) {
      this.containBug("handling a failed upgrade attempt failed", thrown);
    }
  }

  failAttempt(err: Error): void {
    const classified = classifyUpstreamError(err);
    const failure = classified === Failures.maxStreamDuration ? Failures.maxStreamDurationMidUpload : classified;
    this.settleAttempt(failure.type);
    if (failure.details !== undefined) this.exchange.localReplyDetails = failure.details;
    if (this.responding) {
      this.exchange.errorType = failure.type;
      addFlag(this.exchange, failure.flag);
      this.client.destroy();
      return;
    }
    this.refuseWith(failure === Failures.requestBody ? Failures.other : failure);
  }

  /**
   * Ends the client socket after a response the gateway wrote or relayed. node applies no
   * timeout to a socket it handed over, so a client that never closes its side would keep
   * the connection, and the request's telemetry, open: it gets a moment to read, then is cut.
   */
  endClient(data: string | Buffer | undefined): void {
    endAndLinger(this.client, data);
  }

  /** The client side closed: stop everything and report once. */
  finish(): void {
    if (this.ended) return;
    this.ended = true;
    this.stall?.stop();
    this.stopQueueTimer();
    this.stopStreamTimer();
    if (this.queued) this.entry!.leaveQueue(this);
    const exchange = this.exchange;
    const client = this.client as unknown as { bytesRead?: number; bytesWritten?: number };
    if (this.upstream !== undefined) {
      exchange.bytesReceived = Math.max(0, (client.bytesRead ?? 0) - this.readBase);
      exchange.bytesSent += Math.max(0, (client.bytesWritten ?? 0) - this.writtenBase);
      this.upstream.destroy();
      this.settleAttempt(undefined);
    } else if (this.attempt !== undefined && !this.attemptDone) {
      if (cutForShutdown(this.client)) {
        this.settleAttempt(ErrorType.gatewayShutdown);
        exchange.errorType ??= ErrorType.gatewayShutdown;
      } else {
        this.settleAttempt(ErrorType.clientAborted);
        exchange.clientAborted = true;
        exchange.responseWhole = false;
        addFlag(exchange, Flag.downstreamConnectionTermination);
        exchange.errorType ??= ErrorType.clientAborted;
      }
      this.controller?.abort(clientGone);
    } else if (exchange.authCheck !== undefined && !this.responding) {
      // The connection closed while its upgrade was being authorized.
      if (cutForShutdown(this.client)) {
        exchange.authCheck.cancel(ErrorType.gatewayShutdown);
        exchange.errorType ??= ErrorType.gatewayShutdown;
      } else {
        exchange.authCheck.cancel(ErrorType.clientAborted);
        exchange.clientAborted = true;
        addFlag(exchange, Flag.downstreamConnectionTermination);
        exchange.errorType ??= ErrorType.clientAborted;
      }
    }
    exchange.endPerfMs = performance.now();
    this.ctx.telemetry.requestEnd(exchange);
  }
}

/**
 * The 101's Upgrade names exactly one protocol, and one from the offered list. Versions
 * (`name/version`) are compared only when both sides give one.
 */
function isOffered(offered: string, chosen: string | string[] | undefined): boolean {
  if (typeof chosen !== "string") return false;
  const protocol = chosen.trim().toLowerCase();
  if (protocol === "" || protocol.indexOf(",") >= 0 || protocolName(protocol) === "h2c") return false;
  for (const token of offered.split(",")) if (sameProtocol(token.trim().toLowerCase(), protocol)) return true;
  return false;
}

function sameProtocol(a: string, b: string): boolean {
  if (a === b) return true;
  return (a.indexOf("/") < 0 || b.indexOf("/") < 0) && protocolName(a) === protocolName(b);
}

function protocolName(protocol: string): string {
  const slash = protocol.indexOf("/");
  return slash < 0 ? protocol : protocol.slice(0, slash);
}

function onClientClose(this: TunnelSocket): void {
  this[kTunnel]?.finish();
}

function onTunnelMaxStreamDuration(tunnel: Tunnel): void {
  tunnel.onMaxStreamDuration();
}

function onTunnelQueueWaitTimeout(tunnel: Tunnel): void {
  tunnel.onQueueWaitTimeout();
}

function onClientDrain(this: TunnelSocket): void {
  this[kTunnel]?.controller?.resume();
}

function onUpstreamClose(this: TunnelSocket): void {
  const tunnel = this[kTunnel];
  if (tunnel !== undefined) tunnel.client.destroy();
}

// Heads are written as latin1, one byte per character, as node and undici write headers:
// undici reads an upstream's header bytes that way, and a config value such as `é` is one
// byte on every other path. UTF-8 would turn each byte above 0x7f into two.
const PLAIN_REASON = /^[\t\x20-\x7e]+$/;
/** A 101's own headers, which stay as the upstream sent them. */
const SWITCH_HEADERS = ["upgrade", "connection"] as const;

