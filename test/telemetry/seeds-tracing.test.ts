// Every tracing YAML in seeds 001-004, loaded verbatim (extracted from the seed files at
// test time), behaves as its seed says. Each is combined with a test Gateway/HTTPRoute and a
// Backend named like the seed's collector Service, pointing at an in-process receiver.
import { test, type TestContext } from "node:test";
import assert from "node:assert/strict";
import { createServer, type Server } from "node:http";
import { connect, type AddressInfo } from "node:net";
import { seedSnippets, snippetWith } from "../config/seed-snippets.ts";
import { startOtlpReceiver, type OtlpReceiver, type ReceivedSpan } from "../support/otlp-receiver.ts";
import { collectorBackend, gatewayYaml, get, startTracedGateway, startUpstream, type TracedGateway, type Upstream } from "./harness.ts";

const S1 = "001-kgateway-tracing-docs.txt";
const S2 = "002-gep-telemetry-policy.txt";
const S4 = "004-kgateway-otel-stack.md";

async function rig(t: TestContext, gatewayOpts: { gateway?: string; namespace?: string; routeNamespace?: string }, docs: (rx: OtlpReceiver) => string[], env: Record<string, string> = {}) {
  const rx = await startOtlpReceiver("grpc");
  t.after(() => rx.close());
  const upstream = await startUpstream();
  t.after(() => upstream.close());
  const yaml = gatewayYaml({ upstreamPort: upstream.port, ...gatewayOpts, extra: docs(rx).join("---\n") });
  const gw = await startTracedGateway(yaml, { OTEL_BSP_SCHEDULE_DELAY: "20", ...env });
  t.after(() => gw.close());
  return { rx, upstream, gw };
}

async function send(gw: TracedGateway, n: number, headers: Record<string, string> = {}, path = "/api/x"): Promise<void> {
  for (let i = 0; i < n; i += 25) {
    const batch = await Promise.all(Array.from({ length: Math.min(25, n - i) }, () => get(gw.url(8080, path), headers)));
    for (const r of batch) assert.equal(r.status, 200);
  }
  await gw.telemetry.flush(5000);
}

function sampledFlags(upstream: Upstream): boolean[] {
  return upstream.seen.map((h) => (parseInt(String(h.traceparent).slice(-2), 16) & 1) === 1);
}

function assertBinomial(kept: number, n: number, p: number, what: string): void {
  const sd = Math.sqrt(n * p * (1 - p));
  assert.ok(Math.abs(kept - n * p) <= 5 * sd + 1, `${what}: ${kept} of ${n}, expected ${n * p} ± ${(5 * sd).toFixed(0)}`);
}

/** seed 001's first ListenerPolicy, the one without attributes ("Enable tracing"). */
function enableTracingPolicy(): string {
  const found = seedSnippets(S1).filter((x) => x.text.includes("kind: ListenerPolicy") && !x.text.includes("attributes:"));
  assert.equal(found.length, 1);
  return found[0]!.text;
}

const servers = (spans: readonly ReceivedSpan[]) => spans.filter((s) => s.kind === 2);

test("seed 001 'Enable tracing': 100/100/100 exports a SERVER and a CLIENT span per request to the collector backendRef", async (t) => {
  const policy = enableTracingPolicy();
  const { rx, gw } = await rig(t, {}, (rx) => [policy, collectorBackend("otel-collector", "kgateway-system", rx.port)]);
  await send(gw, 10);
  const spans = await rx.waitForSpans((s) => s.length >= 20);
  assert.equal(spans.length, 20);
  const s = servers(spans)[0]!;
  // The seed's expected output: service.name http.kgateway-system, service.namespace kgateway-system.
  assert.equal(s.resource.attributes["service.name"], "http.kgateway-system");
  assert.equal(s.resource.attributes["service.namespace"], "kgateway-system");
});

