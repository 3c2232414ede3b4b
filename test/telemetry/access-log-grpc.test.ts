// kgateway's access log `grpcService`: HTTPAccessLogEntries streamed to an Envoy gRPC access
// log service (a grpc-js server decoding with Envoy's field numbers, test/fixtures/als), from
// real requests through the proxy to a real upstream.
import { test, type TestContext } from "node:test";
import assert from "node:assert/strict";
import { request as httpRequest } from "node:http";
import { createTestPki, issueClientCertificate, issueServerCertificate } from "../support/test-certs.ts";
import { type DecodedEntry, type GrpcAlsService, startGrpcAlsService } from "../support/grpc-als-service.ts";
import { alsPolicyYaml, gatewayYaml, get, httpsGatewayYaml, httpsStatus, withClientValidation, startTracedGateway, startUpstream, type TracedGateway } from "./harness.ts";

const FAST = { OTEL_BLRP_SCHEDULE_DELAY: "20" };

async function rig(t: TestContext, grpcService: string, env: Record<string, string> = {}, filter = "", rules?: (upstreamPort: number) => string): Promise<{ als: GrpcAlsService; gw: TracedGateway; upstreamPort: number }> {
  const als = await startGrpcAlsService();
  t.after(() => als.close());
  const upstream = await startUpstream((req, res) => {
    res.writeHead(Number(req.headers["x-status"] ?? 200), { "content-type": "text/plain", "x-upstream-version": "v7", "set-cookie": "session=s3cret" }).end("upstream ok");
  });
  t.after(() => upstream.close());
  const gw = await startTracedGateway(gatewayYaml({ upstreamPort: upstream.port, extra: alsPolicyYaml(als.port, grpcService, filter), ...(rules === undefined ? {} : { rules: rules(upstream.port) }) }), { ...FAST, ...env });
  t.after(() => gw.close());
  return { als, gw, upstreamPort: upstream.port };
}

async function waitFor<T>(read: () => T | undefined, what: string): Promise<T> {
  // Generous: only a failing test waits it out.
  for (let i = 0; i < 1500; i++) {
    const value = read();
    if (value !== undefined) return value;
    await new Promise((r) => setTimeout(r, 20));
  }
  throw new Error(`timed out waiting for ${what}`);
}

const entriesFor = (als: GrpcAlsService, n: number): Promise<DecodedEntry[]> => waitFor(() => (als.entries().length >= n ? als.entries() : undefined), `${n} entries`);

