// OTEL_TRACES_EXPORTER=console: the SDK's console output, field for field, written through
// the bounded stdout writer. With nobody reading stdout, requests go on and the spans that
// could not be written are counted as dropped, instead of piling up in memory.
import { test } from "node:test";
import assert from "node:assert/strict";
import { PassThrough } from "node:stream";
import { inspect } from "node:util";
import { ConsoleSpanExporter, type ReadableSpan } from "@opentelemetry/sdk-trace";
import { createConsoleSpanExporter } from "../../src/telemetry/export/console-span-exporter.ts";
import { boundedWriter } from "../../src/telemetry/logs/stdout-writer.ts";
import { httpRequest, startGateway } from "../support/gateway-process.ts";
import { gatewayYaml, startUpstream } from "./harness.ts";
import { ownSpans } from "./span-fixtures.ts";

test("each span prints exactly what the SDK's ConsoleSpanExporter prints for it", async () => {
  const spans = ownSpans(6);
  const out = new PassThrough();
  let printed = "";
  out.on("data", (d: Buffer) => (printed += d.toString("utf8")));
  const exporter = createConsoleSpanExporter(boundedWriter(out, 1 << 20), false);
  const result = await new Promise<{ code: number }>((resolve) => exporter.export(spans, resolve));
  assert.equal(result.code, 0);
  // What the SDK's exporter hands to console.dir(…, { depth: 3 }) for the same spans.
  const sdk = new ConsoleSpanExporter() as unknown as { _exportInfo(span: ReadableSpan): object };
  const expected = spans.map((s) => inspect(sdk._exportInfo(s), { depth: 3, customInspect: false, colors: false }) + "\n").join("");
  assert.equal(printed, expected);
  assert.match(printed, /traceId: '[0-9a-f]{32}'/);
});

test("OTEL_TRACES_EXPORTER=console with nobody reading stdout: requests are unaffected, refused spans are counted; printed + dropped = spans", async (t) => {
  const upstream = await startUpstream();
  t.after(() => upstream.close());
  const gw = await startGateway({
    config: gatewayYaml({ upstreamPort: upstream.port }),
    env: {
      OTEL_TRACES_EXPORTER: "console",
      OTEL_LOGS_EXPORTER: "none",
      OTEL_METRICS_EXPORTER: "prometheus",
      OTEL_TRACES_SAMPLER: "always_on",
      OTEL_BSP_SCHEDULE_DELAY: "5",
      OTEL_BSP_MAX_EXPORT_BATCH_SIZE: "8",
      TOLLGATE_STDOUT_BUFFER_BYTES: "4096",
    },
  });
  t.after(() => gw.stop());
  gw.child.stdout!.pause();

  const sent = 160;
  for (let i = 0; i < sent; i += 8) {
    const batch = await Promise.all(Array.from({ length: 8 }, (_, k) => httpRequest(gw.url(8080, `/api/flood/${i + k}`))));
    assert.deepEqual(batch.map((r) => r.status), Array(8).fill(200), "the request path never waits for stdout");
    await new Promise((r) => setTimeout(r, 10));
  }

  const warning = await gw.waitForLog((l) => String(l.msg).startsWith("telemetry export to console failed: stdout is not keeping up"));
  assert.equal(warning["signal"], "traces");
  const dropped = async (): Promise<number> => {
    const m = await httpRequest(gw.opsUrl("/metrics"));
    let n = 0;
    for (const x of m.body.matchAll(/^tollgate_telemetry_dropped_total\{([^}]*)\} (\d+)$/gm)) if (x[1]!.includes('signal="traces"')) n += Number(x[2]);
    return n;
  };
  assert.ok((await dropped()) > 0, "refused batches are counted");

  gw.child.stdout!.resume();
  // Each span printed has one top-level `id:` line (its own span id), SERVER and CLIENT alike.
  const printed = (): number => [...gw.stdout().matchAll(/^ {2}id: '[0-9a-f]{16}',$/gm)].length;
  const deadline = Date.now() + 15_000;
  let last = { printed: 0, dropped: 0 };
  while (Date.now() < deadline) {
    last = { printed: printed(), dropped: await dropped() };
    if (last.printed + last.dropped === 2 * sent) break;
    await new Promise((r) => setTimeout(r, 50));
  }
  assert.equal(last.printed + last.dropped, 2 * sent, `every span printed or counted: ${JSON.stringify(last)}`);
  assert.ok(last.printed > 0 && last.dropped > 0);
});
