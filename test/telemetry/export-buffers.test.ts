// Export requests are encoded into pooled buffers, each lent to the SDK's transport until the
// export's result arrives. With several exports waiting for a slow collector at once, every
// request must still arrive exactly as encoded: no buffer may carry a newer request while an
// older one is still on its way.
import { test } from "node:test";
import assert from "node:assert/strict";
import { startOtlpReceiver } from "../support/otlp-receiver.ts";
import { gatewayYaml, get, startTracedGateway, startUpstream } from "./harness.ts";

const REQUESTS = 60;

for (const c of [
  { protocol: "grpc", transport: "grpc" as const, compression: "none" },
  { protocol: "http/protobuf", transport: "http" as const, compression: "gzip" },
]) {
  test(`${c.protocol} (compression ${c.compression}): overlapping exports to a slow collector deliver every span and record intact`, async (t) => {
    const rx = await startOtlpReceiver(c.transport);
    t.after(() => rx.close());
    rx.ackDelayMs = 150;
    const upstream = await startUpstream();
    t.after(() => upstream.close());
    const small = { MAX_EXPORT_BATCH_SIZE: "8", SCHEDULE_DELAY: "5" };
    const gw = await startTracedGateway(gatewayYaml({ upstreamPort: upstream.port }), {
      OTEL_EXPORTER_OTLP_ENDPOINT: rx.url,
      OTEL_EXPORTER_OTLP_PROTOCOL: c.protocol,
      OTEL_EXPORTER_OTLP_COMPRESSION: c.compression,
      OTEL_TRACES_SAMPLER: "always_on",
      OTEL_METRICS_EXPORTER: "none",
      ...Object.fromEntries(Object.entries(small).flatMap(([k, v]) => [[`OTEL_BSP_${k}`, v], [`OTEL_BLRP_${k}`, v]])),
    });
    t.after(() => gw.close());

    const paths = Array.from({ length: REQUESTS }, (_, i) => `/api/item/${i}`);
    for (let i = 0; i < REQUESTS; i += 20) {
      const statuses = await Promise.all(paths.slice(i, i + 20).map(async (p) => (await get(gw.url(8080, p), { "user-agent": `buffers/${p}` })).status));
      assert.deepEqual(statuses, Array(statuses.length).fill(200));
    }
    await gw.telemetry.flush(10_000);

    const spans = await rx.waitForSpans((s) => s.length >= 2 * REQUESTS);
    assert.equal(spans.length, 2 * REQUESTS, "each span exactly once");
    const servers = spans.filter((s) => s.kind === 2);
    const clients = spans.filter((s) => s.kind === 3);
    assert.deepEqual(servers.map((s) => s.attributes["url.path"]).sort(), [...paths].sort());
    for (const server of servers) {
      assert.equal(server.attributes["user_agent.original"], `buffers/${String(server.attributes["url.path"])}`, "attributes stay with their span");
      const children = clients.filter((s) => s.parentSpanId === server.spanId);
      assert.equal(children.length, 1, `one CLIENT span under ${String(server.attributes["url.path"])}`);
      assert.equal(children[0]!.traceId, server.traceId);
    }
    assert.equal(new Set(servers.map((s) => s.traceId)).size, REQUESTS, "a trace per request");

    const logs = await rx.waitForLogs((l) => l.length >= REQUESTS);
    assert.equal(logs.length, REQUESTS);
    const serverOf = new Map(servers.map((s) => [s.spanId, s]));
    for (const record of logs) {
      const server = serverOf.get(record.spanId);
      assert.ok(server, "each record names the SERVER span of its request");
      assert.equal(record.attributes["url.path"], server.attributes["url.path"]);
    }
    assert.ok(rx.maxUnacknowledged >= 2, `exports overlapped (at most ${rx.maxUnacknowledged} waited at once)`);
  });
}
