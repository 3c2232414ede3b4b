// One proxied request after routing: attempts against the chosen backend, retries with
// backoff, the request and per-attempt timeouts, streaming the response with backpressure
// and tearing down on client abort. State lives on this object and on one small handler per
// attempt; timers get the object as their argument, so nothing closes over the request.
import { transformServerHeader, transformServerHeaderList } from "./server-header.ts";
import type { IncomingMessage } from "node:http";
import type { Socket } from "node:net";
import type { Dispatcher } from "undici";
import type { RetryModel } from "../config/model.ts";
import type { CompiledBackend } from "../plan/types.ts";
import type { OutgoingHeaders } from "../telemetry/hooks.ts";
import { autoHostBase, rewriteHostFor } from "./upstream-request.ts";
import { epochMsAt } from "../telemetry/wall-clock.ts";
import { answerTaken, cutForStall, cutStalledConnection } from "./answer-stall.ts";
import { cutForShutdown } from "./shutdown-cut.ts";
import { warnContainedBug } from "./contained-bug.ts";
import { endAndLinger } from "./linger.ts";
import { ErrorType, Flag, addFlag, sendError } from "./errors.ts";
import { type Exchange, UpstreamAttempt } from "./exchange.ts";
import { AttemptTimeoutError, BodyOnNoContentError, type Failure, Failures, MaxStreamDurationError, PoolWaitError, TooManyHeadersError, UnsupportedTransferCodingError, UpstreamIdleError, classifyUpstreamError } from "./failures.ts";
import { applyMutations } from "./auth-grant.ts";
import { type ProxyFilters, applyHeaderOps } from "./filters.ts";
import type { GuardedTelemetry } from "./guarded-telemetry.ts";
import { removeUpstreamCorsGrant } from "./cors.ts";
import { forwardedResponseHeaders, headerFieldCount, isChunkedAlone, stripResponseHopByHop } from "./headers.ts";
import { type LocalAwareHandler, type PoolEntry, type PoolWaiter, type UpstreamLocal, type UpstreamPools, noteConnection, startGranted } from "./pools.ts";
import { type ProxyStats, backoffDelayMs, countRetry, isIdempotent, retriesAnswer, retriesFailure } from "./retry.ts";
import { expectsContinue } from "./request-checks.ts";
import { chooseEndpoint } from "./load-balancer.ts";
import { hashesRequests } from "../config/backend-load-balancer.ts";
import { addSetCookies } from "./consistent-hash.ts";
import { StallWatch, type StallSubject } from "./stall-watch.ts";
import { type MarkedResponse, kCall } from "./marks.ts";
import type { MirrorCopies } from "./mirror.ts";
import { ResponseThrottle, type ThrottledSink } from "./response-throttle.ts";
import { CompressedBody, type CompressedSink } from "./compressed-body.ts";
import { InflatedBody, type InflationSink } from "./inflated-body.ts";
import { requestBodyInflateLimit, requestBodyInvalid } from "./request-decompression.ts";
import type { ContentCoding } from "../config/model.ts";
import { type ResponseCompressionPolicy, isCoding } from "./response-compression.ts";

/** The ServerResponse carries its call so shared listeners (drain, close) can find it. */
export type CallResponse = MarkedResponse<ProxyCall>;

/** What a call needs from the process; one instance per listener, shared by every call. */
export interface CallContext {
  readonly telemetry: GuardedTelemetry;
  readonly pools: UpstreamPools;
  readonly stats: ProxyStats | undefined;
}

class ClientGoneError extends Error {
  override name = "ClientGoneError";
}
class RequestTimeoutError extends Error {
  override name = "RequestTimeoutError";
}
class ClientIdleError extends Error {
  override name = "ClientIdleError";
}
class ClientStalledError extends Error {
  override name = "ClientStalledError";
}
const clientGone = new ClientGoneError("client closed the connection");
const requestTimedOut = new RequestTimeoutError("request timeout");
const clientIdle = new ClientIdleError("no request body arrived within the stream idle timeout");
const clientStalled = new ClientStalledError("the client's connection took no response byte within the stream idle timeout");
const upstreamIdle = new UpstreamIdleError("the upstream stopped reading the request body");
const streamDurationReached = new MaxStreamDurationError("the upstream stream outlived the backend's maxStreamDuration");
const noConnectionFree = new PoolWaitError("no connection to the upstream came free within streamIdleTimeout");
const unsupportedTransferCoding = new UnsupportedTransferCodingError("the upstream response uses a transfer coding other than chunked");
const bodyOnNoContent = new BodyOnNoContentError("the upstream's 204 declares a body");
const tooManyHeaders = new TooManyHeadersError("the upstream's response head has more header fields than maxHeadersCount");

export class ProxyCall implements StallSubject {
  readonly ctx: CallContext;
  readonly exchange: Exchange;
  readonly req: IncomingMessage;
  readonly res: CallResponse;
  readonly clientSocket: Socket;
  readonly backend: CompiledBackend;
  readonly ruleFilters: ProxyFilters;
  readonly backendFilters: ProxyFilters;
  readonly headers: OutgoingHeaders;
  readonly method: string;
  /** path?query as sent upstream. */
  readonly upstreamPath: string;
  readonly hasBody: boolean;
  /** The body, when an ExternalAuth check with `forwardBody` already read it whole; sent from here. */
  readBody: Buffer | undefined = undefined;
  readonly retry: RetryModel | undefined;
  readonly attemptTimeoutMs: number | undefined;
  /** The stream idle limit in force (the rule's own, else the listener's); 0 = off. */
  readonly streamIdleTimeoutMs: number;

