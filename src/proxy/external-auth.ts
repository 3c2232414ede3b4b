// Gateway API ExternalAuth (and kgateway TrafficPolicy extAuth), protocol HTTP: before a
// request of the rule goes anywhere, the gateway asks an authorization service with the
// request's method, path (behind the prefix), Host, Authorization and the allowed headers,
// and the body only with forwardBody (read whole first, auth-body.ts). A 200 lets the request
// through with the service's headers on it; a 2xx-4xx denial goes back to the client as the
// service wrote it; a 5xx or no answer (refused, reset, timed out) is no verdict, which the
// policy answers (external-auth-verdicts.ts). Protocol GRPC runs the same policy through
// grpc-auth-check.ts instead.
import type { Dispatcher } from "undici";
import type { OutgoingHeaders } from "../telemetry/hooks.ts";
import { epochMsAt } from "../telemetry/wall-clock.ts";
import { AuthCheckError, type AuthContext, type AuthVerdictSink, CheckInFlight, DENIAL_BODY_LIMIT_BYTES, checkTimedOut, denialTooLarge } from "./auth-check.ts";
import { AuthGrant, type HeaderMutation } from "./auth-grant.ts";
import { ErrorType } from "./errors.ts";
import { type Exchange, UpstreamAttempt } from "./exchange.ts";
import type { ExternalAuthPolicy } from "./external-auth-policy.ts";
import { classifyUpstreamError } from "./failures.ts";
import { startGrpcAuthCheck } from "./grpc-auth-check.ts";
import { connectionTokens, isHopByHop } from "./headers.ts";
import { type LocalAwareHandler, type PoolEntry, type PoolWaiter, type UpstreamLocal, noteConnection, startGranted } from "./pools.ts";
import { nextEndpoint } from "./round-robin.ts";
import { forwardingHeaders } from "./upstream-request.ts";

/**
 * Headers of an allowing answer that describe that answer itself, or that the gateway owns on
 * the forwarded request: with no `allowedResponseHeaders` they stay behind, or the service's
 * own `Content-Type` would relabel the client's body and its echoed `X-Request-Id` or
 * `X-Forwarded-For` would replace the gateway's. Host, framing and hop-by-hop headers never
 * cross, whatever the list says (the config refuses them there).
 */
const ANSWER_ONLY_HEADERS = new Set([
  "date", "server", "set-cookie", "vary", "etag", "last-modified", "expires", "age", "cache-control", "location", "www-authenticate",
  "x-request-id", "forwarded", "traceparent", "tracestate", "baggage", "b3",
]);
const ANSWER_ONLY_PREFIXES = ["content-", "x-forwarded-", "x-envoy-", "x-b3-"];
const NEVER_HANDED_ON = new Set(["host", "content-length", "transfer-encoding", "expect"]);

function isAnswerOnly(name: string): boolean {
  if (ANSWER_ONLY_HEADERS.has(name)) return true;
  for (const prefix of ANSWER_ONLY_PREFIXES) if (name.startsWith(prefix)) return true;
  return false;
}

/**
 * Starts the check of `exchange` against `policy`; the verdict reaches `sink` once, unless
 * the check is cancelled first (the client went away). `target` is path?query as received.
 */
export function startAuthCheck(
  ctx: AuthContext,
  exchange: Exchange,
  policy: ExternalAuthPolicy,
  target: string,
  body: Buffer | undefined,
  timeoutMs: number,
  sink: AuthVerdictSink,
): CheckInFlight {
  if (policy.protocol === "GRPC") return startGrpcAuthCheck(ctx, exchange, policy, target, body, timeoutMs, sink);
  const backend = policy.backend;
  const endpoint = nextEndpoint(backend);
  const path = policy.pathPrefix + target;
  const headers = checkHeaders(exchange, policy, body);
  const now = performance.now();
  const check = new AuthCheck(ctx, exchange, sink, policy, path, headers, body);
  if (endpoint === undefined) {
    check.fail("the authorization service's Backend has no endpoint");
    return check;
  }
  let entry: PoolEntry;
  try {
    entry = ctx.pools.entry(endpoint, backend.model.maxConnections);
  } catch {
    check.fail("the gateway is closing its upstream connections");
    return check;
  }
  if (entry.full(backend.model.maxPendingRequests)) {
    check.fail("every connection to the authorization service is busy and its queue is full");
    return check;
  }
  const attempt = new UpstreamAttempt(0, backend, endpoint, exchange.method, endpoint.origin + path, epochMsAt(now), now);
  attempt.externalAuth = true;
  check.attempt = attempt;
  check.entry = entry;
  ctx.telemetry.attemptStart(exchange, attempt, headers);
  check.timer = setTimeout(onCheckTimeout, timeoutMs, check);
  if (entry.takeSlot(check)) startGranted(check);
  return check;
}

/**
 * Host (as received, before any URLRewrite, as in Envoy where the rewrite comes later) and
 * Authorization always, then the allowed headers the request has, then the policy's own
 * (kgateway headersToAdd, replacing the request's). Without `forwardBody` no
 * body is sent: `Content-Length: 0` goes out on methods that carry a body; undici leaves it
 * off the others, which HTTP reads the same way. With it, the length of the body read.
 */
