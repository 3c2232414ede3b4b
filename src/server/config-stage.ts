// Load and compile, as one step with one result shape: used by the gateway's reload path,
// by the cluster primary's startup check and by `tollgate validate`, so all three accept
// and reject exactly the same files.
import type { Diagnostic } from "../config/diagnostics.ts";
import { loadConfigFile } from "../config/load.ts";
import type { ResolvedConfig } from "../config/model.ts";
import { compilePlan } from "../plan/compile.ts";
import { PlanCompileError } from "../plan/errors.ts";
import type { RuntimePlan } from "../plan/types.ts";
import { compileFilters } from "../proxy/filters.ts";
import { RateLimitBuckets } from "../proxy/rate-limit-buckets.ts";

export interface LoadResult {
  readonly config: ResolvedConfig | undefined;
  readonly diagnostics: readonly Diagnostic[];
}

export type CompileResult = { readonly plan: RuntimePlan; readonly error?: undefined } | { readonly plan?: undefined; readonly error: string };

export async function loadConfig(path: string): Promise<LoadResult> {
  const { config, diagnostics } = await loadConfigFile(path);
  return { config, diagnostics };
}

/** Each plan's rate limit buckets, which the plan that replaces it takes over. */
const bucketsOfPlan = new WeakMap<RuntimePlan, RateLimitBuckets>();

/** `previous`: the plan serving now, whose rate limit buckets the new plan keeps where they did not change. */
export function compileConfig(config: ResolvedConfig, generation: number, previous?: RuntimePlan): CompileResult {
  try {
    const buckets = new RateLimitBuckets(previous === undefined ? undefined : bucketsOfPlan.get(previous));
    const plan = compilePlan(config, generation, (filters, backends) => compileFilters(filters, backends, buckets));
    buckets.settle();
    bucketsOfPlan.set(plan, buckets);
    return { plan };
  } catch (error) {
    if (error instanceof PlanCompileError) return { error: error.message };
    return { error: `compiling the plan failed: ${error instanceof Error ? error.message : String(error)}` };
  }
}