test("seed 001 custom span attributes: literal and request header", async (t) => {
  const policy = snippetWith(S1, "kind: ListenerPolicy", "attributes:");
  const { rx, gw, upstream } = await rig(t, {}, (rx) => [policy, collectorBackend("otel-collector", "kgateway-system", rx.port)]);
  await send(gw, 1, { "x-request-id": "req-42" });
  const spans = await rx.waitForSpans((s) => s.length >= 2);
  for (const s of spans) {
    assert.equal(s.attributes["environment"], "production", s.name);
    assert.equal(s.attributes["request-id"], "req-42", s.name);
  }
  assert.equal(upstream.seen[0]!["x-request-id"], "req-42", "a client's id is kept");
  // The seed's own curl sends none: as under kgateway (Envoy's generate_request_id), the gateway makes one.
  await send(gw, 1);
  const generated = await rx.waitForSpans((s) => s.length >= 4);
  const id = upstream.seen[1]!["x-request-id"];
  assert.match(String(id), /^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/, "a random UUID");
  for (const s of generated.slice(2)) assert.equal(s.attributes["request-id"], id, `${s.name} carries the id the upstream saw`);
});

test("seed 001 per-route TrafficPolicy: 50% random capped at 50% overall, route attributes merged with the listener's", async (t) => {
  const listener = snippetWith(S1, "kind: ListenerPolicy", "attributes:");
  const route = snippetWith(S1, "name: tracing-route");
  const { rx, gw, upstream } = await rig(t, { routeNamespace: "httpbin" }, (rx) => [listener, route, collectorBackend("otel-collector", "kgateway-system", rx.port)]);
  const n = 400;
  await send(gw, n, { "x-custom-header": "custom-value", "x-request-id": "r" });
  const kept = sampledFlags(upstream).filter(Boolean).length;
  assertBinomial(kept, n, 0.5, "route sampling");
  const spans = rx.spans;
  assert.equal(servers(spans).length, kept, "exported SERVER spans are exactly the sampled requests");
  const s = servers(spans)[0]!;
  assert.equal(s.attributes["route-tag"], "httpbin-route");
  assert.equal(s.attributes["x-custom-header"], "custom-value");
  assert.equal(s.attributes["environment"], "production", "listener attribute kept");
  assert.equal(s.attributes["tollgate.route.name"], "httpbin/httpbin");
});

test("seed 001 'disable: {}': no spans for the route, incoming context forwarded unchanged", async (t) => {
  const listener = enableTracingPolicy();
  const disable = snippetWith(S1, "name: tracing-disable");
  const { rx, gw, upstream } = await rig(t, { routeNamespace: "httpbin" }, (rx) => [listener, disable, collectorBackend("otel-collector", "kgateway-system", rx.port)]);
  const tp = "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01";
  await send(gw, 3, { traceparent: tp, tracestate: "a=1", baggage: "k=v" });
  const notFound = await get(gw.url(8080, "/elsewhere"));
  assert.equal(notFound.status, 404);
  await rx.waitForSpans((s) => s.length >= 1);
  await gw.telemetry.flush(2000);
  assert.deepEqual(rx.spans.map((s) => s.name), ["GET"], "only the unrouted request is traced");
  for (const h of upstream.seen) {
    assert.equal(h.traceparent, tp);
    assert.equal(h.tracestate, "a=1");
    assert.equal(h.baggage, "k=v");
  }
});

test("seed 004 tracing-policy: serviceName http, spawnUpstreamSpan, cross-namespace collector with its ReferenceGrant", async (t) => {
  const policy = snippetWith(S4, "name: tracing-policy");
  const grant = snippetWith(S4, "name: allow-otel-collector-traces-access");
  const { rx, gw } = await rig(t, {}, (rx) => [policy, grant, collectorBackend("opentelemetry-collector-traces", "telemetry", rx.port)], {
    OTEL_SERVICE_NAME: "loses-to-the-policy",
  });
  await send(gw, 5, {}, "/api/status/418");
  const spans = await rx.waitForSpans((s) => s.length >= 10);
  assert.equal(spans.filter((s) => s.kind === 3).length, 5, "spawnUpstreamSpan: true");
  for (const s of spans) assert.equal(s.resource.attributes["service.name"], "http");
});

