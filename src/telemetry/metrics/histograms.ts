// Histogram accumulations recorded on the request path. The SDK's Histogram.record hashes
// the attribute object on every call and has no exemplars; here a series handle is found
// once per attribute set and recording is a bucket search plus a few additions. Both
// aggregations keep the last exemplar per bucket (the spec's aligned-bucket reservoir for
// explicit buckets; one slot for exponential ones).

/** A measurement recorded inside a sampled span. */
export interface Exemplar {
  readonly value: number;
  /** Epoch milliseconds. */
  readonly timeMs: number;
  readonly traceId: string;
  readonly spanId: string;
}

/** HTTP semconv duration bucket advice (seconds). */
export const DURATION_BUCKETS: readonly number[] = [0.005, 0.01, 0.025, 0.05, 0.075, 0.1, 0.25, 0.5, 0.75, 1, 2.5, 5, 7.5, 10];
/** The SDK's default explicit buckets; used for body sizes (the semconv gives no advice). */
export const DEFAULT_BUCKETS: readonly number[] = [0, 5, 10, 25, 50, 75, 100, 250, 500, 750, 1000, 2500, 5000, 7500, 10000];

export interface HistogramAccumulation {
  record(value: number, exemplar: Exemplar | undefined): void;
  reset(): void;
  readonly count: number;
}

export class ExplicitHistogram implements HistogramAccumulation {
  readonly boundaries: readonly number[];
  /** counts[i]: values in (boundaries[i-1], boundaries[i]]; the last is the overflow bucket. */
  counts: number[];
  exemplars: (Exemplar | undefined)[];
  count = 0;
  sum = 0;
  min = Infinity;
  max = -Infinity;

  constructor(boundaries: readonly number[]) {
    this.boundaries = boundaries;
    this.counts = new Array<number>(boundaries.length + 1).fill(0);
    this.exemplars = new Array<Exemplar | undefined>(boundaries.length + 1).fill(undefined);
  }

  record(value: number, exemplar: Exemplar | undefined): void {
    const b = this.boundaries;
    let i = 0;
    while (i < b.length && value > b[i]!) i++;
    this.counts[i]!++;
    this.count++;
    this.sum += value;
    if (value < this.min) this.min = value;
    if (value > this.max) this.max = value;
    if (exemplar !== undefined) this.exemplars[i] = exemplar;
  }

  reset(): void {
    this.counts.fill(0);
    this.exemplars.fill(undefined);
    this.count = 0;
    this.sum = 0;
    this.min = Infinity;
    this.max = -Infinity;
  }
}

const MAX_SCALE = 20;
const MIN_SCALE = -10;
const MAX_SIZE = 160;

/**
 * Base-2 exponential histogram (OTel data model): bucket `i` at scale `s` holds
 * (2^(i·2^-s), 2^((i+1)·2^-s)]. Starts at the finest scale and halves resolution whenever
 * the populated index range would exceed MAX_SIZE buckets. Values are non-negative here
 * (durations, sizes), so only the positive range and the zero count are used.
 */
export class ExponentialHistogram implements HistogramAccumulation {
  scale = MAX_SCALE;
  zeroCount = 0;
  readonly buckets = new Map<number, number>();
  lowIndex = 0;
  highIndex = -1;
  count = 0;
  sum = 0;
  min = Infinity;
  max = -Infinity;
  exemplar: Exemplar | undefined = undefined;

  record(value: number, exemplar: Exemplar | undefined): void {
    this.count++;
    this.sum += value;
    if (value < this.min) this.min = value;
    if (value > this.max) this.max = value;
    if (exemplar !== undefined) this.exemplar = exemplar;
    if (!(value > 0)) {
      this.zeroCount++;
      return;
    }
    let index = indexOf(value, this.scale);
    if (this.highIndex < this.lowIndex) {
      this.lowIndex = index;
      this.highIndex = index;
    } else if (index < this.lowIndex || index > this.highIndex) {
      const low = Math.min(this.lowIndex, index);
      const high = Math.max(this.highIndex, index);
      let change = 0;
      while (this.scale - change > MIN_SCALE && (high >> change) - (low >> change) + 1 > MAX_SIZE) change++;
      if (change > 0) {
        this.#downscale(change);
        index = indexOf(value, this.scale);
      }
      this.lowIndex = Math.min(this.lowIndex, index);
      this.highIndex = Math.max(this.highIndex, index);
    }
    this.buckets.set(index, (this.buckets.get(index) ?? 0) + 1);
  }

  #downscale(change: number): void {
    const merged = new Map<number, number>();
    for (const [i, c] of this.buckets) {
      const j = i >> change;
      merged.set(j, (merged.get(j) ?? 0) + c);
    }
    this.buckets.clear();
    for (const [i, c] of merged) this.buckets.set(i, c);
    this.scale -= change;
    this.lowIndex >>= change;
    this.highIndex >>= change;
  }

  /** Dense counts from lowIndex, as OTLP carries them. */
  positive(): { offset: number; bucketCounts: number[] } {
    if (this.highIndex < this.lowIndex) return { offset: 0, bucketCounts: [] };
    const counts = new Array<number>(this.highIndex - this.lowIndex + 1).fill(0);
    for (const [i, c] of this.buckets) counts[i - this.lowIndex] = c;
    return { offset: this.lowIndex, bucketCounts: counts };
  }

  reset(): void {
    this.scale = MAX_SCALE;
    this.zeroCount = 0;
    this.buckets.clear();
    this.lowIndex = 0;
    this.highIndex = -1;
    this.count = 0;
    this.sum = 0;
    this.min = Infinity;
    this.max = -Infinity;
    this.exemplar = undefined;
  }
}

/** index = ceil(log_base(value)) - 1 with base = 2^(2^-scale); exact powers of two land in the lower bucket. */
export function indexOf(value: number, scale: number): number {
  return Math.ceil(Math.log2(value) * 2 ** scale) - 1;
}
