// RequestMirror: a copy of a forwarded request goes to another backend and its answer is read
// away unseen. A copy must never cost the original anything: it takes a free connection of
// its backend or is dropped (never queues), its body is what the original's upstream took,
// chunk by chunk, and a copy that falls too far behind is given up rather than buffered.
import { NamedCounts } from "./named-counts.ts";
import { PassThrough } from "node:stream";
import type { Dispatcher } from "undici";
import type { RuleTimeouts } from "../config/model.ts";
import type { CompiledBackend, CompiledEndpoint } from "../plan/types.ts";
import type { OutgoingHeaders } from "../telemetry/hooks.ts";
import { epochMsAt } from "../telemetry/wall-clock.ts";
import { warnContainedBug } from "./contained-bug.ts";
import { type Exchange, UpstreamAttempt } from "./exchange.ts";
import { AttemptTimeoutError, classifyUpstreamError } from "./failures.ts";
import type { GuardedTelemetry } from "./guarded-telemetry.ts";
import { type DetachedRequest, type LocalAwareHandler, type PoolEntry, type UpstreamLocal, type UpstreamPools, noteConnection } from "./pools.ts";
import { ErrorType } from "./errors.ts";

/** One RequestMirror filter, compiled: where copies go and which share of requests gets one. */
export class MirrorTarget {
  readonly backend: CompiledBackend;
  /** 0 to 1; 1 mirrors every request. */
  readonly share: number;

  constructor(backend: CompiledBackend, share: number) {
    this.backend = backend;
    this.share = share;
  }
}

/**
 * How far a copy's body may fall behind the original's before the copy is given up: the
 * same 1 MiB Envoy buffers per stream by default.
 */
export const MIRROR_BODY_LIMIT_BYTES = 1024 * 1024;

/**
 * How long a copy may run when the rule sets no timeout: Envoy's default route timeout, which
 * its shadow requests also run under. Nobody waits for the answer, so nothing should hold a
 * mirror backend's connection for good.
 */
const DEFAULT_MIRROR_TIMEOUT_MS = 15_000;

export type MirrorDropReason = "no_free_connection" | "body_overflow";

/** Copies not sent, or given up mid-body, per mirror backend and reason (`tollgate.upstream.mirrors_dropped`). */
export class MirrorDrops extends NamedCounts<MirrorDropReason> {}

/** What a copy needs from the listener's call context. */
export interface MirrorContext {
  readonly telemetry: GuardedTelemetry;
  readonly pools: UpstreamPools;
  readonly mirrorDrops: MirrorDrops | undefined;
}

/** What the copies of one request are made from: the original as it goes upstream. */
export interface MirroredRequest {
  readonly method: string;
  /** path?query as sent to the original's upstream. */
  readonly path: string;
  /** A snapshot of the original's outgoing headers, taken before telemetry writes its propagation headers. */
  readonly headers: OutgoingHeaders;
  readonly hasBody: boolean;
  /** The body, when an ExternalAuth check read it whole: every copy is sent that buffer. */
  readonly readBody: Buffer | undefined;
  readonly timeoutMs: number;
  /** The original's stream idle limit (0 = off): silence from the mirror backend. */
  readonly idleTimeoutMs: number;
}

/**
 * The copies' template, taken while `headers` are still as filters left them. A copy runs at
 * most the rule's request timeout, else its backendRequest timeout, else Envoy's default.
 */
export function mirroredRequest(
  exchange: Exchange,
  timeouts: RuleTimeouts,
  path: string,
  headers: OutgoingHeaders,
  hasBody: boolean,
  readBody: Buffer | undefined,
): MirroredRequest {
  const timeoutMs = timeouts.requestMs !== undefined && timeouts.requestMs > 0 ? timeouts.requestMs : timeouts.backendRequestMs;
  return {
    method: exchange.method,
    path,
    headers: copyHeaders(headers),
    hasBody,
    readBody,
    timeoutMs: timeoutMs !== undefined && timeoutMs > 0 ? timeoutMs : DEFAULT_MIRROR_TIMEOUT_MS,
    idleTimeoutMs: exchange.streamIdleMs(),
  };
}

