// Consistent probability sampling (OTel spec, "TraceIdRatioBased" with the W3C Level 2
// randomness): the right-most 56 bits of the trace id are the randomness R; probability p
// becomes the rejection threshold T = (1 - p) * 2^56; a trace is kept when R >= T. Every
// hop that uses the same rule on the same trace id agrees, and a lower probability always
// keeps a subset of what a higher one keeps, which makes Envoy's "overall" cap exact.
// T is precomputed as 14 lower-case hex digits, so a decision is one string comparison.
// Nothing is written to tracestate (no `ot=th:`): tracestate is forwarded unchanged.
import type { SamplingModel } from "../../config/model.ts";
import type { IncomingContext } from "./propagation.ts";

const RANDOM_BITS = 56n;
const ALWAYS = "00000000000000";

/** A probability gate on the trace id's randomness. */
export class ProbabilityGate {
  readonly probability: number;
  /** undefined: never passes. */
  readonly #threshold: string | undefined;

  constructor(numerator: number, denominator: number) {
    const p = denominator <= 0 ? 0 : Math.min(1, Math.max(0, numerator / denominator));
    this.probability = p;
    if (p <= 0) this.#threshold = undefined;
    else if (p >= 1) this.#threshold = ALWAYS;
    else {
      // Exact rational arithmetic: T = ceil(2^56 * (den - num) / den), clamped below 2^56.
      const scale = 1_000_000_000n;
      const num = BigInt(Math.round((numerator / denominator) * 1e9));
      const t = ((1n << RANDOM_BITS) * (scale - num) + scale - 1n) / scale;
      const max = (1n << RANDOM_BITS) - 1n;
      this.#threshold = (t > max ? max : t).toString(16).padStart(14, "0");
    }
  }

  static percent(p: number): ProbabilityGate {
    return new ProbabilityGate(p, 100);
  }

  passes(traceId: string): boolean {
    const t = this.#threshold;
    if (t === undefined) return false;
    return t === ALWAYS || traceId.substring(18) >= t;
  }
}

/** A decision on the trace id alone: a probability gate, or another sampler's root decision. */
export interface TraceIdGate {
  passes(traceId: string): boolean;
}

export interface TraceSampler {
  /** clientForced: the request carries `x-client-trace-id` (Envoy's client sampling). */
  sample(traceId: string, parent: IncomingContext | undefined, clientForced: boolean): boolean;
  readonly description: string;
}

/** OTEL_TRACES_SAMPLER / OTEL_TRACES_SAMPLER_ARG; default parentbased_always_on. */
export function samplerFromEnv(name: string | undefined, arg: string | undefined): { sampler: TraceSampler; problems: string[] } {
  const problems: string[] = [];
  const ratio = (): number => {
    if (arg === undefined) return 1;
    const n = Number(arg);
    if (!Number.isFinite(n) || n < 0 || n > 1) {
      problems.push(`OTEL_TRACES_SAMPLER_ARG: '${arg}' is not a probability in [0, 1]; using 1`);
      return 1;
    }
    return n;
  };
  const n = (name ?? "parentbased_always_on").toLowerCase();
  switch (n) {
    case "always_on":
      return { sampler: ratioSampler(new ProbabilityGate(1, 1), false, undefined, "always_on"), problems };
    case "always_off":
      return { sampler: ratioSampler(new ProbabilityGate(0, 1), false, undefined, "always_off"), problems };
    case "traceidratio": {
      const p = ratio();
      return { sampler: ratioSampler(new ProbabilityGate(p, 1), false, undefined, `traceidratio(${p})`), problems };
    }
    case "parentbased_always_on":
      return { sampler: ratioSampler(new ProbabilityGate(1, 1), true, new ProbabilityGate(1, 1), "parentbased_always_on"), problems };
    case "parentbased_always_off":
      return { sampler: ratioSampler(new ProbabilityGate(0, 1), true, new ProbabilityGate(1, 1), "parentbased_always_off"), problems };
    case "parentbased_traceidratio": {
      const p = ratio();
      return { sampler: ratioSampler(new ProbabilityGate(p, 1), true, new ProbabilityGate(1, 1), `parentbased_traceidratio(${p})`), problems };
    }
    default:
      problems.push(`OTEL_TRACES_SAMPLER: unsupported sampler '${name}'; using parentbased_always_on`);
      return { sampler: ratioSampler(new ProbabilityGate(1, 1), true, new ProbabilityGate(1, 1), "parentbased_always_on"), problems };
  }
}

/**
 * Root ratio with optional parent-based behaviour. When parent-based: an unsampled parent
 * is dropped; a sampled parent is kept when it passes `parentGate` (the TelemetryPolicy
 * parentBasedSampling.samplingRate; always for the OTel env samplers).
 */
export function ratioSampler(root: TraceIdGate, parentBased: boolean, parentGate: ProbabilityGate | undefined, description: string): TraceSampler {
  return {
    description,
    sample(traceId, parent) {
      if (parentBased && parent !== undefined) return parent.sampled && (parentGate === undefined || parentGate.passes(traceId));
      return root.passes(traceId);
    },
  };
}

/**
 * kgateway / Envoy percentages: a request with `x-client-trace-id` is traced when it passes
 * clientSampling; else a parent's decision is respected; else randomSampling decides. The
 * result is then capped by overallSampling with the same trace-id randomness.
 */
export function envoySampler(client: number, random: number, overall: number): TraceSampler {
  const clientGate = ProbabilityGate.percent(client);
  const randomGate = ProbabilityGate.percent(random);
  const overallGate = ProbabilityGate.percent(overall);
  return {
    description: `envoy(client=${client}%, random=${random}%, overall=${overall}%)`,
    sample(traceId, parent, clientForced) {
      let traced: boolean;
      if (clientForced && clientGate.passes(traceId)) traced = true;
      else if (parent !== undefined) traced = parent.sampled;
      else traced = randomGate.passes(traceId);
      return traced && overallGate.passes(traceId);
    },
  };
}

/** The OpenTelemetry AlwaysOn sampler: the parent's decision aside. */
const ALWAYS_ON_SAMPLER: TraceSampler = { description: "always_on", sample: () => true };

/**
 * `envSampler` makes the root decision of a policy that sets no `samplingRate`: a policy
 * that only tunes parent-based sampling keeps the operator's OTEL_TRACES_SAMPLER ratio.
 */
export function samplerFromModel(model: SamplingModel, envSampler: TraceSampler): TraceSampler {
  if (model.kind === "percentages") return envoySampler(model.client, model.random, model.overall);
  if (model.kind === "alwaysOn") return ALWAYS_ON_SAMPLER;
  const root: TraceIdGate = model.ratio === undefined ? { passes: (traceId) => envSampler.sample(traceId, undefined, false) } : new ProbabilityGate(model.ratio, 1);
  const rootText = model.ratio === undefined ? `env:${envSampler.description}` : String(model.ratio);
  return ratioSampler(
    root,
    model.parentBased,
    new ProbabilityGate(model.parentRatio, 1),
    `policy(ratio=${rootText}, parentBased=${model.parentBased}, parentRatio=${model.parentRatio})`,
  );
}
