// One gRPC channel per authorization-service endpoint, kept for the gateway's life as the
// undici pools are: HTTP/2 carries every check to that endpoint on one connection, which the
// channel reconnects and lets go when it has been idle.
import { Client, credentials } from "@grpc/grpc-js";
import { DENIAL_BODY_LIMIT_BYTES } from "./auth-check.ts";

const CHANNEL_OPTIONS = {
  // An answer holds at most a denial body and some headers; anything far larger is refused
  // by the channel (RESOURCE_EXHAUSTED) before the gateway holds it.
  "grpc.max_receive_message_length": 4 * DENIAL_BODY_LIMIT_BYTES,
  // A failed check fails closed at once; the gateway never resends a check on its own.
  "grpc.enable_retries": 0,
};

export class GrpcChannels {
  readonly #clients = new Map<string, Client>();
  #closed = false;

  /** The channel to `host:port`, created on first use; throws once the gateway closes its upstream connections. */
  client(host: string, port: number): Client {
    if (this.#closed) throw new Error("upstream connections are closed");
    const target = `${host.includes(":") ? `[${host}]` : host}:${port}`;
    let client = this.#clients.get(target);
    if (client === undefined) {
      client = new Client(target, credentials.createInsecure(), CHANNEL_OPTIONS);
      this.#clients.set(target, client);
    }
    return client;
  }

  /** Closes every channel; a check still running on one ends as cancelled. */
  close(): void {
    this.#closed = true;
    for (const client of this.#clients.values()) client.close();
    this.#clients.clear();
  }
}
