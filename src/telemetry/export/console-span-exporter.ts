// OTEL_TRACES_EXPORTER=console prints what the SDK's ConsoleSpanExporter prints (the same
// fields, formatted as its console.dir(…, { depth: 3 }) does), but through the process's
// bounded stdout writer. The SDK's exporter writes with console.dir, and a stdout pipe that
// nobody reads makes Node buffer those writes in memory without limit; here a batch that
// finds stdout backed up fails instead, and the queue counts its spans as dropped.
import { inspect } from "node:util";
import { hrTimeToMicroseconds } from "@opentelemetry/core";
import type { ReadableSpan } from "@opentelemetry/sdk-trace";
import { writeLinesOrFail, type LineSink } from "../logs/stdout-writer.ts";
import type { ItemExporter } from "./batch-queue.ts";

/** The object the SDK's ConsoleSpanExporter prints for a span, field for field. */
function consoleSpanInfo(span: ReadableSpan): Record<string, unknown> {
  const context = span.spanContext();
  return {
    resource: { attributes: span.resource.attributes },
    instrumentationScope: span.instrumentationScope,
    traceId: context.traceId,
    parentSpanContext: span.parentSpanContext,
    traceState: context.traceState?.serialize(),
    name: span.name,
    id: context.spanId,
    kind: span.kind,
    timestamp: hrTimeToMicroseconds(span.startTime),
    duration: hrTimeToMicroseconds(span.duration),
    attributes: span.attributes,
    status: span.status,
    events: span.events,
    links: span.links,
  };
}

export function createConsoleSpanExporter(sink: LineSink, colors: boolean): ItemExporter<ReadableSpan> {
  return {
    export(spans, done) {
      let text = "";
      try {
        // console.dir's options: no custom inspect, colours as console would choose them.
        for (const span of spans) text += inspect(consoleSpanInfo(span), { depth: 3, customInspect: false, colors }) + "\n";
      } catch (err) {
        done({ code: 1, error: err as Error });
        return;
      }
      writeLinesOrFail(sink, text, done);
    },
    shutdown: async () => {},
  };
}

/** Whether console.dir would colour output on this stream. */
export function consoleColors(stream: NodeJS.WriteStream): boolean {
  return stream.isTTY === true && stream.getColorDepth() > 2;
}