  attemptsStarted = 0;
  handler: AttemptHandler | undefined = undefined;
  requestTimer: NodeJS.Timeout | undefined = undefined;
  backoffTimer: NodeJS.Timeout | undefined = undefined;
  /** A final answer (upstream response or proxy error) is under way; no more attempts. */
  settled = false;
  /** The response socket was closed (finished or aborted); everything is over. */
  closed = false;
  /** The proxy itself cut the client connection (upstream failed mid-response). */
  cutByProxy = false;
  /** A drain listener is on the response (added the first time a write hit backpressure). */
  drainListening = false;
  /** The client has response bytes it has not taken: the upstream is paused, or the response ended unflushed. */
  waitingForClient = false;
  /** Runs from the latest time the client backed up; a drain in between makes its firing moot. */
  clientStall: StallWatch | undefined = undefined;
  /** RequestMirror copies that take the request body as this call's upstream takes it. */
  mirrorCopies: MirrorCopies | undefined = undefined;
  /** A fault injection's response rate limit, set when the answer's head goes out. */
  throttle: ResponseThrottle | undefined = undefined;
  /** TrafficPolicy responseCompression compressing this answer, set when its head goes out. */
  encoder: CompressedBody | undefined = undefined;
  /** TrafficPolicy requestDecompression: the coding the streamed request body is decoded from. */
  inflation: { readonly coding: ContentCoding; readonly policy: string } | undefined = undefined;
  /** The decoding of the streamed body, from the first attempt on. */
  inflater: InflatedBody | undefined = undefined;
  /** TrafficPolicy consistentHash: the key every attempt's endpoint is picked by (undefined: none, or a balancer that reads none). */
  readonly hashKey: number | undefined;
  /** TrafficPolicy consistentHash: the cookies made for this request's key, set on the upstream's answer. */
  readonly affinityCookies: string[] | undefined;
  /** TrafficPolicy autoHostRewrite: the Host an attempt to an endpoint with no name (a Service's) sends. */
  readonly autoHost: { readonly host: string | string[] | undefined } | undefined;

  constructor(
    ctx: CallContext,
    exchange: Exchange,
    backend: CompiledBackend,
    ruleFilters: ProxyFilters,
    backendFilters: ProxyFilters,
    headers: OutgoingHeaders,
    upstreamPath: string,
    hasBody: boolean,
    retry: RetryModel | undefined,
    attemptTimeoutMs: number | undefined,
  ) {
    this.ctx = ctx;
    this.exchange = exchange;
    this.req = exchange.req;
    this.res = exchange.res;
    this.clientSocket = exchange.req.socket;
    this.backend = backend;
    this.ruleFilters = ruleFilters;
    this.backendFilters = backendFilters;
    this.headers = headers;
    this.method = exchange.method;
    this.upstreamPath = upstreamPath;
    this.hasBody = hasBody;
    this.retry = retry;
    this.attemptTimeoutMs = attemptTimeoutMs;
    this.streamIdleTimeoutMs = exchange.streamIdleMs();
    this.autoHost = autoHostBase(ruleFilters, backendFilters, headers);
    // A balancer that reads no key makes none: no affinity cookie goes out for it (as Envoy).
    const hashing = hashesRequests(backend.model.loadBalancer) ? ruleFilters.consistentHash : undefined;
    const key = hashing?.keyOf(exchange);
    this.hashKey = key?.hash;
    this.affinityCookies = key?.setCookies;
  }

  start(requestTimeoutMs: number | undefined): void {
    this.res[kCall] = this;
    if (requestTimeoutMs !== undefined && requestTimeoutMs > 0) this.requestTimer = setTimeout(onRequestTimeout, requestTimeoutMs, this);
    // The client waits for 100 Continue before sending the body; only now is it wanted.
    if (this.hasBody && expectsContinue(this.req) && this.readBody === undefined) this.res.writeContinue();
    // A body that came in the same read as the head is parsed after this handler returns (the
    // parser calls back into JS per event, so not even a microtask sees it yet); the check
    // phase does, before any wait for a connection can be counted as upload.
    else if (this.hasBody) setImmediate(noteBodyAlreadyWhole, this.exchange);
    this.startAttempt();
  }

  startAttempt(): void {
    const endpoint = chooseEndpoint(this.backend, this.hashKey, this.attemptsStarted, this.ctx.pools, this.exchange.attempts)!;
    let entry: PoolEntry;
    try {
      entry = this.ctx.pools.entry(endpoint, this.backend.model.maxConnections);
    } catch {
      this.sendLocalError(503, "no_healthy_upstream", "the upstream pools are shut down");
      this.exchange.errorType = ErrorType.noHealthyUpstream;
      addFlag(this.exchange, Flag.noHealthyUpstream);
      return;
    }
    if (entry.full(this.backend.model.maxPendingRequests)) {
      // Answer now, as Envoy's pending-requests circuit breaker does, rather than hold one
      // more client in memory.
      const overflow = Failures.overflow;
      this.sendLocalError(overflow.status, overflow.code, overflow.message);
      this.exchange.errorType = overflow.serverErrorType;
      addFlag(this.exchange, overflow.flag);
      return;
    }
    if (this.autoHost !== undefined) rewriteHostFor(endpoint, this.autoHost, this.headers);
    const index = this.attemptsStarted++;
    const now = performance.now();
    const attempt = new UpstreamAttempt(
      index,
      this.backend,
      endpoint,
      this.method,
      endpoint.origin + this.upstreamPath,
      epochMsAt(now),
      now,
    );
    this.exchange.attempts.push(attempt);
    this.exchange.backend = this.backend;
    this.ctx.telemetry.attemptStart(this.exchange, attempt, this.headers);
    const handler = new AttemptHandler(this, attempt, entry);
    this.handler = handler;
    if (this.attemptTimeoutMs !== undefined && this.attemptTimeoutMs > 0) {
      handler.timer = setTimeout(onAttemptTimeout, this.attemptTimeoutMs, handler);
    }
    if (entry.takeSlot(handler)) {
      startGranted(handler);
      return;
    }
    // Every connection is busy, so the request waits in the entry's queue: without a limit, a
    // pool held by long streams would hold this exchange (and whatever is pipelined behind it)
    // for good. The wait is upstream silence like any other.
    if (this.streamIdleTimeoutMs > 0) handler.queueTimer = setTimeout(onQueueWaitTimeout, this.streamIdleTimeoutMs, handler);
    // A retry may have to queue where this request's own copy holds a connection, a copy that
    // may be waiting for the very body this attempt would send: the copy gives way.
    this.mirrorCopies?.yieldTo(entry);
  }

