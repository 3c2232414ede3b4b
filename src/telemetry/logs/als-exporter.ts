// Exports access log batches to an Envoy gRPC access log service (StreamAccessLogs). Each
// batch goes on a stream of its own: the Identifier (node and log name) and the batch's
// entries, in messages of at most MAX_MESSAGE_BYTES, then a half-close. Envoy keeps one stream open for ever and
// never hears back; a stream per batch lets the service's end of the stream acknowledge the
// batch, so a batch the service did not take is counted as dropped like any failed export.
// The service ends the stream with OK, usually without a message (the API's response is
// empty and "never sent"): the status alone is the acknowledgement.
import { Client, type ClientDuplexStream, credentials, Metadata, type StatusObject, status as GrpcStatus } from "@grpc/grpc-js";
import type { ReadableLogRecord } from "@opentelemetry/sdk-logs";
import type { AccessLogServiceModel } from "../../config/model.ts";
import type { ExportResultLike, ItemExporter } from "../export/batch-queue.ts";
import { encodeAccessLogEntry, encodeStreamAccessLogsMessages, STREAM_ACCESS_LOGS_PATH } from "./als-messages.ts";
import type { AccessLogRecord } from "./record.ts";

/** Envoy's RetryPolicy defaults: 1 s, and ten times that at most. */
const DEFAULT_BACKOFF_MS = { base: 1000, max: 10_000 };
const passBytes = (bytes: Buffer): Buffer => bytes;
/** How long past the batch's time limit its stream is kept (see export). */
const DEADLINE_SLACK_MS = 1000;

/** Who is sending: the Identifier's node. */
export interface AlsNode {
  /** service.instance.id. */
  readonly id: string;
  /** service.name of the gateway. */
  readonly cluster: string;
  readonly userAgentVersion: string;
}

export class AccessLogServiceExporter implements ItemExporter<ReadableLogRecord> {
  readonly #client: Client;
  readonly #identifier: object;
  readonly #metadata: AccessLogServiceModel["metadata"];
  readonly #timeoutMs: number;
  readonly #calls = new Set<ClientDuplexStream<Buffer, Buffer>>();

  /** `timeoutMs`: the batch's time limit, the queue's too. */
  constructor(service: AccessLogServiceModel, node: AlsNode, timeoutMs: number) {
    const backoff = service.reconnectBackoffMs ?? DEFAULT_BACKOFF_MS;
    this.#client = new Client(service.address, credentials.createInsecure(), {
      ...(service.authority === undefined ? {} : { "grpc.default_authority": service.authority }),
      "grpc.initial_reconnect_backoff_ms": backoff.base,
      "grpc.max_reconnect_backoff_ms": backoff.max,
      // A batch that failed is dropped and counted, never sent twice.
      "grpc.enable_retries": 0,
      // The Backend names the service; a DNS TXT record must not configure the channel.
      "grpc.service_config_disable_resolution": 1,
    });
    this.#identifier = { node: { id: node.id, cluster: node.cluster, userAgentName: "tollgate", userAgentVersion: node.userAgentVersion }, logName: service.logName };
    this.#metadata = service.metadata;
    this.#timeoutMs = timeoutMs;
  }

  export(items: ReadableLogRecord[], done: (result: ExportResultLike) => void): void {
    let messages: Buffer[];
    try {
      const entries = items.map((item) => {
        const record = item as AccessLogRecord;
        return encodeAccessLogEntry(record.log.alsEntry!(record.facts));
      });
      messages = encodeStreamAccessLogsMessages(this.#identifier, entries);
    } catch (err) {
      done({ code: 1, error: err as Error });
      return;
    }
    const metadata = new Metadata();
    for (const [key, value] of this.#metadata) metadata.add(key, value);
    let call: ClientDuplexStream<Buffer, Buffer>;
    try {
      // The queue's timer (the same limit) counts an unanswered batch as export_timeout; the
      // deadline, a little later, then frees the stream.
      call = this.#client.makeBidiStreamRequest(STREAM_ACCESS_LOGS_PATH, passBytes, passBytes, metadata, { deadline: Date.now() + this.#timeoutMs + DEADLINE_SLACK_MS });
    } catch (err) {
      // The client is closed: the pipeline was retired while this batch waited.
      done({ code: 1, error: err as Error });
      return;
    }
    this.#calls.add(call);
    // The status settles the batch; the error event repeats a failed one.
    call.on("error", () => {});
    call.on("data", () => {});
    call.on("status", (s: StatusObject) => {
      this.#calls.delete(call);
      if (s.code === GrpcStatus.OK) done({ code: 0 });
      else done({ code: 1, error: new Error(`StreamAccessLogs failed: ${GrpcStatus[s.code] ?? s.code}${s.details === "" ? "" : `: ${s.details}`}`) });
    });
    for (const message of messages) call.write(message);
    call.end();
  }

  async shutdown(): Promise<void> {
    // The queue waited for its exports (or gave up on them); what is still open is cancelled.
    for (const call of this.#calls) call.cancel();
    this.#client.close();
  }
}