function checkHeaders(exchange: Exchange, policy: ExternalAuthPolicy, body: Buffer | undefined): OutgoingHeaders {
  const forwarded = forwardingHeaders(exchange);
  const out: OutgoingHeaders = {};
  const host = forwarded["host"];
  if (host !== undefined) out["host"] = host;
  const authorization = forwarded["authorization"];
  if (authorization !== undefined) out["authorization"] = authorization;
  for (const name of policy.requestHeaders) {
    // Own keys only: a listed `constructor` must not read Object's.
    if (Object.hasOwn(forwarded, name)) out[name] = forwarded[name]!;
  }
  for (const added of policy.checkHeadersToAdd) out[added.name] = added.value;
  out["content-length"] = body === undefined ? "0" : String(body.length);
  return out;
}

/** One HTTP check in flight: a pool waiter, then an undici handler that reads the service's answer. */
export class AuthCheck extends CheckInFlight implements Dispatcher.DispatchHandler, PoolWaiter, LocalAwareHandler {
  readonly policy: ExternalAuthPolicy;
  readonly path: string;
  readonly headers: OutgoingHeaders;
  /** The request body read for `forwardBody`; undefined sends none. */
  readonly body: Buffer | undefined;
  entry: PoolEntry | undefined = undefined;
  controller: Dispatcher.DispatchController | undefined = undefined;
  holdsSlot = false;
  upstreamLocal: UpstreamLocal | undefined = undefined;
  nextWaiter: PoolWaiter | undefined = undefined;
  previousWaiter: PoolWaiter | undefined = undefined;
  queued = false;
  /** Set when the gateway gave the check up: its cause wins over undici's abort error. */
  cutReason: AuthCheckError | undefined = undefined;
  status = 0;
  answerHeaders: Record<string, string | string[] | undefined> | undefined = undefined;
  chunks: Buffer[] = [];
  bodyBytes = 0;

  constructor(ctx: AuthContext, exchange: Exchange, sink: AuthVerdictSink, policy: ExternalAuthPolicy, path: string, headers: OutgoingHeaders, body: Buffer | undefined) {
    super(ctx, exchange, sink);
    this.policy = policy;
    this.path = path;
    this.headers = headers;
    this.body = body;
  }

  slotGranted(): void {
    this.holdsSlot = true;
    if (this.done) {
      // Given up while it waited (it leaves the queue then; this guards the slot regardless).
      this.releaseSlot();
      return;
    }
    const entry = this.entry!;
    entry.pool.dispatch(
      {
        path: this.path,
        method: this.exchange.method as Dispatcher.HttpMethod,
        headers: this.headers,
        body: this.body ?? null,
        // The check's own timer bounds it; undici's idle limits would only race it.
        headersTimeout: 0,
        bodyTimeout: 0,
      },
      this,
    );
  }

  slotFailed(error: Error): void {
    // undici may have taken the request before the throw: it must not run on for nothing.
    this.cutReason ??= new AuthCheckError("the authorization check failed to start");
    if (this.controller !== undefined && !this.controller.aborted) this.controller.abort(this.cutReason);
    this.releaseSlot();
    if (this.done) return;
    this.end(classifyUpstreamError(error).type);
    this.verdict(() => this.sink.checkFailed("the authorization check failed to start"));
  }

  releaseSlot(): void {
    if (!this.holdsSlot) return;
    this.holdsSlot = false;
    this.entry?.releaseSlot();
  }

  /** Gives the check up where it is: in the queue, or in undici (which then reports an error). */
  override cut(reason: AuthCheckError): void {
    this.cutReason ??= reason;
    if (this.queued) {
      this.entry?.leaveQueue(this);
      return;
    }
    const controller = this.controller;
    if (controller !== undefined && !controller.aborted) controller.abort(reason);
  }

  onRequestStart(controller: Dispatcher.DispatchController): void {
    this.controller = controller;
    if (this.cutReason !== undefined) controller.abort(this.cutReason);
  }

  onResponseStart(_controller: Dispatcher.DispatchController, statusCode: number, headers: Record<string, string | string[] | undefined>): void {
    if (statusCode < 200 || this.cutReason !== undefined) return;
    this.status = statusCode;
    this.answerHeaders = headers;
    if (this.attempt !== undefined) {
      this.attempt.status = statusCode;
      if (this.entry !== undefined) noteConnection(this.attempt, this.entry, this.upstreamLocal);
    }
  }

  onResponseData(_controller: Dispatcher.DispatchController, chunk: Buffer): void {
    // A denial's body is relayed, so it is held, up to a bound; any other answer's means nothing.
    if (this.status === 200 || this.status >= 500 || this.cutReason !== undefined) return;
    this.bodyBytes += chunk.length;
    if (this.bodyBytes > DENIAL_BODY_LIMIT_BYTES) {
      this.cut(denialTooLarge);
      return;
    }
    this.chunks.push(chunk);
  }

