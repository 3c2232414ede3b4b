// Metric settings from the OTel SDK environment: which exporters, how often, which
// temporality and histogram aggregation the OTLP exporter asks for, which exemplars are
// kept, and the per-metric cardinality limit. Read once at start.
import { envList, envNumber, envString, envTimeoutMs, NO_TIMEOUT_MS, type Env } from "../env.ts";

const DEFAULT_INTERVAL_MS = 60_000;

export type Temporality = "cumulative" | "delta" | "lowmemory";
export type HistogramAggregation = "explicit" | "exponential";
export type ExemplarFilter = "trace_based" | "always_on" | "always_off";

export interface MetricSettings {
  /** OTLP push enabled (OTEL_METRICS_EXPORTER contains otlp; the spec default). */
  readonly otlp: boolean;
  /** Prometheus pull at /metrics (always on unless OTEL_METRICS_EXPORTER excludes prometheus explicitly). */
  readonly prometheus: boolean;
  readonly console: boolean;
  readonly intervalMs: number;
  readonly timeoutMs: number;
  readonly temporality: Temporality;
  readonly histogramAggregation: HistogramAggregation;
  readonly exemplarFilter: ExemplarFilter;
  /** Series per metric before new attribute sets go to the `otel.metric.overflow=true` series. */
  readonly cardinalityLimit: number;
  readonly problems: readonly string[];
}

export function metricSettingsFromEnv(env: Env): MetricSettings {
  const problems: string[] = [];
  const list = envList(env, "OTEL_METRICS_EXPORTER");
  let otlp = true;
  let prometheus = true;
  let console = false;
  if (list !== undefined) {
    otlp = false;
    // /metrics is the ops port's contract (DESIGN.md): it serves unless `none` is the only choice.
    prometheus = !(list.length === 1 && list[0]!.toLowerCase() === "none");
    for (const raw of list) {
      const n = raw.toLowerCase();
      if (n === "otlp") otlp = true;
      else if (n === "prometheus") prometheus = true;
      else if (n === "console") console = true;
      else if (n !== "none") problems.push(`OTEL_METRICS_EXPORTER: unsupported exporter '${raw}' ignored (supported: otlp, prometheus, console, none)`);
    }
  }

  const rawTemporality = (envString(env, "OTEL_EXPORTER_OTLP_METRICS_TEMPORALITY_PREFERENCE") ?? "cumulative").toLowerCase();
  let temporality: Temporality = "cumulative";
  if (rawTemporality === "delta" || rawTemporality === "lowmemory" || rawTemporality === "cumulative") temporality = rawTemporality;
  else problems.push(`OTEL_EXPORTER_OTLP_METRICS_TEMPORALITY_PREFERENCE: '${rawTemporality}' is not cumulative, delta or lowmemory; using cumulative`);

  const rawAggregation = (envString(env, "OTEL_EXPORTER_OTLP_METRICS_DEFAULT_HISTOGRAM_AGGREGATION") ?? "explicit_bucket_histogram").toLowerCase();
  let histogramAggregation: HistogramAggregation = "explicit";
  if (rawAggregation === "base2_exponential_bucket_histogram") histogramAggregation = "exponential";
  else if (rawAggregation !== "explicit_bucket_histogram") {
    problems.push(`OTEL_EXPORTER_OTLP_METRICS_DEFAULT_HISTOGRAM_AGGREGATION: '${rawAggregation}' is not explicit_bucket_histogram or base2_exponential_bucket_histogram; using explicit`);
  }

  const rawFilter = (envString(env, "OTEL_METRICS_EXEMPLAR_FILTER") ?? "trace_based").toLowerCase();
  let exemplarFilter: ExemplarFilter = "trace_based";
  if (rawFilter === "always_on" || rawFilter === "always_off" || rawFilter === "trace_based") exemplarFilter = rawFilter;
  else problems.push(`OTEL_METRICS_EXEMPLAR_FILTER: '${rawFilter}' is not trace_based, always_on or always_off; using trace_based`);

  // An interval must be positive (the JS and Java SDKs refuse 0); a timer takes at most NO_TIMEOUT_MS.
  let intervalMs = DEFAULT_INTERVAL_MS;
  const rawInterval = envString(env, "OTEL_METRIC_EXPORT_INTERVAL");
  if (rawInterval !== undefined) {
    const n = Number(rawInterval);
    if (Number.isFinite(n) && n > 0) intervalMs = Math.min(Math.max(1, n), NO_TIMEOUT_MS);
    else problems.push(`OTEL_METRIC_EXPORT_INTERVAL: '${rawInterval}' is not a positive number of milliseconds; using ${DEFAULT_INTERVAL_MS}`);
  }

  return {
    otlp,
    prometheus,
    console,
    intervalMs,
    timeoutMs: envTimeoutMs(env, "OTEL_METRIC_EXPORT_TIMEOUT", 30_000),
    temporality,
    histogramAggregation,
    exemplarFilter,
    cardinalityLimit: Math.max(2, Math.floor(envNumber(env, "TOLLGATE_METRICS_CARDINALITY_LIMIT", 2000))),
    problems,
  };
}
