// kgateway's access log `grpcService` against an access log service built on Envoy's own
// generated ALS types (test/peers/ext-authz: go-control-plane and grpc-go). The gateway
// declares the messages itself; this proves that what it streams decodes as Envoy's
// StreamAccessLogsMessage, field by field, and that a service ending the stream as Envoy's
// servers do (OK, no message) acknowledges the batch.
import { after, before, test } from "node:test";
import assert from "node:assert/strict";
import type { ReadableLogRecord } from "@opentelemetry/sdk-logs";
import type { AccessLogServiceModel } from "../../src/config/model.ts";
import { ENVOY_RESPONSE_FLAGS } from "../../src/format/envoy-response-flags.ts";
import type { ExportResultLike } from "../../src/telemetry/export/batch-queue.ts";
import { HTTP_VERSIONS, REQUEST_METHODS, responseFlagsMessage, TLS_VERSIONS } from "../../src/telemetry/logs/als-entry.ts";
import { CIPHER_SUITE_NUMBERS } from "../../src/telemetry/logs/cipher-suite-numbers.ts";
import { AccessLogServiceExporter } from "../../src/telemetry/logs/als-exporter.ts";
import { type EnvoyApiPeer, startEnvoyApiPeer } from "../support/envoy-api-peer.ts";
import { alsPolicyYaml, gatewayYaml, get, startTracedGateway, startUpstream, type TracedGateway, type Upstream } from "../telemetry/harness.ts";

/** A StreamAccessLogsMessage as Envoy's protojson prints it (lowerCamelCase names, 64-bit integers as strings). */
interface PrintedMessage {
  readonly identifier?: { readonly node: Record<string, string>; readonly logName: string };
  readonly httpLogs: { readonly logEntry: PrintedEntry[] };
}
interface PrintedEntry {
  readonly commonProperties: Record<string, unknown> & {
    readonly responseFlags?: Record<string, unknown>;
    readonly upstreamRemoteAddress?: { readonly socketAddress: { readonly address: string; readonly portValue: number } };
  };
  readonly protocolVersion: string;
  readonly request: Record<string, unknown>;
  readonly response: Record<string, unknown>;
}

let peer: EnvoyApiPeer;
let upstream: Upstream;
let gw: TracedGateway;

before(async () => {
  peer = await startEnvoyApiPeer();
  upstream = await startUpstream((req, res) => res.writeHead(Number(req.headers["x-status"] ?? 200), { "x-upstream-version": "v7" }).end("upstream ok"));
  gw = await startTracedGateway(
    gatewayYaml({ upstreamPort: upstream.port, extra: alsPolicyYaml(peer.port, "      logName: edge-access\n      additionalRequestHeadersToLog: [x-tenant]\n      additionalResponseHeadersToLog: [x-upstream-version]\n") }),
    { OTEL_BLRP_SCHEDULE_DELAY: "20" },
  );
});

after(async () => {
  await gw?.close();
  await upstream?.close();
  await peer?.stop();
});

