// GET /metrics for the ops listener: the instruments rendered per scrape, OpenMetrics when
// the scraper's Accept header asks for it, Prometheus text otherwise.
import { OPENMETRICS_CONTENT_TYPE, PROMETHEUS_TEXT_CONTENT_TYPE, wantsOpenMetrics, type MetricsBody, type MetricsEndpoint } from "../../admin/metrics-endpoint.ts";
import type { InstrumentSet, ObservableInstrument } from "../metrics/store.ts";
import { renderExposition } from "./render.ts";

export interface ExpositionSource {
  sets(): readonly InstrumentSet[];
  observables(): readonly ObservableInstrument[];
}

export function prometheusEndpoint(source: ExpositionSource): MetricsEndpoint {
  return {
    async render(accept: string | undefined): Promise<MetricsBody> {
      const openMetrics = wantsOpenMetrics(accept);
      return {
        contentType: openMetrics ? OPENMETRICS_CONTENT_TYPE : PROMETHEUS_TEXT_CONTENT_TYPE,
        body: renderExposition(source.sets(), source.observables(), openMetrics),
      };
    },
  };
}