  /** The attempt holds a connection slot: hand it to undici. */
  dispatchAttempt(handler: AttemptHandler): void {
    handler.holdsSlot = true;
    handler.entry.pool.dispatch(
      {
        path: this.upstreamPath,
        method: this.method as Dispatcher.HttpMethod,
        headers: this.headers,
        body: this.hasBody ? (this.readBody ?? this.requestBody()) : null,
        // Silence from the upstream: before its response head (counted from the last request
        // byte) and between response chunks. A stalled upload is the handler's own timer.
        headersTimeout: this.streamIdleTimeoutMs,
        bodyTimeout: this.streamIdleTimeoutMs,
      },
      handler,
    );
  }

  /** The client's body as the upstream gets it: decoded, under requestDecompression. */
  requestBody(): IncomingMessage | InflatedBody["stream"] {
    const inflation = this.inflation;
    if (inflation === undefined) return this.req;
    this.inflater ??= new InflatedBody(this.req, inflation.coding, inflationSink(this));
    return this.inflater.stream;
  }

  /**
   * The body did not decode or inflated too far: the attempt is given up and the client
   * refused (true). Once the upstream's answer is under way it stands (false): the upstream
   * answered without needing the rest.
   */
  onRequestBodyUndecodable(outcome: "invalid" | "inflate_limit", error: Error): boolean {
    // Nobody to answer: the upstream's request is cut all the same, never ended short.
    if (this.closed || this.clientSocket.destroyed) return true;
    if (this.res.headersSent) return false;
    const handler = this.handler;
    if (handler !== undefined && !handler.done) {
      this.settleAttempt(handler, ErrorType.invalidRequestBody);
      handler.cancel(error);
    }
    this.mirrorCopies?.abandon();
    const exchange = this.exchange;
    if (outcome === "invalid") {
      exchange.localReplyDetails = "request_decompression_failed";
      this.answerLocally(requestBodyInvalid.status, requestBodyInvalid.code, `the request body is not valid ${this.inflation?.coding ?? ""} data`);
    } else {
      exchange.localReplyDetails = "request_payload_too_large";
      this.answerLocally(requestBodyInflateLimit.status, requestBodyInflateLimit.code, "the request body inflates to more than 100 times its compressed size");
    }
    return true;
  }

  /** Ends the attempt's bookkeeping exactly once: timer, peer, end time, the telemetry hook. */
  settleAttempt(handler: AttemptHandler, errorType: string | undefined): void {
    // Given up while it waits for a connection: it leaves the queue now. One that holds a slot
    // keeps it until undici lets the request go.
    if (handler.queued) handler.entry.leaveQueue(handler);
    handler.done = true;
    if (handler.timer !== undefined) {
      clearTimeout(handler.timer);
      handler.timer = undefined;
    }
    if (handler.streamTimer !== undefined) {
      clearTimeout(handler.streamTimer);
      handler.streamTimer = undefined;
    }
    handler.stopQueueTimer();
    handler.stopBodyIdleTimer();
    const attempt = handler.attempt;
    attempt.endPerfMs = performance.now();
    if (errorType !== undefined) attempt.errorType = errorType;
    if (this.handler === handler) this.handler = undefined;
    this.ctx.telemetry.attemptEnd(this.exchange, attempt);
  }

