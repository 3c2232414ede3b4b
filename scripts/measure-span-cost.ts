// Measures the request-path cost of one SERVER + one CLIENT span, two ways, plus the
// export-side serialisation cost with the official OTLP protobuf serializer:
//   sdk:      @opentelemetry/sdk-trace Tracer + Span + BatchSpanProcessor (attributes set at start)
//   tollgate: the hooks' plain span records pushed to a BatchQueue
// Run: node scripts/measure-span-cost.ts   (a few seconds; results go in docs/tracing.md)
import { context, trace, SpanKind } from "@opentelemetry/api";
import { BatchSpanProcessor, TracerProvider, type ReadableSpan, type SpanExporter } from "@opentelemetry/sdk-trace";
import { ProtobufTraceSerializer } from "@opentelemetry/otlp-transformer";
import { resourceFromAttributes } from "@opentelemetry/resources";
import { TelemetryDrops } from "../src/telemetry/export/drops.ts";
import { BatchQueue } from "../src/telemetry/export/batch-queue.ts";
import { ServerSpan, ClientSpan } from "../src/telemetry/trace/spans.ts";
import { newSpanId, newTraceId } from "../src/telemetry/trace/ids.ts";
import type { RuleTracing } from "../src/telemetry/trace/rule-tracing.ts";
import { envoySampler } from "../src/telemetry/trace/sampler.ts";

const N = 200_000;
const resource = resourceFromAttributes({ "service.name": "bench" });
let sink: ReadableSpan[][] = [];
const exporter: SpanExporter = {
  export(spans, cb) { sink.push(spans); cb({ code: 0 }); },
  async shutdown() {},
};

async function sdkPath(): Promise<number> {
  const provider = new TracerProvider({ resource, spanProcessors: [new BatchSpanProcessor({ exporter, maxQueueSize: N * 2, maxExportBatchSize: N * 2, scheduledDelayMillis: 1e9 })] });
  const tracer = provider.getTracer("tollgate");
  const t0 = performance.now();
  for (let i = 0; i < N; i++) {
    const server = tracer.startSpan("GET /api/*", { kind: SpanKind.SERVER, attributes: {
      "http.request.method": "GET", "http.route": "/api/*", "url.path": "/api/x", "url.scheme": "http", "server.address": "127.0.0.1", "server.port": 8080,
      "client.address": "127.0.0.1", "network.peer.address": "127.0.0.1", "network.peer.port": 50000, "network.protocol.version": "1.1",
      "tollgate.gateway.name": "ns/gw", "tollgate.listener.name": "http", "tollgate.route.name": "ns/r", "tollgate.rule.name": "rule-0" } });
    const ctx = trace.setSpan(context.active(), server);
    const client = tracer.startSpan("GET", { kind: SpanKind.CLIENT, attributes: {
      "http.request.method": "GET", "server.address": "127.0.0.1", "server.port": 9000, "url.full": "http://127.0.0.1:9000/api/x",
      "tollgate.gateway.name": "ns/gw", "tollgate.route.name": "ns/r", "tollgate.rule.name": "rule-0", "tollgate.backend.name": "ns/b" } }, ctx);
    client.setAttribute("http.response.status_code", 200);
    client.setAttribute("network.peer.address", "127.0.0.1");
    client.end();
    server.setAttribute("http.response.status_code", 200);
    server.setAttribute("tollgate.backend.name", "ns/b");
    server.end();
  }
  const t1 = performance.now();
  await provider.forceFlush().catch((e: unknown) => console.error("flush", e));
  return ((t1 - t0) * 1e6) / N;
}

function tollgatePath(): { hook: number; queue: BatchQueue<ReadableSpan> } {
  const rt = {
    enabled: true, sampler: envoySampler(100, 100, 100), upstreamSpans: true, httpRoute: "/api/*",
    serverStatic: [["http.route", "/api/*"], ["tollgate.gateway.name", "ns/gw"], ["tollgate.route.name", "ns/r"], ["tollgate.rule.name", "rule-0"], ["tollgate.listener.name", "http"]],
    clientStatic: [["tollgate.gateway.name", "ns/gw"], ["tollgate.route.name", "ns/r"], ["tollgate.rule.name", "rule-0"]],
    requestHeaderAttrs: [], responseHeaderAttrs: [], backendMetadataAttrs: [], resource, queues: [],
    capture: { serverRequest: [], serverResponse: [], clientRequest: [], allowedSensitive: new Set() },
    limits: { countLimit: 128, valueLengthLimit: Infinity },
  } as unknown as RuleTracing;
  const queue = new BatchQueue<ReadableSpan>(exporter, { signal: "traces", maxQueueSize: N * 2, maxExportBatchSize: N * 2, scheduledDelayMs: 1e9, exportTimeoutMs: 1e9, drops: new TelemetryDrops(), warning: undefined });
  const t0 = performance.now();
  for (let i = 0; i < N; i++) {
    const traceId = newTraceId();
    const sampled = rt.sampler.sample(traceId, undefined, false);
    const now = performance.now();
    const s = new ServerSpan(traceId, newSpanId(), undefined, sampled, true, undefined, undefined, rt, now, now, "GET", "GET", "/api/x", "", "http", "127.0.0.1", 8080, "127.0.0.1", "127.0.0.1", 50000, "1.1", undefined, undefined);
    const c = new ClientSpan(s, newSpanId(), now, now, "GET", "GET", 0, "http://127.0.0.1:9000/api/x", "127.0.0.1", 9000, "ns/b");
    c.endPerfMs = now; c.httpStatus = 200; c.peerAddress = "127.0.0.1"; c.done = true;
    queue.push(c);
    s.endPerfMs = now; s.httpStatus = 200; s.backendName = "ns/b"; s.finished = true;
    queue.push(s);
  }
  return { hook: ((performance.now() - t0) * 1e6) / N, queue };
}

function serialiseCost(spans: ReadableSpan[]): number {
  const t0 = performance.now();
  for (let i = 0; i < spans.length; i += 512) ProtobufTraceSerializer.serializeRequest(spans.slice(i, i + 512));
  return ((performance.now() - t0) * 1e6) / (spans.length / 2);
}

for (let round = 0; round < 2; round++) {
  sink = [];
  const sdk = await sdkPath();
  await new Promise((r) => setTimeout(r, 50));
  const sdkSpans = sink.flat().slice(0, 100_000);
  const sdkSer = serialiseCost(sdkSpans);
  sink = [];
  const { hook, queue } = tollgatePath();
  await queue.flush(60_000);
  const ours = sink.flat().slice(0, 100_000);
  const ourSer = serialiseCost(ours);
  console.log(`round ${round}: request path per request (server+client span): sdk ${sdk.toFixed(0)} ns, tollgate ${hook.toFixed(0)} ns; protobuf serialisation per request: sdk spans ${sdkSer.toFixed(0)} ns, tollgate spans ${ourSer.toFixed(0)} ns`);
}
