// The request thread's handle on the export thread (export-worker.ts), and the span and log
// exporters that BatchQueue uses in its place. The queue, drop accounting, warnings and
// flush/shutdown stay here, and so does the protobuf encoding: items are encoded into their
// batch as they are queued, as in process. Only the finished request crosses, moved rather
// than copied; the thread runs the SDK's transport (gRPC or HTTP framing, compression, TLS,
// retries, socket writes) on another core.
//
// Memory stays bounded when the collector hangs: BatchQueue lets at most
// MAX_EXPORTS_AWAITING batches per exporter wait for an answer, and the thread's heap is
// capped with resourceLimits; if the thread dies, pending batches fail (counted) and the
// next export starts a fresh one.
import { Worker } from "node:worker_threads";
import type { ReadableLogRecord } from "@opentelemetry/sdk-logs";
import type { ReadableSpan } from "@opentelemetry/sdk-trace";
import type { BatchFormat, ExportResultLike, ItemExporter } from "./batch-queue.ts";
import type { FromExportThread, ThreadSignal, ToExportThread } from "./export-thread-protocol.ts";
import type { OtlpExporterConfig } from "./otlp-config.ts";
import type { EncodedBatch } from "./otlp-proto/request.ts";
import { ENCODED_LOG_BATCHES, encodeLogsExportRequest, type LogsExportBatch } from "./otlp-proto/logs.ts";
import { ENCODED_SPAN_BATCHES, encodeTraceExportRequest, type TraceExportBatch } from "./otlp-proto/trace.ts";
import { createOtlpSpanExporter } from "./span-exporter.ts";
import { createOtlpLogExporter } from "../logs/exporters.ts";
import { envBool, type Env } from "../env.ts";

/**
 * TOLLGATE_TELEMETRY_EXPORT_THREAD (default false). The thread takes the OTLP transport off
 * the request thread; it pays where a core is spare, and costs a second V8 isolate's memory
 * (docs/tracing.md).
 */
export function exportThreadFromEnv(env: Env): boolean {
  return envBool(env, "TOLLGATE_TELEMETRY_EXPORT_THREAD", false);
}

/** At most 15 characters: Linux truncates thread names there. */
export const EXPORT_THREAD_NAME = "tollgate-export";

const WORKER_URL = new URL(import.meta.url.endsWith(".ts") ? "./export-worker.ts" : "./export-worker.js", import.meta.url);

type Callback = (result: ExportResultLike) => void;

class ExportThread {
  #worker: Worker | undefined = undefined;
  readonly #open = new Map<number, { signal: ThreadSignal; config: OtlpExporterConfig }>();
  readonly #pending = new Map<number, Callback>();
  readonly #closing = new Map<number, () => void>();
  #nextExporter = 1;
  #nextSeq = 1;

