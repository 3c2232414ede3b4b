// Drain step 5, "telemetry is flushed": a real gateway process whose batch queues would not
// export for ten minutes (OTEL_BSP_SCHEDULE_DELAY, OTEL_BLRP_SCHEDULE_DELAY,
// OTEL_METRIC_EXPORT_INTERVAL) holds every span, access log and metric point of N requests;
// SIGTERM must deliver all of them to the in-process OTLP receiver before the process exits 0.
import { test } from "node:test";
import assert from "node:assert/strict";
import { httpRequest, startGateway } from "../support/gateway-process.ts";
import { startOtlpReceiver } from "../support/otlp-receiver.ts";
import { startUpstream } from "../support/upstreams.ts";
import { gatewayYaml } from "../telemetry/harness.ts";

const TEN_MINUTES = "600000";
const N = 12;

const cases = [
  { protocol: "grpc", transport: "grpc" as const, thread: false },
  { protocol: "http/protobuf", transport: "http" as const, thread: false },
  { protocol: "grpc", transport: "grpc" as const, thread: true },
  { protocol: "http/protobuf", transport: "http" as const, thread: true },
];

/** Sum of the data point counts of a histogram metric across every export received. */
function histogramCount(metrics: readonly { name: string; data: Record<string, unknown> }[], name: string): number {
  let total = 0;
  for (const m of metrics) {
    if (m.name !== name) continue;
    const points = ((m.data.histogram as { dataPoints?: { count?: string | number }[] } | undefined)?.dataPoints ?? []);
    for (const p of points) total += Number(p.count ?? 0);
  }
  return total;
}

for (const c of cases) {
  test(`SIGTERM flushes every queued span, access log and metric over ${c.protocol}${c.thread ? " from the export thread" : ""}, then exits 0`, { timeout: 60_000 }, async (t) => {
    const rx = await startOtlpReceiver(c.transport);
    t.after(() => rx.close());
    const upstream = await startUpstream("flush-upstream");
    t.after(() => upstream.close());
    const gw = await startGateway({
      config: gatewayYaml({ upstreamPort: upstream.port }),
      env: {
        OTEL_EXPORTER_OTLP_ENDPOINT: rx.url,
        OTEL_EXPORTER_OTLP_PROTOCOL: c.protocol,
        OTEL_BSP_SCHEDULE_DELAY: TEN_MINUTES,
        OTEL_BLRP_SCHEDULE_DELAY: TEN_MINUTES,
        OTEL_METRIC_EXPORT_INTERVAL: TEN_MINUTES,
        OTEL_TRACES_EXPORTER: "otlp",
        OTEL_LOGS_EXPORTER: "otlp",
        OTEL_METRICS_EXPORTER: "otlp",
        TOLLGATE_TELEMETRY_EXPORT_THREAD: String(c.thread),
        // The helper's 1 s default is meant for dead collectors; this one is alive.
        TOLLGATE_TELEMETRY_SHUTDOWN_TIMEOUT_MS: "15000",
      },
    });
    t.after(() => gw.stop());

    for (let i = 0; i < N; i++) {
      const res = await httpRequest(gw.url(8080, `/api/flush/${i}`));
      assert.equal(res.status, 200);
    }
    // Ops round trip after the last response: the spans and logs ended with their responses.
    assert.equal((await httpRequest(gw.opsUrl("/readyz"))).status, 200);
    assert.deepEqual(
      { spans: rx.spans.length, logs: rx.logs.length, metrics: rx.metrics.length, requests: rx.requests.length },
      { spans: 0, logs: 0, metrics: 0, requests: 0 },
      "the queues hold everything until the drain",
    );

    const from = gw.logs().length;
    gw.signal("SIGTERM");
    assert.deepEqual(await gw.waitForExit(), { code: 0, signal: null });

    const paths = (kind: number): string[] =>
      rx.spans
        .filter((s) => s.kind === kind)
        .map((s) => String(s.attributes["url.path"] ?? s.attributes["url.full"] ?? ""))
        .sort();
    const expected = Array.from({ length: N }, (_, i) => `/api/flush/${i}`).sort();
    assert.deepEqual(paths(2), expected, `all ${N} SERVER spans arrived`);
    assert.equal(rx.spans.filter((s) => s.kind === 3).length, N, `all ${N} CLIENT spans arrived`);
    assert.equal(rx.spans.length, 2 * N);
    assert.deepEqual(
      rx.logs.map((l) => String(l.attributes["url.path"])).sort(),
      expected,
      `all ${N} access log records arrived`,
    );
    for (const l of rx.logs) assert.equal(l.eventName, "tollgate.access");
    assert.equal(histogramCount(rx.metrics, "http.server.request.duration"), N, "the final metric export counts every request");

    const steps = gw
      .logs()
      .slice(from)
      .map((l) => l.msg);
    const flushed = steps.indexOf("drain: telemetry flushed");
    assert.ok(flushed >= 0, `the drain logged its flush step (got ${steps.join(" | ")})`);
    assert.ok(steps.indexOf("drained; exiting") > flushed, "exit comes after the flush");
    const dropWarnings = gw.logs().slice(from).filter((l) => String(l.msg).startsWith("telemetry export to"));
    assert.deepEqual(dropWarnings, [], "nothing failed or was dropped during the flush");
  });
}
