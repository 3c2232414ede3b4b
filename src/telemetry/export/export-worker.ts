// The export thread. It owns the SDK's OTLP transports (gRPC or http/protobuf: framing,
// compression, TLS, retries, the collector's answers) for the span and log exporters whose
// requests the request thread has already encoded; each request arrives as bytes moved
// across, and its result goes back to the queue that sent it.
import { parentPort } from "node:worker_threads";
import type { ExportResultLike } from "./batch-queue.ts";
import type { FromExportThread, ToExportThread } from "./export-thread-protocol.ts";
import type { OtlpExporterConfig } from "./otlp-config.ts";
import { createOtlpExportDelegate, type OtlpExportDelegate } from "./otlp-delegate.ts";
import { preEncodedWire, type PreEncodedRequest } from "./pre-encoded.ts";
import { TRACES_WIRE } from "./span-exporter.ts";
import { LOGS_WIRE } from "../logs/exporters.ts";

const port = parentPort;
if (port === null) throw new Error("export-worker.ts runs only as a worker thread");

const wires = { traces: preEncodedWire(TRACES_WIRE), logs: preEncodedWire(LOGS_WIRE) };
const exporters = new Map<number, OtlpExportDelegate<PreEncodedRequest>>();

function revive(config: OtlpExporterConfig): OtlpExporterConfig {
  // Buffers arrive as Uint8Arrays; the TLS helpers want Buffers.
  const buf = (b: Uint8Array | undefined): Buffer | undefined => (b === undefined ? undefined : Buffer.from(b.buffer, b.byteOffset, b.byteLength));
  return { ...config, certificate: buf(config.certificate), clientCertificate: buf(config.clientCertificate), clientKey: buf(config.clientKey) };
}

port.on("message", (msg: ToExportThread) => {
  switch (msg.type) {
    case "open":
      exporters.set(msg.exporter, createOtlpExportDelegate(revive(msg.config), wires[msg.signal]));
      return;
    case "export": {
      const reply = (result: ExportResultLike): void => {
        const answer: FromExportThread = { type: "result", seq: msg.seq, ok: result.code === 0, error: result.error?.message, rejected: result.rejected };
        port.postMessage(answer);
      };
      const exporter = exporters.get(msg.exporter);
      if (exporter === undefined) return reply({ code: 1, error: new Error("exporter is closed") });
      try {
        exporter.export({ request: msg.request, count: msg.count }, reply);
      } catch (err) {
        reply({ code: 1, error: err as Error });
      }
      return;
    }
    case "close": {
      const exporter = exporters.get(msg.exporter);
      exporters.delete(msg.exporter);
      const done = (): void => port.postMessage({ type: "closed", exporter: msg.exporter });
      if (exporter === undefined) return done();
      exporter.shutdown().then(done, done);
      return;
    }
  }
});
