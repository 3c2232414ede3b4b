// Telemetry timestamps follow a step of the wall clock (NTP's first sync, a resumed VM) while
// keeping the monotonic clock's precision: the clock module alone, then every signal of a
// gateway exported to a real OTLP receiver after a step.
import { test } from "node:test";
import assert from "node:assert/strict";
import { epochMsAt, epochNowMs, resyncWallClock, startWallClockSync } from "../../src/telemetry/wall-clock.ts";
import { startOtlpReceiver, type ReceivedMetric } from "../support/otlp-receiver.ts";
import { gatewayYaml, get, startTracedGateway, startUpstream } from "./harness.ts";

const HOUR_MS = 3_600_000;

test("clocks that agree are left alone, within Date.now()'s truncation", () => {
  resyncWallClock();
  const perf = performance.now();
  const estimate = epochMsAt(perf);
  assert.equal(resyncWallClock(Math.floor(estimate), perf), 0, "the wall clock truncates the same instant");
  assert.equal(resyncWallClock(Math.floor(estimate) - 1, perf), 0, "one millisecond of disagreement is tolerated");
  assert.equal(epochMsAt(perf), estimate, "the offset did not move");
  assert.ok(Math.abs(epochNowMs() - Date.now()) < 2, `epochNowMs ${epochNowMs()} tracks Date.now ${Date.now()}`);
});

test("a step of the wall clock, forward or back, re-anchors the offset", (t) => {
  t.after(() => resyncWallClock());
  for (const step of [HOUR_MS, -HOUR_MS, 5]) {
    resyncWallClock();
    const perf = performance.now();
    const before = epochMsAt(perf);
    const wall = Math.floor(before) + step;
    const correction = resyncWallClock(wall, perf);
    assert.ok(Math.abs(correction - step) <= 1.5, `step ${step}: correction ${correction}`);
    // Epoch ms near 1.8e12 carry about a quarter of a microsecond in a double.
    assert.ok(Math.abs(epochMsAt(perf) - (wall + 0.5)) < 0.001, "anchored mid-way into the wall clock's millisecond");
    const later = perf + 12.345;
    assert.ok(Math.abs(epochMsAt(later) - (wall + 0.5 + 12.345)) < 0.001, "sub-millisecond precision kept after the step");
  }
});

test("the sync timer notices a step and reports it", async (t) => {
  let stepMs = 0;
  const steps: number[] = [];
  const stop = startWallClockSync((ms) => steps.push(ms), 10, () => Date.now() + stepMs);
  t.after(() => {
    stop();
    resyncWallClock();
  });
  const waitTicks = (n: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, 10 * n + 5));
  await waitTicks(3);
  assert.deepEqual(steps, [], "no step, no report");
  stepMs = HOUR_MS;
  await waitTicks(3);
  assert.equal(steps.length, 1, `steps: ${steps.join(", ")}`);
  assert.ok(Math.abs(steps[0]! - HOUR_MS) < 2, `reported ${steps[0]} ms`);
  assert.ok(Math.abs(epochNowMs() - (Date.now() + HOUR_MS)) < 2, "timestamps now follow the stepped wall clock");
});

type Point = Record<string, unknown>;
function points(m: ReceivedMetric): Point[] {
  const d = m.data as Record<string, { dataPoints?: Point[] } | undefined>;
  return (d["histogram"] ?? d["sum"] ?? d["gauge"])?.dataPoints ?? [];
}
const nanos = (ms: number): bigint => BigInt(Math.round(ms * 1000)) * 1000n;

test("after a wall clock step, spans, log records, metric points and exemplars all follow it", async (t) => {
  t.after(() => resyncWallClock());
  const rx = await startOtlpReceiver("grpc");
  t.after(() => rx.close());
  const upstream = await startUpstream();
  t.after(() => upstream.close());
  const gw = await startTracedGateway(gatewayYaml({ upstreamPort: upstream.port }), {
    OTEL_EXPORTER_OTLP_ENDPOINT: rx.url,
    OTEL_EXPORTER_OTLP_PROTOCOL: "grpc",
    OTEL_LOGS_EXPORTER: "otlp",
    OTEL_BSP_SCHEDULE_DELAY: "20",
    OTEL_BLRP_SCHEDULE_DELAY: "20",
    OTEL_METRIC_EXPORT_INTERVAL: "3600000",
  });
  t.after(() => gw.close());

  // The gateway has run on the monotonic clock; now the wall clock jumps an hour ahead.
  resyncWallClock(Date.now() + HOUR_MS, performance.now());
  const from = nanos(Date.now() + HOUR_MS - 1);
  assert.equal((await get(gw.url(8080, "/api/step"))).status, 200);
  const spans = await rx.waitForSpans((s) => s.length >= 2);
  const logs = await rx.waitForLogs((l) => l.length >= 1);
  await gw.telemetry.flush(5000);
  const metrics = await rx.waitForMetrics((m) => m.some((x) => x.name === "http.server.request.duration"));
  const to = nanos(Date.now() + HOUR_MS + 2);
  const within = (what: string, value: bigint): void => assert.ok(value >= from && value <= to, `${what} ${value} lies in [${from}, ${to}], the stepped wall clock`);

  for (const s of spans) {
    within(`span ${s.name} start`, s.startTimeUnixNano);
    within(`span ${s.name} end`, s.endTimeUnixNano);
  }
  const server = spans.find((s) => s.kind === 2)!;
  const client = spans.find((s) => s.kind === 3)!;
  assert.ok(client.startTimeUnixNano >= server.startTimeUnixNano && client.endTimeUnixNano <= server.endTimeUnixNano, "the CLIENT span nests in the SERVER span");
  within("log record time", logs[0]!.timeUnixNano);
  within("log record observed time", logs[0]!.observedTimeUnixNano);

  const duration = points(metrics.find((m) => m.name === "http.server.request.duration")!)[0]!;
  const start = BigInt(String(duration["startTimeUnixNano"]));
  const time = BigInt(String(duration["timeUnixNano"]));
  within("histogram point start", start);
  within("histogram point time", time);
  const exemplars = duration["exemplars"] as { timeUnixNano: string; spanId: string }[];
  assert.equal(exemplars.length, 1);
  const exemplarTime = BigInt(exemplars[0]!.timeUnixNano);
  assert.equal(exemplars[0]!.spanId, server.spanId);
  assert.ok(start <= exemplarTime && exemplarTime <= time, `exemplar ${exemplarTime} lies within its point [${start}, ${time}]`);
  const gap = exemplarTime - server.endTimeUnixNano;
  assert.ok(gap >= -1000n && gap <= 1000n, `the exemplar is stamped at the SERVER span's end (exemplars carry microseconds): ${gap} ns apart`);
  const client_ = points(metrics.find((m) => m.name === "http.client.request.duration")!)[0]!;
  assert.ok(BigInt(String(client_["startTimeUnixNano"])) <= client.endTimeUnixNano, "the client histogram starts no later than its first measurement");
});
