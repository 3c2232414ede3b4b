// One keep-alive undici Pool per upstream origin. Pools outlive plans: a reload that keeps an
// endpoint keeps its warm connections; `retain` closes the pools no plan uses any more once
// their in-flight requests finish.
//
// Each pool opens at most `maxConnections` connections to its endpoint (a Backend's
// `spec.connectionPool.maxConnections`, else DEFAULT_MAX_CONNECTIONS); requests beyond that wait
// in the entry's own queue for the next free connection, like Envoy's pending requests under
// its max_connections circuit breaker, up to `maxPendingRequests` (ProxyCall refuses the next
// one with 503 upstream_overflow, counting with PoolEntry.inFlight). The queue is the gateway's,
// not undici's: a request given up while it waits leaves at once, where undici would keep it
// until a connection came free and then close that healthy connection to abort it. Without a connection
// bound, N busy clients open N upstream connections: each costs the gateway an undici
// Client, a socket and its buffers, and the upstream a worker slot, and the Pool scans every
// client per dispatch.
import { isIP, type Socket } from "node:net";
import type { Dispatcher, Pool as PoolType, buildConnector as BuildConnector } from "undici";
import { Client, Pool, buildConnector } from "./undici-core.ts";
import { warnContainedBug } from "./contained-bug.ts";
import { GrpcChannels } from "./grpc-channels.ts";
import { markTlsHandshakeError } from "./failures.ts";
import { keepTlsAlerts } from "./tls-alerts.ts";
import type { UpstreamTls } from "../config/upstream-tls.ts";
import type { UpstreamConnectionModel } from "../config/model.ts";
import { MAX_DURATION_MS } from "../config/duration.ts";

/**
 * Connections per endpoint when its Backend sets none. A 1,000-connection closed-loop load
 * through one endpoint served ~30% more requests per second with 128 connections than with
 * one per client, and the gateway's memory no longer scales with its client count.
 */
export const DEFAULT_MAX_CONNECTIONS = 128;

/**
 * Requests that may wait for a free connection per endpoint when its Backend sets none, as
 * Envoy's max_pending_requests circuit breaker: without a bound a stalled upstream holds every
 * arriving request, and its client socket, in memory until the gateway runs out.
 */
export const DEFAULT_MAX_PENDING_REQUESTS = 1024;

/**
 * The largest upstream response head accepted, the same 60 KiB a listener accepts from
 * clients (and Envoy's default both ways). undici would otherwise take node's 16 KiB, and a
 * large Set-Cookie set (OIDC sessions) would turn into a 502.
 */
export const UPSTREAM_MAX_HEADER_BYTES = 60 * 1024;

export interface UpstreamPoolOptions {
  /** Max connections per origin when a request names none; default DEFAULT_MAX_CONNECTIONS. */
  readonly connections?: number;
  readonly connectTimeoutMs?: number;
  /** Idle keep-alive time for upstream connections. */
  readonly keepAliveTimeoutMs?: number;
}

/** An upstream as the pools see it: its origin, the key its pool goes by, and its TLS if any. */
export interface PoolTarget {
  /** `http://host:port`, or `https://host:port` with `tls`. */
  readonly origin: string;
  /** The origin, plus the TLS fingerprint (see upstreamPoolKey). */
  readonly poolKey: string;
  readonly tls: UpstreamTls | undefined;
  /** A BackendConfigPolicy's settings for the pool's connections (part of poolKey); undefined = the gateway's. */
  readonly connection?: UpstreamConnectionModel | undefined;
}

/** The local address of one pooled Client's current connection; the Client's dispatches point their handler at it. */
export class UpstreamLocal {
  address: string | undefined = undefined;
  port = 0;
}

/** Handlers that want to know which connection carried them implement this. */
export interface LocalAwareHandler {
  upstreamLocal: UpstreamLocal | undefined;
  /** Holds one of its PoolEntry's slots: granted, and not let go by undici yet (false again once undici ended it, even during dispatch). */
  readonly holdsSlot: boolean;
}

/** An upstream request no client waits for (a RequestMirror copy): closing the pools cuts it rather than wait. */
export interface DetachedRequest {
  cancelForShutdown(): void;
}

