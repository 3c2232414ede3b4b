// How long one span export holds the request thread: the synchronous part of
// exporter.export() (request envelope, gRPC framing, HTTP/2 write) for a full batch of 512 of
// Tollgate's own spans, to the bench's ack receiver. Prints JSON: milliseconds at p50/p90/p99.
//   node bench/export-call.bench.ts [--exports N]
import { parseArgs } from "node:util";
import { createOtlpSpanExporter } from "../src/telemetry/export/span-exporter.ts";
import { resolveOtlpExporterConfig } from "../src/telemetry/export/otlp-config.ts";
import { ownSpans } from "../test/telemetry/span-fixtures.ts";
import { armGlobalDeadline, stopAll } from "./lib/children.ts";
import { percentileSorted, round } from "./lib/stats.ts";
import { launchScript, setChildDeadline } from "./targets/launch.ts";

const { values } = parseArgs({ options: { exports: { type: "string", default: "300" } }, strict: true });
const exports = Math.max(60, Number(values.exports));
const WARM_UP = 50;
armGlobalDeadline(120_000);
setChildDeadline(Date.now() + 120_000);

const receiver = await launchScript("ack-receiver", "ack-receiver.ts");
const config = resolveOtlpExporterConfig({ OTEL_EXPORTER_OTLP_ENDPOINT: `http://127.0.0.1:${receiver.port}`, OTEL_EXPORTER_OTLP_PROTOCOL: "grpc" }, "traces", undefined);
const exporter = createOtlpSpanExporter(config);
const format = exporter.format!;
const heldMs: number[] = [];
try {
  for (let i = 0; i < exports; i++) {
    const batch = format.create();
    for (const span of ownSpans(256)) format.add(batch, span);
    // Idle between exports as a gateway at moderate load is, so each call starts from a quiet loop.
    await new Promise((r) => setTimeout(r, 5));
    const start = performance.now();
    const answered = new Promise((r) => exporter.export(batch, r));
    if (i >= WARM_UP) heldMs.push(performance.now() - start);
    await answered;
  }
} finally {
  await exporter.shutdown();
  await stopAll();
}
heldMs.sort((a, b) => a - b);
const at = (q: number): number => round(percentileSorted(heldMs, q), 3);
console.log(JSON.stringify({ benchmark: "span export call", spansPerExport: 512, exports: heldMs.length, p50Ms: at(50), p90Ms: at(90), p99Ms: at(99), node: process.version }));
