// A bounded batching queue in front of an SDK exporter, shared by every signal.
// push() is the only call on the request path, after the response: a length check and an
// append (for the OTLP protobuf exporters, encoding the item into its batch). Export work
// runs later from a timer or setImmediate. Up to
// MAX_CONCURRENT_EXPORTS full batches are in flight at once, as the Collector's exporter
// queue has several consumers, so a batch does not wait for the previous one's round trip.
// When the queue is full, or the exporter fails or hangs, items are dropped and counted;
// nothing ever blocks or grows without bound.
import { TelemetryDrops, type TelemetrySignal } from "./drops.ts";
import type { RateLimitedWarning } from "./warnings.ts";
import { acceptedAfter, type Rejection } from "./partial-success.ts";
import { raceTimeout } from "./race-timeout.ts";

export interface ExportResultLike {
  readonly code: number;
  readonly error?: Error | undefined;
  /** On success: items the collector rejected in a partial success, and its reason. */
  readonly rejected?: Rejection | undefined;
}

/**
 * How an exporter wants its batches built. The default is an array of the items; the OTLP
 * protobuf exporters encode each item into their batch as it is queued, so a queued span
 * is bytes in a buffer, not objects the garbage collector must copy and promote.
 */
export interface BatchFormat<T, B> {
  create(): B;
  add(batch: B, item: T): void;
}

/** What the OTel SDK exporters (span, log record) look like from here. */
export interface ItemExporter<T, B = T[]> {
  readonly format?: BatchFormat<T, B>;
  export(batch: B, resultCallback: (result: ExportResultLike) => void): void;
  shutdown(): Promise<void>;
  forceFlush?(): Promise<void>;
}

const ARRAY_FORMAT: BatchFormat<unknown, unknown[]> = {
  create: () => [],
  add: (batch, item) => void batch.push(item),
};

interface Pending<B> {
  readonly data: B;
  count: number;
}

export interface BatchQueueOptions {
  readonly signal: TelemetrySignal;
  readonly maxQueueSize: number;
  readonly maxExportBatchSize: number;
  readonly scheduledDelayMs: number;
  readonly exportTimeoutMs: number;
  readonly drops: TelemetryDrops;
  readonly warning: RateLimitedWarning | undefined;
}

const SUCCESS = 0;

/**
 * Exports the exporter may still be working on. A queue whose export timed out moves on,
 * but the SDK exporter keeps the request (and its serialised batch) until its own timeout;
 * beyond this many, a batch fails at once (export_failed) instead of piling up in memory.
 */
export const MAX_CONCURRENT_EXPORTS = 4;
export const MAX_EXPORTS_AWAITING = MAX_CONCURRENT_EXPORTS + 2;

export class BatchQueue<T, B = unknown> {
  readonly #exporter: ItemExporter<T, B>;
  readonly #format: BatchFormat<T, B>;
  readonly #o: BatchQueueOptions;
  /** Batches being filled, oldest first; every one but the last is full. */
  #pending: Pending<B>[] = [];
  #length = 0;
  #timer: NodeJS.Timeout | undefined = undefined;
  #immediate: NodeJS.Immediate | undefined = undefined;
  readonly #running = new Set<Promise<void>>();
  /** Settles an unanswered export as dropped at shutdown, so every item is accounted for. */
  readonly #abandon = new Set<() => void>();
  #closed = false;
  /** Exports handed to the exporter whose callback has not fired yet, timed out or not. */
  #awaiting = 0;
  /** Items handed to the exporter and acknowledged; for tests and the admin. */
  exported = 0;