/** An HTTP CONNECT proxy that sends every tunnel to `port` on 127.0.0.1, recording the requested authority. */
async function connectProxy(port: number): Promise<{ url: string; targets: string[]; close(): Promise<void> }> {
  const targets: string[] = [];
  const tunnels = new Set<{ destroy(): void }>();
  const server: Server = createServer();
  server.on("connect", (req, socket, head) => {
    targets.push(String(req.url));
    tunnels.add(socket);
    const upstream = connect(port, "127.0.0.1", () => {
      socket.write("HTTP/1.1 200 Connection Established\r\n\r\n");
      upstream.write(head);
      upstream.pipe(socket).pipe(upstream);
    });
    tunnels.add(upstream);
    upstream.on("error", () => socket.destroy());
    socket.on("error", () => upstream.destroy());
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    targets,
    close: () =>
      new Promise<void>((resolve) => {
        for (const s of tunnels) s.destroy();
        server.close(() => resolve());
      }),
  };
}

test("seed 002 TelemetryPolicy: exports to its endpoint, 5% of roots, sampled parents at 50%, literal attribute, unknown metadata omitted", async (t) => {
  const policy = snippetWith(S2, "kind: TelemetryPolicy");
  const rx = await startOtlpReceiver("grpc");
  t.after(() => rx.close());
  // The seed's endpoint is otel-collector.monitoring.svc:4317; grpc-js reaches it through
  // an HTTP CONNECT proxy (grpc_proxy), which tunnels to the in-process receiver.
  const proxy = await connectProxy(rx.port);
  t.after(() => proxy.close());
  process.env.grpc_proxy = proxy.url;
  t.after(() => delete process.env.grpc_proxy);
  const upstream = await startUpstream();
  t.after(() => upstream.close());
  const gw = await startTracedGateway(gatewayYaml({ upstreamPort: upstream.port, gateway: "my-gateway", namespace: "prod-ns", extra: policy }), {
    OTEL_BSP_SCHEDULE_DELAY: "20",
  });
  t.after(() => gw.close());

  const roots = 600;
  await send(gw, roots);
  assertBinomial(sampledFlags(upstream).filter(Boolean).length, roots, 0.05, "roots at 5%");
  const parents = 400;
  const before = upstream.seen.length;
  for (let i = 0; i < parents; i += 25) {
    await Promise.all(
      Array.from({ length: 25 }, () => {
        const id = Array.from({ length: 32 }, () => "0123456789abcdef"[Math.floor(Math.random() * 16)]).join("");
        return get(gw.url(8080, "/api/x"), { traceparent: `00-${id}-00f067aa0ba902b7-01` });
      }),
    );
  }
  const parentFlags = sampledFlags(upstream).slice(before);
  assertBinomial(parentFlags.filter(Boolean).length, parents, 0.5, "sampled parents at 50%");
  await send(gw, 20, { traceparent: "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-00" });
  assert.equal(sampledFlags(upstream).slice(-20).filter(Boolean).length, 0, "unsampled parents dropped");

  await gw.telemetry.flush(5000);
  const total = sampledFlags(upstream).filter(Boolean).length;
  const spans = await rx.waitForSpans((s) => servers(s).length >= total);
  assert.ok(proxy.targets.every((x) => x === "otel-collector.monitoring.svc:4317"), proxy.targets.join());
  assert.ok(proxy.targets.length >= 1);
  const s = servers(spans)[0]!;
  assert.equal(s.attributes["env"], "production");
  assert.equal(s.attributes["mcp_task_name"], undefined);
});