/** A request that waits in a PoolEntry's queue for a connection slot. */
export interface PoolWaiter {
  /** A slot is the waiter's now: it dispatches to the pool. */
  slotGranted(): void;
  /**
   * slotGranted threw (a bug in its handler): the waiter gives back the slot if it still holds
   * it, and fails its request, so neither the slot nor the client is left hanging.
   */
  slotFailed(error: Error): void;
  /** The queue's links, so a waiter given up leaves it at once; only PoolEntry touches them. */
  nextWaiter: PoolWaiter | undefined;
  previousWaiter: PoolWaiter | undefined;
  /** In the queue now. */
  queued: boolean;
}

/**
 * A pool, the address its last connection reached (for `network.peer.*`), and the gate in
 * front of it: at most maxConnections requests are in undici at once, one per connection.
 */
export class PoolEntry {
  /** The pool key (the origin, plus the TLS fingerprint for a TLS upstream). */
  readonly origin: string;
  readonly pool: PoolType;
  readonly maxConnections: number;
  peerAddress: string | undefined;
  peerPort: number;
  /** Requests in undici: each has, or is about to get, a connection of its own. */
  active = 0;
  /** Requests in the queue and not given up. */
  waiting = 0;
  #queueHead: PoolWaiter | undefined = undefined;
  #queueTail: PoolWaiter | undefined = undefined;
  /** Slots are being handed out: a release from inside a grant joins that loop instead of recursing. */
  #granting = false;
  /** Set by closeWhenDrained: closes the pool once nothing waits in the queue. */
  #closeOnDrained: (() => void) | undefined = undefined;
  /**
   * The same origin's pool with another connection limit (two Backends naming one endpoint
   * with different limits, or a reload that changed one); rare, so a short chain.
   */
  next: PoolEntry | undefined = undefined;
  /**
   * Set on a pool no plan uses (a retry under an old plan after a reload dropped its origin
   * or limit): called once it holds and queues nothing, so it does not stay until the next reload.
   */
  onIdle: (() => void) | undefined = undefined;

  constructor(origin: string, pool: PoolType, maxConnections: number, peerAddress: string | undefined, peerPort: number) {
    this.origin = origin;
    this.pool = pool;
    this.maxConnections = maxConnections;
    this.peerAddress = peerAddress;
    this.peerPort = peerPort;
  }

  /** Requests holding or waiting for a connection: what the pending-requests bound counts. */
  get inFlight(): number {
    return this.active + this.waiting;
  }

  /** Every connection is busy and the queue behind them holds `maxPendingRequests` already. */
  full(maxPendingRequests: number | undefined): boolean {
    return this.inFlight >= this.maxConnections + (maxPendingRequests ?? DEFAULT_MAX_PENDING_REQUESTS);
  }

  /**
   * True when the request may dispatch now (it holds a slot until `releaseSlot`); otherwise it
   * is queued, and `slotGranted` tells it its turn came.
   */
  takeSlot(waiter: PoolWaiter): boolean {
    if (this.tryTakeSlot()) return true;
    const tail = this.#queueTail;
    waiter.previousWaiter = tail;
    waiter.nextWaiter = undefined;
    waiter.queued = true;
    if (tail === undefined) this.#queueHead = waiter;
    else tail.nextWaiter = waiter;
    this.#queueTail = waiter;
    this.waiting++;
    return false;
  }

  /**
   * A slot now, or false without queueing: for requests that may be skipped when the upstream
   * is busy (mirrored copies) and must never take a turn from one that waits.
   */
  tryTakeSlot(): boolean {
    if (this.waiting !== 0 || (this.active >= this.maxConnections && this.maxConnections > 0)) return false;
    this.active++;
    return true;
  }

  /** A queued request was given up: it leaves the queue, and holds nothing in memory through it. */
  leaveQueue(waiter: PoolWaiter): void {
    if (!waiter.queued) return;
    this.#unlink(waiter);
    if (this.waiting === 0 && !this.#granting) {
      this.#closeOnDrained?.();
      if (this.active === 0) this.onIdle?.();
    }
  }

