// An OTLP/gRPC receiver that acknowledges every export without decoding it: the three
// collector services are registered with pass-through (de)serializers, and each Export
// answers the empty response message (zero bytes on the wire). It costs the machine as
// little as a receiver can, so the bench measures the exporter, not a collector.
// Stdin command `stats` prints {"stats":{signal:{requests,bytes}}}.
import { createRequire } from "node:module";
import type * as Http2 from "node:http2";
import { Server, ServerCredentials, type ServiceDefinition, type UntypedServiceImplementation } from "@grpc/grpc-js";
import { announceReady, guard } from "./guard.ts";

// HTTP/2 flow control as a collector does it. grpc-js servers keep Node's 64 KiB stream and
// connection windows, so a 200 KB export waits for several WINDOW_UPDATE round trips and
// all exporters sharing the connection are throttled to 64 KiB per round trip; the
// Collector's Go gRPC server grows its windows to several MiB (BDP estimation). The
// receiver advertises 16 MiB so the bench measures the exporters, not Node's defaults.
const WINDOW = 16 * 1024 * 1024;
const http2 = createRequire(import.meta.url)("node:http2") as typeof Http2;
const createServer = http2.createServer;
http2.createServer = ((options: Http2.ServerOptions, listener?: () => void) => {
  const server = createServer({ ...options, settings: { ...options.settings, initialWindowSize: WINDOW } }, listener);
  server.on("session", (session) => session.setLocalWindowSize(WINDOW));
  return server;
}) as typeof http2.createServer;

const SERVICES = {
  traces: "/opentelemetry.proto.collector.trace.v1.TraceService/Export",
  metrics: "/opentelemetry.proto.collector.metrics.v1.MetricsService/Export",
  logs: "/opentelemetry.proto.collector.logs.v1.LogsService/Export",
} as const;

type Signal = keyof typeof SERVICES;
const counts: Record<Signal, { requests: number; bytes: number }> = {
  traces: { requests: 0, bytes: 0 },
  metrics: { requests: 0, bytes: 0 },
  logs: { requests: 0, bytes: 0 },
};
const EMPTY = Buffer.alloc(0);
const passThrough = (value: Buffer): Buffer => value;

const server = new Server({ "grpc.max_receive_message_length": 64 * 1024 * 1024 });
for (const signal of Object.keys(SERVICES) as Signal[]) {
  const definition: ServiceDefinition = {
    Export: {
      path: SERVICES[signal],
      requestStream: false,
      responseStream: false,
      requestSerialize: passThrough,
      requestDeserialize: passThrough,
      responseSerialize: passThrough,
      responseDeserialize: passThrough,
    },
  };
  const implementation: UntypedServiceImplementation = {
    Export: (call: { request: Buffer }, callback: (error: null, response: Buffer) => void) => {
      counts[signal].requests++;
      counts[signal].bytes += call.request.length;
      callback(null, EMPTY);
    },
  };
  server.addService(definition, implementation);
}

guard(
  () => process.exit(0),
  (command) => {
    if (command === "stats") process.stdout.write(JSON.stringify({ stats: counts }) + "\n");
  },
);

server.bindAsync("127.0.0.1:0", ServerCredentials.createInsecure(), (error, port) => {
  if (error !== null) {
    process.stderr.write(`bind failed: ${error.message}\n`);
    process.exit(1);
  }
  announceReady({ port });
});