class MirrorAbandonedError extends Error {
  override name = "MirrorAbandonedError";
}
const mirrorTimedOut = new AttemptTimeoutError("the mirrored request ran past its timeout");
const bodyOverflow = new MirrorAbandonedError("the mirror backend fell too far behind the original's request body");
const bodyIncomplete = new MirrorAbandonedError("the original request's body was not sent whole");
const poolsClosing = new MirrorAbandonedError("the gateway is closing its upstream connections");
const yieldedToOriginal = new MirrorAbandonedError("the original request needed the mirror's connection");

/** error.type of a copy given up by the gateway. */
const MirrorErrorType = { bodyOverflow: "mirror_overflow", bodyIncomplete: "request_incomplete", yielded: "mirror_yielded" } as const;

/**
 * The copies of one request. With a body, the original's call feeds them each chunk its
 * upstream took, then the end, or gives them up when its body never went whole.
 */
export class MirrorCopies {
  readonly #copies: readonly MirrorCopy[];

  constructor(copies: readonly MirrorCopy[]) {
    this.#copies = copies;
  }

  write(chunk: Buffer): void {
    this.#each(writeChunk, chunk, "feeding a mirrored request's body failed");
  }

  end(): void {
    this.#each(endBody, undefined, "ending a mirrored request's body failed");
  }

  /** An attempt of the original has to queue on `entry`: a copy holding one of its connections lets it go. */
  yieldTo(entry: PoolEntry): void {
    this.#each(yieldOn, entry, "giving way to the original request failed");
  }

  /** The original is over; a copy whose body is still open can never be completed. */
  abandon(): void {
    this.#each(abandonBody, undefined, "giving up a mirrored request failed");
  }

  // undici aborts the original's request when its body callbacks throw: a bug in handling a
  // copy is reported and costs that copy, never the original.
  #each<A>(step: (copy: MirrorCopy, arg: A) => void, arg: A, what: string): void {
    for (const copy of this.#copies) {
      try {
        step(copy, arg);
      } catch (thrown) {
        copy.failed(what, thrown);
      }
    }
  }
}

// The steps MirrorCopies applies to each copy; module functions, so a body chunk allocates no closure.
function writeChunk(copy: MirrorCopy, chunk: Buffer): void {
  copy.write(chunk);
}
function endBody(copy: MirrorCopy): void {
  copy.endBody();
}
function yieldOn(copy: MirrorCopy, entry: PoolEntry): void {
  if (copy.entry === entry && !copy.done) copy.yieldConnection();
}
function abandonBody(copy: MirrorCopy): void {
  copy.abandonBody();
}

/**
 * Starts a copy for every target whose share picks this request. Returns the copies started
 * (undefined when there are none): the caller feeds them the body and makes them give way.
 */
export function startMirrors(ctx: MirrorContext, exchange: Exchange, targets: readonly MirrorTarget[], request: MirroredRequest): MirrorCopies | undefined {
  let started: MirrorCopy[] | undefined;
  for (const target of targets) {
    if (target.share < 1 && !(Math.random() < target.share)) continue;
    let copy: MirrorCopy | undefined;
    try {
      copy = startCopy(ctx, exchange, target.backend, request);
    } catch (thrown) {
      // A bug in making a copy must not cost the original its answer.
      warnContainedBug("a mirrored request failed to start", thrown);
      continue;
    }
    if (copy !== undefined) (started ??= []).push(copy);
  }
  return started === undefined ? undefined : new MirrorCopies(started);
}

