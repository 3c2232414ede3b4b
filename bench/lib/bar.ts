// Issue 5's bar, evaluated from the medians of one run. It informs; it never fails a run.
import type { BarItem, BenchResults } from "./results.ts";
import type { ScenarioId } from "../scenarios.ts";

export function evaluateBar(results: BenchResults): BarItem[] {
  const rps = (id: ScenarioId): number | undefined => {
    const s = results.scenarios.find((x) => x.id === id);
    return s?.status === "ok" ? s.median?.rps : undefined;
  };
  const ratio = (a: ScenarioId, b: ScenarioId): number | undefined => {
    const x = rps(a);
    const y = rps(b);
    return x !== undefined && y !== undefined && y > 0 ? x / y : undefined;
  };
  const addedP99 = results.fixedRate.find((f) => f.id === "tollgate-full")?.added?.p99;
  const rss = results.rssAtConnections.find((r) => r.id === "tollgate-full" && r.problem === undefined)?.peakMB;
  const soak = results.soak?.problem === undefined ? results.soak?.growthMB : undefined;

  return [
    item("full-vs-off", "full telemetry ≥ 0.85 × telemetry off", ratio("tollgate-full", "tollgate-off"), ">=", 0.85, "×"),
    item("full-vs-otel-sdk", "full telemetry ≥ 4 × http-proxy + OTel SDK", ratio("tollgate-full", "http-proxy-otel"), ">=", 4, "×"),
    item("off-vs-fastify", "telemetry off ≥ 1.3 × @fastify/http-proxy", ratio("tollgate-off", "fastify-http-proxy"), ">=", 1.3, "×"),
    item("full-vs-fastify", "full telemetry ≥ 1.0 × @fastify/http-proxy", ratio("tollgate-full", "fastify-http-proxy"), ">=", 1.0, "×"),
    item("added-p99", "added p99 at 1,000 req/s ≤ 1 ms over direct (full telemetry)", addedP99, "<=", 1, "ms"),
    item("rss-1000", "RSS ≤ 150 MB at 1,000 connections (full telemetry)", rss, "<=", 150, "MB"),
    item("blackhole-rps", "collector black-holed: throughput ≥ 0.9 × healthy collector", ratio("tollgate-blackhole", "tollgate-full"), ">=", 0.9, "×"),
    item(
      "blackhole-rss",
      `collector black-holed: RSS growth ≤ 64 MB over ${results.soak?.durationS ?? 60} s`,
      soak,
      "<=",
      64,
      "MB",
      results.settings.soakS === 0 ? "soak skipped (--quick)" : undefined,
    ),
  ];
}

function item(
  id: string,
  text: string,
  value: number | undefined,
  comparison: ">=" | "<=",
  threshold: number,
  unit: BarItem["unit"],
  whyMissing?: string,
): BarItem {
  if (value === undefined || !Number.isFinite(value)) {
    return { id, text, value: undefined, threshold, comparison, unit, held: undefined, reason: whyMissing ?? "not measured in this run" };
  }
  const held = comparison === ">=" ? value >= threshold : value <= threshold;
  return { id, text, value, threshold, comparison, unit, held };
}
