// One keep-alive undici Pool per upstream origin. Pools outlive plans: a reload that keeps an
// endpoint keeps its warm connections; `retain` closes the pools no plan uses any more once
// their in-flight requests finish.
import { isIP, type Socket } from "node:net";
import type { Dispatcher, Pool as PoolType, buildConnector as BuildConnector } from "undici";
import { Client, Pool, buildConnector } from "./undici-core.ts";

export interface UpstreamPoolOptions {
  /** Max connections per origin; undefined = unlimited. */
  readonly connections?: number;
  readonly connectTimeoutMs?: number;
  /** Idle keep-alive time for upstream connections. */
  readonly keepAliveTimeoutMs?: number;
  /** undici's own safety nets: time to response headers and between body chunks. */
  readonly headersTimeoutMs?: number;
  readonly bodyTimeoutMs?: number;
}

/** The local address of one pooled Client's current connection; the Client's dispatches point their handler at it. */
export class UpstreamLocal {
  address: string | undefined = undefined;
  port = 0;
}

/** Handlers that want to know which connection carried them implement this. */
export interface LocalAwareHandler {
  upstreamLocal: UpstreamLocal | undefined;
}

/** A pool plus the address its last connection reached, for `network.peer.*`. */
export class PoolEntry {
  readonly origin: string;
  readonly pool: PoolType;
  peerAddress: string | undefined;
  peerPort: number;

  constructor(origin: string, pool: PoolType, peerAddress: string | undefined, peerPort: number) {
    this.origin = origin;
    this.pool = pool;
    this.peerAddress = peerAddress;
    this.peerPort = peerPort;
  }
}

export class UpstreamPools {
  readonly #entries = new Map<string, PoolEntry>();
  readonly #options: UpstreamPoolOptions;
  #closed = false;

  constructor(options: UpstreamPoolOptions = {}) {
    this.#options = options;
  }

  get(origin: string): PoolType {
    return this.entry(origin).pool;
  }

  /** The pool with its peer facts; created on first use. */
  entry(origin: string): PoolEntry {
    const found = this.#entries.get(origin);
    if (found !== undefined) return found;
    if (this.#closed) throw new Error("upstream pools are closed");
    return this.#create(origin);
  }

  openConnections(): Iterable<[origin: string, count: number]> {
    const out: [string, number][] = [];
    for (const [origin, entry] of this.#entries) out.push([origin, entry.pool.stats.connected]);
    return out;
  }

  /** Closes the pools of origins not in `origins`, after their in-flight requests finish. */
  retain(origins: ReadonlySet<string>): void {
    for (const [origin, entry] of this.#entries) {
      if (origins.has(origin)) continue;
      this.#entries.delete(origin);
      entry.pool.close().catch(() => entry.pool.destroy().catch(() => {}));
    }
  }

  async close(): Promise<void> {
    this.#closed = true;
    const pools = [...this.#entries.values()];
    this.#entries.clear();
    await Promise.all(pools.map((e) => e.pool.close().catch(() => e.pool.destroy().catch(() => {}))));
  }

  /** Cuts every connection at once (drain timeout reached). */
  async destroy(): Promise<void> {
    this.#closed = true;
    const pools = [...this.#entries.values()];
    this.#entries.clear();
    await Promise.all(pools.map((e) => e.pool.destroy().catch(() => {})));
  }

  #create(origin: string): PoolEntry {
    const url = new URL(origin);
    const host = url.hostname.startsWith("[") ? url.hostname.slice(1, -1) : url.hostname;
    const port = Number(url.port || 80);
    const literal = isIP(host) !== 0;
    const o = this.#options;
    const connector = buildConnector(o.connectTimeoutMs === undefined ? {} : { timeout: o.connectTimeoutMs });
    // An IP endpoint is its own peer; a DNS name's peer is whatever the last connect reached.
    let entry: PoolEntry | undefined;
    const pool = new Pool(origin, {
      connections: o.connections ?? null,
      keepAliveTimeout: o.keepAliveTimeoutMs ?? 4_000,
      headersTimeout: o.headersTimeoutMs ?? 300_000,
      bodyTimeout: o.bodyTimeoutMs ?? 300_000,
      connect: literal
        ? connector
        : (opts, callback) =>
            connector(opts, (...args) => {
              if (args[0] === null && entry !== undefined) recordPeer(entry, args[1]);
              callback(...args);
            }),
      factory: localAwareClient,
    });
    entry = new PoolEntry(origin, pool, literal ? host : undefined, literal ? port : 0);
    this.#entries.set(origin, entry);
    return entry;
  }
}

/**
 * One Client per pooled connection (undici runs one request at a time on it), which notes its
 * socket's local address on connect and hands that record to each handler it dispatches.
 */
function localAwareClient(origin: string | URL, options: PoolType.Options): Dispatcher {
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
  const dispatch = client.dispatch.bind(client);
  client.dispatch = (opts: Dispatcher.DispatchOptions, handler: Dispatcher.DispatchHandler): boolean => {
    if ("upstreamLocal" in handler) (handler as LocalAwareHandler).upstreamLocal = local;
    return dispatch(opts, handler);
  };
  return client;
}

function recordPeer(entry: PoolEntry, socket: Socket): void {
  if (socket.remoteAddress !== undefined) {
    entry.peerAddress = socket.remoteAddress;
    entry.peerPort = socket.remotePort ?? 0;
  }
}
