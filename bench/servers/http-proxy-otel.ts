// Scenario: http-proxy traced by the OpenTelemetry Node SDK with HTTP auto-instrumentation,
// exporting spans over OTLP/gRPC to the ack receiver. The SDK starts before node:http and
// http-proxy are loaded so that both the server and the upstream client calls are traced,
// exactly as a user following the SDK's getting-started guide would run it.
import { createRequire } from "node:module";
import { NodeSDK } from "@opentelemetry/sdk-node";
import { HttpInstrumentation } from "@opentelemetry/instrumentation-http";
import { OTLPTraceExporter } from "@opentelemetry/exporter-trace-otlp-grpc";
import { announceReady, guard, requiredArg } from "./guard.ts";
import { startHttpProxy } from "./http-proxy-server.ts";

guard();
const collector = requiredArg("collector");
const sdk = new NodeSDK({
  serviceName: "bench-http-proxy-otel",
  traceExporter: new OTLPTraceExporter({ url: collector }),
  instrumentations: [new HttpInstrumentation()],
});
sdk.start();
const port = await startHttpProxy(createRequire(import.meta.url), requiredArg("upstream"));
announceReady({ port });