test("a grpcService access log streams one HTTPAccessLogEntry per request, with the Identifier, metadata and authority it names", async (t) => {
  const { als, gw, upstreamPort } = await rig(
    t,
    `      logName: edge-access
      authority: als.example
      initialMetadata: [{key: x-api-key, value: k-123}]
      additionalRequestHeadersToLog: [x-tenant, authorization, X-Missing]
      additionalResponseHeadersToLog: [x-upstream-version, set-cookie]
`,
  );
  const before = Date.now();
  const ok = await get(gw.url(8080, "/api/ok?access_token=hunter2&page=2"), {
    "user-agent": "als-test",
    referer: "https://user:pw@shop.example/cart?sig=abc",
    "x-tenant": "acme",
    authorization: "Bearer secret-token",
    "x-request-id": "req-1",
  });
  const after = Date.now();
  assert.equal(ok.status, 200);
  const entries = await entriesFor(als, 1);
  await waitFor(() => (gw.telemetry.exportedLogRecords() >= 1 ? true : undefined), "the acknowledgement");
  assert.equal(gw.telemetry.exportedLogRecords(), 1, "the service's OK without a message acknowledges the batch");
  assert.equal(gw.telemetry.drops.get("logs"), 0);
  assert.equal(entries.length, 1);
  const stream = als.streams[0]!;
  const identifier = stream.messages[0]!.identifier!;
  assert.equal(identifier.log_name, "edge-access");
  assert.equal(identifier.node.user_agent_name, "tollgate");
  assert.match(identifier.node.user_agent_version, /^\d+\.\d+\.\d+/);
  assert.equal(identifier.node.cluster, "http.kgateway-system", "the gateway's service.name");
  assert.ok(identifier.node.id.length > 0, "service.instance.id");
  assert.equal(stream.metadata["x-api-key"], "k-123");
  assert.equal(stream.authority, "als.example");
  assert.ok(stream.ended, "the batch's stream is half-closed");

  const e = entries[0]!;
  const c = e.common_properties;
  assert.equal(e.protocol_version, 2, "HTTP11");
  assert.equal(e.request.request_method, 1, "GET");
  assert.equal(e.request.scheme, "http");
  assert.match(e.request.authority, /^127\.0\.0\.1:\d+$/);
  assert.equal(e.request.path, "/api/ok?access_token=REDACTED&page=2", "the query's credentials redacted, as in %REQ(:PATH)%");
  assert.equal(e.request.user_agent, "als-test");
  assert.equal(e.request.referer, "https://REDACTED:REDACTED@shop.example/cart?sig=REDACTED");
  assert.equal(e.request.forwarded_for, "127.0.0.1", "X-Forwarded-For as forwarded");
  assert.equal(e.request.request_id, "req-1");
  assert.equal(c.stream_id, "req-1");
  assert.deepEqual(e.request.request_headers, { "x-tenant": "acme", authorization: "REDACTED" }, "a header the request lacks is left out; credentials are redacted");
  assert.equal(e.response.response_code?.value, 200);
  assert.equal(e.response.response_body_bytes, "upstream ok".length);
  assert.deepEqual(e.response.response_headers, { "x-upstream-version": "v7", "set-cookie": "REDACTED" });
  assert.equal(e.response.response_code_details, "via_upstream");
  assert.equal(c.upstream_cluster, "kgateway-system/upstream");
  assert.deepEqual(c.upstream_remote_address?.socket_address, { address: "127.0.0.1", port_value: upstreamPort });
  assert.equal(c.upstream_local_address?.socket_address.address, "127.0.0.1");
  assert.ok(c.upstream_local_address!.socket_address.port_value > 0);
  assert.equal(c.downstream_remote_address?.socket_address.address, "127.0.0.1");
  assert.equal(c.downstream_direct_remote_address?.socket_address.address, "127.0.0.1");
  assert.equal(c.downstream_local_address?.socket_address.port_value, Number(new URL(gw.url(8080, "/")).port));
  assert.equal(c.route_name, "kgateway-system/httpbin");
  assert.equal(c.upstream_request_attempt_count, 1);
  assert.equal(c.access_log_type, 6, "DownstreamEnd");
  assert.equal(c.response_flags, null, "no flags: no ResponseFlags message");
  assert.equal(c.tls_properties, null, "plain HTTP");
  const startMs = c.start_time.seconds * 1000 + c.start_time.nanos / 1e6;
  assert.ok(startMs >= before - 1 && startMs <= after + 1, `start_time ${startMs} is the request's wall-clock start, between ${before} and ${after}`);
  const ms = (d: { seconds: number; nanos: number } | null): number => (d === null ? -1 : d.seconds * 1000 + d.nanos / 1e6);
  assert.ok(ms(c.time_to_last_rx_byte) >= 0);
  // The upstream's timing, in the order its bytes moved: head out, request's end out, answer's head in, its end in.
  const upstream = [c.time_to_first_upstream_tx_byte, c.time_to_last_upstream_tx_byte, c.time_to_first_upstream_rx_byte, c.time_to_last_upstream_rx_byte].map(ms);
  assert.ok(upstream[0]! >= 0, JSON.stringify(upstream));
  for (let i = 1; i < 4; i++) assert.ok(upstream[i]! >= upstream[i - 1]!, JSON.stringify(upstream));
  assert.ok(ms(c.time_to_first_downstream_tx_byte) >= upstream[2]!, "the answer went out after its head came in");
  assert.ok(ms(c.time_to_last_downstream_tx_byte) >= upstream[3]!, "the answer's end went out after it came in");
  assert.ok(ms(c.time_to_first_downstream_tx_byte) >= ms(c.time_to_last_rx_byte));
  assert.ok(ms(c.time_to_last_downstream_tx_byte) >= ms(c.time_to_first_downstream_tx_byte));
  assert.ok(ms(c.duration) >= ms(c.time_to_last_downstream_tx_byte));
  assert.equal(gw.warnings.length, 0, JSON.stringify(gw.warnings));
});

