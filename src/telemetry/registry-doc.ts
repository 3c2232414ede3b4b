// Renders the telemetry registry as Markdown (docs/telemetry.md). Pure: the same registry
// always gives the same text, so a test can compare it with the committed file.
import { TELEMETRY_REGISTRY, type AttributeEntry } from "./registry.ts";

const esc = (s: string): string => s.replaceAll("|", "\\|");

function attributeTable(entries: readonly AttributeEntry[]): string {
  const rows = entries.map(
    (a) =>
      `| \`${esc(a.key)}\` | ${a.type} | ${a.requirement}${a.condition ? ` (${esc(a.condition)})` : ""} | ${a.stability} | ${a.signals.join(", ")} | ${esc(a.semconv)} | ${esc(a.brief)} |`,
  );
  return ["| Key | Type | Requirement | Stability | Signals | Follows | Description |", "|---|---|---|---|---|---|---|", ...rows].join("\n");
}

export function renderTelemetryDoc(): string {
  const r = TELEMETRY_REGISTRY;
  const out: string[] = [];
  out.push("<!-- Generated from src/telemetry/registry.ts by scripts/gen-telemetry-docs.ts. Do not edit. -->");
  out.push("# Tollgate telemetry contract");
  out.push("");
  out.push(
    `Everything Tollgate emits, on every signal. Semantic conventions: **${r.semconvVersion}** (schema URL \`${r.schemaUrl}\`, set on every resource and scope). Instrumentation scope: \`${r.scopeName}\`. Tollgate's own attributes live in one namespace: \`${r.namespace}*\`.`,
  );
  out.push("");
  out.push("## Change policy");
  out.push("");
  out.push(
    "Entries marked `stable` keep their name, type and meaning across minor releases. A change is made by adding the new entry, marking the old one `deprecated` for at least one minor release, and listing both in the CHANGELOG; deprecated names are never emitted alongside their replacement by default. `development` entries follow their semantic convention and may change when it does. A test fails when exported data carries a span name, attribute or resource attribute missing from this registry.",
  );
  out.push("");
  out.push("## Resource");
  out.push("");
  out.push("Built once per gateway and shared by traces, logs and metrics. `service.name` precedence, later wins: `<gateway>.<namespace>`, `OTEL_RESOURCE_ATTRIBUTES`, `OTEL_SERVICE_NAME`, the policy (kgateway `serviceName`, then policy resource attributes).");
  out.push("");
  out.push(attributeTable(r.resourceAttributes));
  out.push("");
  out.push("## Spans");
  out.push("");
  for (const s of r.spans) {
    out.push(`### \`${s.name}\` (${s.kind})`);
    out.push("");
    out.push(`${s.brief} Follows ${s.semconv}; ${s.stability}.`);
    out.push("");
    out.push(`Status: ${s.status}`);
    out.push("");
    out.push(`Attributes: ${s.attributes.map((a) => `\`${a}\``).join(", ")}.`);
    out.push("");
  }
  out.push("## Attributes");
  out.push("");
  out.push(attributeTable(r.attributes));
  out.push("");
  out.push("## Metrics");
  out.push("");
  if (r.metrics.length === 0) out.push("None registered yet.");
  else {
    out.push("| Name | Instrument | Unit | Stability | Follows | Attributes | Description |");
    out.push("|---|---|---|---|---|---|---|");
    for (const m of r.metrics) out.push(`| \`${m.name}\` | ${m.instrument} | \`${m.unit}\` | ${m.stability} | ${esc(m.semconv)} | ${m.attributes.map((a) => `\`${a}\``).join(", ")} | ${esc(m.brief)} |`);
  }
  out.push("");
  out.push("## Log records");
  out.push("");
  if (r.logRecords.length === 0) out.push("None registered yet.");
  else for (const l of r.logRecords) out.push(`- \`${l.eventName}\` (${l.stability}, ${esc(l.semconv)}): ${esc(l.brief)} Attributes: ${l.attributes.map((a) => `\`${a}\``).join(", ")}.`);
  out.push("");
  return out.join("\n");
}
