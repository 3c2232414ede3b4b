// Metric names in PromQL expressions, and the Prometheus names of registered OTel metrics
// following the OTel → Prometheus compatibility rules (dots to underscores, unit suffix,
// `_total` for counters, histogram series suffixes).
import type { MetricEntry } from "../../src/telemetry/registry.ts";

const PROMQL_WORDS = new Set([
  "by", "without", "on", "ignoring", "group_left", "group_right", "bool", "offset", "and", "or", "unless", "le", "inf", "nan",
]);

/** Every `expr` (and templating `query`) string in a Grafana dashboard. */
export function dashboardQueries(dashboard: unknown): string[] {
  const out: string[] = [];
  const walk = (node: unknown): void => {
    if (Array.isArray(node)) node.forEach(walk);
    else if (typeof node === "object" && node !== null) {
      for (const [k, v] of Object.entries(node)) {
        if (k === "expr" && typeof v === "string") out.push(v);
        else walk(v);
      }
    }
  };
  walk(dashboard);
  return out;
}

/** Metric names a PromQL expression selects: identifiers that are not functions, keywords or labels. */
export function metricNamesIn(expr: string): string[] {
  const stripped = expr
    .replace(/"(?:[^"\\]|\\.)*"/g, '""') // string literals
    .replace(/\{[^}]*\}/g, "{}") // label matchers
    .replace(/\b(by|without|on|ignoring|group_left|group_right)\s*\([^)]*\)/g, "") // grouping label lists
    .replace(/\[[^\]]*\]/g, ""); // range selectors
  const names: string[] = [];
  for (const m of stripped.matchAll(/(?<![0-9A-Za-z_:.])[A-Za-z_:][A-Za-z0-9_:]*/g)) {
    const word = m[0];
    const rest = stripped.slice((m.index ?? 0) + word.length).trimStart();
    if (rest.startsWith("(")) continue; // function call
    if (PROMQL_WORDS.has(word.toLowerCase())) continue;
    names.push(word);
  }
  return names;
}

const UNIT_SUFFIX: Readonly<Record<string, string>> = {
  s: "seconds", ms: "milliseconds", us: "microseconds", ns: "nanoseconds",
  By: "bytes", KiBy: "kibibytes", MiBy: "mebibytes", min: "minutes", h: "hours", d: "days",
};

function baseName(metric: MetricEntry): string {
  let name = metric.name.replace(/[^A-Za-z0-9_:]/g, "_");
  const unit = metric.unit.replace(/\{[^}]*\}/g, "").trim();
  const suffix = unit === "1" ? (metric.instrument === "gauge" ? "ratio" : "") : (UNIT_SUFFIX[unit] ?? unit.replace(/[^A-Za-z0-9]/g, "_"));
  if (suffix !== "" && !name.endsWith(`_${suffix}`)) name += `_${suffix}`;
  return name;
}

/** Every series name a scrape or remote write of these metrics can produce. */
export function prometheusFamilies(metrics: readonly MetricEntry[]): Set<string> {
  const out = new Set<string>();
  for (const metric of metrics) {
    const base = baseName(metric);
    switch (metric.instrument) {
      case "counter":
        out.add(base.endsWith("_total") ? base : `${base}_total`);
        break;
      case "histogram":
        // Native histograms keep the bare name; classic ones split into three series.
        for (const s of ["", "_bucket", "_sum", "_count"]) out.add(base + s);
        break;
      default:
        out.add(base);
    }
  }
  return out;
}
