// One warning at start for each telemetry variable whose value its reader cannot use. The
// readers in env.ts fall back to their defaults, as the SDK configuration spec asks; the
// spec also asks that the user be told (a boolean other than true/false, a number that does
// not parse), so a typo like `OTEL_METRIC_EXPORT_INTERVAL=15s` does not pass unnoticed.
// (Variables with their own reporting, such as the exporter's, are checked where they are read.)
import { envString, type Env } from "./env.ts";

type Kind = "boolean" | "non-negative number";

const SIGNALS = ["TRACES", "METRICS", "LOGS"] as const;

const CHECKED: ReadonlyArray<readonly [variable: string, kind: Kind]> = [
  ["OTEL_SDK_DISABLED", "boolean"],
  ["OTEL_EXPORTER_OTLP_INSECURE", "boolean"],
  ...SIGNALS.map((s) => [`OTEL_EXPORTER_OTLP_${s}_INSECURE`, "boolean"] as const),
  ["TOLLGATE_TELEMETRY_EXPORT_THREAD", "boolean"],
  ...["OTEL_BSP", "OTEL_BLRP"].flatMap((p) =>
    ["SCHEDULE_DELAY", "EXPORT_TIMEOUT", "MAX_QUEUE_SIZE", "MAX_EXPORT_BATCH_SIZE"].map((s) => [`${p}_${s}`, "non-negative number"] as const),
  ),
  ["OTEL_METRIC_EXPORT_TIMEOUT", "non-negative number"],
  ...["OTEL_ATTRIBUTE", "OTEL_SPAN_ATTRIBUTE", "OTEL_LOGRECORD_ATTRIBUTE"].flatMap((p) =>
    ["COUNT_LIMIT", "VALUE_LENGTH_LIMIT"].map((s) => [`${p}_${s}`, "non-negative number"] as const),
  ),
  ["TOLLGATE_METRICS_CARDINALITY_LIMIT", "non-negative number"],
  ["TOLLGATE_STDOUT_BUFFER_BYTES", "non-negative number"],
];

export function envValueProblems(env: Env): string[] {
  const problems: string[] = [];
  for (const [variable, kind] of CHECKED) {
    const value = envString(env, variable);
    if (value === undefined || usable(value, kind)) continue;
    problems.push(`${variable}: '${value}' is not a ${kind === "boolean" ? "boolean (true or false)" : kind}; the default applies`);
  }
  return problems;
}

function usable(value: string, kind: Kind): boolean {
  if (kind === "boolean") return value.toLowerCase() === "true" || value.toLowerCase() === "false";
  const n = Number(value);
  return Number.isFinite(n) && n >= 0;
}
