// The request thread's handle on the export thread (export-worker.ts), and the exporters
// that BatchQueue uses in place of the SDK's. The queue, drop accounting, warnings and
// flush/shutdown stay here; a batch leaves this thread as one flat array (wire.ts) and the
// SDK's own exporter serialises, compresses and sends it there.
//
// Memory stays bounded when the collector hangs: BatchQueue lets at most
// MAX_EXPORTS_AWAITING batches per exporter wait for an answer, and the thread's heap is
// capped with resourceLimits; if the thread dies, pending batches fail (counted) and the
// next export starts a fresh one.
import { Worker } from "node:worker_threads";
import type { ReadableLogRecord } from "@opentelemetry/sdk-logs";
import type { ReadableSpan } from "@opentelemetry/sdk-trace";
import type { ExportResultLike, ItemExporter } from "./batch-queue.ts";
import type { FromExportThread, ToExportThread } from "./export-thread-protocol.ts";
import type { OtlpExporterConfig } from "./otlp-config.ts";
import { encodeLogRecord, encodeSpan, WireDefinitions, type WireDef, type WireSignal } from "./wire.ts";
import { envBool, type Env } from "../env.ts";

/**
 * TOLLGATE_TELEMETRY_EXPORT_THREAD (default false). The thread takes serialisation off the
 * request thread but costs more CPU in total (docs/tracing.md), so it pays only where
 * cores are spare.
 */
export function exportThreadFromEnv(env: Env): boolean {
  return envBool(env, "TOLLGATE_TELEMETRY_EXPORT_THREAD", false);
}

const WORKER_URL = new URL(import.meta.url.endsWith(".ts") ? "./export-worker.ts" : "./export-worker.js", import.meta.url);

type Callback = (result: ExportResultLike) => void;

class ExportThread {
  #worker: Worker | undefined = undefined;
  readonly #table = new WireDefinitions();
  readonly #open = new Map<number, { signal: WireSignal; config: OtlpExporterConfig }>();
  readonly #pending = new Map<number, Callback>();
  readonly #closing = new Map<number, () => void>();
  #nextExporter = 1;
  #nextSeq = 1;

  open(signal: WireSignal, config: OtlpExporterConfig): number {
    const id = this.#nextExporter++;
    this.#open.set(id, { signal, config });
    if (this.#worker !== undefined) this.#post({ type: "open", exporter: id, signal, config });
    return id;
  }

  get table(): WireDefinitions {
    this.#ensure();
    return this.#table;
  }

  export(exporter: number, signal: WireSignal, count: number, data: unknown[], defs: WireDef[], done: Callback): void {
    const seq = this.#nextSeq++;
    this.#pending.set(seq, done);
    this.#post({ type: "export", exporter, seq, batch: { signal, count, data, defs } });
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
    this.#table.reset();
    const worker = new Worker(WORKER_URL, {
      // The export thread holds at most a few batches per exporter; cap it so a stuck
      // collector can never make it grow.
      resourceLimits: { maxOldGenerationSizeMb: 96, maxYoungGenerationSizeMb: 48 },
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
      cb(m.ok ? { code: 0 } : { code: 1, error: new Error(m.error ?? "export failed") });
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

class ThreadedExporter<T> implements ItemExporter<T> {
  readonly #thread: ExportThread;
  readonly #id: number;
  readonly #signal: WireSignal;
  readonly #encode: (out: unknown[], item: T, defs: WireDef[], table: WireDefinitions) => void;
  #closed = false;

  constructor(signal: WireSignal, config: OtlpExporterConfig, encode: (out: unknown[], item: T, defs: WireDef[], table: WireDefinitions) => void) {
    shared ??= new ExportThread();
    this.#thread = shared;
    this.#signal = signal;
    this.#encode = encode;
    this.#id = this.#thread.open(signal, config);
  }

  export(items: T[], done: Callback): void {
    if (this.#closed) return done({ code: 1, error: new Error("exporter is shut down") });
    const data: unknown[] = [];
    const defs: WireDef[] = [];
    try {
      const table = this.#thread.table;
      for (let i = 0; i < items.length; i++) this.#encode(data, items[i]!, defs, table);
    } catch (err) {
      return done({ code: 1, error: err as Error });
    }
    this.#thread.export(this.#id, this.#signal, items.length, data, defs, done);
  }

  shutdown(): Promise<void> {
    this.#closed = true;
    return this.#thread.close(this.#id);
  }
}

export function threadedSpanExporter(config: OtlpExporterConfig): ItemExporter<ReadableSpan> {
  return new ThreadedExporter<ReadableSpan>("traces", config, encodeSpan);
}

export function threadedLogExporter(config: OtlpExporterConfig): ItemExporter<ReadableLogRecord> {
  return new ThreadedExporter<ReadableLogRecord>("logs", config, encodeLogRecord);
}
