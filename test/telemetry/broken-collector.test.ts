// A collector that is down (closed port) or black-holed (accepts TCP, never answers) costs
// the proxy nothing but dropped spans: every request succeeds, drops are counted by reason,
// and the export failure is reported once per minute naming the endpoint.
import { test, type TestContext } from "node:test";
import assert from "node:assert/strict";
import { execFile } from "node:child_process";
import { fileURLToPath } from "node:url";
import { setTimeout as sleep } from "node:timers/promises";
import { MAX_CONCURRENT_EXPORTS, MAX_EXPORTS_AWAITING } from "../../src/telemetry/export/batch-queue.ts";
import { blackHoleServer, closedPort, type BlackHole } from "../support/otlp-receiver.ts";
import { gatewayYaml, get, startTracedGateway, startUpstream } from "./harness.ts";

const REQUESTS = 200;

async function hammer(url: string): Promise<number[]> {
  const statuses: number[] = [];
  for (let i = 0; i < REQUESTS; i += 20) {
    const batch = await Promise.all(Array.from({ length: 20 }, () => get(url)));
    statuses.push(...batch.map((r) => r.status));
  }
  return statuses;
}

for (const protocol of ["grpc", "http/protobuf"] as const) {
  test(`dead collector over ${protocol}: requests succeed, failed exports counted, one warning naming the endpoint`, async (t) => {
    const port = await closedPort();
    const upstream = await startUpstream();
    t.after(() => upstream.close());
    const gw = await startTracedGateway(gatewayYaml({ upstreamPort: upstream.port }), {
      OTEL_EXPORTER_OTLP_ENDPOINT: `http://127.0.0.1:${port}`,
      OTEL_EXPORTER_OTLP_PROTOCOL: protocol,
      OTEL_EXPORTER_OTLP_TIMEOUT: "300",
      OTEL_BSP_SCHEDULE_DELAY: "10",
      OTEL_BSP_MAX_EXPORT_BATCH_SIZE: "50",
    });
    t.after(() => gw.close());
    const statuses = await hammer(gw.url(8080, "/api/x"));
    assert.deepEqual(new Set(statuses), new Set([200]));
    assert.equal(statuses.length, REQUESTS);
    await gw.telemetry.flush(5000);
    const drops = gw.telemetry.drops;
    const dropped = drops.get("traces");
    // Every span (server + client per request) was either dropped or, impossibly, exported.
    assert.equal(dropped + gw.telemetry.exportedSpans(), REQUESTS * 2);
    assert.equal(gw.telemetry.exportedSpans(), 0);
    assert.ok(drops.get("traces", "export_failed") + drops.get("traces", "export_timeout") > 0);
    // One exporter per signal shares the dead endpoint; the traces exporter warns once.
    const exportWarnings = gw.warnings.filter((w) => w.message.startsWith("telemetry export to") && w.fields.signal === "traces");
    assert.equal(exportWarnings.length, 1, "rate limited to one per exporter per minute");
    assert.ok(exportWarnings[0]!.message.includes(`127.0.0.1:${port}`), exportWarnings[0]!.message);
    assert.equal(exportWarnings[0]!.fields.signal, "traces");
  });
}

for (const protocol of ["grpc", "http/protobuf"] as const) {
  test(`an OTLP endpoint over ${protocol} that is no usable URL: the gateway starts and serves, drops are counted, credentials never shown`, async (t) => {
    const upstream = await startUpstream();
    t.after(() => upstream.close());
    // A password holding `/` makes the URL unparseable; the SDK transports throw on it, URL included.
    const gw = await startTracedGateway(gatewayYaml({ upstreamPort: upstream.port }), {
      OTEL_EXPORTER_OTLP_ENDPOINT: "https://qqtenant:pw1x/pw2x@collector.example:4318",
      OTEL_EXPORTER_OTLP_PROTOCOL: protocol,
      OTEL_BSP_SCHEDULE_DELAY: "10",
    });
    t.after(() => gw.close());
    assert.equal((await get(gw.url(8080, "/api/x"))).status, 200);
    await gw.telemetry.flush(5000);
    assert.equal(gw.telemetry.drops.get("traces", "export_failed"), 2, "the server and client span, counted as failed exports");
    const text = JSON.stringify(gw.warnings);
    for (const secret of ["qqtenant", "pw1x", "pw2x"]) assert.ok(!text.includes(secret), `${secret} in ${text}`);
    const traces = gw.warnings.filter((w) => w.fields.signal === "traces").map((w) => w.message);
    const shown = protocol === "grpc" ? "https://[REDACTED]@collector.example:4318" : "https://[REDACTED]@collector.example:4318/v1/traces";
    assert.deepEqual(traces, [
      `OTLP traces endpoint '${shown}' is not ${protocol === "grpc" ? "a URL" : "an http(s) URL"}; nothing of this signal is exported`,
      `telemetry export to ${protocol} ${shown} failed: the OTLP endpoint is not a usable URL`,
    ]);
  });
}

/** A gateway with an upstream, exporting to a collector that accepts TCP and never answers. */
async function blackHoledGateway(t: TestContext, env: (holeUrl: string) => Record<string, string>): Promise<{ hole: BlackHole; gw: Awaited<ReturnType<typeof startTracedGateway>> }> {
  const hole = await blackHoleServer();
  t.after(() => hole.close());
  const upstream = await startUpstream();
  t.after(() => upstream.close());
  const gw = await startTracedGateway(gatewayYaml({ upstreamPort: upstream.port }), env(hole.url));
  t.after(() => gw.close());
  return { hole, gw };
}

