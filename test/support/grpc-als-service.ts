// An access log service speaking Envoy's gRPC ALS API (StreamAccessLogs), on grpc-js (gRPC's
// official Node implementation) with the messages of test/fixtures/als/als.proto. Every
// message it decodes is kept with its stream's metadata and :authority. How it ends a stream
// is the test's choice: OK without a message (as Envoy's own servers do: the response is
// "never sent"), OK with the empty response, or a failure.
import { type ServerDuplexStream, Server, ServerCredentials, type GrpcObject, loadPackageDefinition, type ServiceClientConstructor, status } from "@grpc/grpc-js";
import { loadSync } from "@grpc/proto-loader";
import { fileURLToPath } from "node:url";

const PROTO = fileURLToPath(new URL("../fixtures/als/als.proto", import.meta.url));

interface DecodedAddress {
  readonly socket_address: { readonly address: string; readonly port_value: number };
}
interface DecodedDuration {
  readonly seconds: number;
  readonly nanos: number;
}

export interface DecodedEntry {
  readonly common_properties: {
    readonly downstream_remote_address: DecodedAddress | null;
    readonly downstream_local_address: DecodedAddress | null;
    readonly downstream_direct_remote_address: DecodedAddress | null;
    readonly tls_properties: {
      readonly tls_version: number;
      readonly tls_cipher_suite: { readonly value: number } | null;
      readonly tls_sni_hostname: string;
      readonly peer_certificate_properties: { readonly subject: string; readonly issuer: string; readonly subject_alt_name: { readonly uri?: string; readonly dns?: string }[] } | null;
    } | null;
    readonly start_time: DecodedDuration;
    readonly time_to_last_rx_byte: DecodedDuration | null;
    readonly time_to_first_upstream_tx_byte: DecodedDuration | null;
    readonly time_to_last_upstream_tx_byte: DecodedDuration | null;
    readonly time_to_first_upstream_rx_byte: DecodedDuration | null;
    readonly time_to_last_upstream_rx_byte: DecodedDuration | null;
    readonly time_to_first_downstream_tx_byte: DecodedDuration | null;
    readonly time_to_last_downstream_tx_byte: DecodedDuration | null;
    readonly duration: DecodedDuration;
    readonly upstream_remote_address: DecodedAddress | null;
    readonly upstream_local_address: DecodedAddress | null;
    readonly upstream_cluster: string;
    readonly response_flags: Record<string, unknown> | null;
    readonly route_name: string;
    readonly upstream_request_attempt_count: number;
    readonly stream_id: string;
    readonly access_log_type: number;
  };
  readonly protocol_version: number;
  readonly request: {
    readonly request_method: number;
    readonly scheme: string;
    readonly authority: string;
    readonly path: string;
    readonly user_agent: string;
    readonly referer: string;
    readonly forwarded_for: string;
    readonly request_id: string;
    readonly original_path: string;
    readonly request_body_bytes: number;
    readonly request_headers: Record<string, string>;
  };
  readonly response: {
    readonly response_code: { readonly value: number } | null;
    readonly response_body_bytes: number;
    readonly response_headers: Record<string, string>;
    readonly response_code_details: string;
  };
}

export interface DecodedMessage {
  readonly identifier: { readonly node: { readonly id: string; readonly cluster: string; readonly user_agent_name: string; readonly user_agent_version: string }; readonly log_name: string } | null;
  readonly http_logs: { readonly log_entry: DecodedEntry[] } | null;
}

export interface SeenStream {
  readonly messages: DecodedMessage[];
  readonly metadata: Record<string, string>;
  /** The stream's :authority. */
  readonly authority: string;
  /** Whether the gateway half-closed the stream. */
  ended: boolean;
}

export type StreamEnding = "ok" | "reply" | "unavailable" | "hang";

export interface GrpcAlsService {
  readonly port: number;
  readonly streams: SeenStream[];
  /** Every entry of every stream, in arrival order. */
  entries(): DecodedEntry[];
  /** How the next streams end (default "ok"; "hang": never). */
  ending: StreamEnding;
  /** How long the next streams wait after the gateway's half-close before they end (default 0). */
  endDelayMs: number;
  close(): Promise<void>;
}

export async function startGrpcAlsService(): Promise<GrpcAlsService> {
  const definition = loadSync(PROTO, { keepCase: true, longs: Number, enums: Number, defaults: true, oneofs: true });
  const loaded = loadPackageDefinition(definition) as GrpcObject;
  const als = ((loaded["envoy"] as GrpcObject)["service"] as GrpcObject)["accesslog"] as GrpcObject;
  const method = ((als["v3"] as GrpcObject)["AccessLogService"] as ServiceClientConstructor).service["StreamAccessLogs"]!;
  const streams: SeenStream[] = [];
  const server = new Server();
  const service: GrpcAlsService = {
    port: 0,
    streams,
    ending: "ok",
    endDelayMs: 0,
    entries: () => streams.flatMap((s) => s.messages.flatMap((m) => m.http_logs?.log_entry ?? [])),
    close: () => {
      server.forceShutdown();
      return Promise.resolve();
    },
  };
  // Registered as a bidirectional stream: the wire is the same, and it can end with OK and no message.
  server.register(
    method.path,
    (call: ServerDuplexStream<DecodedMessage, unknown>) => {
      const metadata: Record<string, string> = {};
      for (const [key, value] of Object.entries(call.metadata.getMap())) metadata[key] = String(value);
      const seen: SeenStream = { messages: [], metadata, authority: call.getHost(), ended: false };
      streams.push(seen);
      const ending = service.ending;
      const delayMs = service.endDelayMs;
      call.on("data", (message: DecodedMessage) => seen.messages.push(message));
      call.on("end", () => {
        seen.ended = true;
        if (ending === "hang") return;
        setTimeout(() => {
          if (ending === "unavailable") call.emit("error", { code: status.UNAVAILABLE, details: "log store down" });
          else {
            if (ending === "reply") call.write({});
            call.end();
          }
        }, delayMs);
      });
    },
    method.responseSerialize,
    method.requestDeserialize,
    "bidi",
  );
  const port = await new Promise<number>((resolve, reject) => server.bindAsync("127.0.0.1:0", ServerCredentials.createInsecure(), (error, bound) => (error === null ? resolve(bound) : reject(error))));
  return Object.assign(service, { port });
}
