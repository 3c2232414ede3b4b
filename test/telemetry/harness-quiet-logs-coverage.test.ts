// The in-process harness keeps access logs off the test runner's stdout unless a test asks
// for a logs exporter, and never overrides a test's own choice.
import { test } from "node:test";
import assert from "node:assert/strict";
import { gatewayYaml, get, startTracedGateway, startUpstream, testTelemetryEnv } from "./harness.ts";

/** Everything written to process.stdout while `run` runs (still passed through). */
async function stdoutDuring(run: () => Promise<void>): Promise<string> {
  const original = process.stdout.write;
  let seen = "";
  process.stdout.write = function (this: NodeJS.WriteStream, chunk: unknown, ...rest: unknown[]): boolean {
    seen += typeof chunk === "string" ? chunk : Buffer.from(chunk as Uint8Array).toString("utf8");
    return (original as (...a: unknown[]) => boolean).call(this, chunk, ...rest);
  } as typeof process.stdout.write;
  try {
    await run();
  } finally {
    process.stdout.write = original;
  }
  return seen;
}

test("testTelemetryEnv defaults logs to none only when the test names no logs exporter", () => {
  assert.equal(testTelemetryEnv({ OTEL_TRACES_EXPORTER: "none" }).OTEL_LOGS_EXPORTER, "none");
  assert.equal(testTelemetryEnv({ OTEL_LOGS_EXPORTER: "console" }).OTEL_LOGS_EXPORTER, "console");
  assert.equal(testTelemetryEnv({ OTEL_EXPORTER_OTLP_ENDPOINT: "http://127.0.0.1:1" }).OTEL_LOGS_EXPORTER, undefined, "an endpoint selects OTLP as in production");
  assert.equal(testTelemetryEnv({ OTEL_EXPORTER_OTLP_LOGS_ENDPOINT: "http://127.0.0.1:1/v1/logs" }).OTEL_LOGS_EXPORTER, undefined);
});

test("no logs exporter chosen: no access-log line reaches stdout; console chosen: one line per request", async (t) => {
  const upstream = await startUpstream();
  t.after(() => upstream.close());
  const yaml = gatewayYaml({ upstreamPort: upstream.port });
  const quiet = await startTracedGateway(yaml, { OTEL_TRACES_EXPORTER: "none", OTEL_METRICS_EXPORTER: "none", OTEL_BLRP_SCHEDULE_DELAY: "20" });
  t.after(() => quiet.close());
  const loud = await startTracedGateway(yaml, { OTEL_TRACES_EXPORTER: "none", OTEL_METRICS_EXPORTER: "none", OTEL_BLRP_SCHEDULE_DELAY: "20", OTEL_LOGS_EXPORTER: "console" });
  t.after(() => loud.close());

  const quietOut = await stdoutDuring(async () => {
    for (let i = 0; i < 3; i++) assert.equal((await get(quiet.url(8080, `/api/quiet-${i}`))).status, 200);
    await quiet.telemetry.flush(2000);
  });
  assert.ok(!quietOut.includes("/api/quiet-"), "no access-log line for the quiet gateway");
  assert.equal(quiet.telemetry.exportedLogRecords(), 0);

  const loudOut = await stdoutDuring(async () => {
    for (let i = 0; i < 3; i++) assert.equal((await get(loud.url(8080, `/api/loud-${i}`))).status, 200);
    await loud.telemetry.flush(2000);
  });
  const lines = loudOut.split("\n").filter((l) => l.includes("/api/loud-"));
  assert.equal(lines.length, 3, "the test's own console choice is honoured");
  for (const l of lines) assert.equal((JSON.parse(l) as Record<string, unknown>).event_name, "tollgate.access");
});
