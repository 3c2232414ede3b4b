// Run by broken-collector.test.ts as `node --expose-gc retention-child.ts`: a traced
// gateway whose collector is black-holed serves requests; afterwards the spans and access
// log records are still queued (or stuck in an export), and we check with WeakRefs and
// forced GC that none of them keeps an IncomingMessage alive. Prints one JSON line.
import { createServer, type IncomingMessage } from "node:http";
import type { AddressInfo } from "node:net";
import { setTimeout as sleep } from "node:timers/promises";
import { blackHoleServer } from "../support/otlp-receiver.ts";
import { createProxyHandlers } from "../../src/proxy/handler.ts";
import { UpstreamPools } from "../../src/proxy/pools.ts";
import { createTelemetry } from "../../src/telemetry/index.ts";
import { loadConfigText } from "../../src/config/load.ts";
import { compilePlan } from "../../src/plan/compile.ts";
import { compileFilters } from "../../src/proxy/filters.ts";
import { gatewayYaml, get, startUpstream } from "./harness.ts";

const REQUESTS = 200;
const gc = (globalThis as { gc?: () => void }).gc;
if (gc === undefined) throw new Error("run with --expose-gc");

const hole = await blackHoleServer();
const upstream = await startUpstream();
const loaded = loadConfigText(gatewayYaml({ upstreamPort: upstream.port }), "retention.yaml");
if (loaded.config === undefined) throw new Error("config did not load");
const plan = compilePlan(loaded.config, 1, compileFilters);
const telemetry = createTelemetry({
  env: {
    OTEL_EXPORTER_OTLP_ENDPOINT: hole.url,
    OTEL_EXPORTER_OTLP_PROTOCOL: "grpc",
    OTEL_LOGS_EXPORTER: "otlp",
    OTEL_METRICS_EXPORTER: "none",
    // One batch of 100 spans hangs in the exporter; the rest wait in the queue.
    OTEL_BSP_MAX_EXPORT_BATCH_SIZE: "100",
    OTEL_BSP_SCHEDULE_DELAY: "60000",
    OTEL_BSP_EXPORT_TIMEOUT: "60000",
    OTEL_BLRP_SCHEDULE_DELAY: "60000",
    OTEL_EXPORTER_OTLP_TIMEOUT: "60000",
    TOLLGATE_TELEMETRY_EXPORT_THREAD: process.argv[2] ?? "true",
  },
  warn: () => {},
});
telemetry.onPlan(plan);
const pools = new UpstreamPools();
const handlers = createProxyHandlers({ currentPlan: () => plan, telemetry, pools }, 8080);
const requests: WeakRef<IncomingMessage>[] = [];
const server = createServer((req, res) => {
  requests.push(new WeakRef(req));
  handlers.request(req, res);
});
await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/api/x`;

let ok = 0;
for (let i = 0; i < REQUESTS; i += 20) {
  const batch = await Promise.all(Array.from({ length: 20 }, () => get(url)));
  ok += batch.filter((r) => r.status === 200).length;
}
// Let the connections (agent: false, Connection: close) finish closing.
for (let i = 0; i < 100; i++) {
  const open = await new Promise<number>((resolve) => server.getConnections((_e, n) => resolve(n)));
  if (open === 0) break;
  await sleep(20);
}
for (let i = 0; i < 6; i++) {
  gc();
  await sleep(20);
}
const alive = requests.filter((r) => r.deref() !== undefined).length;
const before = {
  tracesDropped: telemetry.drops.get("traces"),
  logsDropped: telemetry.drops.get("logs"),
  spansExported: telemetry.exportedSpans(),
  logsExported: telemetry.exportedLogRecords(),
};
server.close();
await pools.close?.();
await telemetry.shutdown(300);
const after = { tracesShutdown: telemetry.drops.get("traces", "shutdown"), logsShutdown: telemetry.drops.get("logs", "shutdown") };
await upstream.close();
await hole.close();
process.stdout.write(JSON.stringify({ ok, seen: requests.length, alive, before, after }) + "\n");
process.exit(0);