test("the entries decode as Envoy's HTTPAccessLogEntry, and the service's OK without a message acknowledges the batch", async () => {
  assert.equal((await get(gw.url(8080, "/api/ok?page=2"), { "user-agent": "als-e2e", "x-tenant": "acme", "x-request-id": "req-9", referer: "https://shop.example/" })).status, 200);
  assert.equal((await get(gw.url(8080, "/nowhere"), {}, "DELETE")).status, 404);
  for (let i = 0; i < 1500 && gw.telemetry.exportedLogRecords() < 2; i++) await new Promise((r) => setTimeout(r, 20));
  assert.equal(gw.telemetry.exportedLogRecords(), 2, "both entries acknowledged");
  assert.equal(gw.telemetry.drops.get("logs"), 0);
  // The peer prints on its stdout, a pipe of its own: its lines may trail the acknowledgement.
  const printed = (): PrintedMessage[] => peer.calls.filter((c) => c["als"] !== undefined).map((c) => c["als"] as PrintedMessage);
  for (let i = 0; i < 1500 && printed().flatMap((m) => m.httpLogs.logEntry).length < 2; i++) await new Promise((r) => setTimeout(r, 20));
  const messages = printed();
  assert.ok(messages.length >= 1);
  for (const m of messages) {
    assert.equal(m.identifier?.logName, "edge-access", "every stream starts with the Identifier");
    assert.equal(m.identifier?.node["cluster"], "http.kgateway-system");
    assert.equal(m.identifier?.node["userAgentName"], "tollgate");
    assert.ok((m.identifier?.node["id"] ?? "").length > 0);
  }
  const entries = messages.flatMap((m) => m.httpLogs.logEntry);
  const ok = entries.find((e) => e.request["path"] === "/api/ok?page=2")!;
  assert.ok(ok, JSON.stringify(entries));
  assert.equal(ok.protocolVersion, "HTTP11");
  assert.deepEqual(
    { ...ok.request, authority: undefined },
    {
      requestMethod: "GET",
      scheme: "http",
      authority: undefined,
      path: "/api/ok?page=2",
      userAgent: "als-e2e",
      referer: "https://shop.example/",
      forwardedFor: "127.0.0.1",
      requestId: "req-9",
      requestHeaders: { "x-tenant": "acme" },
    },
    "a body-less GET has requestBodyBytes 0: protojson leaves a zero out",
  );
  assert.match(String(ok.request["authority"]), /^127\.0\.0\.1:\d+$/);
  assert.deepEqual(ok.response, { responseCode: 200, responseBodyBytes: String("upstream ok".length), responseHeaders: { "x-upstream-version": "v7" }, responseCodeDetails: "via_upstream" });
  const c = ok.commonProperties;
  assert.equal(c["upstreamCluster"], "kgateway-system/upstream");
  assert.deepEqual(c.upstreamRemoteAddress, { socketAddress: { address: "127.0.0.1", portValue: upstream.port } });
  assert.equal(c["routeName"], "kgateway-system/httpbin");
  assert.equal(c["upstreamRequestAttemptCount"], 1);
  assert.equal(c["streamId"], "req-9");
  assert.equal(c["accessLogType"], "DownstreamEnd");
  assert.match(String(c["startTime"]), /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?Z$/);
  for (const d of ["timeToLastRxByte", "timeToFirstDownstreamTxByte", "timeToLastDownstreamTxByte", "duration"]) assert.match(String(c[d]), /^\d+(\.\d+)?s$/, d);
  for (const a of ["downstreamRemoteAddress", "downstreamLocalAddress", "downstreamDirectRemoteAddress", "upstreamLocalAddress"]) {
    assert.equal((c[a] as { socketAddress: { address: string } }).socketAddress.address, "127.0.0.1", a);
  }
  const missing = entries.find((e) => e.request["path"] === "/nowhere")!;
  assert.equal(missing.request["requestMethod"], "DELETE");
  assert.deepEqual(missing.commonProperties.responseFlags, { noRouteFound: true });
  assert.equal(missing.response["responseCodeDetails"], "route_not_found");
});

