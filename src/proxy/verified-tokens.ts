// The tokens a JWT provider verified lately, with their payloads, as Envoy's jwt_authn keeps a
// per-provider JWT cache (100 tokens by default): a client sends the same token with each
// request, and its signature need not be checked again. A hit still has its time window
// checked by the caller. The least recently used token goes first.
import type { JWTPayload } from "jose";

/** Envoy's default jwt_cache_size. */
const DEFAULT_SIZE = 100;

export class VerifiedTokens {
  readonly #size: number;
  readonly #payloads = new Map<string, JWTPayload>();

  constructor(size = DEFAULT_SIZE) {
    this.#size = size;
  }

  get(token: string): JWTPayload | undefined {
    const payload = this.#payloads.get(token);
    if (payload !== undefined) {
      // Most recently used last: Map keeps insertion order.
      this.#payloads.delete(token);
      this.#payloads.set(token, payload);
    }
    return payload;
  }

  add(token: string, payload: JWTPayload): void {
    this.#payloads.set(token, payload);
    if (this.#payloads.size > this.#size) this.#payloads.delete(this.#payloads.keys().next().value!);
  }
}