  open(signal: ThreadSignal, config: OtlpExporterConfig): number {
    const id = this.#nextExporter++;
    this.#open.set(id, { signal, config });
    if (this.#worker !== undefined) this.#post({ type: "open", exporter: id, signal, config });
    return id;
  }

  /** `request` must own its whole ArrayBuffer: it is moved to the thread and unusable here afterwards. */
  export(exporter: number, count: number, request: Uint8Array<ArrayBuffer>, done: Callback): void {
    const seq = this.#nextSeq++;
    this.#pending.set(seq, done);
    const msg: ToExportThread = { type: "export", exporter, seq, count, request };
    this.#ensure().postMessage(msg, [request.buffer]);
    // While an answer is due the thread keeps the process alive, so a drain's flush delivers.
    if (this.#pending.size === 1) this.#worker?.ref();
  }

  close(exporter: number): Promise<void> {
    if (!this.#open.delete(exporter)) return Promise.resolve();
    const worker = this.#worker;
    if (worker === undefined) return Promise.resolve();
    return new Promise<void>((resolve) => {
      this.#closing.set(exporter, resolve);
      this.#post({ type: "close", exporter });
    }).then(() => this.#stopWhenIdle());
  }

  #ensure(): Worker {
    if (this.#worker !== undefined) return this.#worker;
    const worker = new Worker(WORKER_URL, {
      // The export thread holds at most a few requests per exporter, as bytes outside its
      // heap; its own objects are the transport's. Cap it so a stuck collector can never make
      // it grow, and keep its young generation small: it allocates little.
      resourceLimits: { maxOldGenerationSizeMb: 64, maxYoungGenerationSizeMb: 8 },
      // The OS thread's name, so `top -H` and /proc/PID/task show what it is.
      name: EXPORT_THREAD_NAME,
      stdout: false,
      stderr: false,
    });
    worker.unref();
    worker.on("message", (m: FromExportThread) => this.#onMessage(m));
    worker.on("error", (err: Error) => this.#onExit(worker, err.message));
    worker.on("exit", (code) => this.#onExit(worker, `export thread exited with code ${code}`));
    this.#worker = worker;
    for (const [id, o] of this.#open) worker.postMessage({ type: "open", exporter: id, signal: o.signal, config: o.config } satisfies ToExportThread);
    return worker;
  }

  #post(msg: ToExportThread): void {
    this.#ensure().postMessage(msg);
  }

  #onMessage(m: FromExportThread): void {
    if (m.type === "result") {
      const cb = this.#pending.get(m.seq);
      if (cb === undefined) return;
      this.#pending.delete(m.seq);
      if (this.#pending.size === 0) this.#worker?.unref();
      cb(!m.ok ? { code: 1, error: new Error(m.error ?? "export failed") } : m.rejected === undefined ? { code: 0 } : { code: 0, rejected: m.rejected });
    } else {
      const resolve = this.#closing.get(m.exporter);
      this.#closing.delete(m.exporter);
      resolve?.();
    }
  }

  #onExit(worker: Worker, cause: string): void {
    if (this.#worker !== worker) return;
    this.#worker = undefined;
    const pending = [...this.#pending.values()];
    this.#pending.clear();
    for (const cb of pending) cb({ code: 1, error: new Error(cause) });
    const closing = [...this.#closing.values()];
    this.#closing.clear();
    for (const resolve of closing) resolve();
  }

  /** With no exporter left open, end the thread so nothing outlives the telemetry runtime. */
  #stopWhenIdle(): void {
    const worker = this.#worker;
    // Another exporter's close may still be on its way back: terminating now would leave it
    // unresolved until the shutdown timeout.
    if (worker === undefined || this.#open.size > 0 || this.#pending.size > 0 || this.#closing.size > 0) return;
    this.#worker = undefined;
    void worker.terminate();
  }
}

let shared: ExportThread | undefined;

/** The bytes in an ArrayBuffer of their own, which postMessage can move; copied only when they share one. */
function movable(bytes: Uint8Array): Uint8Array<ArrayBuffer> {
  if (bytes.byteOffset === 0 && bytes.byteLength === bytes.buffer.byteLength && bytes.buffer instanceof ArrayBuffer) return bytes as Uint8Array<ArrayBuffer>;
  const own = new Uint8Array(bytes.byteLength);
  own.set(bytes);
  return own;
}

class ThreadedExporter<T> implements ItemExporter<T, EncodedBatch> {
  readonly format: BatchFormat<T, EncodedBatch>;
  readonly #thread: ExportThread;
  readonly #id: number;
  readonly #encode: (batch: EncodedBatch) => Uint8Array;
  #closed = false;

  constructor(signal: ThreadSignal, config: OtlpExporterConfig, format: BatchFormat<T, EncodedBatch>, encode: (batch: EncodedBatch) => Uint8Array) {
    shared ??= new ExportThread();
    this.#thread = shared;
    this.format = format;
    this.#encode = encode;
    this.#id = this.#thread.open(signal, config);
  }

  export(batch: EncodedBatch, done: Callback): void {
    if (this.#closed) return done({ code: 1, error: new Error("exporter is shut down") });
    const count = batch.count;
    let request: Uint8Array<ArrayBuffer>;
    try {
      request = movable(this.#encode(batch));
    } catch (err) {
      return done({ code: 1, error: err as Error });
    }
    this.#thread.export(this.#id, count, request, done);
  }

  shutdown(): Promise<void> {
    this.#closed = true;
    return this.#thread.close(this.#id);
  }
}

/** http/json keeps the SDK's JSON serializer on the request thread: only protobuf requests cross. */
export function threadedSpanExporter(config: OtlpExporterConfig): ItemExporter<ReadableSpan, TraceExportBatch> {
  if (config.protocol === "http/json") return createOtlpSpanExporter(config);
  return new ThreadedExporter<ReadableSpan>("traces", config, ENCODED_SPAN_BATCHES, encodeTraceExportRequest);
}

export function threadedLogExporter(config: OtlpExporterConfig): ItemExporter<ReadableLogRecord, LogsExportBatch> {
  if (config.protocol === "http/json") return createOtlpLogExporter(config);
  return new ThreadedExporter<ReadableLogRecord>("logs", config, ENCODED_LOG_BATCHES, encodeLogsExportRequest);
}