  #unlink(waiter: PoolWaiter): void {
    const previous = waiter.previousWaiter;
    const next = waiter.nextWaiter;
    if (previous === undefined) this.#queueHead = next;
    else previous.nextWaiter = next;
    if (next === undefined) this.#queueTail = previous;
    else next.previousWaiter = previous;
    waiter.previousWaiter = waiter.nextWaiter = undefined;
    waiter.queued = false;
    this.waiting--;
  }

  /** undici let a request go (ended, failed or upgraded): its slot passes to the next in line. */
  releaseSlot(): void {
    this.active--;
    // A waiter's dispatch can fail at once (a closed pool) and release again; looping here
    // keeps a long queue from becoming a deep stack.
    if (this.#granting) return;
    this.#granting = true;
    let waiter: PoolWaiter | undefined;
    while ((waiter = this.#queueHead) !== undefined && (this.active < this.maxConnections || this.maxConnections <= 0)) {
      this.#unlink(waiter);
      this.active++;
      startGranted(waiter);
    }
    this.#granting = false;
    if (this.waiting === 0) {
      this.#closeOnDrained?.();
      if (this.active === 0) this.onIdle?.();
    }
  }

  /**
   * Closes the pool once the requests waiting for it have had their turn; undici's close then
   * lets the ones it holds finish. Closing at once would fail the waiters still queued here.
   */
  closeWhenDrained(): Promise<void> {
    return new Promise((resolve) => {
      this.#closeOnDrained = () => {
        this.#closeOnDrained = undefined;
        this.pool
          .close()
          .catch(() => this.pool.destroy().catch(() => {}))
          .then(() => resolve());
      };
      if (this.waiting === 0) this.#closeOnDrained();
    });
  }
}

/** The connection an upstream request ran on, for `network.peer.*` and Envoy's UPSTREAM_LOCAL_ADDRESS. */
export function noteConnection(
  attempt: { peerAddress: string | undefined; peerPort: number; localAddress: string | undefined; localPort: number },
  entry: PoolEntry,
  local: UpstreamLocal | undefined,
): void {
  if (entry.peerAddress !== undefined) {
    attempt.peerAddress = entry.peerAddress;
    attempt.peerPort = entry.peerPort;
  }
  if (local !== undefined) {
    attempt.localAddress = local.address;
    attempt.localPort = local.port;
  }
}

/**
 * Hands a granted slot to its waiter, at once or from the queue. A bug in the waiter's
 * handler must neither strand the waiters behind it, nor break the response whose end
 * released the slot, nor keep the slot: it is reported, and the waiter fails its request.
 */
export function startGranted(waiter: PoolWaiter): void {
  try {
    waiter.slotGranted();
  } catch (error) {
    grantFailed(waiter, error);
  }
}

/** Reports a grant that threw and lets its waiter clean up; a second throw is reported too, never raised. */
function grantFailed(waiter: PoolWaiter, thrown: unknown): void {
  const error = thrown instanceof Error ? thrown : new Error(String(thrown));
  warnContainedBug("an upstream request failed to start", error);
  try {
    waiter.slotFailed(error);
  } catch (second) {
    warnContainedBug("an upstream request failed to give back its connection slot", second);
  }
}

export class UpstreamPools {
  /** Requests in the pools that no client waits for; each removes itself when it ends. */
  readonly detached = new Set<DetachedRequest>();
  /** The gRPC channels of ExternalAuth services (protocol GRPC), closed with the pools. */
  readonly grpc = new GrpcChannels();
  readonly #entries = new Map<string, PoolEntry>();
  /** Open upgrade tunnels by origin, for least request. */
  readonly #openTunnels = new Map<string, number>();
  readonly #options: UpstreamPoolOptions;
  readonly #defaultMaxConnections: number;
  #closed = false;
  /** What the last `retain` kept: origins, and per origin the limits in use (all when absent). */
  #retained: { readonly origins: ReadonlySet<string>; readonly limits: ReadonlyMap<string, ReadonlySet<number>> | undefined } | undefined;

  constructor(options: UpstreamPoolOptions = {}) {
    this.#options = options;
    this.#defaultMaxConnections = options.connections ?? DEFAULT_MAX_CONNECTIONS;
  }

  get(target: string | PoolTarget, maxConnections?: number): PoolType {
    return this.entry(target, maxConnections).pool;
  }

