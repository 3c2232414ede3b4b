// A telemetry hook that throws on a real gateway: the request is proxied, the other hooks'
// telemetry still reaches the collector (also when the one that throws is the tracer's,
// ahead of the access log and metrics), and the failure arrives there too, as the
// tollgate.telemetry.hook.errors counter (OTLP and Prometheus) and one warning.
import { test, type TestContext } from "node:test";
import assert from "node:assert/strict";
import { ProcessStats } from "../../src/server/stats.ts";
import type { RequestTelemetry } from "../../src/telemetry/hooks.ts";
import type { Telemetry } from "../../src/telemetry/index.ts";
import { RequestTracer } from "../../src/telemetry/trace/request-tracer.ts";
import type { Exchange } from "../../src/proxy/exchange.ts";
import { startOtlpReceiver } from "../support/otlp-receiver.ts";
import { gatewayYaml, get, startTracedGateway, startUpstream, sumPoints, type TracedGatewayOptions } from "./harness.ts";

/** The real telemetry, with a bug planted after its onRequestEnd for paths under /api/boom. */
function buggyAfterRequestEnd(telemetry: Telemetry): RequestTelemetry {
  return {
    onPlan: (plan) => telemetry.onPlan(plan),
    onRequestStart: (exchange) => telemetry.onRequestStart(exchange),
    onAttemptStart: (exchange, attempt, headers) => telemetry.onAttemptStart(exchange, attempt, headers),
    onAttemptEnd: (exchange, attempt) => telemetry.onAttemptEnd(exchange, attempt),
    onRequestEnd(exchange) {
      telemetry.onRequestEnd(exchange);
      if (exchange.path.startsWith("/api/boom")) throw new Error(`accounting bug on ${exchange.path}`);
    },
  };
}

/**
 * An OTLP/HTTP receiver, an upstream and a traced gateway exporting to it (metrics only on
 * flush), all closed after the test; `send` proxies the paths and waits for the request_end
 * failures expected, then flushes.
 */
async function startRecorded(t: TestContext, logsExporter: string, hooks?: TracedGatewayOptions["hooks"]) {
  const rx = await startOtlpReceiver("http");
  t.after(() => rx.close());
  const upstream = await startUpstream();
  t.after(() => upstream.close());
  const stats = new ProcessStats();
  const gw = await startTracedGateway(
    gatewayYaml({ upstreamPort: upstream.port }),
    { OTEL_EXPORTER_OTLP_ENDPOINT: rx.url, OTEL_TRACES_SAMPLER: "always_on", OTEL_LOGS_EXPORTER: logsExporter, OTEL_METRIC_EXPORT_INTERVAL: "3600000" },
    { stats, ...(hooks === undefined ? {} : { hooks }) },
  );
  t.after(() => gw.close());
  const send = async (paths: readonly string[], failures: number): Promise<void> => {
    for (const path of paths) assert.equal((await get(gw.url(8080, path))).status, 200, path);
    const deadline = Date.now() + 5000;
    while ((stats.telemetryHookErrors.get("request_end") ?? 0) < failures && Date.now() < deadline) await new Promise((r) => setTimeout(r, 10));
    assert.equal(stats.telemetryHookErrors.get("request_end"), failures, "every failure is counted");
    await gw.telemetry.flush(5000);
  };
  return { rx, gw, send };
}

test("a hook that throws is counted in tollgate.telemetry.hook.errors over OTLP and /metrics, and warned about once", async (t) => {
  const { rx, gw, send } = await startRecorded(t, "none", buggyAfterRequestEnd);
  await send(["/api/ok", "/api/boom/1", "/api/boom/2"], 2);

  const spans = await rx.waitForSpans((s) => s.filter((x) => x.kind === 2).length >= 3);
  assert.deepEqual(
    spans.filter((s) => s.kind === 2).map((s) => s.attributes["url.path"]).sort(),
    ["/api/boom/1", "/api/boom/2", "/api/ok"],
    "the failure came after the real hook: every SERVER span was exported",
  );

  const warnings = gw.warnings.filter((w) => w.message.startsWith("telemetry hook request_end threw"));
  assert.equal(warnings.length, 1, "two failures within a minute, one warning");
  assert.match(warnings[0]!.message, /accounting bug on \/api\/boom\/1$/);
  assert.equal(warnings[0]!.fields["failedCalls"], 1);

  const metrics = await rx.waitForMetrics((m) => m.some((x) => x.name === "tollgate.telemetry.hook.errors"));
  const metric = metrics.find((m) => m.name === "tollgate.telemetry.hook.errors")!;
  assert.equal(metric.unit, "{call}");
  assert.equal((metric.data["sum"] as { isMonotonic?: boolean }).isMonotonic, true, "a counter");
  assert.deepEqual(sumPoints(metric), [{ attributes: { "tollgate.telemetry.hook": "request_end" }, value: 2 }]);

  const exposition = await gw.telemetry.metrics!.render(undefined);
  assert.match(exposition.body, /^tollgate_telemetry_hook_errors_total\{tollgate_telemetry_hook="request_end",otel_scope_name="tollgate"[^}]*\} 2$/m);
});

test("a tracer hook that throws costs neither the access log nor the metrics their record of the request", async (t) => {
  // A bug planted in the tracer itself, ahead of the access log and metrics hooks: they must
  // still run (the metrics pair each start with its end to know when a retired resource is done).
  const realEnd = RequestTracer.prototype.onRequestEnd;
  RequestTracer.prototype.onRequestEnd = function (this: RequestTracer, exchange: Exchange): void {
    if (exchange.path.startsWith("/api/boom")) throw new Error(`tracer bug on ${exchange.path}`);
    realEnd.call(this, exchange);
  };
  t.after(() => {
    RequestTracer.prototype.onRequestEnd = realEnd;
  });
  const { rx, send } = await startRecorded(t, "otlp");
  await send(["/api/ok", "/api/boom/1"], 1);

  const logs = await rx.waitForLogs((l) => l.length >= 2);
  assert.deepEqual(logs.map((l) => l.attributes["url.path"]).sort(), ["/api/boom/1", "/api/ok"]);
  const metrics = await rx.waitForMetrics((m) => m.some((x) => x.name === "http.server.request.duration"));
  const duration = metrics.find((m) => m.name === "http.server.request.duration")!;
  const counts = ((duration.data["histogram"] as { dataPoints?: { count?: unknown }[] }).dataPoints ?? []).map((p) => Number(p.count));
  assert.equal(counts.reduce((a, b) => a + b, 0), 2, "both requests are in the duration histogram");
  const active = sumPoints(metrics.find((m) => m.name === "http.server.active_requests"));
  assert.ok(active.length > 0, "http.server.active_requests was exported");
  assert.deepEqual(active.map((p) => p.value), active.map(() => 0), "every request that started has ended");
  const spans = await rx.waitForSpans((s) => s.some((x) => x.kind === 2));
  assert.deepEqual(spans.filter((s) => s.kind === 2).map((s) => s.attributes["url.path"]), ["/api/ok"], "only the tracer's own record of the broken request is lost");
});
