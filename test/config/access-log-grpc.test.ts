// kgateway's access log `grpcService` (Envoy's gRPC access log service) in the config: what
// the model keeps, each problem at its own field, the fields with no effect said so, and the
// gRPC service fields of an openTelemetry access log (which load, with a warning each).
import assert from "node:assert/strict";
import { test } from "node:test";
import { accessLogPolicy, errors, load, warnings } from "./helpers.ts";

const withAccessLog = (entry: string): string => `${accessLogPolicy(entry)}---
apiVersion: gateway.tollgate.dev/v1alpha1
kind: Backend
metadata: {name: als}
spec:
  endpoints: [{ip: {address: "fd00::9", port: 9001}}]
`;
const service = (fields: string): string => withAccessLog(`  - grpcService:\n      backendRef: {name: als, kind: Backend, group: gateway.tollgate.dev}\n${fields}`);

test("a grpcService access log loads: the service's address, log name, metadata, timeout, reconnect backoff and the headers to log", () => {
  const { config, diagnostics } = load(
    service(`      logName: edge
      authority: als.internal
      timeout: 3s
      initialMetadata: [{key: X-Api-Key, value: k1}, {key: x-empty}]
      retryPolicy: {retryBackOff: {baseInterval: 500ms}}
      additionalRequestHeadersToLog: [X-Tenant, x-tenant, ":authority"]
      additionalResponseHeadersToLog: [x-cache]
    filter:
      statusCodeFilter: {op: GE, value: 500}
`),
  );
  assert.deepEqual(diagnostics.filter((d) => d.severity !== "info"), []);
  const log = config!.gateways[0]!.telemetry.accessLogs[0]!;
  assert.deepEqual(log.sink, {
    kind: "grpc",
    target: {
      address: "[fd00::9]:9001",
      logName: "edge",
      authority: "als.internal",
      metadata: [
        ["x-api-key", "k1"],
        ["x-empty", ""],
      ],
      timeoutMs: 3000,
      reconnectBackoffMs: { base: 500, max: 5000 },
      requestHeaders: ["x-tenant", ":authority"],
      responseHeaders: ["x-cache"],
    },
  });
  assert.equal(log.logName, "edge");
  assert.deepEqual(log.condition, { kind: "statusCode", op: "GE", value: 500 });
});

test("each problem of a grpcService access log is an error at its own field", () => {
  assert.deepEqual(
    errors(
      service(`      logName: a
      additionalRequestHeadersToLog: ["bad name"]
      initialMetadata: [{key: Grpc-Timeout, value: "1S"}, {key: Auth-Bin, value: x}, {key: content-type, value: x}, {key: User-Agent, value: x}, {key: te, value: x}]
      retryPolicy: {retryBackOff: {baseInterval: 2s, maxInterval: 1s}}
`),
    ),
    [
      't.yaml:21:39: spec.accessLog[0].grpcService.additionalRequestHeadersToLog[0]: "bad name" is not a header name (hint: write a header name such as x-tenant)',
      't.yaml:22:31: spec.accessLog[0].grpcService.initialMetadata[0].key: "Grpc-Timeout" cannot be sent as gRPC metadata (hint: use letters, digits, _, . and - in a name the call does not set itself (not grpc-*, content-type, te, user-agent, a connection header or a -bin name))',
      't.yaml:22:65: spec.accessLog[0].grpcService.initialMetadata[1].key: "Auth-Bin" cannot be sent as gRPC metadata (hint: use letters, digits, _, . and - in a name the call does not set itself (not grpc-*, content-type, te, user-agent, a connection header or a -bin name))',
      't.yaml:22:92: spec.accessLog[0].grpcService.initialMetadata[2].key: "content-type" cannot be sent as gRPC metadata (hint: use letters, digits, _, . and - in a name the call does not set itself (not grpc-*, content-type, te, user-agent, a connection header or a -bin name))',
      't.yaml:22:123: spec.accessLog[0].grpcService.initialMetadata[3].key: "User-Agent" cannot be sent as gRPC metadata (hint: use letters, digits, _, . and - in a name the call does not set itself (not grpc-*, content-type, te, user-agent, a connection header or a -bin name))',
      't.yaml:22:152: spec.accessLog[0].grpcService.initialMetadata[4].key: "te" cannot be sent as gRPC metadata (hint: use letters, digits, _, . and - in a name the call does not set itself (not grpc-*, content-type, te, user-agent, a connection header or a -bin name))',
      't.yaml:23:67: spec.accessLog[0].grpcService.retryPolicy.retryBackOff.maxInterval: maxInterval (1s) is shorter than baseInterval (2s) (hint: make maxInterval at least baseInterval, or leave it out (ten times baseInterval))',
    ],
  );
  const valueHint = "the value holds characters gRPC metadata cannot carry (only printable ASCII: a line break from a YAML block scalar, a tab or a non-ASCII letter is refused) (hint: write the value on one line in quotes, without a trailing line break)";
  const refused = errors(
    service(`      logName: a
      authority: "a b"
      initialMetadata:
      - {key: x+tenant, value: v}
      - {key: keep-alive, value: v}
      - key: x-token
        value: |
          Bearer s3cret-token
      - {key: x-name, value: "café"}
`),
  );
  assert.deepEqual(refused, [
    "t.yaml:21:18: spec.accessLog[0].grpcService.authority: authority is not a host[:port] the gRPC call can send (hint: write a host name, optionally with a port, e.g. als.observability:9001)",
    `t.yaml:23:15: spec.accessLog[0].grpcService.initialMetadata[0].key: "x+tenant" cannot be sent as gRPC metadata (hint: use letters, digits, _, . and - in a name the call does not set itself (not grpc-*, content-type, te, user-agent, a connection header or a -bin name))`,
    `t.yaml:24:15: spec.accessLog[0].grpcService.initialMetadata[1].key: "keep-alive" cannot be sent as gRPC metadata (hint: use letters, digits, _, . and - in a name the call does not set itself (not grpc-*, content-type, te, user-agent, a connection header or a -bin name))`,
    `t.yaml:26:16: spec.accessLog[0].grpcService.initialMetadata[2].value: ${valueHint}`,
    `t.yaml:28:30: spec.accessLog[0].grpcService.initialMetadata[3].value: ${valueHint}`,
  ]);
  assert.ok(!refused.some((e) => e.includes("s3cret")), "a refused value is never quoted");
  const emptyAuthority = load(service('      logName: a\n      authority: ""\n'));
  assert.deepEqual(emptyAuthority.diagnostics.filter((d) => d.severity === "error"), []);
  const sink = emptyAuthority.config!.gateways[0]!.telemetry.accessLogs[0]!.sink;
  assert.equal(sink.kind === "grpc" ? sink.target.authority : "not grpc", undefined, "an empty authority is unset, as kgateway writes it");
  assert.deepEqual(errors(service("      additionalRequestHeadersToLog: [x]\n")), ['t.yaml:19:7: spec.accessLog[0].grpcService.logName: missing required field (hint: add "logName")']);
  assert.deepEqual(errors(service("      logName: a\n    fileSink: {path: /dev/stdout}\n")), [
    "t.yaml:18:5: spec.accessLog[0]: an access log has one of openTelemetry, fileSink and grpcService, not fileSink and grpcService (hint: split it into one access log for each)",
  ]);
  assert.deepEqual(errors(withAccessLog("  - filter: {traceableFilter: true}\n")), [
    "t.yaml:18:5: spec.accessLog[0]: an access log needs openTelemetry, fileSink or grpcService (hint: add openTelemetry (export over OTLP), fileSink (write to stdout) or grpcService (Envoy's access log service))",
  ]);
  assert.deepEqual(errors(service("      logName: a\n      additionalRequestHeadersToLog: [\":Path\", \":bogus\"]\n      additionalResponseHeadersToLog: [\":status\"]\n")), [
    't.yaml:21:48: spec.accessLog[0].grpcService.additionalRequestHeadersToLog[1]: ":bogus" is no pseudo-header this list can log (hint: use one of :authority, :path, :method, :scheme, or a header name)',
    't.yaml:22:40: spec.accessLog[0].grpcService.additionalResponseHeadersToLog[0]: ":status" is no pseudo-header this list can log (hint: list response headers by name; a response\'s status is response_code)',
  ]);
  assert.deepEqual(errors(service("      logName: a\n      timeout: 0s\n      retryPolicy: {retryBackOff: {baseInterval: 1s, maxInterval: 1s}}\n")), [
    't.yaml:21:16: spec.accessLog[0].grpcService.timeout: "0s" is not a duration of at least 1ms (hint: write a duration such as 5s)',
  ], "a zero timeout is refused; a maxInterval equal to baseInterval is not");
  assert.equal(load(service("      logName: a\n      backendRef: {name: missing, kind: Backend, group: gateway.tollgate.dev}\n")).config, undefined, "a service that does not resolve fails the load");
});

