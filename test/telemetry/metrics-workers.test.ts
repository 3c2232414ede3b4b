// OTLP metrics with --workers: every worker pushes its own instruments under its own
// service.instance.id, so cumulative series from different workers never collide and a
// backend's sum over instances is the gateway's total.
import { test } from "node:test";
import assert from "node:assert/strict";
import { httpRequest, startGateway } from "../support/gateway-process.ts";
import { startOtlpReceiver } from "../support/otlp-receiver.ts";
import { gatewayYaml, startUpstream } from "./harness.ts";

test("--workers 2 over OTLP: two distinct service.instance.id values, cumulative counts adding up to the requests sent", async (t) => {
  const rx = await startOtlpReceiver("http");
  t.after(() => rx.close());
  const upstream = await startUpstream();
  t.after(() => upstream.close());
  const gw = await startGateway({
    config: gatewayYaml({ upstreamPort: upstream.port }),
    workers: 2,
    env: { OTEL_EXPORTER_OTLP_ENDPOINT: rx.url, OTEL_TRACES_EXPORTER: "none", OTEL_LOGS_EXPORTER: "none", OTEL_METRIC_EXPORT_INTERVAL: "150" },
  });
  t.after(() => gw.stop());

  const sent = 12;
  // A fresh connection per request lets the primary spread them over both workers.
  for (let i = 0; i < sent; i++) assert.equal((await httpRequest(gw.url(8080, `/api/w/${i}`))).status, 200);

  const latestCount = (): Map<string, number> => {
    const byInstance = new Map<string, number>();
    for (const m of rx.metrics) {
      if (m.name !== "http.server.request.duration") continue;
      const h = m.data["histogram"] as { aggregationTemporality: number; dataPoints: { count: string }[] };
      assert.equal(h.aggregationTemporality, 2, "cumulative");
      // Exports arrive in order per instance: the last one seen is the current total.
      byInstance.set(String(m.resource.attributes["service.instance.id"]), h.dataPoints.reduce((n, p) => n + Number(p.count), 0));
    }
    return byInstance;
  };
  const deadline = Date.now() + 20_000;
  let counts = latestCount();
  while ([...counts.values()].reduce((a, b) => a + b, 0) !== sent && Date.now() < deadline) {
    await new Promise((r) => setTimeout(r, 50));
    counts = latestCount();
  }
  assert.equal([...counts.values()].reduce((a, b) => a + b, 0), sent, `every request counted exactly once across workers: ${JSON.stringify([...counts])}`);

  const instances = new Set(rx.metrics.filter((m) => m.name === "tollgate.build.info").map((m) => String(m.resource.attributes["service.instance.id"])));
  assert.equal(instances.size, 2, "each worker exports under its own instance id");
  for (const id of instances) assert.match(id, /-worker-\d+$/);
  const services = new Set(rx.metrics.map((m) => `${m.resource.attributes["service.name"]}|${m.resource.attributes["service.namespace"]}`));
  assert.deepEqual([...services], ["http.kgateway-system|kgateway-system"], "one service, two instances");
  for (const id of counts.keys()) assert.ok(instances.has(id));
});