test("response flags become ResponseFlags fields; methods Envoy does not name are METHOD_UNSPECIFIED; a kgateway filter applies", async (t) => {
  const { als, gw } = await rig(t, "      logName: flags\n", {}, "    filter:\n      statusCodeFilter: {op: GE, value: 400}\n");
  assert.equal((await get(gw.url(8080, "/api/fine"))).status, 200);
  assert.equal((await get(gw.url(8080, "/nowhere"), {}, "PROPFIND")).status, 404);
  assert.equal((await get(gw.url(8080, "/api/broken"), { "x-status": "503" }, "POST")).status, 503);
  // Records leave in the order their requests ended: had the 200 passed the filter, it would be among the first two.
  const entries = (await entriesFor(als, 2)).slice(0, 2);
  assert.deepEqual(entries.map((e) => e.request.path).sort(), ["/api/broken", "/nowhere"], "the 200 is filtered out");
  const byPath = new Map(entries.map((e) => [e.request.path, e]));
  const missing = byPath.get("/nowhere")!;
  assert.equal(missing.request.request_method, 0, "PROPFIND has no RequestMethod value");
  assert.deepEqual(missing.common_properties.response_flags, { no_route_found: true, failed_local_healthcheck: false, no_healthy_upstream: false, upstream_request_timeout: false, upstream_connection_failure: false, rate_limited: false, unauthorized_details: null, upstream_retry_limit_exceeded: false });
  assert.equal(missing.response.response_code_details, "route_not_found");
  for (const timing of ["time_to_first_upstream_tx_byte", "time_to_last_upstream_tx_byte", "time_to_first_upstream_rx_byte", "time_to_last_upstream_rx_byte"] as const) {
    assert.equal(missing.common_properties[timing], null, `${timing}: never sent upstream`);
  }
  assert.equal(missing.common_properties.upstream_request_attempt_count, 0, "never attempted upstream: 0, which proto3 leaves off the wire");
  assert.equal(missing.common_properties.route_name, "");
  const broken = byPath.get("/api/broken")!;
  assert.equal(broken.request.request_method, 3, "POST");
  assert.equal(broken.response.response_code?.value, 503);
  assert.equal(broken.common_properties.response_flags, null, "an upstream's own 503 carries no flag");
});

test("a service that fails the stream loses the batch, counted as dropped; an OK with the empty response is taken too", async (t) => {
  const { als, gw } = await rig(t, "      logName: lossy\n");
  als.ending = "unavailable";
  assert.equal((await get(gw.url(8080, "/api/a"))).status, 200, "the request is served whatever the log service does");
  await waitFor(() => (gw.telemetry.drops.get("logs") >= 1 ? true : undefined), "the failed batch to be counted");
  assert.equal(gw.telemetry.drops.get("logs", "export_failed"), 1);
  assert.equal(als.entries().length, 1, "the service received it, then failed the stream");
  als.ending = "reply";
  assert.equal((await get(gw.url(8080, "/api/b"))).status, 200);
  await waitFor(() => (gw.telemetry.exportedLogRecords() >= 1 ? true : undefined), "the second batch to be acknowledged");
  assert.equal(gw.telemetry.exportedLogRecords(), 1);
  assert.equal(gw.telemetry.drops.get("logs"), 1);
  assert.equal(als.streams.length, 2, "a stream per batch");
  assert.equal(als.streams[1]!.authority, `127.0.0.1:${als.port}`, "without authority, the service's host:port");
});

test("the grpcService timeout is the batch's time limit, also past OTEL_BLRP_EXPORT_TIMEOUT", async (t) => {
  const { als, gw } = await rig(t, "      logName: slow\n      timeout: 20s\n", { OTEL_BLRP_EXPORT_TIMEOUT: "200" });
  als.endDelayMs = 1000;
  assert.equal((await get(gw.url(8080, "/api/slow"))).status, 200);
  await waitFor(() => (gw.telemetry.exportedLogRecords() >= 1 ? true : undefined), "the slow acknowledgement");
  assert.equal(gw.telemetry.exportedLogRecords(), 1);
  assert.equal(gw.telemetry.drops.get("logs"), 0, "acknowledged after OTEL_BLRP_EXPORT_TIMEOUT but within the service's timeout: not dropped");
});

