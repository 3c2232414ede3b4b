// The tokens a JWT provider verified lately, with their payloads and the key set that verified
// them, sized as Envoy's optional JWT cache (100 tokens, none over 4 KiB): a client sends the
// same token with each request, and its signature need not be checked again while the same
// keys hold. The caller re-checks the time window on a hit and that the keys still hold, so a
// hit decides as a full check would. The least recently used token goes first.
import type { JWTPayload } from "jose";

/** Envoy's jwt_cache_size default. */
const DEFAULT_SIZE = 100;
/** Envoy's max_token_size default: a longer token is checked whole each time. */
const MAX_TOKEN_LENGTH = 4096;

export interface VerifiedToken {
  readonly payload: JWTPayload;
  /** The key set that verified it (compared by identity). */
  readonly keys: object;
}

export class VerifiedTokens {
  readonly #size: number;
  readonly #payloads = new Map<string, VerifiedToken>();

  constructor(size = DEFAULT_SIZE) {
    this.#size = size;
  }

  get(token: string): VerifiedToken | undefined {
    const payload = this.#payloads.get(token);
    if (payload !== undefined) {
      // Most recently used last: Map keeps insertion order.
      this.#payloads.delete(token);
      this.#payloads.set(token, payload);
    }
    return payload;
  }

  add(token: string, verified: VerifiedToken): void {
    if (token.length > MAX_TOKEN_LENGTH) return;
    this.#payloads.set(token, verified);
    if (this.#payloads.size > this.#size) this.#payloads.delete(this.#payloads.keys().next().value!);
  }
}
