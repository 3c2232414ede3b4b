// What the ops listener's GET /metrics serves. Telemetry implements this with its
// Prometheus/OpenMetrics renderer over the real instruments; until then (and whenever
// telemetry has no pull exporter) the fallback in fallback-metrics.ts serves the gateway's
// own counters so the endpoint is always a valid exposition.

export interface MetricsBody {
  readonly contentType: string;
  readonly body: string;
}

export interface MetricsEndpoint {
  /** `accept` is the scrape request's Accept header; OpenMetrics when it asks for it. */
  render(accept: string | undefined): Promise<MetricsBody>;
}

export const PROMETHEUS_TEXT_CONTENT_TYPE = "text/plain; version=0.0.4; charset=utf-8";
export const OPENMETRICS_CONTENT_TYPE = "application/openmetrics-text; version=1.0.0; charset=utf-8";

/** True when the scraper accepts OpenMetrics (Prometheus lists it first when enabled). */
export function wantsOpenMetrics(accept: string | undefined): boolean {
  if (accept === undefined) return false;
  for (const part of accept.split(",")) {
    const [type, ...params] = part.split(";");
    if (type?.trim().toLowerCase() !== "application/openmetrics-text") continue;
    const q = params.map((p) => p.trim()).find((p) => p.startsWith("q="));
    if (q === undefined || Number(q.slice(2)) > 0) return true;
  }
  return false;
}

/** Prometheus/OpenMetrics label value escaping. */
export function escapeLabelValue(value: string): string {
  return value.replace(/\\/g, "\\\\").replace(/"/g, '\\"').replace(/\n/g, "\\n");
}
