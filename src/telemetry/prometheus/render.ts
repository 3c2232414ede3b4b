// Renders the instrument sets as a Prometheus text (0.0.4) or OpenMetrics 1.0 exposition,
// always cumulative, from the same series the OTLP push reads. Each resource becomes one
// `target_info` sample; every sample carries the `otel_scope_*` labels; histogram buckets
// carry their trace exemplars in OpenMetrics. Runs per scrape, never on the request path.
import type { Attributes, AttributeValue } from "@opentelemetry/api";
import { escapeLabelValue } from "../../admin/metrics-endpoint.ts";
import { TOLLGATE_SCOPE } from "../semconv.ts";
import type { Exemplar } from "../metrics/histograms.ts";
import type { InstrumentDescriptor, InstrumentSet, Observation, ObservableInstrument } from "../metrics/store.ts";
import { prometheusBaseName, prometheusLabelName, unitSuffix } from "./names.ts";

interface Sample {
  readonly labels: string;
  readonly value: number;
}

interface HistogramSample {
  readonly labels: string;
  readonly boundaries: readonly number[];
  readonly counts: readonly number[];
  readonly exemplars: readonly (Exemplar | undefined)[];
  readonly sum: number;
  readonly count: number;
}

interface Family {
  readonly descriptor: InstrumentDescriptor;
  readonly base: string;
  readonly samples: Sample[];
  readonly histograms: HistogramSample[];
}

const SCOPE_LABELS = `otel_scope_name="${escapeLabelValue(TOLLGATE_SCOPE.name)}",otel_scope_version="${escapeLabelValue(TOLLGATE_SCOPE.version ?? "")}",otel_scope_schema_url="${escapeLabelValue(TOLLGATE_SCOPE.schemaUrl ?? "")}"`;

function labelValue(v: AttributeValue | undefined): string {
  if (Array.isArray(v)) return JSON.stringify(v);
  return String(v ?? "");
}

/** `{attrs...,otel_scope_*}` with keys sanitised; keys that collide after sanitising are joined with `;` as the spec says. */
export function labelsOf(attributes: Attributes, withScope: boolean): string {
  const merged = new Map<string, string>();
  for (const key of Object.keys(attributes).sort()) {
    const name = prometheusLabelName(key);
    const value = labelValue(attributes[key]);
    const prev = merged.get(name);
    merged.set(name, prev === undefined ? value : `${prev};${value}`);
  }
  const parts = [...merged].map(([k, v]) => `${k}="${escapeLabelValue(v)}"`);
  if (withScope) parts.push(SCOPE_LABELS);
  return parts.join(",");
}

function formatNumber(n: number): string {
  if (n === Infinity) return "+Inf";
  if (n === -Infinity) return "-Inf";
  if (Number.isNaN(n)) return "NaN";
  return String(n);
}

function formatLe(bound: number, openMetrics: boolean): string {
  if (bound === Infinity) return "+Inf";
  const s = String(bound);
  // OpenMetrics wants canonical floats for le: 10 → 10.0.
  return openMetrics && /^-?\d+$/.test(s) ? `${s}.0` : s;
}

function escapeHelp(text: string): string {
  return text.replace(/\\/g, "\\\\").replace(/\n/g, "\\n");
}

function braces(labels: string): string {
  return labels === "" ? "" : `{${labels}}`;
}

function withLe(labels: string, le: string): string {
  return labels === "" ? `{le="${le}"}` : `{${labels},le="${le}"}`;
}

function exemplarSuffix(e: Exemplar | undefined): string {
  if (e === undefined) return "";
  return ` # {trace_id="${e.traceId}",span_id="${e.spanId}"} ${formatNumber(e.value)} ${(e.timeMs / 1000).toFixed(3)}`;
}

export function renderExposition(sets: readonly InstrumentSet[], observables: readonly ObservableInstrument[], openMetrics: boolean): string {
  const families = new Map<string, Family>();
  const family = (d: InstrumentDescriptor): Family => {
    const base = prometheusBaseName(d.name, d.unit, d.kind);
    let f = families.get(base);
    if (f === undefined) {
      f = { descriptor: d, base, samples: [], histograms: [] };
      families.set(base, f);
    }
    return f;
  };
  for (const set of sets) {
    for (const instrument of set.instruments.values()) {
      const d = instrument.descriptor;
      const f = family(d);
      for (const s of instrument.series()) {
        const labels = labelsOf(s.attributes, true);
        if (d.kind === "histogram") {
          const h = s.cumulative!;
          f.histograms.push({ labels, boundaries: h.boundaries, counts: h.counts, exemplars: h.exemplars, sum: h.sum, count: h.count });
        } else f.samples.push({ labels, value: s.value });
      }
    }
  }
  for (const o of observables) {
    const f = family(o.descriptor);
    for (const [attributes, value] of o.observe() as Observation[]) f.samples.push({ labels: labelsOf(attributes, true), value });
  }

  const lines: string[] = [];
  // target_info: one sample per resource.
  // OpenMetrics names a family without its sample suffix (`_info`), in every metadata line.
  lines.push(openMetrics ? "# TYPE target info" : "# TYPE target_info gauge");
  lines.push(openMetrics ? "# HELP target Target metadata" : "# HELP target_info Target metadata");
  const seen = new Set<string>();
  for (const set of sets) {
    const labels = labelsOf(set.resource.attributes as Attributes, false);
    if (seen.has(labels)) continue;
    seen.add(labels);
    lines.push(`target_info${braces(labels)} 1`);
  }

  for (const f of families.values()) {
    const d = f.descriptor;
    const type = d.kind === "histogram" ? "histogram" : d.kind === "counter" ? "counter" : "gauge";
    const name = d.kind === "counter" && !openMetrics ? `${f.base}_total` : f.base;
    lines.push(`# TYPE ${name} ${type}`);
    const unit = unitSuffix(d.unit, d.kind);
    if (openMetrics && unit !== "" && f.base.endsWith(`_${unit}`)) lines.push(`# UNIT ${name} ${unit}`);
    lines.push(`# HELP ${name} ${escapeHelp(d.description)}`);
    const sampleName = d.kind === "counter" ? `${f.base}_total` : f.base;
    for (const s of f.samples) lines.push(`${sampleName}${braces(s.labels)} ${formatNumber(s.value)}`);
    for (const h of f.histograms) {
      let cumulative = 0;
      for (let i = 0; i <= h.boundaries.length; i++) {
        cumulative += h.counts[i] ?? 0;
        const le = formatLe(i < h.boundaries.length ? h.boundaries[i]! : Infinity, openMetrics);
        const exemplar = openMetrics ? exemplarSuffix(h.exemplars[i]) : "";
        lines.push(`${f.base}_bucket${withLe(h.labels, le)} ${cumulative}${exemplar}`);
      }
      lines.push(`${f.base}_sum${braces(h.labels)} ${formatNumber(h.sum)}`);
      lines.push(`${f.base}_count${braces(h.labels)} ${h.count}`);
    }
  }
  if (openMetrics) lines.push("# EOF");
  return lines.join("\n") + "\n";
}