  onResponseStart(handler: AttemptHandler, status: number, headers: Record<string, string | string[] | undefined>): void {
    const attempt = handler.attempt;
    attempt.status = status;
    attempt.responseStartPerfMs = performance.now();
    // Before the checks below, so that an attempt refused for its framing still names its peer.
    noteConnection(attempt, handler.entry, handler.upstreamLocal);
    const maxHeaders = this.backend.model.maxHeadersCount;
    if (maxHeaders !== undefined && headerFieldCount(headers) > maxHeaders) {
      this.onAttemptFailure(handler, tooManyHeaders, true);
      return;
    }
    const transferEncoding = headers["transfer-encoding"];
    if (status === 204 && (transferEncoding !== undefined || framesBody(headers["content-length"]))) {
      // RFC 9112 §6.1-6.2: a 204 carries neither, so such a head leaves where the response
      // ends in doubt. Envoy refuses it as a protocol error; so does the gateway.
      this.onAttemptFailure(handler, bodyOnNoContent, true);
      return;
    }
    // A 204 must not carry Content-Length at all (RFC 9110 §8.6); Envoy drops a `0` as well.
    if (status === 204 && headers["content-length"] !== undefined) delete headers["content-length"];
    if (transferEncoding !== undefined && !isChunkedAlone(transferEncoding) && status !== 304 && this.exchange.method !== "HEAD") {
      // undici removes the chunking only: a gzip-coded body would reach the client undeclared.
      // A HEAD or 304 answer has no body; its coding only says what a GET would get (RFC 9112 §6.1).
      this.onAttemptFailure(handler, unsupportedTransferCoding, true);
      return;
    }
    const retry = this.retry;
    if (retry !== undefined && !this.settled && retriesAnswer(retry, status, headers)) {
      // An upstream that answered may have read part of a request body: those never repeat.
      if (this.mayRetry(true)) {
        // Read the rest of this answer away (keeps the connection) and try again after it.
        handler.discard = true;
        attempt.errorType = String(status);
        return;
      }
      if (this.attemptsStarted >= retry.attempts) addFlag(this.exchange, Flag.upstreamRetryLimitExceeded);
    }
    if (this.settled || this.closed) {
      handler.discard = true;
      return;
    }
    this.settled = true;
    if (status >= 400) attempt.errorType = String(status);
    const exchange = this.exchange;
    exchange.status = status;
    if (status >= 500) exchange.errorType = String(status);
    // The head goes out in this same turn: the time it was read is when the answer started.
    exchange.responseStartPerfMs = attempt.responseStartPerfMs;
    handler.streaming = true;
    const rate = exchange.responseBytesPerSecond;
    if (rate !== undefined) this.throttle = new ResponseThrottle(rate, throttledSink(this));
    const ruleOps = this.ruleFilters.responseHeaders;
    const backendOps = this.backendFilters.responseHeaders;
    const cors = this.ruleFilters.cors;
    const authMutations = exchange.authResponseMutations;
    const compression = this.ruleFilters.responseCompression;
    const affinityCookies = this.affinityCookies;
    if (ruleOps === undefined && backendOps === undefined && cors === undefined && authMutations === undefined && compression === undefined && affinityCookies === undefined) {
      const list = forwardedResponseHeaders(headers);
      const settings = exchange.listener.settings;
      if (settings.serverHeader !== "PassThrough") transformServerHeaderList(settings, list);
      exchange.responseHeaderList = list;
      this.res.writeHead(status, list as string[]);
      return;
    }
    stripResponseHopByHop(headers);
    if (cors !== undefined) removeUpstreamCorsGrant(headers as OutgoingHeaders);
    // Before the route's header modifiers, as Envoy's router adds the cookies it made: a
    // modifier that removes or sets Set-Cookie acts on them too.
    if (affinityCookies !== undefined) addSetCookies(headers as OutgoingHeaders, affinityCookies);
    if (ruleOps !== undefined) applyHeaderOps(ruleOps, headers as OutgoingHeaders);
    if (backendOps !== undefined) applyHeaderOps(backendOps, headers as OutgoingHeaders);
    // As Envoy's ext_authz filter writes its response_headers_to_add after the route's.
    if (authMutations !== undefined) applyMutations(authMutations, headers as OutgoingHeaders);
    // Before CORS, whose exposed headers must name the head the client gets, compressed or not.
    if (compression !== undefined) this.startCompression(compression, status, headers as OutgoingHeaders);
    // Last, as Envoy's CORS filter writes after the route's header modifiers; the headers it
    // exposes are the ones the client gets.
    if (cors !== undefined) cors.decorate(exchange.req.headers.origin, headers as OutgoingHeaders);
    // After every filter, as Envoy writes its server_name.
    transformServerHeader(exchange.listener.settings, headers);
    exchange.responseHeaders = headers;
    this.res.writeHead(status, headers as OutgoingHeaders);
  }

  /** Decides whether the answer is compressed, rewrites its head if so, and counts the outcome. */
  startCompression(compression: ResponseCompressionPolicy, status: number, headers: OutgoingHeaders): void {
    const outcome = compression.decide(this.method, this.req.headers["accept-encoding"], status, headers);
    const rule = this.exchange.match?.rule;
    const key = { route: rule?.routeKey ?? "", rule: rule?.ruleName ?? "", policy: compression.policy };
    this.ctx.stats?.compressions?.count(outcome, key);
    if (isCoding(outcome)) this.encoder = new CompressedBody(outcome, key, compressedSink(this));
  }

  onResponseData(handler: AttemptHandler, chunk: Buffer): void {
    // A response still streaming while the upload waits is a live full-duplex exchange.
    handler.bodyIdleTimer?.refresh();
    if (handler.discard) return;
    const encoder = this.encoder;
    if (encoder !== undefined) {
      encoder.write(chunk);
      return;
    }
    const throttle = this.throttle;
    if (throttle !== undefined) {
      throttle.push(chunk);
      return;
    }
    if (this.writeToClient(chunk)) return;
    // Backpressure: pause the upstream until the client drains.
    handler.controller?.pause();
  }

  /** False when the client backed up: its stall is watched until it drains. */
  writeToClient(chunk: Buffer): boolean {
    this.exchange.bytesSent += chunk.length;
    if (this.res.write(chunk)) return true;
    this.watchClient();
    // Most responses never get here, so the drain listener is added on demand rather than for every response.
    if (!this.drainListening) {
      this.drainListening = true;
      this.res.on("drain", onResponseDrain);
    }
    return false;
  }

  onResponseEnd(handler: AttemptHandler): void {
    const discarded = handler.discard;
    // Before settling, so the attempt's end hook sees it.
    handler.attempt.responseEndPerfMs = performance.now();
    this.settleAttempt(handler, undefined);
    if (discarded) {
      if (!this.settled && !this.closed) this.scheduleRetry();
      return;
    }
    const encoder = this.encoder;
    if (encoder === undefined) {
      this.upstreamBodyDelivered();
      return;
    }
    // The upstream is complete: as in Envoy, the route timeout has nothing left to bound.
    this.stopRequestTimer();
    encoder.end();
  }

