// The metrics signal: one instrument set per resource (Gateway identity), recorded by the
// request hooks, read by the OTLP periodic reader (any temporality, explicit or
// exponential histograms, exemplars) and by the Prometheus endpoint (cumulative).
import type { Resource } from "@opentelemetry/resources";
import type { MetricsEndpoint } from "../../admin/metrics-endpoint.ts";
import type { GatewayModel } from "../../config/model.ts";
import type { RuntimePlan } from "../../plan/types.ts";
import type { Exchange, UpstreamAttempt } from "../../proxy/exchange.ts";
import type { Env } from "../env.ts";
import type { TelemetryDrops } from "../export/drops.ts";
import { displayEndpoint, resolveOtlpExporterConfig } from "../export/otlp-config.ts";
import { RateLimitedWarning, type WarnSink } from "../export/warnings.ts";
import type { GatewayStats } from "../hooks.ts";
import { prometheusEndpoint } from "../prometheus/endpoint.ts";
import type { MethodNormalizer } from "../trace/attributes.ts";
import { stdoutWriter } from "../logs/stdout-writer.ts";
import { OtlpCollector } from "./collect.ts";
import { gatewayInstruments, type FilterErrorSource } from "./gateway-instruments.ts";
import { createConsoleMetricExporter, createOtlpMetricExporter, PeriodicReader } from "./otlp-export.ts";
import { compilePlanMetrics, RequestMetrics } from "./request-metrics.ts";
import { metricSettingsFromEnv, type MetricSettings } from "./settings.ts";
import { InstrumentSet, type ObservableInstrument } from "./store.ts";
import { raceTimeout } from "../export/race-timeout.ts";

export interface MetricsSignalOptions {
  readonly env: Env;
  readonly drops: TelemetryDrops;
  readonly warn: WarnSink;
  readonly stats: GatewayStats | undefined;
  readonly methods: MethodNormalizer;
  readonly resourceFor: (gateway: GatewayModel | undefined) => Resource;
  /** Failed access-log filter evaluations, observed at collection time. */
  readonly logFilterErrors?: FilterErrorSource;
}

/**
 * A set no new request records into, still owed a last export by the readers named: the
 * first collection after its requests in flight have all ended.
 */
interface RetiredSet {
  readonly set: InstrumentSet;
  readonly owedTo: Set<string>;
}

export class MetricsSignal {
  readonly settings: MetricSettings;
  readonly endpoint: MetricsEndpoint | undefined;
  readonly #sets = new Map<Resource, InstrumentSet>();
  readonly #retired: RetiredSet[] = [];
  /** While a plan compiles: the sets it records into. */
  #used: Set<InstrumentSet> | undefined = undefined;
  readonly #observables: ObservableInstrument[];
  readonly #requests: RequestMetrics;
  readonly #readers: PeriodicReader[] = [];
  readonly #o: MetricsSignalOptions;
  #primary: InstrumentSet;
  #planned = false;

  constructor(o: MetricsSignalOptions) {
    this.#o = o;
    const settings = metricSettingsFromEnv(o.env);
    this.settings = settings;
    for (const p of settings.problems) o.warn(p, { signal: "metrics" });
    const shape = settings.otlp ? { temporality: settings.temporality, histogramAggregation: settings.histogramAggregation } : undefined;
    const setOf = (resource: Resource): InstrumentSet => {
      let set = this.#sets.get(resource);
      if (set === undefined) {
        set = this.#revive(resource) ?? new InstrumentSet(resource, settings.cardinalityLimit, shape);
        this.#sets.set(resource, set);
      }
      this.#used?.add(set);
      return set;
    };
    this.#primary = setOf(o.resourceFor(undefined));
    this.#observables = gatewayInstruments(o.stats, o.drops, o.logFilterErrors);
    this.#requests = new RequestMetrics(o.methods, settings.exemplarFilter, settings.cardinalityLimit, (plan) =>
      compilePlanMetrics(plan, {
        env: o.env,
        setFor: (g) => setOf(o.resourceFor(g)),
        warn: (m) => o.warn(m, { signal: "metrics" }),
        cardinalityLimit: settings.cardinalityLimit,
      }),
    );
    this.#setOf = setOf;

