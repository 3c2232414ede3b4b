// The export thread. It owns the official OTLP span and log exporters (gRPC, http/protobuf,
// http/json) and runs their transformer, serializer, compression and transport, which the
// profile showed costing the request thread several times more than recording did. Batches
// arrive as wire.ts arrays; each is rebuilt into the SDK's read-only shapes and handed to
// the exporter, and its result goes back to the queue that sent it.
import { parentPort } from "node:worker_threads";
import { resourceFromAttributes } from "@opentelemetry/resources";
import type { ExportResultLike, ItemExporter } from "./batch-queue.ts";
import type { OtlpExporterConfig } from "./otlp-config.ts";
import { createOtlpSpanExporter } from "./span-exporter.ts";
import { createOtlpLogExporter } from "../logs/exporters.ts";
import { decodeLogRecords, decodeSpans, WireRegistry, type WireBatch } from "./wire.ts";
import type { ToExportThread } from "./export-thread-protocol.ts";

const port = parentPort;
if (port === null) throw new Error("export-worker.ts runs only as a worker thread");

const registry = new WireRegistry((attributes, schemaUrl) => resourceFromAttributes(attributes, { schemaUrl }));
const exporters = new Map<number, { signal: WireBatch["signal"]; exporter: ItemExporter<never> }>();

function revive(config: OtlpExporterConfig): OtlpExporterConfig {
  // Buffers arrive as Uint8Arrays; the TLS helpers want Buffers.
  const buf = (b: Uint8Array | undefined): Buffer | undefined => (b === undefined ? undefined : Buffer.from(b.buffer, b.byteOffset, b.byteLength));
  return { ...config, certificate: buf(config.certificate), clientCertificate: buf(config.clientCertificate), clientKey: buf(config.clientKey) };
}

port.on("message", (msg: ToExportThread) => {
  switch (msg.type) {
    case "open": {
      const config = revive(msg.config);
      const exporter = (msg.signal === "traces" ? createOtlpSpanExporter(config) : createOtlpLogExporter(config)) as ItemExporter<never>;
      exporters.set(msg.exporter, { signal: msg.signal, exporter });
      return;
    }
    case "export": {
      const entry = exporters.get(msg.exporter);
      const reply = (result: ExportResultLike): void => {
        port.postMessage({ type: "result", seq: msg.seq, ok: result.code === 0, error: result.error?.message });
      };
      if (entry === undefined) return reply({ code: 1, error: new Error("exporter is closed") });
      try {
        registry.define(msg.batch.defs);
        const items = msg.batch.signal === "traces" ? decodeSpans(msg.batch, registry) : decodeLogRecords(msg.batch, registry);
        entry.exporter.export(items as never[], reply);
      } catch (err) {
        reply({ code: 1, error: err as Error });
      }
      return;
    }
    case "close": {
      const entry = exporters.get(msg.exporter);
      exporters.delete(msg.exporter);
      const done = (): void => port.postMessage({ type: "closed", exporter: msg.exporter });
      if (entry === undefined) return done();
      entry.exporter.shutdown().then(done, done);
      return;
    }
  }
});