  /** The upstream's body went through (compressed, when it is): the throttle, if any, passes on the rest. */
  upstreamBodyDelivered(): void {
    const throttle = this.throttle;
    if (throttle !== undefined && throttle.queuedBytes > 0) {
      this.stopRequestTimer();
      throttle.finish(() => this.endResponse());
      return;
    }
    this.endResponse();
  }

  stopRequestTimer(): void {
    if (this.requestTimer === undefined) return;
    clearTimeout(this.requestTimer);
    this.requestTimer = undefined;
  }

  /** Every byte of the answer was given to the client. */
  endResponse(): void {
    // The upstream finished before the whole upload (a 413 or 401 from one that reads no
    // body): undici drops the rest of the body and node stops reading the connection, so a
    // request after this one would never be read. The connection ends after the answer. An
    // upload that completed while its answer streamed (full duplex) keeps the connection.
    // The socket is held here: by 'finish', node and undici have detached it from res and req.
    if (this.hasBody && !this.req.complete) this.res.once("finish", endAndLinger.bind(undefined, this.clientSocket, undefined));
    this.res.end();
    // The last bytes may still wait for a client that stopped reading; node puts no limit
    // on a response being written, so the stream idle limit still applies until it finishes.
    if (this.res.writableLength > 0) this.watchClient();
  }

  /** undici reported the attempt failed, or a proxy timer gave up on it. */
  onAttemptFailure(handler: AttemptHandler, err: Error | null, cancel: boolean): void {
    const failure = classifyUpstreamError(err);
    // An answer being read away for a retry keeps its status as its error: that is what failed
    // the attempt (Envoy resets it at the head), not what cut the reading.
    this.settleAttempt(handler, handler.discard ? undefined : failure.type);
    if (cancel) handler.cancel(err ?? clientGone);
    if (this.closed) return;
    if (this.clientSocket.destroyed) return; // the close listener finishes the exchange
    const exchange = this.exchange;
    if (handler.streaming) {
      // Response bytes already went out: the client must see a truncated response.
      exchange.errorType = failure.type;
      addFlag(exchange, failure.flag);
      if (failure.details !== undefined) exchange.localReplyDetails = failure.details;
      this.cutClient();
      return;
    }
    if (this.settled) return;
    const retryWanted = handler.discard || (failure.retryable && retriesFailure(this.retry, failure));
    if (retryWanted && this.mayRetry(!failure.beforeConnect || handler.cancelled)) {
      this.scheduleRetry();
      return;
    }
    if (retryWanted && this.retry !== undefined && this.attemptsStarted >= this.retry.attempts) {
      addFlag(exchange, Flag.upstreamRetryLimitExceeded);
    }
    this.fail(failure);
  }

  fail(failure: Failure): void {
    const exchange = this.exchange;
    // As Envoy: the upstream is not the one late while the client's body is still coming.
    const answered = failure === Failures.maxStreamDuration && this.hasBody && !this.req.complete ? Failures.maxStreamDurationMidUpload : failure;
    this.closeAfterUnreadBody();
    this.sendLocalError(answered.status, answered.code, answered.message);
    exchange.errorType = answered.serverErrorType;
    if (answered.flag !== "") addFlag(exchange, answered.flag);
    if (answered.details !== undefined) exchange.localReplyDetails = answered.details;
  }

  /** The gateway's own JSON error ends the exchange; the client still has to take it. */
  sendLocalError(status: number, code: string, message: string): void {
    this.settled = true;
    sendError(this.exchange, status, code, message);
    if (!answerTaken(this.res)) this.watchClient();
  }

  /**
   * Another attempt is allowed when the rule has retries left, the method is idempotent, no
   * answer went to the client, and the request body is either absent or still unread (a
   * body counts as read once an attempt got past connecting).
   */
  mayRetry(bodyTouched: boolean): boolean {
    const retry = this.retry;
    if (retry === undefined || this.attemptsStarted >= retry.attempts) return false;
    if (this.settled || this.closed || this.res.headersSent) return false;
    if (!isIdempotent(this.method)) return false;
    // A body read whole for an ExternalAuth check is sent from its buffer, so it can be sent again.
    if (this.hasBody && this.readBody === undefined && (bodyTouched || this.req.readableDidRead)) return false;
    return true;
  }

  scheduleRetry(): void {
    countRetry(this.ctx.stats, this.backend.displayName);
    const delay = backoffDelayMs(this.retry?.backoffMs ?? 0, this.attemptsStarted);
    this.backoffTimer = setTimeout(onBackoffDone, delay, this);
  }

  onRequestTimeout(): void {
    this.requestTimer = undefined;
    // Once the upstream's response is complete (or a local answer went out) the route timeout
    // has nothing left to bound, as in Envoy: bytes the client has yet to take are the stall
    // limit's. A cut whose close event has not run yet is not cut again nor relabelled.
    if (this.closed || this.res.writableEnded || this.cutByProxy || this.clientSocket.destroyed) return;
    if (this.backoffTimer !== undefined) {
      clearTimeout(this.backoffTimer);
      this.backoffTimer = undefined;
    }
    const exchange = this.exchange;
    const handler = this.handler;
    if (handler !== undefined && !handler.done) {
      this.settleAttempt(handler, ErrorType.timeout);
      handler.cancel(requestTimedOut);
    }
    exchange.errorType = ErrorType.timeout;
    addFlag(exchange, Flag.upstreamRequestTimeout);
    this.answerLocally(504, "request_timeout", "the request did not complete within the route's request timeout");
  }

