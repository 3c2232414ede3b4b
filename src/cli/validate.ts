// `tollgate validate`: load and compile the config exactly as `run` would, print every
// diagnostic as FILE:LINE:COL: path: message, exit 1 when any is an error.
import { formatDiagnostic } from "../config/diagnostics.ts";
import { attachedRuleCount } from "../plan/rule-count.ts";
import { compileConfig, loadConfig } from "../server/config-stage.ts";

export interface Output {
  out(line: string): void;
  err(line: string): void;
}

export async function validateCommand(configPath: string, output: Output): Promise<number> {
  const { config, diagnostics } = await loadConfig(configPath);
  for (const d of diagnostics) output.out(formatDiagnostic(d));
  let errors = diagnostics.filter((d) => d.severity === "error").length;
  if (config !== undefined && errors === 0) {
    const compiled = compileConfig(config, 1);
    if (compiled.plan === undefined) {
      output.out(compiled.error);
      errors++;
    } else {
      const warnings = diagnostics.filter((d) => d.severity === "warning").length;
      output.err(
        `${configPath}: valid (${count(compiled.plan.listeners.length, "listener port")}, ${count(attachedRuleCount(compiled.plan), "route rule")}` +
          `${warnings > 0 ? `, ${count(warnings, "warning")}` : ""})`,
      );
      return 0;
    }
  }
  if (errors === 0) {
    output.out(`${configPath}:1:1: -: the config did not load and reported no error`);
    errors = 1;
  }
  output.err(`${configPath}: ${count(errors, "error")}`);
  return 1;
}

function count(n: number, noun: string): string {
  return `${n} ${noun}${n === 1 ? "" : "s"}`;
}
