// The one set of instruments both the OTLP push and the Prometheus pull read. A series
// is one attribute set of one instrument; request hooks hold direct references to series
// (found once per attribute set), so recording never hashes attributes. Every instrument
// caps its series count; new attribute sets beyond the cap land in the spec's overflow
// series `otel.metric.overflow=true`.
import type { Attributes } from "@opentelemetry/api";
import type { Resource } from "@opentelemetry/resources";
import { ExplicitHistogram, ExponentialHistogram, type Exemplar, type HistogramAccumulation } from "./histograms.ts";
import type { HistogramAggregation, Temporality } from "./settings.ts";

export type InstrumentKind = "histogram" | "counter" | "updowncounter" | "gauge";

export interface InstrumentDescriptor {
  readonly name: string;
  readonly unit: string;
  readonly description: string;
  readonly kind: InstrumentKind;
  readonly valueType: "int" | "double";
  /** Explicit bucket boundaries (histograms). */
  readonly boundaries?: readonly number[];
}

export interface OtlpShape {
  readonly temporality: Temporality;
  readonly histogramAggregation: HistogramAggregation;
}

export const OVERFLOW_ATTRIBUTES: Attributes = Object.freeze({ "otel.metric.overflow": true });

export class Series {
  readonly attributes: Attributes;
  readonly startTimeMs: number;
  /** Cumulative explicit-bucket histogram: Prometheus and cumulative explicit OTLP read it. */
  readonly cumulative: ExplicitHistogram | undefined;
  /** What OTLP reads when it differs from `cumulative` (delta and/or exponential). */
  readonly otlp: HistogramAccumulation | undefined;
  /** Counters and up-down counters. */
  value = 0;
  /** Delta bookkeeping: the value reported at the last OTLP collection, and when. */
  reportedValue = 0;
  deltaStartMs: number;

  constructor(descriptor: InstrumentDescriptor, attributes: Attributes, shape: OtlpShape | undefined, nowMs: number) {
    this.attributes = attributes;
    this.startTimeMs = nowMs;
    this.deltaStartMs = nowMs;
    if (descriptor.kind === "histogram") {
      const boundaries = descriptor.boundaries ?? [];
      this.cumulative = new ExplicitHistogram(boundaries);
      if (shape === undefined || (shape.temporality === "cumulative" && shape.histogramAggregation === "explicit")) this.otlp = undefined;
      else this.otlp = shape.histogramAggregation === "exponential" ? new ExponentialHistogram() : new ExplicitHistogram(boundaries);
    } else {
      this.cumulative = undefined;
      this.otlp = undefined;
    }
  }

  record(value: number, exemplar: Exemplar | undefined): void {
    this.cumulative!.record(value, exemplar);
    if (this.otlp !== undefined) this.otlp.record(value, exemplar);
  }

  add(n: number): void {
    this.value += n;
  }
}

export class Instrument {
  readonly descriptor: InstrumentDescriptor;
  readonly #series = new Map<string, Series>();
  readonly #limit: number;
  readonly #shape: OtlpShape | undefined;
  #overflow: Series | undefined = undefined;

  constructor(descriptor: InstrumentDescriptor, limit: number, shape: OtlpShape | undefined) {
    this.descriptor = descriptor;
    this.#limit = limit;
    this.#shape = shape;
  }

  /**
   * The series of an attribute set; called when a request meets an attribute set its rule has
   * not cached. A new series starts at `sinceMs`, the start of the request or attempt that
   * first measures into it: a cumulative point's start must not be later than the
   * measurements (and exemplars) it holds, and the first one is taken at the request's end.
   */
  seriesFor(attributes: Attributes, sinceMs: number): Series {
    const key = attributeKey(attributes);
    let s = this.#series.get(key);
    if (s !== undefined) return s;
    // One slot stays free for the overflow series, so the total never exceeds the limit.
    if (this.#series.size >= this.#limit - 1) {
      this.#overflow ??= new Series(this.descriptor, OVERFLOW_ATTRIBUTES, this.#shape, sinceMs);
      return this.#overflow;
    }
    s = new Series(this.descriptor, attributes, this.#shape, sinceMs);
    this.#series.set(key, s);
    return s;
  }

  series(): Series[] {
    const all = [...this.#series.values()];
    if (this.#overflow !== undefined) all.push(this.#overflow);
    return all;
  }
}

/** Attributes a collection callback observes: [attributes, value] pairs. */
export type Observation = readonly [Attributes, number];

export interface ObservableInstrument {
  readonly descriptor: InstrumentDescriptor;
  observe(): Observation[];
}

/** The instruments of one resource (one Gateway's identity). */
export class InstrumentSet {
  readonly resource: Resource;
  readonly instruments = new Map<string, Instrument>();
  readonly observables: ObservableInstrument[] = [];
  /** Requests recording into this set that have started and not ended. */
  inFlight = 0;
  readonly #limit: number;
  readonly #shape: OtlpShape | undefined;

  constructor(resource: Resource, limit: number, shape: OtlpShape | undefined) {
    this.resource = resource;
    this.#limit = limit;
    this.#shape = shape;
  }

  instrument(descriptor: InstrumentDescriptor): Instrument {
    let i = this.instruments.get(descriptor.name);
    if (i === undefined) {
      i = new Instrument(descriptor, this.#limit, this.#shape);
      this.instruments.set(descriptor.name, i);
    }
    return i;
  }
}

export function attributeKey(attributes: Attributes): string {
  const keys = Object.keys(attributes).sort();
  let out = "";
  for (const k of keys) out += `${k}\u0000${String(attributes[k])}\u0001`;
  return out;
}