  constructor(exporter: ItemExporter<T, B>, options: BatchQueueOptions) {
    this.#exporter = exporter;
    // Without a format the exporter takes arrays of items (B = T[]).
    this.#format = exporter.format ?? (ARRAY_FORMAT as unknown as BatchFormat<T, B>);
    this.#o = {
      ...options,
      maxExportBatchSize: Math.max(1, Math.min(options.maxExportBatchSize, options.maxQueueSize)),
    };
  }

  get length(): number {
    return this.#length;
  }

  /** Batches being exported now. */
  get inFlight(): number {
    return this.#running.size;
  }

  #fullBatchWaiting(): boolean {
    const first = this.#pending[0];
    return first !== undefined && first.count >= this.#o.maxExportBatchSize;
  }

  push(item: T): void {
    if (this.#closed || this.#length >= this.#o.maxQueueSize) {
      this.#o.drops.add(this.#o.signal, this.#closed ? "shutdown" : "queue_full", 1);
      return;
    }
    let last = this.#pending[this.#pending.length - 1];
    if (last === undefined || last.count >= this.#o.maxExportBatchSize) {
      last = { data: this.#format.create(), count: 0 };
      this.#pending.push(last);
    }
    this.#format.add(last.data, item);
    last.count++;
    this.#length++;
    if (last.count >= this.#o.maxExportBatchSize) {
      if (this.#running.size < MAX_CONCURRENT_EXPORTS && this.#immediate === undefined) this.#immediate = setImmediate(this.#onTick);
    } else if (this.#timer === undefined) {
      this.#timer = setTimeout(this.#onTick, this.#o.scheduledDelayMs);
      this.#timer.unref();
    }
  }

  /** Full batches go out while there is room; a partial one only when the schedule fired and nothing is in flight. */
  readonly #onTick = (): void => {
    this.#immediate = undefined;
    const scheduled = this.#timer !== undefined && !this.#fullBatchWaiting();
    if (this.#timer !== undefined) {
      clearTimeout(this.#timer);
      this.#timer = undefined;
    }
    while (this.#running.size < MAX_CONCURRENT_EXPORTS && this.#fullBatchWaiting()) this.#exportNext();
    if (scheduled && this.#running.size === 0 && this.#length > 0) this.#exportNext();
    this.#rearm();
  };

  /** Items left behind get the scheduled delay, unless exports in flight will pick them up. */
  #rearm(): void {
    if (this.#closed || this.#length === 0 || this.#timer !== undefined) return;
    this.#timer = setTimeout(this.#onTick, this.#o.scheduledDelayMs);
    this.#timer.unref();
  }

  /** Export the oldest batch; when it settles, send the next full batch, or leave the rest to the timer. */
  #exportNext(): Promise<void> {
    const next = this.#pending.shift();
    if (next === undefined) return Promise.resolve();
    this.#length -= next.count;
    const done: Promise<void> = this.#exportBatch(next.data, next.count).finally(() => {
      this.#running.delete(done);
      if (this.#closed) return;
      if (this.#fullBatchWaiting()) this.#immediate ??= setImmediate(this.#onTick);
      else this.#rearm();
    });
    this.#running.add(done);
    return done;
  }

  #exportBatch(batch: B, count: number): Promise<void> {
    return new Promise<void>((resolve) => {
      let settled = false;
      const finish = (ok: boolean, reason: "export_failed" | "export_timeout" | "shutdown", cause: string, rejected?: Rejection): void => {
        if (settled) return;
        settled = true;
        clearTimeout(timeout);
        this.#abandon.delete(abandon);
        if (ok) this.exported += acceptedAfter(rejected, count, this.#o.signal, this.#o.drops, this.#o.warning);
        else {
          this.#o.drops.add(this.#o.signal, reason, count);
          if (reason !== "shutdown") this.#o.warning?.failure(this.#o.signal, count, cause);
        }
        resolve();
      };
      const abandon = (): void => finish(false, "shutdown", "shut down before the collector answered");
      this.#abandon.add(abandon);
      const timeout = setTimeout(
        () => finish(false, "export_timeout", `no answer within ${this.#o.exportTimeoutMs} ms`),
        this.#o.exportTimeoutMs,
      );
      timeout.unref();
      if (this.#awaiting >= MAX_EXPORTS_AWAITING) {
        finish(false, "export_failed", `${this.#awaiting} earlier exports are still waiting for the collector`);
        return;
      }
      this.#awaiting++;
      let answered = false;
      const answer = (): void => {
        if (answered) return;
        answered = true;
        this.#awaiting--;
      };
      try {
        this.#exporter.export(batch, (result) => {
          answer();
          finish(result.code === SUCCESS, "export_failed", result.error?.message ?? "export failed", result.rejected);
        });
      } catch (err) {
        answer();
        finish(false, "export_failed", (err as Error).message);
      }
    });
  }

  /** Export everything queued now, bounded by timeoutMs; never throws. */
  async flush(timeoutMs: number): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    const work = (async () => {
      while (Date.now() < deadline) {
        if (this.#length > 0 && this.#running.size < MAX_CONCURRENT_EXPORTS) void this.#exportNext();
        else if (this.#running.size > 0) await Promise.race(this.#running);
        else break;
      }
    })();
    await raceTimeout(work, timeoutMs);
  }

  /** Flush, then close the exporter; anything queued or unanswered by then is counted as dropped for shutdown. */
  async shutdown(timeoutMs: number): Promise<void> {
    const started = Date.now();
    await this.flush(timeoutMs);
    this.#closed = true;
    if (this.#timer !== undefined) clearTimeout(this.#timer);
    if (this.#immediate !== undefined) clearImmediate(this.#immediate);
    this.#timer = undefined;
    this.#immediate = undefined;
    this.#o.drops.add(this.#o.signal, "shutdown", this.#length);
    this.#pending = [];
    this.#length = 0;
    const left = Math.max(1, timeoutMs - (Date.now() - started));
    await raceTimeout(
      this.#exporter.shutdown().catch(() => undefined),
      left,
    );
    for (const abandon of [...this.#abandon]) abandon();
  }
}
