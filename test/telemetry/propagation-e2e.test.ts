// What the upstream receives and what the collector sees, for every propagation edge case,
// through the real proxy.
import { test, type TestContext } from "node:test";
import assert from "node:assert/strict";
import { startOtlpReceiver } from "../support/otlp-receiver.ts";
import { gatewayYaml, get } from "./harness.ts";
import { startRig, type TelemetryRig } from "./rig.ts";

const T = "4bf92f3577b34da6a3ce929d0e0e4736";
const S = "00f067aa0ba902b7";

/** The rig every case here uses: spans over OTLP/HTTP to the receiver, exported at once. */
function rig(t: TestContext, env: Record<string, string> = {}, extraYaml?: string): Promise<TelemetryRig> {
  return startRig(t, {
    transport: "http",
    yaml: (upstreamPort) => gatewayYaml({ upstreamPort, extra: extraYaml }),
    env: (rx) => ({ OTEL_BSP_SCHEDULE_DELAY: "20", OTEL_EXPORTER_OTLP_ENDPOINT: rx.url, ...env }),
  });
}

/** Sends one request and returns its SERVER and CLIENT span plus the headers the upstream saw. */
async function one(r: TelemetryRig, headers: Record<string, string>) {
  const before = r.rx.spans.length;
  const res = await get(r.gw.url(8080, "/api/x"), headers);
  assert.equal(res.status, 200);
  const seen = r.upstream.seen[r.upstream.seen.length - 1]!;
  await r.gw.telemetry.flush(5000);
  const spans = r.rx.spans.slice(before);
  return { seen, server: spans.find((s) => s.kind === 2), client: spans.find((s) => s.kind === 3), spans };
}

test("a valid traceparent is continued; tracestate forwarded unchanged; baggage passed through", async (t) => {
  const r = await rig(t);
  const tracestate = "congo=t61rcWkgMzE,rojo=00f067aa0ba902b7";
  const baggage = "userId=alice,serverNode=DF%2028;prop=1";
  const { seen, server, client } = await one(r, { traceparent: `00-${T}-${S}-01`, tracestate, baggage });
  assert.equal(server?.traceId, T);
  assert.equal(server?.parentSpanId, S);
  assert.equal(server?.traceState, tracestate);
  assert.equal(client?.parentSpanId, server?.spanId);
  assert.equal(seen.traceparent, `00-${T}-${client!.spanId}-01`);
  assert.equal(seen.tracestate, tracestate);
  assert.equal(seen.baggage, baggage);
});

for (const [what, traceparent] of [
  ["malformed", "00-nothex-00f067aa0ba902b7-01"],
  ["upper-case", `00-${T.toUpperCase()}-${S}-01`],
  ["all-zero trace id", `00-${"0".repeat(32)}-${S}-01`],
  ["all-zero span id", `00-${T}-${"0".repeat(16)}-01`],
  ["version ff", `ff-${T}-${S}-01`],
] as const) {
  test(`a ${what} traceparent starts a new root and drops tracestate`, async (t) => {
    const r = await rig(t);
    const { seen, server, client } = await one(r, { traceparent, tracestate: "congo=t61rcWkgMzE" });
    assert.ok(server && client);
    assert.notEqual(server.traceId, T);
    assert.equal(server.parentSpanId, "");
    assert.equal(server.traceState, "");
    assert.equal(seen.traceparent, `00-${server.traceId}-${client.spanId}-03`);
    assert.equal(seen.tracestate, undefined);
  });
}

test("a future traceparent version with extra fields is continued by its known prefix", async (t) => {
  const r = await rig(t);
  const { seen, server, client } = await one(r, { traceparent: `cc-${T}-${S}-01-future-field`, tracestate: "a=1" });
  assert.equal(server?.traceId, T);
  assert.equal(server?.parentSpanId, S);
  assert.equal(seen.traceparent, `00-${T}-${client!.spanId}-01`, "we emit the version we speak");
  assert.equal(seen.tracestate, "a=1");
});

test("tracestate with more than 32 members is not propagated; 32 are", async (t) => {
  const r = await rig(t);
  const m32 = Array.from({ length: 32 }, (_, i) => `k${i}=v${i}`).join(",");
  const ok = await one(r, { traceparent: `00-${T}-${S}-01`, tracestate: m32 });
  assert.equal(ok.seen.tracestate, m32);
  const tooMany = await one(r, { traceparent: `00-${T}-${S}-01`, tracestate: `${m32},k32=v32` });
  assert.equal(tooMany.server?.traceId, T, "the traceparent itself is still valid");
  assert.equal(tooMany.seen.tracestate, undefined);
  assert.equal(tooMany.server?.traceState, "");
});

