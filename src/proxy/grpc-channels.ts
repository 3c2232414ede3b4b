// One gRPC channel per authorization-service endpoint, kept for the gateway's life (unlike
// the undici pools, a reload does not close it): HTTP/2 carries every check to that
// endpoint on one connection, which the channel reconnects and lets go when idle.
import { Client, type ClientUnaryCall, credentials } from "@grpc/grpc-js";
import { isIP } from "node:net";
import { DENIAL_BODY_LIMIT_BYTES } from "./auth-check.ts";

const CHANNEL_OPTIONS = {
  // An answer holds at most a denial body and some headers; anything far larger is refused
  // by the channel (RESOURCE_EXHAUSTED) before the gateway holds it.
  "grpc.max_receive_message_length": 4 * DENIAL_BODY_LIMIT_BYTES,
  // A failed check fails closed at once; the gateway never resends a check on its own.
  "grpc.enable_retries": 0,
  // A channel that lost its service waits between connection attempts, and every check fails
  // while it waits: grpc-js would let the wait grow to 2 minutes, so a service back after an
  // outage would be refused for that long. Capped near Envoy's on-demand connects.
  "grpc.initial_reconnect_backoff_ms": 250,
  "grpc.max_reconnect_backoff_ms": 2_000,
};

export class GrpcChannels {
  readonly #clients = new Map<string, Client>();
  /** Calls in flight, cancelled by `close`: grpc-js lets a closed channel's calls run on. */
  readonly #calls = new Set<ClientUnaryCall>();
  #closed = false;

  /** The channel to `host:port`, created on first use; throws once the gateway closes its upstream connections. */
  client(host: string, port: number): Client {
    if (this.#closed) throw new Error("upstream connections are closed");
    const target = channelTarget(host, port);
    let client = this.#clients.get(target);
    if (client === undefined) {
      client = new Client(target, credentials.createInsecure(), CHANNEL_OPTIONS);
      this.#clients.set(target, client);
    }
    return client;
  }

  track(call: ClientUnaryCall): void {
    this.#calls.add(call);
  }

  untrack(call: ClientUnaryCall): void {
    this.#calls.delete(call);
  }

  /** Cancels the calls in flight and closes every channel. */
  close(): void {
    this.#closed = true;
    for (const call of [...this.#calls]) call.cancel();
    this.#calls.clear();
    for (const client of this.#clients.values()) client.close();
    this.#clients.clear();
  }
}

/**
 * A gRPC target naming its resolver: a bare `host:port` whose host is `dns`, `unix`, `ipv4`
 * or `ipv6` would be read as that scheme.
 */
function channelTarget(host: string, port: number): string {
  switch (isIP(host)) {
    case 4:
      return `ipv4:${host}:${port}`;
    case 6:
      return `ipv6:[${host}]:${port}`;
    default:
      return `dns:${host}:${port}`;
  }
}
