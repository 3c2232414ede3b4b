// A JWT provider's remote JWKS (kgateway RemoteJWKS, Envoy's remote_jwks): fetched through its
// backendRef when a token first needs it, used for cacheDuration, then fetched again when a
// token needs it after that. Requests that need the keys while a fetch runs wait on that one
// fetch. A fetch that fails (no answer in time, a status other than 200, a body too large, or
// no usable key in it) fails the requests waiting on it with Envoy's status, and the next
// request that needs the keys tries again. One cache per provider and backend of a plan: the
// rules a Gateway's policy covers share it; a reload starts afresh. Fetches are counted.
import { readFetchedJwks } from "../config/jwks.ts";
import type { CompiledBackend } from "../plan/types.ts";
import { JwtFailure, JwtFailures } from "./jwt-failures.ts";
import { JwtKeySet } from "./jwt-keys.ts";
import type { JwksFetchCounts } from "./jwks-fetches.ts";
import type { UpstreamPools } from "./pools.ts";
import { nextEndpoint } from "./round-robin.ts";
import { dispatcherRequest } from "./undici-core.ts";

/** The most of a JWKS answer read: a key set is a few kilobytes. */
const MAX_JWKS_BYTES = 1024 * 1024;

/** What a fetch needs from the listener: the pools it goes through, and where it is counted. */
export interface JwksFetchContext {
  readonly pools: UpstreamPools;
  readonly jwksFetches: JwksFetchCounts | undefined;
}

export interface RemoteJwksSpec {
  readonly url: string;
  readonly cacheDurationMs: number;
  readonly timeoutMs: number;
}

export class RemoteJwks {
  readonly #backend: CompiledBackend;
  readonly #url: URL;
  readonly #spec: RemoteJwksSpec;
  /** `namespace/extension/provider`, for the fetch counts. */
  readonly #provider: string;
  #keys: JwtKeySet | undefined = undefined;
  #fetchedAtMs = 0;
  #inFlight: Promise<JwtKeySet | JwtFailure> | undefined = undefined;

  constructor(backend: CompiledBackend, spec: RemoteJwksSpec, provider: string) {
    this.#backend = backend;
    this.#provider = provider;
    this.#url = new URL(spec.url);
    this.#spec = spec;
  }

  /** The keys held and not older than cacheDuration, or undefined. */
  current(nowMs: number): JwtKeySet | undefined {
    return this.#keys !== undefined && nowMs - this.#fetchedAtMs < this.#spec.cacheDurationMs ? this.#keys : undefined;
  }

  /** The keys, fetched first when there are none yet or they are older than cacheDuration. */
  keys(ctx: JwksFetchContext, nowMs: number): Promise<JwtKeySet | JwtFailure> | JwtKeySet {
    const held = this.current(nowMs);
    if (held !== undefined) return held;
    this.#inFlight ??= this.#fetch(ctx.pools).then((fetched) => {
      this.#inFlight = undefined;
      ctx.jwksFetches?.count(this.#provider, fetched instanceof JwtFailure ? "failure" : "success");
      if (!(fetched instanceof JwtFailure)) {
        this.#keys = fetched;
        this.#fetchedAtMs = Date.now();
      }
      return fetched;
    });
    return this.#inFlight;
  }

  async #fetch(pools: UpstreamPools): Promise<JwtKeySet | JwtFailure> {
    const endpoint = nextEndpoint(this.#backend);
    if (endpoint === undefined) return JwtFailures.fetchFailed;
    try {
      const answer = await dispatcherRequest(pools.get(endpoint, this.#backend.model.maxConnections), {
        method: "GET",
        path: `${this.#url.pathname}${this.#url.search}`,
        headers: { host: this.#url.host, accept: "application/json" },
        headersTimeout: this.#spec.timeoutMs,
        bodyTimeout: this.#spec.timeoutMs,
        signal: AbortSignal.timeout(this.#spec.timeoutMs),
      });
      const chunks: Buffer[] = [];
      let size = 0;
      for await (const chunk of answer.body as AsyncIterable<Buffer>) {
        size += chunk.length;
        if (size > MAX_JWKS_BYTES) {
          answer.body.destroy();
          return JwtFailures.fetchFailed;
        }
        chunks.push(chunk);
      }
      if (answer.statusCode !== 200) return JwtFailures.fetchFailed;
      const read = readFetchedJwks(Buffer.concat(chunks).toString("utf8"));
      if (!read.ok) return new JwtFailure(read.message);
      return new JwtKeySet(read.keys);
    } catch {
      return JwtFailures.fetchFailed;
    }
  }
}

const byBackend = new WeakMap<CompiledBackend, Map<string, RemoteJwks>>();

/** The cache of `provider` (`namespace/extension/provider`) for `spec` through `backend`: the rules its policies cover share it. */
export function remoteJwksOf(backend: CompiledBackend, spec: RemoteJwksSpec, provider: string): RemoteJwks {
  let byUrl = byBackend.get(backend);
  if (byUrl === undefined) {
    byUrl = new Map();
    byBackend.set(backend, byUrl);
  }
  const id = `${provider} ${spec.url} ${spec.cacheDurationMs} ${spec.timeoutMs}`;
  let found = byUrl.get(id);
  if (found === undefined) {
    found = new RemoteJwks(backend, spec, provider);
    byUrl.set(id, found);
  }
  return found;
}