  /**
   * A bug broke off the handling of `handler`'s attempt: the attempt is given up (its
   * connection closed, as its state is unknown) and the client gets a 502, or a cut once a
   * response head went out. A response already complete is left alone.
   */
  answerAfterBug(handler: AttemptHandler, error: Error): void {
    // Settled first: undici calls onResponseError from inside the abort, and a settled
    // attempt makes it return instead of classifying the bug as an upstream failure.
    if (!handler.done) this.settleAttempt(handler, ErrorType.upstreamError);
    handler.cancel(error);
    if (this.closed || this.clientSocket.destroyed || this.res.writableEnded) return;
    if (this.res.headersSent) {
      this.exchange.errorType = ErrorType.upstreamError;
      this.cutClient();
      return;
    }
    this.fail(Failures.other);
  }

  /** The gateway ends the exchange itself: a JSON error, or a cut stream once a response head went out. */
  answerLocally(status: number, code: string, message: string): void {
    if (this.res.headersSent) {
      this.cutClient();
      return;
    }
    this.closeAfterUnreadBody();
    this.sendLocalError(status, code, message);
  }

  /**
   * No request body byte moved for streamIdleTimeout. When the client sent nothing, it gets
   * 408 (Envoy's stream idle timeout, flag SI); when its bytes wait unread in the gateway, the
   * upstream stopped reading and the attempt fails as an upstream timeout.
   */
  onRequestBodyIdle(handler: AttemptHandler): void {
    if (this.clientSocket.destroyed) return; // the close listener finishes the exchange
    if (this.req.readableLength > 0 || (this.inflater?.pendingBytes ?? 0) > 0) {
      this.onAttemptFailure(handler, upstreamIdle, true);
      return;
    }
    this.settleAttempt(handler, ErrorType.clientStalled);
    handler.cancel(clientIdle);
    const exchange = this.exchange;
    addFlag(exchange, Flag.streamIdleTimeout);
    // A 408 is the client's error; a stream cut after the response head is the gateway's.
    if (this.res.headersSent) exchange.errorType = ErrorType.timeout;
    this.answerLocally(408, "stream_idle_timeout", "no request body arrived within the stream idle timeout");
  }

  /**
   * Starts, or restarts, the wait for a client that has response bytes it has not taken.
   * undici counts no body timeout while the upstream is paused, so this keeps the stream
   * idle limit for a client that stopped reading.
   */
  watchClient(): void {
    this.waitingForClient = true;
    const idleMs = this.streamIdleTimeoutMs;
    if (idleMs <= 0) return;
    this.clientStall ??= new StallWatch(this.clientSocket, idleMs, this);
    this.clientStall.watch();
  }

  /** The client's socket drained: the upstream may send again (a throttle resumes it itself). */
  clientDrained(): void {
    this.waitingForClient = false;
    if (this.throttle !== undefined) return;
    if (this.encoder !== undefined) this.encoder.resumeOutput();
    else this.handler?.controller?.resume();
  }

  stallWaitOver(): boolean {
    return !this.waitingForClient || this.closed || this.res.writableFinished;
  }

  stallDeferred(): boolean {
    return this.res.socket === null;
  }

  /**
   * The client's connection took no byte for streamIdleTimeout: cut the client (flag SI) and
   * give the pooled upstream connection back, which a client that never reads would hold
   * for good.
   */
  cutStalled(): void {
    const handler = this.handler;
    if (handler !== undefined && !handler.done) {
      this.settleAttempt(handler, ErrorType.clientStalled);
      handler.cancel(clientStalled);
    }
    const exchange = this.exchange;
    exchange.errorType = ErrorType.timeout;
    addFlag(exchange, Flag.streamIdleTimeout);
    this.cutByProxy = true;
    this.res.destroy();
    cutStalledConnection(this.clientSocket);
  }

  /** Ends the client connection mid-response: a response whose head went out cannot end any other way. */
  cutClient(): void {
    this.cutByProxy = true;
    // Pipelined behind responses still being sent: destroying this one alone would leave the
    // client waiting for it on an open connection. node still hands it the socket when its
    // turn comes, after every response ahead has finished: close the connection then.
    if (this.res.socket === null && !this.clientSocket.destroyed) this.res.once("socket", destroySocket);
    this.res.destroy();
  }

  /** Unread request body bytes would be parsed as the next request: end the connection instead. */
  closeAfterUnreadBody(): void {
    if (this.hasBody && !this.req.complete) this.res.shouldKeepAlive = false;
  }

  /** The response closed, finished or not. Stops timers and the upstream work still running. */
  close(): void {
    this.closed = true;
    this.res[kCall] = undefined;
    if (this.requestTimer !== undefined) {
      clearTimeout(this.requestTimer);
      this.requestTimer = undefined;
    }
    if (this.backoffTimer !== undefined) {
      clearTimeout(this.backoffTimer);
      this.backoffTimer = undefined;
    }
    this.clientStall?.stop();
    this.throttle?.stop();
    const inflation = this.inflation;
    if (inflation !== undefined) {
      // No attempt may have taken the body at all (a 503 overflow, a timeout in the queue).
      const inflater = this.inflater;
      inflater?.destroy();
      const rule = this.exchange.match?.rule;
      this.ctx.stats?.decompressions?.count(`${inflation.coding} ${inflater?.outcome ?? "abandoned"}`, { route: rule?.routeKey ?? "", rule: rule?.ruleName ?? "", policy: inflation.policy });
    }
    const encoder = this.encoder;
    if (encoder !== undefined) {
      encoder.destroy();
      this.ctx.stats?.compressionBytes?.count("uncompressed", encoder.countKey, encoder.uncompressedBytes);
      this.ctx.stats?.compressionBytes?.count("compressed", encoder.countKey, encoder.compressedBytes);
    }
    this.mirrorCopies?.abandon();
    const handler = this.handler;
    if (handler !== undefined && !handler.done) {
      // Pipelined on a connection cut for taking nothing: the attempt ends with that stall.
      this.settleAttempt(handler, cutForStall(this.clientSocket) ? ErrorType.clientStalled : cutForShutdown(this.clientSocket) ? ErrorType.gatewayShutdown : ErrorType.clientAborted);
      handler.cancel(clientGone);
    }
  }
}

