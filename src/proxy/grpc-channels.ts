// One gRPC channel per authorization-service endpoint: HTTP/2 carries every check to that
// endpoint on one connection, which the channel reconnects and lets go when idle. Unlike the
// undici pools, a channel is not tied to a connection limit; a reload closes the channels of
// endpoints no Backend names any more.
//
// A connection can go silent without closing (a peer that froze, a middlebox that dropped its
// flow): grpc-js then keeps sending checks down it, each failing at its deadline, until TCP
// gives up many minutes later. Keepalive pings would notice, but standard gRPC servers answer
// pings sent more often than every 5 minutes with GOAWAY (too_many_pings). So the deadlines
// are the probe: a check that passed its deadline on a connected channel that heard nothing
// from the service since the check began replaces the channel, as the HTTP mode's timed-out
// request closes its connection. The replaced channel's calls run on to their own deadlines;
// grpc-js then closes its connection gracefully, so one whose peer stays silent lingers
// until TCP gives up on it: replacing an endpoint's channel at most once per
// REPLACEMENT_INTERVAL_MS bounds how many can linger while a service stays frozen.
import { type ChannelCredentials, Client, type ClientUnaryCall, connectivityState, credentials } from "@grpc/grpc-js";
import { isIP } from "node:net";
import type { CompiledEndpoint } from "../plan/types.ts";
import { DENIAL_BODY_LIMIT_BYTES } from "./auth-check.ts";
import type { UpstreamTls } from "../config/upstream-tls.ts";

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
  // The Backend says where the service is and the gateway's config how to call it: a DNS TXT
  // record must not bring in a service config (retries, load balancing, timeouts) of its own.
  "grpc.service_config_disable_resolution": 1,
};

/** The channel to one endpoint, and when the service was last heard on it. */
/** The least time between two replacements of one endpoint's channel. */
const REPLACEMENT_INTERVAL_MS = 10_000;

export class GrpcChannel {
  /** `performance.now()` when the service last answered anything here (headers or a status of its own). */
  #heardAt = Number.NEGATIVE_INFINITY;

  readonly client: Client;
  readonly origin: string;
  /** Made for one check of an endpoint no current Backend names (a request under an older plan): closed after it. */
  readonly transient: boolean;

  constructor(client: Client, origin: string, transient: boolean) {
    this.client = client;
    this.origin = origin;
    this.transient = transient;
  }

  heard(): void {
    this.#heardAt = performance.now();
  }

  /** Whether the channel holds a connection that said nothing since `sinceMs` (`performance.now()`). */
  silentSince(sinceMs: number): boolean {
    return this.#heardAt < sinceMs && this.client.getChannel().getConnectivityState(false) === connectivityState.READY;
  }

  /** Closes the channel; its calls in flight run on to their deadlines. */
  retire(): void {
    this.client.close();
  }
}

export class GrpcChannels {
  /** By endpoint pool key (the origin, plus a TLS fingerprint), the key the plan's endpoints and the undici pools share. */
  readonly #channels = new Map<string, GrpcChannel>();
  /** Calls in flight, cancelled by `close`: grpc-js lets a closed channel's calls run on. */
  readonly #calls = new Set<ClientUnaryCall>();
  /** When each endpoint's channel was last replaced (`performance.now()`). */
  readonly #replacedAt = new Map<string, number>();
  /** The origins the plan last passed to `retain` names; undefined before the first. */
  #retained: ReadonlySet<string> | undefined;
  #closed = false;

  /** The channel to `endpoint`, created on first use; throws once the gateway closes its upstream connections. */
  channel(endpoint: CompiledEndpoint): GrpcChannel {
    if (this.#closed) throw new Error("upstream connections are closed");
    let channel = this.#channels.get(endpoint.poolKey);
    if (channel === undefined) {
      const transient = this.#retained !== undefined && !this.#retained.has(endpoint.poolKey);
      const tls = endpoint.tls;
      const client =
        tls === undefined
          ? new Client(channelTarget(endpoint.host, endpoint.port), credentials.createInsecure(), CHANNEL_OPTIONS)
          : new Client(channelTarget(endpoint.host, endpoint.port), tlsCredentials(tls), { ...CHANNEL_OPTIONS, "grpc.ssl_target_name_override": tls.hostname });
      channel = new GrpcChannel(client, endpoint.poolKey, transient);
      // Kept only while a Backend names the endpoint: a reload has dropped it otherwise.
      if (!transient) this.#channels.set(endpoint.poolKey, channel);
    }
    return channel;
  }

  /**
   * A check on `channel` begun at `startedAtMs` passed its deadline with no answer. When the
   * channel is connected and heard nothing from the service since then, its connection is
   * taken for dead: the next check opens a new channel. A channel that is still connecting
   * is kept, so a slow connect is not restarted by each deadline.
   */
  deadlinePassedUnanswered(channel: GrpcChannel, startedAtMs: number): void {
    // A channel already replaced or dropped by a reload is no longer in the map.
    if (this.#channels.get(channel.origin) !== channel || !channel.silentSince(startedAtMs)) return;
    const now = performance.now();
    const last = this.#replacedAt.get(channel.origin);
    if (last !== undefined && now - last < REPLACEMENT_INTERVAL_MS) return;
    this.#replacedAt.set(channel.origin, now);
    this.#channels.delete(channel.origin);
    channel.retire();
  }

  /** Closes the channels to endpoints not in `origins` (a reload dropped them); their calls in flight run on. */
  retain(origins: ReadonlySet<string>): void {
    this.#retained = origins;
    for (const origin of this.#replacedAt.keys()) if (!origins.has(origin)) this.#replacedAt.delete(origin);
    for (const [origin, channel] of this.#channels) {
      if (origins.has(origin)) continue;
      this.#channels.delete(origin);
      channel.retire();
    }
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
    for (const channel of this.#channels.values()) channel.retire();
    this.#channels.clear();
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

/**
 * TLS to the service as its BackendTLSPolicy says: the policy's CAs (or the well-known
 * ones), its hostname as SNI (the channel's ssl_target_name_override), and its identity
 * check; and the Gateway's client certificate when it has one.
 */
function tlsCredentials(tls: UpstreamTls): ChannelCredentials {
  const client = tls.clientCertificate;
  const key = client === undefined ? null : Buffer.from(client.keyPem);
  const chain = client === undefined ? null : Buffer.from(client.certificatePem);
  return credentials.createSsl(Buffer.from(tls.trustedCaPem), key, chain, {
    checkServerIdentity: (_host, certificate) => tls.checkIdentity(certificate),
  });
}