  /**
   * The pool with its peer facts for `target` (a plain `http://` origin, or an endpoint that may
   * be TLS) at this connection limit (default: the gateway's); created on first use.
   */
  entry(target: string | PoolTarget, maxConnections: number | undefined = undefined): PoolEntry {
    const limit = maxConnections ?? this.#defaultMaxConnections;
    const origin = typeof target === "string" ? target : target.poolKey;
    const head = this.#entries.get(origin);
    for (let e = head; e !== undefined; e = e.next) if (e.maxConnections === limit) return e;
    if (this.#closed) throw new Error("upstream pools are closed");
    const created = this.#create(typeof target === "string" ? { origin: target, poolKey: target, tls: undefined } : target, limit);
    created.next = head;
    this.#entries.set(origin, created);
    if (!this.#isRetained(origin, limit)) created.onIdle = () => this.#dropOrphan(created);
    return created;
  }

  /**
   * How busy `target` is: the requests holding or waiting for a connection of its pool at this
   * limit, and the upgrade tunnels open to its origin (they left the pool, but keep the upstream
   * busy, across reloads that replace the pool too).
   */
  inFlight(target: PoolTarget, maxConnections: number | undefined): number {
    const limit = maxConnections ?? this.#defaultMaxConnections;
    const tunnels = this.#openTunnels.get(target.origin) ?? 0;
    for (let e = this.#entries.get(target.poolKey); e !== undefined; e = e.next) if (e.maxConnections === limit) return e.inFlight + tunnels;
    return tunnels;
  }

  /** An upgrade tunnel to `origin` opened; `tunnelClosed` when it closes. */
  tunnelOpened(origin: string): void {
    this.#openTunnels.set(origin, (this.#openTunnels.get(origin) ?? 0) + 1);
  }

  tunnelClosed(origin: string): void {
    const left = (this.#openTunnels.get(origin) ?? 1) - 1;
    if (left <= 0) this.#openTunnels.delete(origin);
    else this.#openTunnels.set(origin, left);
  }

  /** Whether the plan last passed to `retain` uses `origin` at this limit (true before any). */
  #isRetained(origin: string, limit: number): boolean {
    const retained = this.#retained;
    if (retained === undefined) return true;
    if (!retained.origins.has(origin)) return false;
    return retained.limits?.get(origin)?.has(limit) ?? true;
  }

  #dropOrphan(orphan: PoolEntry): void {
    orphan.onIdle = undefined;
    this.#setChain(orphan.origin, chain(this.#entries.get(orphan.origin)).filter((e) => e !== orphan));
    void orphan.closeWhenDrained();
  }

  openConnections(): Iterable<[origin: string, count: number]> {
    return this.#sumPerOrigin((e) => e.pool.stats.connected);
  }

  /** Requests waiting for a free connection (Envoy's upstream_rq_pending_active), per origin. */
  pendingRequests(): Iterable<[origin: string, count: number]> {
    // undici's own count adds the requests that hold a slot while their connection opens.
    return this.#sumPerOrigin((e) => e.waiting + e.pool.stats.pending);
  }

  #sumPerOrigin(value: (entry: PoolEntry) => number): [string, number][] {
    const out: [string, number][] = [];
    for (const [origin, head] of this.#entries) {
      let count = 0;
      for (let e: PoolEntry | undefined = head; e !== undefined; e = e.next) count += value(e);
      out.push([origin, count]);
    }
    return out;
  }

  /**
   * Closes the pools of origins not in `origins`, after their in-flight requests finish. With
   * `limits` (the `maxConnections` each origin is used with, undefined for the default), a
   * retained origin also drops its pools for limits no longer used: each reload that changed
   * a Backend's limit would otherwise leave one more pool behind. A request still running on
   * a dropped pool finishes there; a retry of it opens a fresh one, which closes once it is
   * idle, since no plan from this one on uses it. The gRPC channels of origins not in
   * `origins` close the same way.
   */
  retain(origins: ReadonlySet<string>, limits?: ReadonlyMap<string, ReadonlySet<number | undefined>>): void {
    const resolvedLimits =
      limits === undefined
        ? undefined
        : new Map([...limits].map(([origin, used]) => [origin, new Set([...used].map((limit) => limit ?? this.#defaultMaxConnections))]));
    this.#retained = { origins, limits: resolvedLimits };
    this.grpc.retain(origins);
    for (const [origin, head] of this.#entries) {
      if (!origins.has(origin)) {
        this.#entries.delete(origin);
        for (const entry of chain(head)) void entry.closeWhenDrained();
        continue;
      }
      const wanted = resolvedLimits?.get(origin);
      const kept = chain(head).filter((entry) => {
        if (wanted === undefined || wanted.has(entry.maxConnections)) {
          // A pool made for an old plan that this one uses again is kept like any other.
          entry.onIdle = undefined;
          return true;
        }
        void entry.closeWhenDrained();
        return false;
      });
      if (wanted === undefined) continue;
      this.#setChain(origin, kept);
    }
  }

  /** Makes `entries` the origin's chain, in order; none removes the origin. */
  #setChain(origin: string, entries: readonly PoolEntry[]): void {
    for (let i = 0; i < entries.length; i++) entries[i]!.next = entries[i + 1];
    if (entries.length === 0) this.#entries.delete(origin);
    else this.#entries.set(origin, entries[0]!);
  }

  async close(): Promise<void> {
    this.#closed = true;
    this.#cancelDetached();
    this.grpc.close();
    const pools = this.#all();
    this.#entries.clear();
    await Promise.all(pools.map((e) => e.closeWhenDrained()));
  }

  /** A drain waits for the requests in flight to finish; one nobody waits for must not hold it. */
  #cancelDetached(): void {
    for (const request of [...this.detached]) {
      try {
        request.cancelForShutdown();
      } catch (error) {
        warnContainedBug("cutting a detached upstream request at shutdown failed", error);
      }
    }
  }

  /** Cuts every connection at once (drain timeout reached). */
  async destroy(): Promise<void> {
    this.#closed = true;
    this.#cancelDetached();
    this.grpc.close();
    const pools = this.#all();
    this.#entries.clear();
    await Promise.all(pools.map((e) => e.pool.destroy().catch(() => {})));
  }

  #all(): PoolEntry[] {
    return [...this.#entries.values()].flatMap(chain);
  }

  #create(target: PoolTarget, maxConnections: number): PoolEntry {
    const url = new URL(target.origin);
    const host = url.hostname.startsWith("[") ? url.hostname.slice(1, -1) : url.hostname;
    const tls = target.tls;
    const port = Number(url.port || (tls === undefined ? 80 : 443));
    const literal = isIP(host) !== 0;
    const o = this.#options;
    const settings = target.connection;
    const connectTimeoutMs = settings?.connectTimeoutMs ?? o.connectTimeoutMs;
    const keepAlive = keepAliveOf(settings);
    // HTTP/1.1 only, over TLS too: undici would otherwise offer h2 by ALPN, and the proxy
    // path (upgrades, one request per connection, the slot gate) is built on HTTP/1.1.
    const connector = buildConnector({
      ...(connectTimeoutMs === undefined ? {} : { timeout: connectTimeoutMs }),
      ...(tls === undefined || tls.unusable !== undefined ? {} : { ...tls.connectOptions, allowH2: false }),
    } as BuildConnector.BuildOptions);
    // An IP endpoint is its own peer; a DNS name's peer is whatever the last connect reached.
    // A TLS pool's connect errors all came before a completed handshake: marked so, a reset
    // there is a handshake failure (nothing was sent), not a reset of the request.
    let entry: PoolEntry | undefined;
    const connect: BuildConnector.connector =
      tls?.unusable !== undefined
        ? // A policy that cannot be used fails closed: the backend is not even dialled.
          (_opts, callback) => queueMicrotask(() => callback(tls.unusableError(), null))
        : literal && tls === undefined && keepAlive === undefined
          ? connector
          : (opts, callback) =>
            connector(opts, (...args) => {
              if (args[0] === null) {
                if (keepAlive !== undefined) args[1].setKeepAlive(true, keepAlive.delayMs, keepAlive.intervalMs, keepAlive.probes);
                if (!literal && entry !== undefined) recordPeer(entry, args[1]);
                if (tls !== undefined) keepTlsAlerts(args[1]);
              } else if (tls !== undefined) markTlsHandshakeError(args[0]);
              callback(...args);
            });
    const pool = new Pool(target.origin, {
      connections: maxConnections,
      ...(settings?.idleTimeoutMs === undefined ? { keepAliveTimeout: o.keepAliveTimeoutMs ?? 4_000 } : idleTimeoutOptions(settings.idleTimeoutMs)),
      ...(settings?.maxRequestsPerConnection === undefined ? {} : { maxRequestsPerClient: settings.maxRequestsPerConnection }),
      maxHeaderSize: UPSTREAM_MAX_HEADER_BYTES,
      connect,
      factory: (origin, options) => localAwareClient(origin, options, tls?.hostname),
    });
    entry = new PoolEntry(target.poolKey, pool, maxConnections, literal ? host : undefined, literal ? port : 0);
    return entry;
  }
}

/**
 * One Client per pooled connection (undici runs one request at a time on it), which notes its
 * socket's local address on connect and hands that record to each handler it dispatches. Over
 * TLS every request names the policy's `servername`: undici would otherwise take the SNI
 * name from each request's Host header, and drop the connection whenever it changed.
 */
function localAwareClient(origin: string | URL, options: PoolType.Options, servername: string | undefined): Dispatcher {
  const local = new UpstreamLocal();
  const connect = options.connect as BuildConnector.connector;
  const client = new Client(origin, {
    ...options,
    connect: (opts, callback) =>
      connect(opts, (...args) => {
        if (args[0] === null) {
          local.address = args[1].localAddress;
          local.port = args[1].localPort ?? 0;
        }
        callback(...args);
      }),
  });
  const bound = client.dispatch.bind(client);
  const dispatch = servername === undefined ? bound : (opts: Dispatcher.DispatchOptions, handler: Dispatcher.DispatchHandler) => bound({ ...opts, servername } as Dispatcher.DispatchOptions, handler);
  client.dispatch = (opts: Dispatcher.DispatchOptions, handler: Dispatcher.DispatchHandler): boolean => {
    if (!("upstreamLocal" in handler)) return dispatch(opts, handler);
    const aware = handler as LocalAwareHandler;
    aware.upstreamLocal = local;
    if (dispatch(opts, handler)) return true;
    // false means "busy, wait for my drain", and also "refused this request outright" (a
    // header or target undici will not send), with the error already given to the handler.
    // The Pool takes both as busy, and a Client that refused a request never drains: it
    // would leave the pool's rotation for good. A request already ended is not a busy Client.
    return !aware.holdsSlot;
  };
  return client;
}

/**
 * A policy's TCP keep-alive, each part unset taking what undici and Node set by default (the
 * first probe after 60 s, then one a second, ten in all).
 */
function keepAliveOf(settings: UpstreamConnectionModel | undefined): { delayMs: number; intervalMs: number; probes: number } | undefined {
  if (settings === undefined || (settings.keepAliveTimeMs === undefined && settings.keepAliveIntervalMs === undefined && settings.keepAliveProbes === undefined)) return undefined;
  return { delayMs: settings.keepAliveTimeMs ?? 60_000, intervalMs: settings.keepAliveIntervalMs ?? 1_000, probes: settings.keepAliveProbes ?? 10 };
}

/**
 * undici's idle keep-alive for a policy's idle timeout, which also bounds the time an upstream's
 * Keep-Alive hint may ask for: a longer hint never holds a connection past it. 0 (Envoy: never
 * close an idle connection) is the longest timer Node has.
 */
function idleTimeoutOptions(idleMs: number): { keepAliveTimeout: number; keepAliveMaxTimeout: number } {
  const ms = idleMs === 0 ? MAX_DURATION_MS : idleMs;
  return { keepAliveTimeout: ms, keepAliveMaxTimeout: ms };
}

function chain(head: PoolEntry | undefined): PoolEntry[] {
  const out: PoolEntry[] = [];
  for (let e: PoolEntry | undefined = head; e !== undefined; e = e.next) out.push(e);
  return out;
}

function recordPeer(entry: PoolEntry, socket: Socket): void {
  if (socket.remoteAddress !== undefined) {
    entry.peerAddress = socket.remoteAddress;
    entry.peerPort = socket.remotePort ?? 0;
  }
}