function noteBodyAlreadyWhole(exchange: Exchange): void {
  if (exchange.req.complete && exchange.requestEndPerfMs === 0) exchange.requestEndPerfMs = performance.now();
}

/** The undici handler of one attempt; callbacks after the attempt settled are ignored. */
export class AttemptHandler implements Dispatcher.DispatchHandler, LocalAwareHandler, PoolWaiter {
  readonly call: ProxyCall;
  readonly attempt: UpstreamAttempt;
  readonly entry: PoolEntry;
  controller: Dispatcher.DispatchController | undefined = undefined;
  timer: NodeJS.Timeout | undefined = undefined;
  /** The backend's maxStreamDuration, from the connection on (Envoy arms it when the pool hands one over). */
  streamTimer: NodeJS.Timeout | undefined = undefined;
  /** Runs while the request waits in the entry's queue for a connection. */
  queueTimer: NodeJS.Timeout | undefined = undefined;
  nextWaiter: PoolWaiter | undefined = undefined;
  previousWaiter: PoolWaiter | undefined = undefined;
  queued = false;
  /** Granted a slot and not let go by undici yet: one of the entry's connection slots is this attempt's. */
  holdsSlot = false;
  /** Runs while the request body is being forwarded; every chunk sent or received restarts it. */
  bodyIdleTimer: NodeJS.Timeout | undefined = undefined;
  done = false;
  cancelled = false;
  cancelReason: Error | undefined = undefined;
  /** The answer is being read away for a retry. */
  discard = false;
  /** This attempt's response head went to the client. */
  streaming = false;
  /** Set by the pool's Client on dispatch: the connection the attempt runs on. */
  upstreamLocal: UpstreamLocal | undefined = undefined;

  constructor(call: ProxyCall, attempt: UpstreamAttempt, entry: PoolEntry) {
    this.call = call;
    this.attempt = attempt;
    this.entry = entry;
  }

  cancel(reason: Error): void {
    if (this.cancelled) return;
    this.cancelled = true;
    this.cancelReason = reason;
    const controller = this.controller;
    if (controller !== undefined && !controller.aborted) controller.abort(reason);
  }

  onRequestStart(controller: Dispatcher.DispatchController): void {
    this.controller = controller;
    if (this.cancelled) {
      controller.abort(this.cancelReason ?? clientGone);
      return;
    }
    // undici calls this on the connection, before it writes: the head goes now, unless the body
    // streams, when it goes with the body's first chunk (onBodySent marks that).
    const streamed = this.call.hasBody && this.call.readBody === undefined;
    if (!streamed) this.attempt.requestStartPerfMs = performance.now();
    const streamLimitMs = this.call.backend.model.maxStreamDurationMs;
    if (streamLimitMs !== undefined) this.streamTimer = setTimeout(onMaxStreamDuration, streamLimitMs, this);
    // undici holds its own header timeout while it writes a body, so a client that stops
    // sending mid-body would hold this pooled connection for good without this timer.
    const call = this.call;
    if (call.hasBody && call.streamIdleTimeoutMs > 0) this.bodyIdleTimer = setTimeout(onBodyIdle, call.streamIdleTimeoutMs, this);
  }

  onBodySent(chunk: Buffer): void {
    // A body read for an ExternalAuth check was counted as it arrived; each attempt resends it.
    // A decoded body is counted as the client sent it, compressed.
    if (this.call.readBody === undefined && this.call.inflation === undefined) this.call.exchange.bytesReceived += chunk.length;
    if (this.attempt.requestStartPerfMs === 0) this.attempt.requestStartPerfMs = performance.now();
    this.bodyIdleTimer?.refresh();
    // Copies of a buffered body were given the whole buffer; they take nothing from here.
    this.call.mirrorCopies?.write(chunk);
  }

  /** undici wrote the whole request; with a body, its last byte came from the client just now. */
  onRequestSent(): void {
    this.stopBodyIdleTimer();
    const exchange = this.call.exchange;
    const now = performance.now();
    this.attempt.requestSentPerfMs = now;
    // A streamed body that turned out empty: the head went out with its end.
    if (this.attempt.requestStartPerfMs === 0) this.attempt.requestStartPerfMs = now;
    if (this.call.hasBody && exchange.requestEndPerfMs === 0) exchange.requestEndPerfMs = now;
    this.call.mirrorCopies?.end();
  }

  /** A slot is the attempt's, at once or when its turn in the queue came (a settled one has left the queue). */
  slotGranted(): void {
    // The slot is this attempt's from now on, so slotFailed gives it back whatever throws.
    this.holdsSlot = true;
    this.stopQueueTimer();
    this.call.dispatchAttempt(this);
  }

  /** Its grant threw: the slot goes back (unless undici already let the request go) and the attempt fails (502). */
  slotFailed(error: Error): void {
    this.releaseSlot();
    if (!this.done) this.call.onAttemptFailure(this, error, true);
  }

  /** undici let the request go: the slot passes on, exactly once. */
  releaseSlot(): void {
    if (!this.holdsSlot) return;
    this.holdsSlot = false;
    this.entry.releaseSlot();
  }

  stopQueueTimer(): void {
    if (this.queueTimer === undefined) return;
    clearTimeout(this.queueTimer);
    this.queueTimer = undefined;
  }