  onResponseEnd(): void {
    this.releaseSlot();
    if (this.done) return;
    if (this.status >= 500 && this.status <= 599) {
      // As in Envoy: the service failed rather than denied, and its error page is not the client's.
      this.fail(`the authorization service answered ${this.status}`, String(this.status));
      return;
    }
    if (this.status > 599) {
      this.end(ErrorType.upstreamProtocolError);
      this.verdict(() => this.sink.unusableDenial(`the authorization service denied with HTTP status ${this.status}, which is not a final status`));
      return;
    }
    this.end(undefined);
    const headers = this.answerHeaders ?? {};
    if (this.status === 200) {
      const grant = new AuthGrant(handedOn(headers, this.policy.responseHeaders), headersToRemove(headers["x-envoy-auth-headers-to-remove"]), toClientOnSuccess(headers, this.policy.clientHeadersOnSuccess));
      this.verdict(() => this.sink.authAllowed(grant));
      return;
    }
    const body = this.chunks.length === 1 ? this.chunks[0]! : Buffer.concat(this.chunks);
    this.verdict(() => this.sink.authDenied(this.status, relayedHeaders(headers, this.policy.clientHeadersOnDenial), body));
  }

  onResponseError(_controller: Dispatcher.DispatchController | null, err: Error): void {
    this.releaseSlot();
    if (this.done) return;
    const reason = this.cutReason;
    const type = reason === checkTimedOut ? ErrorType.timeout : reason !== undefined ? ErrorType.upstreamError : classifyUpstreamError(err).type;
    if (isDenial(this.status)) {
      // A denial cut short (over the relay limit, reset, stalled) is a denial all the same:
      // failOpen must not turn it into an allow.
      this.end(type);
      this.verdict(() => this.sink.unusableDenial(reason?.message ?? `the authorization service's denial broke off (${type})`));
      return;
    }
    this.fail(reason?.message ?? `the authorization service could not be reached (${type})`, type);
  }

}

/** An answer's status that denies: any but 200 and the 5xx of a failing service; 0 while none arrived. */
function isDenial(status: number): boolean {
  return status !== 0 && status !== 200 && !(status >= 500 && status <= 599);
}

function onCheckTimeout(check: AuthCheck): void {
  check.timer = undefined;
  if (check.done) return;
  if (check.controller === undefined) {
    // Still queued (or not yet taken by undici): nothing will report back, so fail here.
    check.cut(checkTimedOut);
    check.fail(checkTimedOut.message, ErrorType.timeout);
    return;
  }
  check.cut(checkTimedOut);
}

/** The headers an allowing answer puts on the forwarded request, replacing the request's own. */
function handedOn(answer: Record<string, string | string[] | undefined>, only: ReadonlySet<string> | undefined): HeaderMutation[] {
  const listed = answer["connection"] === undefined ? undefined : connectionTokens(answer["connection"]);
  const out: HeaderMutation[] = [];
  for (const name in answer) {
    const value = answer[name];
    if (value === undefined || isHopByHop(name) || NEVER_HANDED_ON.has(name) || listed?.includes(name) === true) continue;
    if (only === undefined ? isAnswerOnly(name) : !only.has(name)) continue;
    out.push({ name, value, action: "overwrite" });
  }
  return out;
}

/**
 * Envoy's `x-envoy-auth-headers-to-remove` of an allowing answer: request headers the service
 * consumed (a credential it exchanged), taken off before the request goes on. Host stays.
 */
function headersToRemove(value: string | string[] | undefined): string[] {
  if (value === undefined) return [];
  const names: string[] = [];
  for (const part of (typeof value === "string" ? value : value.join(",")).split(",")) {
    const name = part.trim().toLowerCase();
    if (name !== "" && name !== "host" && !names.includes(name)) names.push(name);
  }
  return names;
}

/**
 * kgateway's headersToClientOnSuccess: those headers of an allowing answer are added to the
 * client's response (Envoy's allowed_client_headers_on_success); undefined when none are.
 */
function toClientOnSuccess(answer: Record<string, string | string[] | undefined>, names: readonly string[]): HeaderMutation[] | undefined {
  let out: HeaderMutation[] | undefined;
  for (const name of names) {
    const value = Object.hasOwn(answer, name) ? answer[name] : undefined;
    if (value !== undefined) (out ??= []).push({ name, value, action: "append" });
  }
  return out;
}

/**
 * A denial as the client gets it: hop-by-hop headers and Host out (as Envoy); framing is the
 * gateway's to write. `only` (kgateway headersToClient) keeps the listed ones alone.
 */
function relayedHeaders(answer: Record<string, string | string[] | undefined>, only: ReadonlySet<string> | undefined): Record<string, string | string[]> {
  const listed = answer["connection"] === undefined ? undefined : connectionTokens(answer["connection"]);
  const out: Record<string, string | string[]> = {};
  for (const name in answer) {
    const value = answer[name];
    if (value === undefined || isHopByHop(name) || name === "content-length" || name === "host" || listed?.includes(name) === true) continue;
    if (only !== undefined && !only.has(name)) continue;
    out[name] = value;
  }
  return out;
}