test("grpcService fields Tollgate cannot honour load with a warning; openTelemetry's gRPC service fields too", () => {
  assert.deepEqual(warnings(service("      logName: a\n      additionalResponseTrailersToLog: [grpc-status]\n      retryPolicy: {numRetries: 3}\n      skipEnvoyHeaders: true\n      maxReceiveMessageLength: 1024\n")), [
    "t.yaml:21:40: spec.accessLog[0].grpcService.additionalResponseTrailersToLog: warning: response trailers are not logged: Tollgate does not keep an upstream's trailers apart from its answer (hint: remove additionalResponseTrailersToLog)",
    "t.yaml:22:33: spec.accessLog[0].grpcService.retryPolicy.numRetries: warning: numRetries has no effect: a batch the service did not take is dropped and counted (tollgate.telemetry.dropped), as Envoy drops it (hint: remove numRetries)",
  ]);
  const otel = withAccessLog(`  - openTelemetry:
      grpcService:
        backendRef: {name: als, kind: Backend, group: gateway.tollgate.dev}
        logName: otel
        timeout: 2s
        initialMetadata: [{key: x-api-key, value: k1}]
        retryPolicy: {numRetries: 2}
        skipEnvoyHeaders: false
        maxReceiveMessageLength: 4096
`);
  assert.deepEqual(errors(otel), []);
  assert.deepEqual(warnings(otel), [
    "t.yaml:22:18: spec.accessLog[0].openTelemetry.grpcService.timeout: warning: timeout has no effect in Tollgate: OTEL_EXPORTER_OTLP_LOGS_TIMEOUT sets the export timeout",
    "t.yaml:23:26: spec.accessLog[0].openTelemetry.grpcService.initialMetadata: warning: initialMetadata has no effect in Tollgate: OTEL_EXPORTER_OTLP_LOGS_HEADERS sets the export's headers",
    "t.yaml:24:22: spec.accessLog[0].openTelemetry.grpcService.retryPolicy: warning: retryPolicy has no effect in Tollgate: the OTLP exporter retries as the OTLP specification says",
    "t.yaml:26:34: spec.accessLog[0].openTelemetry.grpcService.maxReceiveMessageLength: warning: maxReceiveMessageLength has no effect in Tollgate: the OTLP exporter takes the collector's answers whole",
  ]);
});