  stopBodyIdleTimer(): void {
    if (this.bodyIdleTimer === undefined) return;
    clearTimeout(this.bodyIdleTimer);
    this.bodyIdleTimer = undefined;
  }

  // undici would report what these throw back to the handler as an upstream failure, or,
  // from onResponseError, swallow it: a bug must neither read as a flaky upstream nor leave
  // the client unanswered.
  onResponseStart(_controller: Dispatcher.DispatchController, statusCode: number, headers: Record<string, string | string[] | undefined>): void {
    if (this.done || statusCode < 200) return;
    try {
      this.call.onResponseStart(this, statusCode, headers);
    } catch (thrown) {
      this.containBug("relaying an upstream response head failed", thrown);
    }
  }

  onResponseData(_controller: Dispatcher.DispatchController, chunk: Buffer): void {
    if (this.done) return;
    try {
      this.call.onResponseData(this, chunk);
    } catch (thrown) {
      this.containBug("relaying an upstream response body failed", thrown);
    }
  }

  onResponseEnd(): void {
    this.releaseSlot();
    if (this.done) return;
    try {
      this.call.onResponseEnd(this);
    } catch (thrown) {
      this.containBug("ending an upstream response failed", thrown);
    }
  }

  onResponseError(_controller: Dispatcher.DispatchController | null, err: Error): void {
    this.releaseSlot();
    if (this.done) return;
    try {
      this.call.onAttemptFailure(this, err, false);
    } catch (thrown) {
      this.containBug("handling a failed upstream attempt failed", thrown);
    }
  }

  /** Reports a bug in handling this attempt, gives the attempt up and answers the client anyway. */
  containBug(what: string, thrown: unknown): void {
    warnContainedBug(what, thrown);
    try {
      this.call.answerAfterBug(this, thrown instanceof Error ? thrown : new Error(String(thrown)));
    } catch (second) {
      warnContainedBug("answering the client after a bug failed", second);
      this.call.res.destroy();
    }
  }
}

function onAttemptTimeout(handler: AttemptHandler): void {
  handler.timer = undefined;
  if (handler.done) return;
  handler.call.onAttemptFailure(handler, new AttemptTimeoutError("backend request timeout"), true);
}

function onMaxStreamDuration(handler: AttemptHandler): void {
  handler.streamTimer = undefined;
  if (handler.done) return;
  handler.call.onAttemptFailure(handler, streamDurationReached, true);
}

function onBodyIdle(handler: AttemptHandler): void {
  handler.bodyIdleTimer = undefined;
  if (handler.done) return;
  handler.call.onRequestBodyIdle(handler);
}

/** No connection of the pool came free within streamIdleTimeout: 504 upstream_timeout (SI), as for a silent upstream. */
function onQueueWaitTimeout(handler: AttemptHandler): void {
  handler.queueTimer = undefined;
  if (handler.done || !handler.queued) return;
  handler.call.onAttemptFailure(handler, noConnectionFree, true);
}

/** A Content-Length other than 0 (undici keeps the spaces after a value). */
function framesBody(contentLength: string | string[] | undefined): boolean {
  return contentLength !== undefined && (typeof contentLength !== "string" || contentLength.trimEnd() !== "0");
}

function destroySocket(socket: Socket): void {
  socket.destroy();
}

function onRequestTimeout(call: ProxyCall): void {
  call.onRequestTimeout();
}

function onBackoffDone(call: ProxyCall): void {
  call.backoffTimer = undefined;
  if (call.closed || call.settled) return;
  call.startAttempt();
}

/** The throttle writes to the client and pauses the attempt's upstream as the call would. */
function throttledSink(call: ProxyCall): ThrottledSink {
  return {
    write: (chunk) => {
      // A cut in the same timer phase as the tick: nothing more goes out, nor is counted.
      if (!call.res.destroyed && !call.res.writableEnded) call.writeToClient(chunk);
    },
    clientBackedUp: () => call.watchClient(),
    clientCaughtUp: () => {
      call.waitingForClient = false;
    },
    pendingBytes: () => call.res.writableLength,
    // Behind a compressor the throttle holds back the compressor's output, which in turn
    // holds back the upstream.
    pauseUpstream: () => (call.encoder !== undefined ? call.encoder.pauseOutput() : call.handler?.controller?.pause()),
    resumeUpstream: () => (call.encoder !== undefined ? call.encoder.resumeOutput() : call.handler?.controller?.resume()),
  };
}

/** The decoded body counts the client's bytes and refuses the request when it fails. */
function inflationSink(call: ProxyCall): InflationSink {
  return {
    received: (bytes) => {
      call.exchange.bytesReceived += bytes;
    },
    failed: (outcome, error) => call.onRequestBodyUndecodable(outcome, error),
  };
}

/** The compressor hands its output to the throttle or the client, and holds back the attempt's upstream. */
function compressedSink(call: ProxyCall): CompressedSink {
  return {
    deliver: (chunk) => {
      if (call.res.destroyed || call.res.writableEnded) return true;
      const throttle = call.throttle;
      if (throttle === undefined) return call.writeToClient(chunk);
      throttle.push(chunk);
      return true;
    },
    pauseUpstream: () => call.handler?.controller?.pause(),
    resumeUpstream: () => call.handler?.controller?.resume(),
    finished: () => {
      if (!call.closed) call.upstreamBodyDelivered();
    },
    failed: (error) => {
      warnContainedBug("compressing a response failed", error);
      if (!call.closed) call.cutClient();
    },
  };
}

function onResponseDrain(this: CallResponse): void {
  this[kCall]?.clientDrained();
}
