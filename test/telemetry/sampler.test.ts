// Consistent, trace-id based sampling: ratios within binomial bounds, subsets across rates,
// the env samplers, the TelemetryPolicy parent-based semantics and Envoy's percentages.
import { test } from "node:test";
import assert from "node:assert/strict";
import { newTraceId } from "../../src/telemetry/trace/ids.ts";
import { envoySampler, ProbabilityGate, samplerFromEnv, samplerFromModel } from "../../src/telemetry/trace/sampler.ts";
import type { IncomingContext } from "../../src/telemetry/trace/propagation.ts";

const N = 20_000;
const ids = Array.from({ length: N }, () => newTraceId());

/** Five standard deviations: a correct sampler fails this about once in 1.7 million runs. */
function assertBinomial(kept: number, n: number, p: number, what: string): void {
  const mean = n * p;
  const sd = Math.sqrt(n * p * (1 - p));
  assert.ok(Math.abs(kept - mean) <= 5 * sd + 1, `${what}: kept ${kept} of ${n}, expected ${mean.toFixed(0)} ± ${(5 * sd).toFixed(0)}`);
}

const parent = (sampled: boolean, traceId: string): IncomingContext => ({ traceId, spanId: "00f067aa0ba902b7", sampled, random: true, traceState: undefined });

test("probability gates keep p of random trace ids, and lower rates keep subsets", () => {
  for (const p of [0.01, 0.1, 0.25, 0.5, 0.9]) {
    const gate = new ProbabilityGate(p, 1);
    assertBinomial(ids.filter((id) => gate.passes(id)).length, N, p, `p=${p}`);
  }
  const g10 = ProbabilityGate.percent(10);
  const g50 = ProbabilityGate.percent(50);
  for (const id of ids) if (g10.passes(id)) assert.ok(g50.passes(id), "consistent: 10% ⊂ 50%");
  assert.equal(ids.every((id) => new ProbabilityGate(1, 1).passes(id)), true);
  assert.equal(ids.some((id) => new ProbabilityGate(0, 1).passes(id)), false);
  assert.equal(new ProbabilityGate(1, 10000).probability, 0.0001);
  // Exact thresholds on crafted randomness: R = 2^55 is the median.
  const half = ProbabilityGate.percent(50);
  assert.equal(half.passes("0".repeat(18) + "80000000000000"), true);
  assert.equal(half.passes("0".repeat(18) + "7fffffffffffff"), false);
});

test("OTEL_TRACES_SAMPLER forms and the default parentbased_always_on", () => {
  const id = ids[0]!;
  const def = samplerFromEnv(undefined, undefined).sampler;
  assert.equal(def.sample(id, undefined, false), true);
  assert.equal(def.sample(id, parent(false, id), false), false, "unsampled parent is respected");
  assert.equal(def.sample(id, parent(true, id), false), true);
  assert.equal(samplerFromEnv("always_off", undefined).sampler.sample(id, parent(true, id), false), false);
  assert.equal(samplerFromEnv("always_on", undefined).sampler.sample(id, parent(false, id), false), true, "always_on ignores the parent");
  const ratio = samplerFromEnv("traceidratio", "0.25").sampler;
  assertBinomial(ids.filter((x) => ratio.sample(x, undefined, false)).length, N, 0.25, "traceidratio 0.25");
  const pbRatio = samplerFromEnv("parentbased_traceidratio", "0.25").sampler;
  assert.equal(ids.every((x) => pbRatio.sample(x, parent(true, x), false)), true, "sampled parents kept");
  assert.equal(samplerFromEnv("parentbased_always_off", undefined).sampler.sample(id, parent(true, id), false), true);
  assert.equal(samplerFromEnv("parentbased_always_off", undefined).sampler.sample(id, undefined, false), false);
  const bad = samplerFromEnv("jaeger_remote", undefined);
  assert.match(bad.problems[0]!, /unsupported sampler/);
  assert.equal(samplerFromEnv("traceidratio", "7").problems.length, 1);
});

const envDefault = samplerFromEnv(undefined, undefined).sampler;

test("TelemetryPolicy fraction: roots by ratio; parent-based On keeps sampled parents at parentRatio, drops unsampled", () => {
  const s = samplerFromModel({ kind: "fraction", ratio: 0.05, parentBased: true, parentRatio: 0.5 }, envDefault);
  assertBinomial(ids.filter((x) => s.sample(x, undefined, false)).length, N, 0.05, "roots at 5%");
  assertBinomial(ids.filter((x) => s.sample(x, parent(true, x), false)).length, N, 0.5, "sampled parents at 50%");
  assert.equal(ids.some((x) => s.sample(x, parent(false, x), false)), false, "unsampled parents dropped");
  const off = samplerFromModel({ kind: "fraction", ratio: 0.05, parentBased: false, parentRatio: 1 }, envDefault);
  assertBinomial(ids.filter((x) => off.sample(x, parent(true, x), false)).length, N, 0.05, "parent ignored when Off");
});

test("TelemetryPolicy without samplingRate: OTEL_TRACES_SAMPLER makes the root decision", () => {
  const env = samplerFromEnv("parentbased_traceidratio", "0.25").sampler;
  const s = samplerFromModel({ kind: "fraction", ratio: undefined, parentBased: true, parentRatio: 0.5 }, env);
  assertBinomial(ids.filter((x) => s.sample(x, undefined, false)).length, N, 0.25, "roots at the env ratio");
  assertBinomial(ids.filter((x) => s.sample(x, parent(true, x), false)).length, N, 0.5, "sampled parents at the policy's parentRatio");
  assert.equal(ids.some((x) => s.sample(x, parent(false, x), false)), false, "unsampled parents dropped");
  const off = samplerFromModel({ kind: "fraction", ratio: undefined, parentBased: false, parentRatio: 1 }, env);
  assertBinomial(ids.filter((x) => off.sample(x, parent(true, x), false)).length, N, 0.25, "Off: the env root ratio for every trace");
  const envOff = samplerFromModel({ kind: "fraction", ratio: undefined, parentBased: true, parentRatio: 1 }, samplerFromEnv("always_off", undefined).sampler);
  assert.equal(ids.some((x) => envOff.sample(x, undefined, false)), false, "always_off keeps no roots");
  assert.match(s.description, /env:parentbased_traceidratio\(0\.25\)/);
});

test("Envoy percentages: client forcing, random, parents respected, overall as a cap", () => {
  const s = envoySampler(100, 50, 20);
  assertBinomial(ids.filter((x) => s.sample(x, undefined, false)).length, N, 0.2, "random 50 capped by overall 20");
  assertBinomial(ids.filter((x) => s.sample(x, undefined, true)).length, N, 0.2, "client-forced still capped by overall");
  const noRandom = envoySampler(100, 0, 100);
  assert.equal(ids.some((x) => noRandom.sample(x, undefined, false)), false);
  assert.equal(ids.every((x) => noRandom.sample(x, undefined, true)), true, "x-client-trace-id forces tracing");
  assert.equal(ids.every((x) => noRandom.sample(x, parent(true, x), false)), true, "sampled parents respected");
  assert.equal(ids.some((x) => envoySampler(100, 100, 100).sample(x, parent(false, x), false)), false, "unsampled parents respected");
});