test("a batch larger than a gRPC message should be goes as several messages on one stream, the Identifier in the first", async (t) => {
  const { als, gw } = await rig(t, "      logName: big\n      additionalRequestHeadersToLog: [x-big]\n", { OTEL_BLRP_SCHEDULE_DELAY: "5000" });
  const big = "b".repeat(12 * 1024);
  const statuses = await Promise.all(Array.from({ length: 200 }, (_, i) => get(gw.url(8080, `/api/big/${i}`), { "x-big": big }).then((r) => r.status)));
  assert.deepEqual(new Set(statuses), new Set([200]));
  const entries = await entriesFor(als, 200);
  assert.equal(entries.length, 200);
  assert.ok(entries.every((e) => e.request.request_headers["x-big"] === big));
  assert.ok(als.streams.some((s) => s.messages.length >= 2), `2.4 MiB of entries in one batch go as several messages: ${als.streams.map((s) => s.messages.length).join(",")}`);
  for (const stream of als.streams) {
    assert.equal(stream.messages[0]!.identifier?.log_name, "big");
    assert.ok(stream.messages.slice(1).every((m) => m.identifier === null), "the Identifier only opens the stream");
    // At most 1 MiB of entries per message (a 12 KiB entry over it starts the next).
    for (const m of stream.messages) assert.ok(m.http_logs!.log_entry.length <= Math.ceil((1024 * 1024) / (12 * 1024)), `${m.http_logs!.log_entry.length} entries in one message`);
  }
});

test("an unreachable service: requests are served, the batch is dropped and counted", async (t) => {
  const als = await startGrpcAlsService();
  const port = als.port;
  await als.close();
  const upstream = await startUpstream();
  t.after(() => upstream.close());
  const gw = await startTracedGateway(gatewayYaml({ upstreamPort: upstream.port, extra: alsPolicyYaml(port, "      logName: gone\n      timeout: 1s\n") }), FAST);
  t.after(() => gw.close());
  assert.equal((await get(gw.url(8080, "/api/x"))).status, 200);
  await waitFor(() => (gw.telemetry.drops.get("logs") >= 1 ? true : undefined), "the batch to be dropped");
  assert.equal(gw.telemetry.drops.get("logs", "export_failed"), 1);
});

test("a service that never ends the stream: requests are served, the batch is dropped at the grpcService timeout", async (t) => {
  const { als, gw } = await rig(t, "      logName: stuck\n      timeout: 1s\n");
  als.ending = "hang";
  for (const path of ["/api/one", "/api/two"]) assert.equal((await get(gw.url(8080, path))).status, 200);
  await waitFor(() => (gw.telemetry.drops.get("logs") >= 2 ? true : undefined), "the stuck batches to be dropped");
  assert.equal(gw.telemetry.drops.get("logs", "export_timeout"), 2);
  assert.equal(gw.telemetry.exportedLogRecords(), 0);
  assert.equal(als.entries().length, 2, "the service got the entries but never acknowledged them");
});

test("a POST through a rewritten path: body bytes, the original path, the method; a header opted in with TOLLGATE_LOGS_ALLOW_SENSITIVE_HEADERS shows", async (t) => {
  const rules = (port: number): string => `  - matches:
    - path: {type: PathPrefix, value: /old}
    filters:
    - type: URLRewrite
      urlRewrite: {path: {type: ReplacePrefixMatch, replacePrefixMatch: /api}}
    backendRefs:
    - {name: upstream, kind: Backend, group: gateway.tollgate.dev, port: ${port}}`;
  const { als, gw } = await rig(t, "      logName: post\n      additionalRequestHeadersToLog: [authorization, cookie]\n", { TOLLGATE_LOGS_ALLOW_SENSITIVE_HEADERS: "authorization" }, "", rules);
  const body = "x".repeat(1234);
  const answer = await new Promise<number>((resolve, reject) => {
    const req = httpRequest(gw.url(8080, "/old/items?sig=s1"), { method: "POST", agent: false, headers: { authorization: "Bearer shown", cookie: "session=hidden", "content-length": String(body.length) } }, (res) => {
      res.resume();
      res.on("end", () => resolve(res.statusCode ?? 0));
    });
    req.on("error", reject);
    req.end(body);
  });
  assert.equal(answer, 200);
  const [entry] = await entriesFor(als, 1);
  assert.equal(entry!.request.request_method, 3, "POST");
  assert.equal(entry!.request.request_body_bytes, 1234);
  assert.equal(entry!.request.path, "/old/items?sig=REDACTED", "the path as received");
  assert.equal(entry!.request.original_path, "/old/items?sig=REDACTED", "X-Envoy-Original-Path as the rewrite set it, its credentials redacted");
  assert.deepEqual(entry!.request.request_headers, { authorization: "Bearer shown", cookie: "REDACTED" });
});

