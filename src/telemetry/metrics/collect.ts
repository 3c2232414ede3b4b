// Turns the instrument sets into the SDK's ResourceMetrics, so the official OTLP metric
// exporters serialise them. Temporality follows the exporter preference exactly as the
// SDK's selectors do (cumulative / delta / lowmemory). Exemplars, which the SDK's data
// model lacks, travel beside each MetricData (exemplarsOf) for the exemplar-aware
// serialisers in otlp-exemplars.ts.
import type { Attributes, HrTime } from "@opentelemetry/api";
import { ValueType } from "@opentelemetry/api";
import { AggregationTemporality, DataPointType, type DataPoint, type MetricData, type ResourceMetrics } from "@opentelemetry/sdk-metrics";
import { TOLLGATE_SCOPE } from "../semconv.ts";
import { epochNowMs } from "../wall-clock.ts";
import { ExplicitHistogram, ExponentialHistogram, type Exemplar } from "./histograms.ts";
import type { Temporality } from "./settings.ts";
import { attributeKey, type InstrumentDescriptor, type InstrumentSet, type ObservableInstrument, type Series } from "./store.ts";

const exemplarTable = new WeakMap<MetricData, readonly (readonly Exemplar[])[]>();

/** Exemplars per data point of a MetricData this module produced (empty arrays when none). */
export function exemplarsOf(metric: MetricData): readonly (readonly Exemplar[])[] | undefined {
  return exemplarTable.get(metric);
}

export function msToHr(ms: number): HrTime {
  const s = Math.floor(ms / 1000);
  const ns = Math.round((ms - s * 1000) * 1e6);
  return ns >= 1e9 ? [s + 1, ns - 1e9] : [s, ns];
}

function deltaFor(kind: InstrumentDescriptor["kind"], observable: boolean, t: Temporality): boolean {
  if (t === "cumulative") return false;
  if (kind === "histogram") return true;
  if (kind === "counter") return t === "delta" || !observable;
  return false;
}

export class OtlpCollector {
  readonly #temporality: Temporality;
  /** Observable counters in delta: the value last reported per instrument+attributes. */
  readonly #lastObserved = new Map<string, { value: number; atMs: number }>();
  readonly #startMs = epochNowMs();

  constructor(temporality: Temporality) {
    this.#temporality = temporality;
  }

