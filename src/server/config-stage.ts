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

export interface LoadResult {
  readonly config: ResolvedConfig | undefined;
  readonly diagnostics: readonly Diagnostic[];
}

export type CompileResult = { readonly plan: RuntimePlan; readonly error?: undefined } | { readonly plan?: undefined; readonly error: string };

export async function loadConfig(path: string): Promise<LoadResult> {
  const { config, diagnostics } = await loadConfigFile(path);
  return { config, diagnostics };
}

export function compileConfig(config: ResolvedConfig, generation: number): CompileResult {
  try {
    return { plan: compilePlan(config, generation, compileFilters) };
  } catch (error) {
    if (error instanceof PlanCompileError) return { error: error.message };
    return { error: `compiling the plan failed: ${error instanceof Error ? error.message : String(error)}` };
  }
}