function startCopy(ctx: MirrorContext, exchange: Exchange, backend: CompiledBackend, request: MirroredRequest): MirrorCopy | undefined {
  // One endpoint per copy, as Gateway API asks: the first from a random place with a free
  // connection. Random, because the round-robin cursor is the originals' (the mirror's
  // Backend may serve routes too), and a copy taking every other turn would keep their
  // requests off half its endpoints.
  const endpoints = backend.endpoints;
  const count = endpoints.length;
  const first = count <= 1 ? 0 : Math.floor(Math.random() * count);
  let endpoint: CompiledEndpoint | undefined;
  let entry: PoolEntry | undefined;
  try {
    for (let i = 0; i < count && entry === undefined; i++) {
      const candidate = endpoints[(first + i) % count]!;
      const candidateEntry = ctx.pools.entry(candidate, backend.model.maxConnections);
      if (candidateEntry.tryTakeSlot()) {
        endpoint = candidate;
        entry = candidateEntry;
      }
    }
  } catch {
    return undefined; // the pools are shut down: the gateway is stopping
  }
  if (endpoint === undefined || entry === undefined) {
    if (count > 0) ctx.mirrorDrops?.count(backend.displayName, "no_free_connection");
    return undefined;
  }
  const now = performance.now();
  const attempt = new UpstreamAttempt(0, backend, endpoint, request.method, endpoint.origin + request.path, epochMsAt(now), now);
  attempt.mirror = true;
  const headers = copyHeaders(request.headers);
  const host = headers["host"];
  if (typeof host === "string" && host !== "") headers["host"] = shadowHost(host);
  const copy = new MirrorCopy(ctx, exchange, attempt, entry, request.hasBody && request.readBody === undefined ? copyBody() : undefined);
  ctx.pools.detached.add(copy);
  ctx.telemetry.attemptStart(exchange, attempt, headers);
  copy.timer = setTimeout(onMirrorTimeout, request.timeoutMs, copy);
  try {
    entry.pool.dispatch(
      {
        path: request.path,
        method: request.method as Dispatcher.HttpMethod,
        headers,
        body: request.readBody ?? copy.body ?? null,
        headersTimeout: request.idleTimeoutMs,
        bodyTimeout: request.idleTimeoutMs,
      },
      copy,
    );
  } catch (thrown) {
    warnContainedBug("a mirrored request failed to start", thrown);
    copy.releaseSlot();
    copy.finish(classifyUpstreamError(thrown instanceof Error ? thrown : undefined).type);
  }
  return copy;
}

/**
 * Envoy's shadow host, which mirror backends and their dashboards already expect: `-shadow`
 * after the host name, before any port (`api.example.com:8080` → `api.example.com-shadow:8080`,
 * `[::1]:8080` → `[::1]-shadow:8080`).
 */
export function shadowHost(host: string): string {
  const port = portStart(host);
  return port < 0 ? `${host}-shadow` : `${host.slice(0, port)}-shadow${host.slice(port)}`;
}

/** Index of the `:` before the port, -1 when the host names none. */
function portStart(host: string): number {
  const colon = host.lastIndexOf(":");
  if (colon < 0) return -1;
  if (host.charCodeAt(0) === 91) return host.charCodeAt(colon - 1) === 93 ? colon : -1; // [v6]:port
  return host.indexOf(":") === colon ? colon : -1;
}

/**
 * A copy's body stream. Its errors are the copy's own (undici reports them through the
 * handler); one emitted after undici let go of the stream must not become an uncaught
 * exception that ends the process.
 */
function copyBody(): PassThrough {
  const body = new PassThrough();
  body.on("error", ignoreError);
  return body;
}

function ignoreError(): void {}

function copyHeaders(headers: OutgoingHeaders): OutgoingHeaders {
  const out: OutgoingHeaders = {};
  for (const name in headers) {
    const value = headers[name]!;
    out[name] = typeof value === "string" ? value : [...value];
  }
  return out;
}

/** One mirrored request in flight: an undici handler whose answer is read away. */
class MirrorCopy implements Dispatcher.DispatchHandler, LocalAwareHandler, DetachedRequest {
  readonly ctx: MirrorContext;
  readonly exchange: Exchange;
  readonly attempt: UpstreamAttempt;
  readonly entry: PoolEntry;
  /** The copy's request body, fed by MirrorCopies; undefined without one. */
  readonly body: PassThrough | undefined;
  timer: NodeJS.Timeout | undefined = undefined;
  controller: Dispatcher.DispatchController | undefined = undefined;
  holdsSlot = true;
  upstreamLocal: UpstreamLocal | undefined = undefined;
  /** Telemetry has its end; nothing more happens. */
  done = false;
  /** Given up before undici handed over its controller: aborted as soon as it does. */
  cancelReason: Error | undefined = undefined;
  /** The gateway gave the copy up; undici's report of the abort is still to come. */
  givenUp = false;
  /** Set when the gateway gave the copy up: its error.type wins over undici's abort error. */
  cutErrorType: string | undefined = undefined;