test("on an HTTPS listener that checks client certificates, the entry's tls_properties name the version, the cipher suite's number, the SNI name and the client's certificate", async (t) => {
  const [pki, clientPki] = await Promise.all([createTestPki(), createTestPki("tollgate-pki-client-")]);
  t.after(() => Promise.all([pki.remove(), clientPki.remove()]));
  const pair = await issueServerCertificate(pki, "shop", ["shop.example"]);
  const spiffeId = "spiffe://cluster.local/ns/shop/sa/web";
  const client = await issueClientCertificate(clientPki, "workload", "/O=Acme/CN=workload", { uris: [spiffeId], dnsNames: ["web.shop"] });
  const als = await startGrpcAlsService();
  t.after(() => als.close());
  const upstream = await startUpstream();
  t.after(() => upstream.close());
  const gw = await startTracedGateway(withClientValidation(httpsGatewayYaml(upstream.port, pair, `---\n${alsPolicyYaml(als.port, "      logName: tls\n")}`), clientPki.ca), FAST);
  t.after(() => gw.close());
  const port = Number(new URL(gw.url(8080, "/")).port);
  // One suite, so the number the entry carries is known: 0xC02C in the IANA registry.
  const status = await httpsStatus({ port, path: "/api/tls", servername: "shop.example", ca: pki.ca, cert: client.cert, key: client.key, maxVersion: "TLSv1.2", ciphers: "ECDHE-ECDSA-AES256-GCM-SHA384" });
  assert.equal(status, 200);
  const [entry] = await entriesFor(als, 1);
  assert.equal(entry!.request.scheme, "https");
  assert.deepEqual(entry!.common_properties.tls_properties, {
    tls_version: 3,
    tls_cipher_suite: { value: 0xc02c },
    tls_sni_hostname: "shop.example",
    peer_certificate_properties: { subject: "CN=workload,O=Acme", issuer: `CN=${clientPki.names.ca}`, subject_alt_name: [{ uri: spiffeId, san: "uri" }, { dns: "web.shop", san: "dns" }] },
  });
});

test("a streamed body: the first upstream byte is the head with the body's first chunk, not the dispatch", async (t) => {
  const { als, gw } = await rig(t, "      logName: streamed\n");
  // The head reaches the gateway at once; the body only 300 ms later, and the head goes upstream with it.
  const status = await new Promise<number>((resolve, reject) => {
    const req = httpRequest(gw.url(8080, "/api/streamed"), { method: "POST", headers: { "content-length": "5" } }, (res) => {
      res.resume();
      res.on("end", () => resolve(res.statusCode ?? 0));
    });
    req.on("error", reject);
    req.flushHeaders();
    setTimeout(() => req.end("hello"), 300);
  });
  assert.equal(status, 200);
  const [entry] = await entriesFor(als, 1);
  const c = entry!.common_properties;
  const ms = (d: { seconds: number; nanos: number } | null): number => (d === null ? -1 : d.seconds * 1000 + d.nanos / 1e6);
  assert.ok(ms(c.time_to_first_upstream_tx_byte) >= 250, `first upstream tx byte at ${ms(c.time_to_first_upstream_tx_byte)} ms`);
  assert.ok(ms(c.time_to_last_upstream_tx_byte) >= ms(c.time_to_first_upstream_tx_byte));
});