test("an unsampled parent: no spans exported, sampled flag 0 propagated with a fresh span id", async (t) => {
  const r = await rig(t);
  const { seen, spans } = await one(r, { traceparent: `00-${T}-${S}-00` });
  assert.equal(spans.length, 0);
  const m = /^00-([0-9a-f]{32})-([0-9a-f]{16})-00$/.exec(String(seen.traceparent));
  assert.ok(m, `traceparent ${seen.traceparent}`);
  assert.equal(m[1], T);
  assert.notEqual(m[2], S);
});

test("B3 single header: extracted and injected when OTEL_PROPAGATORS=b3", async (t) => {
  const r = await rig(t, { OTEL_PROPAGATORS: "b3" });
  const { seen, server, client } = await one(r, { b3: `${T}-${S}-1`, traceparent: `00-${"1".repeat(32)}-${S}-01` });
  assert.equal(server?.traceId, T);
  assert.equal(server?.parentSpanId, S);
  assert.equal(seen.b3, `${T}-${client!.spanId}-1`);
  assert.equal(seen.traceparent, `00-${"1".repeat(32)}-${S}-01`, "tracecontext is not ours to touch when not configured");
});

test("B3 multi headers with 64-bit ids, OTEL_PROPAGATORS=tracecontext,b3multi", async (t) => {
  const r = await rig(t, { OTEL_PROPAGATORS: "tracecontext,b3multi" });
  const { seen, server, client } = await one(r, { "x-b3-traceid": "a3ce929d0e0e4736", "x-b3-spanid": S, "x-b3-sampled": "1" });
  assert.equal(server?.traceId, "0000000000000000a3ce929d0e0e4736");
  assert.equal(seen["x-b3-traceid"], "0000000000000000a3ce929d0e0e4736");
  assert.equal(seen["x-b3-spanid"], client!.spanId);
  assert.equal(seen["x-b3-sampled"], "1");
  assert.equal(seen.traceparent, `00-0000000000000000a3ce929d0e0e4736-${client!.spanId}-01`);
});

test("OTEL_PROPAGATORS=none: incoming context ignored, nothing injected, root spans still exported", async (t) => {
  const r = await rig(t, { OTEL_PROPAGATORS: "none" });
  const { seen, server } = await one(r, { traceparent: `00-${T}-${S}-01` });
  assert.ok(server);
  assert.notEqual(server.traceId, T);
  assert.equal(server.parentSpanId, "");
  assert.equal(seen.traceparent, `00-${T}-${S}-01`, "the proxy forwards the header as an ordinary one");
});

test("spawnUpstreamSpan: false: no CLIENT span, the upstream sees the SERVER span as parent", async (t) => {
  const collector = await startOtlpReceiver("grpc");
  t.after(() => collector.close());
  const policy = `apiVersion: gateway.kgateway.dev/v1alpha1
kind: HTTPListenerPolicy
metadata: {name: tracing-policy, namespace: kgateway-system}
spec:
  targetRefs:
  - {group: gateway.networking.k8s.io, kind: Gateway, name: http}
  tracing:
    provider:
      openTelemetry:
        grpcService:
          backendRef: {name: otel-collector, namespace: kgateway-system, port: 4317}
    spawnUpstreamSpan: false
---
apiVersion: gateway.tollgate.dev/v1alpha1
kind: Backend
metadata: {name: otel-collector, namespace: kgateway-system}
spec:
  endpoints: [{ip: {address: 127.0.0.1, port: ${collector.port}}}]
`;
  const r = await rig(t, {}, policy);
  const res = await get(r.gw.url(8080, "/api/x"), { traceparent: `00-${T}-${S}-01` });
  assert.equal(res.status, 200);
  const spans = await collector.waitForSpans((s) => s.length >= 1);
  await r.gw.telemetry.flush(2000);
  assert.equal(collector.spans.length, 1);
  assert.equal(spans[0]!.kind, 2);
  assert.equal(r.upstream.seen[0]!.traceparent, `00-${T}-${spans[0]!.spanId}-01`);
});