    const collector = new OtlpCollector(settings.temporality);
    // Nothing is pushed before the first plan: the resource is the Gateway's only from then on,
    // and an early export would show a phantom `tollgate` service to the backend.
    const collect = () => this.#toExport("otlp").map((set) => collector.collect(set, set === this.#primary ? this.#observables : []));
    if (settings.otlp) {
      const config = resolveOtlpExporterConfig(o.env, "metrics", undefined);
      for (const p of config.problems) o.warn(p, { signal: "metrics" });
      const endpoint = displayEndpoint(config);
      this.#readers.push(
        new PeriodicReader(createOtlpMetricExporter(config), {
          intervalMs: settings.intervalMs,
          timeoutMs: settings.timeoutMs,
          drops: o.drops,
          warning: new RateLimitedWarning(endpoint, o.warn),
          collect,
        }),
      );
    }
    if (settings.console) {
      const cumulative = new OtlpCollector("cumulative");
      this.#readers.push(
        new PeriodicReader(createConsoleMetricExporter(stdoutWriter(o.env)), {
          intervalMs: settings.intervalMs,
          timeoutMs: settings.timeoutMs,
          drops: o.drops,
          warning: new RateLimitedWarning("console", o.warn),
          collect: () => this.#toExport("console").map((set) => cumulative.collect(set, set === this.#primary ? this.#observables : [])),
        }),
      );
    }
    this.endpoint = settings.prometheus
      ? prometheusEndpoint({
          sets: () => [...this.#sets.values()].filter((s) => s === this.#primary || s.instruments.size > 0),
          observables: () => this.#observables,
        })
      : undefined;
  }

  readonly #setOf: (resource: Resource) => InstrumentSet;

  onPlan(plan: RuntimePlan): void {
    this.#planned = true;
    const used = new Set<InstrumentSet>();
    this.#used = used;
    try {
      // Gateway-level instruments belong to the first Gateway's identity (the usual one-Gateway deployment).
      this.#primary = this.#setOf(this.#o.resourceFor(plan.config.gateways[0]));
      this.#requests.onPlan(plan);
    } finally {
      this.#used = undefined;
    }
    this.#retireUnused(used);
  }

  /**
   * A reload that changes a Gateway's identity (its service name or resource attributes)
   * moves its series to a new set. The old one leaves /metrics at once: its series carry the
   * same labels (resource attributes show only on target_info), so a scrape would hold two
   * samples per series, one of them frozen. Each push reader goes on exporting it until a
   * collection finds none of its requests in flight, so neither what it counted since the
   * previous export nor what the requests that straddle the reload record is lost.
   */
  #retireUnused(used: ReadonlySet<InstrumentSet>): void {
    const readers = this.#readerNames();
    for (const [resource, set] of this.#sets) {
      if (used.has(set)) continue;
      this.#sets.delete(resource);
      if (readers.length > 0 && set.instruments.size > 0) this.#retired.push({ set, owedTo: new Set(readers) });
    }
  }

  /**
   * An identity back before its retired set's last export (A → B → A within one interval)
   * takes that set back: its series go on counting, where a fresh set would export a second,
   * restarted copy of each series beside the retired one's final point.
   */
  #revive(resource: Resource): InstrumentSet | undefined {
    const i = this.#retired.findIndex((r) => r.set.resource === resource);
    if (i < 0) return undefined;
    return this.#retired.splice(i, 1)[0]!.set;
  }

  #readerNames(): string[] {
    return [...(this.settings.otlp ? ["otlp"] : []), ...(this.settings.console ? ["console"] : [])];
  }

  /** The live sets, and the retired ones this reader still owes an export. */
  #toExport(reader: string): InstrumentSet[] {
    if (!this.#planned) return [];
    const sets = [...this.#sets.values()];
    for (let i = 0; i < this.#retired.length; ) {
      const retired = this.#retired[i]!;
      if (retired.owedTo.has(reader)) {
        sets.push(retired.set);
        if (retired.set.inFlight <= 0) retired.owedTo.delete(reader);
      }
      if (retired.owedTo.size === 0) this.#retired.splice(i, 1);
      else i++;
    }
    return sets;
  }

  onRequestStart(ex: Exchange): void {
    this.#requests.onRequestStart(ex);
  }

  onAttemptEnd(ex: Exchange, attempt: UpstreamAttempt): void {
    this.#requests.onAttemptEnd(ex, attempt);
  }

  onMirrorStart(ex: Exchange): void {
    this.#requests.onMirrorStart(ex);
  }

  onRequestEnd(ex: Exchange): void {
    this.#requests.onRequestEnd(ex);
  }

  /** Data points the collectors acknowledged. */
  exportedPoints(): number {
    return this.#readers.reduce((n, r) => n + r.exported, 0);
  }

  async flush(timeoutMs: number): Promise<void> {
    await Promise.all(this.#readers.map((r) => raceTimeout(r.collectAndExport(), timeoutMs)));
  }

  async shutdown(timeoutMs: number): Promise<void> {
    await Promise.all(this.#readers.map((r) => r.shutdown(timeoutMs)));
  }
}