test("Envoy's enums and every response flag read as Envoy names them", async () => {
  const service: AccessLogServiceModel = { address: `127.0.0.1:${peer.port}`, logName: "tables", authority: undefined, metadata: [], timeoutMs: undefined, reconnectBackoffMs: undefined, requestHeaders: [], responseHeaders: [] };
  const exporter = new AccessLogServiceExporter(service, { id: "node-1", cluster: "tables", userAgentVersion: "0.0.0" }, 10_000);
  const methodNames = Object.keys(REQUEST_METHODS);
  const entries: Record<string, unknown>[] = [
    ...methodNames.map((m) => ({ request: { path: `/method/${m}`, requestMethod: REQUEST_METHODS[m] } })),
    ...Object.keys(HTTP_VERSIONS).map((v) => ({ protocolVersion: HTTP_VERSIONS[v], request: { path: `/http/${v}` } })),
    ...Object.keys(TLS_VERSIONS).map((v) => ({ commonProperties: { tlsProperties: { tlsVersion: TLS_VERSIONS[v] } }, request: { path: `/tls/${v}` } })),
    { commonProperties: { tlsProperties: { tlsVersion: TLS_VERSIONS["TLSv1.2"], tlsCipherSuite: { value: CIPHER_SUITE_NUMBERS["TLS_ECDHE_ECDSA_WITH_AES_256_GCM_SHA384"] } } }, request: { path: "/tls/cipher" } },
    { commonProperties: { responseFlags: responseFlagsMessage(ENVOY_RESPONSE_FLAGS.join(",")) }, request: { path: "/flags" } },
  ];
  const items = entries.map((entry) => ({ log: { alsEntry: () => entry }, facts: {} })) as unknown as ReadableLogRecord[];
  const result = await new Promise<ExportResultLike>((resolve) => exporter.export(items, resolve));
  await exporter.shutdown();
  assert.equal(result.code, 0, String(result.error));
  const printed = (): PrintedEntry[] => peer.calls.filter((c) => (c["als"] as PrintedMessage | undefined)?.identifier?.logName === "tables").flatMap((c) => (c["als"] as PrintedMessage).httpLogs.logEntry);
  for (let i = 0; i < 1500 && printed().length < entries.length; i++) await new Promise((r) => setTimeout(r, 20));
  const byPath = new Map(printed().map((e) => [String(e.request["path"]), e]));
  assert.equal(byPath.size, entries.length);
  for (const m of methodNames) assert.equal(byPath.get(`/method/${m}`)!.request["requestMethod"], m, m);
  const httpNames: Record<string, string> = { "1.0": "HTTP10", "1.1": "HTTP11", "2": "HTTP2", "2.0": "HTTP2", "3": "HTTP3", "3.0": "HTTP3" };
  assert.deepEqual(Object.keys(HTTP_VERSIONS).sort(), Object.keys(httpNames).sort());
  for (const [v, name] of Object.entries(httpNames)) assert.equal(byPath.get(`/http/${v}`)!.protocolVersion, name, v);
  const tlsNames: Record<string, string> = { TLSv1: "TLSv1", "TLSv1.1": "TLSv1_1", "TLSv1.2": "TLSv1_2", "TLSv1.3": "TLSv1_3" };
  assert.deepEqual(Object.keys(TLS_VERSIONS).sort(), Object.keys(tlsNames).sort());
  for (const [v, name] of Object.entries(tlsNames)) assert.deepEqual(byPath.get(`/tls/${v}`)!.commonProperties["tlsProperties"], { tlsVersion: name }, v);
  // The cipher suite as a UInt32Value, which protojson prints as the bare number.
  assert.deepEqual(byPath.get("/tls/cipher")!.commonProperties["tlsProperties"], { tlsVersion: "TLSv1_2", tlsCipherSuite: 0xc02c });
  // Envoy's ResponseFlags by its own field names: DO (drop overload) has no field.
  assert.deepEqual(byPath.get("/flags")!.commonProperties.responseFlags, {
    failedLocalHealthcheck: true,
    noHealthyUpstream: true,
    upstreamRequestTimeout: true,
    localReset: true,
    upstreamRemoteReset: true,
    upstreamConnectionFailure: true,
    upstreamConnectionTermination: true,
    upstreamOverflow: true,
    noRouteFound: true,
    delayInjected: true,
    faultInjected: true,
    rateLimited: true,
    unauthorizedDetails: { reason: "EXTERNAL_SERVICE" },
    rateLimitServiceError: true,
    downstreamConnectionTermination: true,
    upstreamRetryLimitExceeded: true,
    streamIdleTimeout: true,
    invalidEnvoyRequestHeaders: true,
    downstreamProtocolError: true,
    upstreamMaxStreamDurationReached: true,
    responseFromCacheFilter: true,
    noFilterConfigFound: true,
    durationTimeout: true,
    upstreamProtocolError: true,
    noClusterFound: true,
    overloadManager: true,
    dnsResolutionFailure: true,
    downstreamRemoteReset: true,
  });
});