  collect(set: InstrumentSet, observables: readonly ObservableInstrument[]): ResourceMetrics {
    const now = epochNowMs();
    const endTime = msToHr(now);
    const metrics: MetricData[] = [];
    for (const instrument of set.instruments.values()) {
      const d = instrument.descriptor;
      const delta = deltaFor(d.kind, false, this.#temporality);
      const series = instrument.series();
      if (d.kind === "histogram") {
        const m = this.#histogram(d, series, delta, now, endTime);
        if (m !== undefined) metrics.push(m);
      } else {
        const points: DataPoint<number>[] = [];
        for (const s of series) {
          if (delta) {
            const v = s.value - s.reportedValue;
            if (v === 0) continue;
            points.push({ startTime: msToHr(s.deltaStartMs), endTime, attributes: s.attributes, value: v });
            s.reportedValue = s.value;
            s.deltaStartMs = now;
          } else points.push({ startTime: msToHr(s.startTimeMs), endTime, attributes: s.attributes, value: s.value });
        }
        if (points.length > 0) metrics.push(this.#sum(d, points, delta));
      }
    }
    for (const o of observables) {
      const m = this.#observable(o, now, endTime);
      if (m !== undefined) metrics.push(m);
    }
    return { resource: set.resource, scopeMetrics: [{ scope: TOLLGATE_SCOPE, metrics }] };
  }

  #sum(d: InstrumentDescriptor, points: DataPoint<number>[], delta: boolean): MetricData {
    const metric: MetricData = {
      descriptor: descriptorOf(d),
      aggregationTemporality: delta ? AggregationTemporality.DELTA : AggregationTemporality.CUMULATIVE,
      dataPointType: DataPointType.SUM,
      dataPoints: points,
      isMonotonic: d.kind === "counter",
    };
    return metric;
  }

  #observable(o: ObservableInstrument, now: number, endTime: HrTime): MetricData | undefined {
    const d = o.descriptor;
    const observations = o.observe();
    if (observations.length === 0) return undefined;
    if (d.kind === "gauge") {
      return {
        descriptor: descriptorOf(d),
        aggregationTemporality: AggregationTemporality.CUMULATIVE,
        dataPointType: DataPointType.GAUGE,
        dataPoints: observations.map(([attributes, value]) => ({ startTime: endTime, endTime, attributes, value })),
      };
    }
    const delta = deltaFor(d.kind, true, this.#temporality);
    const points: DataPoint<number>[] = [];
    for (const [attributes, value] of observations) {
      if (!delta) {
        points.push({ startTime: msToHr(this.#startMs), endTime, attributes, value });
        continue;
      }
      const key = d.name + "\u0003" + attributeKey(attributes);
      const last = this.#lastObserved.get(key) ?? { value: 0, atMs: this.#startMs };
      this.#lastObserved.set(key, { value, atMs: now });
      if (value - last.value === 0) continue;
      points.push({ startTime: msToHr(last.atMs), endTime, attributes, value: value - last.value });
    }
    return points.length === 0 ? undefined : this.#sum(d, points, delta);
  }

  #histogram(d: InstrumentDescriptor, series: readonly Series[], delta: boolean, now: number, endTime: HrTime): MetricData | undefined {
    const exemplars: (readonly Exemplar[])[] = [];
    const explicitPoints: DataPoint<{ buckets: { boundaries: number[]; counts: number[] }; sum: number; count: number; min?: number; max?: number }>[] = [];
    const expoPoints: DataPoint<{
      count: number;
      sum: number;
      scale: number;
      zeroCount: number;
      positive: { offset: number; bucketCounts: number[] };
      negative: { offset: number; bucketCounts: number[] };
      min?: number;
      max?: number;
    }>[] = [];
    let exponential = false;
    for (const s of series) {
      const acc = s.otlp ?? s.cumulative!;
      if (acc.count === 0 && delta) continue;
      const startTime = msToHr(delta ? s.deltaStartMs : s.startTimeMs);
      const attributes: Attributes = s.attributes;
      if (acc instanceof ExponentialHistogram) {
        exponential = true;
        expoPoints.push({
          startTime,
          endTime,
          attributes,
          value: {
            count: acc.count,
            sum: acc.sum,
            scale: acc.scale,
            zeroCount: acc.zeroCount,
            positive: acc.positive(),
            negative: { offset: 0, bucketCounts: [] },
            ...(acc.count > 0 ? { min: acc.min, max: acc.max } : {}),
          },
        });
        exemplars.push(acc.exemplar === undefined ? [] : [acc.exemplar]);
      } else if (acc instanceof ExplicitHistogram) {
        explicitPoints.push({
          startTime,
          endTime,
          attributes,
          value: {
            buckets: { boundaries: [...acc.boundaries], counts: [...acc.counts] },
            sum: acc.sum,
            count: acc.count,
            ...(acc.count > 0 ? { min: acc.min, max: acc.max } : {}),
          },
        });
        exemplars.push(acc.exemplars.filter((e): e is Exemplar => e !== undefined));
      }
      if (delta) {
        acc.reset();
        s.deltaStartMs = now;
      }
    }
    const temporality = delta ? AggregationTemporality.DELTA : AggregationTemporality.CUMULATIVE;
    let metric: MetricData;
    if (exponential) {
      if (expoPoints.length === 0) return undefined;
      metric = { descriptor: descriptorOf(d), aggregationTemporality: temporality, dataPointType: DataPointType.EXPONENTIAL_HISTOGRAM, dataPoints: expoPoints };
    } else {
      if (explicitPoints.length === 0) return undefined;
      metric = { descriptor: descriptorOf(d), aggregationTemporality: temporality, dataPointType: DataPointType.HISTOGRAM, dataPoints: explicitPoints };
    }
    exemplarTable.set(metric, exemplars);
    return metric;
  }
}

function descriptorOf(d: InstrumentDescriptor): MetricData["descriptor"] {
  return { name: d.name, description: d.description, unit: d.unit, valueType: d.valueType === "int" ? ValueType.INT : ValueType.DOUBLE };
}
