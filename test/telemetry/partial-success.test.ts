// A collector that accepts an export only in part (OTLP partial success, encoded with the
// official protos) costs what it rejected: those items are counted as `rejected` drops, not
// as exported, and the warning carries the collector's reason. Every transport, the export
// thread and all three signals.
import { test } from "node:test";
import assert from "node:assert/strict";
import { startOtlpReceiver } from "../support/otlp-receiver.ts";
import { gatewayYaml, get, startTracedGateway, startUpstream } from "./harness.ts";

const cases = [
  { name: "gRPC", transport: "grpc", protocol: "grpc", thread: false },
  { name: "HTTP protobuf", transport: "http", protocol: "http/protobuf", thread: false },
  { name: "HTTP JSON", transport: "http", protocol: "http/json", thread: false },
  { name: "gRPC from the export thread", transport: "grpc", protocol: "grpc", thread: true },
] as const;

for (const c of cases) {
  test(`partial success over ${c.name}: rejected spans, log records and data points are dropped as rejected and reported`, async (t) => {
    const rx = await startOtlpReceiver(c.transport);
    t.after(() => rx.close());
    rx.partialSuccess = { rejected: 1, message: "one item too large" };
    const upstream = await startUpstream();
    t.after(() => upstream.close());
    const gw = await startTracedGateway(gatewayYaml({ upstreamPort: upstream.port }), {
      OTEL_EXPORTER_OTLP_ENDPOINT: rx.url,
      OTEL_EXPORTER_OTLP_PROTOCOL: c.protocol,
      OTEL_LOGS_EXPORTER: "otlp",
      OTEL_BSP_SCHEDULE_DELAY: "3600000",
      OTEL_BLRP_SCHEDULE_DELAY: "3600000",
      OTEL_METRIC_EXPORT_INTERVAL: "3600000",
      ...(c.thread ? { TOLLGATE_TELEMETRY_EXPORT_THREAD: "true" } : {}),
    });
    t.after(() => gw.close());
    for (let i = 0; i < 2; i++) assert.equal((await get(gw.url(8080, `/api/${i}`))).status, 200);
    // One batch per signal: 4 spans, 2 log records, the metric points of one resource.
    await gw.telemetry.flush(5000);
    assert.equal(rx.spans.length, 4);
    assert.equal(rx.logs.length, 2);
    const points = rx.metrics.reduce((n, m) => {
      const d = m.data as Record<string, { dataPoints?: unknown[] } | undefined>;
      return n + ((d["histogram"] ?? d["exponentialHistogram"] ?? d["sum"] ?? d["gauge"])?.dataPoints?.length ?? 0);
    }, 0);
    assert.ok(points > 1, `metric points: ${points}`);

    const drops = gw.telemetry.drops;
    assert.deepEqual([drops.get("traces", "rejected"), drops.get("logs", "rejected"), drops.get("metrics", "rejected")], [1, 1, 1]);
    assert.equal(drops.get("traces") + drops.get("logs") + drops.get("metrics"), 3, "nothing else dropped");
    assert.equal(gw.telemetry.exportedSpans(), 3);
    assert.equal(gw.telemetry.exportedLogRecords(), 1);
    assert.equal(gw.telemetry.exportedMetricPoints(), points - 1);
    const warnings = gw.warnings.filter((w) => w.message.includes("rejected"));
    assert.deepEqual(
      warnings.map((w) => [w.fields.signal, w.message.replace(/^telemetry export to .*? failed: /, ""), w.fields.droppedItems]).sort(),
      [
        ["logs", "the collector rejected 1 of 2 items: one item too large", 1],
        ["metrics", `the collector rejected 1 of ${points} items: one item too large`, 1],
        ["traces", "the collector rejected 1 of 4 items: one item too large", 1],
      ],
    );
  });
}
