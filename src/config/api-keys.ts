// The API keys an apiKeyAuth policy lets in, each naming its client. Keys are held only as
// SHA-256 digests: a lookup costs one hash whatever the key, and neither the model nor the
// admin API holds a key in the clear.
import { createHash } from "node:crypto";

export class ApiKeys {
  /** Where the keys come from: `Secret namespace/name`, one per Secret. */
  readonly sources: readonly string[];
  readonly #clients: ReadonlyMap<string, string>;

  /** `keys`: each key and its client; a client may have several (a key being rotated). */
  constructor(sources: readonly string[], keys: readonly (readonly [key: string, client: string])[]) {
    this.sources = sources;
    this.#clients = new Map(keys.map(([key, client]) => [digestOf(Buffer.from(key, "utf8")), client]));
  }

  get size(): number {
    return this.#clients.size;
  }

  /** The client whose key these bytes are, or undefined. */
  clientOf(key: Buffer): string | undefined {
    return this.#clients.get(digestOf(key));
  }

  /** The admin API shows the clients and where their keys come from, never a key. */
  toJSON(): { sources: readonly string[]; clients: readonly string[] } {
    return { sources: this.sources, clients: [...new Set(this.#clients.values())].sort() };
  }
}

function digestOf(key: Buffer): string {
  return createHash("sha256").update(key).digest("base64");
}