test("black-holed collector: requests keep flowing, the full queue drops and counts", async (t) => {
  const { hole, gw } = await blackHoledGateway(t, (url) => ({
    OTEL_EXPORTER_OTLP_ENDPOINT: url,
    OTEL_EXPORTER_OTLP_PROTOCOL: "grpc",
    OTEL_BSP_SCHEDULE_DELAY: "10",
    OTEL_BSP_MAX_QUEUE_SIZE: "100",
    OTEL_BSP_MAX_EXPORT_BATCH_SIZE: "50",
    OTEL_BSP_EXPORT_TIMEOUT: "60000",
    OTEL_EXPORTER_OTLP_TIMEOUT: "60000",
  }));
  const statuses = await hammer(gw.url(8080, "/api/x"));
  assert.equal(statuses.filter((s) => s === 200).length, REQUESTS);
  const drops = gw.telemetry.drops;
  // At most MAX_CONCURRENT_EXPORTS batches of 50 hang in the exporter, the queue holds 100: everything else is dropped.
  assert.ok(drops.get("traces", "queue_full") >= REQUESTS * 2 - (100 + MAX_CONCURRENT_EXPORTS * 50), `queue_full ${drops.get("traces", "queue_full")}`);
  assert.equal(gw.telemetry.exportedSpans(), 0);
  assert.ok(hole.connections() >= 1, "the exporter did connect");
});

for (const thread of ["true", "false"]) {
  test(`black-holed collector (export thread ${thread}): queued and stuck spans and log records do not retain the request`, async () => {
    const child = fileURLToPath(new URL("./retention-child.ts", import.meta.url));
    const stdout = await new Promise<string>((resolve, reject) => {
      execFile(process.execPath, ["--expose-gc", child, thread], { timeout: 60_000 }, (err, out, errOut) => {
        if (err !== null) reject(new Error(`${err.message}\n${errOut}`));
        else resolve(out);
      });
    });
    const r = JSON.parse(stdout.trim().split("\n").pop()!) as {
      ok: number; seen: number; alive: number;
      before: { tracesDropped: number; logsDropped: number; spansExported: number; logsExported: number };
      after: { tracesShutdown: number };
    };
    assert.equal(r.ok, 200);
    assert.equal(r.seen, 200);
    // At GC time every span and record was still held by telemetry: none exported or dropped yet...
    assert.deepEqual(r.before, { tracesDropped: 0, logsDropped: 0, spansExported: 0, logsExported: 0 });
    // ...all 400 spans queued or stuck in the exporter (batches of 100) until shutdown counted them as dropped...
    assert.equal(r.after.tracesShutdown, 400);
    // ...and yet no IncomingMessage survived a forced GC: items hold copied facts, not requests.
    assert.equal(r.alive, 0, `${r.alive} of ${r.seen} requests retained`);
  });
}

test("black-holed collector over HTTP: export timeout counts the batch as dropped", async (t) => {
  const { hole, gw } = await blackHoledGateway(t, (url) => ({
    OTEL_EXPORTER_OTLP_TRACES_ENDPOINT: `${url}/v1/traces`,
    OTEL_BSP_SCHEDULE_DELAY: "10",
    OTEL_BSP_EXPORT_TIMEOUT: "200",
    OTEL_EXPORTER_OTLP_TIMEOUT: "10000",
  }));
  for (let i = 0; i < 5; i++) assert.equal((await get(gw.url(8080, "/api/x"))).status, 200);
  await gw.telemetry.flush(3000);
  assert.equal(gw.telemetry.drops.get("traces", "export_timeout"), 10);
  const w = gw.warnings.find((x) => x.message.startsWith("telemetry export to"));
  assert.ok(w?.message.includes(`${hole.url}/v1/traces`), w?.message);
});

test("black-holed collector over HTTP: a bounded number of timed-out exports stay with the exporter, later batches fail at once", async (t) => {
  const { hole, gw } = await blackHoledGateway(t, (url) => ({
    OTEL_EXPORTER_OTLP_TRACES_ENDPOINT: `${url}/v1/traces`,
    OTEL_BSP_SCHEDULE_DELAY: "10",
    OTEL_BSP_EXPORT_TIMEOUT: "50",
    OTEL_EXPORTER_OTLP_TIMEOUT: "60000",
  }));
  const drops = gw.telemetry.drops;
  const requests = MAX_EXPORTS_AWAITING + 3;
  for (let i = 0; i < requests; i++) {
    assert.equal((await get(gw.url(8080, "/api/x"))).status, 200);
    // One batch per request: wait until this request's two spans are accounted for.
    for (let k = 0; k < 250 && drops.get("traces") < 2 * (i + 1); k++) await sleep(20);
    assert.equal(drops.get("traces"), 2 * (i + 1));
  }
  // The SDK is still holding the first MAX_EXPORTS_AWAITING batches (its own timeout is 60 s)...
  assert.equal(drops.get("traces", "export_timeout"), 2 * MAX_EXPORTS_AWAITING);
  // ...so the next three never reached it.
  assert.equal(drops.get("traces", "export_failed"), 6);
  const w = gw.warnings.find((x) => x.message.startsWith("telemetry export to"));
  assert.ok(w !== undefined);
});
