// OTel → Prometheus naming (OpenTelemetry "Prometheus and OpenMetrics Compatibility"):
// invalid characters become `_`, the unit becomes a suffix (`s` → `_seconds`, `By` →
// `_bytes`, annotations like `{request}` dropped, `1` → `_ratio` for gauges), counters end
// in `_total`, and attribute keys become label names with `.` → `_`.
import type { InstrumentKind } from "../metrics/store.ts";

const UNIT_WORDS: Readonly<Record<string, string>> = {
  d: "days", h: "hours", min: "minutes", s: "seconds", ms: "milliseconds", us: "microseconds", ns: "nanoseconds",
  By: "bytes", KiBy: "kibibytes", MiBy: "mebibytes", GiBy: "gibibytes", TiBy: "tebibytes",
  KBy: "kilobytes", MBy: "megabytes", GBy: "gigabytes", TBy: "terabytes",
  m: "meters", V: "volts", A: "amperes", J: "joules", W: "watts", g: "grams", Cel: "celsius", Hz: "hertz", "%": "percent",
};

function collapse(s: string): string {
  return s.replace(/_+/g, "_");
}

/** The unit as a name suffix, '' when it adds none. */
export function unitSuffix(unit: string, kind: InstrumentKind): string {
  const stripped = unit.replace(/\{[^}]*\}/g, "").trim();
  if (stripped === "") return "";
  if (stripped === "1") return kind === "gauge" ? "ratio" : "";
  const per = stripped.split("/");
  const word = (u: string): string => UNIT_WORDS[u] ?? collapse(u.replace(/[^A-Za-z0-9]/g, "_")).replace(/^_|_$/g, "");
  if (per.length === 2) return `${word(per[0]!)}_per_${per[1] === "s" ? "second" : per[1] === "m" ? "minute" : per[1] === "h" ? "hour" : word(per[1]!)}`;
  return word(stripped);
}

/** The family name (without `_total` and histogram suffixes). */
export function prometheusBaseName(name: string, unit: string, kind: InstrumentKind): string {
  let base = collapse(name.replace(/[^A-Za-z0-9_:]/g, "_"));
  if (/^[0-9]/.test(base)) base = `_${base}`;
  if (kind === "counter" && base.endsWith("_total")) base = base.slice(0, -"_total".length);
  const suffix = unitSuffix(unit, kind);
  if (suffix !== "" && !base.endsWith(`_${suffix}`)) base += `_${suffix}`;
  return base;
}

export function prometheusLabelName(key: string): string {
  let label = collapse(key.replace(/[^A-Za-z0-9_]/g, "_"));
  if (/^[0-9]/.test(label)) label = `key_${label}`;
  return label;
}
