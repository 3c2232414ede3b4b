// Owns the exporters and their queues for one signal, keyed by resolved settings, so a
// reload that keeps the same collector keeps the same exporter (and its connection), and a
// reload that changes it flushes and closes the old one in the background. Issue 4 builds
// its log pipelines from the same pieces (resolveOtlpExporterConfig, BatchQueue, drops).
import type { ExporterTargetModel } from "../../config/model.ts";
import type { Env } from "../env.ts";
import { envNumber, envTimeoutMs, NO_TIMEOUT_MS } from "../env.ts";
import { raceTimeout } from "./race-timeout.ts";
import { BatchQueue, type ItemExporter } from "./batch-queue.ts";
import type { TelemetryDrops, TelemetrySignal } from "./drops.ts";
import { displayEndpoint, resolveOtlpExporterConfig, type OtlpExporterConfig, type OtlpSignal } from "./otlp-config.ts";
import { RateLimitedWarning, type WarnSink } from "./warnings.ts";

export interface BatchSettings {
  readonly maxQueueSize: number;
  readonly maxExportBatchSize: number;
  readonly scheduledDelayMs: number;
  readonly exportTimeoutMs: number;
}

/** OTEL_BSP_* (traces) or OTEL_BLRP_* (logs), with the spec defaults. */
export function batchSettingsFromEnv(env: Env, prefix: "OTEL_BSP" | "OTEL_BLRP"): BatchSettings {
  const maxQueueSize = Math.max(1, envNumber(env, `${prefix}_MAX_QUEUE_SIZE`, 2048));
  return {
    maxQueueSize,
    maxExportBatchSize: Math.max(1, Math.min(maxQueueSize, envNumber(env, `${prefix}_MAX_EXPORT_BATCH_SIZE`, 512))),
    // Above the timer maximum Node would fire after 1 ms instead.
    scheduledDelayMs: Math.min(envNumber(env, `${prefix}_SCHEDULE_DELAY`, prefix === "OTEL_BSP" ? 5000 : 1000), NO_TIMEOUT_MS),
    exportTimeoutMs: envTimeoutMs(env, `${prefix}_EXPORT_TIMEOUT`, 30000),
  };
}

export interface PipelineOptions<T> {
  readonly env: Env;
  readonly signal: OtlpSignal & TelemetrySignal;
  readonly drops: TelemetryDrops;
  readonly warn: WarnSink;
  readonly batch: BatchSettings;
  readonly createOtlp: (config: OtlpExporterConfig) => ItemExporter<T, unknown>;
  readonly createConsole: () => ItemExporter<T, unknown>;
  /** Exporter kinds from OTEL_<SIGNAL>_EXPORTER when no policy names a collector. */
  readonly envExporters: readonly ("otlp" | "console")[];
}

export interface Pipeline<T> {
  readonly key: string;
  readonly endpoint: string;
  readonly queue: BatchQueue<T>;
}

export class SignalPipelines<T> {
  readonly #o: PipelineOptions<T>;
  readonly #live = new Map<string, Pipeline<T>>();
  readonly #retiring = new Set<Promise<void>>();
  /** Problems found while resolving settings, each reported once. */
  readonly #reported = new Set<string>();

  constructor(options: PipelineOptions<T>) {
    this.#o = options;
  }

  /**
   * Queues for a policy provider (which beats env) or, without one, for the env exporters.
   * Call during onPlan; `inUse` collects keys so retire() can close the rest.
   */
  resolve(policyTarget: ExporterTargetModel | undefined, inUse: Set<string>): Pipeline<T>[] {
    const kinds: readonly ("otlp" | "console")[] = policyTarget !== undefined ? ["otlp"] : this.#o.envExporters;
    const out: Pipeline<T>[] = [];
    for (const kind of kinds) {
      let key: string;
      let config: OtlpExporterConfig | undefined;
      if (kind === "console") key = "console";
      else {
        config = resolveOtlpExporterConfig(this.#o.env, this.#o.signal, policyTarget);
        key = config.key;
        for (const p of config.problems) {
          if (!this.#reported.has(p)) {
            this.#reported.add(p);
            this.#o.warn(p, { signal: this.#o.signal });
          }
        }
      }
      const c = config;
      out.push(this.resolveWith(key, c === undefined ? "console" : displayEndpoint(c), () => (c === undefined ? this.#o.createConsole() : this.#o.createOtlp(c)), inUse));
    }
    return out;
  }

  /**
   * The pipeline under `key`, made with `create` when there is none (an exporter of another
   * protocol); `inUse` as for resolve; `exportTimeoutMs` replaces the signal's when the
   * exporter has a time limit of its own (the key must then name it).
   */
  resolveWith(key: string, endpoint: string, create: () => ItemExporter<T, unknown>, inUse: Set<string>, exportTimeoutMs?: number): Pipeline<T> {
    inUse.add(key);
    let pipeline = this.#live.get(key);
    if (pipeline === undefined) {
      const queue = new BatchQueue<T, unknown>(create(), {
        signal: this.#o.signal,
        ...this.#o.batch,
        ...(exportTimeoutMs === undefined ? {} : { exportTimeoutMs }),
        drops: this.#o.drops,
        warning: new RateLimitedWarning(endpoint, this.#o.warn),
      });
      pipeline = { key, endpoint, queue };
      this.#live.set(key, pipeline);
    }
    return pipeline;
  }

  /** Close pipelines no plan uses any more; their queued items are flushed first. */
  retire(inUse: ReadonlySet<string>, timeoutMs: number): void {
    for (const [key, p] of this.#live) {
      if (inUse.has(key)) continue;
      this.#live.delete(key);
      const done = p.queue.shutdown(timeoutMs).finally(() => this.#retiring.delete(done));
      this.#retiring.add(done);
    }
  }

  pipelines(): Pipeline<T>[] {
    return [...this.#live.values()];
  }

  async flush(timeoutMs: number): Promise<void> {
    await Promise.all(this.pipelines().map((p) => p.queue.flush(timeoutMs)));
  }

  async shutdown(timeoutMs: number): Promise<void> {
    const all = this.pipelines();
    this.#live.clear();
    // Pipelines retired by a reload wait as long as their export timeout, which may be none.
    await Promise.all([...all.map((p) => p.queue.shutdown(timeoutMs)), raceTimeout(Promise.all(this.#retiring), timeoutMs)]);
  }
}