  constructor(ctx: MirrorContext, exchange: Exchange, attempt: UpstreamAttempt, entry: PoolEntry, body: PassThrough | undefined) {
    this.ctx = ctx;
    this.exchange = exchange;
    this.attempt = attempt;
    this.entry = entry;
    this.body = body;
  }

  write(chunk: Buffer): void {
    const body = this.body;
    if (this.done || this.givenUp || body === undefined || body.writableEnded || body.destroyed) return;
    if (body.writableLength + body.readableLength + chunk.length > MIRROR_BODY_LIMIT_BYTES) {
      this.ctx.mirrorDrops?.count(this.attempt.backend.displayName, "body_overflow");
      this.cut(bodyOverflow, MirrorErrorType.bodyOverflow);
      return;
    }
    body.write(chunk);
  }

  endBody(): void {
    const body = this.body;
    if (body !== undefined && !body.writableEnded && !body.destroyed) body.end();
  }

  abandonBody(): void {
    const body = this.body;
    if (this.done || this.givenUp || body === undefined || body.writableEnded) return;
    this.cut(bodyIncomplete, MirrorErrorType.bodyIncomplete);
  }

  /** The gateway gives the copy up: undici aborts it and reports back through onResponseError. */
  cut(reason: Error, errorType: string | undefined): void {
    if (this.done || this.givenUp) return;
    this.givenUp = true;
    this.cutErrorType = errorType;
    const controller = this.controller;
    if (controller !== undefined) {
      if (!controller.aborted) controller.abort(reason);
    } else {
      this.cancelReason ??= reason;
      // Not handed to a connection yet: a body that never ends would hold it there.
      this.body?.destroy(reason);
    }
  }

  /** The original needs this connection (its retry queues on the copy's pool): the copy is dropped. */
  yieldConnection(): void {
    if (this.done || this.givenUp) return;
    this.ctx.mirrorDrops?.count(this.attempt.backend.displayName, "no_free_connection");
    this.cut(yieldedToOriginal, MirrorErrorType.yielded);
  }

  /** The gateway is closing its pools: nobody waits for this answer, so nothing waits for it either. */
  cancelForShutdown(): void {
    this.cut(poolsClosing, ErrorType.gatewayShutdown);
  }

  /** A bug while feeding the copy: reported, and the copy given up. */
  failed(what: string, thrown: unknown): void {
    warnContainedBug(what, thrown);
    this.cut(thrown instanceof Error ? thrown : new Error(String(thrown)), ErrorType.upstreamError);
  }

  releaseSlot(): void {
    if (!this.holdsSlot) return;
    this.holdsSlot = false;
    this.entry.releaseSlot();
  }

  finish(errorType: string | undefined): void {
    if (this.done) return;
    this.done = true;
    this.ctx.pools.detached.delete(this);
    if (this.timer !== undefined) {
      clearTimeout(this.timer);
      this.timer = undefined;
    }
    const attempt = this.attempt;
    attempt.endPerfMs = performance.now();
    if (errorType !== undefined) attempt.errorType = errorType;
    if (this.body !== undefined && !this.body.destroyed) this.body.destroy();
    this.ctx.telemetry.attemptEnd(this.exchange, attempt);
  }

  onRequestStart(controller: Dispatcher.DispatchController): void {
    this.controller = controller;
    if (this.cancelReason !== undefined) controller.abort(this.cancelReason);
  }

  onResponseStart(_controller: Dispatcher.DispatchController, statusCode: number): void {
    if (this.done || statusCode < 200) return;
    this.attempt.status = statusCode;
    noteConnection(this.attempt, this.entry, this.upstreamLocal);
  }

  onResponseData(): void {
    // Read away: a mirror's answer goes nowhere.
  }

  onResponseEnd(): void {
    this.releaseSlot();
    this.finish(undefined);
  }

  onResponseError(_controller: Dispatcher.DispatchController | null, err: Error): void {
    this.releaseSlot();
    this.finish(this.cutErrorType ?? classifyUpstreamError(err).type);
  }
}

function onMirrorTimeout(copy: MirrorCopy): void {
  copy.timer = undefined;
  copy.cut(mirrorTimedOut, undefined);
}
